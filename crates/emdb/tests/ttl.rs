//! Time-to-live (docs/COMPATIBILITY.md §1 "TTL", feature `ttl`): expiry arithmetic, `expires_at` / `ttl`
//! / `persist`, expired records hidden on every read path yet counted by `len()` until
//! swept, compare-and-remove sweeping, the sweep on open, overflow, namespaces and
//! transactions.
//!
//! Where time matters, the database judges expiry by a test clock (`emdb_core::TestClock`,
//! a dev-dependency's feature) that the test moves by hand: the answers are exact and the
//! same on every machine, and no test waits for the system clock. The tests without one
//! use `Ttl::After(ZERO)` (expired at once) and hour-long TTLs, and so read the system
//! clock as a user's database does.
#![cfg(feature = "ttl")]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{open_ranged, temp_db, temp_path, temp_range_db};
use emdb::{Emdb, EmdbBuilder, Error, Ttl};
use emdb_core::TestClock;

const HOUR: Duration = Duration::from_secs(3600);
const HOUR_MS: u64 = 3_600_000;

/// `builder` with a fresh test clock (reading the system clock's time, standing still),
/// opened; and the clock.
fn clocked(builder: EmdbBuilder) -> Result<(TestClock, Emdb), Error> {
    let clock = TestClock::new();
    let db = builder.clock(clock.clone()).build()?;
    Ok((clock, db))
}

/// `path` opened again on `clock`.
fn reopen(path: &Path, clock: &TestClock) -> Result<Emdb, Error> {
    Emdb::builder().path(path).clock(clock.clone()).build()
}

#[test]
fn after_sets_an_absolute_expiry_and_a_remaining_ttl() -> Result<(), Error> {
    let (_dir, path) = temp_path("after.emdb");
    let (clock, db) = clocked(Emdb::builder().path(&path))?;
    let written = clock.now_ms();
    db.insert_with_ttl("k", "v", Ttl::After(HOUR))?;
    assert_eq!(db.expires_at("k")?, Some(written + HOUR_MS));
    assert_eq!(db.ttl("k")?, Some(HOUR));
    clock.advance(Duration::from_secs(60));
    assert_eq!(
        db.ttl("k")?,
        Some(HOUR - Duration::from_secs(60)),
        "the time left counts down"
    );
    assert_eq!(db.expires_at("k")?, Some(written + HOUR_MS), "the expiry stays put");
    assert_eq!(db.get("k")?, Some(b"v".to_vec()));
    Ok(())
}

#[test]
fn never_and_default_without_a_builder_ttl_do_not_expire() -> Result<(), Error> {
    let (_dir, _path, db) = temp_db();
    db.insert_with_ttl("never", "v", Ttl::Never)?;
    db.insert_with_ttl("default", "v", Ttl::Default)?;
    db.insert("plain", "v")?;
    for key in ["never", "default", "plain"] {
        assert_eq!(db.expires_at(key)?, Some(0), "{key}: live without TTL is Some(0)");
        assert_eq!(db.ttl(key)?, None, "{key}: no TTL");
        assert!(db.contains_key(key)?);
    }
    assert_eq!(db.expires_at("absent")?, None);
    assert_eq!(db.ttl("absent")?, None);
    Ok(())
}

#[test]
fn the_builder_default_ttl_applies_to_plain_writes_and_ttl_default() -> Result<(), Error> {
    let (_dir, path) = temp_path("default-ttl.emdb");
    let (clock, db) = clocked(Emdb::builder().path(&path).default_ttl(HOUR))?;
    let written = clock.now_ms();
    db.insert("plain", "v")?;
    db.insert_with_ttl("default", "v", Ttl::Default)?;
    db.insert_many([("many1", "v"), ("many2", "v")])?;
    for key in ["plain", "default", "many1", "many2"] {
        assert_eq!(db.expires_at(key)?, Some(written + HOUR_MS), "{key}");
        assert_eq!(db.ttl(key)?, Some(HOUR), "{key} has the default TTL left");
    }
    db.insert_with_ttl("never", "v", Ttl::Never)?;
    assert_eq!(db.expires_at("never")?, Some(0), "Never overrides the default");
    clock.advance(Duration::from_secs(1));
    db.insert_with_ttl("short", "v", Ttl::After(Duration::from_secs(10)))?;
    assert_eq!(db.expires_at("short")?, Some(written + 1_000 + 10_000));
    Ok(())
}

