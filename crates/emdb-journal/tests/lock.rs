//! The lock keeps a second opener out (in this process or another) and names the holder;
//! it dies with its holder; `lock_holder` and `break_lock` diagnose and clear it.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use common::temp_log;
use emdb_journal::{Error, Journal, JournalOptions, break_lock, lock_holder};

const CHILD_ENV: &str = "EMDB_JOURNAL_LOCK_CHILD";

/// Entry point of the child process: holds the lock until its stdin closes. Does nothing
/// when run as an ordinary test.
#[test]
fn child_process_entry() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let journal = Journal::open(&path).expect("child open");
    println!("emdb-child-locked");
    std::io::stdout().flush().expect("flush");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    drop(journal);
}

#[test]
fn a_second_open_in_this_process_is_busy_and_names_us() {
    let (_dir, path) = temp_log();
    let journal = JournalOptions::new()
        .holder_version("test 1.2.3")
        .open(&path)
        .expect("open");
    match Journal::open(&path) {
        Err(Error::Busy {
            path: lock_path,
            holder,
        }) => {
            assert!(lock_path.to_string_lossy().ends_with("test.log.lock"));
            let holder = holder.expect("holder named");
            assert_eq!(holder.pid, std::process::id());
            assert_eq!(holder.crate_version.as_deref(), Some("test 1.2.3"));
            assert!(holder.acquired_at_unix_millis > 0);
        }
        other => panic!("expected Busy, got {other:?}"),
    }
    let holder = lock_holder(&path).expect("readable").expect("present");
    assert_eq!(holder.pid, std::process::id());
    drop(journal);
    assert_eq!(
        lock_holder(&path).expect("readable"),
        None,
        "holder file removed on close"
    );
    assert!(path.with_extension("log.lock").exists(), "the lock file itself stays");
    drop(Journal::open(&path).expect("reopen after close"));
}

#[test]
fn every_name_of_the_file_shares_one_lock() {
    let (dir, path) = temp_log();
    let _journal = Journal::open(&path).expect("open");
    #[cfg(unix)]
    {
        let link = dir.path().join("alias.log");
        std::os::unix::fs::symlink(&path, &link).expect("symlink");
        assert!(matches!(Journal::open(&link), Err(Error::Busy { .. })));
    }
    let dotted = dir.path().join(".").join("test.log");
    assert!(matches!(Journal::open(dotted), Err(Error::Busy { .. })));
}

#[test]
fn another_process_holding_the_lock_is_busy_until_it_dies() {
    let (_dir, path) = temp_log();
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "child_process_entry", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            out.read_line(&mut line).expect("read child") > 0,
            "child exited before locking"
        );
        // libtest may print its own text on the same line first.
        if line.contains("emdb-child-locked") {
            break;
        }
    }
    match Journal::open(&path) {
        Err(Error::Busy { holder, .. }) => assert_eq!(holder.expect("holder").pid, child.id()),
        other => panic!("expected Busy, got {other:?}"),
    }
    // Killed, the child cannot clean up; the OS releases the lock anyway.
    child.kill().expect("kill");
    child.wait().expect("wait");
    assert_eq!(
        lock_holder(&path).expect("readable").map(|h| h.pid),
        Some(child.id()),
        "stale holder file"
    );
    let journal = Journal::open(&path).expect("the lock died with its holder");
    assert_eq!(
        lock_holder(&path).expect("readable").map(|h| h.pid),
        Some(std::process::id())
    );
    drop(journal);
}

#[test]
fn break_lock_clears_stale_files_and_is_idempotent() {
    let (_dir, path) = temp_log();
    drop(Journal::open(&path).expect("open"));
    std::fs::write(path.with_extension("log.lock-meta"), "emdb-lock v1\npid=999999\n").expect("write");
    assert_eq!(lock_holder(&path).expect("readable").map(|h| h.pid), Some(999_999));
    break_lock(&path).expect("break");
    assert!(!path.with_extension("log.lock").exists());
    assert!(!path.with_extension("log.lock-meta").exists());
    break_lock(&path).expect("idempotent");
    assert_eq!(lock_holder(&path).expect("readable"), None);
    drop(Journal::open(&path).expect("open after break"));
}

#[test]
fn malformed_or_unusable_lock_files_are_reported() {
    let (_dir, path) = temp_log();
    let meta = path.with_extension("log.lock-meta");
    std::fs::write(&meta, "").expect("write");
    assert_eq!(lock_holder(&path).expect("empty is no holder"), None);
    std::fs::write(&meta, "not a lock file\n").expect("write");
    assert!(matches!(lock_holder(&path), Err(Error::MalformedLockHolder { .. })));
    std::fs::write(&meta, vec![b'a'; 5000]).expect("write");
    assert!(matches!(lock_holder(&path), Err(Error::MalformedLockHolder { .. })));
    std::fs::write(&meta, [0xFF, 0xFE, 0x00]).expect("write");
    assert!(matches!(lock_holder(&path), Err(Error::MalformedLockHolder { .. })));
    std::fs::remove_file(&meta).expect("remove");
    std::fs::create_dir(&meta).expect("dir");
    assert!(matches!(lock_holder(&path), Err(Error::Lock { .. })));
    std::fs::remove_dir(&meta).expect("remove");

    std::fs::create_dir(path.with_extension("log.lock")).expect("dir");
    assert!(matches!(Journal::open(&path), Err(Error::Lock { .. })));
}
