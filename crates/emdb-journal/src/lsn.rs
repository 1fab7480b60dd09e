//! Log sequence numbers: the byte offset of a frame in the log.

use std::fmt;

/// The position of a frame in the log: the byte offset of its first header byte.
///
/// LSNs are unique per frame and increase in append order, so they double as a total order
/// of writes. The journal's durable frontier ([`crate::Journal::durable_lsn`]) and its end
/// ([`crate::Journal::end`]) are LSNs too: they name the byte just past the last frame they
/// cover, which is where the next frame starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lsn(u64);

impl Lsn {
    /// The start of the log.
    pub const ZERO: Lsn = Lsn(0);

    /// Wraps a byte offset.
    #[must_use]
    pub const fn new(offset: u64) -> Self {
        Lsn(offset)
    }

    /// The byte offset this LSN names.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl From<u64> for Lsn {
    fn from(offset: u64) -> Self {
        Lsn(offset)
    }
}

impl From<Lsn> for u64 {
    fn from(lsn: Lsn) -> Self {
        lsn.0
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