#[test]
fn after_zero_is_expired_at_once() -> Result<(), Error> {
    let (_dir, path) = temp_path("zero.emdb");
    let (clock, db) = clocked(Emdb::builder().path(&path))?;
    db.insert_with_ttl("gone", "v", Ttl::After(Duration::ZERO))?;
    assert_eq!(db.get("gone")?, None);
    assert!(!db.contains_key("gone")?);
    assert_eq!(
        db.expires_at("gone")?,
        Some(clock.now_ms()),
        "unswept: its expiry, already reached (as 1.0.3)"
    );
    assert_eq!(db.ttl("gone")?, None);
    Ok(())
}

/// A 40 ms TTL elapses on the test clock, and reads made afterwards, through handles and
/// iterators created before, no longer see the record; until then, every read does.
#[test]
fn a_record_expires_when_its_ttl_elapses() -> Result<(), Error> {
    let (_dir, path) = temp_path("elapses.emdb");
    let (clock, db) = clocked(Emdb::builder().path(&path).enable_range_scans(true))?;
    db.insert("stays", "v")?;
    let written = clock.now_ms();
    db.insert_with_ttl("short", "v", Ttl::After(Duration::from_millis(40)))?;
    assert_eq!(db.expires_at("short")?, Some(written + 40));
    clock.advance(Duration::from_millis(39));
    assert_eq!(db.get("short")?, Some(b"v".to_vec()), "visible until its expiry");
    assert_eq!(db.ttl("short")?, Some(Duration::from_millis(1)));
    // Iterators and cursors made before the expiry check it as they reach the record.
    let iter = db.iter()?;
    let keys = db.keys()?;
    let cursor = db.range_iter(..)?;
    clock.advance(Duration::from_millis(1));
    assert_eq!(db.get("short")?, None, "hidden from the millisecond of its expiry");
    assert!(!db.contains_key("short")?);
    assert_eq!(db.ttl("short")?, None);
    assert_eq!(db.expires_at("short")?, Some(written + 40), "unswept: its past expiry");
    assert_eq!(iter.map(|(k, _)| k).collect::<Vec<_>>(), vec![b"stays".to_vec()]);
    assert_eq!(keys.collect::<Vec<_>>(), vec![b"stays".to_vec()]);
    assert_eq!(cursor.map(|(k, _)| k).collect::<Vec<_>>(), vec![b"stays".to_vec()]);
    assert_eq!(db.len()?, 2, "counted until swept");
    assert_eq!(db.sweep_expired(), 1);
    Ok(())
}

#[test]
fn persist_removes_the_ttl_durably() -> Result<(), Error> {
    let (_dir, path) = temp_path("persist.emdb");
    {
        let db = Emdb::open(&path)?;
        db.insert_with_ttl("k", "value", Ttl::After(HOUR))?;
        assert!(db.persist("k")?);
        assert_eq!(db.expires_at("k")?, Some(0));
        assert_eq!(db.ttl("k")?, None);
        assert_eq!(db.get("k")?, Some(b"value".to_vec()), "persist keeps the value");
        assert!(!db.persist("k")?, "a key without TTL has nothing to persist (as 1.0.3)");
        assert!(!db.persist("absent")?);
        db.insert_with_ttl("expired", "v", Ttl::After(Duration::ZERO))?;
        assert!(!db.persist("expired")?, "an expired key cannot be revived");
        assert_eq!(db.get("expired")?, None);
        db.flush()?;
    }
    let db = Emdb::open(&path)?;
    assert_eq!(db.expires_at("k")?, Some(0), "the TTL stays removed after reopen");
    assert_eq!(db.get("k")?, Some(b"value".to_vec()));
    assert_eq!(db.get("expired")?, None);
    Ok(())
}

