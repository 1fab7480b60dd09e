//! Streaming iteration over the range index: [`RangeIter`] and the [`RangeEntry`] it yields.

use std::fmt;
use std::iter::FusedIterator;
use std::ops::Bound;

use crossbeam_skiplist::SkipMap;
use crossbeam_skiplist::map::Entry;

use super::key::StoredKey;
use crate::Location;

/// One key of a [`RangeIndex`](crate::RangeIndex) and its location, as an iterator or a
/// lookup returns it.
///
/// The entry refers to the skiplist node in place: [`key`](Self::key) borrows the stored
/// bytes, nothing is copied. Holding an entry keeps its node alive (a reference count) even if
/// the key is removed or replaced meanwhile; it does not hold an epoch pin, so it does not
/// delay the reclamation of other nodes. The location is the one the node was inserted with:
/// a later `insert` of the same key creates a new node and leaves this entry unchanged.
pub struct RangeEntry<'a> {
    entry: Entry<'a, StoredKey, Location>,
}

impl<'a> RangeEntry<'a> {
    pub(crate) fn new(entry: Entry<'a, StoredKey, Location>) -> Self {
        RangeEntry { entry }
    }

    /// The key's bytes, borrowed from the index.
    #[must_use]
    #[inline]
    pub fn key(&self) -> &[u8] {
        self.entry.key().as_bytes()
    }

    /// The key's location.
    #[must_use]
    #[inline]
    pub fn location(&self) -> Location {
        *self.entry.value()
    }

    /// Whether this entry has since been removed from the index (by `remove`, `retain`,
    /// `clear`, or an `insert` of the same key that replaced it).
    #[must_use]
    pub fn is_removed(&self) -> bool {
        self.entry.is_removed()
    }
}

impl fmt::Debug for RangeEntry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RangeEntry")
            .field("key", self.entry.key())
            .field("location", self.entry.value())
            .finish()
    }
}

/// A streaming iterator over a range of a [`RangeIndex`](crate::RangeIndex), in key order
/// (forward) or reverse order (backward), or from both ends at once.
///
/// Created by [`RangeIndex::range`](crate::RangeIndex::range),
/// [`prefix`](crate::RangeIndex::prefix), [`iter_from`](crate::RangeIndex::iter_from),
/// [`iter_after`](crate::RangeIndex::iter_after) and [`iter`](crate::RangeIndex::iter).
///
/// # Cost
///
/// Creating it stores the two bounds (inline when at most 30 bytes, otherwise one allocation
/// each). The first `next` (or `next_back`) seeks in O(log n); every further step follows the
/// skiplist's bottom level from the last entry returned, allocating nothing.
///
/// # Consistency under concurrent writes
///
/// The iterator is weakly consistent: it is not a snapshot. A key inserted or removed while it
/// runs may or may not be seen; a key present and unchanged for the whole iteration is seen.
/// Keys come in strictly ascending order from `next` and strictly descending order from
/// `next_back`, and each key is returned at most once by one iterator, even if both ends are
/// used: an end stops when it reaches the last key the other end returned. When either end
/// runs out, the iterator is finished (it is fused) and releases the nodes it held.
///
/// The iterator holds at most two nodes (the last entry returned from each end) alive; it
/// never pins the epoch between calls.
pub struct RangeIter<'a> {
    map: &'a SkipMap<StoredKey, Location>,
    lower: Bound<StoredKey>,
    upper: Bound<StoredKey>,
    /// The last entry `next` returned; `None` before the first call.
    front: Option<Entry<'a, StoredKey, Location>>,
    /// The last entry `next_back` returned; `None` before the first call.
    back: Option<Entry<'a, StoredKey, Location>>,
    finished: bool,
}

/// The end of a [`RangeIter`] a step takes its entry from.
#[derive(Clone, Copy)]
enum End {
    /// `next`: ascending from the lower bound.
    Front,
    /// `next_back`: descending from the upper bound.
    Back,
}

