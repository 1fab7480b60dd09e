//! Criterion benchmarks of the range index against the ordered maps it replaces, side by side
//! in the same run: `std::collections::BTreeMap<Vec<u8>, Location>` and a plain
//! `crossbeam_skiplist::SkipMap<Vec<u8>, Location>` (what emdb 1.0.3 used).
//!
//! * `build`: 1,000,000 random 24-byte keys inserted into an empty map (time per map; divide
//!   by 1,000,000 for the time per key; the finished map is dropped outside the timing).
//! * `range10`: 10 entries from a random start key, among 1,000,000 keys: `iter_from(start)
//!   .take(10)` and the equivalent on each peer; then a range with an upper bound, chosen
//!   (outside the timing) as the 11th key at or after the start, so that it yields 10 entries.
//! * `get_hit`: point lookups of present keys.
//! * Memory, printed once to stderr (criterion cannot report bytes): bytes per key after
//!   building the 1,000,000-key maps, as requested from a counting global allocator (live
//!   bytes before and after) and as resident-set growth (`/proc/self/statm`, which adds the
//!   allocator's rounding and headers); and the bytes left after a scan-then-remove churn of
//!   100,000 keys, which shows crossbeam-skiplist 0.1.3's `range` leak.
//!
//! Keys and probe keys come from a fixed-seed generator and are built before anything is
//! timed; every result goes through `black_box`. The counting allocator adds one relaxed
//! atomic add per allocation to every structure alike.
//!
//! Run with `cargo bench -p emdb-index --bench range` (a filter narrows it, e.g.
//! `-- range10`). The whole file takes just under two minutes on a two-core machine, most of
//! it in `build` (ten 1,000,000-key builds per map, criterion's minimum).

mod common;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::ops::Bound;
use std::time::Duration;

use common::{KEY_LEN, Key, iter_cycling, live_bytes, random_keys};
use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_main};
use crossbeam_skiplist::SkipMap;
use emdb_index::{Location, RangeIndex};

/// Keys in every map.
const KEYS: usize = 1_000_000;
/// Probe keys cycled through by the query benchmarks.
const PROBES: usize = 4096;
/// Keys in the churn measurement.
const CHURN_KEYS: usize = 100_000;
/// Seeds of the keys and of the probes.
const KEY_SEED: u64 = 0x5EED_0003_0000_0024;
const PROBE_SEED: u64 = 0x5EED_0004_0000_0010;

fn location(i: usize) -> Location {
    Location::new(i as u64 * 128, 100)
}

fn build_range_index(keys: &[Key]) -> RangeIndex {
    let index = RangeIndex::new();
    for (i, key) in keys.iter().enumerate() {
        index.insert(key, location(i));
    }
    index
}

/// The bulk path: the same keys through `insert_batch` (sorted, then inserted in order).
/// The batch is built inside the timing, copy included.
fn build_range_index_batch(keys: &[Key]) -> RangeIndex {
    let index = RangeIndex::new();
    let items: Vec<(&[u8], Location)> = keys.iter().enumerate().map(|(i, k)| (&k[..], location(i))).collect();
    index.insert_batch(&items);
    index
}

fn build_skipmap(keys: &[Key]) -> SkipMap<Vec<u8>, Location> {
    let map = SkipMap::new();
    for (i, key) in keys.iter().enumerate() {
        map.insert(key.to_vec(), location(i));
    }
    map
}

fn build_btreemap(keys: &[Key]) -> BTreeMap<Vec<u8>, Location> {
    let mut map = BTreeMap::new();
    for (i, key) in keys.iter().enumerate() {
        map.insert(key.to_vec(), location(i));
    }
    map
}

/// Resident set size of the process, from `/proc/self/statm` (Linux; 4 KiB pages assumed).
fn resident_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Per-key memory of a built map: live heap bytes it requested, and resident-set growth
/// (which includes the allocator's rounding and headers).
struct PerKey {
    requested: f64,
    resident: Option<f64>,
}

impl std::fmt::Display for PerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.resident {
            Some(resident) => write!(f, "{:.1} requested / {:.1} resident", self.requested, resident),
            None => write!(f, "{:.1} requested", self.requested),
        }
    }
}

