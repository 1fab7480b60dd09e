//! A checkpoint is a durable floor: the sidecar names it only once every byte below it was
//! synced, so a log that ends below it, or no longer carries its anchor frame, was damaged
//! rather than torn by a crash. Such a log is refused with the file untouched (or opened
//! read-only when asked), never cut below the floor. `Journal::relocate` strips the
//! replaced sidecar's checkpoint before the log moves, so a crash between its renames never
//! pairs a log with a floor it does not reach.

mod common;

use common::{append_payloads, file_bytes, payload, sibling, temp_log};
use emdb_journal::{CheckpointUse, Error, Journal, JournalLock, JournalOptions, Lsn, OnCorruption};

/// A log of `n` records with a checkpoint after the last; returns the checkpoint's anchor
/// (the last record's LSN) and the log's end.
fn checkpointed(path: &std::path::Path, n: u64) -> emdb_journal::Result<(Lsn, u64)> {
    let journal = JournalOptions::new().preallocate(0).open(path)?;
    let last = append_payloads(&journal, 0..n, 64)?;
    journal.checkpoint(last, b"engine")?;
    let end = journal.end().get();
    journal.close()?;
    Ok((last, end))
}

fn is_corrupt(r: &emdb_journal::Result<Journal>) -> bool {
    matches!(r, Err(Error::Corrupt { .. }))
}

#[test]
fn a_log_cut_below_its_checkpoint_is_damage_and_the_file_is_left_alone() -> emdb_journal::Result<()> {
    let (_dir, path) = temp_log();
    let (anchor, _) = checkpointed(&path, 50)?;
    // Cut inside the anchor frame, as a torn tail would look, but below the floor.
    let file = std::fs::OpenOptions::new().write(true).open(&path)?;
    file.set_len(anchor.get() + 20)?;
    drop(file);
    let before = file_bytes(&path);
    let opened = Journal::open(&path);
    match &opened {
        Err(Error::Corrupt { offset, .. }) => assert!(*offset <= anchor.get() + 20, "offset {offset}"),
        other => panic!("expected Corrupt, got {:?}", other.as_ref().map(|_| ())),
    }
    assert_eq!(file_bytes(&path), before, "never cut below the floor");
    // Asked for, a read-only open reads what is there.
    let journal = JournalOptions::new()
        .on_corruption(OnCorruption::ReadOnly)
        .open(&path)?;
    assert!(journal.is_read_only());
    assert_eq!(common::all_records(&journal)?.len(), 49);
    assert!(matches!(journal.recovery().checkpoint, CheckpointUse::Rejected { .. }));
    drop(journal);
    assert_eq!(file_bytes(&path), before, "the read-only open left it alone too");
    Ok(())
}

#[test]
fn a_log_shorter_than_its_checkpoint_at_a_frame_boundary_is_damage() -> emdb_journal::Result<()> {
    let (_dir, path) = temp_log();
    let (anchor, _) = checkpointed(&path, 50)?;
    // Exactly the frames before the anchor: a valid log of 49 records, one short.
    let file = std::fs::OpenOptions::new().write(true).open(&path)?;
    file.set_len(anchor.get())?;
    drop(file);
    let before = file_bytes(&path);
    assert!(is_corrupt(&Journal::open(&path)));
    assert_eq!(file_bytes(&path), before);
    Ok(())
}

#[test]
fn a_log_whose_anchor_frame_changed_is_damage() -> emdb_journal::Result<()> {
    let (_dir, path) = temp_log();
    let (anchor, _) = checkpointed(&path, 50)?;
    let mut bytes = file_bytes(&path);
    // A flipped bit in the anchor frame's payload: its CRC no longer matches the one the
    // sidecar recorded (and the frame itself fails its check).
    bytes[anchor.get() as usize + 30] ^= 0x10;
    std::fs::write(&path, &bytes)?;
    assert!(is_corrupt(&Journal::open(&path)));
    assert_eq!(file_bytes(&path), bytes);
    Ok(())
}

#[test]
fn a_torn_tail_above_the_checkpoint_is_still_cut() -> emdb_journal::Result<()> {
    let (_dir, path) = temp_log();
    let journal = JournalOptions::new().preallocate(0).open(&path)?;
    let last = append_payloads(&journal, 0..10, 64)?;
    journal.checkpoint(last, b"")?;
    journal.append(&payload(10, 64))?;
    let end = journal.end().get();
    journal.close()?;
    let file = std::fs::OpenOptions::new().write(true).open(&path)?;
    file.set_len(end - 5)?;
    drop(file);
    let journal = Journal::open(&path)?;
    assert!(journal.recovery().cut.is_some(), "a crash's torn tail, above the floor");
    assert_eq!(common::all_records(&journal)?.len(), 10);
    Ok(())
}

/// A crash between `relocate`'s two renames leaves the new log beside the old sidecar;
/// here the second rename fails instead (the new sidecar's name is a directory), which
/// leaves the same files. The old sidecar lost its checkpoint before the log moved, so the
/// new log opens, scanned in full.
#[cfg(unix)]
#[test]
fn relocate_strips_the_replaced_sidecars_checkpoint_before_the_log_moves() -> emdb_journal::Result<()> {
    let (dir, path) = temp_log();
    checkpointed(&path, 200)?;
    let lock = JournalLock::acquire(&path, "test")?;
    let scratch = dir.path().join("new.log");
    let mut fresh = JournalOptions::new().take_lock(false).preallocate(0).open(&scratch)?;
    append_payloads(&fresh, 1_000..1_005, 64)?;
    let scratch_meta = sibling(&scratch, ".meta");
    std::fs::remove_file(&scratch_meta)?;
    std::fs::create_dir(&scratch_meta)?;
    assert!(fresh.relocate(&path).is_err(), "the sidecar's rename fails");
    drop(fresh);
    drop(lock);
    let journal = Journal::open(&path)?;
    assert_eq!(journal.recovery().checkpoint, CheckpointUse::None);
    let records = common::all_records(&journal)?;
    assert_eq!(records.len(), 5);
    assert_eq!(records[0], payload(1_000, 64));
    Ok(())
}
