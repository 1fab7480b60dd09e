//! Profiling aid: loads N records of the redb-style workload (range scans off), then
//! writes ROUNDS batches of 1,000 new records with `insert_many`, each made durable with
//! `flush` (the peers bench's "batch writes" row), then as many again without the flush,
//! and prints the time of each half, so the device syncs and the batches' own work can be
//! told apart; run it under `perf record` to see the latter.
//! `cargo run --release -p emdb-benches --features peers --example batches -- DIR [N [ROUNDS]]`

use std::time::Instant;

use emdb_benches::Workload;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: batches DIR [N [ROUNDS]]")?;
    let n: usize = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let rounds: usize = args.next().map_or(Ok(100), |a| a.parse())?;
    let dir = tempfile::tempdir_in(dir)?;
    let db = emdb::Emdb::open(dir.path().join("batches.emdb"))?;
    let mut w = Workload::new(5);
    let records: Vec<_> = (0..n).map(|_| w.record()).collect();
    db.insert_many(records.iter().map(|(k, v)| (&k[..], &v[..])))?;
    db.flush()?;
    drop(records);
    for durable in [true, false] {
        let batches: Vec<Vec<_>> = (0..rounds).map(|_| (0..1_000).map(|_| w.record()).collect()).collect();
        let started = Instant::now();
        for batch in &batches {
            db.insert_many(batch.iter().map(|(k, v)| (&k[..], &v[..])))?;
            if durable {
                db.flush()?;
            }
        }
        let took = started.elapsed();
        println!(
            "{rounds} batches of 1,000 {}: {:.1} ms ({:.0} ns a record)",
            if durable {
                "with a flush each"
            } else {
                "without flushes"
            },
            took.as_secs_f64() * 1e3,
            took.as_nanos() as f64 / (rounds * 1_000) as f64
        );
    }
    Ok(())
}
