//! Range scans and cursors (docs/COMPATIBILITY.md §1 "Iteration", §3): every bound kind, prefixes,
//! pagination with `iter_from` / `iter_after`, weakly consistent cursors, namespaces, the
//! `InvalidConfig` error without range scans, the rebuilt index after reopen, and a
//! `BTreeMap` model under random operations and bounds.

mod common;

use std::collections::BTreeMap;
use std::ops::{Bound, RangeBounds};

use common::{is_invalid_config, open_ranged, temp_db, temp_path, temp_range_db};
use emdb_core::{Emdb, Error};
use proptest::prelude::*;

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;
type Bounds = (Bound<Vec<u8>>, Bound<Vec<u8>>);

fn k(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

/// The model's answer for `range`, ascending.
fn model_range<R: RangeBounds<Vec<u8>>>(model: &BTreeMap<Vec<u8>, Vec<u8>>, range: &R) -> Pairs {
    model
        .iter()
        .filter(|(key, _)| range.contains(*key))
        .map(|(key, v)| (key.clone(), v.clone()))
        .collect()
}

/// Ten keys `k0`..`k9` with values `v0`..`v9`, in the database and in a model.
fn ten_keys(db: &Emdb) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut model = BTreeMap::new();
    // Inserted out of order: the range index, not insertion order, sorts them.
    for i in [3, 7, 0, 9, 1, 5, 8, 2, 6, 4] {
        db.insert(format!("k{i}"), format!("v{i}")).expect("insert");
        model.insert(format!("k{i}").into_bytes(), format!("v{i}").into_bytes());
    }
    model
}

#[test]
fn every_bound_kind_selects_the_right_keys_in_order() -> Result<(), Error> {
    let (_dir, _path, db) = temp_range_db();
    let m = ten_keys(&db);
    assert_eq!(db.range(k("k2")..k("k5"))?, model_range(&m, &(k("k2")..k("k5"))));
    assert_eq!(db.range(k("k2")..=k("k5"))?, model_range(&m, &(k("k2")..=k("k5"))));
    assert_eq!(db.range(k("k7")..)?, model_range(&m, &(k("k7")..)));
    assert_eq!(db.range(..k("k3"))?, model_range(&m, &(..k("k3"))));
    assert_eq!(db.range(..=k("k3"))?, model_range(&m, &(..=k("k3"))));
    assert_eq!(db.range(..)?, model_range(&m, &(..)));
    let excl = (Bound::Excluded(k("k2")), Bound::Included(k("k5")));
    assert_eq!(db.range(excl.clone())?, model_range(&m, &excl));
    let excl_both = (Bound::Excluded(k("k2")), Bound::Excluded(k("k5")));
    assert_eq!(db.range(excl_both.clone())?, model_range(&m, &excl_both));
    let excl_open = (Bound::Excluded(k("k8")), Bound::Unbounded);
    assert_eq!(db.range(excl_open.clone())?, model_range(&m, &excl_open));

    // Spot checks, so the model helper itself is not trusted blindly.
    let keys: Vec<Vec<u8>> = db.range(k("k2")..k("k5"))?.into_iter().map(|(key, _)| key).collect();
    assert_eq!(keys, vec![k("k2"), k("k3"), k("k4")]);
    assert_eq!(db.range(..)?.len(), 10);
    assert_eq!(db.range(k("k5")..=k("k5"))?, vec![(k("k5"), k("v5"))]);
    // Bounds between keys, and empty or inverted ranges.
    assert_eq!(db.range(k("k25")..k("k4"))?.len(), 1);
    assert!(db.range(k("k5")..k("k5"))?.is_empty());
    assert!(db.range(k("k7")..k("k2"))?.is_empty());
    assert!(
        db.range((Bound::Excluded(k("k5")), Bound::Excluded(k("k5"))))?
            .is_empty()
    );
    assert!(db.range(k("z")..)?.is_empty());
    // The lazy form agrees with the eager one.
    assert_eq!(
        db.range_iter(k("k1")..=k("k8"))?.collect::<Pairs>(),
        db.range(k("k1")..=k("k8"))?
    );
    Ok(())
}

