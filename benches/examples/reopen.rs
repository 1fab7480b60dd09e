//! Profiling aid: loads N records with range scans on, then reopens the database a few
//! times and prints how long each open takes.
//! `cargo run --release -p emdb-benches --features peers --example reopen -- DIR`.

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
    for _ in 0..5 {
        let started = Instant::now();
        let db = open()?;
        println!(
            "open: {:.0} ms, {} keys",
            started.elapsed().as_secs_f64() * 1e3,
            db.len()?
        );
    }
    Ok(())
}
