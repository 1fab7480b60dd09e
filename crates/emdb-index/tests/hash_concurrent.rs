//! Readers and writers together on one index: no lost entry, no phantom, no torn
//! location.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use emdb_index::{HashIndex, Location};

const WRITERS: u64 = 4;
const PER_WRITER: u64 = 20_000;

fn key(writer: u64, i: u64) -> Vec<u8> {
    format!("writer-{writer}-key-{i:08}").into_bytes()
}

/// The location writer `w` gives key `i` in round `r`: every field derived from (w, i, r),
/// so a reader can tell a torn or foreign location from a real one.
fn location(w: u64, i: u64, round: u64) -> Location {
    let offset = (w << 40) | (i << 8) | round;
    Location::new(offset, (offset % 1_000_000) as u32).expiring_at(if round % 2 == 1 { offset + 7 } else { 0 })
}

fn decode(l: Location) -> (u64, u64) {
    (l.offset >> 40, (l.offset >> 8) & 0xFFFF_FFFF)
}

#[test]
fn readers_and_writers_never_see_lost_phantom_or_torn_entries() {
    let index = Arc::new(HashIndex::with_shards(32));
    let done = Arc::new(AtomicBool::new(false));
    // The resolver: a location names its key by (writer, i).
    let is_key = |k: &[u8]| {
        let k = k.to_vec();
        move |l: Location| {
            let (w, i) = decode(l);
            key(w, i) == k
        }
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let index = Arc::clone(&index);
            std::thread::spawn(move || {
                for round in 0..3u64 {
                    for i in 0..PER_WRITER {
                        let k = key(w, i);
                        let prev = index.insert(&k, location(w, i, round), is_key(&k)).expect("fits");
                        assert_eq!(prev, (round > 0).then(|| location(w, i, round - 1)));
                    }
                }
                // Remove every other key.
                for i in (0..PER_WRITER).step_by(2) {
                    let k = key(w, i);
                    assert_eq!(index.remove(&k, is_key(&k)), Some(location(w, i, 2)));
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..2u64)
        .map(|r| {
            let index = Arc::clone(&index);
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let mut seen = 0u64;
                let mut i = r;
                while !done.load(Ordering::Acquire) {
                    let (w, n) = (i % WRITERS, (i * 7919) % PER_WRITER);
                    let k = key(w, n);
                    if let Some(l) = index.get(&k, is_key(&k)) {
                        let round = l.offset & 0xFF;
                        assert!(round < 3, "phantom round");
                        assert_eq!(l, location(w, n, round), "torn or foreign location");
                        seen += 1;
                    }
                    i += 1;
                }
                seen
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer");
    }
    done.store(true, Ordering::Release);
    let seen: u64 = readers.into_iter().map(|r| r.join().expect("reader")).sum();
    assert!(seen > 0, "readers saw nothing");
    assert_eq!(index.len() as u64, WRITERS * PER_WRITER / 2);
    for w in 0..WRITERS {
        for i in 0..PER_WRITER {
            let k = key(w, i);
            let want = (i % 2 == 1).then(|| location(w, i, 2));
            assert_eq!(index.get(&k, is_key(&k)), want, "writer {w} key {i}");
        }
    }
}

#[test]
fn concurrent_batches_and_retain_keep_every_survivor() {
    let index = Arc::new(HashIndex::with_shards(8));
    let handles: Vec<_> = (0..4u64)
        .map(|w| {
            let index = Arc::clone(&index);
            std::thread::spawn(move || {
                for chunk in 0..20u64 {
                    let items: Vec<(Vec<u8>, Location)> = (0..500)
                        .map(|j| {
                            let i = chunk * 500 + j;
                            (key(w, i), location(w, i, 0))
                        })
                        .collect();
                    let prev = index
                        .insert_batch(&items, |n, l| {
                            let (lw, li) = decode(l);
                            key(lw, li) == items[n].0
                        })
                        .expect("fits");
                    assert!(prev.iter().all(Option::is_none));
                }
            })
        })
        .collect();
    let sweeper = {
        let index = Arc::clone(&index);
        std::thread::spawn(move || {
            let mut removed = 0;
            for _ in 0..50 {
                removed += index.retain(|l| decode(l).1 % 10 != 3);
            }
            removed
        })
    };
    for h in handles {
        h.join().expect("writer");
    }
    sweeper.join().expect("sweeper");
    index.retain(|l| decode(l).1 % 10 != 3);
    assert_eq!(index.len(), 4 * 10_000 * 9 / 10);
    index.for_each(|l| assert_ne!(decode(l).1 % 10, 3));
}
