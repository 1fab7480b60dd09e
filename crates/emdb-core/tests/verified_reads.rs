//! Reads verify what they hand out: a record damaged after the open that last scanned it
//! (here, below a checkpoint, which the next open does not re-read) is `Corrupted` for its
//! key: never its bytes, never `None`, never an older version. Single records are checked
//! by their own CRC, records inside batches too, emdb 1.0's records by their frame's CRC.
//! `try_iter` reports exactly the keys `get` reports; `iter` and range cursors skip them,
//! `range` reports them. A write over a damaged record, live or replayed, replaces it.

use emdb_core::{Emdb, Error};

/// Flips one bit of the only occurrence of `needle` in the file at `path`.
fn flip_inside(path: &std::path::Path, needle: &[u8]) {
    let mut bytes = std::fs::read(path).expect("read");
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the value is in the file");
    assert!(
        bytes[at + 1..].windows(needle.len()).all(|w| w != needle),
        "the needle occurs once"
    );
    bytes[at + needle.len() / 2] ^= 0x04;
    std::fs::write(path, bytes).expect("write");
}

fn is_corrupted<T: std::fmt::Debug>(r: Result<T, Error>) -> bool {
    match r {
        Err(Error::Corrupted { .. }) => true,
        other => panic!("expected Corrupted, got {other:?}"),
    }
}

/// Opens `path`, checks that `damaged` is reported by every read path and that every
/// other key of `intact` reads right.
fn check(path: &std::path::Path, damaged: &str, intact: &[(String, Vec<u8>)]) -> Result<(), Error> {
    let db = Emdb::open(path)?;
    assert!(is_corrupted(db.get(damaged)));
    assert!(is_corrupted(db.get_zerocopy(damaged)));
    assert!(is_corrupted(db.contains_key(damaged)));
    for (k, v) in intact {
        assert_eq!(db.get(k)?.as_ref(), Some(v), "{k}");
    }
    let reported: Vec<_> = db.try_iter()?.filter(Result::is_err).collect();
    assert_eq!(reported.len(), 1, "try_iter reports the damaged record once");
    let listed: Vec<_> = db.iter()?.collect();
    assert_eq!(listed.len(), intact.len(), "iter skips it");
    assert!(listed.iter().all(|(k, _)| k != damaged.as_bytes()));
    Ok(())
}

fn value(i: u32) -> Vec<u8> {
    format!("value-{i:05}-{}", "x".repeat(40)).into_bytes()
}

#[test]
fn a_damaged_single_record_below_the_checkpoint_is_corrupted_not_data() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("v.emdb");
    let db = Emdb::open(&path)?;
    let mut intact = Vec::new();
    for i in 0..20u32 {
        db.insert(format!("k{i}"), value(i))?;
        if i != 7 {
            intact.push((format!("k{i}"), value(i)));
        }
    }
    db.checkpoint()?;
    drop(db);
    flip_inside(&path, &value(7));
    check(&path, "k7", &intact)
}

/// Writes `k0..k<n>` in one batch and `last = frame` after it, checkpoints and closes: the
/// batch lies below the checkpoint, and the checkpoint's anchor (which an open checks) is
/// not the batch's frame.
fn batch_then_checkpoint(path: &std::path::Path, n: u32) -> Result<(), Error> {
    let db = Emdb::open(path)?;
    db.insert_many((0..n).map(|i| (format!("k{i}"), value(i))))?;
    db.insert("last", "frame")?;
    db.checkpoint()
}

#[test]
fn a_damaged_record_inside_a_batch_is_corrupted_and_its_neighbours_read() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("b.emdb");
    batch_then_checkpoint(&path, 500)?;
    flip_inside(&path, &value(250));
    let intact: Vec<_> = (0..500u32)
        .filter(|&i| i != 250)
        .map(|i| (format!("k{i}"), value(i)))
        .chain([("last".to_owned(), b"frame".to_vec())])
        .collect();
    check(&path, "k250", &intact)
}

#[test]
fn a_damaged_key_is_corrupted_for_that_key_not_absent() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("k.emdb");
    let db = Emdb::open(&path)?;
    db.insert("a-rather-long-key-that-is-unique", "v")?;
    db.insert("other", "w")?;
    db.checkpoint()?;
    drop(db);
    flip_inside(&path, b"a-rather-long-key-that-is-unique");
    let db = Emdb::open(&path)?;
    // The index still holds the key's slot: its record fails its check, so the key is
    // reported, not "absent".
    assert!(is_corrupted(db.get("a-rather-long-key-that-is-unique")));
    assert_eq!(db.get("other")?.as_deref(), Some(&b"w"[..]));
    Ok(())
}

