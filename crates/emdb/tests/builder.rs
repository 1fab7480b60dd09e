//! The builder's plain behaviour (docs/COMPATIBILITY.md §2, §7): defaults, clone, debug, the accepted
//! no-op knob, and the derives of the plain types.

use std::time::Duration;

use emdb::{Emdb, EmdbBuilder, EmdbStats, Error, FlushPolicy, Ttl};

#[test]
fn defaults_clone_and_debug() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let builder = EmdbBuilder::default()
        .path(dir.path().join("b.emdb"))
        .flush_policy(FlushPolicy::Group)
        .iouring_sqpoll(50)
        .enable_range_scans(true);
    let text = format!("{builder:?}");
    assert!(text.contains("b.emdb") && text.contains("Group"), "{text}");
    let db = builder.clone().build()?;
    db.insert("k", "v")?;
    assert!(db.stats()?.range_scans_enabled, "the clone kept every option");
    drop(db);
    let again = Emdb::builder().path(dir.path().join("b.emdb")).build()?;
    assert!(
        !again.stats()?.range_scans_enabled,
        "range scans are chosen per open, not stored"
    );
    assert_eq!(again.get("k")?, Some(b"v".to_vec()));
    Ok(())
}

#[cfg(feature = "ttl")]
#[test]
fn default_ttl_applies_to_plain_inserts() -> Result<(), Error> {
    // A test clock: the time left is exact, however long the machine takes.
    let clock = emdb_core::TestClock::new();
    let db = Emdb::builder()
        .default_ttl(Duration::from_secs(3600))
        .clock(clock.clone())
        .build()?;
    db.insert("k", "v")?;
    assert_eq!(db.ttl("k")?, Some(Duration::from_secs(3600)));
    clock.advance(Duration::from_secs(100));
    assert_eq!(db.ttl("k")?, Some(Duration::from_secs(3500)));
    db.insert_with_ttl("forever", "v", Ttl::Never)?;
    assert_eq!(db.ttl("forever")?, None);
    Ok(())
}

#[test]
fn plain_types_have_their_derives() {
    fn traits<T: std::fmt::Debug + Clone + Copy + PartialEq + Eq>() {}
    traits::<FlushPolicy>();
    traits::<Ttl>();
    traits::<EmdbStats>();
    assert_eq!(FlushPolicy::default(), FlushPolicy::OnEachFlush);
    assert_ne!(Ttl::Never, Ttl::Default);
    assert_eq!(
        Ttl::After(Duration::from_millis(5)),
        Ttl::After(Duration::from_millis(5))
    );
    fn holder<T: std::fmt::Debug + Clone>() {}
    holder::<emdb::LockHolder>();
}
