//! The journal's error type.

use std::fmt;
use std::path::PathBuf;

use crate::lock::LockHolder;
use crate::lsn::Lsn;

/// Errors returned by the journal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A read, write or sync on a journal file failed.
    #[error("journal I/O failed")]
    Io(#[from] std::io::Error),

    /// The data file holds something other than journal frames; it was not modified.
    #[error("{} is not a journal: its first bytes are not a frame header", path.display())]
    NotAJournal {
        /// The data file.
        path: PathBuf,
    },

    /// A frame failed to validate and valid frames follow it: real damage, not a torn
    /// write. The file was not modified; nothing at or after `offset` is trusted.
    #[error("journal is corrupt at offset {offset}: {reason}")]
    Corrupt {
        /// Byte offset of the first frame that failed.
        offset: u64,
        /// What was wrong with it.
        reason: &'static str,
    },

    /// Another handle, in this process or another, holds the journal's lock.
    #[error("journal is locked by another handle ({}): {}", HolderText(holder.as_ref()), path.display())]
    Busy {
        /// The lock file.
        path: PathBuf,
        /// Who holds it, when its holder file could be read.
        holder: Option<LockHolder>,
    },

    /// The lock file could not be created, read or locked.
    #[error("lock file {} could not be used", path.display())]
    Lock {
        /// The lock file (or its holder file).
        path: PathBuf,
        /// What the operating system reported.
        #[source]
        source: std::io::Error,
    },

    /// The lock holder file exists but is not in the expected format.
    #[error("lock holder file {} is malformed: {reason}", path.display())]
    MalformedLockHolder {
        /// The holder file.
        path: PathBuf,
        /// What was wrong with it.
        reason: &'static str,
    },

    /// An earlier write or sync failed; writes are refused until the journal is reopened.
    #[error("journal poisoned by an earlier failed write or sync; reopen it")]
    Poisoned,

    /// A payload (or one record of a batch) is larger than a frame can hold. The message
    /// names the limit in bytes and rounded to a binary unit ("256 MiB" by default, as
    /// emdb 1.0 says it).
    #[error("record of {len} bytes exceeds the frame limit of {max} bytes ({})", Rounded(*max))]
    TooLarge {
        /// The record's length.
        len: u64,
        /// The largest record the journal accepts.
        max: u64,
    },

    /// A payload starts with a byte the journal keeps for its own frames.
    #[error("payload starts with byte {tag:#04x}, which the journal reserves for its own frames")]
    ReservedTag {
        /// The offending first byte.
        tag: u8,
    },

    /// The journal was opened read-only (damage was found and the caller asked to read
    /// what precedes it), so it cannot be written.
    #[error("journal is open read-only")]
    ReadOnly,

    /// No published, valid frame starts at this LSN.
    #[error("no valid frame at lsn {lsn}")]
    NoFrame {
        /// The LSN asked for.
        lsn: Lsn,
    },

    /// A byte range lies outside the published part of the log.
    #[error("bytes {offset}..{end} lie outside the published log")]
    OutOfRange {
        /// First byte asked for.
        offset: u64,
        /// One past the last byte asked for.
        end: u64,
    },

    /// The sidecar was written by a newer format than this build reads.
    #[error("sidecar {} has format version {found}; this build reads versions 1 to {supported}", path.display())]
    SidecarVersion {
        /// The sidecar file.
        path: PathBuf,
        /// The version it holds.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },

    /// The options passed to open are inconsistent.
    #[error("invalid journal options: {0}")]
    InvalidOptions(&'static str),

    /// An argument was refused (the message says which and why).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),

    /// The caller's [`crate::Replay`] refused a record (or the start of the scan) during
    /// open; the open was abandoned.
    #[error("replay failed at lsn {lsn}")]
    Replay {
        /// The record's frame (or where the scan started).
        lsn: Lsn,
        /// The caller's error.
        #[source]
        source: crate::recovery::ReplayError,
    },

    /// The caller's producer of a placed record ([`crate::Journal::append_placed`],
    /// [`crate::Journal::append_batch_placed`]) failed; nothing was written.
    #[error("the producer of a placed record failed")]
    Placed {
        /// The caller's error.
        #[source]
        source: crate::recovery::ReplayError,
    },

    /// The journal path cannot be used.
    #[error("invalid journal path {}: {reason}", path.display())]
    InvalidPath {
        /// The path as given.
        path: PathBuf,
        /// Why it was refused.
        reason: &'static str,
    },

    /// The fsys substrate failed (Direct I/O writer, sidecar replacement).
    #[error("fsys substrate failed")]
    Fsys(#[from] fsys::Error),
}

/// Shorthand for results whose error is the journal's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

struct HolderText<'a>(Option<&'a LockHolder>);

impl fmt::Display for HolderText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(h) => write!(f, "pid {}", h.pid),
            None => f.write_str("holder unknown"),
        }
    }
}

/// A byte count rounded to the nearest whole binary unit: `(1 << 28) - 1` is "256 MiB".
struct Rounded(u64);

impl fmt::Display for Rounded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const KIB: u64 = 1 << 10;
        const MIB: u64 = 1 << 20;
        const GIB: u64 = 1 << 30;
        let n = self.0;
        let (unit, name) = match n {
            _ if n >= GIB => (GIB, "GiB"),
            _ if n >= MIB => (MIB, "MiB"),
            _ if n >= KIB => (KIB, "KiB"),
            _ => return write!(f, "{n} B"),
        };
        write!(f, "{} {name}", n.saturating_add(unit / 2) / unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_frame_limit_reads_256_mib() {
        let e = Error::TooLarge {
            len: 1 << 28,
            max: crate::frame::MAX_PAYLOAD as u64,
        };
        assert_eq!(
            e.to_string(),
            "record of 268435456 bytes exceeds the frame limit of 268435455 bytes (256 MiB)"
        );
    }

    #[test]
    fn limits_round_to_the_nearest_unit() {
        assert_eq!(Rounded(100).to_string(), "100 B");
        assert_eq!(Rounded(4096).to_string(), "4 KiB");
        assert_eq!(Rounded(1500).to_string(), "1 KiB");
        assert_eq!(Rounded((1 << 28) - 40).to_string(), "256 MiB");
        assert_eq!(Rounded(1 << 30).to_string(), "1 GiB");
    }
}
