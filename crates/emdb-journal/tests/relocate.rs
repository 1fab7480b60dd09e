//! A store that rewrites its log keeps the path locked itself and moves the new journal
//! into place: the lock never lapses, readers of the old file are unaffected.

mod common;

use std::path::Path;

use common::{all_records, temp_journal, temp_log};
use emdb_journal::{Error, Journal, JournalLock, JournalOptions};

/// Reopens the log at `path` and returns its records and its meta flags.
fn reopened(path: &Path) -> emdb_journal::Result<(Vec<Vec<u8>>, u32)> {
    let journal = Journal::open(path)?;
    Ok((all_records(&journal)?, journal.meta().flags))
}

#[test]
fn a_rewritten_log_replaces_the_live_one_under_the_callers_lock() -> emdb_journal::Result<()> {
    let (dir, path) = temp_log();
    let lock = JournalLock::acquire(&path, "store 1.0")?;
    assert!(
        matches!(Journal::open(&path), Err(Error::Busy { .. })),
        "the caller's lock keeps others out"
    );
    let live = JournalOptions::new().take_lock(false).open(&path)?;
    live.append(b"old 1")?;
    live.append(b"old 2")?;
    assert!(live.last_lsn().is_some());
    let old_snapshot = live.snapshot()?;

    let scratch = dir.path().join("test.log.compact.tmp");
    let mut rewritten = JournalOptions::new().take_lock(false).open(&scratch)?;
    assert_eq!(rewritten.last_lsn(), None);
    let last = rewritten.append(b"new 1")?;
    assert_eq!(rewritten.last_lsn(), Some(last));
    rewritten.set_meta(7, b"engine")?;
    rewritten.relocate(&path)?;
    assert_eq!(rewritten.path(), path.canonicalize()?.as_path());
    assert!(!scratch.exists());
    assert!(!dir.path().join("test.log.compact.tmp.meta").exists());

    // The old journal's readers still see the old bytes (the file they mapped lives on).
    let old: Vec<Vec<u8>> = old_snapshot
        .records(emdb_journal::Lsn::ZERO)
        .map(|r| r.map(|r| r.bytes.to_vec()))
        .collect::<Result<_, _>>()?;
    assert_eq!(old, vec![b"old 1".to_vec(), b"old 2".to_vec()]);
    // The moved journal keeps working at its new name.
    rewritten.append(b"new 2")?;
    rewritten.sync()?;
    assert_eq!(all_records(&rewritten)?, vec![b"new 1".to_vec(), b"new 2".to_vec()]);
    drop(live);
    drop(rewritten);
    assert!(
        matches!(Journal::open(&path), Err(Error::Busy { .. })),
        "still locked by the caller"
    );
    drop(lock);
    assert_eq!(reopened(&path)?, (vec![b"new 1".to_vec(), b"new 2".to_vec()], 7));
    Ok(())
}

#[test]
fn a_journal_with_its_own_lock_cannot_be_moved() -> emdb_journal::Result<()> {
    let (dir, _path, mut journal) = temp_journal(JournalOptions::new())?;
    assert!(matches!(
        journal.relocate(dir.path().join("elsewhere")),
        Err(Error::InvalidArgument(_))
    ));
    Ok(())
}

#[test]
fn a_failed_move_leaves_the_journal_where_it_was_and_working() -> emdb_journal::Result<()> {
    let (dir, path, mut journal) = temp_journal(JournalOptions::new().take_lock(false))?;
    journal.append(b"kept")?;
    journal.set_meta(3, b"x")?;
    let before = journal.path().to_path_buf();
    assert!(journal.relocate(dir.path().join("missing-dir").join("to.log")).is_err());
    assert_eq!(journal.path(), before.as_path());
    journal.append(b"after")?;
    journal.sync()?;
    drop(journal);
    assert_eq!(reopened(&path)?, (vec![b"kept".to_vec(), b"after".to_vec()], 3));
    Ok(())
}

#[test]
fn a_stale_sidecar_at_the_destination_is_not_paired_with_the_moved_log() -> emdb_journal::Result<()> {
    let (dir, _path) = temp_log();
    // Another log's sidecar (flags 9) sits where the log goes.
    let other = dir.path().join("other.log");
    JournalOptions::new()
        .open(&other)
        .and_then(|j| j.set_meta(9, b"other"))?;
    std::fs::remove_file(&other)?;
    let scratch = dir.path().join("scratch.log");
    let mut journal = JournalOptions::new().take_lock(false).open(&scratch)?;
    journal.append(b"mine")?;
    journal.relocate(&other)?;
    drop(journal);
    let (records, flags) = reopened(&other)?;
    assert_eq!(records, vec![b"mine".to_vec()]);
    assert_ne!(flags, 9);
    Ok(())
}
