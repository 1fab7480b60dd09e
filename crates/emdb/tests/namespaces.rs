//! Namespaces: isolated key spaces with stable ids, listed in creation order, dropped
//! durably.

use emdb::{Emdb, Error};

#[test]
fn namespaces_are_isolated_and_survive_reopen() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ns.emdb");
    {
        let db = Emdb::open(&path)?;
        let users = db.namespace("users")?;
        let orders = db.namespace("orders")?;
        db.insert("k", "default")?;
        users.insert("k", "user")?;
        orders.insert("k", "order")?;
        assert_eq!(users.name(), "users");
        assert_eq!(users.get("k")?, Some(b"user".to_vec()));
        assert_eq!(db.get("k")?, Some(b"default".to_vec()));
        assert_eq!(users.len()?, 1);
        users.insert_many([("a", "1"), ("b", "2")])?;
        assert_eq!(users.len()?, 3);
        assert_eq!(
            db.namespace("users")?.get("a")?,
            Some(b"1".to_vec()),
            "the same namespace again"
        );
        assert_eq!(
            db.list_namespaces()?,
            vec!["".to_string(), "users".into(), "orders".into()]
        );
        assert!(matches!(db.namespace(""), Err(Error::InvalidConfig(_))));
    }
    let db = Emdb::open(&path)?;
    assert_eq!(
        db.list_namespaces()?,
        vec!["".to_string(), "users".into(), "orders".into()]
    );
    assert_eq!(db.namespace("orders")?.get("k")?, Some(b"order".to_vec()));
    assert_eq!(db.namespace("users")?.len()?, 3);
    assert_eq!(db.stats()?.namespace_count, 2);
    assert_eq!(db.stats()?.live_records, 5);
    Ok(())
}

#[test]
fn dropping_a_namespace_removes_it_durably_and_recreating_starts_empty() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("drop.emdb");
    {
        let db = Emdb::open(&path)?;
        let tmp = db.namespace("tmp")?;
        for i in 0..100 {
            tmp.insert(format!("k{i}"), "v")?;
        }
        assert!(db.drop_namespace("tmp")?);
        assert!(!db.drop_namespace("tmp")?);
        assert!(!db.drop_namespace("never")?);
        assert!(
            matches!(tmp.get("k1"), Err(Error::InvalidConfig(_))),
            "a stale handle is refused"
        );
        assert!(matches!(tmp.insert("k", "v"), Err(Error::InvalidConfig(_))));
        assert_eq!(db.list_namespaces()?, vec![String::new()]);
        let again = db.namespace("tmp")?;
        assert!(again.is_empty()?);
        again.insert("new", "value")?;
    }
    let db = Emdb::open(&path)?;
    let tmp = db.namespace("tmp")?;
    assert_eq!(tmp.len()?, 1);
    assert_eq!(tmp.get("k1")?, None);
    assert_eq!(tmp.get("new")?, Some(b"value".to_vec()));
    Ok(())
}
