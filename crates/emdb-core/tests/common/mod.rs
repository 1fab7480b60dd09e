//! Helpers shared by emdb-core's integration tests.
//!
//! What is tested here, through `emdb_core::` directly so the engine can be changed and
//! tested without the facade: the engine's mechanisms. Checkpoints and index snapshots,
//! sidecars, compaction, the replay of damaged files, file sizes and the reserve, staging
//! and scratch files, permission bits across rewrites, the stripes and the range index
//! (builds racing writers, a `BTreeMap` model), statistics, the async wrappers. What a user
//! of the `emdb` crate is promised (the public API of docs/COMPATIBILITY.md, emdb 1.0 and
//! its files, the facade's features, docs examples, the encryption admin, kills of a user
//! program) is tested in `crates/emdb/tests/` (see its `common/mod.rs`).
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::ffi::OsString;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use emdb_core::{Emdb, EmdbBuilder};

#[cfg(feature = "async")]
pub mod aio;
pub mod damage;
#[cfg(all(feature = "io-trace", unix))]
pub mod powercut;

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

/// Key `k` of writer `writer` in the concurrency tests.
pub fn writer_key(writer: impl Display, k: impl Display) -> String {
    format!("w{writer}/{k:03}")
}

/// What writer `writer` writes to its key `k` in round `round`.
pub fn writer_value(writer: impl Display, k: impl Display, round: impl Display) -> String {
    format!("{writer}:{k}:{round}")
}

/// A fresh temporary directory and a database path inside it (nothing is created yet).
pub fn temp_path(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    (dir, path)
}

/// `<path><suffix>`: the name of a file that lives next to the database.
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// A builder for `path` with the range index kept.
pub fn ranged(path: &Path) -> EmdbBuilder {
    Emdb::builder().path(path).enable_range_scans(true)
}

/// Opens `path` with range scans enabled.
pub fn open_ranged(path: &Path) -> Emdb {
    ranged(path).build().expect("open with range scans")
}

/// A fresh database in a temporary directory.
pub fn temp_db() -> (tempfile::TempDir, PathBuf, Emdb) {
    let (dir, path) = temp_path("test.emdb");
    (dir, path.clone(), Emdb::open(&path).expect("open"))
}

/// A fresh database with the range index kept.
pub fn temp_range_db() -> (tempfile::TempDir, PathBuf, Emdb) {
    let (dir, path) = temp_path("range.emdb");
    (dir, path.clone(), open_ranged(&path))
}

/// Whether `r` is the `InvalidConfig` error (a bad argument or a feature not enabled).
pub fn is_invalid_config<T>(r: Result<T, emdb_core::Error>) -> bool {
    matches!(r, Err(emdb_core::Error::InvalidConfig(_)))
}

/// Waits (asynchronously, polling) until `done` holds; panics after [`HANG`].
pub async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < HANG, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The seed and length of a suite's random-seed run: the number in `seed_env` (a run to
/// replay) or else one drawn from the clock, and the number in `count_env` or else
/// `default`. The caller prints the seed.
pub fn random_run(seed_env: &str, count_env: &str, default: usize) -> (u64, usize) {
    let number = |var: &str| {
        std::env::var(var)
            .ok()
            .map(|s| s.parse::<u64>().unwrap_or_else(|_| panic!("{var} is a number")))
    };
    let seed = number(seed_env).unwrap_or_else(|| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        now.map_or(1, |d| u64::from(d.subsec_nanos()) ^ d.as_secs())
    });
    let count = number(count_env).map_or(default, |n| usize::try_from(n).expect("a count that fits"));
    (seed % (1 << 32), count)
}
