//! Bad files and failing disks: every one is a distinct error or a clean recovery, never a
//! panic and never wrong data.

use emdb_core::{Emdb, Error};
use emdb_journal::{Journal, JournalOptions};

fn filled(dir: &std::path::Path) -> Result<std::path::PathBuf, Error> {
    let path = dir.join("f.emdb");
    let db = Emdb::builder().path(&path).build()?;
    for i in 0..200 {
        db.insert(format!("key{i:03}"), format!("value{i}"))?;
    }
    db.flush()?;
    Ok(path)
}

#[test]
fn damage_followed_by_valid_records_is_refused_and_the_file_left_alone() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = filled(dir.path())?;
    let mut bytes = std::fs::read(&path)?;
    bytes[1000] ^= 0x40;
    std::fs::write(&path, &bytes)?;
    match Emdb::open(&path) {
        Err(Error::Corrupted { offset, .. }) => assert!(offset <= 1000 && offset > 800, "offset {offset}"),
        other => panic!("expected Corrupted, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path)?, bytes, "untouched");
    Ok(())
}

#[test]
fn a_torn_tail_is_recovered_with_everything_before_it() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = filled(dir.path())?;
    let db_end = Emdb::open(&path)?.stats()?.logical_size_bytes;
    // Cut the last record in half, as a crash mid-write would.
    let file = std::fs::OpenOptions::new().write(true).open(&path)?;
    file.set_len(db_end - 10)?;
    drop(file);
    let db = Emdb::open(&path)?;
    assert_eq!(db.len()?, 199);
    assert_eq!(db.get("key000")?, Some(b"value0".to_vec()));
    assert_eq!(db.get("key199")?, None);
    db.insert("key199", "rewritten")?;
    Ok(())
}

#[test]
fn records_the_engine_cannot_read_are_corruption() -> Result<(), Error> {
    // A valid frame holding an unknown record.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("r.emdb");
    let journal = Journal::open(&path)?;
    journal.append(&[0x09, 1, 2, 3])?;
    journal.close()?;
    assert!(matches!(Emdb::open(&path), Err(Error::Corrupted { offset: 8, .. })));
    // An insert into a namespace that was never bound.
    let path = dir.path().join("ns.emdb");
    let journal = Journal::open(&path)?;
    let mut rec = vec![0u8];
    rec.extend_from_slice(&7u32.to_le_bytes());
    rec.extend_from_slice(&1u32.to_le_bytes());
    rec.push(b'k');
    rec.extend_from_slice(&1u32.to_le_bytes());
    rec.push(b'v');
    rec.extend_from_slice(&0u64.to_le_bytes());
    journal.append(&rec)?;
    journal.close()?;
    match Emdb::open(&path) {
        Err(Error::Corrupted { reason, .. }) => assert!(reason.contains("namespace"), "{reason}"),
        other => panic!("expected Corrupted, got {other:?}"),
    }
    Ok(())
}

#[test]
fn sidecars_from_elsewhere_are_named() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = filled(dir.path())?;
    let meta = dir.path().join("f.emdb.meta");
    let original = std::fs::read(&meta)?;
    // A newer format version.
    let mut newer = original.clone();
    newer[16..20].copy_from_slice(&9u32.to_le_bytes());
    std::fs::write(&meta, &newer)?;
    assert!(matches!(
        Emdb::open(&path),
        Err(Error::VersionMismatch { found: 9, expected: 2 })
    ));
    // An encrypted database opened by a build without encryption, or without a key.
    std::fs::write(&meta, &original)?;
    {
        let journal = JournalOptions::new().open(&path)?;
        journal.set_meta(1, &[])?;
    }
    #[cfg(not(feature = "encrypt"))]
    assert!(matches!(
        Emdb::open(&path),
        Err(Error::FeatureMismatch {
            file_flags: 1,
            build_flags: 0
        })
    ));
    #[cfg(feature = "encrypt")]
    assert!(matches!(Emdb::open(&path), Err(Error::InvalidConfig(_))));
    // A flag no build knows.
    {
        let journal = JournalOptions::new().open(&path)?;
        journal.set_meta(0x100, &[])?;
    }
    assert!(matches!(
        Emdb::open(&path),
        Err(Error::FeatureMismatch { file_flags: 0x100, .. })
    ));
    Ok(())
}

#[test]
fn lock_files_that_cannot_be_used_are_lockfile_errors() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("l.emdb");
    std::fs::create_dir(dir.path().join("l.emdb.lock"))?;
    assert!(matches!(Emdb::open(&path), Err(Error::LockfileError(_))));
    Ok(())
}