/// emdb 1.0 wrote each record in a frame of its own, without a record checksum: the
/// frame's CRC covers it on read.
#[test]
fn a_damaged_emdb_1_record_is_caught_by_its_frames_crc() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("v1.emdb");
    let journal = emdb_journal::Journal::open(&path)?;
    for (key, value) in [
        (&b"old"[..], &b"an emdb 1.0 value, long enough"[..]),
        (b"kept", b"fine"),
    ] {
        let mut rec = vec![0u8, 0, 0, 0, 0];
        rec.extend_from_slice(&(key.len() as u32).to_le_bytes());
        rec.extend_from_slice(key);
        rec.extend_from_slice(&(value.len() as u32).to_le_bytes());
        rec.extend_from_slice(value);
        rec.extend_from_slice(&0u64.to_le_bytes());
        journal.append(&rec)?;
    }
    journal.close()?;
    let db = Emdb::open(&path)?;
    assert_eq!(db.get("old")?.as_deref(), Some(&b"an emdb 1.0 value, long enough"[..]));
    db.checkpoint()?;
    drop(db);
    flip_inside(&path, b"an emdb 1.0 value, long enough");
    check(&path, "old", &[("kept".to_owned(), b"fine".to_vec())])
}

/// Compaction rewrites emdb 1.0's unchecked records in the checked encoding, so a
/// compacted log verifies every record by itself, inside its batch frames.
#[test]
fn compaction_rewrites_emdb_1_records_checked() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("c.emdb");
    let journal = emdb_journal::Journal::open(&path)?;
    let mut rec = vec![0u8, 0, 0, 0, 0];
    rec.extend_from_slice(&3u32.to_le_bytes());
    rec.extend_from_slice(b"one");
    let value = b"a value written by emdb 1.0";
    rec.extend_from_slice(&(value.len() as u32).to_le_bytes());
    rec.extend_from_slice(value);
    rec.extend_from_slice(&0u64.to_le_bytes());
    journal.append(&rec)?;
    journal.close()?;
    let db = Emdb::open(&path)?;
    db.insert("two", "a value of ours, checked already")?;
    db.compact()?;
    db.insert("three", "after the compaction")?;
    db.checkpoint()?;
    drop(db);
    flip_inside(&path, value);
    check(
        &path,
        "one",
        &[
            ("two".to_owned(), b"a value of ours, checked already".to_vec()),
            ("three".to_owned(), b"after the compaction".to_vec()),
        ],
    )
}

/// Writing a key whose record is damaged replaces that record: the write's key check
/// compares the key the damaged bytes still name, so the key reads again and is not
/// counted twice.
#[test]
fn writing_a_damaged_key_again_repairs_it() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("r.emdb");
    let db = Emdb::open(&path)?;
    for i in 0..10u32 {
        db.insert(format!("k{i}"), value(i))?;
    }
    db.checkpoint()?;
    drop(db);
    flip_inside(&path, &value(3));
    let db = Emdb::open(&path)?;
    assert!(is_corrupted(db.get("k3")));
    db.insert("k3", "repaired")?;
    assert_eq!(db.get("k3")?.as_deref(), Some(&b"repaired"[..]));
    assert_eq!(db.len()?, 10);
    assert_eq!(db.try_iter()?.filter(Result::is_err).count(), 0);
    drop(db);
    let db = Emdb::open(&path)?;
    assert_eq!(db.get("k3")?.as_deref(), Some(&b"repaired"[..]));
    assert_eq!(db.len()?, 10);
    Ok(())
}

/// Zeroes the bytes of the only occurrence of `needle` and the `before` bytes ahead of it.
fn zero_around(path: &std::path::Path, needle: &[u8], before: usize) {
    let mut bytes = std::fs::read(path).expect("read");
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the needle is in the file");
    bytes[at - before..at + needle.len()].fill(0);
    std::fs::write(path, bytes).expect("write");
}

/// A zeroed record inside a batch reads with emdb 1.0's insert tag (0x00) and an empty
/// key; emdb 1.0 wrote no record inside a batch frame, so it is damage: `Corrupted`, never
/// the key `""` with an empty value.
#[test]
fn a_zeroed_record_inside_a_batch_is_corrupted_not_an_empty_key() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("z.emdb");
    batch_then_checkpoint(&path, 100)?;
    // The record's header and key ("k42") lie just before its value.
    zero_around(&path, &value(42), 13);
    let db = Emdb::open(&path)?;
    assert!(is_corrupted(db.get("k42")));
    let reported = (0..100u32).filter(|i| db.get(format!("k{i}")).is_err()).count();
    assert!(db.iter()?.all(|(k, _)| !k.is_empty()), "no empty key is listed");
    assert!(db.try_iter()?.all(|item| item.map_or(true, |(k, _)| !k.is_empty())));
    assert_eq!(db.try_iter()?.filter(Result::is_err).count(), reported);
    Ok(())
}

