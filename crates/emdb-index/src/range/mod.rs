//! The range index: an ordered map from key to [`Location`] on a lock-free skiplist
//! (crossbeam-skiplist), for range scans, prefix scans and cursors.
//!
//! # Memory
//!
//! The index keeps every key (it must, to order them), so it is the largest part of an
//! engine's memory. Keys of up to 30 bytes are stored inside the skiplist node, with no
//! allocation of their own; longer keys take one boxed slice. A node is one allocation: the
//! location (24 bytes), the key (32), a reference count (8) and a tower of next pointers (8
//! bytes per level, 2 levels on average), 80 bytes for a key of up to 30 bytes. See
//! [`RangeIndex::approx_memory`].
//!
//! # What crossbeam-skiplist 0.1.3 does underneath
//!
//! * `insert` always allocates a new node; replacing a key unlinks the old node, it does not
//!   update it in place.
//! * Unlinked nodes are freed through crossbeam-epoch's global collector: after every thread
//!   pinned at the time has unpinned, and only when some thread later pins and collects.
//!   Memory from removals and replacements therefore comes back late, not at once.
//! * An entry handed out ([`RangeEntry`]) holds a reference count on its node, not an epoch
//!   pin: it keeps that one node alive and delays nothing else.
//! * The skiplist's own `len` is one relaxed atomic counter: O(1), exact when no write is in
//!   flight, approximate during concurrent writes.
//! * Its `range` iterator leaks every node it steps over once that node is removed (the
//!   replaced head is dropped without releasing its reference; fixed upstream after 0.1.3).
//!   This module never calls it: [`RangeIter`] seeks with `lower_bound`/`upper_bound` and
//!   steps with `Entry::next`/`prev`, which release correctly.

mod iter;
mod key;

use std::fmt;
use std::ops::Bound;
use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_skiplist::SkipMap;

pub use iter::{RangeEntry, RangeIter};
use key::StoredKey;

use crate::Location;

/// Mean height of a skiplist tower: crossbeam-skiplist draws heights with probability 1/2
/// per extra level.
const MEAN_TOWER_HEIGHT: usize = 2;

/// Estimated bytes of one node for a key stored inline: location, key, reference count and
/// tower.
const NODE_ESTIMATE: usize =
    size_of::<Location>() + size_of::<StoredKey>() + size_of::<usize>() * (1 + MEAN_TOWER_HEIGHT);

/// An ordered map from keys (byte strings) to [`Location`]s, safe to share between threads.
///
/// Every method takes `&self`: readers and writers run concurrently without locks (the
/// skiplist is lock-free). Keys are ordered as `[u8]` orders them (lexicographically,
/// unsigned bytes, a prefix before its extensions).
///
/// # Concurrent writes to one key
///
/// Writes to *different* keys never interfere. Writes to the *same* key may race and the map
/// stays consistent (one of them wins), but the previous location that [`insert`] and
/// [`remove`] return is exact only when the caller serialises writes to each key (the engine
/// does, with its per-key locking): two racing inserts may both report the same previous
/// location, or one may report none.
///
/// [`insert`]: RangeIndex::insert
/// [`remove`]: RangeIndex::remove
///
/// # Example
///
/// ```
/// use std::ops::Bound;
/// use emdb_index::{Location, RangeIndex};
///
/// let index = RangeIndex::new();
/// index.insert(b"user:1", Location::new(0, 10));
/// index.insert(b"user:2", Location::new(10, 12));
/// index.insert(b"zebra", Location::new(22, 5));
///
/// assert_eq!(index.get(b"user:2"), Some(Location::new(10, 12)));
/// let users: Vec<Vec<u8>> = index.prefix(b"user:").map(|e| e.key().to_vec()).collect();
/// assert_eq!(users, [b"user:1".to_vec(), b"user:2".to_vec()]);
///
/// // Backwards, from an exclusive upper bound.
/// let last = index.range(Bound::Unbounded, Bound::Excluded(b"zebra")).next_back();
/// assert_eq!(last.map(|e| e.location()), Some(Location::new(10, 12)));
/// ```
pub struct RangeIndex {
    map: SkipMap<StoredKey, Location>,
    /// Bytes of keys stored out of line (longer than 30 bytes), for `approx_memory`.
    heap_key_bytes: AtomicUsize,
}

