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
use std::sync::atomic::{AtomicU64, Ordering, fence};

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::record::Record;

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