/// Builds a map and returns it with the memory it added, per key.
fn measured<T>(keys: &[Key], build: impl FnOnce(&[Key]) -> T) -> (T, PerKey) {
    let (before, rss_before) = (live_bytes(), resident_bytes());
    let map = build(keys);
    let (after, rss_after) = (live_bytes(), resident_bytes());
    let n = keys.len() as f64;
    let resident = rss_before.zip(rss_after).map(|(b, a)| a.saturating_sub(b) as f64 / n);
    (
        map,
        PerKey {
            requested: after.saturating_sub(before) as f64 / n,
            resident,
        },
    )
}

/// Builds a map of `keys`, scans all of it, removes every key, then pins the epoch many times
/// (through lookups) so that the collector frees what it can. Returns the live bytes left per
/// removed key, with the (empty) map still alive.
fn churn_leftover<M>(
    keys: &[Key],
    build: impl FnOnce(&[Key]) -> M,
    scan: impl Fn(&M),
    remove: impl Fn(&M, &Key),
    poke: impl Fn(&M),
) -> f64 {
    let before = live_bytes();
    let map = build(keys);
    scan(&map);
    for key in keys {
        remove(&map, key);
    }
    for _ in 0..100_000 {
        poke(&map);
    }
    let left = live_bytes().saturating_sub(before);
    drop(map);
    left as f64 / keys.len() as f64
}

fn report_churn(keys: &[Key]) {
    let probe = [0u8; KEY_LEN];
    let index = churn_leftover(
        keys,
        build_range_index,
        |m| {
            black_box(m.range(Bound::Unbounded, Bound::Unbounded).count());
        },
        |m, k| {
            m.remove(k);
        },
        |m| {
            black_box(m.get(&probe));
        },
    );
    let skip_iter = churn_leftover(
        keys,
        build_skipmap,
        |m| {
            black_box(m.iter().count());
        },
        |m, k| {
            m.remove(&k[..]);
        },
        |m| {
            black_box(m.get(&probe[..]).is_some());
        },
    );
    let skip_range = churn_leftover(
        keys,
        build_skipmap,
        |m| {
            let all: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Unbounded, Bound::Unbounded);
            black_box(m.range::<[u8], _>(all).count());
        },
        |m, k| {
            m.remove(&k[..]);
        },
        |m| {
            black_box(m.get(&probe[..]).is_some());
        },
    );
    eprintln!(
        "churn ({CHURN_KEYS} keys built, scanned, removed; bytes still live per removed key): \
         RangeIndex (range) {index:.1}, SkipMap iter {skip_iter:.1}, SkipMap range {skip_range:.1}"
    );
}

