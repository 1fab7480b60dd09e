//! The index's error type.

/// Errors returned by the indexes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A location is outside what the packed index can store.
    #[error("location offset {offset} / length {len} exceeds the index's limits (offset < 2^48, length < 2^28)")]
    LocationOutOfRange {
        /// The offset given.
        offset: u64,
        /// The length given.
        len: u32,
    },
    /// [`HashIndex::relocate`](crate::HashIndex::relocate) was given a number of
    /// locations other than the index's number of entries.
    #[error("relocation gave {given} locations for an index of {entries} entries")]
    RelocationCount {
        /// Entries in the index.
        entries: usize,
        /// Locations given.
        given: usize,
    },
    /// Snapshot bytes are damaged, truncated or not a snapshot.
    #[error("index snapshot is invalid: {reason}")]
    Snapshot {
        /// What was wrong.
        reason: &'static str,
    },
    /// The snapshot was written by a newer format than this build reads.
    #[error("index snapshot has format version {found}; this build reads version {supported}")]
    SnapshotVersion {
        /// The version found.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
}

/// Shorthand for results whose error is the index's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
