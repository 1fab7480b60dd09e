//! Each sync policy and I/O mode keeps its promise about when frames become durable and
//! visible.

mod common;

use common::{all_records, payload, temp_journal, temp_log};
use emdb_journal::{JournalOptions, Lsn, SyncPolicy};

#[test]
fn on_sync_leaves_frames_volatile_until_a_sync() -> emdb_journal::Result<()> {
    let (_dir, _path, journal) = temp_journal(JournalOptions::new())?;
    let lsn = journal.append(b"not yet durable")?;
    assert!(journal.durable_lsn() <= lsn);
    assert_eq!(journal.stats()?.syncs, 0);
    journal.sync_to(lsn)?;
    assert!(journal.durable_lsn() > lsn);
    Ok(())
}

#[test]
fn write_through_makes_every_append_durable_on_return() -> emdb_journal::Result<()> {
    let (_dir, path) = temp_log();
    let journal = JournalOptions::new()
        .sync_policy(SyncPolicy::WriteThrough)
        .open(&path)?;
    for i in 0..50 {
        let lsn = journal.append(&payload(i, 80))?;
        assert!(journal.durable_lsn() > lsn, "append {i} not durable on return");
        // Visible to an independent reader of the file at once: nothing is left buffered.
        assert!(common::file_bytes(&path).len() as u64 >= journal.end().get());
    }
    let receipt = journal.append_batch(&[b"a".as_slice(), b"b"])?;
    assert!(journal.durable_lsn() > receipt.last());
    let stats = journal.stats()?;
    assert!(stats.syncs >= 51, "one durable write per append: {stats:?}");
    if cfg!(target_os = "linux") {
        assert_eq!(stats.durability_primitive, "O_DSYNC write");
    }
    drop(journal);
    assert_eq!(common::reopen_records(&path)?.len(), 52);
    Ok(())
}

#[test]
fn direct_io_round_trips_and_reads_sync_first() -> emdb_journal::Result<()> {
    let (_dir, path, journal) = temp_journal(JournalOptions::new().direct_io(true))?;
    let mut expected = Vec::new();
    let mut lsns = Vec::new();
    for i in 0..300 {
        let p = payload(i, (i * 13 % 700) as usize);
        lsns.push(journal.append(&p)?);
        expected.push(p);
    }
    let batch: Vec<Vec<u8>> = (0..10).map(|i| payload(1000 + i, 33)).collect();
    let receipt = journal.append_batch(&batch)?;
    expected.extend(batch.iter().cloned());
    // A read of an unsynced frame syncs first, then finds it in the file.
    assert_eq!(journal.read(lsns[7])?.payload(), expected[7].as_slice());
    assert_eq!(&*journal.bytes(receipt.record_offsets()[3], 33)?, batch[3].as_slice());
    assert_eq!(all_records(&journal)?, expected);
    let stats = journal.stats()?;
    eprintln!("direct I/O active: {}", stats.direct_io);
    journal.close()?;

    // Reopen buffered, then direct again: the format is the same.
    assert_eq!(common::reopen_records(&path)?, expected);
    let journal = JournalOptions::new().direct_io(true).open(&path)?;
    journal.append(b"more")?;
    journal.sync()?;
    expected.push(b"more".to_vec());
    assert_eq!(all_records(&journal)?, expected);
    Ok(())
}

#[test]
fn grouped_policy_is_correct_for_a_lone_writer() -> emdb_journal::Result<()> {
    let (_dir, _path, journal) = temp_journal(JournalOptions::new().sync_policy(SyncPolicy::Grouped))?;
    for i in 0..20 {
        let lsn = journal.append(&payload(i, 10))?;
        journal.sync()?;
        assert!(journal.durable_lsn() > lsn);
    }
    assert_eq!(journal.stats()?.syncs, 20);
    assert_eq!(journal.durable_lsn(), journal.end());
    assert!(journal.end() > Lsn::ZERO);
    Ok(())
}
