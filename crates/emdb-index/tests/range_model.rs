//! The range index equals a `BTreeMap<Vec<u8>, Location>` model across random sequences of
//! every operation: writes, `retain`, `clear`, point reads, and range, prefix and cursor scans
//! walked forward, backward and from both ends at once.
//!
//! Keys come from a five-byte alphabet (0x00, 0x01, `k`, 0xFE, 0xFF) so that sequences
//! revisit keys, share prefixes and hit the extremes of byte order; about half of them start
//! with a run of 27 to 31 `k` bytes, so that keys of 29, 30, 31 and 32 bytes (inline and
//! boxed) sit next to each other in the same scans.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;

use emdb_index::{Location, RangeEntry, RangeIndex};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

type Model = BTreeMap<Vec<u8>, Location>;

const ALPHABET: [u8; 5] = [0x00, 0x01, b'k', 0xFE, 0xFF];

fn short_key() -> impl Strategy<Value = Vec<u8>> {
    vec(select(&ALPHABET[..]), 0..4)
}

/// 27 to 31 `k` bytes then up to 3 bytes of the alphabet: 27 to 34 bytes in all.
fn long_key() -> impl Strategy<Value = Vec<u8>> {
    (27usize..=31, vec(select(&ALPHABET[..]), 0..4)).prop_map(|(run, tail)| {
        let mut key = vec![b'k'; run];
        key.extend(tail);
        key
    })
}

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![short_key(), long_key()]
}

fn bound() -> impl Strategy<Value = Bound<Vec<u8>>> {
    prop_oneof![
        1 => Just(Bound::Unbounded),
        2 => key().prop_map(Bound::Included),
        2 => key().prop_map(Bound::Excluded),
    ]
}

fn prefix() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(select(&ALPHABET[..]), 0..3),
        Just(Vec::new()),
        vec(Just(0xFF), 1..4),
        (26usize..=32).prop_map(|n| vec![b'k'; n]),
        long_key(),
    ]
}

fn location() -> impl Strategy<Value = Location> {
    (0u64..1 << 20, 0u32..1 << 16, prop_oneof![Just(0u64), 1u64..1000])
        .prop_map(|(offset, len, expires_at)| Location::new(offset, len).expiring_at(expires_at))
}

/// How a scan is consumed.
#[derive(Clone, Debug)]
enum Walk {
    Forward,
    Backward,
    /// `true` steps the front (`next`), `false` the back (`next_back`); whatever is left is
    /// then drained from the front.
    Mixed(Vec<bool>),
    /// `take(n)` from the front, as a page of a cursor.
    Take(usize),
}

fn walk() -> impl Strategy<Value = Walk> {
    prop_oneof![
        Just(Walk::Forward),
        Just(Walk::Backward),
        vec(any::<bool>(), 0..12).prop_map(Walk::Mixed),
        (0usize..5).prop_map(Walk::Take),
    ]
}

#[derive(Clone, Debug)]
enum Op {
    Insert(Vec<u8>, Location),
    InsertBatch(Vec<(Vec<u8>, Location)>),
    Remove(Vec<u8>),
    Get(Vec<u8>),
    Clear,
    /// Keep the entries whose `offset % modulus != residue`.
    Retain {
        modulus: u64,
        residue: u64,
    },
    Range(Bound<Vec<u8>>, Bound<Vec<u8>>, Walk),
    Prefix(Vec<u8>, Walk),
    IterFrom(Vec<u8>, Walk),
    IterAfter(Vec<u8>, Walk),
    Iter(Walk),
    FirstLast,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (key(), location()).prop_map(|(k, l)| Op::Insert(k, l)),
        2 => proptest::collection::vec((key(), location()), 0..10).prop_map(Op::InsertBatch),
        3 => key().prop_map(Op::Remove),
        2 => key().prop_map(Op::Get),
        1 => Just(Op::Clear),
        1 => (2u64..4, 0u64..4).prop_map(|(modulus, residue)| Op::Retain { modulus, residue }),
        4 => (bound(), bound(), walk()).prop_map(|(l, u, w)| Op::Range(l, u, w)),
        3 => (prefix(), walk()).prop_map(|(p, w)| Op::Prefix(p, w)),
        2 => (key(), walk()).prop_map(|(k, w)| Op::IterFrom(k, w)),
        2 => (key(), walk()).prop_map(|(k, w)| Op::IterAfter(k, w)),
        1 => walk().prop_map(Op::Iter),
        1 => Just(Op::FirstLast),
    ]
}