fn benches(c: &mut Criterion) {
    let keys = random_keys(&mut fastrand::Rng::with_seed(KEY_SEED), KEYS);
    let mut rng = fastrand::Rng::with_seed(PROBE_SEED);
    let present: Vec<Key> = (0..PROBES).map(|_| keys[rng.usize(..KEYS)]).collect();
    let starts = random_keys(&mut rng, PROBES);

    // Memory: build the maps the queries use, counting what each adds.
    let (index, index_bytes) = measured(&keys, build_range_index);
    let (skip, skip_bytes) = measured(&keys, build_skipmap);
    let (btree, btree_bytes) = measured(&keys, build_btreemap);
    eprintln!(
        "bytes per key, {KEYS} keys of {KEY_LEN} bytes: RangeIndex {index_bytes} (approx_memory says {:.1}); \
         SkipMap<Vec<u8>, Location> {skip_bytes}; BTreeMap<Vec<u8>, Location> {btree_bytes}",
        index.approx_memory() as f64 / KEYS as f64
    );
    report_churn(&keys[..CHURN_KEYS]);

    // The exclusive upper bound that makes each start's range hold 10 keys (or run to the end).
    let uppers: Vec<Option<Vec<u8>>> = starts
        .iter()
        .map(|s| {
            btree
                .range::<[u8], _>((Bound::Included(&s[..]), Bound::Unbounded))
                .nth(10)
                .map(|(k, _)| k.clone())
        })
        .collect();
    let bounded: Vec<(&Key, Bound<&[u8]>)> = starts
        .iter()
        .zip(&uppers)
        .map(|(s, u)| (s, u.as_deref().map_or(Bound::Unbounded, Bound::Excluded)))
        .collect();

    // Ten samples (criterion's minimum) of one build each, about 1.5 s apiece on this machine.
    let mut group = c.benchmark_group("build");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(16));
    group.throughput(Throughput::Elements(KEYS as u64));
    group.bench_function("RangeIndex", |b| {
        b.iter_batched(|| (), |()| build_range_index(black_box(&keys)), BatchSize::PerIteration)
    });
    group.bench_function("RangeIndex insert_batch", |b| {
        b.iter_batched(
            || (),
            |()| build_range_index_batch(black_box(&keys)),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("SkipMap<Vec<u8>>", |b| {
        b.iter_batched(|| (), |()| build_skipmap(black_box(&keys)), BatchSize::PerIteration)
    });
    group.bench_function("BTreeMap<Vec<u8>>", |b| {
        b.iter_batched(|| (), |()| build_btreemap(black_box(&keys)), BatchSize::PerIteration)
    });
    group.finish();

    let mut group = c.benchmark_group("range10");
    group.measurement_time(Duration::from_millis(1500));
    group.throughput(Throughput::Elements(1));
    group.bench_function("RangeIndex iter_from.take(10)", |b| {
        iter_cycling(b, &starts, |start| {
            index
                .iter_from(black_box(start))
                .take(10)
                .fold(0, |acc, e| acc ^ e.location().offset ^ e.key()[0] as u64)
        })
    });
    group.bench_function("SkipMap range(start..).take(10)", |b| {
        iter_cycling(b, &starts, |start| {
            let range: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Included(black_box(&start[..])), Bound::Unbounded);
            skip.range::<[u8], _>(range)
                .take(10)
                .fold(0, |acc, e| acc ^ e.value().offset ^ e.key()[0] as u64)
        })
    });
    group.bench_function("BTreeMap range(start..).take(10)", |b| {
        iter_cycling(b, &starts, |start| {
            let range: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Included(black_box(&start[..])), Bound::Unbounded);
            btree
                .range::<[u8], _>(range)
                .take(10)
                .fold(0, |acc, (k, l)| acc ^ l.offset ^ k[0] as u64)
        })
    });
    group.bench_function("RangeIndex range(start, upper)", |b| {
        iter_cycling(b, &bounded, |&(start, upper)| {
            index
                .range(Bound::Included(black_box(start)), upper)
                .fold(0, |acc, e| acc ^ e.location().offset ^ e.key()[0] as u64)
        })
    });
    group.bench_function("SkipMap range(start..upper)", |b| {
        iter_cycling(b, &bounded, |&(start, upper)| {
            let range: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Included(black_box(&start[..])), upper);
            skip.range::<[u8], _>(range)
                .fold(0, |acc, e| acc ^ e.value().offset ^ e.key()[0] as u64)
        })
    });
    group.bench_function("BTreeMap range(start..upper)", |b| {
        iter_cycling(b, &bounded, |&(start, upper)| {
            let range: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Included(black_box(&start[..])), upper);
            btree
                .range::<[u8], _>(range)
                .fold(0, |acc, (k, l)| acc ^ l.offset ^ k[0] as u64)
        })
    });
    group.finish();

    let mut group = c.benchmark_group("get_hit");
    group.measurement_time(Duration::from_millis(1500));
    group.throughput(Throughput::Elements(1));
    group.bench_function("RangeIndex", |b| {
        iter_cycling(b, &present, |key| index.get(black_box(key)))
    });
    group.bench_function("SkipMap<Vec<u8>>", |b| {
        iter_cycling(b, &present, |key| skip.get(black_box(&key[..])).map(|e| *e.value()))
    });
    group.bench_function("BTreeMap<Vec<u8>>", |b| {
        iter_cycling(b, &present, |key| btree.get(black_box(&key[..])).copied())
    });
    group.finish();
}

/// The benchmark group, in a private module: `criterion_group!` makes a `pub fn`, which would
/// otherwise trip the workspace's `missing_docs` lint.
mod group {
    use std::time::Duration;

    use criterion::Criterion;

    criterion::criterion_group! {
        name = range;
        config = Criterion::default().warm_up_time(Duration::from_millis(500));
        targets = super::benches
    }
}
criterion_main!(group::range);
