//! A file-size limit set in a child process makes writes fail for real: the failure is
//! reported, and a reopen loses nothing that was flushed. (The journal's own tests
//! cover the poisoning of a failed write; here preallocation reports the full disk
//! before any byte is written.)
//!
//! A binary of its own: the parent spawns a shell, and a fork made while another test of
//! the same process closes and reopens a database would briefly hold that database's lock.
#![cfg(target_os = "linux")]

use emdb::{Emdb, Error};

const CHILD: &str = "EMDB_DISK_FULL_CHILD";

/// Entry point of the child process; does nothing as an ordinary test.
#[test]
fn child_process_entry() {
    let Ok(dir) = std::env::var(CHILD) else { return };
    let path = std::path::Path::new(&dir).join("full.emdb");
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
    assert!(matches!(failure, Some(Error::Io(_))), "{failure:?}");
    assert!(flushed > 0, "the limit was reached before any flush: nothing to check");
    // Space is reserved before anything is written, so a full disk is reported without
    // poisoning the handle: a write of the same size fails again, smaller ones may fit.
    assert!(db.insert("again", vec![b'v'; 500]).is_err(), "still full");
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
    let dir = tempfile::tempdir().expect("dir");
    let exe = std::env::current_exe().expect("test binary");
    // 512-byte blocks: a 256 KiB file-size limit, with SIGXFSZ ignored so writes fail
    // with EFBIG instead of killing the process.
    let script = format!(
        "trap '' XFSZ; ulimit -f 512; exec '{}' --exact child_process_entry --nocapture --test-threads=1",
        exe.display()
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .env(CHILD, dir.path())
        .output()
        .expect("spawn");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("flushed "), "{stdout}");
}
