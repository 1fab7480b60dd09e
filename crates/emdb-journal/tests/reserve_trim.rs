//! The preallocated reserve never outlives the handle: a closed (or dropped) journal's
//! file ends where its log ends, unless a reader still maps the file, in which case the
//! next open cuts it; a relocated file carries no reserve either; the next append
//! reserves again. So truncating the last bytes of a closed log tears its last frame,
//! and the reopen still finds the end by validating frames.

mod common;

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use common::{all_records, append_payloads, payload, sibling, temp_journal, temp_log};
use emdb_journal::{Journal, JournalOptions, Tail};

const RESERVE: u64 = 1 << 20;

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).expect("metadata").len()
}

fn options() -> JournalOptions {
    JournalOptions::new().preallocate(RESERVE)
}

/// A fresh journal with the reserve, holding `n` synced records of 100 bytes.
fn filled(n: u64) -> emdb_journal::Result<(tempfile::TempDir, PathBuf, Journal)> {
    let (dir, path, journal) = temp_journal(options())?;
    append_payloads(&journal, 0..n, 100)?;
    journal.sync()?;
    Ok((dir, path, journal))
}

#[test]
fn close_and_drop_cut_the_reserve_and_the_next_append_reserves_again() -> emdb_journal::Result<()> {
    let (_dir, path, journal) = filled(50)?;
    let end = journal.end().get();
    assert!(file_len(&path) > end, "open: the reserve is there");
    journal.close()?;
    assert_eq!(file_len(&path), end, "close cut the reserve");

    let journal = options().open(&path)?;
    assert_eq!(journal.end().get(), end);
    assert_eq!(file_len(&path), end, "an open that writes nothing reserves nothing");
    journal.append(&payload(99, 100))?;
    journal.sync()?;
    let end = journal.end().get();
    assert!(file_len(&path) >= end + RESERVE, "the next append reserved again");
    drop(journal);
    assert_eq!(file_len(&path), end, "a drop cuts the reserve too");
    assert_eq!(common::reopen_records(&path)?.len(), 51);
    Ok(())
}

#[test]
fn a_mapped_file_keeps_its_reserve_until_the_next_open() -> emdb_journal::Result<()> {
    let (_dir, path, journal) = filled(20)?;
    let end = journal.end().get();
    let first = journal.read(emdb_journal::Lsn::ZERO)?;
    let held = journal.bytes(first.records().next().expect("a record").offset, 100)?;
    journal.close()?;
    assert!(file_len(&path) > end, "not cut while a reader maps the file");
    assert_eq!(&*held, payload(0, 100).as_slice(), "the reader's bytes are intact");

    let reopened = options().open(&path)?;
    assert_eq!(reopened.recovery().scan.tail, Tail::Clean, "zeros after the log");
    assert_eq!(reopened.end().get(), end, "the end is found by validating frames");
    if cfg!(unix) {
        // Elsewhere the platform may refuse while `held` maps the file (then the zeros
        // stay, harmless); on Unix the cut goes through.
        assert_eq!(file_len(&path), end, "the next open cut the leftover reserve");
    }
    assert_eq!(&*held, payload(0, 100).as_slice());
    drop(first);
    drop(held);
    assert_eq!(all_records(&reopened)?.len(), 20);
    Ok(())
}

#[test]
fn a_relocated_log_carries_no_reserve() -> emdb_journal::Result<()> {
    let (_dir, path) = temp_log();
    let scratch = sibling(&path, ".tmp");
    let mut journal = JournalOptions::new()
        .preallocate(RESERVE)
        .take_lock(false)
        .open(&scratch)?;
    append_payloads(&journal, 0..30, 100)?;
    journal.sync()?;
    assert!(file_len(&scratch) > journal.end().get());
    journal.relocate(&path)?;
    let end = journal.end().get();
    assert_eq!(file_len(&path), end, "the moved file ends where its log ends");
    journal.append(&payload(7, 100))?;
    journal.sync()?;
    assert!(
        file_len(&path) > journal.end().get(),
        "appends reserve again after the move"
    );
    assert_eq!(all_records(&journal)?.len(), 31);
    Ok(())
}

#[test]
fn truncating_a_closed_log_tears_its_last_frame() -> emdb_journal::Result<()> {
    let (_dir, path, journal) = filled(10)?;
    let end = journal.end().get();
    journal.close()?;
    // The file's last bytes, as a user sees them: the log's, not a reserve's zeros.
    let len = file_len(&path);
    assert_eq!(len, end);
    let file = OpenOptions::new().write(true).open(&path)?;
    file.set_len(len - 3)?;
    drop(file);

    let reopened = options().open(&path)?;
    assert!(
        matches!(reopened.recovery().scan.tail, Tail::Torn { .. }),
        "{:?}",
        reopened.recovery().scan.tail
    );
    let records = all_records(&reopened)?;
    assert_eq!(records.len(), 9, "the last record is the one lost");
    assert_eq!(records[8], payload(8, 100));
    Ok(())
}
