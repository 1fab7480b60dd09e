//! The hash index against a `HashMap` model: random operation sequences, with the seeded
//! hasher and with a degenerate hasher that sends every key to one fingerprint, so that
//! every lookup depends on the caller's key check.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use emdb_index::{Error, HashIndex, Location};
use proptest::prelude::*;

/// A hasher whose every hash is the same: all keys collide.
#[derive(Clone, Default)]
struct Degenerate;

impl BuildHasher for Degenerate {
    type Hasher = Constant;
    fn build_hasher(&self) -> Constant {
        Constant
    }
}

struct Constant;

impl Hasher for Constant {
    fn finish(&self) -> u64 {
        0x0123_4567_89AB_CDEF
    }
    fn write(&mut self, _: &[u8]) {}
}

/// A hasher with only 256 distinct hashes: many partial collisions.
#[derive(Clone, Default)]
struct Narrow;

impl BuildHasher for Narrow {
    type Hasher = NarrowHasher;
    fn build_hasher(&self) -> NarrowHasher {
        NarrowHasher(0)
    }
}

struct NarrowHasher(u64);

impl Hasher for NarrowHasher {
    fn finish(&self) -> u64 {
        (self.0 % 256).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.wrapping_mul(31).wrapping_add(u64::from(b));
        }
    }
}

#[derive(Clone, Debug)]
enum Op {
    Insert(Vec<u8>, u32, u64),
    Remove(Vec<u8>),
    Get(Vec<u8>),
    Update(Vec<u8>, bool),
    Batch(Vec<(Vec<u8>, u32)>),
    Retain(u8),
    Clear,
    Reserve(u16),
    /// Every entry moved to a new place in the log (as a compaction does), its length
    /// changed by this much.
    Relocate(u8),
}

fn key() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(0u8), Just(0xFF)], 0..6)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (key(), any::<u32>(), prop_oneof![Just(0u64), 1u64..1000]).prop_map(|(k, l, e)| Op::Insert(k, l, e)),
        3 => key().prop_map(Op::Remove),
        3 => key().prop_map(Op::Get),
        2 => (key(), any::<bool>()).prop_map(|(k, b)| Op::Update(k, b)),
        2 => proptest::collection::vec((key(), any::<u32>()), 0..8).prop_map(Op::Batch),
        1 => any::<u8>().prop_map(Op::Retain),
        1 => Just(Op::Clear),
        1 => any::<u16>().prop_map(Op::Reserve),
        1 => any::<u8>().prop_map(Op::Relocate),
    ]
}

/// The "log": every key ever written, by offset; locations point into it.
#[derive(Default)]
struct Log(Vec<Vec<u8>>);

impl Log {
    fn append(&mut self, key: &[u8]) -> u64 {
        self.0.push(key.to_vec());
        self.0.len() as u64 - 1
    }
}

