//! Compaction writes small frames: its output needs no frame-level atomicity (the rename
//! makes the whole log appear at once), so one damaged byte in a compacted log costs at
//! most one small frame of records, never megabytes of them.

use emdb_core::Emdb;
use emdb_journal::frame::{self, Decoded};

/// The largest frame a compaction may write here: its batch limit (64 KiB of records),
/// one more record, and the batch's framing of a few bytes per record; far below the
/// 4 MiB frames it once wrote.
const LIMIT: usize = 72 << 10;

#[test]
fn compaction_output_is_made_of_frames_of_at_most_64_kib() -> Result<(), emdb_core::Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("c.emdb");
    let db = Emdb::open(&path)?;
    // About 1.5 MiB of live records, which a 4 MiB batch would have put in one frame.
    db.insert_many((0..8_000u32).map(|i| (format!("key{i:06}"), vec![b'v'; 180])))?;
    db.compact()?;
    db.flush()?;
    drop(db);

    let bytes = std::fs::read(&path)?;
    let (mut at, mut frames, mut largest) = (0, 0, 0);
    while at < bytes.len() && bytes[at] != 0 {
        match frame::decode(&bytes[at..]) {
            Decoded::Frame { len, .. } => {
                largest = largest.max(len);
                frames += 1;
                at += len;
            }
            other => panic!("a compacted log reads whole, got {other:?} at {at}"),
        }
    }
    assert!(frames >= 20, "{frames} frames for 1.5 MiB");
    assert!(largest <= LIMIT, "a frame of {largest} bytes");
    let db = Emdb::open(&path)?;
    assert_eq!(db.len()?, 8_000);
    Ok(())
}
