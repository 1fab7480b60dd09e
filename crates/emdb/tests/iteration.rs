//! Iteration (docs/COMPATIBILITY.md §1 "Iteration", §4): `iter` and `keys` are snapshots taken at the
//! call, iterators outlive the handle and are `Send`, `try_iter` agrees with `iter`,
//! namespaces iterate alone, and a large database yields each key exactly once.

mod common;

use std::collections::{BTreeMap, HashSet};

use common::{temp_db, temp_path, temp_range_db};
use emdb::{Emdb, EmdbIter, EmdbKeyIter, EmdbRangeIter, Error, NamespaceIter, NamespaceKeyIter, NamespaceRangeIter};

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

fn pairs(items: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    items
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

#[test]
fn iter_yields_the_values_as_of_the_call() -> Result<(), Error> {
    let (_dir, _path, db) = temp_db();
    db.insert_many([("a", "1"), ("b", "2"), ("c", "3")])?;
    let iter = db.iter()?;
    db.insert("a", "overwritten")?;
    db.remove("b")?;
    db.insert("d", "added later")?;
    db.insert_many([("c", "batch overwrite"), ("e", "batch add")])?;
    assert_eq!(
        sorted(iter.collect()),
        pairs(&[("a", "1"), ("b", "2"), ("c", "3")]),
        "the snapshot keeps old values and removed keys, and sees no new keys"
    );
    // A new iterator sees the new state.
    assert_eq!(
        sorted(db.iter()?.collect()),
        pairs(&[
            ("a", "overwritten"),
            ("c", "batch overwrite"),
            ("d", "added later"),
            ("e", "batch add")
        ])
    );
    Ok(())
}

#[test]
fn a_snapshot_taken_mid_way_is_unaffected_by_later_writes() -> Result<(), Error> {
    let (_dir, _path, db) = temp_db();
    for i in 0..100 {
        db.insert(format!("k{i:03}"), "v1")?;
    }
    let mut iter = db.iter()?;
    let first: Vec<_> = iter.by_ref().take(10).collect();
    for i in 0..100 {
        db.insert(format!("k{i:03}"), "v2")?;
    }
    db.clear()?;
    let rest: Vec<_> = iter.collect();
    assert_eq!(first.len() + rest.len(), 100);
    assert!(
        first.iter().chain(&rest).all(|(_, v)| v == b"v1"),
        "only values as of the call"
    );
    assert!(db.iter()?.next().is_none(), "a fresh iterator sees the clear");
    Ok(())
}

#[test]
fn keys_is_a_snapshot_too() -> Result<(), Error> {
    let (_dir, _path, db) = temp_db();
    db.insert_many([("a", "1"), ("b", "2")])?;
    let keys = db.keys()?;
    db.remove("a")?;
    db.insert("c", "3")?;
    assert_eq!(sorted(keys.collect()), vec![b"a".to_vec(), b"b".to_vec()]);
    assert_eq!(sorted(db.keys()?.collect()), vec![b"b".to_vec(), b"c".to_vec()]);
    Ok(())
}

#[test]
fn iterators_outlive_the_database_handle() -> Result<(), Error> {
    let (_dir, _path, db) = temp_range_db();
    for i in 0..50 {
        db.insert(format!("k{i:02}"), format!("v{i}"))?;
    }
    let ns = db.namespace("ns")?;
    ns.insert("x", "1")?;
    let iter = db.iter()?;
    let keys = db.keys()?;
    let range = db.range_iter(..)?;
    let tried = db.try_iter()?;
    let ns_iter = ns.iter()?;
    let ns_keys = ns.keys()?;
    let ns_range = ns.range_iter(..)?;
    drop(ns);
    drop(db);
    assert_eq!(iter.count(), 50);
    assert_eq!(keys.count(), 50);
    let ranged: Vec<_> = range.collect();
    assert_eq!(ranged.len(), 50);
    assert_eq!(ranged[49], (b"k49".to_vec(), b"v49".to_vec()));
    assert_eq!(tried.filter(Result::is_ok).count(), 50);
    assert_eq!(ns_iter.collect::<Vec<_>>(), pairs(&[("x", "1")]));
    assert_eq!(ns_keys.collect::<Vec<_>>(), vec![b"x".to_vec()]);
    assert_eq!(ns_range.collect::<Vec<_>>(), pairs(&[("x", "1")]));
    Ok(())
}

#[test]
fn an_iterator_outlives_a_database_that_grows_after_it() -> Result<(), Error> {
    let (_dir, path) = temp_path("grow.emdb");
    let db = Emdb::open(&path)?;
    db.insert("first", "value")?;
    let iter = db.iter()?;
    // Enough data to make the file (and its memory map) grow several times.
    let big = vec![7u8; 64 * 1024];
    for i in 0..200 {
        db.insert(format!("big{i}"), big.clone())?;
    }
    drop(db);
    assert_eq!(iter.collect::<Vec<_>>(), pairs(&[("first", "value")]));
    Ok(())
}

const fn assert_send<T: Send>() {}

#[test]
fn every_iterator_type_is_send() -> Result<(), Error> {
    const _: () = {
        assert_send::<EmdbIter>();
        assert_send::<EmdbKeyIter>();
        assert_send::<EmdbRangeIter>();
        assert_send::<NamespaceIter>();
        assert_send::<NamespaceKeyIter>();
        assert_send::<NamespaceRangeIter>();
        assert_send::<emdb::TryIter>();
    };
    // And they are usable from another thread.
    let (_dir, _path, db) = temp_range_db();
    db.insert_many([("a", "1"), ("b", "2")])?;
    let iter = db.iter()?;
    let range = db.range_iter(..)?;
    let (n, r) = std::thread::spawn(move || (iter.count(), range.count()))
        .join()
        .expect("iterating thread");
    assert_eq!((n, r), (2, 2));
    Ok(())
}

#[test]
fn try_iter_agrees_with_iter_on_a_healthy_database() -> Result<(), Error> {
    let (_dir, path) = temp_path("try.emdb");
    {
        let db = Emdb::open(&path)?;
        for i in 0..500u32 {
            db.insert(i.to_be_bytes().to_vec(), vec![(i % 251) as u8; (i % 37) as usize])?;
        }
        for i in (0..500u32).step_by(5) {
            db.remove(i.to_be_bytes())?;
        }
        db.insert("", "")?;
        let tried: Vec<_> = db.try_iter()?.collect::<Result<_, _>>()?;
        assert_eq!(sorted(tried), sorted(db.iter()?.collect()));
        let ns = db.namespace("ns")?;
        ns.insert_many([("a", "1"), ("b", "")])?;
        let tried: Vec<_> = ns.try_iter()?.collect::<Result<_, _>>()?;
        assert_eq!(sorted(tried), sorted(ns.iter()?.collect()));
    }
    // The same after a reopen (indexes rebuilt from the log).
    let db = Emdb::open(&path)?;
    let tried: Vec<_> = db.try_iter()?.collect::<Result<_, _>>()?;
    assert_eq!(tried.len(), 401);
    assert_eq!(sorted(tried), sorted(db.iter()?.collect()));
    Ok(())
}

#[test]
fn a_namespace_iterates_only_its_own_keys() -> Result<(), Error> {
    let (_dir, _path, db) = temp_db();
    db.insert("shared", "default")?;
    let a = db.namespace("a")?;
    let b = db.namespace("b")?;
    a.insert_many([("shared", "a"), ("only-a", "a")])?;
    b.insert("shared", "b")?;
    let iter = a.iter()?;
    let keys = a.keys()?;
    a.insert("late", "a")?;
    a.remove("only-a")?;
    assert_eq!(sorted(iter.collect()), pairs(&[("only-a", "a"), ("shared", "a")]));
    assert_eq!(sorted(keys.collect()), vec![b"only-a".to_vec(), b"shared".to_vec()]);
    assert_eq!(sorted(a.iter()?.collect()), pairs(&[("late", "a"), ("shared", "a")]));
    assert_eq!(b.iter()?.collect::<Vec<_>>(), pairs(&[("shared", "b")]));
    assert_eq!(db.iter()?.collect::<Vec<_>>(), pairs(&[("shared", "default")]));
    assert_eq!(db.keys()?.count(), 1);
    Ok(())
}

#[test]
fn ten_thousand_keys_come_out_exactly_once() -> Result<(), Error> {
    let (_dir, path) = temp_path("many.emdb");
    let mut model = BTreeMap::new();
    {
        let db = Emdb::open(&path)?;
        for chunk in (0..10_000u32).collect::<Vec<_>>().chunks(500) {
            db.insert_many(chunk.iter().map(|i| (format!("key{i}"), i.to_le_bytes())))?;
        }
        // Overwrites must not produce duplicates.
        for i in (0..10_000u32).step_by(7) {
            db.insert(format!("key{i}"), (i + 1).to_le_bytes())?;
        }
        for i in 0..10_000u32 {
            let v = if i.is_multiple_of(7) { i + 1 } else { i };
            model.insert(format!("key{i}").into_bytes(), v.to_le_bytes().to_vec());
        }
        check_once(&db, &model)?;
    }
    let db = Emdb::open(&path)?;
    check_once(&db, &model)
}

fn check_once(db: &Emdb, model: &BTreeMap<Vec<u8>, Vec<u8>>) -> Result<(), Error> {
    let items: Vec<_> = db.iter()?.collect();
    assert_eq!(items.len(), model.len(), "iter yields every key once");
    let unique: HashSet<&Vec<u8>> = items.iter().map(|(k, _)| k).collect();
    assert_eq!(unique.len(), model.len(), "no key twice");
    assert_eq!(items.into_iter().collect::<BTreeMap<_, _>>(), *model);
    let keys: Vec<_> = db.keys()?.collect();
    assert_eq!(keys.len(), model.len());
    assert_eq!(keys.into_iter().collect::<HashSet<_>>().len(), model.len());
    Ok(())
}
