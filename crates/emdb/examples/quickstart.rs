//! Quickstart: a temporary database written, read, scanned, reopened and compacted.
//!
//! Run with `cargo run --release --example quickstart`. Everything happens in a fresh
//! temporary directory that is removed at the end.

use std::time::Instant;

use emdb::{Emdb, FlushPolicy};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("quickstart.emdb");
    println!("database: {}", path.display());

    let db = Emdb::builder()
        .path(&path)
        .enable_range_scans(true)
        .flush_policy(FlushPolicy::OnEachFlush)
        .build()?;

    // Writes: 100,000 single inserts, then one crash-atomic batch.
    let started = Instant::now();
    for i in 0..100_000u32 {
        db.insert(format!("user:{i:06}"), format!("{{\"id\":{i},\"plan\":\"free\"}}"))?;
    }
    db.insert_many((0..1_000u32).map(|i| (format!("order:{i:04}"), format!("paid {i}"))))?;
    db.flush()?;
    println!(
        "wrote 100,000 records and a 1,000-record batch, durable, in {:.0} ms",
        started.elapsed().as_secs_f64() * 1e3
    );

    // Reads, zero-copy or copied.
    let started = Instant::now();
    let mut found = 0;
    for i in (0..100_000u32).step_by(7) {
        found += usize::from(db.get_zerocopy(format!("user:{i:06}"))?.is_some());
    }
    println!(
        "{found} random reads in {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );

    // A transaction: all of it or none of it, even across a crash.
    db.transaction(|tx| {
        let user = tx.get("user:000042")?.unwrap_or_default();
        tx.insert("user:000042", String::from_utf8_lossy(&user).replace("free", "pro"))?;
        tx.insert("upgrades", "1")
    })?;
    println!(
        "user:000042 -> {}",
        String::from_utf8_lossy(&db.get("user:000042")?.unwrap_or_default())
    );

    // A range scan and a prefix scan over the sorted index.
    let page: Vec<String> = db
        .range(b"user:000100".to_vec()..b"user:000103".to_vec())?
        .into_iter()
        .map(|(k, _)| String::from_utf8_lossy(&k).into_owned())
        .collect();
    println!("range user:000100..user:000103 -> {page:?}");
    println!("orders: {}", db.range_prefix("order:")?.len());

    // Remove half the users, then compact while the database stays open.
    for i in (0..100_000u32).step_by(2) {
        db.remove(format!("user:{i:06}"))?;
    }
    let before = db.stats()?.logical_size_bytes;
    let started = Instant::now();
    db.compact()?;
    let after = db.stats()?;
    println!(
        "compacted {:.1} MiB of log to {:.1} MiB in {:.0} ms",
        before as f64 / 1048576.0,
        after.logical_size_bytes as f64 / 1048576.0,
        started.elapsed().as_secs_f64() * 1e3
    );
    drop(db);

    // Reopen: the checkpoint compaction wrote makes it quick.
    let started = Instant::now();
    let db = Emdb::builder().path(&path).enable_range_scans(true).build()?;
    let stats = db.stats()?;
    println!(
        "reopened in {:.1} ms (from checkpoint: {}): {} live records, {:.1} bytes of index per key",
        started.elapsed().as_secs_f64() * 1e3,
        stats.opened_from_checkpoint,
        stats.live_records,
        stats.index_memory_bytes as f64 / stats.live_records.max(1) as f64
    );
    assert_eq!(db.get("upgrades")?, Some(b"1".to_vec()));
    Ok(())
}
