//! One shard: an open-addressing table of packed slots with linear probing, and a byte of
//! tag per slot in front of it.
//!
//! * A key's home is `h32 * capacity >> 32` (a multiply, no power-of-two capacity needed),
//!   so the table can grow by half instead of doubling, which keeps the load between
//!   0.57 and 0.85 and the memory per entry between 20 and 30 bytes (16 for the slot, 1
//!   for the tag, divided by the load).
//! * A lookup first reads the four slots from the key's home (one cache line, two at
//!   most), where most keys sit: a hit there costs one miss, not a miss on the tags and
//!   then a dependent one on the slot.
//! * Past them, the tags (0 = empty, else `0x80` and 7 bits of the hash), 1/17 of the
//!   table: the probe scans them and reads a slot only when its tag matches (one in 128
//!   of the other keys), so a long run costs a few tag words, not its slots.
//! * Deletion shifts the following entries back where their probe allows (no
//!   tombstones), so a table never degrades with churn.

use std::collections::HashMap;

use super::slot::{FINGERPRINT_MASK, Slot};
use crate::location::Location;

/// Largest load before the table grows.
const MAX_LOAD_NUM: usize = 85;
const MAX_LOAD_DEN: usize = 100;
/// Slots a lookup reads straight from its home before it scans tags (see `Table::find`).
const DIRECT_PROBES: usize = 4;
/// Smallest non-empty capacity.
const MIN_CAPACITY: usize = 16;

pub(crate) type Expiries = HashMap<u64, u64, foldhash::fast::FixedState>;

/// The table of one shard.
#[derive(Debug, Default)]
pub(crate) struct Table {
    /// One byte per slot: 0 empty, else `tag_of(hash)`.
    tags: Vec<u8>,
    slots: Vec<Slot>,
    len: usize,
    /// The sum of the entries' location lengths (what a store counts as live bytes),
    /// kept as entries change.
    bytes: u64,
    /// Expiries of the slots with HAS_EXPIRY, by offset (an expiry belongs to a record,
    /// and a record has one offset).
    expiries: Expiries,
}

impl Clone for Table {
    fn clone(&self) -> Table {
        Table {
            tags: self.tags.clone(),
            slots: self.slots.clone(),
            len: self.len,
            bytes: self.bytes,
            expiries: self.expiries.clone(),
        }
    }

    /// A copy into this table's memory: no allocation when it is as large as `source`'s.
    fn clone_from(&mut self, source: &Table) {
        self.tags.clone_from(&source.tags);
        self.slots.clone_from(&source.slots);
        self.len = source.len;
        self.bytes = source.bytes;
        self.expiries.clone_from(&source.expiries);
    }
}

