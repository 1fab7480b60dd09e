//! Point-in-time statistics.

/// A point-in-time snapshot of a database's size and shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EmdbStats {
    /// Entries across all namespaces, the default one included (expired entries not yet
    /// swept count, as in emdb 1.0).
    pub live_records: u64,
    /// Named namespaces (the default one is not counted).
    pub namespace_count: usize,
    /// Bytes of valid log.
    pub logical_size_bytes: u64,
    /// Bytes of the file on disk (at least `logical_size_bytes`).
    pub file_size_bytes: u64,
    /// Space reserved past the log's end (`file_size_bytes - logical_size_bytes`): made
    /// by appends, cut when the database closes and absent from compaction's output.
    pub preallocated_bytes: u64,
    /// Whether the range index is kept.
    pub range_scans_enabled: bool,
    /// Whether the database is encrypted.
    pub encrypted: bool,
    /// Bytes of the log the live entries' records take.
    pub live_bytes: u64,
    /// Bytes of the log nothing points at any more (replaced and removed records,
    /// tombstones, frame headers): what compaction would reclaim.
    pub dead_bytes: u64,
    /// Whether this open loaded the indexes saved by a checkpoint (`false`: it rebuilt them
    /// from the whole log, because there was no usable checkpoint).
    pub opened_from_checkpoint: bool,
    /// Bytes of log the open scanned.
    pub recovery_scanned_bytes: u64,
    /// Heap bytes of the hash indexes (the RAM cost of the keys: about 21 bytes each).
    pub index_memory_bytes: u64,
}
