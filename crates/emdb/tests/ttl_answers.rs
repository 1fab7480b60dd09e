//! TTL calls answer as emdb 1.0.3 answers them (issue 14, "Answers the same"): the same
//! script runs against `emdb_v1` and this facade and the answers are compared. `persist`
//! on a key without expiry is `false` and appends nothing; a record whose TTL has passed
//! but that no sweep has removed yet reports its expiry, hands its value to `remove`, is
//! not brought back by `persist`, and stays hidden from `get`, `contains_key` and
//! iteration.
//!
//! Our side judges expiry by a test clock (`emdb_core::TestClock`) and reads "now" from it,
//! so its answers do not depend on the machine's speed; emdb 1.0.3 has only the system
//! clock.
#![cfg(feature = "ttl")]

mod common;

use std::time::Duration;

use common::{now_ms, temp_path};
use emdb::{Emdb, Error, Ttl};
use emdb_core::TestClock;
use emdb_v1 as v1;

const HOUR: Duration = Duration::from_secs(3600);

/// What one implementation answered for a record inserted with `Ttl::After(ZERO)` (an
/// expiry already reached when the next call runs), in call order.
#[derive(Debug, PartialEq, Eq)]
struct ExpiredAnswers {
    get: Option<Vec<u8>>,
    contains: bool,
    /// `expires_at`, reduced to "a past instant" so that the two clocks compare.
    expiry_in_past: Option<bool>,
    ttl: Option<Duration>,
    persist: bool,
    get_after_persist: Option<Vec<u8>>,
    listed: Vec<Vec<u8>>,
    len: usize,
    remove: Option<Vec<u8>>,
    remove_again: Option<Vec<u8>>,
    expiry_after_remove: Option<u64>,
}

/// Runs the expired-record script on `$db` (an `Emdb` or `Namespace` of either version),
/// with `$ttl` the version's `Ttl` type and `$now` the time by the clock it judges expiry by.
macro_rules! expired_script {
    ($db:expr, $ttl:ident, $now:expr) => {{
        let db = $db;
        db.insert("stays", "v").expect("insert");
        db.insert_with_ttl("dead", "old", $ttl::After(Duration::ZERO))
            .expect("insert with ttl");
        let get = db.get("dead").expect("get");
        let contains = db.contains_key("dead").expect("contains");
        let now = $now;
        let expiry_in_past = db
            .expires_at("dead")
            .expect("expires_at")
            .map(|at| at != 0 && at <= now);
        let ttl = db.ttl("dead").expect("ttl");
        let persist = db.persist("dead").expect("persist");
        let get_after_persist = db.get("dead").expect("get");
        let mut listed: Vec<Vec<u8>> = db.iter().expect("iter").map(|(k, _)| k).collect();
        listed.extend(db.keys().expect("keys"));
        let len = db.len().expect("len");
        let remove = db.remove("dead").expect("remove");
        let remove_again = db.remove("dead").expect("remove");
        let expiry_after_remove = db.expires_at("dead").expect("expires_at");
        ExpiredAnswers {
            get,
            contains,
            expiry_in_past,
            ttl,
            persist,
            get_after_persist,
            listed,
            len,
            remove,
            remove_again,
            expiry_after_remove,
        }
    }};
}

/// The answers emdb 1.0.3 gives, which the facade must give too.
fn v1_answers() -> (ExpiredAnswers, ExpiredAnswers) {
    let (_dir, path) = temp_path("v1.emdb");
    let db = v1::Emdb::open(&path).expect("v1 open");
    let plain = expired_script!(&db, v1Ttl, now_ms());
    let ns = db.namespace("ns").expect("v1 namespace");
    let named = expired_script!(&ns, v1Ttl, now_ms());
    (plain, named)
}

#[allow(non_camel_case_types, reason = "the macro names the version's Ttl by one identifier")]
type v1Ttl = v1::Ttl;

