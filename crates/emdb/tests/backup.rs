//! Backups: a normal, openable, compacted copy, replaced atomically; never over the
//! database itself.

use emdb::{Emdb, Error};

#[test]
fn a_backup_opens_with_the_data_as_of_the_call() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let db = Emdb::open(dir.path().join("live.emdb"))?;
    let ns = db.namespace("ns")?;
    for i in 0..1000 {
        db.insert(format!("k{i}"), format!("v{i}"))?;
    }
    db.remove("k0")?;
    ns.insert("inner", "value")?;
    let target = dir.path().join("backup.emdb");
    db.backup_to(&target)?;
    db.insert("after", "backup")?;
    assert!(target.exists());
    assert!(dir.path().join("backup.emdb.meta").exists());
    assert!(!dir.path().join("backup.emdb.backup.tmp").exists());
    let copy = Emdb::open(&target)?;
    assert_eq!(copy.len()?, 999);
    assert_eq!(copy.get("k1")?, Some(b"v1".to_vec()));
    assert_eq!(copy.get("k0")?, None);
    assert_eq!(copy.get("after")?, None);
    assert_eq!(copy.namespace("ns")?.get("inner")?, Some(b"value".to_vec()));
    drop(copy);
    // A second backup replaces the first.
    db.backup_to(&target)?;
    assert_eq!(Emdb::open(&target)?.get("after")?, Some(b"backup".to_vec()));
    Ok(())
}

#[test]
fn a_backup_over_the_database_itself_is_refused() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("self.emdb");
    let db = Emdb::open(&path)?;
    db.insert("k", "v")?;
    assert!(matches!(db.backup_to(&path), Err(Error::InvalidConfig(_))));
    assert!(matches!(
        db.backup_to(dir.path().join(".").join("self.emdb")),
        Err(Error::InvalidConfig(_))
    ));
    assert_eq!(db.get("k")?, Some(b"v".to_vec()));
    Ok(())
}
