//! Quickstart: a temporary database's log, written, crashed in spirit, and recovered.
//!
//! Run with `cargo run --release --example quickstart`. Everything happens in a fresh
//! temporary directory that is removed at the end.

use std::time::Instant;

use emdb::journal::{Journal, JournalOptions, Record, ReplayError, Tail};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("quickstart.emdb");
    println!("database log: {}", path.display());

    // Write: single records, then a batch that is all-or-nothing after a crash.
    let journal = Journal::open(&path)?;
    let started = Instant::now();
    for i in 0..100_000u32 {
        journal.append(format!("user:{i:06} signed up").as_bytes())?;
    }
    let batch: Vec<Vec<u8>> = (0..1_000u32)
        .map(|i| format!("order:{i:04} paid").into_bytes())
        .collect();
    let receipt = journal.append_batch(&batch)?;
    journal.sync()?;
    println!(
        "appended 100,000 records and a 1,000-record batch, synced, in {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let stats = journal.stats()?;
    println!(
        "log end {} bytes, {} device sync(s), {} write(s), durability primitive: {}",
        stats.end, stats.syncs, stats.writes, stats.durability_primitive
    );

    // Zero-copy read of one record of the batch, straight out of the memory map.
    let third = journal.bytes(receipt.record_offsets()[2], batch[2].len())?;
    println!("third record of the batch: {}", String::from_utf8_lossy(&third));

    // Checkpoint: "my own state covers everything through the batch" (a real store would
    // save its index first). The next open scans only what comes after it.
    journal.checkpoint(receipt.last(), b"")?;
    journal.append(b"written after the checkpoint")?;
    journal.sync()?;
    drop(journal);

    // Reopen, rebuilding state in the same single scan recovery makes.
    let mut replayed = 0u64;
    let mut replay = |_: Record<'_>| -> Result<(), ReplayError> {
        replayed += 1;
        Ok(())
    };
    let started = Instant::now();
    let journal = JournalOptions::new().open_replaying(&path, &mut replay)?;
    let report = journal.recovery();
    println!(
        "reopened in {:.2} ms: scan started at {} ({:?}), replayed {replayed} record(s), tail {}",
        started.elapsed().as_secs_f64() * 1e3,
        report.scan.start,
        report.checkpoint,
        match report.scan.tail {
            Tail::Clean => "clean",
            Tail::Torn { .. } => "torn (cut)",
            Tail::IncompleteBatch { .. } => "incomplete batch (cut)",
            Tail::Corrupt { .. } => "corrupt",
            _ => "other",
        }
    );
    journal.close()?;
    Ok(())
}
