//! Data survives reopening: flushed or simply dropped (the drop flushes), across every
//! flush policy, with the file-level behaviour of docs/COMPATIBILITY.md §11.

use emdb::{Emdb, Error, FlushPolicy};

#[test]
fn everything_survives_a_reopen() -> Result<(), Error> {
    for policy in [FlushPolicy::OnEachFlush, FlushPolicy::Group, FlushPolicy::WriteThrough] {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("p.emdb");
        {
            let db = Emdb::builder().path(&path).flush_policy(policy).build()?;
            for i in 0..1000u32 {
                db.insert(format!("key{i}"), i.to_le_bytes().to_vec())?;
            }
            for i in (0..1000u32).step_by(3) {
                db.remove(format!("key{i}"))?;
            }
            db.insert("key1", "replaced")?;
            db.flush()?;
        }
        let db = Emdb::open(&path)?;
        assert_eq!(db.get("key1")?, Some(b"replaced".to_vec()), "{policy:?}");
        assert_eq!(db.get("key3")?, None);
        assert_eq!(db.get("key4")?, Some(4u32.to_le_bytes().to_vec()));
        assert_eq!(db.len()?, 1000 - 334);
    }
    Ok(())
}

#[test]
fn the_files_beside_a_database() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("files.emdb");
    let db = Emdb::open(&path)?;
    db.insert("k", "v")?;
    db.flush()?;
    assert!(path.exists());
    assert!(dir.path().join("files.emdb.meta").exists());
    assert!(dir.path().join("files.emdb.lock").exists());
    assert!(dir.path().join("files.emdb.lock-meta").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
    }
    assert_eq!(&std::fs::read(&path)?[..4], &[0x46, 0x53, 0x59, 0x01]);
    drop(db);
    assert!(dir.path().join("files.emdb.lock").exists(), "the lock file stays");
    assert!(
        !dir.path().join("files.emdb.lock-meta").exists(),
        "the holder file goes"
    );
    Ok(())
}

#[test]
fn a_foreign_file_is_refused_untouched() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("foreign.emdb");
    std::fs::write(&path, b"not a database at all")?;
    assert!(matches!(Emdb::open(&path), Err(Error::MagicMismatch)));
    assert_eq!(std::fs::read(&path)?, b"not a database at all");
    assert!(matches!(Emdb::open(dir.path()), Err(Error::InvalidConfig(_))));
    Ok(())
}

#[test]
fn an_in_memory_database_is_removed_with_its_last_handle() -> Result<(), Error> {
    let db = Emdb::open_in_memory();
    db.insert("k", "v")?;
    let dir = db.path().parent().expect("a directory").to_path_buf();
    assert!(dir.exists());
    assert!(
        dir.file_name()
            .expect("name")
            .to_string_lossy()
            .starts_with("emdb-mem-")
    );
    let other = db.clone();
    drop(db);
    assert!(dir.exists(), "a clone keeps it");
    assert_eq!(other.get("k")?, Some(b"v".to_vec()));
    drop(other);
    assert!(!dir.exists());
    let built = Emdb::builder().build()?;
    assert!(built.path().ends_with("emdb-mem.emdb"));
    Ok(())
}
