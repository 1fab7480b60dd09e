//! The engine's side of [`crate::EmdbStats`]: sizes and counts, read at one instant.

use super::Inner;
use crate::error::Result;
use crate::stats::EmdbStats;

impl Inner {
    /// A point-in-time snapshot of sizes and counts.
    pub(crate) fn stats(&self) -> Result<EmdbStats> {
        let state = self.state.load();
        let journal = state.journal.stats()?;
        // Live bytes: those of the records the indexes point at (each index keeps their
        // sum); the rest of the log is dead (replaced or removed records, tombstones,
        // frame headers).
        let (live, memory, live_bytes) = {
            let spaces = state.spaces.read();
            spaces
                .values()
                .chain([&state.default])
                .fold((0u64, 0u64, 0u64), |(n, m, b), s| {
                    (
                        n + s.index.len() as u64,
                        m + s.index.memory_bytes() as u64,
                        b + s.index.total_len(),
                    )
                })
        };
        let logical = journal.end.get();
        Ok(EmdbStats {
            live_records: live,
            namespace_count: self.registry.lock().names.len(),
            logical_size_bytes: logical,
            file_size_bytes: journal.file_len.max(logical),
            preallocated_bytes: journal.file_len.saturating_sub(logical),
            range_scans_enabled: self.range_scans,
            encrypted: state.codec.is_sealed(),
            live_bytes: live_bytes.min(logical),
            dead_bytes: logical.saturating_sub(live_bytes),
            opened_from_checkpoint: self.opened.0,
            recovery_scanned_bytes: self.opened.1,
            index_memory_bytes: memory,
        })
    }
}