fn run<S: BuildHasher>(index: HashIndex<S>, ops: &[Op]) {
    let mut log = Log::default();
    let mut model: HashMap<Vec<u8>, Location> = HashMap::new();
    for op in ops {
        match op {
            Op::Insert(k, len, exp) => {
                let loc = Location::new(log.append(k), len % (Location::MAX_LEN + 1)).expiring_at(*exp);
                let prev = index.insert(k, loc, |l| log.0[l.offset as usize] == *k).expect("fits");
                assert_eq!(prev, model.insert(k.clone(), loc));
            }
            Op::Remove(k) => {
                assert_eq!(index.remove(k, |l| log.0[l.offset as usize] == *k), model.remove(k));
            }
            Op::Get(k) => {
                assert_eq!(index.get(k, |l| log.0[l.offset as usize] == *k), model.get(k).copied());
                // A probed lookup answers the same, across growth and removals.
                let probe = index.probe(k);
                assert_eq!(
                    index.get_probed(probe, |l| log.0[l.offset as usize] == *k),
                    model.get(k).copied()
                );
            }
            Op::Update(k, delete) => {
                let offset = log.append(k);
                let before = index
                    .update(
                        k,
                        |l| log.0[l.offset as usize] == *k,
                        |cur| {
                            if *delete {
                                None
                            } else {
                                Some(cur.map_or(Location::new(offset, 1), |c| Location { len: c.len / 2, ..c }))
                            }
                        },
                    )
                    .expect("fits");
                assert_eq!(before, model.get(k).copied());
                if *delete {
                    model.remove(k);
                } else {
                    let next = before.map_or(Location::new(offset, 1), |c| Location { len: c.len / 2, ..c });
                    model.insert(k.clone(), next);
                }
            }
            Op::Batch(items) => {
                let items: Vec<(Vec<u8>, Location)> = items
                    .iter()
                    .map(|(k, len)| (k.clone(), Location::new(log.append(k), len % 1000)))
                    .collect();
                let prev = index
                    .insert_batch(&items, |i, l| log.0[l.offset as usize] == items[i].0)
                    .expect("fits");
                for (i, (k, loc)) in items.iter().enumerate() {
                    assert_eq!(prev[i], model.insert(k.clone(), *loc), "batch item {i}");
                }
            }
            Op::Retain(m) => {
                let m = u64::from(*m % 4 + 1);
                let removed = index.retain(|l| l.offset % m != 0);
                let before = model.len();
                model.retain(|_, l| l.offset % m != 0);
                assert_eq!(removed, before - model.len());
            }
            Op::Clear => {
                index.clear();
                model.clear();
            }
            Op::Reserve(n) => index.reserve(usize::from(*n)),
            Op::Relocate(grow) => {
                let moved: Vec<Location> = index
                    .locations()
                    .iter()
                    .map(|l| {
                        let key = log.0[l.offset as usize].clone();
                        let len = (l.len + u32::from(*grow)) % (Location::MAX_LEN + 1);
                        Location::new(log.append(&key), len).expiring_at(l.expires_at)
                    })
                    .collect();
                let before = index.locations();
                let short = &moved[..moved.len().saturating_sub(1)];
                if !moved.is_empty() {
                    assert!(
                        matches!(index.relocate(short), Err(Error::RelocationCount { .. })),
                        "one location short is refused"
                    );
                }
                let mut long = moved.clone();
                long.push(Location::new(0, 1));
                assert!(
                    matches!(index.relocate(&long), Err(Error::RelocationCount { .. })),
                    "one location too many is refused"
                );
                if let Some(first) = moved.first() {
                    let mut far = moved.clone();
                    let last = far.len() - 1;
                    far[last] = Location::new(1 << 48, first.len);
                    assert!(
                        matches!(index.relocate(&far), Err(Error::LocationOutOfRange { .. })),
                        "a location that does not fit is refused"
                    );
                }
                assert_eq!(index.locations(), before, "a refused relocate changes nothing");
                index.relocate(&moved).expect("fits");
                for l in &moved {
                    model.insert(log.0[l.offset as usize].clone(), *l);
                }
            }
        }
        assert_eq!(index.len(), model.len());
        assert_eq!(index.total_len(), model.values().map(|l| u64::from(l.len)).sum::<u64>());
        assert_eq!(index.is_empty(), model.is_empty());
    }
    let mut got = index.locations();
    let mut want: Vec<Location> = model.values().copied().collect();
    got.sort_by_key(|l| l.offset);
    want.sort_by_key(|l| l.offset);
    assert_eq!(got, want);
    for (k, loc) in &model {
        assert_eq!(index.get(k, |l| log.0[l.offset as usize] == *k), Some(*loc));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn seeded_index_matches_the_model(ops in proptest::collection::vec(op(), 1..120), shards in 1usize..40) {
        run(HashIndex::with_seed(7, shards), &ops);
    }

    #[test]
    fn degenerate_hasher_matches_the_model(ops in proptest::collection::vec(op(), 1..120)) {
        run(HashIndex::with_hasher(Degenerate, 4), &ops);
    }

    #[test]
    fn narrow_hasher_matches_the_model(ops in proptest::collection::vec(op(), 1..120)) {
        run(HashIndex::with_hasher(Narrow, 2), &ops);
    }
}

#[test]
fn large_tables_grow_and_shrink_correctly() {
    let index = HashIndex::with_seed(1, 16);
    let keys: Vec<Vec<u8>> = (0..200_000u32).map(|i| i.to_le_bytes().repeat(6)).collect();
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(
            index
                .insert(k, Location::new(i as u64, 24), |l| keys[l.offset as usize] == *k)
                .expect("fits"),
            None
        );
    }
    assert_eq!(index.len(), keys.len());
    let load = index.len() as f64 / index.capacity() as f64;
    assert!((0.5..=0.85).contains(&load), "load factor {load}");
    let per_entry = index.memory_bytes() as f64 / index.len() as f64;
    assert!(per_entry <= 32.0, "{per_entry} bytes per entry");
    for (i, k) in keys.iter().enumerate().step_by(3) {
        assert_eq!(
            index.remove(k, |l| keys[l.offset as usize] == *k),
            Some(Location::new(i as u64, 24))
        );
    }
    for (i, k) in keys.iter().enumerate() {
        let want = (i % 3 != 0).then(|| Location::new(i as u64, 24));
        assert_eq!(index.get(k, |l| keys[l.offset as usize] == *k), want);
        assert_eq!(
            index.get_probed(index.probe(k), |l| keys[l.offset as usize] == *k),
            want
        );
    }
}

