//! Snapshots of the hash index: its tables as bytes, so a store reopens without
//! rebuilding the index from its log.
//!
//! ```text
//! offset  size  field (all little-endian)
//! 0       8     magic "EMDBHIX\0"
//! 8       4     format version = 3
//! 12      4     shard count (a power of two)
//! 16      8     hasher seed
//! 24      8     total entries
//! 32      8     known answer: the hasher's output for fixed probe keys under the seed
//! then for each shard, in order:
//!         8     capacity c (slots)
//!         8     expiry count e
//!         8     occupied slots o
//!         8*⌈c/64⌉  occupancy: bit i of word i/64 set for an occupied slot i
//!         16*o  the occupied slots, in slot order: word 0 then word 1 (see slot.rs)
//!         16*e  expiries: offset then expiry (Unix ms)
//! end     4     CRC-32C of every byte before it
//! ```
//!
//! Only occupied slots are stored (15 % of a table is empty at its fullest, 43 % just
//! after growth): the occupancy bits say where each goes. Version 2, which stored all `c`
//! slots after the expiry count, is still read.
//!
//! Loading copies the tables back as they were (no rehashing), after checking the CRC,
//! every length against the bytes present, and each table's invariants; a damaged or
//! truncated snapshot is an error, never a panic, and never allocates more than 136 bytes
//! of table for each byte of it (a 16-byte slot and a tag byte for each occupancy bit).
//!
//! The tables are laid out by the hasher, whose output foldhash does not promise to keep
//! across releases. The known answer ties a snapshot to the hasher that wrote it: a build
//! whose hasher answers the probes differently refuses the snapshot
//! ([`Error::Snapshot`]), and the store rebuilds the index from its log instead of looking
//! keys up in slots laid out by another function. Version 1 had no known answer and is
//! refused the same way.

use parking_lot::RwLockReadGuard;

use super::slot::Slot;
use super::table::Table;
use super::{HashIndex, SeededHasher, Shard};
use crate::error::{Error, Result};

const MAGIC: [u8; 8] = *b"EMDBHIX\0";
const VERSION: u32 = 3;
/// The last version that stored every slot, empty ones included (still read).
const DENSE_VERSION: u32 = 2;
const HEADER: usize = 40;

/// The probe keys of the known answer: empty, short, medium and long, so that each of the
/// hasher's length paths takes part.
const PROBES: [&[u8]; 4] = [
    b"",
    b"k",
    b"emdb-index",
    b"a probe key long enough for the bulk path of the hash",
];

/// The hasher's answer to [`PROBES`] under this index's seed.
fn known_answer(index: &HashIndex<SeededHasher>) -> u64 {
    PROBES
        .iter()
        .enumerate()
        .fold(0, |acc, (i, probe)| acc ^ index.hash(probe).rotate_left(16 * i as u32))
}

