//! Helpers shared by the facade's integration tests.
//!
//! What is tested here, through `emdb::`: what a user of the `emdb` crate is promised. The
//! public API (docs/COMPATIBILITY.md), compatibility with emdb 1.0 and the files it wrote
//! (every test that builds its fixtures with the `emdb_v1` crate), the facade's feature
//! flags, the docs' examples, the encryption admin, and a user program killed mid-write. The
//! engine's mechanisms under those promises (checkpoints, compaction, damaged files, file
//! sizes, the stripes and the range index, statistics, async wrappers) are tested in
//! `crates/emdb-core/tests/`, against `emdb_core::` directly (see its `common/mod.rs`).
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;

#[cfg(feature = "encrypt")]
pub mod admin;
pub mod forge;

use emdb::Emdb;

/// A fresh temporary directory and a database path inside it (nothing is created yet).
pub fn temp_path(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    (dir, path)
}

/// A fresh database in a temporary directory.
pub fn temp_db() -> (tempfile::TempDir, PathBuf, Emdb) {
    let (dir, path) = temp_path("test.emdb");
    let db = Emdb::open(&path).expect("open");
    (dir, path, db)
}

/// A fresh database with the range index kept.
pub fn temp_range_db() -> (tempfile::TempDir, PathBuf, Emdb) {
    let (dir, path) = temp_path("range.emdb");
    let db = open_ranged(&path);
    (dir, path, db)
}

/// Whether `r` is the `InvalidConfig` error (a bad argument or a feature not enabled).
pub fn is_invalid_config<T>(r: Result<T, emdb::Error>) -> bool {
    matches!(r, Err(emdb::Error::InvalidConfig(_)))
}

/// Opens `path` with range scans enabled.
pub fn open_ranged(path: &Path) -> Emdb {
    Emdb::builder()
        .path(path)
        .enable_range_scans(true)
        .build()
        .expect("open with range scans")
}

/// `<path><suffix>`: the name of a file that lives next to the database.
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// Writes `records` into the encrypted database at `path` (made if missing) with emdb 1.0.3
/// itself, and closes it flushed.
pub fn v1_encrypted(path: &Path, key: [u8; 32], records: &[(&str, &str)]) {
    let db = emdb_v1::Emdb::builder()
        .path(path)
        .encryption_key(key)
        .build()
        .expect("emdb 1.0 open");
    for (k, v) in records {
        db.insert(*k, *v).expect("emdb 1.0 insert");
    }
    db.flush().expect("emdb 1.0 flush");
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970");
    u64::try_from(since.as_millis()).expect("fits")
}

/// The seeds of a run of rounds: `base` first, then each drawn (below 2^32, short to type
/// and safe in a round's arithmetic) from a generator seeded with the one before, so a
/// failing round's seed given as the base replays that round first, then the ones after it.
pub fn round_seeds(base: u64) -> impl Iterator<Item = u64> {
    std::iter::successors(Some(base), |&seed| Some(fastrand::Rng::with_seed(seed).u64(..1 << 32)))
}

/// Held while a child process is being started. Between its fork and its exec a child holds
/// a copy of every descriptor of this process, the database lock files' among them, so a
/// lock that a test releases by closing a database in that window stays held (by the
/// child) until the exec. A test that closes a database and expects its lock free at once
/// holds [`no_spawn_now`] across the close and the reopen.
static SPAWNING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Keeps [`spawn_self`] from starting a child (see [`SPAWNING`]) while the guard lives.
pub fn no_spawn_now() -> std::sync::MutexGuard<'static, ()> {
    SPAWNING.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Re-runs this test binary as a child process that runs only the test `entry`, with the
/// environment variable `env` set to `value`. Its stdout is piped; its stdin is piped
/// when `stdin` is true (closing it tells a waiting child to finish).
pub fn spawn_self(entry: &str, env: &str, value: &str, stdin: bool) -> Child {
    spawn_self_with(entry, &[(env, value)], stdin)
}

/// [`spawn_self`] with each of `envs` (name, value) set in the child's environment.
pub fn spawn_self_with(entry: &str, envs: &[(&str, &str)], stdin: bool) -> Child {
    let _no_close_now = SPAWNING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", entry, "--nocapture", "--test-threads=1"])
        .envs(envs.iter().copied())
        .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child")
}

/// Reads the child's stdout until a line contains `marker` (libtest may print its own text
/// before it on the same line). Panics if the child's output ends first.
pub fn wait_for_marker(out: &mut BufReader<ChildStdout>, marker: &str) {
    let mut line = String::new();
    loop {
        line.clear();
        let n = out.read_line(&mut line).expect("read child stdout");
        assert!(n > 0, "the child exited before printing {marker:?}");
        if line.contains(marker) {
            return;
        }
    }
}

/// A child made by [`spawn_self`] (stdout and stderr piped), watched: a thread passes on its
/// stdout lines as they come, another keeps its stderr for when it is over.
pub struct Watched {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    reader: JoinHandle<()>,
    errors: JoinHandle<String>,
}

impl Watched {
    pub fn new(mut child: Child) -> Watched {
        let stdout = child.stdout.take().expect("child stdout");
        let mut stderr = child.stderr.take().expect("child stderr");
        let (tx, lines) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let errors = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Watched {
            child,
            lines,
            reader,
            errors,
        }
    }

    /// Waits for the child's end (SIGKILLing it first if `kill`): its status, the lines it
    /// printed that were not received yet, and its stderr.
    pub fn finish(mut self, kill: bool) -> (ExitStatus, Vec<String>, String) {
        if kill {
            self.child.kill().expect("kill child"); // SIGKILL on Unix
        }
        let status = self.child.wait().expect("wait for child");
        self.reader.join().expect("stdout reader");
        let rest = self.lines.try_iter().collect();
        (status, rest, self.errors.join().unwrap_or_default())
    }

    /// Kills the child (if it still runs) and returns its stderr, for a failure message.
    pub fn abandon(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.errors.join().unwrap_or_default()
    }
}
