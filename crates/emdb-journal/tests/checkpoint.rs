//! A checkpoint makes the next open scan only the frames after it, and a sidecar that does
//! not match its log is never trusted.

mod common;

use common::{all_records, append_payloads, payload, temp_journal, temp_log};
use emdb_journal::{CheckpointUse, Error, Journal, JournalOptions, Lsn, Record, ReplayError, SidecarState};

/// Opens `path` and returns (where the scan started, the records replayed).
fn replayed(path: &std::path::Path) -> emdb_journal::Result<(Journal, Lsn, Vec<Vec<u8>>)> {
    struct Collect {
        from: Option<Lsn>,
        records: Vec<Vec<u8>>,
    }
    impl emdb_journal::Replay for Collect {
        fn begin(&mut self, _: &SidecarState, checkpoint: Option<Lsn>) -> Result<Lsn, ReplayError> {
            let from = checkpoint.unwrap_or(Lsn::ZERO);
            self.from = Some(from);
            Ok(from)
        }
        fn record(&mut self, record: Record<'_>) -> Result<(), ReplayError> {
            self.records.push(record.bytes.to_vec());
            Ok(())
        }
    }
    let mut c = Collect {
        from: None,
        records: Vec::new(),
    };
    let journal = JournalOptions::new().open_replaying(path, &mut c)?;
    Ok((journal, c.from.unwrap_or(Lsn::new(u64::MAX)), c.records))
}

#[test]
fn reopen_scans_only_after_the_checkpoint() -> emdb_journal::Result<()> {
    let (_dir, path, journal) = temp_journal(JournalOptions::new())?;
    let last = append_payloads(&journal, 0..1_000, 50)?;
    journal.checkpoint(last, b"snapshot-1")?;
    assert!(journal.durable_lsn() > last, "a checkpoint syncs first");
    append_payloads(&journal, 1_000..1_010, 50)?;
    let all = all_records(&journal)?;
    drop(journal);

    let (journal, from, records) = replayed(&path)?;
    assert_eq!(journal.recovery().checkpoint, CheckpointUse::Used);
    assert!(from > last, "the scan starts after the checkpointed frame");
    assert_eq!(records, all[1_000..].to_vec(), "only the tail is replayed");
    assert_eq!(journal.recovery().scan.records, 10);
    assert_eq!(journal.meta().engine, b"snapshot-1");
    // The log itself is whole: reading from zero still sees everything.
    assert_eq!(all_records(&journal)?, all);
    Ok(())
}

#[test]
fn a_damaged_sidecar_means_a_full_scan_and_is_left_for_inspection() -> emdb_journal::Result<()> {
    let (_dir, path) = temp_log();
    let meta_path = path.with_extension("log.meta");
    let journal = Journal::open(&path)?;
    let lsn = journal.append(b"x")?;
    journal.checkpoint(lsn, b"engine")?;
    journal.append(b"y")?;
    drop(journal);
    let mut bytes = std::fs::read(&meta_path)?;
    bytes[40] ^= 0xFF;
    std::fs::write(&meta_path, &bytes)?;

    let (journal, from, records) = replayed(&path)?;
    assert!(matches!(journal.recovery().sidecar, SidecarState::Damaged { .. }));
    assert_eq!(journal.recovery().checkpoint, CheckpointUse::None);
    assert_eq!(from, Lsn::ZERO);
    assert_eq!(records, vec![b"x".to_vec(), b"y".to_vec()]);
    drop(journal);
    assert_eq!(
        std::fs::read(&meta_path)?,
        bytes,
        "a damaged sidecar is not overwritten by open"
    );

    std::fs::write(&meta_path, b"EMDB-META\0\0\0\0\0\0\0")?;
    let journal = Journal::open(&path)?;
    assert!(matches!(journal.recovery().sidecar, SidecarState::Damaged { .. }));
    Ok(())
}

#[test]
fn a_sidecar_from_a_newer_format_is_refused() -> emdb_journal::Result<()> {
    let (_dir, path) = temp_log();
    let meta_path = path.with_extension("log.meta");
    drop(Journal::open(&path)?);
    let mut bytes = std::fs::read(&meta_path)?;
    bytes[16..20].copy_from_slice(&9u32.to_le_bytes());
    std::fs::write(&meta_path, &bytes)?;
    match Journal::open(&path) {
        Err(Error::SidecarVersion {
            found: 9, supported: 2, ..
        }) => Ok(()),
        other => panic!("expected a version error, got {other:?}"),
    }
}