impl HashIndex<SeededHasher> {
    /// The index as bytes (format in the module docs). Every shard is read-locked for the
    /// duration of the copy, so the snapshot is one instant of the whole index; writers
    /// wait that long (about a millisecond per 100,000 entries).
    #[must_use]
    pub fn snapshot(&self) -> Vec<u8> {
        let guards: Vec<RwLockReadGuard<'_, Table>> = self.shards.iter().map(Shard::read).collect();
        let size = HEADER
            + 4
            + guards
                .iter()
                .map(|t| {
                    let (slots, expiries) = t.parts();
                    24 + 8 * slots.len().div_ceil(64) + 16 * t.len() + 16 * expiries.len()
                })
                .sum::<usize>();
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(guards.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.seed.to_le_bytes());
        out.extend_from_slice(&(guards.iter().map(|t| t.len()).sum::<usize>() as u64).to_le_bytes());
        out.extend_from_slice(&known_answer(self).to_le_bytes());
        for table in &guards {
            let (slots, expiries) = table.parts();
            out.extend_from_slice(&(slots.len() as u64).to_le_bytes());
            out.extend_from_slice(&(expiries.len() as u64).to_le_bytes());
            out.extend_from_slice(&(table.len() as u64).to_le_bytes());
            for word in slots.chunks(64) {
                let bits = word
                    .iter()
                    .enumerate()
                    .fold(0u64, |bits, (i, s)| bits | u64::from(s.is_occupied()) << i);
                out.extend_from_slice(&bits.to_le_bytes());
            }
            for slot in slots.iter().filter(|s| s.is_occupied()) {
                out.extend_from_slice(&slot.0[0].to_le_bytes());
                out.extend_from_slice(&slot.0[1].to_le_bytes());
            }
            for (offset, expiry) in expiries {
                out.extend_from_slice(&offset.to_le_bytes());
                out.extend_from_slice(&expiry.to_le_bytes());
            }
        }
        drop(guards);
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// An index loaded from [`HashIndex::snapshot`] bytes, with the seed it was saved with.
    ///
    /// # Errors
    ///
    /// [`Error::Snapshot`] for damaged, truncated or foreign bytes, and
    /// [`Error::SnapshotVersion`] for a newer format.
    pub fn from_snapshot(bytes: &[u8]) -> Result<Self> {
        Self::load(bytes, true)
    }

    /// [`HashIndex::from_snapshot`] without checking the snapshot's own CRC, for a store
    /// that keeps the bytes under a checksum of its own and has checked it (a reopen then
    /// reads the index once, not twice). Every other check is made: damaged bytes are an
    /// error, never a panic or an index that misleads a lookup into a hang.
    ///
    /// # Errors
    ///
    /// As [`HashIndex::from_snapshot`], but for a checksum mismatch.
    pub fn from_verified_snapshot(bytes: &[u8]) -> Result<Self> {
        Self::load(bytes, false)
    }

    fn load(bytes: &[u8], check_crc: bool) -> Result<Self> {
        let bad = |reason| Error::Snapshot { reason };
        if bytes.len() < HEADER + 4 || bytes[..8] != MAGIC {
            return Err(bad("not an index snapshot (bad magic or too short)"));
        }
        let version = u32_at(bytes, 8);
        if version != VERSION && version != DENSE_VERSION {
            return Err(if version > VERSION {
                Error::SnapshotVersion {
                    found: version,
                    supported: VERSION,
                }
            } else {
                bad("written before snapshots carried their hasher's known answer")
            });
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        if check_crc && crc32c::crc32c(body) != u32_at(crc, 0) {
            return Err(bad("checksum mismatch"));
        }
        let shards = u32_at(body, 12) as usize;
        if shards == 0 || !shards.is_power_of_two() || shards > 1 << 16 {
            return Err(bad("shard count is not a power of two up to 65536"));
        }
        let seed = u64_at(body, 16);
        let total = u64_at(body, 24);
        // Every shard has a 16-byte header: checked before anything is allocated for them.
        if (body.len() - HEADER) / 16 < shards {
            return Err(bad("truncated shard header"));
        }
        let mut index = HashIndex::with_seed(seed, shards);
        if known_answer(&index) != u64_at(body, 32) {
            return Err(bad("laid out by a different hash function"));
        }
        let mut rest = &body[HEADER..];
        let mut tables = Vec::with_capacity(shards);
        let mut counted = 0u64;
        for _ in 0..shards {
            let capacity = take_u64(&mut rest).ok_or(bad("truncated shard header"))?;
            let expiry_count = take_u64(&mut rest).ok_or(bad("truncated shard header"))?;
            let table = if version == DENSE_VERSION {
                let slot_bytes = take(&mut rest, capacity, 16).ok_or(bad("slots run past the end"))?;
                let slots = slot_bytes.chunks_exact(16).map(slot_at).collect();
                let expiries = take_expiries(&mut rest, expiry_count).map_err(bad)?;
                Table::from_parts(slots, expiries)
            } else {
                let occupied = take_u64(&mut rest).ok_or(bad("truncated shard header"))?;
                let words = take(&mut rest, capacity.div_ceil(64), 8).ok_or(bad("occupancy runs past the end"))?;
                let stored = take(&mut rest, occupied, 16).ok_or(bad("slots run past the end"))?;
                let expiries = take_expiries(&mut rest, expiry_count).map_err(bad)?;
                // Bounded by the bytes present: `capacity` is at most 8 bits of occupancy a
                // byte.
                let capacity = usize::try_from(capacity).map_err(|_| bad("capacity too large"))?;
                let words: Vec<u64> = words.chunks_exact(8).map(|w| u64_at(w, 0)).collect();
                Table::from_occupancy(capacity, &words, stored.chunks_exact(16).map(slot_at), expiries)
            }
            .map_err(bad)?;
            counted += table.len() as u64;
            tables.push(table);
        }
        if !rest.is_empty() {
            return Err(bad("bytes after the last shard"));
        }
        if counted != total {
            return Err(bad("entry count does not match the tables"));
        }
        index.shards = tables.into_iter().map(Shard::new).collect();
        Ok(index)
    }
}

fn slot_at(bytes: &[u8]) -> Slot {
    Slot([u64_at(bytes, 0), u64_at(bytes, 8)])
}

/// A shard's expiries (offset, then expiry), split off the front of `rest`.
fn take_expiries(rest: &mut &[u8], count: u64) -> Result<super::table::Expiries, &'static str> {
    let bytes = take(rest, count, 16).ok_or("expiries run past the end")?;
    Ok(bytes.chunks_exact(16).map(|c| (u64_at(c, 0), u64_at(c, 8))).collect())
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(x)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

fn take_u64(rest: &mut &[u8]) -> Option<u64> {
    let bytes = take(rest, 1, 8)?;
    Some(u64_at(bytes, 0))
}

/// Splits `count * size` bytes off the front of `rest`, if that many are there.
fn take<'a>(rest: &mut &'a [u8], count: u64, size: usize) -> Option<&'a [u8]> {
    let n = usize::try_from(count).ok()?.checked_mul(size)?;
    if n > rest.len() {
        return None;
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Some(head)
}
