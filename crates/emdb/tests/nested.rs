//! Nested keys (`nested` feature): groups by dotted prefix, focus handles, group deletion.
#![cfg(feature = "nested")]

use emdb::{Emdb, Error};

fn seeded(range: bool) -> Result<(tempfile::TempDir, Emdb), Error> {
    let dir = tempfile::tempdir()?;
    let db = Emdb::builder()
        .path(dir.path().join("n.emdb"))
        .enable_range_scans(range)
        .build()?;
    db.insert("user.1.name", "alice")?;
    db.insert("user.1.role", "admin")?;
    db.insert("user.2.name", "bob")?;
    db.insert("users", "not in the group")?;
    db.insert("order.1", "x")?;
    Ok((dir, db))
}

#[test]
fn groups_and_focus_with_and_without_range_scans() -> Result<(), Error> {
    for range in [false, true] {
        let (_dir, db) = seeded(range)?;
        let mut group: Vec<_> = db.group("user")?.collect();
        group.sort();
        assert_eq!(
            group,
            vec![
                (b"user.1.name".to_vec(), b"alice".to_vec()),
                (b"user.1.role".to_vec(), b"admin".to_vec()),
                (b"user.2.name".to_vec(), b"bob".to_vec()),
            ],
            "range scans {range}"
        );
        let one = db.focus("user").focus("1");
        assert_eq!(one.get("name")?, Some(b"alice".to_vec()));
        one.set("email", "a@example.com")?;
        assert!(one.contains_key("email")?);
        assert_eq!(db.get("user.1.email")?, Some(b"a@example.com".to_vec()));
        assert_eq!(one.iter()?.count(), 3);
        assert_eq!(one.remove("role")?, Some(b"admin".to_vec()));
        assert_eq!(
            db.focus("").get("users")?,
            Some(b"not in the group".to_vec()),
            "empty prefix: bare keys"
        );
        assert_eq!(db.focus("").iter()?.count(), db.len()?);
        assert_eq!(db.delete_group("user")?, 3);
        assert_eq!(
            db.get("users")?,
            Some(b"not in the group".to_vec()),
            "a key that only shares the prefix stays"
        );
        assert_eq!(db.group("user")?.count(), 0);
        assert_eq!(db.focus("order").delete_all()?, 1);
    }
    Ok(())
}

#[test]
fn empty_prefixes_are_refused_where_they_would_delete_everything() -> Result<(), Error> {
    let (_dir, db) = seeded(false)?;
    assert!(matches!(db.delete_group(""), Err(Error::InvalidPath)));
    assert!(matches!(db.focus("").delete_all(), Err(Error::InvalidPath)));
    assert_eq!(db.len()?, 5);
    Ok(())
}

#[cfg(feature = "ttl")]
#[test]
fn focus_writes_with_a_ttl() -> Result<(), Error> {
    let (_dir, db) = seeded(false)?;
    db.focus("session")
        .set_with_ttl("abc", "token", emdb::Ttl::After(std::time::Duration::ZERO))?;
    assert_eq!(db.get("session.abc")?, None, "expired at once");
    db.focus("session").set_with_ttl("def", "token", emdb::Ttl::Never)?;
    assert_eq!(db.expires_at("session.def")?, Some(0));
    Ok(())
}
