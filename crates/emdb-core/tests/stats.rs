//! Statistics (docs/COMPATIBILITY.md §1 `stats`, §7 `EmdbStats`): record and namespace counts, log and
//! file sizes, the builder's choices, and index memory bounded per key.

mod common;

use common::{temp_db, temp_path};
use emdb_core::{Emdb, EmdbStats, Error};

/// The size relations every snapshot must satisfy.
fn assert_sizes_consistent(s: &EmdbStats) {
    assert!(
        s.file_size_bytes >= s.logical_size_bytes,
        "file {} < logical {}",
        s.file_size_bytes,
        s.logical_size_bytes
    );
    assert_eq!(s.preallocated_bytes, s.file_size_bytes - s.logical_size_bytes);
}

#[test]
fn a_fresh_database_reports_nothing_live() -> Result<(), Error> {
    let (_dir, _path, db) = temp_db();
    let s = db.stats()?;
    assert_eq!(s.live_records, 0);
    assert_eq!(s.namespace_count, 0);
    assert!(!s.range_scans_enabled);
    assert!(!s.encrypted);
    assert_sizes_consistent(&s);
    Ok(())
}

#[test]
fn counts_follow_inserts_removes_and_namespaces() -> Result<(), Error> {
    let (_dir, path, db) = temp_db();
    for i in 0..100 {
        db.insert(format!("k{i}"), "v")?;
    }
    let a = db.namespace("a")?;
    let b = db.namespace("b")?;
    a.insert_many((0..10).map(|i| (format!("a{i}"), "v")))?;
    b.insert_many((0..5).map(|i| (format!("b{i}"), "v")))?;
    b.insert("b0", "replaced")?;
    let s = db.stats()?;
    assert_eq!(s.live_records, 115, "all namespaces, the default one included");
    assert_eq!(s.namespace_count, 2, "named namespaces only");

    for i in 0..10 {
        db.remove(format!("k{i}"))?;
    }
    a.remove("a0")?;
    a.remove("absent")?;
    assert_eq!(db.stats()?.live_records, 104);

    assert!(db.drop_namespace("b")?);
    let s = db.stats()?;
    assert_eq!(s.live_records, 99);
    assert_eq!(s.namespace_count, 1);
    a.clear()?;
    assert_eq!(db.stats()?.live_records, 90);
    let c = db.namespace("c")?;
    assert_eq!(db.stats()?.namespace_count, 2, "an empty namespace counts");
    // Namespace handles share the engine: all of them go before the reopen.
    drop((a, b, c, db));

    let db = Emdb::open(&path)?;
    let s = db.stats()?;
    assert_eq!(s.live_records, 90, "the same counts after reopen");
    assert_eq!(s.namespace_count, 2);
    Ok(())
}

#[test]
fn the_logical_size_grows_with_every_write() -> Result<(), Error> {
    let (_dir, path, db) = temp_db();
    let mut last = db.stats()?.logical_size_bytes;
    let mut grew = |db: &Emdb, what: &str| -> Result<(), Error> {
        let s = db.stats()?;
        assert!(
            s.logical_size_bytes > last,
            "{what}: {} -> {}",
            last,
            s.logical_size_bytes
        );
        assert_sizes_consistent(&s);
        last = s.logical_size_bytes;
        Ok(())
    };
    db.insert("k", "v")?;
    grew(&db, "insert")?;
    db.insert("k", vec![0u8; 10_000])?;
    grew(&db, "replace")?;
    db.insert_many([("a", "1"), ("b", "2")])?;
    grew(&db, "insert_many")?;
    db.remove("a")?;
    grew(&db, "remove (tombstone)")?;
    db.transaction(|tx| tx.insert("t", "x"))?;
    grew(&db, "transaction")?;
    let ns = db.namespace("n")?;
    ns.insert("k", "v")?;
    grew(&db, "namespace insert")?;
    db.flush()?;
    let s = db.stats()?;
    assert!(s.logical_size_bytes > 10_000, "the large value is in the log");
    assert_eq!(
        s.file_size_bytes,
        std::fs::metadata(&path)?.len(),
        "file_size_bytes is the file's size on disk"
    );
    assert_sizes_consistent(&s);
    Ok(())
}

#[test]
fn range_scans_enabled_reflects_the_builder() -> Result<(), Error> {
    let (_dir, path) = temp_path("range.emdb");
    let db = Emdb::builder().path(&path).enable_range_scans(true).build()?;
    assert!(db.stats()?.range_scans_enabled);
    assert!(!db.stats()?.encrypted);
    drop(db);
    let db = Emdb::builder().path(&path).enable_range_scans(false).build()?;
    assert!(!db.stats()?.range_scans_enabled, "chosen per open, not stored");
    Ok(())
}

/// Inserts `n` keys made by `key` in batches, then returns the index memory per key.
fn index_bytes_per_key(db: &Emdb, n: u32, key: impl Fn(u32) -> Vec<u8>) -> Result<f64, Error> {
    let keys: Vec<u32> = (0..n).collect();
    for chunk in keys.chunks(5_000) {
        db.insert_many(chunk.iter().map(|&i| (key(i), [1u8])))?;
    }
    let s = db.stats()?;
    assert_eq!(s.live_records, u64::from(n));
    assert!(s.index_memory_bytes > 0, "the index takes some memory");
    Ok(s.index_memory_bytes as f64 / f64::from(n))
}

#[test]
fn index_memory_is_under_64_bytes_per_key_for_100k_keys() -> Result<(), Error> {
    let (_dir, _path, db) = temp_db();
    let per_key = index_bytes_per_key(&db, 100_000, |i| format!("user:{i:08}").into_bytes())?;
    assert!(per_key < 64.0, "{per_key:.1} bytes of index per key");
    Ok(())
}

#[test]
fn index_memory_per_key_does_not_depend_on_key_length() -> Result<(), Error> {
    let (_dir, _path, db) = temp_db();
    let long_key = |i: u32| {
        let mut k = vec![b'x'; 400];
        k.extend_from_slice(&i.to_be_bytes());
        k
    };
    let per_key = index_bytes_per_key(&db, 20_000, long_key)?;
    assert!(per_key < 64.0, "{per_key:.1} bytes of index per 404-byte key");
    Ok(())
}
