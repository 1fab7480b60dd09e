//! The primary index: a sharded hash table from keys to [`Location`]s that does not keep
//! the keys.
//!
//! Each entry is one 16-byte slot (location plus a 48-bit fingerprint of the key's hash).
//! A lookup hashes the key, probes its shard, and for every slot whose fingerprint
//! matches asks the caller — through the `is_key` closure every keyed method takes —
//! whether the key stored at that location is the one looked up (a log-structured store
//! reads it back from its memory map). So the memory per key does not depend on the key's
//! length: about 16 bytes divided by the load factor (0.57 to 0.85).
//!
//! Shards are independent tables behind their own reader-writer lock: readers of
//! different shards never meet, readers of one shard share it, and a writer blocks only
//! its shard.

mod prefetch;
mod slot;
mod snapshot;
mod table;

use std::hash::BuildHasher;

use parking_lot::RwLock;

use crate::error::{Error, Result};
use crate::location::Location;
use table::Table;

/// The default hasher: foldhash with a per-index seed, fixed at creation and kept in
/// snapshots (so a hostile key set cannot be tuned to collide, and a reloaded index
/// hashes as before).
pub type SeededHasher = foldhash::fast::FixedState;

/// A table padded to its own cache lines, so that shards do not share one, with where
/// its slots lie for [`HashIndex::probe`].
#[repr(align(128))]
#[derive(Debug, Default)]
struct Shard {
    table: RwLock<Table>,
    hint: prefetch::Hint,
}

impl Shard {
    fn new(table: Table) -> Shard {
        let hint = prefetch::Hint::default();
        hint.set(table.slots_at());
        Shard {
            table: RwLock::new(table),
            hint,
        }
    }

    fn read(&self) -> parking_lot::RwLockReadGuard<'_, Table> {
        self.table.read()
    }

    /// The table held for writing; the hint follows it when the guard drops (a growth
    /// moves the slots).
    fn write(&self) -> ShardWrite<'_> {
        ShardWrite {
            table: self.table.write(),
            hint: &self.hint,
        }
    }
}

/// A shard's table held for writing (see [`Shard::write`]).
struct ShardWrite<'a> {
    table: parking_lot::RwLockWriteGuard<'a, Table>,
    hint: &'a prefetch::Hint,
}

impl std::ops::Deref for ShardWrite<'_> {
    type Target = Table;

    fn deref(&self) -> &Table {
        &self.table
    }
}

impl std::ops::DerefMut for ShardWrite<'_> {
    fn deref_mut(&mut self) -> &mut Table {
        &mut self.table
    }
}

impl Drop for ShardWrite<'_> {
    fn drop(&mut self) {
        self.hint.set(self.table.slots_at());
    }
}

/// How many keys ahead [`HashIndex::insert_batch`] fetches slots.
const BATCH_PREFETCH: usize = 8;

/// A key's hash, computed once by [`HashIndex::probe`] for the lookup that follows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe(u64);

/// Sharded fingerprint hash index: 16 bytes a slot plus a tag byte, keys resolved by
/// the caller (see the [crate docs](crate)).
///
/// ```
/// use emdb_index::{HashIndex, Location};
/// // The "log": keys stored at their locations (a real store reads its memory map).
/// let log: Vec<&[u8]> = vec![b"apple", b"banana", b"cherry"];
/// let index = HashIndex::new();
/// for (i, key) in log.iter().enumerate() {
///     index.insert(key, Location::new(i as u64, 10), |l| log[l.offset as usize] == *key)?;
/// }
/// let found = index.get(b"banana", |l| log[l.offset as usize] == b"banana");
/// assert_eq!(found, Some(Location::new(1, 10)));
/// assert_eq!(index.get(b"durian", |l| log[l.offset as usize] == b"durian"), None);
/// assert_eq!(index.remove(b"apple", |l| log[l.offset as usize] == b"apple"), Some(Location::new(0, 10)));
/// assert_eq!(index.len(), 2);
/// # Ok::<(), emdb_index::Error>(())
/// ```
#[derive(Debug)]
pub struct HashIndex<S = SeededHasher> {
    shards: Box<[Shard]>,
    /// `shards.len() - 1` (a power of two minus one).
    shard_mask: usize,
    hasher: S,
    /// The seed of the default hasher (kept in snapshots); 0 for other hashers.
    seed: u64,
}