#[test]
fn an_expired_unswept_record_answers_as_in_v1() -> Result<(), Error> {
    let (v1_plain, v1_named) = v1_answers();
    // 1.0.3's answers, spelled out so that a change in either side is visible.
    let expected = ExpiredAnswers {
        get: None,
        contains: false,
        expiry_in_past: Some(true),
        ttl: None,
        persist: false,
        get_after_persist: None,
        listed: vec![b"stays".to_vec(), b"stays".to_vec()],
        len: 2,
        remove: Some(b"old".to_vec()),
        remove_again: None,
        expiry_after_remove: None,
    };
    assert_eq!(v1_plain, expected, "emdb 1.0.3, default namespace");
    assert_eq!(v1_named, expected, "emdb 1.0.3, named namespace");

    let (_dir, path) = temp_path("ours.emdb");
    let clock = TestClock::new();
    let db = Emdb::builder().path(&path).clock(clock.clone()).build()?;
    assert_eq!(expired_script!(&db, Ttl, clock.now_ms()), expected, "default namespace");
    let ns = db.namespace("ns")?;
    assert_eq!(expired_script!(&ns, Ttl, clock.now_ms()), expected, "named namespace");
    drop(ns);
    drop(db);

    // Nothing was resurrected by `persist`, and `remove`'s tombstone holds after reopen.
    let db = Emdb::open(&path)?;
    assert_eq!(db.get("dead")?, None);
    assert_eq!(db.expires_at("dead")?, None);
    assert_eq!(db.namespace("ns")?.get("dead")?, None);
    Ok(())
}

/// `persist` of an expired record leaves the log as it was (nothing appended).
#[test]
fn persist_of_an_expired_record_writes_nothing() -> Result<(), Error> {
    let (_dir, path) = temp_path("expired.emdb");
    let db = Emdb::open(&path)?;
    db.insert_with_ttl("dead", "v", Ttl::After(Duration::ZERO))?;
    let before = db.stats()?.logical_size_bytes;
    assert!(!db.persist("dead")?);
    assert_eq!(db.stats()?.logical_size_bytes, before, "no record appended");
    Ok(())
}

/// The `persist` answers of one implementation for a key without expiry, one with, and an
/// absent one.
macro_rules! persist_script {
    ($db:expr, $ttl:ident) => {{
        let db = $db;
        db.insert("plain", "v").expect("insert");
        db.insert_with_ttl("never", "v", $ttl::Never).expect("insert never");
        db.insert_with_ttl("timed", "v", $ttl::After(HOUR))
            .expect("insert timed");
        [
            db.persist("plain").expect("persist"),
            db.persist("never").expect("persist"),
            db.persist("absent").expect("persist"),
            db.persist("timed").expect("persist"),
            db.persist("timed").expect("persist again"),
        ]
    }};
}

#[test]
fn persist_without_expiry_answers_as_in_v1() -> Result<(), Error> {
    let (_v1dir, v1path) = temp_path("v1.emdb");
    let old = v1::Emdb::open(&v1path).expect("v1 open");
    let expected = persist_script!(&old, v1Ttl);
    assert_eq!(expected, [false, false, false, true, false], "emdb 1.0.3");
    let old_ns = old.namespace("ns").expect("v1 namespace");
    assert_eq!(persist_script!(&old_ns, v1Ttl), expected, "emdb 1.0.3 namespace");

    let (_dir, path) = temp_path("ours.emdb");
    let db = Emdb::open(&path)?;
    assert_eq!(persist_script!(&db, Ttl), expected, "default namespace");
    let ns = db.namespace("ns")?;
    assert_eq!(persist_script!(&ns, Ttl), expected, "named namespace");
    assert_eq!(db.expires_at("timed")?, Some(0), "the expiry was removed");
    assert_eq!(ns.expires_at("timed")?, Some(0));
    Ok(())
}

#[test]
fn persist_without_expiry_writes_nothing() -> Result<(), Error> {
    let (_dir, path) = temp_path("persist.emdb");
    {
        let db = Emdb::open(&path)?;
        let ns = db.namespace("ns")?;
        db.insert("plain", "v")?;
        ns.insert("plain", "v")?;
        db.flush()?;
        let before = db.stats()?.logical_size_bytes;
        assert!(!db.persist("plain")?);
        assert!(!ns.persist("plain")?);
        assert_eq!(db.stats()?.logical_size_bytes, before, "no record appended");
        // A key with an expiry is rewritten: the log grows, which shows the check can fail.
        db.insert_with_ttl("timed", "v", Ttl::After(HOUR))?;
        let grown = db.stats()?.logical_size_bytes;
        assert!(db.persist("timed")?);
        assert!(db.stats()?.logical_size_bytes > grown, "persist of a timed key appends");
    }
    let db = Emdb::open(&path)?;
    assert_eq!(db.get("plain")?, Some(b"v".to_vec()));
    assert_eq!(db.expires_at("plain")?, Some(0));
    assert_eq!(db.expires_at("timed")?, Some(0), "persisted durably");
    Ok(())
}
