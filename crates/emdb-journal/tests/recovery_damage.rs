//! Damaged logs: every truncation, every flipped byte, a zeroed page, garbage after the
//! end. Open never panics or hangs, never returns a record that was not written, keeps
//! every frame before the damage, and classifies the damage correctly.

mod common;

use std::path::Path;

use common::{all_records, append_payloads, payload, temp_journal, temp_log};
use emdb_journal::{Error, Journal, JournalOptions, Lsn, OnCorruption, Tail};

/// A small log of plain and batch frames, and the frames' (start, end, records).
fn build(path: &Path) -> Vec<(u64, u64, Vec<Vec<u8>>)> {
    let journal = JournalOptions::new().preallocate(0).open(path).expect("open");
    let mut frames = Vec::new();
    for i in 0..12u64 {
        let start = journal.end().get();
        let records = if i % 4 == 3 {
            let rs: Vec<Vec<u8>> = (0..3).map(|j| payload(i * 10 + j, 5 + j as usize)).collect();
            journal.append_batch(&rs).expect("batch");
            rs
        } else {
            let r = payload(i, 3 + i as usize * 3);
            journal.append(&r).expect("append");
            vec![r]
        };
        frames.push((start, journal.end().get(), records));
    }
    journal.close().expect("close");
    frames
}

/// The records of every frame that ends at or before `cut`.
fn records_before(frames: &[(u64, u64, Vec<Vec<u8>>)], cut: u64) -> Vec<Vec<u8>> {
    frames.iter().filter(|f| f.1 <= cut).flat_map(|f| f.2.clone()).collect()
}

#[test]
fn every_truncation_recovers_the_whole_frames_before_it() {
    let (dir, path) = temp_log();
    let frames = build(&path);
    let full = common::file_bytes(&path);
    let boundaries: Vec<u64> = std::iter::once(0).chain(frames.iter().map(|f| f.1)).collect();
    for cut in 0..=full.len() {
        let p = dir.path().join(format!("t{cut}.log"));
        std::fs::write(&p, &full[..cut]).expect("write");
        let journal = Journal::open(&p).unwrap_or_else(|e| panic!("cut {cut}: {e}"));
        let expected = records_before(&frames, cut as u64);
        assert_eq!(all_records(&journal).expect("records"), expected, "cut {cut}");
        let end = journal.recovery().scan.end.get();
        assert!(boundaries.contains(&end) && end <= cut as u64, "cut {cut}: end {end}");
        let tail = journal.recovery().scan.tail;
        if boundaries.contains(&(cut as u64)) {
            assert_eq!(tail, Tail::Clean, "cut {cut} is on a frame boundary");
        } else {
            assert_eq!(tail, Tail::Torn { offset: Lsn::new(end) }, "cut {cut}");
            let cut_report = journal.recovery().cut.clone().expect("a torn tail is cut");
            let saved = cut_report.saved_to.expect("non-zero torn bytes are saved");
            // Saved up to the last non-zero byte: trailing zeros read as blank space.
            let torn = &full[end as usize..cut];
            let kept = torn.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
            assert_eq!(std::fs::read(&saved).expect("saved bytes"), &torn[..kept]);
        }
        // The journal continues after the cut, and a reopen sees the continuation.
        journal.append(b"continued").expect("append after recovery");
        drop(journal);
        let mut after = expected.clone();
        after.push(b"continued".to_vec());
        assert_eq!(common::reopen_records(&p).expect("reopen"), after, "cut {cut}");
        std::fs::remove_file(&p).expect("cleanup");
    }
}

#[test]
fn every_flipped_byte_is_caught_and_nothing_wrong_is_returned() {
    let (dir, path) = temp_log();
    let frames = build(&path);
    let full = common::file_bytes(&path);
    let last_frame_start = frames.last().map_or(0, |f| f.0) as usize;
    for at in 0..full.len() {
        let mut damaged = full.clone();
        damaged[at] ^= 0x5A;
        let p = dir.path().join("flip.log");
        std::fs::write(&p, &damaged).expect("write");
        let frame_index = frames
            .iter()
            .position(|f| (f.0..f.1).contains(&(at as u64)))
            .expect("byte in a frame");
        let damaged_frame = frames[frame_index].0;
        match Journal::open(&p) {
            Ok(journal) => {
                // Only damage in the last frame may read as a torn tail.
                assert!(
                    at >= last_frame_start,
                    "flip at {at} (frame {frame_index}) was not refused"
                );
                assert_eq!(
                    all_records(&journal).expect("records"),
                    records_before(&frames, damaged_frame)
                );
                assert!(matches!(journal.recovery().scan.tail, Tail::Torn { .. }));
            }
            Err(Error::Corrupt { offset, .. }) => {
                assert_eq!(
                    offset, damaged_frame,
                    "flip at {at}: corruption reported at the damaged frame"
                );
                assert_eq!(std::fs::read(&p).expect("read"), damaged, "a refused file is untouched");
                let ro = JournalOptions::new()
                    .on_corruption(OnCorruption::ReadOnly)
                    .open(&p)
                    .expect("read-only");
                assert!(ro.is_read_only());
                assert_eq!(
                    all_records(&ro).expect("records"),
                    records_before(&frames, damaged_frame)
                );
                assert!(matches!(ro.append(b"x"), Err(Error::ReadOnly)));
                drop(ro);
                assert_eq!(std::fs::read(&p).expect("read"), damaged, "read-only open is untouched");
            }
            Err(Error::NotAJournal { .. }) => assert!(at < 4, "flip at {at}: only the first magic can make this"),
            Err(other) => panic!("flip at {at}: unexpected error {other}"),
        }
    }
}

