//! emdb against its peers on the redb-style workload: 24-byte keys, 150-byte values, 1M
//! records by default, everything random, every commit durable unless the row says nosync.
//!
//! ```text
//! cargo run --release -p emdb-benches --features peers --bin peers -- \
//!     [--records N] [--engines emdb,redb,...] [--dir DIR]
//! ```
//!
//! Each engine runs in a child process of its own (this binary with `--run ENGINE`), so its
//! memory figures are its own and one engine's page cache warm-up does not leak into the
//! next one's timings beyond what the kernel keeps. The parent prints a Markdown table.

mod engines;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use emdb_benches::Workload;
use engines::{Engine, NAMES, Record, Result};

/// The workload's seed: every engine sees the same keys and values in the same order.
const SEED: u64 = 3;
/// Individual durable writes, and batches of the batch row.
const WRITES: usize = 100;
/// Records per batch.
const BATCH: usize = 1_000;
/// Writes of the nosync row.
const NOSYNC_WRITES: usize = 1_000;
/// Records read from each start of the range row.
const SCAN: usize = 10;
/// Reader threads of the concurrent rows.
const THREADS: [usize; 3] = [4, 8, 16];

struct Args {
    records: usize,
    engines: Vec<String>,
    dir: Option<PathBuf>,
    run: Option<String>,
}