impl Table {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The sum of the entries' location lengths.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Entries whose location carries an expiry.
    pub(crate) fn expiring(&self) -> usize {
        self.expiries.len()
    }

    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Bytes this table holds on the heap.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.tags.capacity()
            + self.expiries.capacity() * (2 * std::mem::size_of::<u64>() + 1)
    }

    /// Starts fetching the lines a lookup or an insert of `hash` reads first (its home
    /// slot and its tags), for a caller that gets to it a few keys later (a batch).
    pub(crate) fn prefetch(&self, hash: u64) {
        if self.slots.is_empty() {
            return;
        }
        let at = self.home(hash as u32);
        super::prefetch::prefetch_line(std::ptr::from_ref(&self.slots[at]) as usize);
        super::prefetch::prefetch_line(std::ptr::from_ref(&self.tags[at]) as usize);
    }

    /// Where the slots start and how many there are (for a prefetch hint).
    pub(crate) fn slots_at(&self) -> (usize, usize) {
        (self.slots.as_ptr() as usize, self.slots.len())
    }

    fn home(&self, h32: u32) -> usize {
        home_of(h32, self.slots.len())
    }

    fn next(&self, i: usize) -> usize {
        if i + 1 == self.slots.len() { 0 } else { i + 1 }
    }

    fn location_of(&self, slot: Slot) -> Location {
        let expiry = if slot.has_expiry() {
            self.expiries.get(&slot.offset()).copied().unwrap_or(0)
        } else {
            0
        };
        slot.location(expiry)
    }

    /// Eight tags from `i` as one word (zeros past the end; see `GROUP`), and how many of
    /// them are real (the rest is padding, not empty slots).
    fn group(&self, i: usize) -> (u64, usize) {
        let mut bytes = [0u8; GROUP];
        bytes.copy_from_slice(&self.tags[i..i + GROUP]);
        (u64::from_le_bytes(bytes), (self.slots.len() - i).min(GROUP))
    }

    /// The index of the slot whose key is the caller's: tag and fingerprint equal and
    /// `is_key` true. Scans the tags eight at a time.
    pub(crate) fn find(&self, hash: u64, is_key: &mut dyn FnMut(Location) -> bool) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let tag = tag_of(hash);
        let fingerprint = hash & FINGERPRINT_MASK;
        // Most keys sit within a few slots of their home: those slots are read first, so a
        // hit there costs one cache line of slots (two at most) and no line of tags; a
        // lookup that reads them before its tags waits for two misses, one after the
        // other. Past them, the tags (which skip non-matching slots 8 at a time).
        let mut i = self.home(hash as u32);
        for _ in 0..DIRECT_PROBES.min(self.slots.len()) {
            let slot = self.slots[i];
            if !slot.is_occupied() {
                return None;
            }
            if slot.fingerprint() == fingerprint && is_key(self.location_of(slot)) {
                return Some(i);
            }
            i = self.next(i);
        }
        loop {
            let (word, real) = self.group(i);
            let limit = real_mask(real);
            let empties = !word & HIGH_BITS & limit;
            // Candidates only before the first empty slot: the probe ends there.
            let before_empty = if empties == 0 {
                limit
            } else {
                (empties & empties.wrapping_neg()) - 1
            };
            let mut matches = equal_bytes(word, tag) & before_empty;
            while matches != 0 {
                let at = i + (matches.trailing_zeros() / 8) as usize;
                let slot = self.slots[at];
                if slot.fingerprint() == fingerprint && is_key(self.location_of(slot)) {
                    return Some(at);
                }
                matches &= matches - 1;
            }
            if empties != 0 {
                return None;
            }
            i = (i + real) % self.slots.len();
        }
    }

    pub(crate) fn get(&self, at: usize) -> Location {
        self.location_of(self.slots[at])
    }

    /// Replaces the location in the occupied slot `at` (same key), returning the old one.
    pub(crate) fn replace(&mut self, at: usize, hash: u64, location: &Location) -> Location {
        let old = self.location_of(self.slots[at]);
        self.forget_expiry(self.slots[at]);
        self.slots[at] = Slot::new(hash, location);
        self.tags[at] = tag_of(hash);
        self.remember_expiry(location);
        self.bytes = self.bytes - u64::from(old.len) + u64::from(location.len);
        old
    }

    /// Adds a key known to be absent.
    pub(crate) fn insert_new(&mut self, hash: u64, location: &Location) {
        self.reserve(1);
        self.place(Slot::new(hash, location));
        self.remember_expiry(location);
        self.len += 1;
        self.bytes += u64::from(location.len);
    }

    /// Removes the occupied slot `at`, returning its location.
    pub(crate) fn remove_at(&mut self, at: usize) -> Location {
        let removed = self.slots[at];
        let location = self.location_of(removed);
        self.forget_expiry(removed);
        // Backward shift: an entry further on moves into the hole when the hole lies on
        // its probe path (between its home and where it sits), so no probe ever crosses
        // an empty slot to reach its entry.
        let n = self.slots.len();
        let mut hole = at;
        let mut j = self.next(at);
        while self.tags[j] != 0 {
            let home = self.home(self.slots[j].h32());
            if (hole + n - home) % n < (j + n - home) % n {
                self.slots[hole] = self.slots[j];
                self.tags[hole] = self.tags[j];
                hole = j;
            }
            j = self.next(j);
        }
        self.slots[hole] = Slot::EMPTY;
        self.tags[hole] = 0;
        self.len -= 1;
        self.bytes -= u64::from(location.len);
        location
    }

    fn remember_expiry(&mut self, location: &Location) {
        if location.expires_at != 0 {
            self.expiries.insert(location.offset, location.expires_at);
        }
    }

    fn forget_expiry(&mut self, slot: Slot) {
        if slot.has_expiry() {
            self.expiries.remove(&slot.offset());
        }
    }

    /// Puts a slot whose key is absent in the first empty slot of its probe path;
    /// capacity is available.
    fn place(&mut self, slot: Slot) {
        let mut i = self.home(slot.h32());
        loop {
            let (word, real) = self.group(i);
            let empties = !word & HIGH_BITS & real_mask(real);
            if empties != 0 {
                let at = i + (empties.trailing_zeros() / 8) as usize;
                self.slots[at] = slot;
                self.tags[at] = tag_of_slot(slot);
                return;
            }
            i = (i + real) % self.slots.len();
        }
    }

    /// Makes room for `additional` more entries without exceeding the maximum load.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let needed = self.len + additional;
        if needed * MAX_LOAD_DEN <= self.slots.len() * MAX_LOAD_NUM {
            return;
        }
        let mut capacity = self.slots.len().max(MIN_CAPACITY);
        while needed * MAX_LOAD_DEN > capacity * MAX_LOAD_NUM {
            capacity += capacity / 2;
        }
        self.rebuild(capacity);
    }

    /// Rehashes every slot into a table of `capacity` slots.
    fn rebuild(&mut self, capacity: usize) {
        let old = std::mem::replace(&mut self.slots, vec![Slot::EMPTY; capacity]);
        self.tags = vec![0; capacity + GROUP];
        for slot in old.into_iter().filter(|s| s.is_occupied()) {
            self.place(slot);
        }
    }

    /// Empties the table and frees its memory.
    pub(crate) fn clear(&mut self) {
        *self = Table::default();
    }

    /// Every location, in slot order.
    pub(crate) fn for_each(&self, f: &mut dyn FnMut(Location)) {
        for &slot in self.slots.iter().filter(|s| s.is_occupied()) {
            f(self.location_of(slot));
        }
    }

    /// Keeps the entries `keep` approves; returns how many were removed.
    pub(crate) fn retain(&mut self, keep: &mut dyn FnMut(Location) -> bool) -> usize {
        let before = self.len;
        let mut kept = Vec::with_capacity(self.len);
        let mut dropped = Vec::new();
        for &slot in self.slots.iter().filter(|s| s.is_occupied()) {
            if keep(self.location_of(slot)) {
                kept.push(slot);
            } else {
                dropped.push(slot);
            }
        }
        for slot in dropped {
            self.forget_expiry(slot);
        }
        self.len = kept.len();
        self.bytes = kept.iter().map(|s| u64::from(s.len())).sum();
        let mut capacity = MIN_CAPACITY;
        while self.len * MAX_LOAD_DEN > capacity * MAX_LOAD_NUM {
            capacity += capacity / 2;
        }
        let capacity = if self.len == 0 { 0 } else { capacity };
        self.slots = vec![Slot::EMPTY; capacity];
        self.tags = vec![0; if capacity == 0 { 0 } else { capacity + GROUP }];
        for slot in kept {
            self.place(slot);
        }
        before - self.len
    }

    /// Gives the entries new locations: the `i`-th occupied slot (in the order of
    /// `for_each`) gets `new[i]`, which the caller checked fits and has the same key. The
    /// slots keep their places, since a key's place depends on its hash alone; the
    /// expiries are keyed by the new offsets. `new` holds exactly `len` locations.
    pub(crate) fn relocate(&mut self, new: &[Location]) {
        debug_assert_eq!(new.len(), self.len);
        let mut next = new.iter();
        self.expiries.clear();
        self.bytes = new.iter().map(|l| u64::from(l.len)).sum();
        for slot in self.slots.iter_mut().filter(|s| s.is_occupied()) {
            let Some(location) = next.next() else { break };
            *slot = Slot::new(slot.fingerprint(), location);
            if location.expires_at != 0 {
                self.expiries.insert(location.offset, location.expires_at);
            }
        }
    }

    /// The raw parts, for snapshots.
    pub(crate) fn parts(&self) -> (&[Slot], &Expiries) {
        (&self.slots, &self.expiries)
    }

    /// A table from raw parts, checked: every slot well formed, the count right, every
    /// expiring slot's expiry present, and every slot reachable from its home.
    pub(crate) fn from_parts(slots: Vec<Slot>, expiries: Expiries) -> Result<Table, &'static str> {
        // One pass over the slots: the runs of occupied slots are walked from just after an
        // empty slot, so that no run wraps unseen.
        let n = slots.len();
        let mut survey = Survey::new(n);
        let start = slots.iter().position(|s| !s.is_occupied()).unwrap_or(0);
        let mut run = 0;
        for i in (start + 1..n).chain(0..(start + 1).min(n)) {
            let slot = slots[i];
            if slot.is_occupied() {
                survey.occupied(i, slot, run, &expiries);
                run += 1;
            } else {
                survey.well_formed &= slot.is_well_formed();
                run = 0;
            }
        }
        survey.finish(slots, expiries)
    }

    /// A table from its occupancy (bit `i % 64` of `words[i / 64]` set for each occupied
    /// slot `i` of `capacity`) and its occupied slots in slot order, checked as
    /// [`Table::from_parts`] checks it, in one pass over the occupied slots alone (a
    /// reopen writes each slot once and reads none back). `words` holds exactly
    /// `capacity.div_ceil(64)` words.
    pub(crate) fn from_occupancy(
        capacity: usize,
        words: &[u64],
        mut stored: impl ExactSizeIterator<Item = Slot>,
        expiries: Expiries,
    ) -> Result<Table, &'static str> {
        let n = capacity;
        debug_assert_eq!(words.len(), n.div_ceil(64));
        if !n.is_multiple_of(64) && words.last().is_some_and(|&w| w >> (n % 64) != 0) {
            return Err("occupancy bits past the capacity");
        }
        let occupied: usize = words.iter().map(|w| w.count_ones() as usize).sum();
        match occupied.cmp(&stored.len()) {
            std::cmp::Ordering::Greater => return Err("fewer slots than occupancy bits"),
            std::cmp::Ordering::Less => return Err("more slots than occupancy bits"),
            std::cmp::Ordering::Equal => {}
        }
        let is_occupied = |i: usize| words[i / 64] >> (i % 64) & 1 == 1;
        // The run of occupied slots that ends the table continues at slot 0.
        let mut tail = 0;
        while tail < n && is_occupied(n - 1 - tail) {
            tail += 1;
        }
        let mut slots = vec![Slot::EMPTY; n];
        let mut survey = Survey::new(n);
        // `run`: the occupied slots before this one in its run; `next`: the slot that
        // continues the run.
        let (mut run, mut next) = (0usize, usize::MAX);
        for (w, &word) in words.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let Some(slot) = stored.next() else {
                    return Err("fewer slots than occupancy bits");
                };
                survey.all_occupied &= slot.is_occupied();
                run = if i == next {
                    run + 1
                } else if i == 0 {
                    tail
                } else {
                    0
                };
                next = i + 1;
                slots[i] = slot;
                survey.occupied(i, slot, run, &expiries);
            }
        }
        survey.finish(slots, expiries)
    }
}

