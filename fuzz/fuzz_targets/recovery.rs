//! Arbitrary bytes as a journal file: `Journal::open` must return `Ok` or `Err`, never panic
//! or hang; a journal it opens must iterate without error, take a new record, and show
//! the same records plus the new one after a reopen.
#![no_main]

use std::path::Path;

use emdb_journal::{Journal, Lsn};
use libfuzzer_sys::fuzz_target;

const NEW_RECORD: &[u8] = b"appended by the fuzzer";

fuzz_target!(|bytes: &[u8]| {
    // tmpfs when there is one: its fsync is free, so the fuzzer runs many times faster.
    let dir = if Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm")
    } else {
        tempfile::tempdir()
    };
    let Ok(dir) = dir else { return };
    let path = dir.path().join("fuzz.log");
    if std::fs::write(&path, bytes).is_err() {
        return;
    }
    let Ok(journal) = Journal::open(&path) else {
        return;
    };
    let before = records(&journal);
    journal.append(NEW_RECORD).expect("append to a recovered journal");
    journal.sync().expect("sync a recovered journal");
    journal.close().expect("close a recovered journal");

    let journal = Journal::open(&path).expect("reopen after appending");
    let after = records(&journal);
    assert_eq!(
        after.len(),
        before.len() + 1,
        "reopen sees {} records, expected {} + 1",
        after.len(),
        before.len()
    );
    assert_eq!(
        after[..before.len()],
        before[..],
        "reopen changed the recovered records"
    );
    assert_eq!(after[before.len()], NEW_RECORD, "reopen lost the appended record");
    journal.close().expect("close the reopened journal");
});

fn records(journal: &Journal) -> Vec<Vec<u8>> {
    let snapshot = journal.snapshot().expect("snapshot of a recovered journal");
    snapshot
        .records(Lsn::ZERO)
        .map(|r| r.expect("a record of a recovered journal").bytes.to_vec())
        .collect()
}
