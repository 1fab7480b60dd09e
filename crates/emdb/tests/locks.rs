//! The database lock (docs/COMPATIBILITY.md §1 "Locks", §11): a second opener in this process or another
//! gets `LockBusy` naming `<path>.lock`; the lock goes with its holder; `lock_holder`
//! names the holder and `break_lock` clears stale files.

mod common;

use std::io::{BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdout};

use common::{no_spawn_now, sibling, spawn_self, temp_path, wait_for_marker};
use emdb::{Emdb, Error};

const CHILD_ENV: &str = "EMDB_LOCKS_CHILD";
const LOCKED: &str = "emdb-locks-child-locked";

/// Entry point of the child process: opens the database named by the environment, says
/// so, and holds it until its stdin closes. Does nothing as an ordinary test.
#[test]
fn child_process_entry() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let db = Emdb::open(&path).expect("child open");
    db.insert("child", "was here").expect("child insert");
    db.flush().expect("child flush");
    println!("{LOCKED}");
    std::io::stdout().flush().expect("flush stdout");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    drop(db);
}

fn assert_busy<T>(result: Result<T, Error>, db_path: &Path) {
    match result {
        Err(Error::LockBusy { path }) => {
            assert_eq!(
                path.file_name(),
                sibling(db_path, ".lock").file_name(),
                "LockBusy names <path>.lock, got {}",
                path.display()
            );
        }
        Err(other) => panic!("expected LockBusy, got {other:?}"),
        Ok(_) => panic!("expected LockBusy, the open succeeded"),
    }
}

#[test]
fn a_second_open_in_this_process_is_busy_until_the_first_closes() -> Result<(), Error> {
    // A child started by another test between the close and the reopen would hold the lock.
    let _no_spawn = no_spawn_now();
    let (_dir, path) = temp_path("locked.emdb");
    let db = Emdb::open(&path)?;
    db.insert("k", "v")?;
    assert_busy(Emdb::open(&path), &path);
    assert_busy(Emdb::builder().path(&path).enable_range_scans(true).build(), &path);
    // A clone is not a second opener.
    let clone = db.clone_handle();
    assert_eq!(clone.get("k")?, Some(b"v".to_vec()));
    drop(db);
    assert_busy(Emdb::open(&path), &path);
    drop(clone);
    let db = Emdb::open(&path)?;
    assert_eq!(db.get("k")?, Some(b"v".to_vec()));
    Ok(())
}

#[test]
fn lock_holder_names_us_while_open_and_nobody_after() -> Result<(), Error> {
    let (_dir, path) = temp_path("holder.emdb");
    assert!(Emdb::lock_holder(&path)?.is_none(), "never opened: no holder");
    let db = Emdb::open(&path)?;
    let holder = Emdb::lock_holder(&path)?.expect("a holder while open");
    assert_eq!(holder.pid, std::process::id());
    assert_eq!(holder.schema_version, 1);
    assert!(holder.acquired_at_unix_millis > 0);
    assert!(holder.crate_version.is_some_and(|v| !v.is_empty()));
    drop(db);
    assert!(
        Emdb::lock_holder(&path)?.is_none(),
        "the holder file is removed on close"
    );
    assert!(!sibling(&path, ".lock-meta").exists());
    assert!(sibling(&path, ".lock").exists(), "the lock file itself stays");
    Ok(())
}

#[test]
fn break_lock_is_idempotent() -> Result<(), Error> {
    let (_dir, path) = temp_path("break.emdb");
    Emdb::break_lock(&path)?; // nothing there yet
    drop(Emdb::open(&path)?);
    // A stale holder file, as a killed process leaves behind.
    std::fs::write(
        sibling(&path, ".lock-meta"),
        "emdb-lock v1\npid=999999\nacquired_at=1\n",
    )?;
    assert_eq!(Emdb::lock_holder(&path)?.map(|h| h.pid), Some(999_999));
    Emdb::break_lock(&path)?;
    assert!(!sibling(&path, ".lock").exists());
    assert!(!sibling(&path, ".lock-meta").exists());
    Emdb::break_lock(&path)?;
    assert!(Emdb::lock_holder(&path)?.is_none());
    assert!(path.exists(), "break_lock leaves the data alone");
    let db = Emdb::open(&path)?;
    assert_eq!(Emdb::lock_holder(&path)?.map(|h| h.pid), Some(std::process::id()));
    drop(db);
    Ok(())
}

#[test]
fn a_malformed_holder_file_is_corrupted() -> Result<(), Error> {
    let (_dir, path) = temp_path("malformed.emdb");
    let meta = sibling(&path, ".lock-meta");
    std::fs::write(&meta, "")?;
    assert!(Emdb::lock_holder(&path)?.is_none(), "empty: no holder");
    for bad in [
        b"not a lock file\n".to_vec(),
        b"emdb-lock v1\npid=not-a-number\n".to_vec(),
        vec![b'a'; 5000],
        vec![0xFF, 0xFE, 0x00],
    ] {
        std::fs::write(&meta, &bad)?;
        assert!(
            matches!(Emdb::lock_holder(&path), Err(Error::Corrupted { .. })),
            "{:?}",
            String::from_utf8_lossy(&bad[..bad.len().min(40)])
        );
    }
    Ok(())
}

/// A child process holding the database at `path` open (it closes it when its stdin
/// closes), once it says so and the lock is seen taken; with its stdout, which must stay
/// open until the child exits (it prints its test result at the end).
fn child_holding(path: &Path) -> (Child, BufReader<ChildStdout>) {
    let mut child = spawn_self(
        "child_process_entry",
        CHILD_ENV,
        path.to_str().expect("utf-8 path"),
        true,
    );
    let mut out = BufReader::new(child.stdout.take().expect("child stdout"));
    wait_for_marker(&mut out, LOCKED);
    assert_busy(Emdb::open(path), path);
    (child, out)
}

#[test]
fn another_process_holding_the_database_is_busy_until_killed() -> Result<(), Error> {
    let (_dir, path) = temp_path("shared.emdb");
    let (mut child, _out) = child_holding(&path);
    let holder = Emdb::lock_holder(&path).expect("lock_holder");
    assert_eq!(holder.map(|h| h.pid), Some(child.id()));

    // Killed, the child cannot clean up; the OS releases its lock anyway.
    child.kill().expect("kill child");
    child.wait().expect("wait for child");
    assert_eq!(
        Emdb::lock_holder(&path)?.map(|h| h.pid),
        Some(child.id()),
        "the stale holder file stays"
    );
    let db = Emdb::open(&path)?;
    assert_eq!(
        db.get("child")?,
        Some(b"was here".to_vec()),
        "the child's flushed write"
    );
    assert_eq!(Emdb::lock_holder(&path)?.map(|h| h.pid), Some(std::process::id()));
    Ok(())
}

#[test]
fn a_child_that_closes_cleanly_releases_the_lock_and_its_holder_file() -> Result<(), Error> {
    let (_dir, path) = temp_path("clean.emdb");
    let (mut child, _out) = child_holding(&path);
    drop(child.stdin.take()); // the child's read_line returns; it drops the database
    assert!(child.wait().expect("wait for child").success());
    assert!(Emdb::lock_holder(&path)?.is_none());
    let db = Emdb::open(&path)?;
    assert_eq!(db.get("child")?, Some(b"was here".to_vec()));
    Ok(())
}
