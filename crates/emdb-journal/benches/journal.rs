//! Criterion benchmarks of the journal against naive `std::fs` baselines, side by side in
//! the same run.
//!
//! * `sync_each`: 1,000 appends of a 174-byte payload, each followed by a sync: the journal
//!   with default options (`SyncPolicy::OnSync`, 4 MiB preallocation), with
//!   `SyncPolicy::WriteThrough`, and with `preallocate(0)`, versus a `File` opened for
//!   append doing `write_all` + `sync_data` per record. Every run gets a fresh file in a
//!   fresh temporary directory, created outside the timed part.
//! * `bulk`: 1,000,000 records of 174 bytes then one sync: through `append_batch` in
//!   batches of 50,000 versus `write_all` of each batch copied into one buffer; and through
//!   1,000,000 single `append` calls versus a `BufWriter<File>` (64 KiB, the size of the
//!   journal's write buffer) with 1,000,000 `write_all` calls.
//! * `concurrent_sync`: 4 threads × 250 appends, each followed by a sync, on one shared
//!   journal (group commit), versus the same behind one `Mutex` around append + sync (no
//!   group commit possible), versus a `Mutex<File>` doing `write_all` + `sync_data`. A
//!   setup run before the group prints how many device syncs each journal variant issued.
//! * `read`: random 174-byte lookups among 1,000,000 records with `Journal::bytes` versus
//!   `FileExt::read_exact_at` on the same file at the same offsets (Unix only), and
//!   iterating every record of a snapshot versus reading a flat file of the same records
//!   through a 64 KiB `BufReader`.
//!
//! Payloads are pseudo-random bytes from a fixed seed, built before anything is timed.
//! Temporary files go to the system temporary directory (`TMPDIR`), never the working
//! directory; each disk-bound run writes up to ~190 MB there.
//!
//! Run with `cargo bench -p emdb-journal` (a filter narrows it, e.g.
//! `cargo bench -p emdb-journal -- sync_each`). The whole file takes about a minute and a
//! half on a two-core machine (the `bulk` group writes ~10 GB to the disk in all).

use std::error::Error;
use std::fs::{File, OpenOptions};
use std::hint::black_box;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_main};
use emdb_journal::{Journal, JournalOptions, Lsn, RESERVED_TAGS, SyncPolicy};
use tempfile::TempDir;

/// Size of every record.
const RECORD: usize = 174;
/// Records in the bulk and read benchmarks.
const BULK_RECORDS: usize = 1_000_000;
/// Records per `append_batch` call (and per baseline `write_all`).
const BATCH: usize = 50_000;
/// Records appended and synced one by one in `sync_each`.
const SYNC_RECORDS: usize = 1_000;
/// Threads in `concurrent_sync`, and appends (each followed by a sync) per thread.
const THREADS: usize = 4;
const PER_THREAD: usize = 250;
/// Buffer size of the `BufWriter`/`BufReader` baselines: the journal's default write buffer.
const STD_BUFFER: usize = 64 << 10;
/// Seeds of the payload bytes and of the random lookup order.
const DATA_SEED: u64 = 0x5EED_0001_E3DB_0174;
const LOOKUP_SEED: u64 = 0x5EED_0002_0000_0001;

type BoxError = Box<dyn Error + Send + Sync>;
type Outcome<T = Duration> = Result<T, BoxError>;

/// The 1,000,000 distinct records every benchmark draws from, as slices of one buffer.
fn records() -> &'static [&'static [u8]] {
    static FLAT: OnceLock<Vec<u8>> = OnceLock::new();
    static SLICES: OnceLock<Vec<&'static [u8]>> = OnceLock::new();
    SLICES.get_or_init(|| {
        let flat = FLAT.get_or_init(|| {
            let mut flat = vec![0u8; BULK_RECORDS * RECORD];
            fastrand::Rng::with_seed(DATA_SEED).fill(&mut flat);
            // A plain payload may not start with a byte the journal reserves for itself.
            for record in flat.chunks_mut(RECORD) {
                if RESERVED_TAGS.contains(&record[0]) {
                    record[0] &= 0x7F;
                }
            }
            flat
        });
        flat.chunks(RECORD).collect()
    })
}

