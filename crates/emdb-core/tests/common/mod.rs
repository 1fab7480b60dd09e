//! Helpers shared by the async integration tests.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use emdb_core::AsyncEmdb;

/// How long a test waits for something that must happen before it calls it a hang. Not a
/// timing assertion: every wait here finishes in milliseconds unless the code is broken.
pub const HANG: Duration = Duration::from_secs(30);

/// The key of record `i`: fixed width, so byte order is numeric order.
pub fn key(i: usize) -> Vec<u8> {
    format!("k{i:08}").into_bytes()
}

/// The value of record `i`.
pub fn value(i: usize) -> Vec<u8> {
    format!("value-{i}").into_bytes()
}

/// The index of a key made by [`key`].
pub fn index_of(key: &[u8]) -> usize {
    std::str::from_utf8(&key[1..])
        .ok()
        .and_then(|s| s.parse().ok())
        .expect("a key made by common::key")
}

/// A fresh temporary directory and a database path inside it (nothing is created yet).
pub fn temp_path(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    (dir, path)
}

/// Opens `path` with range scans, asynchronously.
pub async fn open_ranged(path: &Path) -> AsyncEmdb {
    AsyncEmdb::builder()
        .path(path)
        .enable_range_scans(true)
        .build_async()
        .await
        .expect("open with range scans")
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

/// Waits (asynchronously, polling) until `done` holds; panics after [`HANG`].
pub async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < HANG, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