#[test]
fn every_read_path_hides_expired_records() -> Result<(), Error> {
    let (_dir, _path, db) = temp_range_db();
    db.insert("a-live", "1")?;
    db.insert_with_ttl("a-dead", "2", Ttl::After(Duration::ZERO))?;
    db.insert_with_ttl("b-dead", "3", Ttl::After(Duration::ZERO))?;
    db.insert_with_ttl("b-live", "4", Ttl::After(HOUR))?;
    let live = vec![(b"a-live".to_vec(), b"1".to_vec()), (b"b-live".to_vec(), b"4".to_vec())];

    assert_eq!(db.get("a-dead")?, None);
    assert!(db.get_zerocopy("a-dead")?.is_none());
    assert!(db.get_zerocopy("a-live")?.is_some_and(|v| v == b"1".to_vec()));
    assert!(!db.contains_key("b-dead")?);

    let mut items: Vec<_> = db.iter()?.collect();
    items.sort();
    assert_eq!(items, live);
    let mut tried: Vec<_> = db.try_iter()?.collect::<Result<_, _>>()?;
    tried.sort();
    assert_eq!(tried, live);
    let mut keys: Vec<_> = db.keys()?.collect();
    keys.sort();
    assert_eq!(keys, vec![b"a-live".to_vec(), b"b-live".to_vec()]);

    assert_eq!(db.range(..)?, live);
    assert_eq!(db.range(b"a".to_vec()..b"c".to_vec())?, live);
    assert_eq!(db.range_iter(..)?.collect::<Vec<_>>(), live);
    assert_eq!(db.range_prefix("b")?, live[1..]);
    assert_eq!(db.range_prefix_iter("a")?.collect::<Vec<_>>(), live[..1]);
    assert_eq!(db.iter_from("a-dead")?.collect::<Vec<_>>(), live);
    assert_eq!(db.iter_after("a-dead")?.collect::<Vec<_>>(), live);
    assert_eq!(db.iter_after("b-dead")?.collect::<Vec<_>>(), live[1..]);
    Ok(())
}

#[test]
fn len_counts_expired_records_until_they_are_swept() -> Result<(), Error> {
    let (_dir, _path, db) = temp_db();
    db.insert("live", "v")?;
    for i in 0..5 {
        db.insert_with_ttl(format!("dead{i}"), "v", Ttl::After(Duration::ZERO))?;
    }
    assert_eq!(db.len()?, 6, "emdb 1.0: len counts expired-but-unswept records");
    assert!(!db.is_empty()?);
    assert_eq!(db.sweep_expired(), 5);
    assert_eq!(db.len()?, 1);
    assert_eq!(db.sweep_expired(), 0, "nothing left to sweep");
    assert_eq!(db.get("live")?, Some(b"v".to_vec()));
    let ns = db.namespace("sessions")?;
    ns.insert_with_ttl("gone", "v", Ttl::After(Duration::ZERO))?;
    ns.insert("kept", "v")?;
    assert_eq!(ns.try_sweep_expired()?, 1);
    assert_eq!(ns.len()?, 1);
    assert!(db.drop_namespace("sessions")?);
    assert!(
        ns.try_sweep_expired().is_err(),
        "a dropped namespace reports, not counts zero"
    );
    assert_eq!(ns.sweep_expired(), 0);
    Ok(())
}

#[test]
fn sweeping_is_durable() -> Result<(), Error> {
    let (_dir, path) = temp_path("sweep.emdb");
    {
        let db = Emdb::open(&path)?;
        db.insert_with_ttl("dead", "v", Ttl::After(Duration::ZERO))?;
        db.insert("live", "v")?;
        assert_eq!(db.sweep_expired(), 1);
        db.flush()?;
    }
    let db = Emdb::open(&path)?;
    assert_eq!(db.len()?, 1);
    assert_eq!(db.get("dead")?, None);
    Ok(())
}

#[test]
fn a_reinsert_before_the_sweep_survives_it() -> Result<(), Error> {
    let (_dir, _path, db) = temp_db();
    db.insert_with_ttl("k", "old", Ttl::After(Duration::ZERO))?;
    db.insert("k", "new")?;
    assert_eq!(
        db.sweep_expired(),
        0,
        "the expired version is no longer the key's record"
    );
    assert_eq!(db.get("k")?, Some(b"new".to_vec()));
    assert_eq!(db.len()?, 1);
    Ok(())
}

#[test]
fn reinserts_racing_a_sweep_all_survive() -> Result<(), Error> {
    const N: usize = 2000;
    let (_dir, _path, db) = temp_db();
    for i in 0..N {
        db.insert_with_ttl(format!("k{i}"), "old", Ttl::After(Duration::ZERO))?;
    }
    let writer = {
        let db = db.clone();
        std::thread::spawn(move || -> Result<(), Error> {
            for i in 0..N {
                db.insert(format!("k{i}"), "new")?;
            }
            Ok(())
        })
    };
    let swept = db.try_sweep_expired()?;
    writer.join().expect("writer thread")?;
    assert!(swept <= N);
    // Whatever the interleaving, a sweep only removes a record that is still the expired
    // one: every re-inserted key must be there.
    for i in 0..N {
        assert_eq!(db.get(format!("k{i}"))?, Some(b"new".to_vec()), "k{i} (swept {swept})");
    }
    assert_eq!(db.len()?, N);
    Ok(())
}

