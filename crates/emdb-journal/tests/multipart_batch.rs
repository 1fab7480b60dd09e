//! Batches larger than one frame: written as parts, applied only together.

mod common;

use common::{all_records, payload, temp_journal};
use emdb_journal::{BatchReceipt, Journal, JournalOptions, Lsn, Tail};

const CAP: usize = 1024;

fn options() -> JournalOptions {
    JournalOptions::new().max_frame_payload(CAP).preallocate(0)
}

/// Appends the record `before`, then a batch of `n` payloads of `len` bytes (more than one
/// frame holds); returns the record's LSN, the batch's records and its receipt.
fn before_and_batch(journal: &Journal, n: u64, len: usize) -> emdb_journal::Result<(Lsn, Vec<Vec<u8>>, BatchReceipt)> {
    let before = journal.append(b"before")?;
    let records: Vec<Vec<u8>> = (0..n).map(|i| payload(i, len)).collect();
    let receipt = journal.append_batch(&records)?;
    Ok((before, records, receipt))
}

#[test]
fn a_large_batch_spans_frames_and_reads_back_in_order() -> emdb_journal::Result<()> {
    let (_dir, path, journal) = temp_journal(options())?;
    let (_, records, receipt) = before_and_batch(&journal, 100, 50)?;
    assert!(receipt.last() > receipt.first());
    for (offset, record) in receipt.record_offsets().iter().zip(&records) {
        assert_eq!(&*journal.bytes(*offset, record.len())?, record.as_slice());
    }
    journal.append(b"after")?;
    let mut expected = vec![b"before".to_vec()];
    expected.extend(records);
    expected.push(b"after".to_vec());
    assert_eq!(all_records(&journal)?, expected);
    journal.close()?;
    let reopened = options().open(&path)?;
    assert_eq!(reopened.recovery().scan.records, expected.len() as u64);
    assert_eq!(all_records(&reopened)?, expected);
    Ok(())
}

#[test]
fn a_crash_inside_a_multi_frame_batch_drops_all_of_it() -> emdb_journal::Result<()> {
    let (dir, path, journal) = temp_journal(options())?;
    let (before, _, receipt) = before_and_batch(&journal, 60, 70)?;
    journal.close()?;
    let full = common::file_bytes(&path);
    let batch_start = receipt.first().get() as usize;

    // Every cut from the batch's first byte to just before its last byte.
    let mut cuts_seen = 0;
    for cut in (batch_start..full.len() - 1).step_by(37) {
        let p = dir.path().join(format!("cut-{cut}.log"));
        std::fs::write(&p, &full[..cut])?;
        let journal = options().open(&p)?;
        let report = journal.recovery();
        assert_eq!(report.scan.end.get(), batch_start as u64, "cut at {cut}");
        assert_eq!(
            report.scan.records, 1,
            "only the record before the batch survives (cut {cut})"
        );
        assert!(
            matches!(report.scan.tail, Tail::IncompleteBatch { offset } if offset == receipt.first())
                || (cut == batch_start && report.scan.tail == Tail::Clean)
                || matches!(report.scan.tail, Tail::Torn { .. }),
            "cut {cut}: {:?}",
            report.scan.tail
        );
        assert_eq!(all_records(&journal)?, vec![b"before".to_vec()]);
        // Appends continue where the batch was.
        let next = journal.append(b"next")?;
        assert_eq!(next.get(), batch_start as u64);
        drop(journal);
        assert_eq!(common::reopen_records(&p)?, vec![b"before".to_vec(), b"next".to_vec()]);
        cuts_seen += 1;
    }
    assert!(cuts_seen > 50);
    assert!(before < receipt.first());
    Ok(())
}

#[test]
fn a_batch_part_without_its_start_is_corruption() -> emdb_journal::Result<()> {
    let (dir, path, journal) = temp_journal(options())?;
    let (_, _, receipt) = before_and_batch(&journal, 60, 70)?;
    journal.append(b"after")?;
    journal.close()?;
    let full = common::file_bytes(&path);
    // Remove the batch's first frame (splice the rest after the record before it).
    let first = journal_frame_len(&full, receipt.first());
    let mut spliced = full[..receipt.first().get() as usize].to_vec();
    spliced.extend_from_slice(&full[receipt.first().get() as usize + first..]);
    let p = dir.path().join("spliced.log");
    std::fs::write(&p, &spliced)?;
    match Journal::open(&p) {
        Err(emdb_journal::Error::Corrupt { offset, .. }) => assert_eq!(offset, receipt.first().get()),
        other => panic!("expected corruption, got {other:?}"),
    }
    Ok(())
}

fn journal_frame_len(bytes: &[u8], lsn: Lsn) -> usize {
    match emdb_journal::frame::decode(&bytes[lsn.get() as usize..]) {
        emdb_journal::frame::Decoded::Frame { len, .. } => len,
        other => panic!("no frame at {lsn}: {other:?}"),
    }
}
