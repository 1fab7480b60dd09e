//! Appends read back exactly, through every read path, before and after reopening.

mod common;

use common::{all_records, append_payloads, payload, temp_journal, temp_log};
use emdb_journal::{Error, Journal, JournalOptions, Lsn, RESERVED_TAGS, SidecarState, Tail};

#[test]
fn appends_read_back_by_lsn_offset_and_iteration() -> emdb_journal::Result<()> {
    let (_dir, path, journal) = temp_journal(JournalOptions::new())?;
    assert_eq!(journal.end(), Lsn::ZERO);
    let mut lsns = Vec::new();
    for i in 0..200u64 {
        lsns.push(journal.append(&payload(i, (i as usize * 7) % 300))?);
    }
    for window in lsns.windows(2) {
        assert!(window[0] < window[1], "LSNs must increase");
    }
    for (i, lsn) in lsns.iter().enumerate() {
        let frame = journal.read(*lsn)?;
        assert_eq!(frame.payload(), payload(i as u64, (i * 7) % 300).as_slice());
        assert!(!frame.is_batch());
        let records: Vec<_> = frame.records().collect();
        assert_eq!(records.len(), 1);
        let bytes = journal.bytes(records[0].offset, records[0].bytes.len())?;
        assert_eq!(&*bytes, frame.payload());
    }
    let expected: Vec<Vec<u8>> = (0..200u64).map(|i| payload(i, (i as usize * 7) % 300)).collect();
    assert_eq!(all_records(&journal)?, expected);
    journal.close()?;
    let reopened = Journal::open(&path)?;
    assert_eq!(reopened.recovery().scan.tail, Tail::Clean);
    assert_eq!(reopened.recovery().scan.records, 200);
    assert_eq!(all_records(&reopened)?, expected);
    Ok(())
}

#[test]
fn batches_report_record_offsets_and_read_back_whole() -> emdb_journal::Result<()> {
    let (_dir, path, journal) = temp_journal(JournalOptions::new())?;
    journal.append(b"before")?;
    let records: Vec<Vec<u8>> = (0..50).map(|i| payload(i, i as usize)).collect();
    let receipt = journal.append_batch(&records)?;
    assert_eq!(receipt.first(), receipt.last(), "a small batch is one frame");
    assert_eq!(receipt.record_offsets().len(), records.len());
    for (offset, record) in receipt.record_offsets().iter().zip(&records) {
        assert_eq!(&*journal.bytes(*offset, record.len())?, record.as_slice());
    }
    let frame = journal.read(receipt.first())?;
    assert!(frame.is_batch());
    let seen: Vec<Vec<u8>> = frame.records().map(|r| r.bytes.to_vec()).collect();
    assert_eq!(seen, records);
    let empty = journal.append_batch::<&[u8]>(&[])?;
    assert!(empty.record_offsets().is_empty());
    assert!(journal.read(empty.first())?.is_batch());
    journal.append(b"after")?;

    let mut expected = vec![b"before".to_vec()];
    expected.extend(records.iter().cloned());
    expected.push(b"after".to_vec());
    assert_eq!(all_records(&journal)?, expected);
    drop(journal);
    assert_eq!(common::reopen_records(&path)?, expected);
    Ok(())
}

#[test]
fn dropping_without_sync_keeps_frames_for_the_next_open() -> emdb_journal::Result<()> {
    let (_dir, path) = temp_log();
    {
        let journal = Journal::open(&path)?;
        journal.append(b"still buffered when dropped")?;
    }
    assert_eq!(
        common::reopen_records(&path)?,
        vec![b"still buffered when dropped".to_vec()]
    );
    Ok(())
}

#[test]
fn large_and_empty_payloads_round_trip() -> emdb_journal::Result<()> {
    let (_dir, path, journal) = temp_journal(JournalOptions::new().write_buffer(4096))?;
    let big = payload(1, 3 << 20);
    let a = journal.append(b"")?;
    let b = journal.append(&big)?;
    let c = journal.append(b"tail")?;
    assert_eq!(journal.read(a)?.payload(), b"");
    assert_eq!(journal.read(b)?.payload(), big.as_slice());
    assert_eq!(journal.read(c)?.payload(), b"tail");
    drop(journal);
    assert_eq!(common::reopen_records(&path)?, vec![Vec::new(), big, b"tail".to_vec()]);
    Ok(())
}

#[test]
fn unbuffered_and_unpreallocated_journals_behave_the_same() -> emdb_journal::Result<()> {
    let (_dir, path, journal) = temp_journal(JournalOptions::new().write_buffer(0).preallocate(0))?;
    append_payloads(&journal, 0..100, 40)?;
    journal.sync()?;
    let stats = journal.stats()?;
    assert_eq!(stats.file_len, stats.end.get(), "no preallocation: the file is the log");
    assert!(
        stats.writes >= 100,
        "unbuffered: one write per append ({} writes)",
        stats.writes
    );
    drop(journal);
    assert_eq!(common::reopen_records(&path)?.len(), 100);
    Ok(())
}

