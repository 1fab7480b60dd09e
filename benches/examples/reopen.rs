//! Profiling aid: loads N records with range scans on, then reopens the database a few
//! times and prints how long each open takes.
//! `cargo run --release -p emdb-benches --features peers --example reopen -- DIR [OPENS]`.

use std::time::Instant;

use emdb_benches::Workload;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: reopen DIR")?;
    let path = std::path::Path::new(&dir).join("reopen.emdb");
    let open = || emdb::Emdb::builder().path(&path).enable_range_scans(true).build();
    if !path.exists() {
        let db = open()?;
        let mut w = Workload::new(3);
        db.insert_many((0..1_000_000).map(|_| w.record()))?;
        db.checkpoint()?;
    }
    // Opens to time: the second argument, else 5.
    let times: usize = std::env::args().nth(2).map_or(Ok(5), |n| n.parse())?;
    let mut took = Vec::with_capacity(times);
    for _ in 0..times {
        let started = Instant::now();
        let db = open()?;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        println!("open: {ms:.1} ms, {} keys", db.len()?);
        took.push(ms);
    }
    took.sort_by(f64::total_cmp);
    if let (Some(min), Some(median)) = (took.first(), took.get(took.len() / 2)) {
        println!("fastest {min:.1} ms, median {median:.1} ms of {times}");
    }
    Ok(())
}
