//! Where a record lives: the value the indexes map keys to.

/// The location of a record in a log: its byte offset, its length and its expiry.
///
/// The index stores it packed (see `hash/slot.rs`), so its fields have bounds:
/// `offset <= MAX_OFFSET` (256 TiB) and `len <= MAX_LEN` (256 MiB - 1, a journal frame's
/// limit). `expires_at` is a Unix time in milliseconds, `0` meaning never.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Location {
    /// Byte offset of the record in the log.
    pub offset: u64,
    /// Length of the record in bytes.
    pub len: u32,
    /// When the record expires, Unix milliseconds; `0` = never.
    pub expires_at: u64,
}

impl Location {
    /// Largest offset an index can hold (2^48 - 1).
    pub const MAX_OFFSET: u64 = (1 << 48) - 1;
    /// Largest length an index can hold (2^28 - 1).
    pub const MAX_LEN: u32 = (1 << 28) - 1;

    /// A location that never expires.
    #[must_use]
    pub const fn new(offset: u64, len: u32) -> Self {
        Location {
            offset,
            len,
            expires_at: 0,
        }
    }

    /// The same location with an expiry (Unix milliseconds; `0` = never).
    #[must_use]
    pub const fn expiring_at(self, expires_at: u64) -> Self {
        Location { expires_at, ..self }
    }

    /// Whether the record has expired at `now_ms` (Unix milliseconds).
    #[must_use]
    pub const fn is_expired(&self, now_ms: u64) -> bool {
        self.expires_at != 0 && self.expires_at <= now_ms
    }

    /// Whether an index can store this location.
    #[must_use]
    pub const fn fits(&self) -> bool {
        self.offset <= Self::MAX_OFFSET && self.len <= Self::MAX_LEN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_semantics() {
        let l = Location::new(10, 5);
        assert!(!l.is_expired(u64::MAX), "0 means never");
        let e = l.expiring_at(100);
        assert!(!e.is_expired(99));
        assert!(e.is_expired(100));
        assert!(Location::new(Location::MAX_OFFSET, Location::MAX_LEN).fits());
        assert!(!Location::new(Location::MAX_OFFSET + 1, 0).fits());
        assert!(!Location::new(0, Location::MAX_LEN + 1).fits());
    }
}
