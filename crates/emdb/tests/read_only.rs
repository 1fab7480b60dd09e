//! A database the process may not write gives a clear error at open, naming the cause
//! (permission denied), never a panic or a corruption report, and leaves its files as
//! they were: a read-only data file (`Error::Io` of kind `PermissionDenied`), a read-only
//! directory (the lock file cannot be made or its holder file written there:
//! `Error::LockfileError` of kind `PermissionDenied`), for a new database and an existing
//! one.
//!
//! Root, or any process with `CAP_DAC_OVERRIDE`, is not stopped by permission bits. Each
//! test first tries to write where the database would (detect by trying); if the write
//! goes through, it re-runs itself as the unprivileged user `nobody` through `setpriv`
//! (util-linux) when it can, and otherwise prints that it skipped its assertions and why.
#![cfg(unix)]

use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use emdb::{Emdb, Error};

/// Set in a child re-run without privileges, so that it does not delegate again.
const UNPRIVILEGED: &str = "EMDB_READ_ONLY_UNPRIVILEGED";
/// What a child prints when its assertions ran.
const CHECKED: &str = "read-only assertions checked";

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Whether this process can write `file` despite its permission bits.
fn can_write_file(file: &Path) -> bool {
    std::fs::OpenOptions::new().write(true).open(file).is_ok()
}

/// Whether this process can create a file in `dir` despite its permission bits.
fn can_create_in(dir: &Path) -> bool {
    let probe = dir.join("probe");
    let made = std::fs::File::create(&probe).is_ok();
    let _ = std::fs::remove_file(&probe);
    made
}

/// Whether `e` is a permission failure, saying so in its message.
fn names_permission(e: &Error) -> bool {
    let io = match e {
        Error::Io(io) | Error::LockfileError(io) => io,
        _ => return false,
    };
    io.kind() == ErrorKind::PermissionDenied && e.to_string().contains("permission denied")
}

/// Runs `scenario`, which returns `false` when the permission bits did not stop this
/// process; then re-runs the test `name` as `nobody`, or says it was skipped.
fn run(name: &str, scenario: fn() -> bool) {
    if scenario() {
        println!("{CHECKED}");
        return;
    }
    let why = "permission bits do not stop this process (root or CAP_DAC_OVERRIDE)";
    if std::env::var_os(UNPRIVILEGED).is_some() {
        println!("SKIPPED: {why}, even re-run as nobody");
        return;
    }
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&exe)
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(UNPRIVILEGED, "1")
        // The child's temporary directories must be somewhere `nobody` may write.
        .env("TMPDIR", std::env::temp_dir())
        .output();
    match out {
        Ok(out) if String::from_utf8_lossy(&out.stderr).contains("setpriv:") && !out.status.success() => {
            println!(
                "SKIPPED: {why}, and setpriv could not drop to nobody: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(out) => {
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "re-run as nobody failed: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            if stdout.contains(CHECKED) {
                println!("checked as nobody:\n{stdout}");
            } else {
                println!("SKIPPED: {why}; as nobody: {stdout}");
            }
        }
        Err(e) => println!("SKIPPED: {why}, and setpriv is not available ({e})"),
    }
}

/// A temporary directory `nobody` can use when the tests run as it.
fn temp_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    set_mode(dir.path(), 0o700);
    dir
}

/// A closed database at `path` with a few records.
fn make_database(path: &Path) {
    let db = Emdb::open(path).expect("open");
    db.insert_many((0..100).map(|i| (format!("k{i}"), format!("v{i}"))))
        .expect("insert_many");
    db.flush().expect("flush");
}

fn assert_database(path: &Path) {
    let db = Emdb::open(path).expect("open once writable again");
    assert_eq!(db.len().expect("len"), 100);
    assert_eq!(db.get("k42").expect("get"), Some(b"v42".to_vec()));
}

fn read_only_file() -> bool {
    let dir = temp_dir();
    let path = dir.path().join("ro.emdb");
    make_database(&path);
    let before = std::fs::read(&path).expect("read");
    set_mode(&path, 0o444);
    if can_write_file(&path) {
        return false;
    }
    let e = Emdb::open(&path).expect_err("a read-only data file cannot be opened for writing");
    assert!(names_permission(&e), "{e:?}: {e}");
    println!("a read-only file: {e}");
    assert_eq!(std::fs::read(&path).expect("read"), before, "the file was changed");
    set_mode(&path, 0o600);
    assert_database(&path);
    true
}

#[test]
fn a_read_only_database_file_is_refused_at_open_naming_permission() {
    run(
        "a_read_only_database_file_is_refused_at_open_naming_permission",
        read_only_file,
    );
}

fn read_only_directory() -> bool {
    let dir = temp_dir();
    let fresh = dir.path().join("new");
    let existing = dir.path().join("old");
    std::fs::create_dir(&fresh).expect("mkdir");
    std::fs::create_dir(&existing).expect("mkdir");
    let path = existing.join("db.emdb");
    make_database(&path);
    let before = std::fs::read(&path).expect("read");
    set_mode(&fresh, 0o555);
    set_mode(&existing, 0o555);
    if can_create_in(&fresh) {
        set_mode(&fresh, 0o700);
        set_mode(&existing, 0o700);
        return false;
    }
    let e = Emdb::open(fresh.join("db.emdb")).expect_err("no file can be made in a read-only directory");
    assert!(names_permission(&e), "a new database: {e:?}: {e}");
    println!("a read-only directory, a new database: {e}");
    // An existing database, its lock file left from before: the lock holder file (and any
    // replace of the sidecar or index) needs the directory.
    let e = Emdb::open(&path).expect_err("a read-only directory");
    assert!(names_permission(&e), "an existing database: {e:?}: {e}");
    println!("a read-only directory, an existing database: {e}");
    assert_eq!(std::fs::read(&path).expect("read"), before, "the file was changed");
    // The same with a holder file left by a process that died: it can be rewritten in
    // place, so only the directory stops the open.
    set_mode(&existing, 0o700);
    std::fs::write(existing.join("db.emdb.lock-meta"), "emdb-lock v1\npid=1\n").expect("holder file");
    set_mode(&existing, 0o555);
    let e = Emdb::open(&path).expect_err("a read-only directory, a stale holder file");
    assert!(names_permission(&e), "a stale holder file: {e:?}: {e}");
    println!("a read-only directory, a stale holder file: {e}");
    assert_eq!(std::fs::read(&path).expect("read"), before, "the file was changed");
    set_mode(&fresh, 0o700);
    set_mode(&existing, 0o700);
    assert_database(&path);
    true
}

#[test]
fn a_read_only_directory_is_refused_at_open_naming_permission() {
    run(
        "a_read_only_directory_is_refused_at_open_naming_permission",
        read_only_directory,
    );
}
