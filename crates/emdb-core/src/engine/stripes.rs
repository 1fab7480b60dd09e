//! The per-key locks: 1,024 reader-writer locks ("stripes"), one chosen for each
//! namespace and key by a fixed hash.
//!
//! A write of a key holds its stripe for writing across its append and its index update;
//! a point read holds it for reading. A batch holds every stripe it touches, taken in
//! ascending order so two batches never deadlock; an operation on whole namespaces, and
//! the swap of the state, holds them all. Lock order, everywhere: registry, stripes,
//! batch gate.

use std::hash::BuildHasher;

use parking_lot::{RwLock, RwLockWriteGuard};

use super::record::Record;

/// Number of stripes (a power of two).
const STRIPES: usize = 1024;

/// The stripes of one engine.
pub(crate) struct Stripes {
    locks: Box<[RwLock<()>]>,
    hasher: foldhash::fast::FixedState,
}

impl Stripes {
    /// Every stripe free.
    pub(crate) fn new() -> Stripes {
        Stripes {
            locks: (0..STRIPES).map(|_| RwLock::new(())).collect(),
            hasher: foldhash::fast::FixedState::with_seed(0x5712_1BE5),
        }
    }

    /// The index of `key`'s stripe in namespace `ns`.
    fn index_of(&self, ns: u32, key: &[u8]) -> usize {
        (self.hasher.hash_one((ns, key)) as usize) & (STRIPES - 1)
    }

    /// The stripe of `key` in namespace `ns`.
    pub(crate) fn of(&self, ns: u32, key: &[u8]) -> &RwLock<()> {
        &self.locks[self.index_of(ns, key)]
    }

    /// Write guards of the stripes a batch of `ops` touches, taken in ascending order (no
    /// deadlock): every stripe when the batch holds a clear or a bind, which act on whole
    /// namespaces.
    pub(crate) fn lock_for(&self, ops: &[Record<'_>]) -> Vec<RwLockWriteGuard<'_, ()>> {
        match self.indices_for(ops) {
            Some(which) => which.into_iter().map(|i| self.locks[i].write()).collect(),
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
    pub(crate) fn lock_all(&self) -> Vec<RwLockWriteGuard<'_, ()>> {
        self.locks.iter().map(RwLock::write).collect()
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
            assert!(stripes.of(1, b).try_read().is_none(), "b's stripe is held");
            assert!(stripes.of(1, a).try_read().is_none(), "a's stripe is held");
        }
        assert!(stripes.of(1, a).try_write().is_some(), "released with the guards");
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
