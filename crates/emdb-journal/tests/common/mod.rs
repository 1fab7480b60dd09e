//! Helpers shared by the journal's integration tests.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::ops::Range;
use std::path::{Path, PathBuf};

use emdb_journal::{Journal, JournalOptions, Lsn, Result};

/// A fresh temporary directory and a log path inside it.
pub fn temp_log() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("test.log");
    (dir, path)
}

/// A journal opened with `options` on a fresh log in a temporary directory, with the
/// directory (which must outlive it) and the log's path.
pub fn temp_journal(options: JournalOptions) -> Result<(tempfile::TempDir, PathBuf, Journal)> {
    let (dir, path) = temp_log();
    let journal = options.open(&path)?;
    Ok((dir, path, journal))
}

/// Appends `payload(i, len)` for every `i` of `ids`, one frame each; returns the last
/// frame's LSN (`Lsn::ZERO` for no `ids`).
pub fn append_payloads(journal: &Journal, ids: Range<u64>, len: usize) -> Result<Lsn> {
    let mut last = Lsn::ZERO;
    for i in ids {
        last = journal.append(&payload(i, len))?;
    }
    Ok(last)
}

/// A deterministic payload of `len` bytes for record `i` (never starts with a reserved tag).
pub fn payload(i: u64, len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    fastrand::Rng::with_seed(i).fill(&mut bytes);
    if let Some(first) = bytes.first_mut() {
        *first = b'p';
    }
    bytes
}

/// The seeds of a run of rounds: `base` first, then each drawn (below 2^32, short to type
/// and safe in a round's arithmetic) from a generator seeded with the one before, so a
/// failing round's seed given as the base replays that round first, then the ones after it.
pub fn round_seeds(base: u64) -> impl Iterator<Item = u64> {
    std::iter::successors(Some(base), |&seed| Some(fastrand::Rng::with_seed(seed).u64(..1 << 32)))
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