#[test]
fn open_sweeps_expired_default_namespace_records() -> Result<(), Error> {
    let (_dir, path) = temp_path("open-sweep.emdb");
    {
        let db = Emdb::open(&path)?;
        db.insert("live", "v")?;
        db.insert_with_ttl("later", "v", Ttl::After(HOUR))?;
        for i in 0..3 {
            db.insert_with_ttl(format!("dead{i}"), "v", Ttl::After(Duration::ZERO))?;
        }
        let ns = db.namespace("ns")?;
        ns.insert_with_ttl("dead", "v", Ttl::After(Duration::ZERO))?;
        ns.insert("live", "v")?;
        assert_eq!(db.len()?, 5);
        db.flush()?;
    }
    let db = Emdb::open(&path)?;
    assert_eq!(db.len()?, 2, "expired records were swept on open");
    assert_eq!(db.get("live")?, Some(b"v".to_vec()));
    assert!(db.ttl("later")?.is_some(), "unexpired TTLs survive reopen");
    let ns = db.namespace("ns")?;
    assert_eq!(ns.get("dead")?, None, "an expired namespace record stays hidden");
    assert_eq!(ns.get("live")?, Some(b"v".to_vec()));
    drop((ns, db));
    // The sweep on open was itself logged.
    let db = Emdb::open(&path)?;
    assert_eq!(db.len()?, 2);
    Ok(())
}

#[test]
fn expiries_survive_a_checkpointed_reopen() -> Result<(), Error> {
    let (_dir, path) = temp_path("checkpoint-ttl.emdb");
    let clock = TestClock::new();
    let written = clock.now_ms();
    {
        let db = reopen(&path, &clock)?;
        db.insert_with_ttl("hour", "v", Ttl::After(HOUR))?;
        db.insert_with_ttl("persisted", "v", Ttl::After(HOUR))?;
        db.insert("plain", "v")?;
        db.insert_with_ttl("dead-before", "v", Ttl::After(Duration::ZERO))?;
        db.checkpoint()?;
        // After the checkpoint, in the tail the next open scans.
        assert!(db.persist("persisted")?);
        db.insert_with_ttl("dead-after", "v", Ttl::After(Duration::ZERO))?;
        assert_eq!(db.len()?, 5);
        db.flush()?;
    }
    let db = reopen(&path, &clock)?;
    assert_eq!(db.expires_at("hour")?, Some(written + HOUR_MS));
    assert_eq!(db.expires_at("persisted")?, Some(0));
    assert_eq!(db.expires_at("plain")?, Some(0));
    assert_eq!(db.get("dead-before")?, None);
    assert_eq!(db.get("dead-after")?, None);
    assert_eq!(db.len()?, 3, "both expired records were swept on open");
    Ok(())
}

#[test]
fn an_unrepresentable_expiry_is_ttl_overflow() -> Result<(), Error> {
    let (_dir, path) = temp_path("overflow.emdb");
    let db = Emdb::open(&path)?;
    assert!(matches!(
        db.insert_with_ttl("k", "v", Ttl::After(Duration::MAX)),
        Err(Error::TtlOverflow)
    ));
    assert!(matches!(
        db.insert_with_ttl("k", "v", Ttl::After(Duration::from_millis(u64::MAX))),
        Err(Error::TtlOverflow)
    ));
    assert_eq!(db.get("k")?, None, "nothing was written");
    let ns = db.namespace("ns")?;
    assert!(matches!(
        ns.insert_with_ttl("k", "v", Ttl::After(Duration::MAX)),
        Err(Error::TtlOverflow)
    ));
    let tx: Result<(), Error> = db.transaction(|tx| {
        tx.insert("staged", "v")?;
        tx.insert_with_ttl("k", "v", Ttl::After(Duration::MAX))
    });
    assert!(matches!(tx, Err(Error::TtlOverflow)));
    assert_eq!(db.get("staged")?, None, "the failed transaction rolled back");
    drop((ns, db));

    let db = Emdb::builder().path(&path).default_ttl(Duration::MAX).build()?;
    assert!(
        matches!(db.insert("k", "v"), Err(Error::TtlOverflow)),
        "default TTL overflow"
    );
    assert!(db.insert_with_ttl("k", "v", Ttl::Never).is_ok());
    Ok(())
}

