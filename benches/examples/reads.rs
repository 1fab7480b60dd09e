//! Profiling aid: loads N records (the redb-style workload, range scans off), then reads
//! every key with `get_zerocopy` (or `get`, a copy, when the fourth argument is `get`), on 1
//! and on 4 threads, a few times, and prints the time per read; run it under `perf record`
//! to see where a point read spends its time.
//! `cargo run --release -p emdb-benches --features peers --example reads -- DIR [N [PASSES [get]]]`
//! (a small N keeps everything in cache: what is left is the read's own work).

use std::time::Instant;

use emdb_benches::Workload;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: reads DIR [N [PASSES [get]]]")?;
    let n: usize = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let passes: usize = args.next().map_or(Ok(3), |a| a.parse())?;
    let copy = args.next().is_some_and(|a| a == "get");
    let dir = tempfile::tempdir_in(dir)?;
    let path = dir.path().join("reads.emdb");
    let db = emdb::Emdb::open(&path)?;
    let mut w = Workload::new(7);
    let records: Vec<_> = (0..n).map(|_| w.record()).collect();
    db.insert_many(records.iter().map(|(k, v)| (&k[..], &v[..])))?;
    db.flush()?;
    let keys: Vec<[u8; 24]> = records.iter().map(|(k, _)| *k).collect();
    drop(records);
    for threads in [1, 4] {
        for _ in 0..passes {
            let started = Instant::now();
            let sum: u64 = std::thread::scope(|s| {
                let handles: Vec<_> = keys
                    .chunks(keys.len().div_ceil(threads))
                    .map(|chunk| {
                        let db = &db;
                        s.spawn(move || {
                            let mut sum = 0u64;
                            for k in chunk {
                                let first = if copy {
                                    db.get(k).expect("read").expect("present")[0]
                                } else {
                                    db.get_zerocopy(k).expect("read").expect("present")[0]
                                };
                                sum += u64::from(first);
                            }
                            sum
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().expect("reader")).sum()
            });
            let ns = started.elapsed().as_nanos() as f64 / keys.len() as f64;
            println!(
                "{threads} thread(s): {ns:.0} ns a read ({:.0} ms), checksum {sum}",
                ns * keys.len() as f64 / 1e6
            );
        }
    }
    Ok(())
}