/// A default shard count: a power of two, about eight per core, between 16 and 1,024.
#[must_use]
pub fn default_shards() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    (cores * 8).next_power_of_two().clamp(16, 1024)
}

fn random_seed() -> u64 {
    // std's RandomState is seeded from the operating system once per thread and varied
    // per instance; one hash of it is a good enough seed without another dependency.
    std::hash::RandomState::new().hash_one(0x5EED_u64)
}

impl HashIndex<SeededHasher> {
    /// An empty index with a random seed and [`default_shards`] shards.
    #[must_use]
    pub fn new() -> Self {
        Self::with_shards(default_shards())
    }

    /// An empty index with a random seed and `shards` shards (rounded up to a power of
    /// two, at most 65,536).
    #[must_use]
    pub fn with_shards(shards: usize) -> Self {
        Self::with_seed(random_seed(), shards)
    }

    /// An empty index hashing with `seed` (reproducible, for tests and benches).
    #[must_use]
    pub fn with_seed(seed: u64, shards: usize) -> Self {
        let mut index = Self::with_hasher(SeededHasher::with_seed(seed), shards);
        index.seed = seed;
        index
    }
}

impl Default for HashIndex<SeededHasher> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: BuildHasher> HashIndex<S> {
    /// An empty index with `shards` shards (rounded up to a power of two, at most 65,536)
    /// hashing with `hasher`. Snapshots need the default hasher.
    pub fn with_hasher(hasher: S, shards: usize) -> Self {
        let n = shards.clamp(1, 1 << 16).next_power_of_two();
        HashIndex {
            shards: (0..n).map(|_| Shard::default()).collect(),
            shard_mask: n - 1,
            hasher,
            seed: 0,
        }
    }

    /// Number of shards.
    #[must_use]
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    fn shard_of(&self, hash: u64) -> &Shard {
        // The top 16 bits pick the shard; slots keep the low 48, so the two never overlap.
        &self.shards[(hash >> 48) as usize & self.shard_mask]
    }

    /// The location of `key`. `is_key(location)` must say whether the record at
    /// `location` has this key; it is called only for slots whose fingerprint matches.
    pub fn get(&self, key: &[u8], is_key: impl FnMut(Location) -> bool) -> Option<Location> {
        self.get_probed(self.hash_only(key), is_key)
    }

    fn hash_only(&self, key: &[u8]) -> Probe {
        Probe(self.hash(key))
    }

    /// Hashes `key` and asks the processor to start fetching the slots its lookup reads
    /// first, without waiting for them: a caller with other work to do before the lookup
    /// (a store taking its view of the log) does it while the slots are on their way,
    /// then looks up with [`HashIndex::get_probed`]. In a table larger than the caches
    /// that overlaps a memory access with the caller's work; it changes no answer.
    ///
    /// ```
    /// use emdb_index::{HashIndex, Location};
    /// let index = HashIndex::new();
    /// index.insert(b"k", Location::new(0, 4), |_| false)?;
    /// let probe = index.probe(b"k");
    /// assert_eq!(index.get_probed(probe, |_| true), index.get(b"k", |_| true));
    /// # Ok::<(), emdb_index::Error>(())
    /// ```
    #[must_use]
    pub fn probe(&self, key: &[u8]) -> Probe {
        let hash = self.hash(key);
        self.shard_of(hash).hint.prefetch(hash as u32);
        Probe(hash)
    }

    /// [`HashIndex::get`] of the key `probe` was made from (by this index).
    pub fn get_probed(&self, probe: Probe, mut is_key: impl FnMut(Location) -> bool) -> Option<Location> {
        let table = self.shard_of(probe.0).read();
        table.find(probe.0, &mut is_key).map(|at| table.get(at))
    }

