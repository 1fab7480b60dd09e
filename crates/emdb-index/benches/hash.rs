//! Criterion benchmark of the fingerprint hash index against `std::collections::HashMap`
//! and hashbrown with foldhash, on 1,000,000 random 24-byte keys (the redb-style
//! workload's keys), in the same run.
//!
//! The index keeps no keys: its `is_key` check reads the key back from a `Vec` of keys
//! standing in for a store's memory-mapped log, as a real store would. The maps own their
//! keys (`Vec<u8>`) and map them to a `u64` location.
//!
//! Groups: `build` (1M inserts into an empty structure), `get_hit` and `get_miss` (random
//! order, one thread), `get_hit_2_threads` (two threads sharing one structure). Bytes per
//! entry are measured once with a counting allocator and printed before the groups run.
//!
//! Run with `cargo bench -p emdb-index --bench hash`.

mod common;

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use common::{Key, iter_cycling, live_bytes, random_keys};
use criterion::{BatchSize, Criterion, Throughput, criterion_main};
use emdb_index::{HashIndex, Location};

const N: usize = 1_000_000;
const SEED: u64 = 0x5EED_1DE5;

type FoldMap = hashbrown::HashMap<Vec<u8>, u64, foldhash::fast::RandomState>;

struct Data {
    keys: Vec<Key>,
    missing: Vec<Key>,
    /// A random permutation of `0..N`, the lookup order.
    order: Vec<usize>,
}

fn data() -> Data {
    let mut rng = fastrand::Rng::with_seed(SEED);
    let keys = random_keys(&mut rng, N);
    let missing = random_keys(&mut rng, N);
    let mut order: Vec<usize> = (0..N).collect();
    rng.shuffle(&mut order);
    Data { keys, missing, order }
}

fn build_index(keys: &[Key]) -> HashIndex {
    let index = HashIndex::with_seed(SEED, 16);
    for (i, k) in keys.iter().enumerate() {
        let loc = Location::new(i as u64, 150);
        let _ = index.insert(k, loc, |l| keys[l.offset as usize] == *k);
    }
    index
}

fn build_std(keys: &[Key]) -> HashMap<Vec<u8>, u64> {
    let mut map = HashMap::new();
    for (i, k) in keys.iter().enumerate() {
        map.insert(k.to_vec(), i as u64);
    }
    map
}

fn build_fold(keys: &[Key]) -> FoldMap {
    let mut map = FoldMap::default();
    for (i, k) in keys.iter().enumerate() {
        map.insert(k.to_vec(), i as u64);
    }
    map
}

/// Heap bytes per entry of what `build` returns, by the counting allocator.
fn measure<T>(keys: &[Key], build: impl FnOnce(&[Key]) -> T) -> (f64, T) {
    let before = live_bytes();
    let built = build(keys);
    let after = live_bytes();
    ((after - before) as f64 / keys.len() as f64, built)
}

fn report_memory(d: &Data) {
    let (index_bytes, index) = measure(&d.keys, build_index);
    let (std_bytes, _std) = measure(&d.keys, build_std);
    let (fold_bytes, _fold) = measure(&d.keys, build_fold);
    eprintln!(
        "bytes per entry, 1M keys of 24 B (heap, counting allocator): emdb-index {index_bytes:.1} \
         (capacity arithmetic {:.1}, load {:.2}); std HashMap<Vec<u8>, u64> {std_bytes:.1}; \
         hashbrown+foldhash {fold_bytes:.1}",
        index.memory_bytes() as f64 / index.len() as f64,
        index.len() as f64 / index.capacity() as f64
    );
}

fn build(c: &mut Criterion) {
    let d = data();
    report_memory(&d);
    let mut group = c.benchmark_group("build");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(N as u64));
    group.bench_function("emdb_index", |b| {
        b.iter_batched(|| (), |()| black_box(build_index(&d.keys)), BatchSize::PerIteration)
    });
    group.bench_function("std_hashmap", |b| {
        b.iter_batched(|| (), |()| black_box(build_std(&d.keys)), BatchSize::PerIteration)
    });
    group.bench_function("hashbrown_foldhash", |b| {
        b.iter_batched(|| (), |()| black_box(build_fold(&d.keys)), BatchSize::PerIteration)
    });
    group.finish();
}

fn lookups(c: &mut Criterion) {
    let d = data();
    let index = build_index(&d.keys);
    let std_map = build_std(&d.keys);
    let fold = build_fold(&d.keys);
    let keys = &d.keys;

    for (name, probe) in [("get_hit", &d.keys), ("get_miss", &d.missing)] {
        let mut group = c.benchmark_group(name);
        group
            .measurement_time(Duration::from_secs(4))
            .throughput(Throughput::Elements(1));
        group.bench_function("emdb_index", |b| {
            iter_cycling(b, &d.order, |&j| {
                let k = &probe[j];
                black_box(index.get(k, |l| keys[l.offset as usize] == *k))
            })
        });
        group.bench_function("std_hashmap", |b| {
            iter_cycling(b, &d.order, |&j| black_box(std_map.get(probe[j].as_slice())))
        });
        group.bench_function("hashbrown_foldhash", |b| {
            iter_cycling(b, &d.order, |&j| black_box(fold.get(probe[j].as_slice())))
        });
        group.finish();
    }

    let mut group = c.benchmark_group("get_hit_2_threads");
    group
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(2));
    let order = &d.order;
    let two_threads = move |iters: u64, lookup: &(dyn Fn(&Key) -> bool + Sync)| -> Duration {
        let start = Instant::now();
        std::thread::scope(|s| {
            for t in 0..2usize {
                s.spawn(move || {
                    for i in 0..iters as usize {
                        black_box(lookup(&keys[order[(i * 2 + t) % N]]));
                    }
                });
            }
        });
        start.elapsed()
    };
    group.bench_function("emdb_index", |b| {
        b.iter_custom(|iters| two_threads(iters, &|k| index.get(k, |l| keys[l.offset as usize] == *k).is_some()))
    });
    group.bench_function("std_hashmap", |b| {
        b.iter_custom(|iters| two_threads(iters, &|k| std_map.contains_key(k.as_slice())))
    });
    group.bench_function("hashbrown_foldhash", |b| {
        b.iter_custom(|iters| two_threads(iters, &|k| fold.contains_key(k.as_slice())))
    });
    group.finish();
}

/// Every group of this bench, in order.
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    build(&mut c);
    lookups(&mut c);
    c.final_summary();
}

criterion_main!(benches);