/// What a restore finds of a table's invariants, slot by slot; judged once, at the end, so
/// that the loop over the slots only accumulates.
struct Survey {
    capacity: usize,
    tags: Vec<u8>,
    len: usize,
    bytes: u64,
    expiring: usize,
    all_occupied: bool,
    well_formed: bool,
    reachable: bool,
    expiries_found: bool,
}

impl Survey {
    fn new(capacity: usize) -> Survey {
        Survey {
            capacity,
            tags: vec![0; if capacity == 0 { 0 } else { capacity + GROUP }],
            len: 0,
            bytes: 0,
            expiring: 0,
            all_occupied: true,
            well_formed: true,
            reachable: true,
            expiries_found: true,
        }
    }

    /// The occupied `slot` at `i`, with `run` occupied slots before it in its run: its
    /// home must lie inside the run, at or before it, or a probe from the home would
    /// stop at an empty slot and never find it.
    fn occupied(&mut self, i: usize, slot: Slot, run: usize, expiries: &Expiries) {
        let n = self.capacity;
        self.well_formed &= slot.is_well_formed();
        self.len += 1;
        self.bytes += u64::from(slot.len());
        self.tags[i] = tag_of_slot(slot);
        let home = home_of(slot.h32(), n);
        let displacement = if i >= home { i - home } else { i + n - home };
        self.reachable &= displacement <= run;
        if slot.has_expiry() {
            self.expiring += 1;
            self.expiries_found &= expiries.contains_key(&slot.offset());
        }
    }