    /// Inserts or replaces `key`'s location; returns the previous one (a store needs it
    /// to count dead bytes).
    ///
    /// # Errors
    ///
    /// [`Error::LocationOutOfRange`] when `location` does not fit the packed slot
    /// (offset ≥ 2^48 or length ≥ 2^28); nothing is changed.
    pub fn insert(
        &self,
        key: &[u8],
        location: Location,
        mut is_key: impl FnMut(Location) -> bool,
    ) -> Result<Option<Location>> {
        check(&location)?;
        let hash = self.hash(key);
        let mut table = self.shard_of(hash).write();
        Ok(upsert(&mut table, hash, &location, &mut is_key))
    }

    /// Removes `key`; returns its location.
    pub fn remove(&self, key: &[u8], mut is_key: impl FnMut(Location) -> bool) -> Option<Location> {
        let hash = self.hash(key);
        let mut table = self.shard_of(hash).write();
        let at = table.find(hash, &mut is_key)?;
        Some(table.remove_at(at))
    }

    /// Reads and changes `key`'s entry atomically: `change` gets the current location (or
    /// `None`) and returns the new one (`None` removes it). Returns the location before
    /// the change. This is compare-and-set and compare-and-remove: a TTL sweep removes a
    /// key only if it still points at the expired record, a compaction moves a key only
    /// if no newer write replaced it.
    ///
    /// # Errors
    ///
    /// [`Error::LocationOutOfRange`] when the new location does not fit; nothing is
    /// changed.
    pub fn update(
        &self,
        key: &[u8],
        mut is_key: impl FnMut(Location) -> bool,
        change: impl FnOnce(Option<Location>) -> Option<Location>,
    ) -> Result<Option<Location>> {
        let hash = self.hash(key);
        let mut table = self.shard_of(hash).write();
        let at = table.find(hash, &mut is_key);
        let current = at.map(|at| table.get(at));
        let next = change(current);
        if let Some(next) = &next {
            check(next)?;
        }
        match (at, next) {
            (Some(at), Some(next)) => {
                table.replace(at, hash, &next);
            }
            (Some(at), None) => {
                table.remove_at(at);
            }
            (None, Some(next)) => table.insert_new(hash, &next),
            (None, None) => {}
        }
        Ok(current)
    }