impl RangeIndex {
    /// An empty index.
    #[must_use]
    pub fn new() -> Self {
        RangeIndex {
            map: SkipMap::new(),
            heap_key_bytes: AtomicUsize::new(0),
        }
    }

    /// Maps `key` to `loc`, returning the location it replaced, if any.
    ///
    /// The previous location is exact when writes to `key` are serialised by the caller (see
    /// the type's documentation). A replacement allocates a new node; the old one is freed
    /// later, through the epoch collector.
    ///
    /// ```
    /// use emdb_index::{Location, RangeIndex};
    ///
    /// let index = RangeIndex::new();
    /// assert_eq!(index.insert(b"k", Location::new(0, 4)), None);
    /// assert_eq!(index.insert(b"k", Location::new(4, 4)), Some(Location::new(0, 4)));
    /// assert_eq!(index.len(), 1);
    /// ```
    pub fn insert(&self, key: &[u8], loc: Location) -> Option<Location> {
        let stored = StoredKey::new(key);
        let heap = stored.heap_bytes();
        let previous = std::cell::Cell::new(None);
        // `compare_insert` calls the closure with the value it is about to replace, within
        // the same search: one traversal gives both the insertion and the previous value.
        drop(self.map.compare_insert(stored, loc, |old| {
            previous.set(Some(*old));
            true
        }));
        let previous = previous.get();
        if previous.is_none() && heap > 0 {
            self.heap_key_bytes.fetch_add(heap, Ordering::Relaxed);
        }
        previous
    }

    /// Inserts many entries, sorted by key first so that consecutive inserts walk paths
    /// already in cache: a bulk load (rebuilding the index when a store opens) runs about
    /// twice as fast as inserting in arbitrary order. When a key appears more than once,
    /// the last occurrence wins. Returns how many keys were new.
    ///
    /// ```
    /// use emdb_index::{Location, RangeIndex};
    ///
    /// let index = RangeIndex::new();
    /// let items = vec![(&b"b"[..], Location::new(1, 1)), (b"a", Location::new(0, 1)), (b"b", Location::new(2, 1))];
    /// assert_eq!(index.insert_batch(&items), 2);
    /// assert_eq!(index.get(b"b"), Some(Location::new(2, 1)));
    /// ```
    pub fn insert_batch<K: AsRef<[u8]>>(&self, items: &[(K, Location)]) -> usize {
        Self::insertion_order(items)
            .into_iter()
            .filter_map(|at| items.get(at))
            .filter(|(k, loc)| self.insert(k.as_ref(), *loc).is_none())
            .count()
    }

