//! The per-key locks: 1,024 stripes, one chosen for each namespace and key by a fixed
//! hash. Each stripe is a reader-writer lock and a sequence number.
//!
//! A write of a key holds its stripe for writing across its append and its index update;
//! a batch holds every stripe it touches, taken in ascending order so two batches never
//! deadlock; an operation on whole namespaces, and the swap of the state, holds them all.
//! Lock order, everywhere: registry, stripes, batch gate.
//!
//! A point read takes no lock ([`Stripe::read_optimistic`]): it notes the stripe's
//! sequence, which is odd while a writer holds the stripe, reads, and keeps what it read
//! only if the sequence has not moved; otherwise it reads again, and after a few tries
//! waits for the writer by taking the lock shared. So readers write nothing shared (the
//! sequence is only loaded), and a reader never sees part of a batch: every index update
//! of a batch is made before the first of its stripes' sequences turns even again, and a
//! reader that saw one of them sees the sequence move. Whoever must keep writers out for
//! longer (the range-index build) takes the lock shared, as before.

use std::hash::BuildHasher;

use super::record::Record;
use sync::{AtomicU64, Ordering, RwLock, RwLockReadGuard, RwLockWriteGuard, fence};

/// The atomics and the lock of the protocol: the real ones, or loom's when the unit tests
/// are built with `--cfg emdb_loom` for the model test at the bottom of this file, which
/// runs the read and batch protocol under every interleaving loom's memory model allows
/// (loom is a dev-dependency: the library itself never builds with it).
#[cfg(not(all(test, emdb_loom)))]
mod sync {
    pub(crate) use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};
    pub(crate) use std::sync::atomic::{AtomicU64, Ordering, fence};
}

#[cfg(all(test, emdb_loom))]
mod sync {
    pub(crate) use loom::sync::atomic::{AtomicU64, Ordering, fence};
    pub(crate) use loom::sync::{RwLockReadGuard, RwLockWriteGuard};

    /// loom's lock with parking_lot's signatures (no poisoning).
    #[derive(Debug, Default)]
    pub(crate) struct RwLock<T>(loom::sync::RwLock<T>);

    impl<T> RwLock<T> {
        pub(crate) fn new(value: T) -> Self {
            RwLock(loom::sync::RwLock::new(value))
        }

        pub(crate) fn read(&self) -> RwLockReadGuard<'_, T> {
            self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner)
        }

        pub(crate) fn write(&self) -> RwLockWriteGuard<'_, T> {
            self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner)
        }

        pub(crate) fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
            self.0.try_read().ok()
        }

        pub(crate) fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
            self.0.try_write().ok()
        }
    }
}

/// Number of stripes (a power of two).
const STRIPES: usize = 1024;

/// Optimistic tries of a point read before it takes the stripe's lock shared.
const OPTIMISTIC_TRIES: usize = 4;

/// One stripe: its lock and its sequence, on cache lines of their own (a reader loads the
/// sequence of its key's stripe only, and a writer of another stripe does not disturb it).
#[repr(align(128))]
pub(crate) struct Stripe {
    /// Odd while a writer holds the stripe; moves by two with each writer.
    seq: AtomicU64,
    lock: RwLock<()>,
}

/// A stripe held for writing: its sequence odd until the guard drops.
pub(crate) struct StripeWrite<'a> {
    seq: &'a AtomicU64,
    _lock: RwLockWriteGuard<'a, ()>,
}

impl Drop for StripeWrite<'_> {
    fn drop(&mut self) {
        // Even again, after every write made under the guard (Release), and before the
        // lock is released (the guard's field drops after this).
        self.seq.fetch_add(1, Ordering::Release);
    }
}

impl Stripe {
    fn new() -> Stripe {
        Stripe {
            seq: AtomicU64::new(0),
            lock: RwLock::new(()),
        }
    }