#[test]
fn results_are_ascending_bytewise() -> Result<(), Error> {
    let (_dir, _path, db) = temp_range_db();
    let keys: Vec<Vec<u8>> = vec![
        vec![],
        vec![0],
        vec![0, 0],
        vec![1],
        vec![0x7F],
        vec![0x80],
        vec![0xFF],
        vec![0xFF, 0],
    ];
    for key in keys.iter().rev() {
        db.insert(key.clone(), key.clone())?;
    }
    let got: Vec<Vec<u8>> = db.range(..)?.into_iter().map(|(key, _)| key).collect();
    assert_eq!(got, keys, "unsigned byte order, shorter prefix first, empty key first");
    Ok(())
}

#[test]
fn prefixes_including_all_ones_and_empty() -> Result<(), Error> {
    let (_dir, _path, db) = temp_range_db();
    let keys: Vec<Vec<u8>> = vec![
        k("app"),
        k("apple"),
        k("apples"),
        k("apq"),
        k("ap"),
        vec![0xFE, 0xFF],
        vec![0xFF],
        vec![0xFF, 0xFE],
        vec![0xFF, 0xFF],
        vec![0xFF, 0xFF, 0x00],
        vec![0xFF, 0xFF, 0xFF, 0xFF],
    ];
    let mut model = BTreeMap::new();
    for key in &keys {
        db.insert(key.clone(), b"v".to_vec())?;
        model.insert(key.clone(), b"v".to_vec());
    }
    let starting = |p: &[u8]| -> Pairs {
        model
            .iter()
            .filter(|(key, _)| key.starts_with(p))
            .map(|(key, v)| (key.clone(), v.clone()))
            .collect()
    };
    assert_eq!(db.range_prefix("app")?, starting(b"app"));
    assert_eq!(db.range_prefix("app")?.len(), 3);
    assert_eq!(db.range_prefix_iter("ap")?.collect::<Pairs>(), starting(b"ap"));
    assert_eq!(db.range_prefix([0xFF, 0xFF])?, starting(&[0xFF, 0xFF]));
    assert_eq!(
        db.range_prefix([0xFF, 0xFF])?.len(),
        3,
        "all-0xFF prefix: unbounded end"
    );
    assert_eq!(db.range_prefix([0xFF])?.len(), 5);
    assert_eq!(db.range_prefix([0xFE])?, vec![(vec![0xFE, 0xFF], b"v".to_vec())]);
    assert_eq!(db.range_prefix(b"")?, starting(b""), "empty prefix: everything");
    assert_eq!(db.range_prefix_iter(b"")?.count(), keys.len());
    assert!(db.range_prefix("zzz")?.is_empty());
    Ok(())
}

/// Pages through 2,000 keys, 100 at a time, with `iter_from` for the first page and
/// `iter_after(last)` for the others.
fn paginate<I, F, A>(first: F, after: A) -> Vec<Vec<u8>>
where
    I: Iterator<Item = (Vec<u8>, Vec<u8>)>,
    F: FnOnce() -> I,
    A: Fn(&[u8]) -> I,
{
    let mut seen = Vec::new();
    let mut page: Vec<(Vec<u8>, Vec<u8>)> = first().take(100).collect();
    while !page.is_empty() {
        assert!(
            page.len() == 100 || seen.len() + page.len() == 2000,
            "short page in the middle"
        );
        for (key, value) in &page {
            assert_eq!(value, &[b"v:", key.as_slice()].concat(), "value of {key:?}");
        }
        seen.extend(page.iter().map(|(key, _)| key.clone()));
        let last = page.last().expect("non-empty").0.clone();
        page = after(&last).take(100).collect();
    }
    seen
}

fn numbered(i: u32) -> Vec<u8> {
    format!("key{i:05}").into_bytes()
}

#[test]
fn iter_from_and_iter_after_paginate_every_key_once_in_order() -> Result<(), Error> {
    let (_dir, _path, db) = temp_range_db();
    // Inserted in a scrambled order.
    for i in 0..2000u32 {
        let j = (i * 7919) % 2000;
        db.insert(numbered(j), [b"v:".as_slice(), &numbered(j)].concat())?;
    }
    let seen = paginate(
        || db.iter_from(b"").expect("iter_from"),
        |last| db.iter_after(last).expect("iter_after"),
    );
    let expected: Vec<Vec<u8>> = (0..2000).map(numbered).collect();
    assert_eq!(seen, expected);

    // iter_from is inclusive, iter_after exclusive.
    assert_eq!(
        db.iter_from(numbered(1500))?.next().map(|(key, _)| key),
        Some(numbered(1500))
    );
    assert_eq!(
        db.iter_after(numbered(1500))?.next().map(|(key, _)| key),
        Some(numbered(1501))
    );
    assert_eq!(db.iter_after(numbered(1999))?.next(), None);
    // A start between keys.
    assert_eq!(
        db.iter_from("key00010x")?.next().map(|(key, _)| key),
        Some(numbered(11))
    );
    Ok(())
}