/// A damaged insert inside a batch whose first bytes now read as a framed remove of
/// another key (a remove carries no checksum of its own: its frame's CRC is its check) is
/// `Corrupted` for its key, not taken for the other key's record, which would make the key
/// read as absent.
#[test]
fn a_damaged_record_that_reads_as_a_remove_is_corrupted_not_absent() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("r.emdb");
    batch_then_checkpoint(&path, 100)?;
    let mut bytes = std::fs::read(&path)?;
    let value_at = bytes
        .windows(value(42).len())
        .position(|w| w == value(42))
        .expect("the value is in the file");
    // Before the value: tag, crc (4), ns, key length, value length, expiry (1 each), "k42".
    let at = value_at - 12;
    assert_eq!(bytes[at], 0x04, "the checked insert's tag");
    // A framed remove (0x06) of key "zzz" in the default namespace.
    bytes[at..at + 6].copy_from_slice(&[0x06, 0, 3, b'z', b'z', b'z']);
    std::fs::write(&path, bytes)?;
    let db = Emdb::open(&path)?;
    assert!(is_corrupted(db.get("k42")));
    assert!(is_corrupted(db.contains_key("k42")));
    assert_eq!(db.get("k41")?, Some(value(41)));
    assert_eq!(db.try_iter()?.filter(Result::is_err).count(), 1, "reported once");
    Ok(())
}

/// Writes `long-unique-key` twice (the second time after the checkpoint, in the tail the
/// next open replays), then `then`, closes, and zeroes the key of the first record, below
/// the checkpoint: the replayed write must still find and replace that record's slot.
fn rewrite_over_a_damaged_key(
    path: &std::path::Path,
    then: impl FnOnce(&Emdb) -> Result<(), Error>,
) -> Result<Emdb, Error> {
    let db = Emdb::open(path)?;
    db.insert("long-unique-key", "first value")?;
    for i in 0..10u32 {
        db.insert(format!("k{i}"), value(i))?;
    }
    db.checkpoint()?;
    then(&db)?;
    drop(db);
    let mut bytes = std::fs::read(path)?;
    let at = bytes
        .windows(b"long-unique-key".len())
        .position(|w| w == b"long-unique-key")
        .expect("the key is in the file");
    bytes[at..at + b"long-unique-key".len()].fill(0);
    std::fs::write(path, bytes)?;
    Emdb::open(path)
}

/// Checks what [`rewrite_over_a_damaged_key`] leaves: `long-unique-key` reads `expected`,
/// `len` is `len`, and nothing is reported damaged.
fn reads_clean(db: &Emdb, expected: Option<&[u8]>, len: usize) -> Result<(), Error> {
    assert_eq!(db.get("long-unique-key")?.as_deref(), expected);
    assert_eq!(db.len()?, len);
    assert_eq!(db.try_iter()?.filter(Result::is_err).count(), 0);
    Ok(())
}

/// The replayed write replaces the damaged record's slot (the fingerprint matches and the
/// bytes cannot tell another key): no phantom entry is left for `len` to count and
/// `try_iter` to report.
#[test]
fn a_write_replayed_over_a_damaged_record_leaves_no_phantom_entry() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("p.emdb");
    let db = rewrite_over_a_damaged_key(&path, |db| db.insert("long-unique-key", "second value"))?;
    reads_clean(&db, Some(b"second value"), 11)
}

/// A replayed remove of a key whose record is damaged removes that record's slot: the key
/// reads absent, as the log says, not `Corrupted`.
#[test]
fn a_remove_replayed_over_a_damaged_record_leaves_the_key_absent() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("r.emdb");
    let db = rewrite_over_a_damaged_key(&path, |db| db.remove("long-unique-key").map(drop))?;
    reads_clean(&db, None, 10)
}

/// A damaged record keeps its place in the range index (by the key its bytes still name):
/// `range` reports it, a cursor skips it as `iter` does, and the other keys are scanned.
#[test]
fn a_range_scan_reports_a_damaged_record_and_a_cursor_skips_it() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("s.emdb");
    let db = Emdb::builder().path(&path).enable_range_scans(true).build()?;
    for i in 0..10u32 {
        db.insert(format!("k{i}"), value(i))?;
    }
    db.checkpoint()?;
    drop(db);
    flip_inside(&path, &value(3));
    let db = Emdb::builder().path(&path).enable_range_scans(true).build()?;
    assert!(is_corrupted(db.range(..)));
    let scanned: Vec<Vec<u8>> = db.range_iter(..)?.map(|(k, _)| k).collect();
    let expected: Vec<Vec<u8>> = (0..10u32)
        .filter(|&i| i != 3)
        .map(|i| format!("k{i}").into_bytes())
        .collect();
    assert_eq!(scanned, expected);
    assert!(is_corrupted(db.range(b"k3".to_vec()..b"k4".to_vec())));
    assert_eq!(db.range(b"k4".to_vec()..)?.len(), 6);
    Ok(())
}