fn temp_dir() -> Outcome<TempDir> {
    Ok(tempfile::Builder::new().prefix("emdb-journal-bench-").tempdir()?)
}

fn log_path(dir: &TempDir) -> PathBuf {
    dir.path().join("journal.log")
}

fn open_append(path: &Path) -> Outcome<File> {
    Ok(OpenOptions::new().create(true).append(true).open(path)?)
}

/// Runs `once` `iters` times and adds up the time each run reports. A failed run means the
/// benchmark would measure nothing meaningful, so it stops the bench with the error.
fn total(iters: u64, what: &str, mut once: impl FnMut() -> Outcome) -> Duration {
    let mut sum = Duration::ZERO;
    for _ in 0..iters {
        match once() {
            Ok(elapsed) => sum += elapsed,
            Err(e) => panic!("{what}: {e}"),
        }
    }
    sum
}

/// A group of disk-bound runs that each write `records` records: ten samples (criterion's
/// minimum) of whole runs, timed one by one (flat sampling), with a one-second warm-up and
/// three seconds of measurement.
fn disk_group<'c>(c: &'c mut Criterion, name: &str, records: usize) -> BenchmarkGroup<'c, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Bytes((records * RECORD) as u64));
    group
}

// ---------------------------------------------------------------------------------------
// sync_each

/// Opens a fresh journal, times `work` on it (closing is not timed).
fn time_journal(options: JournalOptions, work: impl FnOnce(&Journal) -> Result<(), BoxError>) -> Outcome {
    let dir = temp_dir()?;
    let journal = options.open(log_path(&dir))?;
    let start = Instant::now();
    work(&journal)?;
    let elapsed = start.elapsed();
    journal.close()?;
    Ok(elapsed)
}

fn journal_sync_each(options: JournalOptions, records: &[&[u8]]) -> Outcome {
    time_journal(options, |journal| {
        for record in records {
            black_box(journal.append(black_box(record))?);
            journal.sync()?;
        }
        Ok(())
    })
}

fn file_sync_each(records: &[&[u8]]) -> Outcome {
    let dir = temp_dir()?;
    let mut file = open_append(&log_path(&dir))?;
    let start = Instant::now();
    for record in records {
        file.write_all(black_box(record))?;
        file.sync_data()?;
    }
    Ok(start.elapsed())
}

