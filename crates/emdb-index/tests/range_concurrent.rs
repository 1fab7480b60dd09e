//! Writers inserting and removing disjoint key sets while readers scan ranges: scans stay
//! strictly ordered, within their bounds and free of phantoms (every key seen was written by
//! someone, with a location that belongs to it), `insert`/`remove` report exact previous
//! locations for keys written by one thread, and afterwards the index equals the union of
//! the writers' models, with `len` equal to its size.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;

use emdb_index::{Location, RangeEntry, RangeIndex};
use fastrand::Rng;

const WRITERS: u8 = 3;
const READERS: usize = 2;
const KEYS_PER_WRITER: u32 = 1_500;
const OPS_PER_WRITER: u32 = 30_000;

/// Writer `w`'s key number `i`: a bucket byte (so keys of every writer interleave and share
/// prefixes), `i`, `w`, then 0 to 39 filler bytes, so lengths cross the 30-byte inline limit.
fn make_key(w: u8, i: u32) -> Vec<u8> {
    let mut key = vec![b'a' + (i % 7) as u8];
    key.extend_from_slice(&i.to_be_bytes());
    key.push(w);
    key.extend(std::iter::repeat_n(b'.', (i % 40) as usize));
    key
}

/// The writer and key number a key claims to be, if it is one `make_key` builds.
fn parse_key(key: &[u8]) -> Option<(u8, u32)> {
    let i = u32::from_be_bytes(key.get(1..5)?.try_into().ok()?);
    let w = *key.get(5)?;
    (w < WRITERS && i < KEYS_PER_WRITER && make_key(w, i) == key).then_some((w, i))
}

/// The location writer `w` gives key `i` at its `version`-th write.
fn make_location(w: u8, i: u32, version: u32) -> Location {
    Location::new((u64::from(w) << 40) | (u64::from(i) << 16), version)
}

/// Checks that an entry is one some writer wrote: a real key, with a location made for it.
fn check_no_phantom(entry: &RangeEntry<'_>) {
    let (w, i) = parse_key(entry.key()).unwrap_or_else(|| panic!("phantom key {:?}", entry.key()));
    let loc = entry.location();
    assert_eq!(
        loc.offset,
        make_location(w, i, 0).offset,
        "location of another key under {:?}",
        entry.key()
    );
}

fn random_bound(rng: &mut Rng) -> Bound<Vec<u8>> {
    let key = make_key(rng.u8(..WRITERS), rng.u32(..KEYS_PER_WRITER));
    match rng.u64(..5) {
        0 => Bound::Unbounded,
        1 | 2 => Bound::Included(key),
        _ => Bound::Excluded(key),
    }
}

fn within(lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>, key: &[u8]) -> bool {
    let above = match lower {
        Bound::Included(l) => key >= l.as_slice(),
        Bound::Excluded(l) => key > l.as_slice(),
        Bound::Unbounded => true,
    };
    let below = match upper {
        Bound::Included(u) => key <= u.as_slice(),
        Bound::Excluded(u) => key < u.as_slice(),
        Bound::Unbounded => true,
    };
    above && below
}

/// One scan of random bounds and direction; returns the number of entries seen.
fn scan(index: &RangeIndex, rng: &mut Rng) -> usize {
    let lower = random_bound(rng);
    let upper = random_bound(rng);
    let it = index.range(lower.as_ref().map(Vec::as_slice), upper.as_ref().map(Vec::as_slice));
    let mut seen = 0;
    match rng.u64(..4) {
        0 => {
            let mut previous: Option<Vec<u8>> = None;
            for entry in it {
                check_no_phantom(&entry);
                assert!(within(&lower, &upper, entry.key()), "key outside {lower:?}..{upper:?}");
                if let Some(p) = &previous {
                    assert!(
                        p.as_slice() < entry.key(),
                        "not ascending: {p:?} then {:?}",
                        entry.key()
                    );
                }
                previous = Some(entry.key().to_vec());
                seen += 1;
            }
        }
        1 => {
            let mut previous: Option<Vec<u8>> = None;
            for entry in it.rev() {
                check_no_phantom(&entry);
                assert!(within(&lower, &upper, entry.key()), "key outside {lower:?}..{upper:?}");
                if let Some(p) = &previous {
                    assert!(
                        p.as_slice() > entry.key(),
                        "not descending: {p:?} then {:?}",
                        entry.key()
                    );
                }
                previous = Some(entry.key().to_vec());
                seen += 1;
            }
        }
        2 => {
            // Both ends at once: the front ascends, the back descends, and they never cross.
            let mut it = it;
            let (mut front, mut back): (Option<Vec<u8>>, Option<Vec<u8>>) = (None, None);
            loop {
                let from_front = rng.bool();
                let Some(entry) = (if from_front { it.next() } else { it.next_back() }) else {
                    break;
                };
                check_no_phantom(&entry);
                assert!(within(&lower, &upper, entry.key()));
                let key = entry.key().to_vec();
                if from_front {
                    assert!(front.as_ref().is_none_or(|f| *f < key), "front not ascending");
                    front = Some(key);
                } else {
                    assert!(back.as_ref().is_none_or(|b| *b > key), "back not descending");
                    back = Some(key);
                }
                if let (Some(f), Some(b)) = (&front, &back) {
                    assert!(f < b, "ends crossed: front {f:?}, back {b:?}");
                }
                seen += 1;
            }
        }
        _ => {
            // A bucket prefix, paged through with `iter_after` as a cursor does.
            let prefix = [b'a' + rng.u8(..7)];
            let mut last: Option<Vec<u8>> = None;
            for entry in index.prefix(&prefix).take(50) {
                check_no_phantom(&entry);
                assert!(entry.key().starts_with(&prefix));
                last = Some(entry.key().to_vec());
                seen += 1;
            }
            if let Some(last) = last {
                for entry in index.iter_after(&last).take(20) {
                    check_no_phantom(&entry);
                    assert!(
                        entry.key() > last.as_slice(),
                        "cursor resumed at or before its last key"
                    );
                    seen += 1;
                }
            }
        }
    }
    seen
}