    /// The stripe held for writing.
    pub(crate) fn write(&self) -> StripeWrite<'_> {
        let lock = self.lock.write();
        // Odd: the writes made under the guard reach readers through the index's locks
        // and the journal's published end (release / acquire), so a reader that sees one
        // of them also sees this (coherence); no fence is needed here.
        self.seq.fetch_add(1, Ordering::Relaxed);
        StripeWrite {
            seq: &self.seq,
            _lock: lock,
        }
    }

    /// The stripe held shared: writers wait, readers do not.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, ()> {
        self.lock.read()
    }

    /// Runs the read `f` without taking the lock, again until no writer of this stripe
    /// ran beside it; after a few failed tries, under the lock held shared. `f` may run
    /// more than once: it must only read.
    pub(crate) fn read_optimistic<T>(&self, mut f: impl FnMut() -> T) -> T {
        for _ in 0..OPTIMISTIC_TRIES {
            let before = self.seq.load(Ordering::Acquire);
            if before & 1 == 1 {
                // A writer holds it: wait for it below rather than spin.
                break;
            }
            let out = f();
            // The reads of `f` before the second load of the sequence.
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) == before {
                return out;
            }
        }
        let _shared = self.lock.read();
        f()
    }
}

/// The stripes of one engine.
pub(crate) struct Stripes {
    stripes: Box<[Stripe]>,
    hasher: foldhash::fast::FixedState,
}

impl Stripes {
    /// Every stripe free.
    pub(crate) fn new() -> Stripes {
        Stripes {
            stripes: (0..STRIPES).map(|_| Stripe::new()).collect(),
            hasher: foldhash::fast::FixedState::with_seed(0x5712_1BE5),
        }
    }

    /// The index of `key`'s stripe in namespace `ns`.
    fn index_of(&self, ns: u32, key: &[u8]) -> usize {
        (self.hasher.hash_one((ns, key)) as usize) & (STRIPES - 1)
    }

    /// The stripe of `key` in namespace `ns`.
    pub(crate) fn of(&self, ns: u32, key: &[u8]) -> &Stripe {
        &self.stripes[self.index_of(ns, key)]
    }