fn as_slice(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    bound.as_ref().map(Vec::as_slice)
}

fn within(lower: Bound<&[u8]>, upper: Bound<&[u8]>, key: &[u8]) -> bool {
    let above = match lower {
        Bound::Included(l) => key >= l,
        Bound::Excluded(l) => key > l,
        Bound::Unbounded => true,
    };
    let below = match upper {
        Bound::Included(u) => key <= u,
        Bound::Excluded(u) => key < u,
        Bound::Unbounded => true,
    };
    above && below
}

fn pair(entry: &RangeEntry<'_>) -> (Vec<u8>, Location) {
    (entry.key().to_vec(), entry.location())
}

/// Consumes `it` as `walk` says and checks every item against `expected` (in key order), then
/// that the iterator is finished at both ends.
fn check_walk<'a>(
    mut it: impl DoubleEndedIterator<Item = RangeEntry<'a>>,
    expected: Vec<(Vec<u8>, Location)>,
    walk: &Walk,
) -> Result<(), TestCaseError> {
    match walk {
        Walk::Forward => {
            let got: Vec<_> = it.by_ref().map(|e| pair(&e)).collect();
            prop_assert_eq!(got, expected);
        }
        Walk::Backward => {
            let got: Vec<_> = it.by_ref().rev().map(|e| pair(&e)).collect();
            let mut expected = expected;
            expected.reverse();
            prop_assert_eq!(got, expected);
        }
        Walk::Mixed(steps) => {
            let mut expected: VecDeque<_> = expected.into();
            for &front in steps {
                let (got, want) = if front {
                    (it.next(), expected.pop_front())
                } else {
                    (it.next_back(), expected.pop_back())
                };
                prop_assert_eq!(
                    got.as_ref().map(pair),
                    want,
                    "step from the {}",
                    if front { "front" } else { "back" }
                );
            }
            let rest: Vec<_> = it.by_ref().map(|e| pair(&e)).collect();
            prop_assert_eq!(rest, Vec::from(expected));
        }
        Walk::Take(n) => {
            let got: Vec<_> = it.by_ref().take(*n).map(|e| pair(&e)).collect();
            let want: Vec<_> = expected.into_iter().take(*n).collect();
            prop_assert_eq!(got, want);
            return Ok(());
        }
    }
    prop_assert!(it.next().is_none(), "exhausted iterator yields again from the front");
    prop_assert!(
        it.next_back().is_none(),
        "exhausted iterator yields again from the back"
    );
    Ok(())
}