    /// Inserts or replaces many entries, taking each shard's lock once. Returns the
    /// previous location of each, in order. `is_key(i, location)` must say whether the
    /// record at `location` has the key of `items[i]`.
    ///
    /// # Errors
    ///
    /// [`Error::LocationOutOfRange`] when any location does not fit; then nothing is
    /// changed.
    pub fn insert_batch<K: AsRef<[u8]>>(
        &self,
        items: &[(K, Location)],
        mut is_key: impl FnMut(usize, Location) -> bool,
    ) -> Result<Vec<Option<Location>>> {
        for (_, location) in items {
            check(location)?;
        }
        let mut order: Vec<(usize, u64)> = items
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (i, self.hash(k.as_ref())))
            .collect();
        order.sort_unstable_by_key(|&(i, h)| ((h >> 48) as usize & self.shard_mask, i));
        let mut previous = vec![None; items.len()];
        let mut rest = &order[..];
        while let Some(&(_, first_hash)) = rest.first() {
            let shard = (first_hash >> 48) as usize & self.shard_mask;
            let n = rest
                .iter()
                .take_while(|&&(_, h)| (h >> 48) as usize & self.shard_mask == shard)
                .count();
            let mut table = self.shards[shard].write();
            table.reserve(n);
            // The slots of the keys a few places ahead are fetched while this one is
            // placed: in a table larger than the caches, each key's probe would otherwise
            // wait for memory, one after the other.
            let group = &rest[..n];
            for &(_, hash) in group.iter().take(BATCH_PREFETCH) {
                table.prefetch(hash);
            }
            for (j, &(i, hash)) in group.iter().enumerate() {
                if let Some(&(_, ahead)) = group.get(j + BATCH_PREFETCH) {
                    table.prefetch(ahead);
                }
                previous[i] = upsert(&mut table, hash, &items[i].1, &mut |l| is_key(i, l));
            }
            rest = &rest[n..];
        }
        Ok(previous)
    }

    /// Number of entries (sums the shards; each is read under its lock).
    #[must_use]
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().len()).sum()
    }

    /// The sum of every entry's location length (a log-structured store's live bytes),
    /// kept by each table as entries change: no slot is visited.
    ///
    /// ```
    /// use emdb_index::{HashIndex, Location};
    /// let index = HashIndex::new();
    /// index.insert(b"a", Location::new(0, 10), |_| false)?;
    /// index.insert(b"b", Location::new(10, 30), |_| false)?;
    /// index.insert(b"a", Location::new(40, 12), |_| true)?;
    /// assert_eq!(index.total_len(), 42);
    /// index.remove(b"b", |_| true);
    /// assert_eq!(index.total_len(), 12);
    /// # Ok::<(), emdb_index::Error>(())
    /// ```
    #[must_use]
    pub fn total_len(&self) -> u64 {
        self.shards.iter().map(|s| s.read().bytes()).sum()
    }

    /// Whether the index is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(|s| s.read().len() == 0)
    }

    /// Removes every entry and frees the tables.
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            shard.write().clear();
        }
    }

    /// Makes room for about `additional` more entries, spread over the shards, so a bulk
    /// load does not grow tables step by step.
    pub fn reserve(&self, additional: usize) {
        let per_shard = additional.div_ceil(self.shards.len());
        for shard in self.shards.iter() {
            shard.write().reserve(per_shard + per_shard / 8);
        }
    }

    /// Calls `f` with every location, shard by shard; each shard is read under its lock,
    /// so `f` sees each shard at one instant (not the whole index). The order is the slots'
    /// (shard by shard), the same from one call to the next while the index is not
    /// changed: [`HashIndex::relocate`] relies on it.
    pub fn for_each(&self, mut f: impl FnMut(Location)) {
        for shard in self.shards.iter() {
            shard.read().for_each(&mut f);
        }
    }

    /// Every location, in slot order (unspecified, but the same for an index that did not
    /// change in between: [`HashIndex::relocate`] relies on it): a snapshot to iterate
    /// without holding any lock.
    #[must_use]
    pub fn locations(&self) -> Vec<Location> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each(|l| out.push(l));
        out
    }

    /// Gives every entry a new location: the `i`-th location [`HashIndex::locations`]
    /// returns becomes `new[i]`, with its key unchanged. For a store that rewrote its
    /// records elsewhere (a compaction copying them into a new file) and knows where each
    /// went: the index moves with them at the cost of one pass over its slots, instead of
    /// being rebuilt key by key. The caller keeps the index from changing between the two
    /// calls (every shard is locked only during each).
    ///
    /// ```
    /// use emdb_index::{HashIndex, Location};
    /// let index = HashIndex::new();
    /// index.insert(b"a", Location::new(100, 10), |_| false)?;
    /// index.insert(b"b", Location::new(200, 10).expiring_at(9), |_| false)?;
    /// // Moved to a file of their own, 20 bytes apart, in the order `locations` gave.
    /// let moved: Vec<Location> = index
    ///     .locations()
    ///     .iter()
    ///     .enumerate()
    ///     .map(|(i, l)| Location::new(20 * i as u64, l.len).expiring_at(l.expires_at))
    ///     .collect();
    /// index.relocate(&moved)?;
    /// // (`|_| true`: only the slot of "b" carries the fingerprint of "b".)
    /// let b = index.get(b"b", |_| true).expect("b is kept");
    /// assert!(moved.contains(&b) && b.expires_at == 9);
    /// assert_eq!(index.locations(), moved);
    /// # Ok::<(), emdb_index::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::LocationOutOfRange`] when a new location does not fit, and
    /// [`Error::RelocationCount`] when `new` does not hold one location per entry; then
    /// nothing is changed.
    pub fn relocate(&self, new: &[Location]) -> Result<()> {
        for location in new {
            check(location)?;
        }
        let mut tables: Vec<_> = self.shards.iter().map(|s| s.write()).collect();
        let entries: usize = tables.iter().map(|t| t.len()).sum();
        if entries != new.len() {
            return Err(Error::RelocationCount {
                entries,
                given: new.len(),
            });
        }
        let mut rest = new;
        for table in &mut tables {
            let (mine, after) = rest.split_at(table.len());
            table.relocate(mine);
            rest = after;
        }
        Ok(())
    }

    /// Keeps the entries `keep` approves, shard by shard; returns how many were removed.
    pub fn retain(&self, mut keep: impl FnMut(Location) -> bool) -> usize {
        self.shards.iter().map(|s| s.write().retain(&mut keep)).sum()
    }

    /// How many entries carry an expiry (`expires_at != 0`), counted from the expiries the
    /// tables keep beside their slots: no slot is visited. A store whose index has none
    /// can skip looking for expired entries.
    ///
    /// ```
    /// use emdb_index::{HashIndex, Location};
    ///
    /// let index = HashIndex::new();
    /// index.insert(b"forever", Location::new(0, 8), |_| false)?;
    /// assert_eq!(index.expiring_len(), 0);
    /// index.insert(b"soon", Location::new(8, 8).expiring_at(5), |_| false)?;
    /// assert_eq!(index.expiring_len(), 1);
    /// # Ok::<(), emdb_index::Error>(())
    /// ```
    #[must_use]
    pub fn expiring_len(&self) -> usize {
        self.shards.iter().map(|s| s.read().expiring()).sum()
    }

    /// Slots allocated across the shards (entries divided by this is the load factor).
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.shards.iter().map(|s| s.read().capacity()).sum()
    }

    /// Heap bytes held by the tables (slots and the expiries kept beside them).
    #[must_use]
    pub fn memory_bytes(&self) -> usize {
        self.shards.iter().map(|s| s.read().memory_bytes()).sum::<usize>() + std::mem::size_of_val(&*self.shards)
    }
}

