//! How long writers wait while a compaction runs: loads N records of the redb-style
//! workload (range scans off), removes half of them, then compacts while one thread
//! writes new records one at a time (no sync asked) and times each write. Prints the
//! compaction's time and the writes' longest and 99.9th-percentile latencies during it,
//! against the same writes' latencies with no compaction running.
//! `cargo run --release -p emdb-benches --features peers --example compaction_stall -- DIR [N [ROUNDS]]`

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use emdb_benches::Workload;

/// The longest and the 99.9th-percentile latency of `lat` (sorted in place).
fn summary(lat: &mut [Duration]) -> (Duration, Duration, usize) {
    lat.sort_unstable();
    let n = lat.len();
    if n == 0 {
        return (Duration::ZERO, Duration::ZERO, 0);
    }
    (lat[n - 1], lat[(n * 999 / 1000).min(n - 1)], n)
}

/// Writes per second: a steady application's rate (an unpaced writer outruns any
/// compaction's catch-up and only measures how far behind it falls).
const RATE: u32 = 50_000;

/// Writes records of a workload seeded with `seed` one at a time, [`RATE`] a second,
/// until `stop`, timing each.
fn write_until(db: &emdb::Emdb, seed: u64, stop: &AtomicBool) -> Vec<Duration> {
    let mut w = Workload::new(seed);
    let mut lat = Vec::new();
    let every = Duration::from_secs(1) / RATE;
    let mut next = Instant::now();
    while !stop.load(Ordering::Acquire) {
        while Instant::now() < next {
            std::hint::spin_loop();
        }
        next += every;
        let (k, v) = w.record();
        let started = Instant::now();
        db.insert(&k[..], &v[..]).expect("write");
        lat.push(started.elapsed());
    }
    lat
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: compaction_stall DIR [N [ROUNDS]]")?;
    let n: usize = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let rounds: usize = args.next().map_or(Ok(3), |a| a.parse())?;
    let dir = tempfile::tempdir_in(dir)?;
    let db = emdb::Emdb::open(dir.path().join("stall.emdb"))?;
    let mut w = Workload::new(11);
    let records: Vec<_> = (0..n).map(|_| w.record()).collect();
    db.insert_many(records.iter().map(|(k, v)| (&k[..], &v[..])))?;
    db.flush()?;
    for (k, _) in records.iter().step_by(2) {
        db.remove(&k[..])?;
    }
    db.flush()?;
    drop(records);
    for round in 0..rounds {
        // The same writer for as long as the compaction took, with nothing else running.
        let stop = AtomicBool::new(false);
        let (took, mut during) = std::thread::scope(|s| {
            let writer = s.spawn(|| write_until(&db, 1000 + 2 * round as u64, &stop));
            let started = Instant::now();
            db.compact().expect("compact");
            let took = started.elapsed();
            stop.store(true, Ordering::Release);
            (took, writer.join().expect("writer"))
        });
        let quiet_stop = AtomicBool::new(false);
        let mut quiet = std::thread::scope(|s| {
            let writer = s.spawn(|| write_until(&db, 1001 + 2 * round as u64, &quiet_stop));
            std::thread::sleep(took);
            quiet_stop.store(true, Ordering::Release);
            writer.join().expect("writer")
        });
        let (max, p999, count) = summary(&mut during);
        let (qmax, qp999, qcount) = summary(&mut quiet);
        println!(
            "round {round}: compaction {:.0} ms; writes during it: {count}, longest {:.2} ms, \
             p99.9 {:.3} ms; without it: {qcount}, longest {:.2} ms, p99.9 {:.3} ms",
            took.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
            p999.as_secs_f64() * 1e3,
            qmax.as_secs_f64() * 1e3,
            qp999.as_secs_f64() * 1e3,
        );
    }
    Ok(())
}