    /// Write guards of the stripes a batch of `ops` touches, taken in ascending order (no
    /// deadlock): every stripe when the batch holds a clear or a bind, which act on whole
    /// namespaces.
    pub(crate) fn lock_for(&self, ops: &[Record<'_>]) -> Vec<StripeWrite<'_>> {
        match self.indices_for(ops) {
            Some(which) => which.into_iter().map(|i| self.stripes[i].write()).collect(),
            None => self.lock_all(),
        }
    }

    /// The stripes `ops` touch, ascending and each once (a key written twice in one batch
    /// must not wait on its own stripe); `None` when the batch needs them all.
    fn indices_for(&self, ops: &[Record<'_>]) -> Option<Vec<usize>> {
        let mut which = Vec::with_capacity(ops.len());
        for op in ops {
            match op {
                Record::Insert { ns, key, .. } | Record::Remove { ns, key } => which.push(self.index_of(*ns, key)),
                Record::Clear { .. } | Record::Bind { .. } => return None,
            }
        }
        which.sort_unstable();
        which.dedup();
        Some(which)
    }

    /// Every stripe, for operations on whole namespaces and for swapping the state.
    pub(crate) fn lock_all(&self) -> Vec<StripeWrite<'_>> {
        self.stripes.iter().map(Stripe::write).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_locks_each_touched_stripe_once_and_a_clear_locks_all() {
        let stripes = Stripes::new();
        let (a, b) = (b"a".as_slice(), b"b".as_slice());
        let ops = [
            Record::Insert {
                ns: 1,
                key: b,
                value: b"1",
                expires_at: 0,
            },
            Record::Remove { ns: 1, key: a },
            Record::Insert {
                ns: 1,
                key: b,
                value: b"2",
                expires_at: 0,
            },
        ];
        let mut expected = vec![stripes.index_of(1, a), stripes.index_of(1, b)];
        expected.sort_unstable();
        expected.dedup();
        assert_eq!(
            stripes.indices_for(&ops),
            Some(expected.clone()),
            "ascending, each once"
        );
        {
            let guards = stripes.lock_for(&ops);
            assert_eq!(guards.len(), expected.len());
            assert!(stripes.of(1, b).lock.try_read().is_none(), "b's stripe is held");
            assert!(stripes.of(1, a).lock.try_read().is_none(), "a's stripe is held");
        }
        assert!(stripes.of(1, a).lock.try_write().is_some(), "released with the guards");
        assert_eq!(stripes.indices_for(&[ops[0], Record::Clear { ns: 1 }]), None);
        let guards = stripes.lock_for(&[Record::Clear { ns: 1 }, ops[0]]);
        assert_eq!(guards.len(), STRIPES);
    }

    #[test]
    fn a_key_keeps_its_stripe_and_namespaces_spread_keys() {
        let stripes = Stripes::new();
        assert_eq!(
            stripes.index_of(3, b"k"),
            Stripes::new().index_of(3, b"k"),
            "fixed hash"
        );
        let spread: std::collections::HashSet<usize> = (0..64u32).map(|ns| stripes.index_of(ns, b"k")).collect();
        assert!(spread.len() > 32, "the namespace takes part in the hash");
    }
}

/// The read and batch protocol under loom (`RUSTFLAGS="--cfg emdb_loom" cargo test -p
/// emdb-core --no-default-features --lib --target-dir target/loom -- stripes::model`, run
/// by `.ci/run`): every interleaving, and every outcome the C++ memory model allows of the
/// orderings used above, of a batch writing two keys of two stripes (each key's slot behind
/// a shard lock, as in the hash index) against a reader getting one key and then the
/// other. The reader never sees the batch's second key old once it has seen its first new
/// (a batch is visible whole or not at all), and a point read never keeps a value it read
/// while a writer held its stripe. Without the writer's odd sequence both tests fail.
#[cfg(all(test, emdb_loom))]
mod model {
    use super::Stripe;
    use loom::sync::{Arc, Mutex};

    /// Two keys of a batch, in two stripes and two shards.
    struct World {
        stripes: [Stripe; 2],
        slots: [Mutex<u64>; 2],
    }

    const OLD: u64 = 1;
    const NEW: u64 = 2;

    fn world() -> Arc<World> {
        Arc::new(World {
            stripes: [Stripe::new(), Stripe::new()],
            slots: [Mutex::new(OLD), Mutex::new(OLD)],
        })
    }

    /// A point read of key `i`: the stripe's sequence around the slot read under its
    /// shard's lock.
    fn get(w: &World, i: usize) -> u64 {
        w.stripes[i].read_optimistic(|| *w.slots[i].lock().expect("shard"))
    }

    /// A batch: both stripes taken in ascending order, both slots written, then released.
    fn batch(w: &World) {
        let guards = [w.stripes[0].write(), w.stripes[1].write()];
        for slot in &w.slots {
            *slot.lock().expect("shard") = NEW;
        }
        drop(guards);
    }

    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(f);
    }

    #[test]
    fn a_reader_sees_a_two_stripe_batch_whole_or_not_at_all() {
        model(|| {
            let w = world();
            let writer = {
                let w = Arc::clone(&w);
                loom::thread::spawn(move || batch(&w))
            };
            let first = get(&w, 0);
            let second = get(&w, 1);
            assert!([OLD, NEW].contains(&first) && [OLD, NEW].contains(&second));
            assert!(!(first == NEW && second == OLD), "saw part of the batch");
            writer.join().expect("writer");
            assert_eq!(
                (get(&w, 0), get(&w, 1)),
                (NEW, NEW),
                "the batch is whole once it returned"
            );
        });
    }

    /// A reader beside a writer of its stripe keeps only a value from a moment no writer
    /// held the stripe: the writer writes a value that must never be returned, then the
    /// final one, under one hold.
    #[test]
    fn a_point_read_never_keeps_a_value_read_while_its_stripe_was_held() {
        const TORN: u64 = 99;
        model(|| {
            let w = world();
            let writer = {
                let w = Arc::clone(&w);
                loom::thread::spawn(move || {
                    let guard = w.stripes[0].write();
                    *w.slots[0].lock().expect("shard") = TORN;
                    *w.slots[0].lock().expect("shard") = NEW;
                    drop(guard);
                })
            };
            let seen = get(&w, 0);
            assert!(seen == OLD || seen == NEW, "read {seen}, a value of a held stripe");
            writer.join().expect("writer");
        });
    }
}
