//! A full disk, for real: a file-size limit (`RLIMIT_FSIZE`, set by `ulimit -f` in the shell
//! that starts a child process, with `SIGXFSZ` ignored) makes every write past it fail with
//! `EFBIG`, the error a full disk gives as `ENOSPC`. Each scenario runs in such a child and
//! checks, there and in the parent afterwards:
//!
//! * the call that runs out of room fails with an `Io` error whose kind names the cause
//!   (file too large or no space), never `Corrupted` or a poisoned handle;
//! * nothing a `flush` acknowledged is lost, and a failed batch leaves none of its records;
//! * the database reopens under the limit, and once the limit is gone (the parent), writes,
//!   checkpoints and compacts again;
//! * no scratch or staging file is left beside it.
//!
//! Scenarios: single inserts; batches (`insert_many`, transactions) filling the log; and
//! compaction and checkpoint of a database larger than what a new file may grow to (the
//! limit is per file: a log can fill it only by itself, and a compaction's copy or a
//! checkpoint's index file exceeds it only when the data is larger than it).
//!
//! (The journal's own tests cover the poisoning of a failed write; here preallocation
//! reports the full disk before any byte is written.)
//!
//! A binary of its own, its tests one at a time (`serial`): a child is forked by a shell,
//! and a fork made while another test of the same process closes and reopens a database
//! would briefly hold that database's lock.
#![cfg(target_os = "linux")]

use std::io::ErrorKind;
use std::path::Path;
use std::process::Command;

use emdb::{Emdb, Error};

const CHILD: &str = "EMDB_DISK_FULL_CHILD";

/// Whether `e` reports a full disk by its cause: an `Io` error of kind "file too large"
/// (`EFBIG`, the limit these tests set) or "no storage space" (`ENOSPC`), whose message
/// says so.
fn names_a_full_disk(e: &Error) -> bool {
    let Error::Io(io) = e else { return false };
    let full = matches!(io.kind(), ErrorKind::FileTooLarge | ErrorKind::StorageFull);
    full && e.to_string().contains(&io.kind().to_string())
}

/// The names in `dir` that are not the files of one of `databases` (the log, its
/// sidecar, index snapshot, lock and, while it is open, lock holder file): a scratch or
/// staging file left behind (`.compact.tmp`, `.backup.tmp`, `.fsys-tmp-*`, ...).
fn leftovers(dir: &Path, databases: &[&str]) -> Vec<String> {
    let own = [".meta", ".lock", ".lock-meta", ".index"];
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
        .filter(|name| {
            !databases
                .iter()
                .any(|db| name == db || own.iter().any(|suffix| *name == format!("{db}{suffix}")))
        })
        .collect()
}

/// The child's file-size limit in bytes, as the kernel reports it.
fn file_size_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("/proc/self/limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max file size"))
        .expect("a file size line");
    let soft = line.split_whitespace().nth(3).expect("the soft limit");
    soft.parse()
        .unwrap_or_else(|_| panic!("no file-size limit is set: {line}"))
}

/// Entry point of the child processes; does nothing as an ordinary test.
#[test]
fn child_process_entry() {
    let Ok(spec) = std::env::var(CHILD) else { return };
    let (scenario, dir) = spec.split_once(' ').expect("a scenario and a directory");
    let dir = Path::new(dir);
    match scenario {
        "singles" => singles(dir),
        "batches" => batches(dir),
        "maintenance" => maintenance(dir),
        other => panic!("unknown scenario {other:?}"),
    }
}