fn parse_args() -> std::result::Result<Args, String> {
    let mut args = Args {
        records: 1_000_000,
        engines: NAMES.iter().map(|n| (*n).to_owned()).collect(),
        dir: None,
        run: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--records" => {
                args.records = value()?
                    .replace('_', "")
                    .parse()
                    .map_err(|e| format!("--records: {e}"))?;
                if args.records < 1_000 {
                    return Err("--records: at least 1000".into());
                }
            }
            "--engines" => args.engines = value()?.split(',').map(str::to_owned).collect(),
            "--dir" => args.dir = Some(value()?.into()),
            "--run" => args.run = Some(value()?),
            "--bench" => {} // passed by `cargo bench`
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if let Some(bad) = args.engines.iter().find(|e| !NAMES.contains(&e.as_str())) {
        return Err(format!("unknown engine {bad:?}; known: {}", NAMES.join(",")));
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("peers: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = match &args.run {
        Some(engine) => run_engine(engine, &args),
        None => drive(&args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("peers: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parent: one child per engine, then the table.

fn drive(args: &Args) -> Result<()> {
    let base = match &args.dir {
        Some(dir) => tempfile::tempdir_in(dir)?,
        // On the disk of the working directory, not a tmpfs /tmp.
        None => tempfile::tempdir_in(".")?,
    };
    let exe = std::env::current_exe()?;
    let mut rows: Vec<String> = Vec::new();
    let mut cells: BTreeMap<(String, String), String> = BTreeMap::new();
    for engine in &args.engines {
        let dir = base.path().join(engine);
        std::fs::create_dir_all(&dir)?;
        eprintln!("peers: {engine} ...");
        let output = Command::new(&exe)
            .args(["--run", engine, "--records", &args.records.to_string()])
            .arg("--dir")
            .arg(&dir)
            .output()?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        for line in stdout.lines() {
            if let Some((row, value)) = line.split_once('\t') {
                if !rows.iter().any(|r| r == row) {
                    rows.push(row.to_owned());
                }
                cells.insert((row.to_owned(), engine.clone()), value.to_owned());
            }
        }
        if !output.status.success() {
            eprintln!(
                "peers: {engine} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
            cells.insert(("bulk load".into(), engine.clone()), "failed".into());
        }
        std::fs::remove_dir_all(&dir)?;
    }

    println!(
        "\n{} records, {}-byte keys, {}-byte values\n",
        args.records,
        emdb_benches::KEY_LEN,
        emdb_benches::VALUE_LEN
    );
    println!("| | {} |", args.engines.join(" | "));
    println!("|---|{}", "---:|".repeat(args.engines.len()));
    for row in &rows {
        let values: Vec<&str> = args
            .engines
            .iter()
            .map(|e| cells.get(&(row.clone(), e.clone())).map_or("", String::as_str))
            .collect();
        println!("| {row} | {} |", values.join(" | "));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Child: the workload against one engine, one `row\tvalue` line per measurement.

fn records(skip: usize) -> impl Iterator<Item = Record> {
    let mut workload = Workload::new(SEED);
    for _ in 0..skip {
        workload.record();
    }
    std::iter::repeat_with(move || workload.record())
}

fn ms(started: Instant) -> String {
    format!("{:.0} ms", started.elapsed().as_secs_f64() * 1e3)
}

fn report(row: &str, value: String) {
    println!("{row}\t{value}");
}

/// Sum of the values' first bytes of the first `n` records from `skip` on: what a read of
/// them must return.
fn expected_sum(skip: usize, n: usize) -> u64 {
    records(skip).take(n).map(|(_, v)| u64::from(v[0])).sum()
}

fn check_reads(what: &str, (sum, missing): (u64, u64), expected: u64) -> Result<()> {
    if missing != 0 || sum != expected {
        return Err(format!("{what}: {missing} keys missing, sum {sum}, expected {expected}").into());
    }
    Ok(())
}

fn run_engine(name: &str, args: &Args) -> Result<()> {
    let dir = args.dir.clone().ok_or("--run needs --dir")?;
    let n = args.records;
    let mut db = engines::open(name, &dir)?;
    let mut source = records(0);

    let started = Instant::now();
    db.bulk_load(&mut source.by_ref().take(n))?;
    report("bulk load", ms(started));

    let started = Instant::now();
    for record in source.by_ref().take(WRITES) {
        db.write_durable(&record)?;
    }
    report("individual writes", ms(started));

    let started = Instant::now();
    for _ in 0..WRITES {
        let batch: Vec<Record> = source.by_ref().take(BATCH).collect();
        db.write_batch_durable(&batch)?;
    }
    report("batch writes", ms(started));

    let started = Instant::now();
    for record in source.by_ref().take(NOSYNC_WRITES) {
        db.write_nosync(&record)?;
    }
    report("nosync writes", ms(started));
    db.sync()?;

    let started = Instant::now();
    let len = db.len()?;
    report("len()", ms(started));
    let total = (n + WRITES + WRITES * BATCH + NOSYNC_WRITES) as u64;
    if len != total {
        return Err(format!("len() = {len}, expected {total}").into());
    }

    let expected = expected_sum(0, n);
    let mut best = f64::MAX;
    for _ in 0..2 {
        let started = Instant::now();
        let found = db.read_all(&mut records(0).take(n))?;
        best = best.min(started.elapsed().as_secs_f64());
        check_reads("random reads", found, expected)?;
    }
    report("random reads", format!("{:.0} ms", best * 1e3));
    report("memory after reads (anon RSS)", mib(proc_status("RssAnon:")));

    let started = Instant::now();
    match db.range_all(&mut records(0).take(n), SCAN)? {
        Some(sum) if sum > 0 => report("random range reads", ms(started)),
        Some(_) => return Err("range reads found nothing".into()),
        None => report("random range reads", "n/a".into()),
    }

    for threads in THREADS {
        let per = n / threads;
        // Each thread's share of the keys, the generator wound forward before the clock
        // starts.
        let shares: Vec<_> = (0..threads).map(|t| records(t * per).take(per)).collect();
        let started = Instant::now();
        let engine: &dyn Engine = db.as_ref();
        std::thread::scope(|s| -> Result<()> {
            let handles: Vec<_> = shares
                .into_iter()
                .map(|mut share| s.spawn(move || engine.read_all(&mut share)))
                .collect();
            for handle in handles {
                let (_, missing) = handle.join().map_err(|_| "reader panicked")??;
                if missing != 0 {
                    return Err(format!("{missing} keys missing in a reader thread").into());
                }
            }
            Ok(())
        })?;
        report(&format!("random reads ({threads} threads)"), ms(started));
    }

    let started = Instant::now();
    db.remove_all(&mut records(0).take(n / 2))?;
    report("removals", ms(started));

    report("uncompacted size", mib(disk_bytes(&dir)?));
    let started = Instant::now();
    if db.compact()? {
        report("compaction", ms(started));
        report("compacted size", mib(disk_bytes(&dir)?));
    } else {
        report("compaction", "n/a".into());
        report("compacted size", "n/a".into());
    }

    drop(db);
    let started = Instant::now();
    let db = engines::open(name, &dir)?;
    let len = db.len()?;
    report("reopen + len()", ms(started));
    if len != total - (n / 2) as u64 {
        return Err(format!("after reopen len() = {len}, expected {}", total - (n / 2) as u64).into());
    }
    let tail = expected_sum(n / 2, n - n / 2);
    check_reads(
        "reads after reopen",
        db.read_all(&mut records(n / 2).take(n - n / 2))?,
        tail,
    )?;
    // The first range read after the reopen: where an engine that builds its ordered
    // index lazily (emdb) pays for it.
    let mut one = records(n / 2).take(1);
    let started = Instant::now();
    match db.range_all(&mut one, SCAN)? {
        Some(_) => report("first range read after reopen", ms(started)),
        None => report("first range read after reopen", "n/a".into()),
    }
    report("peak memory (RSS high-water)", mib(proc_status("VmHWM:")));
    Ok(())
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// A `kB` field of /proc/self/status, in bytes (0 where there is no such file).
fn proc_status(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// Bytes the directory's files occupy on disk (allocated blocks, so preallocated and sparse
/// files count what they really hold).
fn disk_bytes(dir: &Path) -> Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            disk_bytes(&entry.path())?
        } else {
            meta.blocks() * 512
        };
    }
    Ok(total)
}