    /// The table, if every check held.
    fn finish(self, slots: Vec<Slot>, expiries: Expiries) -> Result<Table, &'static str> {
        let n = slots.len();
        if !self.all_occupied {
            return Err("a stored slot is not occupied");
        }
        if !self.well_formed {
            return Err("a slot has unknown flags");
        }
        // The load bound also guarantees an empty slot, which ends every probe (and every
        // run above).
        if self.len * MAX_LOAD_DEN > n * MAX_LOAD_NUM {
            return Err("a table is fuller than any this version builds");
        }
        if !self.reachable {
            return Err("a slot is not reachable from its home");
        }
        if !self.expiries_found {
            return Err("an expiring slot has no expiry");
        }
        if self.expiring < expiries.len() {
            return Err("an expiry belongs to no slot");
        }
        Ok(Table {
            tags: self.tags,
            slots,
            len: self.len,
            bytes: self.bytes,
            expiries,
        })
    }
}

/// The home of a key whose hash has `h32` as its low 32 bits, in a table of `capacity`
/// slots.
pub(crate) fn home_of(h32: u32, capacity: usize) -> usize {
    ((u64::from(h32) * capacity as u64) >> 32) as usize
}

/// Tags scanned at once. The tag array carries this many zero bytes of padding past the
/// last slot, so a group can always be read whole; they are masked out, never taken for
/// empty slots.
const GROUP: usize = 8;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
const LOW_BITS: u64 = 0x7F7F_7F7F_7F7F_7F7F;