impl<'a> RangeIter<'a> {
    pub(crate) fn new(map: &'a SkipMap<StoredKey, Location>, lower: Bound<StoredKey>, upper: Bound<StoredKey>) -> Self {
        RangeIter {
            map,
            lower,
            upper,
            front: None,
            back: None,
            finished: false,
        }
    }

    /// Ends the iteration and lets go of the nodes held.
    fn finish(&mut self) {
        self.finished = true;
        self.front = None;
        self.back = None;
    }

    /// Takes the next entry from `end`, or finishes the iteration when that end has run
    /// out of entries or reached the other end.
    fn step(&mut self, end: End) -> Option<RangeEntry<'a>> {
        if self.finished {
            return None;
        }
        let Some(entry) = self.candidate(end).filter(|c| self.inside(end, c.key())) else {
            self.finish();
            return None;
        };
        let taken = match end {
            End::Front => &mut self.front,
            End::Back => &mut self.back,
        };
        *taken = Some(entry.clone());
        Some(RangeEntry::new(entry))
    }

    /// The neighbour, towards the other end, of the last entry taken from `end`; before
    /// the first step from `end`, the first entry within that end's bound.
    fn candidate(&self, end: End) -> Option<Entry<'a, StoredKey, Location>> {
        // Never through `SkipMap::range`: crossbeam-skiplist 0.1.3's range iterator never
        // releases the nodes it steps over, so every node it visits and is later removed is
        // leaked. `lower_bound` and `Entry::next` count references correctly.
        match end {
            End::Front => match &self.front {
                Some(last) => last.next(),
                None => self.map.lower_bound(self.lower.as_ref().map(StoredKey::as_bytes)),
            },
            End::Back => match &self.back {
                Some(last) => last.prev(),
                None => self.map.upper_bound(self.upper.as_ref().map(StoredKey::as_bytes)),
            },
        }
    }

    /// Whether `key`, a candidate from `end`, is still inside what is left of the range:
    /// strictly short of the last entry taken from the other end, or, before the first
    /// step from there, within the other end's bound.
    fn inside(&self, end: End, key: &StoredKey) -> bool {
        match end {
            End::Front => match &self.back {
                Some(back) => key < back.key(),
                None => below_upper(&self.upper, key),
            },
            End::Back => match &self.front {
                Some(front) => key > front.key(),
                None => above_lower(&self.lower, key),
            },
        }
    }
}

/// Whether `key` is at or below the end bound `upper`.
#[inline]
fn below_upper(upper: &Bound<StoredKey>, key: &StoredKey) -> bool {
    match upper {
        Bound::Included(bound) => key <= bound,
        Bound::Excluded(bound) => key < bound,
        Bound::Unbounded => true,
    }
}

/// Whether `key` is at or above the start bound `lower`.
#[inline]
fn above_lower(lower: &Bound<StoredKey>, key: &StoredKey) -> bool {
    match lower {
        Bound::Included(bound) => key >= bound,
        Bound::Excluded(bound) => key > bound,
        Bound::Unbounded => true,
    }
}

impl<'a> Iterator for RangeIter<'a> {
    type Item = RangeEntry<'a>;

    fn next(&mut self) -> Option<RangeEntry<'a>> {
        self.step(End::Front)
    }
}

impl<'a> DoubleEndedIterator for RangeIter<'a> {
    fn next_back(&mut self) -> Option<RangeEntry<'a>> {
        self.step(End::Back)
    }
}

impl FusedIterator for RangeIter<'_> {}

impl fmt::Debug for RangeIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RangeIter")
            .field("lower", &self.lower)
            .field("upper", &self.upper)
            .field("front", &self.front.as_ref().map(|e| e.key()))
            .field("back", &self.back.as_ref().map(|e| e.key()))
            .field("finished", &self.finished)
            .finish()
    }
}