#[test]
fn checkpoint_arguments_are_checked() -> emdb_journal::Result<()> {
    let (_dir, path, journal) = temp_journal(JournalOptions::new().max_frame_payload(256))?;
    let lsn = journal.append(b"a")?;
    assert!(matches!(
        journal.checkpoint(Lsn::new(lsn.get() + 3), b""),
        Err(Error::NoFrame { .. })
    ));
    assert!(matches!(
        journal.checkpoint(Lsn::new(1 << 30), b""),
        Err(Error::NoFrame { .. })
    ));
    let big: Vec<Vec<u8>> = (0..20).map(|i| payload(i, 60)).collect();
    let receipt = journal.append_batch(&big)?;
    assert!(receipt.first() < receipt.last(), "the batch took several frames");
    assert!(matches!(
        journal.checkpoint(receipt.first(), b""),
        Err(Error::InvalidArgument(_))
    ));
    journal.checkpoint(receipt.last(), b"")?;
    assert!(matches!(
        journal.checkpoint(receipt.last(), &vec![0; emdb_journal::MAX_ENGINE_AREA + 1]),
        Err(Error::InvalidArgument(_))
    ));
    drop(journal);
    let (journal, _, records) = replayed(&path)?;
    assert_eq!(journal.recovery().checkpoint, CheckpointUse::Used);
    assert!(records.is_empty());
    Ok(())
}

#[test]
fn a_replay_error_aborts_the_open() -> emdb_journal::Result<()> {
    let (_dir, path, journal) = temp_journal(JournalOptions::new())?;
    journal.append(b"good")?;
    let bad = journal.append(b"bad")?;
    drop(journal);
    let mut replay = |r: Record<'_>| -> Result<(), ReplayError> {
        if r.bytes == b"bad" {
            Err("record refused".into())
        } else {
            Ok(())
        }
    };
    match JournalOptions::new().open_replaying(&path, &mut replay) {
        Err(Error::Replay { lsn, source }) => {
            assert_eq!(lsn, bad);
            assert_eq!(source.to_string(), "record refused");
        }
        other => panic!("expected a replay error, got {other:?}"),
    }
    // The refused open released the lock.
    drop(Journal::open(&path)?);
    Ok(())
}

#[test]
fn a_caller_may_decline_the_checkpoint_and_see_everything() -> emdb_journal::Result<()> {
    struct Decline(Vec<Vec<u8>>, Option<Lsn>);
    impl emdb_journal::Replay for Decline {
        fn begin(&mut self, _: &SidecarState, checkpoint: Option<Lsn>) -> Result<Lsn, ReplayError> {
            self.1 = checkpoint;
            Ok(Lsn::ZERO)
        }
        fn record(&mut self, record: Record<'_>) -> Result<(), ReplayError> {
            self.0.push(record.bytes.to_vec());
            Ok(())
        }
    }
    struct Bogus;
    impl emdb_journal::Replay for Bogus {
        fn begin(&mut self, _: &SidecarState, _: Option<Lsn>) -> Result<Lsn, ReplayError> {
            Ok(Lsn::new(3))
        }
        fn record(&mut self, _: Record<'_>) -> Result<(), ReplayError> {
            Ok(())
        }
    }
    let (_dir, path, journal) = temp_journal(JournalOptions::new())?;
    let a = journal.append(b"a")?;
    journal.checkpoint(a, b"")?;
    journal.append(b"b")?;
    drop(journal);
    let mut decline = Decline(Vec::new(), None);
    let journal = JournalOptions::new().open_replaying(&path, &mut decline)?;
    assert!(decline.1.is_some(), "the checkpoint was offered");
    assert_eq!(decline.0, vec![b"a".to_vec(), b"b".to_vec()]);
    assert_eq!(journal.recovery().checkpoint, CheckpointUse::Declined);
    drop(journal);
    assert!(matches!(
        JournalOptions::new().open_replaying(&path, &mut Bogus),
        Err(Error::InvalidArgument(_))
    ));
    Ok(())
}

#[test]
fn records_in_replay_can_read_earlier_records() -> emdb_journal::Result<()> {
    struct Resolve(Vec<u64>, usize);
    impl emdb_journal::Replay for Resolve {
        fn record(&mut self, _: Record<'_>) -> Result<(), ReplayError> {
            Err("record_in must be called instead".into())
        }
        fn record_in(&mut self, record: Record<'_>, log: &[u8]) -> Result<(), ReplayError> {
            // Every earlier record is readable at its offset in `log`.
            for &off in &self.0 {
                if log.get(off as usize..off as usize + 4) != Some(&b"rec-"[..]) {
                    return Err("an earlier record is not readable".into());
                }
            }
            self.0.push(record.offset);
            self.1 = log.len();
            Ok(())
        }
    }
    let (_dir, path, journal) = temp_journal(JournalOptions::new())?;
    for i in 0..10 {
        journal.append(format!("rec-{i}").as_bytes())?;
    }
    drop(journal);
    let mut r = Resolve(Vec::new(), 0);
    let journal = JournalOptions::new().open_replaying(&path, &mut r)?;
    assert_eq!(r.0.len(), 10);
    assert_eq!(
        r.1 as u64,
        journal.end().get() - 4,
        "the log ends with the last record (before its checksum)"
    );
    let snap = journal.snapshot_through(journal.end())?;
    assert_eq!(snap.slice(r.0[3], 5), Some(&b"rec-3"[..]));
    assert_eq!(&*snap.bytes_at(r.0[9], 5).expect("in range"), b"rec-9");
    assert_eq!(snap.slice(journal.end().get(), 1), None);
    Ok(())
}