#[test]
fn preallocation_keeps_the_file_ahead_of_the_log() -> emdb_journal::Result<()> {
    let (_dir, path, journal) = temp_journal(JournalOptions::new().preallocate(1 << 20))?;
    append_payloads(&journal, 0..10_000, 200)?;
    journal.sync()?;
    let stats = journal.stats()?;
    assert!(stats.file_len > stats.end.get(), "{stats:?}");
    assert!(stats.file_len - stats.end.get() <= 2 << 20, "{stats:?}");
    drop(journal);
    let reopened = Journal::open(&path)?;
    assert_eq!(
        reopened.recovery().scan.tail,
        Tail::Clean,
        "zeros after the log are a clean end"
    );
    assert_eq!(reopened.recovery().scan.records, 10_000);
    Ok(())
}

#[test]
fn a_snapshot_does_not_see_later_appends() -> emdb_journal::Result<()> {
    let (_dir, _path, journal) = temp_journal(JournalOptions::new())?;
    journal.append(b"one")?;
    let snapshot = journal.snapshot()?;
    journal.append(b"two")?;
    let seen: Vec<Vec<u8>> = snapshot
        .records(Lsn::ZERO)
        .map(|r| r.map(|r| r.bytes.to_vec()))
        .collect::<Result<_, _>>()?;
    assert_eq!(seen, vec![b"one".to_vec()]);
    assert_eq!(all_records(&journal)?.len(), 2);
    let frames: Vec<Lsn> = journal
        .snapshot()?
        .frames(Lsn::ZERO)
        .map(|f| f.map(|f| f.lsn()))
        .collect::<Result<_, _>>()?;
    assert_eq!(frames.len(), 2);
    Ok(())
}

#[test]
fn bad_arguments_are_refused_without_writing() -> emdb_journal::Result<()> {
    let (_dir, path, journal) = temp_journal(JournalOptions::new().max_frame_payload(1024))?;
    let too_big = vec![b'x'; 1025];
    assert!(matches!(
        journal.append(&too_big),
        Err(Error::TooLarge { len: 1025, max: 1024 })
    ));
    assert!(matches!(
        journal.append_batch(&[too_big.as_slice()]),
        Err(Error::TooLarge { .. })
    ));
    for tag in RESERVED_TAGS {
        assert!(matches!(journal.append(&[tag, 1, 2]), Err(Error::ReservedTag { tag: t }) if t == tag));
    }
    assert_eq!(journal.end(), Lsn::ZERO, "refused appends write nothing");
    let lsn = journal.append(b"fine")?;
    assert!(matches!(
        journal.read(Lsn::new(lsn.get() + 1)),
        Err(Error::NoFrame { .. })
    ));
    assert!(matches!(journal.read(Lsn::new(1 << 40)), Err(Error::NoFrame { .. })));
    assert!(matches!(journal.sync_to(Lsn::new(1 << 40)), Err(Error::NoFrame { .. })));
    assert!(matches!(journal.bytes(0, 1 << 20), Err(Error::OutOfRange { .. })));
    assert!(matches!(journal.bytes(u64::MAX, 2), Err(Error::OutOfRange { .. })));
    assert!(matches!(
        JournalOptions::new().max_frame_payload(10).open(&path),
        Err(Error::InvalidOptions(_))
    ));
    assert!(matches!(
        JournalOptions::new()
            .group_window(std::time::Duration::from_secs(1))
            .open(&path),
        Err(Error::InvalidOptions(_))
    ));
    assert!(matches!(
        JournalOptions::new().holder_version("two\nlines").open(&path),
        Err(Error::InvalidOptions(_))
    ));
    Ok(())
}

#[test]
fn meta_survives_reopen_and_a_missing_sidecar_is_recreated() -> emdb_journal::Result<()> {
    let (_dir, path, journal) = temp_journal(JournalOptions::new())?;
    assert_eq!(journal.recovery().sidecar, SidecarState::Missing);
    journal.set_meta(0b10, b"engine area")?;
    assert!(matches!(
        journal.set_meta(0, &vec![0; emdb_journal::MAX_ENGINE_AREA + 1]),
        Err(Error::InvalidArgument(_))
    ));
    let created = journal.meta().created_at_ms;
    drop(journal);
    let journal = Journal::open(&path)?;
    let SidecarState::Valid(meta) = &journal.recovery().sidecar else {
        panic!("sidecar should be valid: {:?}", journal.recovery().sidecar);
    };
    assert_eq!(
        (meta.flags, meta.engine.as_slice(), meta.created_at_ms),
        (0b10, &b"engine area"[..], created)
    );
    drop(journal);
    std::fs::remove_file(path.with_extension("log.meta"))?;
    let journal = Journal::open(&path)?;
    assert_eq!(journal.recovery().sidecar, SidecarState::Missing);
    drop(journal);
    assert!(
        path.with_extension("log.meta").exists(),
        "open recreates a missing sidecar"
    );
    Ok(())
}