/// The tests of this binary, one at a time (see the module docs).
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs `scenario` in a child whose files may not grow past `kib` KiB; returns its stdout.
fn run_child(scenario: &str, dir: &Path, kib: u64) -> String {
    // `ulimit -f` counts 512-byte blocks in a POSIX shell; the child checks the limit it
    // got in bytes. Without the handler, SIGXFSZ would kill the child at the first write
    // past the limit; ignored, the write fails with EFBIG.
    let script = format!(
        "trap '' XFSZ; ulimit -f {}; exec \"$0\" --exact child_process_entry --nocapture --test-threads=1",
        kib * 2
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(std::env::current_exe().expect("test binary"))
        .env(CHILD, format!("{scenario} {}", dir.display()))
        .env("EMDB_DISK_FULL_KIB", kib.to_string())
        .output()
        .expect("spawn");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{scenario} child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The limit the parent asked for, checked against the one the child has.
fn checked_limit() -> u64 {
    let asked: u64 = std::env::var("EMDB_DISK_FULL_KIB")
        .expect("the limit asked for")
        .parse()
        .expect("a number");
    let limit = file_size_limit();
    assert_eq!(limit, asked << 10, "ulimit -f did not set the limit asked for");
    limit
}

/// The number after `label ` in a child's output.
fn reported(stdout: &str, label: &str) -> u32 {
    let at = stdout
        .find(&format!("{label} "))
        .unwrap_or_else(|| panic!("no {label:?} in {stdout}"));
    stdout[at + label.len() + 1..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {label:?} in {stdout}"))
}

// ---- single inserts -------------------------------------------------------------------

fn singles(dir: &Path) {
    checked_limit();
    let path = dir.join("full.emdb");
    let db = Emdb::open(&path).expect("open");
    let mut flushed = 0;
    let mut failure = None;
    for i in 0..100_000u32 {
        let value = vec![b'v'; 500];
        if let Err(e) = db.insert(format!("k{i:06}"), value) {
            failure = Some(e);
            break;
        }
        if i % 10 == 9 {
            match db.flush() {
                Ok(()) => flushed = i + 1,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
    }
    let failure = failure.expect("the limit was never reached");
    assert!(names_a_full_disk(&failure), "{failure:?}: {failure}");
    assert!(flushed > 0, "the limit was reached before any flush: nothing to check");
    // Space is reserved before anything is written, so a full disk is reported without
    // poisoning the handle: a write of the same size fails again, smaller ones may fit.
    let again = db.insert("again", vec![b'v'; 500]).expect_err("still full");
    assert!(names_a_full_disk(&again), "{again:?}");
    assert_eq!(db.get("again").expect("reads still work"), None);
    drop(db);
    let db = Emdb::open(&path).expect("reopen after a failed write");
    for i in 0..flushed {
        assert!(
            db.contains_key(format!("k{i:06}")).expect("read"),
            "flushed key {i} lost"
        );
    }
    println!("flushed {flushed}");
}

#[test]
fn a_full_disk_is_reported_and_reopen_keeps_what_was_flushed() {
    let _one = serial();
    let dir = tempfile::tempdir().expect("dir");
    let stdout = run_child("singles", dir.path(), 256);
    let flushed = reported(&stdout, "flushed");
    assert_eq!(leftovers(dir.path(), &["full.emdb"]), Vec::<String>::new());
    let db = Emdb::open(dir.path().join("full.emdb")).expect("reopen without the limit");
    for i in 0..flushed {
        assert!(
            db.contains_key(format!("k{i:06}")).expect("read"),
            "flushed key {i} lost"
        );
    }
    db.insert("again", vec![b'v'; 500]).expect("room again");
    db.flush().expect("flush");
}

// ---- batches filling the log ----------------------------------------------------------

const PER_ROUND: u32 = 20;

fn round_key(round: u32, j: u32) -> String {
    format!("r{round:05}/{j:02}")
}

fn round_value(round: u32) -> Vec<u8> {
    vec![b'a' + (round % 26) as u8; 600]
}

/// Round `round`: `PER_ROUND` records of 600 bytes, in one `insert_many` (even rounds) or
/// one transaction (odd rounds).
fn write_round(db: &Emdb, round: u32) -> Result<(), Error> {
    let records = (0..PER_ROUND).map(|j| (round_key(round, j), round_value(round)));
    if round.is_multiple_of(2) {
        db.insert_many(records)
    } else {
        db.transaction(|tx| {
            for (k, v) in records {
                tx.insert(k, v)?;
            }
            Ok(())
        })
    }
}

/// Every record of round `round` is there with its value (`true`) or none is (`false`).
fn assert_round(db: &Emdb, round: u32, present: bool, why: &str) {
    for j in 0..PER_ROUND {
        let got = db.get(round_key(round, j)).expect("read");
        let want = present.then(|| round_value(round));
        assert_eq!(got, want, "round {round} record {j}: {why}");
    }
}

fn batches(dir: &Path) {
    let limit = checked_limit();
    let path = dir.join("batches.emdb");
    let db = Emdb::open(&path).expect("open");
    let mut acked = 0;
    let mut failure = None;
    for round in 0..10_000 {
        match write_round(&db, round) {
            Ok(()) => {
                db.flush().expect("a flush of a batch that fit");
                acked = round + 1;
            }
            Err(e) => {
                failure = Some((round, e));
                break;
            }
        }
    }
    let (failed, e) = failure.expect("the limit was never reached");
    assert!(names_a_full_disk(&e), "round {failed}: {e:?}: {e}");
    assert!(acked >= 4, "only {acked} rounds fit under {limit} bytes");
    assert_round(&db, failed, false, "a batch that failed left a record");
    // The other kind of batch (transaction or insert_many), as large, fails the same way.
    let other = failed + 1;
    let e = write_round(&db, other).expect_err("still full");
    assert!(names_a_full_disk(&e), "round {other}: {e:?}: {e}");
    assert_round(&db, other, false, "a batch that failed left a record");
    for round in 0..acked {
        assert_round(&db, round, true, "acknowledged by a flush");
    }
    // Nothing was poisoned: a flush and a checkpoint (its index file is small) work.
    db.flush().expect("flush after the failures");
    db.checkpoint().expect("checkpoint after the failures");
    drop(db);
    let db = Emdb::open(&path).expect("reopen under the limit");
    for round in 0..acked {
        assert_round(&db, round, true, "acknowledged, after a reopen");
    }
    assert_round(&db, failed, false, "failed, after a reopen");
    assert_round(&db, other, false, "failed, after a reopen");
    println!("acked {acked} failed {failed}");
}

#[test]
fn a_full_disk_during_batches_fails_them_whole_and_loses_nothing_flushed() {
    let _one = serial();
    let dir = tempfile::tempdir().expect("dir");
    let stdout = run_child("batches", dir.path(), 256);
    let (acked, failed) = (reported(&stdout, "acked"), reported(&stdout, "failed"));
    assert_eq!(failed, acked, "the first failure ends the child's rounds");
    assert_eq!(leftovers(dir.path(), &["batches.emdb"]), Vec::<String>::new());
    // The limit is gone: the same batches fit now, and the database checkpoints and
    // compacts.
    let path = dir.path().join("batches.emdb");
    let db = Emdb::open(&path).expect("reopen without the limit");
    for round in 0..acked {
        assert_round(&db, round, true, "acknowledged in the child");
    }
    for round in [failed, failed + 1] {
        assert_round(&db, round, false, "failed in the child");
        write_round(&db, round).expect("room again");
    }
    db.flush().expect("flush");
    db.checkpoint().expect("checkpoint");
    db.compact().expect("compact");
    drop(db);
    let db = Emdb::open(&path).expect("reopen");
    for round in 0..failed + 2 {
        assert_round(&db, round, true, "after the limit was lifted");
    }
    drop(db);
    assert_eq!(leftovers(dir.path(), &["batches.emdb"]), Vec::<String>::new());
}

// ---- compaction and checkpoint of a database larger than the limit ---------------------

/// Keys of the large database.
const LARGE: u32 = 40_000;
/// The file-size limit of the maintenance child: well under the log, the copy a
/// compaction makes and the index file a checkpoint writes.
const MAINTENANCE_KIB: u64 = 512;

fn large_key(i: u32) -> String {
    format!("m{i:06}")
}

/// Every key holds `v1 <i>`, every other one was overwritten with `v2 <i>` (garbage for
/// a compaction to drop), and the last hundred were written after the checkpoint.
fn large_value(i: u32) -> Vec<u8> {
    let round = if i.is_multiple_of(2) || i >= LARGE - 100 { 2 } else { 1 };
    format!("v{round} {i:06}").into_bytes()
}

fn build_large(path: &Path) {
    let db = Emdb::open(path).expect("open");
    for start in (0..LARGE).step_by(5_000) {
        db.insert_many((start..start + 5_000).map(|i| (large_key(i), format!("v1 {i:06}"))))
            .expect("insert_many");
    }
    db.insert_many(
        (0..LARGE - 100)
            .filter(|i| i.is_multiple_of(2))
            .map(|i| (large_key(i), large_value(i))),
    )
    .expect("overwrite");
    db.checkpoint().expect("checkpoint");
    for i in LARGE - 100..LARGE {
        db.insert(large_key(i), large_value(i))
            .expect("insert after the checkpoint");
    }
    db.flush().expect("flush");
}

fn assert_large(db: &Emdb, why: &str) {
    assert_eq!(db.len().expect("len"), LARGE as usize, "{why}");
    for i in 0..LARGE {
        assert_eq!(
            db.get(large_key(i)).expect("read"),
            Some(large_value(i)),
            "key {i}: {why}"
        );
    }
}

fn maintenance(dir: &Path) {
    let limit = checked_limit();
    let path = dir.join("large.emdb");
    let index = dir.join("large.emdb.index");
    let checkpointed = std::fs::read(&index).expect("the parent's checkpoint");
    let db = Emdb::open(&path).expect("open a database larger than the limit");

    let e = db.compact().expect_err("a compaction needs room for the live records");
    assert!(names_a_full_disk(&e), "compact: {e:?}: {e}");
    assert_eq!(
        leftovers(dir, &["large.emdb"]),
        Vec::<String>::new(),
        "a failed compaction leaves its scratch files"
    );
    assert_large(&db, "after a failed compaction");

    let copy = dir.join("copy.emdb");
    let e = db
        .backup_to(&copy)
        .expect_err("a backup needs room for the live records");
    assert!(names_a_full_disk(&e), "backup_to: {e:?}: {e}");
    assert_eq!(
        leftovers(dir, &["large.emdb"]),
        Vec::<String>::new(),
        "a failed backup leaves its scratch files"
    );

    let e = db.checkpoint().expect_err("the index file is larger than the limit");
    assert!(names_a_full_disk(&e), "checkpoint: {e:?}: {e}");
    assert_eq!(
        leftovers(dir, &["large.emdb"]),
        Vec::<String>::new(),
        "a failed checkpoint"
    );
    assert_eq!(
        std::fs::read(&index).expect("index"),
        checkpointed,
        "a failed checkpoint changed the previous one"
    );

    // The log cannot grow either (the disk is full); nothing is poisoned.
    let e = db.insert("one more", "v").expect_err("the log is past the limit");
    assert!(names_a_full_disk(&e), "insert: {e:?}: {e}");
    let e = db
        .insert_many([("a", "1"), ("b", "2")])
        .expect_err("the log is past the limit");
    assert!(names_a_full_disk(&e), "insert_many: {e:?}: {e}");
    db.flush().expect("a flush with nothing to write");
    assert_large(&db, "after the failed writes");
    drop(db);

    let db = Emdb::open(&path).expect("reopen under the limit");
    assert_large(&db, "reopened under the limit");
    assert_eq!(db.get("one more").expect("read"), None);
    println!("maintenance limit {limit}");
}

#[test]
fn a_full_disk_fails_compaction_and_checkpoint_cleanly() {
    let _one = serial();
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("large.emdb");
    build_large(&path);
    // The scenario's premise: the log and the index file are larger than the limit.
    let limit = MAINTENANCE_KIB << 10;
    let log = std::fs::metadata(&path).expect("log").len();
    let index = std::fs::metadata(dir.path().join("large.emdb.index"))
        .expect("index")
        .len();
    assert!(
        log > 2 * limit && index > limit,
        "log {log}, index {index}, limit {limit}"
    );

    let stdout = run_child("maintenance", dir.path(), MAINTENANCE_KIB);
    assert!(stdout.contains(&format!("maintenance limit {limit}")), "{stdout}");
    assert_eq!(leftovers(dir.path(), &["large.emdb"]), Vec::<String>::new());

    let db = Emdb::open(&path).expect("reopen without the limit");
    assert_large(&db, "reopened without the limit");
    db.insert("after", "the limit").expect("insert");
    db.flush().expect("flush");
    db.checkpoint().expect("checkpoint");
    db.compact().expect("compact");
    let compacted = std::fs::metadata(&path).expect("log").len();
    assert!(
        compacted < log,
        "the compaction shrank the log from {log} to {compacted}"
    );
    drop(db);
    let db = Emdb::open(&path).expect("reopen after the compaction");
    assert_eq!(db.get("after").expect("read"), Some(b"the limit".to_vec()));
    db.remove("after").expect("remove");
    assert_large(&db, "after the compaction");
    drop(db);
    assert_eq!(leftovers(dir.path(), &["large.emdb"]), Vec::<String>::new());
}
