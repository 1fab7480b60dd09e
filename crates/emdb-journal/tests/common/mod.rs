//! Helpers shared by the journal's integration tests.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::{Path, PathBuf};

use emdb_journal::{Journal, Lsn, Result};

/// A fresh temporary directory and a log path inside it.
pub fn temp_log() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("test.log");
    (dir, path)
}

/// A deterministic payload of `len` bytes for record `i` (never starts with a reserved tag).
pub fn payload(i: u64, len: usize) -> Vec<u8> {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xA5A5_A5A5;
    (0..len)
        .map(|j| {
            if j == 0 {
                return b'p';
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x & 0xFF) as u8
        })
        .collect()
}

/// Every record of the journal, in order, as owned bytes.
pub fn all_records(journal: &Journal) -> Result<Vec<Vec<u8>>> {
    let snapshot = journal.snapshot()?;
    snapshot
        .records(Lsn::ZERO)
        .map(|r| r.map(|r| r.bytes.to_vec()))
        .collect()
}

/// The data file's bytes.
pub fn file_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("read log")
}

/// Every record found by a fresh open of `path`, or the open's error.
pub fn reopen_records(path: &Path) -> Result<Vec<Vec<u8>>> {
    let journal = Journal::open(path)?;
    all_records(&journal)
}

/// `<path><suffix>`: a file beside the log.
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