#[test]
fn open_refuses_directories_missing_parents_and_foreign_files() {
    let (dir, path) = temp_log();
    assert!(matches!(Journal::open(dir.path()), Err(Error::InvalidPath { .. })));
    assert!(matches!(
        Journal::open(dir.path().join("no/such/dir/log")),
        Err(Error::Io(_))
    ));
    std::fs::write(&path, b"SQLite format 3\0").expect("write");
    assert!(matches!(Journal::open(&path), Err(Error::NotAJournal { .. })));
    assert_eq!(
        std::fs::read(&path).expect("read"),
        b"SQLite format 3\0",
        "file untouched"
    );
}

/// `with_view` lends the log as `snapshot` covers it, also after the file grew past the
/// memory map (the view then maps it again): every record reads back, the last one too.
#[test]
fn a_lent_view_reads_what_a_snapshot_reads_as_the_file_grows() -> emdb_journal::Result<()> {
    let (_dir, _path, journal) = temp_journal(JournalOptions::new())?;
    let mut placed = Vec::new();
    for round in 0..6u64 {
        // Each round grows the log by about 2 MiB: past the map of the round before.
        for i in 0..1_000u64 {
            let p = payload(round * 1_000 + i, 2_000);
            let lsn = journal.append(&p)?;
            placed.push((lsn.get() + emdb_journal::frame::HEADER_LEN as u64, p));
        }
        let (end, last) = journal.with_view(|view| {
            let (at, p) = placed.last().expect("appended");
            (view.end(), view.slice(*at, p.len()).map(<[u8]>::to_vec))
        })?;
        assert_eq!(
            end,
            journal.snapshot()?.end(),
            "round {round}: the view ends where a snapshot does"
        );
        assert_eq!(last.as_deref(), placed.last().map(|(_, p)| &p[..]), "round {round}");
    }
    let all_read = journal.with_view(|view| placed.iter().all(|(at, p)| view.slice(*at, p.len()) == Some(&p[..])))?;
    assert!(all_read, "every record reads back through a lent view");
    let past_end = journal.with_view(|view| view.slice(journal.end().get(), 1).is_some())?;
    assert!(!past_end, "nothing past the end");
    Ok(())
}

/// docs/FORMAT.md §8, the worked example, byte for byte: a new journal, `append(b"hello")`,
/// `append_batch(&[b"a", b"bc"])`, and the checkpoint anchored on the batch, which the
/// next open accepts.
#[test]
fn the_worked_example_of_the_format_document_is_what_is_written() -> emdb_journal::Result<()> {
    let (_dir, path, journal) = temp_journal(JournalOptions::new())?;
    assert_eq!(journal.append(b"hello")?, Lsn::ZERO);
    let receipt = journal.append_batch(&[&b"a"[..], b"bc"])?;
    assert_eq!(receipt.record_offsets(), &[32, 34]);
    assert_eq!(journal.end(), Lsn::new(40));
    journal.checkpoint(Lsn::new(17), b"")?;
    journal.close()?;
    let written = std::fs::read(&path)?;
    let example: [u8; 40] = [
        0x46, 0x53, 0x59, 0x01, 0x05, 0x00, 0x00, 0x00, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x2f, 0x8b, 0x22, //
        0x17, 0x46, 0x53, 0x59, 0x01, 0x0b, 0x00, 0x00, 0x00, 0xbb, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, //
        0x61, 0x02, 0x62, 0x63, 0x28, 0x4e, 0x5d, 0xb0,
    ];
    assert_eq!(
        written, example,
        "the log, as FORMAT.md §8 shows it (closed: no reserve)"
    );
    let journal = Journal::open(&path)?;
    assert_eq!(journal.end(), Lsn::new(40));
    assert_eq!(all_records(&journal)?.len(), 3, "hello, a and bc");
    Ok(())
}

/// Bytes handed out by a view lent by `with_view` stay valid and unchanged after the
/// view, after the log outgrows the map the view borrowed (the next `with_view` maps the
/// file anew: its fallback path) and after the journal is closed.
#[test]
fn bytes_from_a_lent_view_outlive_the_view_a_remap_and_the_journal() -> emdb_journal::Result<()> {
    let (_dir, _path, journal) = temp_journal(JournalOptions::new())?;
    let first = payload(1, 100);
    // A plain frame's payload starts right after its header (no snapshot is taken here:
    // it would map the file anew and the lent view below would not need to).
    let first_at = journal.append(&first)?.get() + emdb_journal::frame::HEADER_LEN as u64;
    let early = journal
        .with_view(|v| v.bytes_at(first_at, first.len()))?
        .expect("in the view");
    // Well past the preallocated reserve: the file grows beyond the current map.
    let big = payload(2, 1 << 20);
    let mut last_at = 0;
    for _ in 0..12 {
        last_at = journal.append(&big)?.get() + emdb_journal::frame::HEADER_LEN as u64;
    }
    let late = journal
        .with_view(|v| v.bytes_at(last_at, big.len()))?
        .expect("in the view");
    assert!(
        journal.with_view(|v| v.bytes_at(v.end().get(), 1))?.is_none(),
        "past the log"
    );
    assert!(
        journal.with_view(|v| v.bytes_at(v.end().get() - 1, 1))?.is_some(),
        "its last byte"
    );
    drop(journal);
    assert_eq!(&*early, &first[..]);
    assert_eq!(&*late, &big[..]);
    Ok(())
}