#[test]
fn errors_print_with_the_emdb_prefix_and_keep_their_cause() {
    use std::error::Error as _;
    let io = Error::Io(std::io::Error::new(std::io::ErrorKind::NotFound, "gone"));
    assert!(io.to_string().starts_with("emdb: "));
    assert!(io.source().is_some());
    for e in [
        Error::MagicMismatch,
        Error::InvalidConfig("x"),
        Error::Corrupted { offset: 3, reason: "r" },
        Error::VersionMismatch { found: 1, expected: 2 },
        Error::FeatureMismatch {
            file_flags: 1,
            build_flags: 0,
        },
        Error::LockBusy { path: "p.lock".into() },
    ] {
        let text = e.to_string();
        assert!(text.starts_with("emdb: "), "{text}");
        assert!(
            !text.contains("Some(") && !text.contains("{ "),
            "Display must not print Debug: {text}"
        );
    }
    let from_io: Error = std::io::Error::other("x").into();
    assert!(matches!(from_io, Error::Io(_)));
}

/// An operating-system failure reaches the caller as that failure (kind and code kept,
/// as the `source()`), and the `Display` of each level of the chain names its own fact
/// without repeating the one below it.
#[cfg(unix)]
#[test]
fn an_io_failure_keeps_the_operating_systems_error_as_its_source() -> Result<(), Error> {
    use std::error::Error as _;
    let dir = tempfile::tempdir()?;
    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, b"x")?;
    let err = match Emdb::open(not_a_dir.join("db.emdb")) {
        Err(e) => e,
        Ok(_) => panic!("a database under a regular file opened"),
    };
    let Error::Io(io) = &err else { panic!("not Io: {err:?}") };
    assert!(io.raw_os_error().is_some(), "the OS error code is kept: {io:?}");
    let source = err.source().expect("the cause is the source").to_string();
    assert!(!err.to_string().contains(&source), "`{err}` repeats `{source}`");
    Ok(())
}

/// A record damaged under an open database (the file changed behind its back): the eager
/// range calls report it, the lazy cursor skips it as emdb 1.0's iterators do, and
/// `try_iter` reports it.
#[cfg(unix)]
#[test]
fn a_record_damaged_under_an_open_database_is_reported_by_eager_ranges() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("r.emdb");
    let db = Emdb::builder().path(&path).enable_range_scans(true).build()?;
    for i in 0..20 {
        db.insert(format!("key{i:02}"), format!("value{i}"))?;
    }
    db.flush()?;
    // The first record's key length (bytes 5..9 of its payload, after the 8-byte frame
    // header) made absurd, written through another descriptor.
    let file = std::fs::OpenOptions::new().write(true).open(&path)?;
    std::os::unix::fs::FileExt::write_all_at(&file, &u32::MAX.to_le_bytes(), 8 + 5)?;
    drop(file);
    assert!(matches!(db.range(b"key".to_vec()..), Err(Error::Corrupted { .. })));
    assert!(matches!(db.range_prefix("key"), Err(Error::Corrupted { .. })));
    assert_eq!(db.range_iter(b"key".to_vec()..)?.count(), 19);
    assert_eq!(db.try_iter()?.filter(Result::is_err).count(), 1);
    Ok(())
}

/// The range index of a reopened database is built by its first range scan; a record that
/// cannot be opened makes that build fail. The scan reports it, a second scan fails the
/// same way (never a half-built index), and once the record is whole again a scan builds
/// the index and returns every key.
#[cfg(all(unix, feature = "encrypt"))]
#[test]
fn a_failed_range_index_build_is_reported_and_retried() -> Result<(), Error> {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("r.emdb");
    let open = || {
        Emdb::builder()
            .path(&path)
            .enable_range_scans(true)
            .encryption_key([7; 32])
            .build()
    };
    let db = open()?;
    for i in 0..20 {
        db.insert(format!("key{i:02}"), format!("value{i}"))?;
    }
    drop(db);
    let db = open()?;
    // A byte of the first record's ciphertext, changed through another descriptor.
    let file = std::fs::OpenOptions::new().read(true).write(true).open(&path)?;
    let at = 8 + 24;
    let mut byte = [0u8];
    file.read_exact_at(&mut byte, at)?;
    file.write_all_at(&[byte[0] ^ 0x10], at)?;
    assert!(db.range(..).is_err(), "a record that does not open fails the build");
    assert!(db.range_iter(..)?.next().is_none(), "and the cursor that met it ends");
    assert!(db.range(..).is_err(), "the index stays unbuilt, not half built");
    file.write_all_at(&byte, at)?;
    let all = db.range(..)?;
    assert_eq!(all.len(), 20);
    assert_eq!(all[0], (b"key00".to_vec(), b"value0".to_vec()));
    Ok(())
}
