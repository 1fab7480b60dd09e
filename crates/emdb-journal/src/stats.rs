//! Counters and positions a journal reports.

use crate::lsn::Lsn;
use crate::options::SyncPolicy;

/// A point-in-time view of a journal's positions and counters.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct JournalStats {
    /// Where the next frame goes.
    pub end: Lsn,
    /// Everything below this is in the file and visible to readers.
    pub published: Lsn,
    /// Everything below this is durable.
    pub durable: Lsn,
    /// The data file's length, preallocated space included.
    pub file_len: u64,
    /// Frames appended since open.
    pub frames_appended: u64,
    /// Records appended since open (a batch counts each of its records).
    pub records_appended: u64,
    /// Bytes appended since open, frame overhead included.
    pub bytes_appended: u64,
    /// Durability operations issued since open (syncs, and write-through writes).
    pub syncs: u64,
    /// Positional writes issued since open.
    pub writes: u64,
    /// The sync policy in force.
    pub policy: SyncPolicy,
    /// Whether appends go through fsys's Direct I/O journal.
    pub direct_io: bool,
    /// The durability primitive the journal uses here (`fdatasync`, `O_DSYNC write`,
    /// `F_FULLFSYNC`, `FlushFileBuffers`).
    pub durability_primitive: &'static str,
    /// The strongest primitive fsys found on this device (its probe covers NVMe flush
    /// passthrough and power-loss protection), for operators comparing the two.
    pub device_primitive: &'static str,
    /// Whether the journal is read-only (opened past damage).
    pub read_only: bool,
}