#[test]
fn a_cursor_never_repeats_or_reorders_while_keys_are_inserted_ahead() -> Result<(), Error> {
    let (_dir, _path, db) = temp_range_db();
    for i in (0..4000u32).step_by(2) {
        db.insert(numbered(i), "orig")?;
    }
    let cursor = db.range_iter(..)?;
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let mut step = 0u32;
    for (key, _) in cursor {
        if let Some(prev) = seen.last() {
            assert!(prev < &key, "{key:?} after {prev:?}: repeated or out of order");
        }
        seen.push(key);
        step += 1;
        // Fill odd keys ahead of the cursor, rewrite keys behind and ahead of it.
        let base = step * 2;
        if base + 101 < 4000 {
            db.insert(numbered(base + 101), "new")?;
            db.insert(numbered(base + 40), "rewritten")?;
        }
        if base >= 10 {
            db.insert(numbered(base - 10), "behind")?;
        }
    }
    // Every key present from start to end (the even ones) was returned exactly once.
    for i in (0..4000u32).step_by(2) {
        assert!(seen.binary_search(&numbered(i)).is_ok(), "{:?} missing", numbered(i));
    }
    Ok(())
}

#[test]
fn a_cursor_reflects_removals_and_replacements_ahead_of_it() -> Result<(), Error> {
    let (_dir, _path, db) = temp_range_db();
    for i in 0..3000u32 {
        db.insert(numbered(i), "old")?;
    }
    let mut cursor = db.range_iter(..)?;
    assert_eq!(cursor.next().map(|(key, _)| key), Some(numbered(0)));
    // The cursor has fetched at most its first page (16 entries); keys 1,000 further on
    // are read after these writes.
    db.remove(numbered(1000))?;
    db.insert(numbered(2000), "new")?;
    db.insert(numbered(0), "behind")?;
    let rest: Pairs = cursor.collect();
    assert_eq!(rest.len(), 2998);
    assert!(
        rest.iter().all(|(key, _)| key != &numbered(1000)),
        "a removed key came back"
    );
    assert!(
        rest.iter().all(|(key, _)| key != &numbered(0)),
        "a key behind came again"
    );
    let replaced = rest.iter().find(|(key, _)| key == &numbered(2000)).expect("2000");
    assert_eq!(replaced.1, b"new".to_vec());

    // Fresh range calls always reflect the latest writes.
    db.remove(numbered(5))?;
    db.insert(numbered(6), "six")?;
    assert_eq!(
        db.range(numbered(4)..=numbered(6))?,
        vec![(numbered(4), k("old")), (numbered(6), k("six"))]
    );
    db.clear()?;
    assert!(db.range(..)?.is_empty(), "clear empties the range index");
    Ok(())
}

#[test]
fn namespaces_have_their_own_ranges_and_cursors() -> Result<(), Error> {
    let (_dir, _path, db) = temp_range_db();
    let ns = db.namespace("ns")?;
    let other = db.namespace("other")?;
    db.insert("key00001", "default")?;
    other.insert("key00001", "other")?;
    for i in (0..2000u32).rev() {
        ns.insert(numbered(i), [b"v:".as_slice(), &numbered(i)].concat())?;
    }
    let seen = paginate(
        || ns.iter_from(b"").expect("iter_from"),
        |last| ns.iter_after(last).expect("iter_after"),
    );
    assert_eq!(seen, (0..2000).map(numbered).collect::<Vec<_>>());
    assert_eq!(ns.range(numbered(10)..numbered(13))?.len(), 3);
    assert_eq!(ns.range(..)?.len(), 2000);
    assert_eq!(ns.range_iter(numbered(1998)..)?.count(), 2);
    assert_eq!(ns.range_prefix("key0001")?.len(), 10);
    assert_eq!(ns.range_prefix_iter("key0199")?.count(), 10);
    assert_eq!(db.range(..)?, vec![(k("key00001"), k("default"))], "no namespace leaks");
    assert_eq!(other.range(..)?, vec![(k("key00001"), k("other"))]);

    // The cursor semantics hold in a namespace too.
    let mut cursor = ns.range_iter(..)?;
    assert_eq!(cursor.next().map(|(key, _)| key), Some(numbered(0)));
    ns.remove(numbered(1000))?;
    ns.insert(numbered(1500), "new")?;
    ns.insert("key00500x", "ahead")?;
    let rest: Pairs = cursor.collect();
    assert!(rest.windows(2).all(|w| w[0].0 < w[1].0), "ascending, no repeats");
    assert!(rest.iter().all(|(key, _)| key != &numbered(1000)));
    assert!(rest.iter().any(|(key, v)| key == &numbered(1500) && v == b"new"));
    ns.clear()?;
    assert!(ns.range(..)?.is_empty());
    assert_eq!(other.range(..)?.len(), 1);
    Ok(())
}

