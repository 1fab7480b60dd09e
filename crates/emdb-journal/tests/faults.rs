//! Real I/O failures: a write that fails poisons the journal (every later write and sync
//! is refused, reads still work); a full disk while reserving space is reported and does
//! not poison. The failures come from a file-size limit set in a child process.
#![cfg(target_os = "linux")]

mod common;

use std::process::Command;

use common::payload;
use emdb_journal::{Error, Journal, JournalOptions};

const CHILD_ENV: &str = "EMDB_JOURNAL_FAULT_CHILD";
const LIMIT: u64 = 64 << 10;

fn limit_file_size() {
    // Without a handler, exceeding the limit kills the process with SIGXFSZ; with one, the
    // write fails with EFBIG, which is what a full disk looks like to the journal.
    signal_hook::flag::register(signal_hook::consts::SIGXFSZ, std::sync::Arc::default()).expect("handler");
    // The hard limit stays what it is (an unprivileged process cannot raise it).
    let hard = rustix::process::getrlimit(rustix::process::Resource::Fsize).maximum;
    let limit = rustix::process::Rlimit {
        current: Some(hard.map_or(LIMIT, |h| h.min(LIMIT))),
        maximum: hard,
    };
    rustix::process::setrlimit(rustix::process::Resource::Fsize, limit).expect("setrlimit");
}

fn write_failure_poisons(dir: &str) {
    let path = std::path::Path::new(dir).join("poison.log");
    let journal = JournalOptions::new()
        .preallocate(0)
        .write_buffer(0)
        .open(&path)
        .expect("open");
    let first = journal.append(b"before the failure").expect("append");
    journal.sync().expect("sync");
    let mut failure = None;
    for i in 0..10_000 {
        match journal.append(&payload(i, 1000)) {
            Ok(_) => {}
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    assert!(
        matches!(failure, Some(Error::Io(_))),
        "expected an I/O error, got {failure:?}"
    );
    assert!(matches!(journal.append(b"x"), Err(Error::Poisoned)));
    assert!(matches!(journal.append_batch(&[b"x"]), Err(Error::Poisoned)));
    assert!(matches!(journal.sync(), Err(Error::Poisoned)));
    assert_eq!(
        journal.read(first).expect("reads still work").payload(),
        b"before the failure"
    );
    drop(journal);
    let reopened = Journal::open(&path).expect("reopen");
    assert!(reopened.recovery().scan.records >= 1);
}

fn allocation_failure_does_not_poison(dir: &str) {
    let path = std::path::Path::new(dir).join("full.log");
    // Reserving an extent past the limit fails; the open goes on without it.
    let journal = JournalOptions::new()
        .preallocate(LIMIT * 4)
        .open(&path)
        .expect("open despite no room");
    let first = journal.append(b"fits").expect("append");
    let mut failure = None;
    for i in 0..10_000 {
        if let Err(e) = journal.append(&payload(i, 1000)) {
            failure = Some(e);
            break;
        }
    }
    assert!(
        matches!(failure, Some(Error::Io(_))),
        "expected an I/O error, got {failure:?}"
    );
    // Not poisoned: what was written syncs and reads, and the journal reopens.
    journal.sync().expect("not poisoned");
    assert_eq!(journal.read(first).expect("read").payload(), b"fits");
    let end = journal.end();
    drop(journal);
    let reopened = Journal::open(&path).expect("reopen");
    assert_eq!(reopened.end(), end);
}

/// Entry point of the child process; does nothing when run as an ordinary test.
#[test]
fn child_process_entry() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (scenario, dir) = spec.split_once(':').expect("scenario:dir");
    limit_file_size();
    match scenario {
        "poison" => write_failure_poisons(dir),
        "allocate" => allocation_failure_does_not_poison(dir),
        other => panic!("unknown scenario {other}"),
    }
}

/// Runs a scenario in a child with its output on pipes: the file-size limit covers every
/// file the child writes, and a test run's output redirected to a log file is past the limit
/// long before this test runs (the child's first line would fail with EFBIG).
fn run_child(scenario: &str) {
    let dir = tempfile::tempdir().expect("dir");
    let output = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "child_process_entry", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, format!("{scenario}:{}", dir.path().display()))
        .output()
        .expect("spawn");
    assert!(
        output.status.success(),
        "scenario {scenario} failed in the child: {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_failed_write_poisons_the_journal() {
    run_child("poison");
}

#[test]
fn a_full_disk_while_reserving_space_is_reported_without_poisoning() {
    run_child("allocate");
}

#[test]
fn a_sidecar_that_cannot_be_replaced_is_an_fsys_error() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("meta.log");
    let journal = Journal::open(&path).expect("open");
    let meta = dir.path().join("meta.log.meta");
    std::fs::remove_file(&meta).expect("remove");
    std::fs::create_dir(&meta).expect("dir in the way");
    std::fs::write(meta.join("blocker"), b"x").expect("non-empty dir");
    assert!(matches!(journal.set_meta(1, b""), Err(Error::Fsys(_))));
    assert_eq!(
        journal.meta().flags,
        0,
        "the in-memory sidecar is unchanged after a failed replace"
    );
}