#[test]
fn namespaces_inherit_the_default_ttl_and_support_the_ttl_api() -> Result<(), Error> {
    let (_dir, path) = temp_path("ns-ttl.emdb");
    let (clock, db) = clocked(Emdb::builder().path(&path).default_ttl(HOUR))?;
    let ns = db.namespace("cache")?;
    let written = clock.now_ms();
    ns.insert("plain", "v")?;
    ns.insert_many([("many", "v")])?;
    assert_eq!(ns.expires_at("plain")?, Some(written + HOUR_MS));
    assert_eq!(ns.expires_at("many")?, Some(written + HOUR_MS));
    assert_eq!(ns.ttl("plain")?, Some(HOUR));

    ns.insert_with_ttl("never", "v", Ttl::Never)?;
    assert_eq!(ns.expires_at("never")?, Some(0));
    assert!(ns.persist("plain")?);
    assert_eq!(ns.expires_at("plain")?, Some(0));
    assert!(!ns.persist("absent")?);

    ns.insert_with_ttl("dead", "v", Ttl::After(Duration::ZERO))?;
    assert_eq!(ns.get("dead")?, None);
    assert!(!ns.contains_key("dead")?);
    assert_eq!(ns.expires_at("dead")?, Some(written), "unswept: its past expiry");
    assert!(!ns.persist("dead")?);
    assert_eq!(ns.len()?, 4, "counted until swept");
    assert!(ns.iter()?.all(|(k, _)| k != b"dead"));
    assert!(ns.keys()?.all(|k| k != b"dead"));
    assert_eq!(ns.sweep_expired(), 1);
    assert_eq!(ns.len()?, 3);
    assert_eq!(db.len()?, 0, "the namespace's sweep touched only the namespace");
    Ok(())
}

#[test]
fn namespace_range_reads_hide_expired_records() -> Result<(), Error> {
    let (_dir, path) = temp_path("ns-range-ttl.emdb");
    let db = open_ranged(&path);
    let ns = db.namespace("ns")?;
    ns.insert("a", "1")?;
    ns.insert_with_ttl("b", "2", Ttl::After(Duration::ZERO))?;
    ns.insert("c", "3")?;
    let live = vec![(b"a".to_vec(), b"1".to_vec()), (b"c".to_vec(), b"3".to_vec())];
    assert_eq!(ns.range(..)?, live);
    assert_eq!(ns.range_prefix("b")?, Vec::new());
    assert_eq!(ns.iter_from("b")?.collect::<Vec<_>>(), live[1..]);
    Ok(())
}

#[test]
fn transactions_stage_ttls() -> Result<(), Error> {
    let (_dir, path) = temp_path("tx-ttl.emdb");
    let (clock, db) = clocked(Emdb::builder().path(&path).default_ttl(HOUR))?;
    let written = clock.now_ms();
    db.transaction(|tx| {
        tx.insert("defaulted", "v")?;
        tx.insert_with_ttl("short", "v", Ttl::After(Duration::from_secs(60)))?;
        tx.insert_with_ttl("never", "v", Ttl::Never)?;
        tx.insert_with_ttl("dead", "v", Ttl::After(Duration::ZERO))?;
        assert_eq!(tx.get("dead")?, None, "an expired staged write reads as absent");
        assert!(!tx.contains_key("dead")?);
        assert_eq!(tx.get("short")?, Some(b"v".to_vec()));
        // A staged write's expiry is judged when it is read: time passes in a transaction.
        clock.advance(Duration::from_secs(60));
        assert_eq!(
            tx.get("short")?,
            None,
            "a staged write whose TTL ran out reads as absent"
        );
        clock.set(written);
        Ok(())
    })?;
    assert_eq!(db.expires_at("defaulted")?, Some(written + HOUR_MS));
    assert_eq!(db.expires_at("short")?, Some(written + 60_000));
    assert_eq!(db.expires_at("never")?, Some(0));
    assert_eq!(db.get("dead")?, None);
    assert_eq!(db.len()?, 4);
    assert_eq!(db.sweep_expired(), 1);
    drop(db);
    let db = reopen(&path, &clock)?;
    assert_eq!(db.expires_at("short")?, Some(written + 60_000));
    assert_eq!(db.expires_at("never")?, Some(0));
    Ok(())
}