#[test]
fn out_of_range_locations_are_refused_and_change_nothing() {
    let index = HashIndex::new();
    let too_far = Location::new(Location::MAX_OFFSET + 1, 1);
    assert!(matches!(
        index.insert(b"k", too_far, |_| true),
        Err(emdb_index::Error::LocationOutOfRange { .. })
    ));
    let too_long = Location::new(0, Location::MAX_LEN + 1);
    assert!(
        index
            .insert_batch(&[(b"a".as_slice(), Location::new(1, 1)), (b"b", too_long)], |_, _| true)
            .is_err()
    );
    assert!(index.is_empty(), "a refused batch inserts nothing");
    index.insert(b"k", Location::new(5, 5), |_| true).expect("fits");
    assert!(index.update(b"k", |_| true, |_| Some(too_far)).is_err());
    assert_eq!(index.get(b"k", |_| true), Some(Location::new(5, 5)));
}

/// `clone_from` leaves the copy answering exactly as the source does, whether the source
/// grew, shrank or stayed the size of the copy, and whatever the copy's shard count.
#[test]
fn clone_from_makes_an_equal_copy_at_any_size() {
    let keys: Vec<[u8; 8]> = (0..5_000u64).map(u64::to_le_bytes).collect();
    let source = HashIndex::with_seed(3, 8);
    let fill = |range: std::ops::Range<usize>| {
        for i in range {
            source
                .insert(&keys[i], Location::new(i as u64, 8), |l| l.offset == i as u64)
                .expect("fits");
        }
    };
    fill(0..1_000);
    let mut copy = source.clone();
    let mut other_shards = HashIndex::with_seed(3, 2);
    for step in 0..3 {
        match step {
            0 => fill(1_000..5_000),
            1 => {
                for i in (0..5_000).step_by(2) {
                    source.remove(&keys[i], |l| l.offset == i as u64);
                }
            }
            _ => fill(0..10),
        }
        copy.clone_from(&source);
        other_shards.clone_from(&source);
        for c in [&copy, &other_shards] {
            assert_eq!(c.len(), source.len(), "step {step}");
            assert_eq!(c.total_len(), source.total_len(), "step {step}");
            assert_eq!(c.locations(), source.locations(), "step {step}");
            for (i, k) in keys.iter().enumerate() {
                assert_eq!(
                    c.get(k, |l| l.offset == i as u64),
                    source.get(k, |l| l.offset == i as u64),
                    "step {step}, key {i}"
                );
            }
        }
    }
}