fn expected_range(model: &Model, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> Vec<(Vec<u8>, Location)> {
    model
        .iter()
        .filter(|(k, _)| within(lower, upper, k))
        .map(|(k, l)| (k.clone(), *l))
        .collect()
}

fn apply(index: &RangeIndex, model: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    match op {
        Op::Insert(key, loc) => prop_assert_eq!(index.insert(key, *loc), model.insert(key.clone(), *loc)),
        Op::InsertBatch(items) => {
            let mut new_keys = std::collections::BTreeSet::new();
            for (k, l) in items {
                if model.insert(k.clone(), *l).is_none() {
                    new_keys.insert(k.clone());
                }
            }
            prop_assert_eq!(index.insert_batch(items), new_keys.len());
        }
        Op::Remove(key) => prop_assert_eq!(index.remove(key), model.remove(key)),
        Op::Get(key) => {
            prop_assert_eq!(index.get(key), model.get(key).copied());
            prop_assert_eq!(index.contains_key(key), model.contains_key(key));
        }
        Op::Clear => {
            index.clear();
            model.clear();
        }
        Op::Retain { modulus, residue } => {
            let keep = |loc: &Location| loc.offset % modulus != *residue;
            let mut seen = Vec::new();
            index.retain(|k, loc| {
                seen.push(k.to_vec());
                keep(&loc)
            });
            // Every key judged once, in order.
            prop_assert_eq!(seen, model.keys().cloned().collect::<Vec<_>>());
            model.retain(|_, loc| keep(loc));
        }
        Op::Range(lower, upper, walk) => {
            let (lower, upper) = (as_slice(lower), as_slice(upper));
            check_walk(index.range(lower, upper), expected_range(model, lower, upper), walk)?;
        }
        Op::Prefix(prefix, walk) => {
            let expected = model
                .iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(k, l)| (k.clone(), *l))
                .collect();
            check_walk(index.prefix(prefix), expected, walk)?;
        }
        Op::IterFrom(start, walk) => {
            let expected = expected_range(model, Bound::Included(start), Bound::Unbounded);
            check_walk(index.iter_from(start), expected, walk)?;
        }
        Op::IterAfter(start, walk) => {
            let expected = expected_range(model, Bound::Excluded(start), Bound::Unbounded);
            check_walk(index.iter_after(start), expected, walk)?;
        }
        Op::Iter(walk) => check_walk(
            index.iter(),
            expected_range(model, Bound::Unbounded, Bound::Unbounded),
            walk,
        )?,
        Op::FirstLast => {
            let first = model.first_key_value().map(|(k, l)| (k.clone(), *l));
            let last = model.last_key_value().map(|(k, l)| (k.clone(), *l));
            prop_assert_eq!(index.first().as_ref().map(pair), first);
            prop_assert_eq!(index.last().as_ref().map(pair), last);
        }
    }
    prop_assert_eq!(index.len(), model.len());
    prop_assert_eq!(index.is_empty(), model.is_empty());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn range_index_matches_btreemap(ops in vec(op(), 1..150)) {
        let index = RangeIndex::new();
        let mut model = Model::new();
        for op in &ops {
            apply(&index, &mut model, op)?;
        }
        let all: Vec<_> = index.iter().map(|e| pair(&e)).collect();
        prop_assert_eq!(all, model.into_iter().collect::<Vec<_>>());
    }
}

/// Keys of every length from 0 to 40 made of one repeated byte, plus a 0xFF-run prefix scan:
/// the inline/heap boundary walked deterministically, forward and backward.
#[test]
fn boundary_lengths_scan_in_byte_order() {
    let index = RangeIndex::new();
    let mut model = Model::new();
    for fill in [0x00, b'k', 0xFF] {
        for n in 0..=40u32 {
            let key = vec![fill; n as usize];
            let loc = Location::new(u64::from(n), n);
            index.insert(&key, loc);
            model.insert(key, loc);
        }
    }
    let forward: Vec<_> = index.iter().map(|e| pair(&e)).collect();
    let expected: Vec<_> = model.clone().into_iter().collect();
    assert_eq!(forward, expected);
    let backward: Vec<_> = index.iter().rev().map(|e| pair(&e)).collect();
    assert_eq!(backward, expected.iter().rev().cloned().collect::<Vec<_>>());
    for n in [0usize, 1, 29, 30, 31, 32] {
        let prefix = vec![0xFF; n];
        let got = index.prefix(&prefix).count();
        let want = model.keys().filter(|k| k.starts_with(&prefix)).count();
        assert_eq!(got, want, "prefix of {n} 0xFF bytes");
        let prefix = vec![b'k'; n];
        let got: Vec<_> = index.prefix(&prefix).rev().map(|e| e.key().len()).collect();
        let want: Vec<_> = model
            .keys()
            .filter(|k| k.starts_with(&prefix))
            .rev()
            .map(Vec::len)
            .collect();
        assert_eq!(got, want, "prefix of {n} k bytes");
    }
}
