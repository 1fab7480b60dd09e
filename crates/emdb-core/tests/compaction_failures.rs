//! Compactions and checkpoints that fail (not die) part-way, through the engine's failure
//! points (`emdb_core::fault::FAIL_POINTS`, feature `fault-points`, armed by
//! `EMDB_FAULT_FAIL` in a child process of this test binary): what `compact()` and
//! `checkpoint()` report, and what the database is afterwards (their rustdoc, "Errors").
//!
//! * `compact.relocate`, the compacted log's move over the database failing after the log
//!   was renamed (as a failed directory sync would): the error names the cause, every key
//!   reads as before, every later write is refused until a reopen (before the fix a write
//!   went into the old file, no longer at the path, and a flushed one was lost at the next
//!   open), and the reopened database is the compacted one with everything flushed;
//! * `checkpoint.begin` in the checkpoint that closes a compaction: the error names it,
//!   the compacted log is in place and takes writes; a reopen holds them all;
//! * `checkpoint.begin` in `checkpoint()`: the error, then writes go on and a reopen holds
//!   everything.
#![cfg(feature = "fault-points")]

use std::path::Path;
use std::process::Command;

use emdb_core::{Emdb, fault};

const CHILD_ENV: &str = "EMDB_COMPACTION_FAILURE_CHILD";
const KEYS: usize = 200;
/// Rewrites of every key before the compaction: garbage for it to drop.
const REWRITES: usize = 5;

fn key(i: usize) -> String {
    format!("key-{i:04}")
}

fn value(i: usize, round: usize) -> String {
    format!("value {i} of round {round}, padded so the log has bytes to drop")
}

/// Writes every key `REWRITES` times and flushes; returns the file's length.
fn fill(db: &Emdb, path: &Path) -> u64 {
    for round in 0..REWRITES {
        for i in 0..KEYS {
            db.insert(key(i), value(i, round)).expect("insert");
        }
    }
    db.flush().expect("flush");
    std::fs::metadata(path).expect("metadata").len()
}

/// Every key holds its last value, and `extra` (if written) its own.
fn check_all(db: &Emdb, extra: Option<&str>) {
    for i in 0..KEYS {
        assert_eq!(
            db.get(key(i)).expect("read").as_deref(),
            Some(value(i, REWRITES - 1).as_bytes()),
            "key {i}"
        );
    }
    if let Some(extra) = extra {
        assert_eq!(db.get(extra).expect("read").as_deref(), Some(extra.as_bytes()));
    }
}

/// Whether the error, or a cause in its source chain, is the injected failure.
fn injected(e: &emdb_core::Error) -> bool {
    let mut cause: Option<&dyn std::error::Error> = Some(e);
    while let Some(c) = cause {
        if c.to_string().contains("injected failure at fault point") {
            return true;
        }
        cause = c.source();
    }
    false
}

fn relocate_fails_after_the_rename(path: &Path) {
    let db = Emdb::open(path).expect("open");
    let before = fill(&db, path);
    let err = db.compact().expect_err("the move fails");
    assert!(injected(&err), "the error names its cause: {err}");
    check_all(&db, None);
    assert!(
        db.insert("after", "after").is_err(),
        "writes are refused until a reopen"
    );
    drop(db);
    let db = Emdb::open(path).expect("reopen");
    check_all(&db, None);
    assert_eq!(db.get("after").expect("read"), None, "the refused write is not there");
    let after = std::fs::metadata(path).expect("metadata").len();
    assert!(
        after < before,
        "the reopened log is the compacted one ({after} < {before})"
    );
    db.insert("after", "after").expect("writes again after the reopen");
    db.flush().expect("flush");
    drop(db);
    check_all(&Emdb::open(path).expect("reopen"), Some("after"));
}

fn closing_checkpoint_fails(path: &Path) {
    let db = Emdb::open(path).expect("open");
    let before = fill(&db, path);
    let err = db.compact().expect_err("the closing checkpoint fails");
    assert!(injected(&err), "the error names its cause: {err}");
    let after = std::fs::metadata(path).expect("metadata").len();
    assert!(after < before, "the compacted log is in place ({after} < {before})");
    check_all(&db, None);
    db.insert("after", "after").expect("the database takes writes");
    db.flush().expect("flush");
    drop(db);
    check_all(&Emdb::open(path).expect("reopen"), Some("after"));
}

fn checkpoint_fails(path: &Path) {
    let db = Emdb::open(path).expect("open");
    fill(&db, path);
    let err = db.checkpoint().expect_err("the checkpoint fails");
    assert!(injected(&err), "the error names its cause: {err}");
    db.insert("after", "after").expect("the database takes writes");
    db.checkpoint().expect("the next checkpoint is written");
    drop(db);
    check_all(&Emdb::open(path).expect("reopen"), Some("after"));
}

/// Entry point of the child process; does nothing when run as an ordinary test.
#[test]
fn child_process_entry() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (scenario, dir) = spec.split_once(':').expect("scenario:dir");
    let path = Path::new(dir).join("failing.emdb");
    match scenario {
        "relocate" => relocate_fails_after_the_rename(&path),
        "closing" => closing_checkpoint_fails(&path),
        "checkpoint" => checkpoint_fails(&path),
        other => panic!("unknown scenario {other}"),
    }
}

fn run_child(scenario: &str, point: &str) {
    assert!(fault::FAIL_POINTS.contains(&point), "{point} is a failure point");
    let dir = tempfile::tempdir().expect("dir");
    let output = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "child_process_entry", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, format!("{scenario}:{}", dir.path().display()))
        .env(fault::FAIL_ENV, point)
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
fn a_compaction_whose_move_fails_after_the_rename_refuses_writes_until_a_reopen() {
    run_child("relocate", "compact.relocate");
}

#[test]
fn a_compaction_whose_closing_checkpoint_fails_leaves_the_compacted_log_usable() {
    run_child("closing", "checkpoint.begin");
}

#[test]
fn a_failed_checkpoint_leaves_the_database_writable() {
    run_child("checkpoint", "checkpoint.begin");
}
