//! The async suites' databases (feature `async`).

use std::path::{Path, PathBuf};

use emdb_core::AsyncEmdb;

use super::{key, ranged, temp_path, value};

/// Opens `path` with range scans, asynchronously.
pub async fn open_ranged(path: &Path) -> AsyncEmdb {
    ranged(path).build_async().await.expect("open with range scans")
}

/// A database with range scans holding records `0..n` of [`key`] / [`value`].
pub async fn filled(n: usize) -> (tempfile::TempDir, PathBuf, AsyncEmdb) {
    let (dir, path) = temp_path("filled.emdb");
    let db = open_ranged(&path).await;
    for start in (0..n).step_by(10_000) {
        let batch: Vec<(Vec<u8>, Vec<u8>)> = (start..n.min(start + 10_000)).map(|i| (key(i), value(i))).collect();
        db.insert_many(batch).await.expect("insert_many");
    }
    (dir, path, db)
}