#[test]
fn every_range_api_needs_range_scans() -> Result<(), Error> {
    let (_dir, _path, db) = temp_db();
    db.insert("a", "1")?;
    assert!(is_invalid_config(db.range(..)));
    assert!(is_invalid_config(db.range(k("a")..k("b"))));
    assert!(is_invalid_config(db.range_iter(..)));
    assert!(is_invalid_config(db.range_prefix("a")));
    assert!(is_invalid_config(db.range_prefix_iter("a")));
    assert!(is_invalid_config(db.iter_from("a")));
    assert!(is_invalid_config(db.iter_after("a")));
    let ns = db.namespace("ns")?;
    ns.insert("a", "1")?;
    assert!(is_invalid_config(ns.range(..)));
    assert!(is_invalid_config(ns.range_iter(..)));
    assert!(is_invalid_config(ns.range_prefix("a")));
    assert!(is_invalid_config(ns.range_prefix_iter("a")));
    assert!(is_invalid_config(ns.iter_from("a")));
    assert!(is_invalid_config(ns.iter_after("a")));
    assert!(!db.stats()?.range_scans_enabled);
    Ok(())
}

#[test]
fn the_range_index_is_rebuilt_on_reopen() -> Result<(), Error> {
    let (_dir, path) = temp_path("reopen.emdb");
    let (before, ns_before) = {
        let db = open_ranged(&path);
        ten_keys(&db);
        db.remove("k3")?;
        db.insert("k5", "five")?;
        let ns = db.namespace("ns")?;
        ns.insert_many([("x", "1"), ("y", "2"), ("w", "0")])?;
        ns.remove("y")?;
        db.flush()?;
        (db.range(..)?, ns.range(..)?)
    };
    assert_eq!(before.len(), 9);
    // Opened once without the index: it is chosen per open, not stored.
    {
        let db = Emdb::open(&path)?;
        assert!(is_invalid_config(db.range(..)));
        db.insert("k95", "added without the index")?;
    }
    let db = open_ranged(&path);
    let mut expected = before;
    expected.push((k("k95"), k("added without the index")));
    expected.sort();
    assert_eq!(db.range(..)?, expected);
    assert_eq!(db.range_prefix("k5")?, vec![(k("k5"), k("five"))]);
    assert_eq!(db.namespace("ns")?.range(..)?, ns_before);
    assert_eq!(ns_before, vec![(k("w"), k("0")), (k("x"), k("1"))]);
    Ok(())
}

#[test]
fn ranges_after_a_checkpointed_reopen_include_the_tail() -> Result<(), Error> {
    let (_dir, path) = temp_path("checkpointed.emdb");
    let mut model = BTreeMap::new();
    {
        let db = open_ranged(&path);
        let ns = db.namespace("ns")?;
        for i in 0..500u32 {
            db.insert(numbered(i), "before")?;
            model.insert(numbered(i), k("before"));
        }
        ns.insert_many([("n1", "1"), ("n2", "2")])?;
        db.checkpoint()?;
        // The tail after the checkpoint: replacements, removals, new keys, a new namespace.
        for i in (0..500u32).step_by(3) {
            db.remove(numbered(i))?;
            model.remove(&numbered(i));
        }
        for i in 400..600u32 {
            db.insert(numbered(i), "after")?;
            model.insert(numbered(i), k("after"));
        }
        ns.remove("n1")?;
        db.namespace("late")?.insert("z", "26")?;
        db.flush()?;
    }
    let db = open_ranged(&path);
    let expected: Pairs = model.into_iter().collect();
    assert_eq!(db.range(..)?, expected);
    assert_eq!(db.namespace("ns")?.range(..)?, vec![(k("n2"), k("2"))]);
    assert_eq!(db.namespace("late")?.range_prefix("z")?, vec![(k("z"), k("26"))]);
    Ok(())
}

