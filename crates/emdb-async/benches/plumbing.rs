//! What the plumbing costs: a trip to the blocking pool, and a stream against the plain
//! iterator it wraps.
//!
//! * `run_blocking`: one trivial call handed to the blocking pool and awaited, on a
//!   current-thread runtime and on a two-worker multi-thread runtime; the loop of `iters`
//!   calls runs inside one spawned task, so entering the runtime is not counted.
//! * `stream`: 100,000 items of 16-byte keys and 100-byte values, read through the plain
//!   iterator on the consumer's thread, through [`emdb_async::stream_iter`], and through
//!   [`emdb_async::open_stream`] with byte-weighted chunks; the items are made by the
//!   iterator (as a storage cursor makes them), not before.
//!
//! Run with `cargo bench -p emdb-async --bench plumbing` (a filter narrows it, e.g.
//! `-- stream`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_main};
use emdb_benches::runtimes;
use tokio::runtime::Runtime;
use tokio_stream::StreamExt;

/// Items the stream benchmarks read.
const ITEMS: usize = 100_000;

/// The items of the stream benchmarks, made one by one as they are read.
fn items() -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> + Send + 'static {
    (0..ITEMS).map(|i| (format!("key:{i:012}").into_bytes(), vec![0x5A; 100]))
}

/// Times `iters` runs of the async loop `body` inside one task spawned on `rt`.
fn time_in_task<F>(rt: &Runtime, iters: u64, body: fn(u64) -> F) -> Duration
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    rt.block_on(async move {
        tokio::spawn(async move {
            let start = Instant::now();
            body(iters).await;
            start.elapsed()
        })
        .await
        .expect("the timed task panicked")
    })
}

fn run_blocking(c: &mut Criterion) {
    let mut group = c.benchmark_group("run_blocking");
    group.throughput(Throughput::Elements(1));
    for (name, rt) in runtimes() {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                time_in_task(&rt, iters, |iters| async move {
                    for i in 0..iters {
                        let got = emdb_async::run_blocking(move || black_box(i)).await;
                        black_box(got.expect("a trivial call"));
                    }
                })
            });
        });
    }
    group.finish();
}

fn stream(c: &mut Criterion) {
    let mut group = c.benchmark_group("stream");
    group.throughput(Throughput::Elements(ITEMS as u64));
    group.sample_size(10);
    group.bench_function("plain_iterator", |b| {
        b.iter(|| {
            let mut n = 0;
            for item in items() {
                black_box(&item);
                n += 1;
            }
            assert_eq!(n, ITEMS);
        });
    });
    let [(_, _), (_, multi)] = runtimes();
    group.bench_function("stream_iter", |b| {
        b.iter_custom(|iters| {
            time_in_task(&multi, iters, |iters| async move {
                for _ in 0..iters {
                    let mut stream = emdb_async::stream_iter(items()).expect("in a runtime");
                    let mut n = 0;
                    while let Some(item) = stream.next().await {
                        black_box(&item);
                        n += 1;
                    }
                    assert_eq!(n, ITEMS);
                }
            })
        });
    });
    group.bench_function("open_stream_weighted", |b| {
        b.iter_custom(|iters| {
            time_in_task(&multi, iters, |iters| async move {
                for _ in 0..iters {
                    let made = emdb_async::open_stream(|| Ok::<_, ()>(items()), emdb_async::pair_weight).await;
                    let mut stream = made.expect("in a runtime").expect("infallible");
                    let mut n = 0;
                    while let Some(item) = stream.next().await {
                        black_box(&item);
                        n += 1;
                    }
                    assert_eq!(n, ITEMS);
                }
            })
        });
    });
    group.finish();
}

/// Runs every group (criterion's `criterion_group!` would write this function without
/// docs).
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    run_blocking(&mut c);
    stream(&mut c);
    c.final_summary();
}

criterion_main!(benches);