    /// The positions of `items` in the order [`insert_batch`](Self::insert_batch) inserts
    /// them: ascending key, equal keys in their original order. For a caller that inserts
    /// them itself, one by one under its own locks.
    ///
    /// What is sorted is a compact array of (first eight key bytes, position): most
    /// comparisons stay inside it instead of following two pointers to keys that may lie
    /// anywhere (in a memory-mapped log, say).
    ///
    /// ```
    /// use emdb_index::{Location, RangeIndex};
    ///
    /// let items = [(&b"b"[..], Location::new(0, 1)), (b"a", Location::new(1, 1)), (b"b", Location::new(2, 1))];
    /// assert_eq!(RangeIndex::insertion_order(&items), vec![1, 0, 2]);
    /// ```
    #[must_use]
    pub fn insertion_order<K: AsRef<[u8]>>(items: &[(K, Location)]) -> Vec<usize> {
        let mut order: Vec<(u64, usize)> = items
            .iter()
            .enumerate()
            .map(|(at, (k, _))| (key::prefix(k.as_ref()), at))
            .collect();
        order.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| match (items.get(a.1), items.get(b.1)) {
                    (Some(x), Some(y)) => key::compare(x.0.as_ref(), y.0.as_ref()),
                    _ => std::cmp::Ordering::Equal,
                })
                .then(a.1.cmp(&b.1))
        });
        order.into_iter().map(|(_, at)| at).collect()
    }

    /// The location of `key`, if present.
    ///
    /// ```
    /// use emdb_index::{Location, RangeIndex};
    ///
    /// let index = RangeIndex::new();
    /// index.insert(b"k", Location::new(8, 3));
    /// assert_eq!(index.get(b"k"), Some(Location::new(8, 3)));
    /// assert_eq!(index.get(b"other"), None);
    /// ```
    #[must_use]
    pub fn get(&self, key: &[u8]) -> Option<Location> {
        self.map.get(key).map(|entry| *entry.value())
    }

    /// Whether `key` is present.
    #[must_use]
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.map.contains_key(key)
    }

    /// Removes `key`, returning its location if it was present (and this call removed it).
    ///
    /// ```
    /// use emdb_index::{Location, RangeIndex};
    ///
    /// let index = RangeIndex::new();
    /// index.insert(b"k", Location::new(8, 3));
    /// assert_eq!(index.remove(b"k"), Some(Location::new(8, 3)));
    /// assert_eq!(index.remove(b"k"), None);
    /// ```
    pub fn remove(&self, key: &[u8]) -> Option<Location> {
        let entry = self.map.remove(key)?;
        self.forget_heap(entry.key());
        Some(*entry.value())
    }

    /// Number of keys. O(1): one atomic load. Exact when no write is in flight; while writes
    /// run concurrently it is an approximation (a write is counted a moment before or after
    /// it becomes visible).
    #[must_use]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the index holds no key (same caveat as [`len`](Self::len)).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Removes every key present when the walk reaches it. Keys inserted concurrently may
    /// survive.
    pub fn clear(&self) {
        self.retain(|_, _| false);
    }

    /// Keeps only the keys for which `f(key, location)` returns `true`, in key order.
    ///
    /// A key is removed only if the entry `f` judged is still the current one: if a
    /// concurrent `insert` replaced it after `f` ran, the newer location is kept. That makes
    /// it safe for compaction and expiry sweeps running beside writers.
    ///
    /// ```
    /// use emdb_index::{Location, RangeIndex};
    ///
    /// let index = RangeIndex::new();
    /// index.insert(b"a", Location::new(0, 1).expiring_at(100));
    /// index.insert(b"b", Location::new(1, 1));
    /// index.retain(|_, loc| !loc.is_expired(150));
    /// assert_eq!(index.len(), 1);
    /// assert!(index.contains_key(b"b"));
    /// ```
    pub fn retain(&self, mut f: impl FnMut(&[u8], Location) -> bool) {
        let mut cursor = self.map.front();
        while let Some(entry) = cursor {
            // `Entry::remove` marks this node only: a newer node for the key is untouched.
            if !f(entry.key().as_bytes(), *entry.value()) && entry.remove() {
                self.forget_heap(entry.key());
            }
            cursor = entry.next();
        }
    }

    /// Iterates over the keys between `lower` and `upper`, each bound of any kind.
    ///
    /// An empty or inverted range (lower above upper, or equal with either excluded) yields
    /// nothing; it never panics. See [`RangeIter`] for cost and consistency.
    ///
    /// ```
    /// use std::ops::Bound::{Excluded, Included, Unbounded};
    /// use emdb_index::{Location, RangeIndex};
    ///
    /// let index = RangeIndex::new();
    /// for (i, k) in [b"a", b"b", b"c", b"d"].into_iter().enumerate() {
    ///     index.insert(k, Location::new(i as u64, 1));
    /// }
    /// let keys: Vec<Vec<u8>> = index.range(Excluded(b"a"), Included(b"c")).map(|e| e.key().to_vec()).collect();
    /// assert_eq!(keys, [b"b", b"c"]);
    /// let keys: Vec<Vec<u8>> = index.range(Included(b"c"), Unbounded).rev().map(|e| e.key().to_vec()).collect();
    /// assert_eq!(keys, [b"d", b"c"]);
    /// assert_eq!(index.range(Unbounded, Excluded(b"b")).count(), 1);
    /// assert_eq!(index.range(Included(b"d"), Included(b"a")).count(), 0);
    /// ```
    #[must_use = "iterators are lazy and do nothing unless consumed"]
    pub fn range(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> RangeIter<'_> {
        RangeIter::new(&self.map, lower.map(StoredKey::new), upper.map(StoredKey::new))
    }

    /// Iterates over the keys that start with `prefix`. The empty prefix means every key; a
    /// prefix of only `0xFF` bytes has no upper limit and works like any other.
    ///
    /// ```
    /// use emdb_index::{Location, RangeIndex};
    ///
    /// let index = RangeIndex::new();
    /// for k in [&b"ab"[..], b"abc", b"abd", b"ac", b"\xff", b"\xff\xff\x00"] {
    ///     index.insert(k, Location::new(0, 1));
    /// }
    /// assert_eq!(index.prefix(b"ab").count(), 3);
    /// assert_eq!(index.prefix(b"\xff").count(), 2);
    /// assert_eq!(index.prefix(b"").count(), 6);
    /// ```
    #[must_use = "iterators are lazy and do nothing unless consumed"]
    pub fn prefix(&self, prefix: &[u8]) -> RangeIter<'_> {
        // The keys starting with `prefix` are those at or above it and below its successor; a
        // prefix of only 0xFF bytes (or the empty one) has none: no upper bound.
        let upper = match StoredKey::prefix_successor(prefix) {
            Some(successor) => Bound::Excluded(successor),
            None => Bound::Unbounded,
        };
        RangeIter::new(&self.map, Bound::Included(StoredKey::new(prefix)), upper)
    }

    /// Iterates from `start` (included) to the end: a cursor's first seek.
    ///
    /// ```
    /// use emdb_index::{Location, RangeIndex};
    ///
    /// let index = RangeIndex::new();
    /// for k in [b"a", b"b", b"c"] {
    ///     index.insert(k, Location::new(0, 1));
    /// }
    /// let page: Vec<Vec<u8>> = index.iter_from(b"b").take(10).map(|e| e.key().to_vec()).collect();
    /// assert_eq!(page, [b"b".to_vec(), b"c".to_vec()]);
    /// ```
    #[must_use = "iterators are lazy and do nothing unless consumed"]
    pub fn iter_from(&self, start: &[u8]) -> RangeIter<'_> {
        self.range(Bound::Included(start), Bound::Unbounded)
    }

    /// Iterates over the keys strictly after `start`: how a cursor resumes after the last key
    /// it returned, even if that key has been removed since.
    ///
    /// ```
    /// use emdb_index::{Location, RangeIndex};
    ///
    /// let index = RangeIndex::new();
    /// for k in [b"a", b"b", b"c"] {
    ///     index.insert(k, Location::new(0, 1));
    /// }
    /// let last_seen = b"a".to_vec();
    /// index.remove(&last_seen);
    /// let next = index.iter_after(&last_seen).next().map(|e| e.key().to_vec());
    /// assert_eq!(next, Some(b"b".to_vec()));
    /// ```
    #[must_use = "iterators are lazy and do nothing unless consumed"]
    pub fn iter_after(&self, start: &[u8]) -> RangeIter<'_> {
        self.range(Bound::Excluded(start), Bound::Unbounded)
    }

    /// Iterates over every key, in order (or in reverse with `.rev()`).
    #[must_use = "iterators are lazy and do nothing unless consumed"]
    pub fn iter(&self) -> RangeIter<'_> {
        self.range(Bound::Unbounded, Bound::Unbounded)
    }

    /// The smallest key and its location. O(1).
    #[must_use]
    pub fn first(&self) -> Option<RangeEntry<'_>> {
        self.map.front().map(RangeEntry::new)
    }

    /// The largest key and its location. O(log n).
    #[must_use]
    pub fn last(&self) -> Option<RangeEntry<'_>> {
        self.map.back().map(RangeEntry::new)
    }

    /// An estimate of the bytes the index holds: [`len`](Self::len) nodes of the average
    /// size (80 bytes on a 64-bit target: location, inline key, reference count, a tower of
    /// two pointers), plus the bytes of keys longer than 30 bytes.
    ///
    /// It leaves out the allocator's own overhead per allocation, the fixed size of the
    /// skiplist's head, and removed or replaced nodes not yet freed by the epoch collector.
    /// The bench measures the real figure with a counting allocator.
    #[must_use]
    pub fn approx_memory(&self) -> usize {
        let heap = self.heap_key_bytes.load(Ordering::Relaxed);
        // Removals racing with inserts of the same key may briefly take the counter below
        // zero; read such a wrapped value as zero, as the skiplist does for its length.
        let heap = if heap > isize::MAX as usize { 0 } else { heap };
        self.len().saturating_mul(NODE_ESTIMATE).saturating_add(heap)
    }

    /// Accounts for the removal of a key stored out of line.
    fn forget_heap(&self, key: &StoredKey) {
        let heap = key.heap_bytes();
        if heap > 0 {
            self.heap_key_bytes.fetch_sub(heap, Ordering::Relaxed);
        }
    }
}

impl Default for RangeIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for RangeIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RangeIndex")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
