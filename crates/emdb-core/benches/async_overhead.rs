//! What the async wrappers cost over the sync engine, side by side in one run.
//!
//! * `get` and `insert`: one call through the sync handle, and the same call through
//!   `AsyncEmdb` awaited on a current-thread runtime and on a two-worker multi-thread
//!   runtime (a trip to the blocking pool and back each). The difference is the per-call
//!   overhead of the async path (target: at most 5 µs on the two-core development
//!   machine). The async loops run in a spawned task, on a worker thread. `len`, which
//!   runs inline, is measured the same way, and `get` also through the sync handle inside
//!   `block_in_place` (the escape hatch the crate docs suggest for latency-critical loops).
//! * `stream`: 100,000 records read through the sync iterator and through the matching
//!   stream (`iter` / `iter_stream`, `range_iter` / `range_stream`), counted by the
//!   consumer, a spawned task (target: the stream at least half as fast as the iterator).
//!
//! Keys are 16 bytes (`key:` and a 12-digit index), values 100 bytes, records made before
//! anything is timed; every result goes through `black_box`. The async timings run the
//! whole loop of `iters` calls inside one task, so they do not include entering the
//! runtime.
//!
//! Run with `cargo bench -p emdb-core --features async --bench async_overhead` (a filter narrows it, e.g.
//! `-- get`).

use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_main, measurement::WallTime};
use emdb_benches::runtimes;
use emdb_core::AsyncEmdb;
use emdb_core::Emdb;
use tokio::runtime::Runtime;
use tokio_stream::StreamExt;

/// Records in the database the point calls probe.
const KEYS: usize = 10_000;
/// Records the stream benchmarks read.
const STREAM_RECORDS: usize = 100_000;
const VALUE: [u8; 100] = [0x5A; 100];

fn key(i: usize) -> Vec<u8> {
    format!("key:{i:012}").into_bytes()
}

/// A database with range scans holding `n` records, opened on `rt`.
fn database(rt: &Runtime, dir: &tempfile::TempDir, name: &str, n: usize) -> AsyncEmdb {
    rt.block_on(async {
        let db = AsyncEmdb::builder()
            .path(dir.path().join(name))
            .enable_range_scans(true)
            .build_async()
            .await
            .expect("open");
        for start in (0..n).step_by(10_000) {
            let batch: Vec<(Vec<u8>, [u8; 100])> = (start..n.min(start + 10_000)).map(|i| (key(i), VALUE)).collect();
            db.insert_many(batch).await.expect("fill");
        }
        db
    })
}

/// Runs `body` in a task spawned on `rt` (on a worker thread, where application code
/// runs, rather than in `block_on`'s thread) and returns what it measured.
fn on_worker<F, Fut>(rt: &Runtime, db: &AsyncEmdb, probes: &Arc<Vec<Vec<u8>>>, body: F) -> Duration
where
    F: FnOnce(AsyncEmdb, Arc<Vec<Vec<u8>>>) -> Fut,
    Fut: Future<Output = Duration> + Send + 'static,
{
    let task = body(db.clone(), Arc::clone(probes));
    rt.block_on(async { tokio::spawn(task).await.expect("bench task") })
}

fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    group.sample_size(30).measurement_time(Duration::from_secs(3));
}

/// A point call, timed through the sync handle and through `AsyncEmdb`.
#[derive(Clone, Copy)]
enum Call {
    Get,
    Insert,
}

impl Call {
    fn name(self) -> &'static str {
        match self {
            Call::Get => "get",
            Call::Insert => "insert",
        }
    }

    fn sync(self, db: &Emdb, key: &[u8]) {
        match self {
            Call::Get => {
                black_box(db.get(key).expect("get"));
            }
            Call::Insert => db.insert(key, &VALUE[..]).expect("insert"),
        }
    }

    async fn run(self, db: &AsyncEmdb, key: &[u8]) {
        match self {
            Call::Get => {
                black_box(db.get(key).await.expect("get"));
            }
            Call::Insert => db.insert(key, VALUE).await.expect("insert"),
        }
    }
}

/// The database, its handles and runtimes, and the keys the point calls probe in turn.
struct Point {
    _dir: tempfile::TempDir,
    current: Runtime,
    multi: Runtime,
    db: AsyncEmdb,
    sync: Arc<Emdb>,
    probes: Arc<Vec<Vec<u8>>>,
}