/// Random inserts and removes on writer `w`'s own keys; returns what it left behind.
fn write(index: &RangeIndex, w: u8) -> BTreeMap<Vec<u8>, Location> {
    let mut rng = Rng::with_seed(u64::from(w) + 1);
    let mut model = BTreeMap::new();
    let mut version = 0;
    for _ in 0..OPS_PER_WRITER {
        let i = rng.u32(..KEYS_PER_WRITER);
        let key = make_key(w, i);
        if rng.u64(..10) < 6 {
            version += 1;
            let loc = make_location(w, i, version);
            // Only this thread writes these keys: the previous location must be exact.
            assert_eq!(index.insert(&key, loc), model.insert(key, loc));
        } else {
            assert_eq!(index.remove(&key), model.remove(&key));
        }
    }
    model
}

#[test]
fn disjoint_writers_and_scanning_readers() {
    let index = RangeIndex::new();
    let writing = AtomicBool::new(true);
    let scans_during_writes = AtomicUsize::new(0);
    let models: Vec<BTreeMap<Vec<u8>, Location>> = thread::scope(|s| {
        let readers: Vec<_> = (0..READERS)
            .map(|r| {
                let (index, writing, scans) = (&index, &writing, &scans_during_writes);
                s.spawn(move || {
                    let mut rng = Rng::with_seed(1000 + r as u64);
                    while writing.load(Ordering::Acquire) {
                        scan(index, &mut rng);
                        scans.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                s.spawn({
                    let index = &index;
                    move || write(index, w)
                })
            })
            .collect();
        // Stop the readers before looking at how the writers ended, so that a failed writer
        // fails the test instead of leaving the readers spinning.
        let outcomes: Vec<_> = writers.into_iter().map(|h| h.join()).collect();
        writing.store(false, Ordering::Release);
        for reader in readers {
            reader.join().expect("reader panicked");
        }
        outcomes.into_iter().map(|o| o.expect("writer panicked")).collect()
    });
    assert!(
        scans_during_writes.load(Ordering::Relaxed) > 0,
        "no scan overlapped the writes"
    );

    let expected: BTreeMap<Vec<u8>, Location> = models.into_iter().flatten().collect();
    let forward: Vec<(Vec<u8>, Location)> = index.iter().map(|e| (e.key().to_vec(), e.location())).collect();
    assert_eq!(forward, expected.clone().into_iter().collect::<Vec<_>>());
    let backward: Vec<Vec<u8>> = index.iter().rev().map(|e| e.key().to_vec()).collect();
    assert_eq!(backward, expected.keys().rev().cloned().collect::<Vec<_>>());
    assert_eq!(index.len(), expected.len());
    for (key, loc) in &expected {
        assert_eq!(index.get(key), Some(*loc));
    }
    // Quiet again: scans see exactly the final contents.
    let mut rng = Rng::with_seed(7);
    for _ in 0..200 {
        let (lower, upper) = (random_bound(&mut rng), random_bound(&mut rng));
        let got: Vec<Vec<u8>> = index
            .range(lower.as_ref().map(Vec::as_slice), upper.as_ref().map(Vec::as_slice))
            .map(|e| e.key().to_vec())
            .collect();
        let want: Vec<Vec<u8>> = expected.keys().filter(|k| within(&lower, &upper, k)).cloned().collect();
        assert_eq!(got, want, "{lower:?}..{upper:?}");
    }
}
