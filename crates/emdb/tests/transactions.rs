//! Transactions: commit, rollback, read-your-writes, last write wins.

use emdb::{Emdb, Error};

#[test]
fn commit_applies_everything_rollback_nothing() -> Result<(), Error> {
    let db = Emdb::open_in_memory();
    db.insert("balance", "10")?;
    let out = db.transaction(|tx| {
        assert_eq!(tx.get("balance")?, Some(b"10".to_vec()));
        tx.insert("balance", "7")?;
        assert_eq!(tx.get("balance")?, Some(b"7".to_vec()), "read your writes");
        tx.insert("log", "spent 3")?;
        tx.insert("tmp", "x")?;
        assert_eq!(tx.remove("tmp")?, Some(b"x".to_vec()));
        assert!(!tx.contains_key("tmp")?);
        assert!(tx.contains_key("log")?);
        Ok(42)
    })?;
    assert_eq!(out, 42);
    assert_eq!(db.get("balance")?, Some(b"7".to_vec()));
    assert_eq!(db.get("log")?, Some(b"spent 3".to_vec()));
    assert_eq!(db.get("tmp")?, None);

    let failed: Result<(), Error> = db.transaction(|tx| {
        tx.insert("balance", "0")?;
        tx.remove("log")?;
        Err(Error::InvalidConfig("changed my mind"))
    });
    assert!(matches!(failed, Err(Error::InvalidConfig("changed my mind"))));
    assert_eq!(db.get("balance")?, Some(b"7".to_vec()), "rolled back");
    assert_eq!(db.get("log")?, Some(b"spent 3".to_vec()));
    Ok(())
}

#[test]
fn an_empty_transaction_writes_nothing() -> Result<(), Error> {
    let db = Emdb::open_in_memory();
    let before = db.stats()?.logical_size_bytes;
    db.transaction(|_| Ok(()))?;
    assert_eq!(db.stats()?.logical_size_bytes, before);
    Ok(())
}

#[test]
fn insert_many_and_transactions_survive_reopen() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("t.emdb");
    {
        let db = Emdb::open(&path)?;
        db.insert_many((0..500).map(|i| (format!("k{i}"), format!("v{i}"))))?;
        db.transaction(|tx| {
            tx.remove("k1")?;
            tx.insert("k2", "two")?;
            Ok(())
        })?;
    }
    let db = Emdb::open(&path)?;
    assert_eq!(db.len()?, 499);
    assert_eq!(db.get("k1")?, None);
    assert_eq!(db.get("k2")?, Some(b"two".to_vec()));
    assert_eq!(db.get("k499")?, Some(b"v499".to_vec()));
    Ok(())
}
