//! The packed slot: 16 bytes per entry, the whole of the index's memory per key.
//!
//! ```text
//! word 0: bits  0..4   flags (OCCUPIED, HAS_EXPIRY; the rest zero)
//!         bits  4..32  length (28 bits)
//!         bits 32..64  hash bits 0..32   (the slot's home position is derived from them)
//! word 1: bits  0..48  offset (48 bits)
//!         bits 48..64  hash bits 32..48
//! ```
//!
//! So a slot carries a 48-bit fingerprint of its key's hash: a probe compares it before
//! asking the caller to compare keys, which makes a wasted key comparison about one in
//! 2^48 per probed slot. Expiries do not fit; a slot with one sets HAS_EXPIRY and the
//! table keeps the expiry beside it (see `table.rs`).

use crate::location::Location;

const OCCUPIED: u64 = 1;
const HAS_EXPIRY: u64 = 2;
const KNOWN_FLAGS: u64 = OCCUPIED | HAS_EXPIRY;
const LEN_SHIFT: u32 = 4;
const LEN_MASK: u64 = (1 << 28) - 1;
const OFFSET_MASK: u64 = (1 << 48) - 1;

/// The part of a hash that slots keep.
pub(crate) const FINGERPRINT_MASK: u64 = (1 << 48) - 1;

/// One entry of an open-addressing table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Slot(pub(crate) [u64; 2]);

impl Slot {
    pub(crate) const EMPTY: Slot = Slot([0, 0]);

    /// Packs a location under a key hash. The caller checked `location.fits()`.
    pub(crate) fn new(hash: u64, location: &Location) -> Slot {
        let flags = OCCUPIED | if location.expires_at != 0 { HAS_EXPIRY } else { 0 };
        let w0 = flags | (u64::from(location.len) & LEN_MASK) << LEN_SHIFT | (hash & 0xFFFF_FFFF) << 32;
        let w1 = (location.offset & OFFSET_MASK) | ((hash >> 32) & 0xFFFF) << 48;
        Slot([w0, w1])
    }

    pub(crate) fn is_occupied(self) -> bool {
        self.0[0] & OCCUPIED != 0
    }

    pub(crate) fn has_expiry(self) -> bool {
        self.0[0] & HAS_EXPIRY != 0
    }

    /// Whether the flags are ones this version writes (snapshot validation).
    pub(crate) fn is_well_formed(self) -> bool {
        let flags = self.0[0] & 0xF;
        if flags & !KNOWN_FLAGS != 0 {
            return false;
        }
        // An empty slot is all zero.
        self.is_occupied() || self.0 == [0, 0]
    }

    /// The low 32 bits of the key's hash: what the home position is computed from.
    pub(crate) fn h32(self) -> u32 {
        (self.0[0] >> 32) as u32
    }

    /// The 48-bit fingerprint of the key's hash.
    pub(crate) fn fingerprint(self) -> u64 {
        (self.0[0] >> 32) | (self.0[1] >> 48) << 32
    }

    pub(crate) fn offset(self) -> u64 {
        self.0[1] & OFFSET_MASK
    }

    pub(crate) fn len(self) -> u32 {
        ((self.0[0] >> LEN_SHIFT) & LEN_MASK) as u32
    }

    /// The location, with `expiry` supplied by the table for HAS_EXPIRY slots.
    pub(crate) fn location(self, expiry: u64) -> Location {
        Location {
            offset: self.offset(),
            len: self.len(),
            expires_at: if self.has_expiry() { expiry } else { 0 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_and_unpacks_every_field() {
        let hash = 0xDEAD_BEEF_1234_5678_u64 | 0xABCD << 32;
        let loc = Location::new(Location::MAX_OFFSET, Location::MAX_LEN).expiring_at(77);
        let s = Slot::new(hash, &loc);
        assert!(s.is_occupied() && s.has_expiry() && s.is_well_formed());
        assert_eq!(s.offset(), Location::MAX_OFFSET);
        assert_eq!(s.len(), Location::MAX_LEN);
        assert_eq!(s.h32(), hash as u32);
        assert_eq!(s.fingerprint(), hash & FINGERPRINT_MASK);
        assert_eq!(s.location(77), loc);
        let plain = Slot::new(5, &Location::new(0, 0));
        assert!(plain.is_occupied() && !plain.has_expiry());
        assert_eq!(plain.location(123), Location::new(0, 0));
        assert!(!Slot::EMPTY.is_occupied() && Slot::EMPTY.is_well_formed());
        assert!(!Slot([8, 0]).is_well_formed());
        assert!(!Slot([0, 1]).is_well_formed());
    }
}