/// Mask of the first `real` bytes of a group.
fn real_mask(real: usize) -> u64 {
    if real >= GROUP {
        u64::MAX
    } else {
        (1u64 << (real * 8)) - 1
    }
}

/// High bit of each byte of `word` equal to `tag` (exact: no false positives).
fn equal_bytes(word: u64, tag: u8) -> u64 {
    let x = word ^ (u64::from(tag) * 0x0101_0101_0101_0101);
    !(((x & LOW_BITS) + LOW_BITS) | x | LOW_BITS)
}

/// The tag byte of a key's hash: high bit set (0 means empty), 7 bits from hash bits
/// 32..39, which neither the home position (bits 0..32) nor the shard (bits 48..64) uses.
fn tag_of(hash: u64) -> u8 {
    0x80 | ((hash >> 32) & 0x7F) as u8
}

fn tag_of_slot(slot: Slot) -> u8 {
    tag_of(slot.fingerprint())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_of(i: u64) -> u64 {
        i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i << 17)
    }

    #[test]
    fn insert_find_replace_remove() {
        let mut t = Table::default();
        for i in 0..1000u64 {
            t.insert_new(hash_of(i), &Location::new(i, i as u32));
        }
        assert_eq!(t.len(), 1000);
        assert!(t.len() * 100 <= t.capacity() * 85);
        for i in 0..1000u64 {
            let at = t.find(hash_of(i), &mut |l| l.offset == i).expect("present");
            assert_eq!(t.get(at), Location::new(i, i as u32));
        }
        assert!(t.find(hash_of(5000), &mut |_| true).is_none());
        let at = t.find(hash_of(7), &mut |l| l.offset == 7).expect("present");
        let old = t.replace(at, hash_of(7), &Location::new(7, 1).expiring_at(99));
        assert_eq!(old, Location::new(7, 7));
        let at = t.find(hash_of(7), &mut |l| l.offset == 7).expect("present");
        assert_eq!(t.get(at).expires_at, 99);
        for i in (0..1000u64).step_by(2) {
            let at = t.find(hash_of(i), &mut |l| l.offset == i).expect("present");
            t.remove_at(at);
        }
        assert_eq!(t.len(), 500);
        for i in 0..1000u64 {
            assert_eq!(
                t.find(hash_of(i), &mut |l| l.offset == i).is_some(),
                i % 2 == 1,
                "key {i}"
            );
        }
        let (slots, expiries) = t.parts();
        assert!(Table::from_parts(slots.to_vec(), expiries.clone()).is_ok());
    }

    /// Keys whose home is the last slot: their run wraps to the front of the table and is
    /// longer than the slots a lookup reads before its tags, so both halves of `find`
    /// (and the wrap) are walked; a key absent from a long run is not found.
    #[test]
    fn long_runs_across_the_end_of_the_table_are_probed_whole() {
        let mut t = Table::default();
        // h32 = u32::MAX puts the home at the last slot whatever the capacity; the bits
        // above give each key its own tag (bits 32..39) or only its own fingerprint.
        let hash = |i: u64| (i << 32) | (i << 40) | 0xFFFF_FFFF;
        for i in 0..40u64 {
            t.insert_new(hash(i), &Location::new(i, 1));
        }
        for i in 0..40u64 {
            let at = t.find(hash(i), &mut |l| l.offset == i).expect("present");
            assert_eq!(t.get(at).offset, i, "key {i}");
        }
        assert!(t.find(hash(99), &mut |_| true).is_none(), "absent from the run");
        assert!(t.find(hash(3), &mut |_| false).is_none(), "no slot is the caller's key");
        for i in (0..40u64).step_by(3) {
            let at = t.find(hash(i), &mut |l| l.offset == i).expect("present");
            t.remove_at(at);
        }
        for i in 0..40u64 {
            assert_eq!(t.find(hash(i), &mut |l| l.offset == i).is_some(), i % 3 != 0, "key {i}");
        }
    }

    #[test]
    fn identical_hashes_are_told_apart_by_the_caller() {
        let mut t = Table::default();
        for i in 0..100u64 {
            t.insert_new(42, &Location::new(i, 1));
        }
        for i in 0..100u64 {
            assert!(t.find(42, &mut |l| l.offset == i).is_some());
        }
        let removed = t.retain(&mut |l| l.offset >= 50);
        assert_eq!((removed, t.len()), (50, 50));
        assert!(t.find(42, &mut |l| l.offset == 10).is_none());
        assert!(t.find(42, &mut |l| l.offset == 60).is_some());
    }

    #[test]
    fn damaged_parts_are_refused() {
        let mut t = Table::default();
        for i in 0..50u64 {
            t.insert_new(hash_of(i), &Location::new(i, 1).expiring_at(if i == 3 { 9 } else { 0 }));
        }
        let (slots, expiries) = t.parts();
        let mut bad = slots.to_vec();
        let first = bad.iter().position(|s| s.is_occupied()).expect("one");
        bad[first].0[0] |= 8;
        assert!(Table::from_parts(bad, expiries.clone()).is_err());
        assert!(Table::from_parts(slots.to_vec(), Expiries::default()).is_err());
        let mut extra = expiries.clone();
        extra.insert(123_456, 1);
        assert!(Table::from_parts(slots.to_vec(), extra).is_err());
    }

    /// The occupancy words and the occupied slots of `slots`, as a version 3 snapshot
    /// stores them.
    fn occupancy(slots: &[Slot]) -> (Vec<u64>, Vec<Slot>) {
        let mut words = vec![0u64; slots.len().div_ceil(64)];
        for (i, _) in slots.iter().enumerate().filter(|(_, s)| s.is_occupied()) {
            words[i / 64] |= 1 << (i % 64);
        }
        (words, slots.iter().copied().filter(|s| s.is_occupied()).collect())
    }

    /// A restore from the occupancy alone judges every table as a restore from all its
    /// slots does, and builds the same table: whole tables (runs that wrap past the end
    /// included) and tables whose slots were swapped, moved to an empty place or damaged.
    #[test]
    fn a_restore_from_occupancy_judges_as_one_from_every_slot() {
        let mut rng = fastrand::Rng::with_seed(0x0cc);
        let (mut accepted, mut refused) = (0, 0);
        for round in 0..2000 {
            let mut t = Table::default();
            let wrap = rng.bool();
            for i in 0..rng.u64(1..300) {
                // Homes at the table's last slots now and then, so runs wrap to slot 0.
                let h = if wrap && rng.u8(..3) == 0 {
                    (rng.u64(..) << 32) | (0xFFFF_FF00 | rng.u64(..256))
                } else {
                    rng.u64(..)
                };
                t.insert_new(h, &Location::new(i, 1).expiring_at(if i % 7 == 0 { 5 } else { 0 }));
            }
            let (slots, expiries) = t.parts();
            let mut slots = slots.to_vec();
            let n = slots.len();
            let occupied: Vec<usize> = (0..n).filter(|&i| slots[i].is_occupied()).collect();
            let empty: Vec<usize> = (0..n).filter(|&i| !slots[i].is_occupied()).collect();
            match round % 4 {
                0 => {}
                1 => slots.swap(rng.usize(..n), rng.usize(..n)),
                2 => {
                    let (from, to) = (occupied[rng.usize(..occupied.len())], empty[rng.usize(..empty.len())]);
                    slots.swap(from, to);
                }
                _ => {
                    // Any bit but the occupied flag (a snapshot stores occupied slots only).
                    let at = occupied[rng.usize(..occupied.len())];
                    let bit = rng.u32(1..128);
                    slots[at].0[(bit / 64) as usize] ^= 1 << (bit % 64);
                }
            }
            let whole = Table::from_parts(slots.clone(), expiries.clone());
            let (words, stored) = occupancy(&slots);
            let sparse = Table::from_occupancy(n, &words, stored.into_iter(), expiries.clone());
            match (whole, sparse) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(
                        (a.slots, a.tags, a.len, a.bytes),
                        (b.slots, b.tags, b.len, b.bytes),
                        "round {round}"
                    );
                    accepted += 1;
                }
                (Err(_), Err(_)) => refused += 1,
                (a, b) => panic!(
                    "round {round}: from every slot {:?}, from the occupancy {:?}",
                    a.err(),
                    b.err()
                ),
            }
        }
        // Both kinds of verdict were reached, so the agreement means something.
        assert!(
            accepted > 500 && refused > 100,
            "{accepted} accepted, {refused} refused"
        );
    }
}