fn sync_each(c: &mut Criterion) {
    let records = &records()[..SYNC_RECORDS];
    let mut group = disk_group(c, "sync_each", SYNC_RECORDS);
    group.bench_function("journal/on_sync", |b| {
        b.iter_custom(|iters| {
            total(iters, "journal on_sync", || {
                journal_sync_each(JournalOptions::new(), records)
            })
        })
    });
    group.bench_function("journal/write_through", |b| {
        b.iter_custom(|iters| {
            total(iters, "journal write_through", || {
                journal_sync_each(JournalOptions::new().sync_policy(SyncPolicy::WriteThrough), records)
            })
        })
    });
    group.bench_function("journal/no_prealloc", |b| {
        b.iter_custom(|iters| {
            total(iters, "journal no_prealloc", || {
                journal_sync_each(JournalOptions::new().preallocate(0), records)
            })
        })
    });
    group.bench_function("baseline/file_write_sync_data", |b| {
        b.iter_custom(|iters| total(iters, "baseline sync_each", || file_sync_each(records)))
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------
// bulk

fn journal_bulk_batches(records: &[&[u8]]) -> Outcome {
    time_journal(JournalOptions::new(), |journal| {
        for batch in records.chunks(BATCH) {
            black_box(journal.append_batch(black_box(batch))?);
        }
        Ok(journal.sync()?)
    })
}

fn file_bulk_batches(records: &[&[u8]]) -> Outcome {
    let dir = temp_dir()?;
    let mut file = open_append(&log_path(&dir))?;
    let start = Instant::now();
    // The journal copies each batch into its buffer too, so the copy is timed here.
    let mut buf = Vec::with_capacity(BATCH * RECORD);
    for batch in records.chunks(BATCH) {
        buf.clear();
        for record in batch {
            buf.extend_from_slice(black_box(record));
        }
        file.write_all(&buf)?;
    }
    file.sync_data()?;
    Ok(start.elapsed())
}

fn journal_bulk_single(records: &[&[u8]]) -> Outcome {
    time_journal(JournalOptions::new(), |journal| {
        for record in records {
            black_box(journal.append(black_box(record))?);
        }
        Ok(journal.sync()?)
    })
}

fn bufwriter_bulk_single(records: &[&[u8]]) -> Outcome {
    let dir = temp_dir()?;
    let file = open_append(&log_path(&dir))?;
    let start = Instant::now();
    let mut out = BufWriter::with_capacity(STD_BUFFER, file);
    for record in records {
        out.write_all(black_box(record))?;
    }
    out.flush()?;
    out.get_ref().sync_data()?;
    Ok(start.elapsed())
}

fn bulk(c: &mut Criterion) {
    let records = records();
    let mut group = disk_group(c, "bulk", BULK_RECORDS);
    // One run per sample (each writes ~180 MB): criterion warns that 10 samples do not fit
    // in the target time, which is the point; a longer target would only add disk writes.
    group
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    group.bench_function("journal/append_batch_50k", |b| {
        b.iter_custom(|iters| total(iters, "journal append_batch", || journal_bulk_batches(records)))
    });
    group.bench_function("baseline/file_write_all_50k", |b| {
        b.iter_custom(|iters| total(iters, "baseline batches", || file_bulk_batches(records)))
    });
    group.bench_function("journal/append_single", |b| {
        b.iter_custom(|iters| total(iters, "journal append", || journal_bulk_single(records)))
    });
    group.bench_function("baseline/bufwriter_write_all", |b| {
        b.iter_custom(|iters| total(iters, "baseline bufwriter", || bufwriter_bulk_single(records)))
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------
// concurrent_sync

/// Runs `THREADS` threads, thread `t` calling `op` on each of its `PER_THREAD` records.
/// Times from before the threads are spawned until the last has joined.
fn run_threads<S: Send + Sync + 'static>(shared: &Arc<S>, op: fn(&S, &[u8]) -> Outcome<()>) -> Outcome {
    let records = records();
    let barrier = Arc::new(Barrier::new(THREADS));
    let start = Instant::now();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let shared = Arc::clone(shared);
            let barrier = Arc::clone(&barrier);
            let mine = &records[t * PER_THREAD..(t + 1) * PER_THREAD];
            thread::spawn(move || -> Outcome<()> {
                barrier.wait();
                for record in mine {
                    op(&shared, record)?;
                }
                Ok(())
            })
        })
        .collect();
    for handle in handles {
        handle.join().map_err(|_| "a benchmark thread panicked")??;
    }
    Ok(start.elapsed())
}

fn shared_append_sync(journal: &Journal, record: &[u8]) -> Outcome<()> {
    black_box(journal.append(record)?);
    journal.sync()?;
    Ok(())
}

fn locked_append_sync(journal: &Mutex<Journal>, record: &[u8]) -> Outcome<()> {
    let journal = journal.lock().map_err(|_| "journal mutex poisoned")?;
    black_box(journal.append(record)?);
    journal.sync()?;
    Ok(())
}

fn locked_file_write_sync(file: &Mutex<File>, record: &[u8]) -> Outcome<()> {
    let mut file = file.lock().map_err(|_| "file mutex poisoned")?;
    file.write_all(record)?;
    file.sync_data()?;
    Ok(())
}

/// One run on a shared journal: (time, device syncs, records appended).
fn journal_concurrent(options: JournalOptions) -> Outcome<(Duration, u64, u64)> {
    let dir = temp_dir()?;
    let journal = Arc::new(options.open(log_path(&dir))?);
    let elapsed = run_threads(&journal, shared_append_sync)?;
    let stats = journal.stats()?;
    Ok((elapsed, stats.syncs, stats.records_appended))
}

/// One run with a mutex around append + sync: (time, device syncs, records appended).
fn journal_concurrent_locked() -> Outcome<(Duration, u64, u64)> {
    let dir = temp_dir()?;
    let journal = Arc::new(Mutex::new(Journal::open(log_path(&dir))?));
    let elapsed = run_threads(&journal, locked_append_sync)?;
    let stats = journal.lock().map_err(|_| "journal mutex poisoned")?.stats()?;
    Ok((elapsed, stats.syncs, stats.records_appended))
}

fn file_concurrent() -> Outcome {
    let dir = temp_dir()?;
    let file = Arc::new(Mutex::new(open_append(&log_path(&dir))?));
    run_threads(&file, locked_file_write_sync)
}

fn concurrent_sync(c: &mut Criterion) {
    // Setup run, untimed: show that concurrent syncers share device syncs.
    match journal_concurrent(JournalOptions::new()) {
        Ok((_, syncs, appends)) => {
            eprintln!("concurrent_sync: shared journal (OnSync): {syncs} device syncs for {appends} appends + syncs");
        }
        Err(e) => {
            eprintln!("concurrent_sync: skipped, the setup run failed: {e}");
            return;
        }
    }
    match journal_concurrent_locked() {
        Ok((_, syncs, appends)) => {
            eprintln!("concurrent_sync: journal behind a mutex: {syncs} device syncs for {appends} appends + syncs");
        }
        Err(e) => eprintln!("concurrent_sync: the mutex setup run failed: {e}"),
    }

    let mut group = disk_group(c, "concurrent_sync", THREADS * PER_THREAD);
    group.bench_function("journal/shared_group_commit", |b| {
        b.iter_custom(|iters| {
            total(iters, "journal shared", || {
                Ok(journal_concurrent(JournalOptions::new())?.0)
            })
        })
    });
    group.bench_function("journal/mutex_append_sync", |b| {
        b.iter_custom(|iters| total(iters, "journal mutex", || Ok(journal_concurrent_locked()?.0)))
    });
    group.bench_function("baseline/mutex_file_write_sync_data", |b| {
        b.iter_custom(|iters| total(iters, "baseline mutex file", file_concurrent))
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------
// read

/// A journal of `BULK_RECORDS` records, the offset of each, and a flat file of the same
/// records for the iteration baseline.
struct ReadFixture {
    _dir: TempDir,
    journal: Journal,
    offsets: Vec<u64>,
    flat: PathBuf,
}

fn read_fixture(records: &[&[u8]]) -> Outcome<ReadFixture> {
    let dir = temp_dir()?;
    let journal = Journal::open(log_path(&dir))?;
    let mut offsets = Vec::with_capacity(records.len());
    for batch in records.chunks(BATCH) {
        offsets.extend_from_slice(journal.append_batch(batch)?.record_offsets());
    }
    journal.sync()?;
    let flat = dir.path().join("flat.bin");
    let mut out = BufWriter::with_capacity(STD_BUFFER, File::create(&flat)?);
    for record in records {
        out.write_all(record)?;
    }
    out.flush()?;
    out.get_ref().sync_data()?;
    Ok(ReadFixture {
        _dir: dir,
        journal,
        offsets,
        flat,
    })
}

/// Checks that both readers return the records the benchmark expects, so the timed loops
/// may treat a failure as impossible.
fn check_fixture(fx: &ReadFixture, records: &[&[u8]], lookups: &[usize]) -> Outcome<()> {
    #[cfg(unix)]
    let file = File::open(fx.journal.path())?;
    for &i in lookups.iter().take(1000) {
        if &*fx.journal.bytes(fx.offsets[i], RECORD)? != records[i] {
            return Err(format!("journal.bytes returned the wrong bytes for record {i}").into());
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            let mut buf = [0u8; RECORD];
            file.read_exact_at(&mut buf, fx.offsets[i])?;
            if buf[..] != *records[i] {
                return Err(format!("read_exact_at returned the wrong bytes for record {i}").into());
            }
        }
    }
    let snapshot = fx.journal.snapshot()?;
    let mut n = 0;
    for record in snapshot.records(Lsn::ZERO) {
        if record?.bytes != records[n] {
            return Err(format!("snapshot record {n} differs").into());
        }
        n += 1;
    }
    if n != records.len() {
        return Err(format!("snapshot yielded {n} records, not {}", records.len()).into());
    }
    if std::fs::metadata(&fx.flat)?.len() != (records.len() * RECORD) as u64 {
        return Err("flat file has the wrong length".into());
    }
    Ok(())
}

fn read(c: &mut Criterion) {
    let records = records();
    let fx = match read_fixture(records) {
        Ok(fx) => fx,
        Err(e) => {
            eprintln!("read: skipped, building the journal failed: {e}");
            return;
        }
    };
    let mut rng = fastrand::Rng::with_seed(LOOKUP_SEED);
    let lookups: Vec<usize> = (0..1 << 20).map(|_| rng.usize(..records.len())).collect();
    if let Err(e) = check_fixture(&fx, records, &lookups) {
        eprintln!("read: skipped, the fixture did not read back: {e}");
        return;
    }
    let offsets: Vec<u64> = lookups.iter().map(|&i| fx.offsets[i]).collect();
    let mask = offsets.len() - 1;

    let mut group = c.benchmark_group("read");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(1));
    // Each lookup touches the first and last byte, so a zero-copy read pays for the page it
    // maps, like a copying read pays for its copy.
    group.bench_function("random/journal_bytes", |b| {
        let mut i = 0usize;
        b.iter(|| {
            let off = offsets[i & mask];
            i = i.wrapping_add(1);
            let bytes = fx.journal.bytes(black_box(off), RECORD).expect("checked before timing");
            black_box(bytes[0] ^ bytes[RECORD - 1])
        })
    });
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        match File::open(fx.journal.path()) {
            Ok(file) => {
                group.bench_function("random/baseline_read_exact_at", |b| {
                    let mut i = 0usize;
                    let mut buf = [0u8; RECORD];
                    b.iter(|| {
                        let off = offsets[i & mask];
                        i = i.wrapping_add(1);
                        file.read_exact_at(&mut buf, black_box(off))
                            .expect("checked before timing");
                        black_box(buf[0] ^ buf[RECORD - 1])
                    })
                });
            }
            Err(e) => eprintln!("read: random/baseline_read_exact_at skipped: {e}"),
        }
    }

    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Bytes((BULK_RECORDS * RECORD) as u64));
    group.bench_function("iterate/journal_snapshot_records", |b| {
        b.iter(|| {
            let snapshot = fx.journal.snapshot().expect("checked before timing");
            let (mut n, mut acc) = (0usize, 0u8);
            for record in snapshot.records(Lsn::ZERO) {
                let record = record.expect("checked before timing");
                acc ^= record.bytes[0] ^ record.bytes[RECORD - 1];
                n += 1;
            }
            black_box((n, acc))
        })
    });
    group.bench_function("iterate/baseline_bufreader_flat", |b| {
        b.iter(|| {
            let file = File::open(&fx.flat).expect("checked before timing");
            let mut input = BufReader::with_capacity(STD_BUFFER, file);
            let mut buf = [0u8; RECORD];
            let (mut n, mut acc) = (0usize, 0u8);
            while n < BULK_RECORDS {
                input.read_exact(&mut buf).expect("checked before timing");
                acc ^= buf[0] ^ buf[RECORD - 1];
                n += 1;
            }
            black_box((n, acc))
        })
    });
    group.finish();
}

/// The benchmark groups, in a private module: `criterion_group!` makes a `pub fn`, which
/// would otherwise trip the workspace's `missing_docs` lint.
mod groups {
    use super::{bulk, concurrent_sync, read, sync_each};
    criterion::criterion_group!(benches, sync_each, bulk, concurrent_sync, read);
}
criterion_main!(groups::benches);
