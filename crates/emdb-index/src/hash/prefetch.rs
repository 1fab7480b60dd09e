//! Prefetching a lookup's first slots: where a shard's slots lie, kept beside its lock so
//! that a reader can ask for them before it takes the lock.
//!
//! The hint is only ever used as an address to prefetch, never read through: a hint that
//! is stale (the table grew, and the old slots were freed, between the load and the
//! prefetch) makes a useless prefetch, not a wrong read. A prefetch does not fault on any
//! address and changes no memory, which is what makes the one `unsafe` here sound.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::slot::Slot;
use super::table::home_of;

/// Where a shard's slots start and how many there are, as last set by a writer.
#[derive(Debug, Default)]
pub(crate) struct Hint {
    base: AtomicUsize,
    capacity: AtomicUsize,
}

impl Hint {
    /// Records the slots' address and count (`Table::slots_at`), under the shard's write
    /// lock.
    pub(crate) fn set(&self, (base, capacity): (usize, usize)) {
        self.base.store(base, Ordering::Relaxed);
        self.capacity.store(capacity, Ordering::Relaxed);
    }

    /// Starts fetching the cache line of the home slot of a key whose hash has `h32` as
    /// its low 32 bits. The two loads may see a base and a capacity of different tables:
    /// then the line fetched is useless, nothing else.
    pub(crate) fn prefetch(&self, h32: u32) {
        let capacity = self.capacity.load(Ordering::Relaxed);
        if capacity == 0 {
            return;
        }
        let base = self.base.load(Ordering::Relaxed);
        let at = base.wrapping_add(home_of(h32, capacity).wrapping_mul(std::mem::size_of::<Slot>()));
        prefetch_line(at);
    }
}

/// Asks the processor to fetch the cache line holding `addr`, without waiting for it.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code, reason = "the prefetch intrinsic takes a raw pointer")]
pub(super) fn prefetch_line(addr: usize) {
    use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
    // SAFETY: a prefetch is a hint: it never faults, whatever the address (a stale or
    // unmapped one is dropped by the processor), and it reads nothing into the program
    // and writes nothing. The pointer is never dereferenced.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(addr as *const i8) }
}

/// Elsewhere, nothing: the prefetch is only a hint.
#[cfg(not(target_arch = "x86_64"))]
pub(super) fn prefetch_line(_addr: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hint_of_nothing_or_of_a_freed_table_prefetches_harmlessly() {
        let hint = Hint::default();
        hint.prefetch(7);
        let gone = vec![Slot::EMPTY; 64];
        hint.set((gone.as_ptr() as usize, gone.len()));
        drop(gone);
        // The table it named is freed: the prefetch is only a hint, nothing is read.
        for h in [0, 1, u32::MAX] {
            hint.prefetch(h);
        }
        hint.set((usize::MAX - 8, 1 << 20));
        hint.prefetch(u32::MAX);
    }
}