#[test]
fn a_zeroed_page_inside_the_log_is_corruption() -> emdb_journal::Result<()> {
    let (_dir, path, journal) = temp_journal(JournalOptions::new().preallocate(0))?;
    append_payloads(&journal, 0..2_000, 90)?;
    journal.close()?;
    let mut bytes = common::file_bytes(&path);
    bytes[8192..12288].fill(0);
    std::fs::write(&path, &bytes)?;
    match Journal::open(&path) {
        Err(Error::Corrupt { offset, .. }) => {
            assert!(offset <= 8192 && offset > 8192 - 102, "damage reported at {offset}");
        }
        other => panic!("expected corruption, got {other:?}"),
    }
    let ro = JournalOptions::new()
        .on_corruption(OnCorruption::ReadOnly)
        .open(&path)?;
    let Tail::Corrupt { offset, next_valid, .. } = ro.recovery().scan.tail else {
        panic!("tail should be corrupt: {:?}", ro.recovery().scan.tail);
    };
    assert!(next_valid.get() >= 12288 - 102 && next_valid > offset);
    let records = all_records(&ro)?;
    assert_eq!(records.len() as u64, offset.get() / 102);
    assert_eq!(records[5], payload(5, 90));
    Ok(())
}

#[test]
fn garbage_after_the_end_is_cut_and_saved() -> emdb_journal::Result<()> {
    let (dir, path, journal) = temp_journal(JournalOptions::new())?;
    append_payloads(&journal, 0..10, 20)?;
    let end = journal.end().get();
    journal.close()?;
    let mut bytes = common::file_bytes(&path);
    bytes.truncate(end as usize);
    let garbage: Vec<u8> = (0..5000u32).map(|i| (i * 7 + 1) as u8).collect();
    bytes.extend_from_slice(&garbage);
    std::fs::write(&path, &bytes)?;
    let journal = Journal::open(&path)?;
    assert_eq!(journal.recovery().scan.tail, Tail::Torn { offset: Lsn::new(end) });
    let cut = journal.recovery().cut.clone().expect("cut");
    assert_eq!(cut.from.get(), end);
    let saved = cut.saved_to.expect("saved");
    assert_eq!(
        saved,
        dir.path().canonicalize()?.join(format!("test.log.corrupt-{end}"))
    );
    assert_eq!(std::fs::read(&saved)?, garbage);
    assert_eq!(all_records(&journal)?.len(), 10);
    Ok(())
}

#[test]
fn zeros_after_the_end_are_a_clean_end_and_are_kept() -> emdb_journal::Result<()> {
    let (_dir, path, journal) = temp_journal(JournalOptions::new().preallocate(0))?;
    journal.append(b"one")?;
    journal.close()?;
    let mut bytes = common::file_bytes(&path);
    let end = bytes.len();
    bytes.resize(end + 100_000, 0);
    std::fs::write(&path, &bytes)?;
    let journal = JournalOptions::new().preallocate(0).open(&path)?;
    assert_eq!(journal.recovery().scan.tail, Tail::Clean);
    assert!(journal.recovery().cut.is_none());
    assert_eq!(journal.append(b"two")?.get(), end as u64);
    Ok(())
}

#[test]
fn a_torn_frame_whose_payload_holds_frames_is_still_torn() -> emdb_journal::Result<()> {
    // A record that is itself a small log (frame-shaped bytes), torn mid-write.
    let (dir, path) = temp_log();
    let inner_path = dir.path().join("inner.log");
    let inner = JournalOptions::new().preallocate(0).open(&inner_path)?;
    append_payloads(&inner, 0..20, 30)?;
    inner.close()?;
    let inner_bytes = std::fs::read(&inner_path)?;
    let mut record = b"x".to_vec();
    record.extend_from_slice(&inner_bytes);

    let journal = JournalOptions::new().preallocate(1 << 20).open(&path)?;
    journal.append(b"first")?;
    let lsn = journal.append(&record)?;
    journal.close()?;
    // Tear the second frame after its embedded log, keeping the preallocated zeros.
    let mut bytes = common::file_bytes(&path);
    let torn_at = lsn.get() as usize + 8 + 1 + inner_bytes.len() / 2 + 40;
    bytes[torn_at..lsn.get() as usize + 12 + record.len()].fill(0);
    std::fs::write(&path, &bytes)?;
    let journal = Journal::open(&path)?;
    assert_eq!(journal.recovery().scan.tail, Tail::Torn { offset: lsn });
    assert_eq!(all_records(&journal)?, vec![b"first".to_vec()]);
    Ok(())
}
