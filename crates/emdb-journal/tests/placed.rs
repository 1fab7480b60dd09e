//! Placed appends: records made once their offset is known, bound to it.

mod common;

use common::{all_records, temp_journal};
use emdb_journal::{Error, Journal, JournalOptions, ReplayError};

/// A record that names its own offset, like a payload sealed with its position (after a
/// first byte that is not one the journal reserves).
fn stamped(offset: u64, filler: u8, len: usize) -> Vec<u8> {
    let mut r = vec![b'S'];
    r.extend_from_slice(&offset.to_le_bytes());
    r.resize(len, filler);
    r
}

fn stamp(offset: u64, out: &mut Vec<u8>, filler: u8, len: usize) -> Result<(), ReplayError> {
    out.extend_from_slice(&stamped(offset, filler, len));
    Ok(())
}

fn offsets_hold_their_stamps(journal: &Journal) -> emdb_journal::Result<usize> {
    let snap = journal.snapshot_through(journal.end())?;
    let mut n = 0;
    for rec in snap.records(emdb_journal::Lsn::ZERO) {
        let rec = rec?;
        let stamp = u64::from_le_bytes(rec.bytes[1..9].try_into().unwrap_or_default());
        assert_eq!(stamp, rec.offset, "a placed record was made for another offset");
        n += 1;
    }
    Ok(n)
}

#[test]
fn placed_records_get_the_offset_they_land_at() -> emdb_journal::Result<()> {
    let (_dir, path, journal) = temp_journal(JournalOptions::new().max_frame_payload(512))?;
    journal.append_placed(40, |at, out| stamp(at, out, 1, 40))?;
    let lens: Vec<usize> = (0..50).map(|i| 9 + i * 3).collect();
    // Large enough to need several frames.
    let receipt = journal.append_batch_placed(&lens, |i, at, out| stamp(at, out, i as u8, lens[i]))?;
    assert!(receipt.last() > receipt.first());
    journal.append_placed(9, |at, out| stamp(at, out, 2, 9))?;
    assert_eq!(offsets_hold_their_stamps(&journal)?, 52);
    for (i, &at) in receipt.record_offsets().iter().enumerate() {
        assert_eq!(&*journal.bytes(at, lens[i])?, stamped(at, i as u8, lens[i]).as_slice());
    }
    journal.close()?;
    let reopened = JournalOptions::new().max_frame_payload(512).open(&path)?;
    assert_eq!(offsets_hold_their_stamps(&reopened)?, 52);
    Ok(())
}

#[test]
fn a_failing_or_lying_producer_writes_nothing() -> emdb_journal::Result<()> {
    let (_dir, _path, journal) = temp_journal(JournalOptions::new())?;
    journal.append(b"first")?;
    let end = journal.end();
    let failed = journal.append_placed(9, |_, _| Err("no key".into()));
    assert!(matches!(failed, Err(Error::Placed { .. })), "{failed:?}");
    let short = journal.append_placed(9, |at, out| stamp(at, out, 0, 8));
    assert!(matches!(short, Err(Error::InvalidArgument(_))), "{short:?}");
    let batch = journal.append_batch_placed(&[9, 9, 9], |i, at, out| {
        if i == 2 {
            Err("third fails".into())
        } else {
            stamp(at, out, 0, 9)
        }
    });
    assert!(matches!(batch, Err(Error::Placed { .. })), "{batch:?}");
    let reserved = journal.append_placed(1, |_, out| {
        out.push(0xBA);
        Ok(())
    });
    assert!(
        matches!(reserved, Err(Error::ReservedTag { tag: 0xBA })),
        "{reserved:?}"
    );
    assert_eq!(journal.end(), end);
    // The journal is not poisoned: a good append still goes through.
    journal.append_placed(9, |at, out| stamp(at, out, 3, 9))?;
    assert_eq!(all_records(&journal)?.len(), 2);
    Ok(())
}

#[test]
fn placed_appends_from_many_threads_each_get_their_own_offset() -> emdb_journal::Result<()> {
    let (_dir, _path, journal) = temp_journal(JournalOptions::new())?;
    std::thread::scope(|s| {
        for t in 0..4u8 {
            let journal = &journal;
            s.spawn(move || {
                for i in 0..200usize {
                    let len = 9 + (i % 17);
                    if i % 5 == 0 {
                        let lens = [len, 9, 30];
                        journal
                            .append_batch_placed(&lens, |k, at, out| stamp(at, out, t, lens[k]))
                            .map(|_| ())
                    } else {
                        journal.append_placed(len, |at, out| stamp(at, out, t, len)).map(|_| ())
                    }
                    .unwrap_or_else(|e| panic!("append failed: {e}"));
                }
            });
        }
    });
    assert_eq!(offsets_hold_their_stamps(&journal)?, 4 * (160 + 40 * 3));
    Ok(())
}