/// A copy of the index (its tables, hasher and seed). Each shard is read under its lock,
/// one after the other: a caller that needs one instant of the whole index keeps writers
/// out meanwhile.
///
/// `clone_from` copies into the tables of the index it is called on, allocating only
/// where a table of the source outgrew its copy: a caller that must copy an index while
/// writers wait (a store capturing its indexes for a compaction or a checkpoint) makes the
/// copy beforehand, then refreshes it with `clone_from` under its locks, which then only
/// moves bytes.
///
/// ```
/// use emdb_index::{HashIndex, Location};
/// let index = HashIndex::with_seed(7, 4);
/// index.insert(b"a", Location::new(0, 10), |_| false)?;
/// let mut copy = index.clone();
/// index.insert(b"b", Location::new(10, 10), |_| false)?;
/// copy.clone_from(&index);
/// assert_eq!(copy.len(), 2);
/// assert_eq!(copy.locations(), index.locations());
/// # Ok::<(), emdb_index::Error>(())
/// ```
impl<S: Clone> Clone for HashIndex<S> {
    fn clone(&self) -> Self {
        HashIndex {
            shards: self.shards.iter().map(|s| Shard::new(s.read().clone())).collect(),
            shard_mask: self.shard_mask,
            hasher: self.hasher.clone(),
            seed: self.seed,
        }
    }

    fn clone_from(&mut self, source: &Self) {
        if self.shards.len() != source.shards.len() {
            *self = source.clone();
            return;
        }
        for (mine, theirs) in self.shards.iter_mut().zip(source.shards.iter()) {
            let table = mine.table.get_mut();
            table.clone_from(&theirs.read());
            mine.hint.set(table.slots_at());
        }
        self.shard_mask = source.shard_mask;
        self.hasher.clone_from(&source.hasher);
        self.seed = source.seed;
    }
}

fn check(location: &Location) -> Result<()> {
    if location.fits() {
        Ok(())
    } else {
        Err(Error::LocationOutOfRange {
            offset: location.offset,
            len: location.len,
        })
    }
}

fn upsert(
    table: &mut Table,
    hash: u64,
    location: &Location,
    is_key: &mut dyn FnMut(Location) -> bool,
) -> Option<Location> {
    match table.find(hash, is_key) {
        Some(at) => Some(table.replace(at, hash, location)),
        None => {
            table.insert_new(hash, location);
            None
        }
    }
}