impl Point {
    fn new() -> Point {
        let dir = tempfile::tempdir().expect("temp dir");
        let [(_, current), (_, multi)] = runtimes();
        let db = database(&current, &dir, "point.emdb", KEYS);
        let sync = db.sync_handle();
        let probes = Arc::new((0..KEYS).map(|i| key((i * 7919) % KEYS)).collect());
        Point {
            _dir: dir,
            current,
            multi,
            db,
            sync,
            probes,
        }
    }

    /// `call`'s group, with the sync call and the async one on either runtime timed.
    fn group<'c>(&self, c: &'c mut Criterion, call: Call) -> BenchmarkGroup<'c, WallTime> {
        let mut group = c.benchmark_group(call.name());
        configure(&mut group);
        group.throughput(Throughput::Elements(1));
        group.bench_function("sync", |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % KEYS;
                call.sync(&self.sync, &self.probes[i]);
            });
        });
        for (name, rt) in [
            ("async_current_thread", &self.current),
            ("async_multi_thread", &self.multi),
        ] {
            group.bench_function(name, |b| {
                b.iter_custom(|iters| {
                    on_worker(rt, &self.db, &self.probes, move |db, probes| async move {
                        let start = Instant::now();
                        for n in 0..iters {
                            call.run(&db, &probes[n as usize % KEYS]).await;
                        }
                        start.elapsed()
                    })
                });
            });
        }
        group
    }
}

fn point_calls(c: &mut Criterion) {
    let point = Point::new();
    let Point {
        current,
        multi,
        db,
        sync,
        probes,
        ..
    } = &point;

    let mut group = point.group(c, Call::Get);
    // The documented escape hatch for latency-critical loops on a multi-thread runtime.
    group.bench_function("sync_handle_block_in_place", |b| {
        b.iter_custom(|iters| {
            on_worker(multi, db, probes, move |db, probes| async move {
                let sync = db.sync_handle();
                let start = Instant::now();
                for n in 0..iters {
                    let k = &probes[n as usize % KEYS];
                    black_box(tokio::task::block_in_place(|| sync.get(k)).expect("get"));
                }
                start.elapsed()
            })
        });
    });
    group.bench_function("len_sync", |b| b.iter(|| black_box(sync.len().expect("len"))));
    group.bench_function("len_async_inline", |b| {
        b.iter_custom(|iters| {
            current.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(db.len().await.expect("len"));
                }
                start.elapsed()
            })
        });
    });
    group.finish();

    point.group(c, Call::Insert).finish();
}

fn streams(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let [(_, current), (_, multi)] = runtimes();
    let db = database(&current, &dir, "stream.emdb", STREAM_RECORDS);
    let sync = db.sync_handle();

    let mut group = c.benchmark_group("stream");
    configure(&mut group);
    group.throughput(Throughput::Elements(STREAM_RECORDS as u64));
    group.bench_function("iter_sync", |b| {
        b.iter(|| {
            black_box(
                sync.iter()
                    .expect("iter")
                    .map(|(k, v)| k.len() + v.len())
                    .sum::<usize>(),
            )
        });
    });
    group.bench_function("range_iter_sync", |b| {
        b.iter(|| {
            black_box(
                sync.range_iter(..)
                    .expect("range")
                    .map(|(k, v)| k.len() + v.len())
                    .sum::<usize>(),
            )
        });
    });
    for (name, rt) in [("current_thread", &current), ("multi_thread", &multi)] {
        group.bench_function(format!("iter_stream_{name}"), |b| {
            b.iter(|| {
                let db = db.clone();
                let task = async move {
                    let stream = db.iter_stream().await.expect("stream");
                    stream.fold(0usize, |n, (k, v)| n + k.len() + v.len()).await
                };
                black_box(rt.block_on(async { tokio::spawn(task).await.expect("bench task") }))
            });
        });
        group.bench_function(format!("range_stream_{name}"), |b| {
            b.iter(|| {
                let db = db.clone();
                let task = async move {
                    let stream = db.range_stream(..).await.expect("stream");
                    stream.fold(0usize, |n, (k, v)| n + k.len() + v.len()).await
                };
                black_box(rt.block_on(async { tokio::spawn(task).await.expect("bench task") }))
            });
        });
    }
    group.finish();
}

/// Runs every group (criterion's `criterion_group!` would write this function without
/// documentation, which the workspace's `missing_docs` lint refuses).
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    point_calls(&mut c);
    streams(&mut c);
}

criterion_main!(benches);
