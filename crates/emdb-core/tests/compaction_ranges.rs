//! Compaction keeps every namespace's range index: a built one is copied and kept in step,
//! one never built stays to be built by the first scan, and writes after the swap reach
//! both.

use emdb_core::{Emdb, Error};

fn keys(scan: impl Iterator<Item = (Vec<u8>, Vec<u8>)>) -> Vec<String> {
    scan.map(|(k, _)| String::from_utf8(k).expect("utf-8")).collect()
}

#[test]
fn every_namespace_scans_whole_after_a_compaction() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("r.emdb");
    let db = Emdb::builder().path(&path).enable_range_scans(true).build()?;
    let scanned = db.namespace("scanned")?;
    let unscanned = db.namespace("unscanned")?;
    for i in 0..300u32 {
        db.insert(format!("d{i:03}"), "v")?;
        scanned.insert(format!("s{i:03}"), "v")?;
        unscanned.insert(format!("u{i:03}"), "v")?;
    }
    for i in 0..100u32 {
        scanned.remove(format!("s{i:03}"))?;
    }
    // Build two of the three range indexes before the compaction.
    assert_eq!(db.range(b"d".to_vec()..b"e".to_vec())?.len(), 300);
    assert_eq!(scanned.range(b"s".to_vec()..b"t".to_vec())?.len(), 200);
    db.compact()?;
    db.insert("d999", "after")?;
    scanned.insert("s999", "after")?;
    unscanned.insert("u999", "after")?;
    assert_eq!(keys(db.iter_from("d")?).len(), 301);
    let s = keys(scanned.iter_from("s")?);
    assert_eq!(s.len(), 201);
    assert_eq!(s.first().map(String::as_str), Some("s100"));
    assert_eq!(s.last().map(String::as_str), Some("s999"));
    assert_eq!(keys(unscanned.iter_from("u")?).len(), 301);
    drop((scanned, unscanned, db));
    let db = Emdb::builder().path(&path).enable_range_scans(true).build()?;
    assert_eq!(keys(db.namespace("scanned")?.iter_from("s")?).len(), 201);
    Ok(())
}