/// A random operation on the model.
#[derive(Debug, Clone)]
enum Op {
    Insert(Vec<u8>, Vec<u8>),
    Remove(Vec<u8>),
    /// `insert_many`: later pairs of the same key win.
    Batch(Vec<(Vec<u8>, Vec<u8>)>),
    Clear,
    /// Saves the indexes; the next open loads them and scans only the tail.
    Checkpoint,
    /// Closes and reopens the database (the range index is rebuilt).
    Reopen,
}

fn small_key() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop_oneof![Just(0u8), Just(1), Just(b'a'), Just(0xFF)], 0..4)
}

fn bound() -> impl Strategy<Value = Bound<Vec<u8>>> {
    prop_oneof![
        small_key().prop_map(Bound::Included),
        small_key().prop_map(Bound::Excluded),
        Just(Bound::Unbounded),
    ]
}

fn small_value() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..8)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (small_key(), small_value()).prop_map(|(key, v)| Op::Insert(key, v)),
        5 => small_key().prop_map(Op::Remove),
        2 => proptest::collection::vec((small_key(), small_value()), 1..6).prop_map(Op::Batch),
        1 => Just(Op::Clear),
        1 => Just(Op::Checkpoint),
        1 => Just(Op::Reopen),
    ]
}

fn check_against_model(
    db: &Emdb,
    model: &BTreeMap<Vec<u8>, Vec<u8>>,
    bounds: &[Bounds],
    prefixes: &[Vec<u8>],
) -> Result<(), TestCaseError> {
    let io = |e: Error| TestCaseError::fail(e.to_string());
    for b in bounds {
        let expected = model_range(model, b);
        prop_assert_eq!(&db.range(b.clone()).map_err(io)?, &expected, "range {:?}", b);
        prop_assert_eq!(&db.range_iter(b.clone()).map_err(io)?.collect::<Pairs>(), &expected);
        if let Bound::Included(start) = &b.0 {
            let from: Pairs = db.iter_from(start).map_err(io)?.collect();
            prop_assert_eq!(from, model_range(model, &(start.clone()..)));
        }
        if let Bound::Excluded(start) = &b.0 {
            let after: Pairs = db.iter_after(start).map_err(io)?.collect();
            prop_assert_eq!(
                after,
                model_range(model, &(Bound::Excluded(start.clone()), Bound::Unbounded))
            );
        }
    }
    for p in prefixes {
        let expected: Pairs = model
            .iter()
            .filter(|(key, _)| key.starts_with(p))
            .map(|(key, v)| (key.clone(), v.clone()))
            .collect();
        prop_assert_eq!(db.range_prefix(p).map_err(io)?, expected, "prefix {:?}", p);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn ranges_match_a_btreemap_model(
        ops in proptest::collection::vec(op(), 0..80),
        bounds in proptest::collection::vec((bound(), bound()), 1..12),
        prefixes in proptest::collection::vec(small_key(), 1..4),
    ) {
        let (_dir, path) = temp_path("model.emdb");
        let mut model = BTreeMap::new();
        let mut db = open_ranged(&path);
        for op in &ops {
            match op {
                Op::Insert(key, v) => {
                    db.insert(key.clone(), v.clone()).expect("insert");
                    model.insert(key.clone(), v.clone());
                }
                Op::Remove(key) => {
                    let got = db.remove(key).expect("remove");
                    prop_assert_eq!(got, model.remove(key), "remove {:?}", key);
                }
                Op::Batch(pairs) => {
                    db.insert_many(pairs.iter().cloned()).expect("insert_many");
                    model.extend(pairs.iter().cloned());
                }
                Op::Clear => {
                    db.clear().expect("clear");
                    model.clear();
                }
                Op::Checkpoint => db.checkpoint().expect("checkpoint"),
                Op::Reopen => {
                    drop(db);
                    db = open_ranged(&path);
                }
            }
        }
        check_against_model(&db, &model, &bounds, &prefixes)?;
        drop(db);
        let db = open_ranged(&path);
        check_against_model(&db, &model, &bounds, &prefixes)?;
    }
}

#[test]
fn batches_leave_the_range_index_in_step_with_the_hash_index() -> Result<(), Error> {
    let (_dir, path, db) = temp_range_db();
    // Only inserts (the range index is filled in one sorted pass): a key repeated in the
    // batch ends with its last value in both indexes.
    db.insert_many([("b", "1"), ("a", "1"), ("b", "2"), ("c", "1"), ("b", "3")])?;
    // Inserts and removes of one key in one transaction: applied one by one, in order.
    db.transaction(|tx| {
        tx.insert("d", "1")?;
        tx.remove("d")?;
        tx.insert("e", "1")?;
        tx.remove("a")?;
        Ok(())
    })?;
    let ns = db.namespace("other")?;
    ns.insert_many([("x", "1"), ("x", "2")])?;
    let expected = vec![(k("b"), k("3")), (k("c"), k("1")), (k("e"), k("1"))];
    assert_eq!(db.range(..)?, expected);
    for (key, value) in &expected {
        assert_eq!(db.get(key)?.as_ref(), Some(value));
    }
    assert_eq!(ns.range(..)?, vec![(k("x"), k("2"))]);
    drop((ns, db));
    let db = open_ranged(&path);
    assert_eq!(db.range(..)?, expected);
    Ok(())
}

/// Every pair `iter` sees (the hash index), sorted: what `range(..)` must return.
fn truth(db: &Emdb) -> Result<Pairs, Error> {
    let mut all: Pairs = db.iter()?.collect();
    all.sort();
    Ok(all)
}

#[test]
fn after_a_reopen_the_range_index_is_built_by_the_first_scan_and_sees_every_write() -> Result<(), Error> {
    let (_dir, path, db) = temp_range_db();
    db.insert_many((0..2_000u32).map(|i| (format!("k{i:05}"), format!("v{i}"))))?;
    drop(db);
    let db = open_ranged(&path);
    // Writes before the first scan: the range index is not kept yet, the build must see
    // them all the same.
    db.insert("k00007", "changed")?;
    db.remove("k00008")?;
    db.insert("new", "1")?;
    db.transaction(|tx| {
        tx.insert("k00009", "in a batch")?;
        tx.remove("k00010")?;
        Ok(())
    })?;
    assert_eq!(db.range(..)?, truth(&db)?);
    assert_eq!(db.get("k00007")?, Some(k("changed")));
    assert!(db.range(k("k00008")..=k("k00008"))?.is_empty());
    // And after the build, writes keep it in step.
    db.remove("new")?;
    db.insert("k00008", "back")?;
    assert_eq!(db.range(..)?, truth(&db)?);
    // A compaction before any scan of a reopened database, then a scan.
    drop(db);
    let db = open_ranged(&path);
    db.remove("k00011")?;
    db.compact()?;
    db.insert("after-compaction", "1")?;
    assert_eq!(db.range(..)?, truth(&db)?);
    Ok(())
}

#[test]
fn writers_racing_the_first_scan_after_a_reopen_leave_both_indexes_equal() -> Result<(), Error> {
    for round in 0..6u32 {
        let (_dir, path, db) = temp_range_db();
        db.insert_many((0..20_000u32).map(|i| (format!("k{i:05}"), format!("v{i}"))))?;
        drop(db);
        let db = open_ranged(&path);
        std::thread::scope(|s| -> Result<(), Error> {
            let writers: Vec<_> = (0..2u32)
                .map(|w| {
                    let db = db.clone();
                    s.spawn(move || -> Result<(), Error> {
                        for i in 0..3_000u32 {
                            let key = format!("k{:05}", (i * 7 + w * 13 + round) % 20_000);
                            match i % 3 {
                                0 => {
                                    db.remove(&key)?;
                                }
                                1 => db.insert(key, format!("w{w}-{i}"))?,
                                _ => db.insert(format!("n{w}-{i:05}"), "new")?,
                            }
                        }
                        Ok(())
                    })
                })
                .collect();
            // The first scan builds the range index while the writers run.
            let scanned = db.range(k("k")..k("l"))?;
            assert!(scanned.windows(2).all(|w| w[0].0 < w[1].0));
            for writer in writers {
                writer.join().expect("writer")?;
            }
            Ok(())
        })?;
        assert_eq!(db.range(..)?, truth(&db)?, "round {round}");
    }
    Ok(())
}
