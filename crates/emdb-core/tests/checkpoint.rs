//! Checkpoints make reopening load the saved indexes and scan only the tail; a missing,
//! stale or damaged snapshot falls back to a full scan, never to wrong data.

use emdb_core::{Emdb, Error};

fn fill(db: &Emdb, from: u32, to: u32) -> Result<(), Error> {
    db.insert_many((from..to).map(|i| (format!("key{i:06}"), format!("value{i}"))))
}

fn check(db: &Emdb, to: u32) -> Result<(), Error> {
    assert_eq!(db.len()?, to as usize);
    for i in (0..to).step_by(97) {
        assert_eq!(
            db.get(format!("key{i:06}"))?,
            Some(format!("value{i}").into_bytes()),
            "key{i}"
        );
    }
    Ok(())
}

#[test]
fn reopen_after_a_checkpoint_scans_only_the_tail() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("cp.emdb");
    {
        let db = Emdb::open(&path)?;
        let ns = db.namespace("other")?;
        ns.insert("x", "y")?;
        fill(&db, 0, 20_000)?;
        db.checkpoint()?;
        fill(&db, 20_000, 20_100)?;
        db.remove("key000000")?;
        db.insert("key000000", "value0")?;
    }
    assert!(dir.path().join("cp.emdb.index").exists());
    let db = Emdb::open(&path)?;
    let stats = db.stats()?;
    assert!(stats.opened_from_checkpoint, "the checkpoint was used");
    assert!(
        stats.recovery_scanned_bytes < stats.logical_size_bytes / 10,
        "only the tail was scanned: {} of {}",
        stats.recovery_scanned_bytes,
        stats.logical_size_bytes
    );
    check(&db, 20_100)?;
    assert_eq!(db.namespace("other")?.get("x")?, Some(b"y".to_vec()));
    assert_eq!(db.list_namespaces()?, vec![String::new(), "other".into()]);
    Ok(())
}

#[test]
fn a_missing_or_damaged_snapshot_falls_back_to_a_full_scan() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("d.emdb");
    let index = dir.path().join("d.emdb.index");
    {
        let db = Emdb::open(&path)?;
        fill(&db, 0, 5_000)?;
        db.checkpoint()?;
        fill(&db, 5_000, 5_050)?;
    }
    // Damaged.
    let mut bytes = std::fs::read(&index)?;
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xFF;
    std::fs::write(&index, &bytes)?;
    {
        let db = Emdb::open(&path)?;
        assert!(!db.stats()?.opened_from_checkpoint);
        check(&db, 5_050)?;
    }
    // Missing.
    std::fs::remove_file(&index)?;
    {
        let db = Emdb::open(&path)?;
        assert!(!db.stats()?.opened_from_checkpoint);
        check(&db, 5_050)?;
        db.checkpoint()?;
    }
    // Stale: an older snapshot put back after a newer checkpoint.
    let stale = std::fs::read(&index)?;
    {
        let db = Emdb::open(&path)?;
        assert!(db.stats()?.opened_from_checkpoint);
        fill(&db, 5_050, 6_000)?;
        db.checkpoint()?;
    }
    std::fs::write(&index, &stale)?;
    let db = Emdb::open(&path)?;
    assert!(
        !db.stats()?.opened_from_checkpoint,
        "a snapshot that does not match is not used"
    );
    check(&db, 6_000)?;
    Ok(())
}

#[test]
fn a_clean_close_of_a_large_log_checkpoints_by_itself() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("close.emdb");
    {
        let db = Emdb::open(&path)?;
        // More than 16 MiB of log.
        let value = vec![7u8; 1000];
        for chunk in 0..20 {
            db.insert_many((0..1000).map(|i| (format!("k{chunk}-{i}"), value.clone())))?;
        }
    }
    let db = Emdb::open(&path)?;
    assert!(db.stats()?.opened_from_checkpoint);
    assert_eq!(db.len()?, 20_000);
    Ok(())
}

/// Each crash between fsys's staging write and its rename leaves a staging file of a new
/// name (`.fsys-tmp-<pid>-<nonce>.<file>`) beside the database: the next open removes
/// those of this database's sidecar, index snapshot and admin marker, and nothing else.
#[test]
fn staging_files_left_by_interrupted_replaces_are_removed_at_open() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("s.emdb");
    let db = Emdb::open(&path)?;
    fill(&db, 0, 100)?;
    db.checkpoint()?;
    drop(db);
    let ours = [
        ".fsys-tmp-1f2e-3d4c.s.emdb.meta",
        ".fsys-tmp-5.s.emdb.meta",
        ".fsys-tmp-1f2e-3d4d.s.emdb.index",
        ".fsys-tmp-1f2e-3d4e.s.emdb.encadmin",
    ];
    let others = [
        ".fsys-tmp-1f2e-3d4c.s.emdb.x.meta",
        ".fsys-tmp-1f2e-3d4c.t.emdb.index",
        "notes.txt",
    ];
    for name in ours.iter().chain(&others) {
        std::fs::write(dir.path().join(name), b"half a replace")?;
    }
    let db = Emdb::open(&path)?;
    check(&db, 100)?;
    assert!(db.stats()?.opened_from_checkpoint, "the snapshot itself is untouched");
    for name in ours {
        assert!(!dir.path().join(name).exists(), "{name} is still there");
    }
    for name in others {
        assert!(
            dir.path().join(name).exists(),
            "{name} (not this database's) was removed"
        );
    }
    Ok(())
}

/// A checkpoint whose snapshot cannot be put in place reports the operating system's
/// error kind (as emdb 1.0's `Io` promises), not a generic one, and the database goes on.
#[cfg(unix)]
#[test]
fn a_checkpoint_that_cannot_replace_its_snapshot_reports_the_os_error_kind() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("k.emdb");
    let db = Emdb::open(&path)?;
    fill(&db, 0, 10)?;
    let index = dir.path().join("k.emdb.index");
    std::fs::create_dir(&index)?;
    std::fs::write(index.join("in the way"), b"x")?;
    // What the OS says when a file is renamed over a non-empty directory.
    let probe = dir.path().join("probe");
    std::fs::write(&probe, b"x")?;
    let expected = std::fs::rename(&probe, &index)
        .expect_err("renamed over a directory")
        .kind();
    match db.checkpoint() {
        Err(Error::Io(io)) => assert_eq!(io.kind(), expected, "{io:?}"),
        other => panic!("checkpoint over a directory: {other:?}"),
    }
    fill(&db, 10, 20)?;
    check(&db, 20)?;
    Ok(())
}
