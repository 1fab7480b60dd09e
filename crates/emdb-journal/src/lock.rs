//! The advisory lock that keeps a second writer away: `<path>.lock`, plus the holder file
//! `<path>.lock-meta` that names who holds it.
//!
//! The lock is the operating system's exclusive advisory file lock (`flock` on Unix,
//! `LockFileEx` on Windows), taken without blocking. It belongs to the open file
//! description, so a second open in the same process is refused like one in another
//! process, and it disappears when its holder exits, however it exits. The lock file stays
//! on disk after close and is reused by the next open.
//!
//! The holder file is plain text, one `key=value` per line after a version line:
//!
//! ```text
//! emdb-lock v1
//! pid=4242
//! acquired_at=1767225600000
//! crate_version=0.1.0
//! ```
//!
//! Unknown keys are ignored. It is written after the lock is taken and removed before the
//! lock is released, so a reader that finds the lock busy usually finds the holder too.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::paths;

/// The longest holder file [`lock_holder`] reads.
const MAX_HOLDER_BYTES: u64 = 4096;
/// First line of a holder file, before the schema version.
const HOLDER_MAGIC: &str = "emdb-lock v";

/// Who holds a journal's lock, as its holder file says.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockHolder {
    /// Version of the holder file's format (1).
    pub schema_version: u32,
    /// Process id of the holder.
    pub pid: u32,
    /// When the lock was taken, in Unix milliseconds (0 if the file did not say).
    pub acquired_at_unix_millis: u64,
    /// The holder's software version, if it wrote one.
    pub crate_version: Option<String>,
}

/// A held lock on a journal's path. Dropping it removes the holder file, then releases the
/// lock.
///
/// [`Journal::open`](crate::Journal::open) takes one itself. A store that replaces its
/// journal file (compaction) takes the lock with [`JournalLock::acquire`] instead, opens
/// its journals with [`JournalOptions::take_lock(false)`](crate::JournalOptions::take_lock),
/// and so keeps the path locked across the swap.
#[derive(Debug)]
pub struct JournalLock {
    data_path: PathBuf,
    holder_path: PathBuf,
    // Declared last so it is dropped (and the lock released) after `Drop::drop` ran.
    _file: File,
}

impl Drop for JournalLock {
    fn drop(&mut self) {
        // Best effort: a stale holder file is harmless, `lock_holder` just reports it.
        let _ = crate::fileops::remove_file(&self.holder_path);
    }
}

impl JournalLock {
    /// Takes the lock of the journal at `path` (`<path>.lock`, with `<path>.lock-meta`
    /// naming this process and `holder_version`). The path is resolved as open resolves
    /// it, so every name of one file shares one lock.
    ///
    /// # Errors
    ///
    /// [`Error::Busy`] when another handle holds it, [`Error::Lock`] when the lock file
    /// cannot be used, [`Error::InvalidPath`] for a path open would refuse.
    pub fn acquire(path: impl AsRef<Path>, holder_version: &str) -> Result<JournalLock> {
        acquire(&paths::resolve(path.as_ref())?, holder_version)
    }

    /// The data file's path the lock guards, symlinks resolved: where the journal and its
    /// siblings live.
    #[must_use]
    pub fn data_path(&self) -> &Path {
        &self.data_path
    }
}

/// Takes the lock of the journal at `data` (an already resolved path).
pub(crate) fn acquire(data: &Path, crate_version: &str) -> Result<JournalLock> {
    let path = paths::sibling(data, ".lock");
    let lock_err = |source| Error::Lock {
        path: path.clone(),
        source,
    };
    let file = private_options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(lock_err)?;
    crate::fileops::opened(&file, &path);
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(Error::Busy {
                holder: lock_holder(data).ok().flatten(),
                path,
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(lock_err(e)),
    }
    let holder_path = paths::sibling(data, ".lock-meta");
    let acquired = crate::journal::now_millis();
    let body = format!(
        "{HOLDER_MAGIC}1\npid={}\nacquired_at={acquired}\ncrate_version={crate_version}\n",
        std::process::id()
    );
    // Made anew, never rewritten in place, so that taking the lock needs a writable
    // directory even when a holder that died left its file: a store writes beside the
    // data file (checkpoints, compaction, recovery), and a read-only directory is better
    // refused here, naming the permission, than found by the first checkpoint.
    let written = match crate::fileops::remove_file(&holder_path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => private_options()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&holder_path)
            .and_then(|f| {
                // Opened, cut and written as three steps, each recorded (`truncate(true)`
                // would cut it unseen).
                crate::fileops::opened(&f, &holder_path);
                crate::fileops::set_len(&f, &holder_path, 0)?;
                crate::fileops::write_at(&f, &holder_path, body.as_bytes(), 0)
            }),
    };
    if let Err(source) = written {
        return Err(Error::Lock {
            path: holder_path,
            source,
        });
    }
    Ok(JournalLock {
        data_path: data.to_path_buf(),
        holder_path,
        _file: file,
    })
}

/// Reads who holds the lock of the database at `path`.
///
/// Returns `Ok(None)` when there is no holder file or it is empty (nobody holds the lock,
/// or its holder has not written the file yet). This only reads the holder file; it does
/// not test the lock itself, so a holder that died without cleaning up is still reported.
///
/// # Errors
///
/// [`Error::MalformedLockHolder`] when the file is not a holder file (or is larger than
/// 4 KiB), [`Error::Lock`] when it cannot be read.
pub fn lock_holder(path: impl AsRef<Path>) -> Result<Option<LockHolder>> {
    let data = resolve_lenient(path.as_ref());
    let holder_path = paths::sibling(&data, ".lock-meta");
    let file = match File::open(&holder_path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Lock {
                path: holder_path,
                source,
            });
        }
    };
    let mut body = String::new();
    let read = file.take(MAX_HOLDER_BYTES + 1).read_to_string(&mut body);
    match read {
        Ok(n) if n as u64 > MAX_HOLDER_BYTES => Err(Error::MalformedLockHolder {
            path: holder_path,
            reason: "larger than 4 KiB",
        }),
        Ok(_) if body.trim().is_empty() => Ok(None),
        Ok(_) => parse_holder(&body)
            .map(Some)
            .map_err(|reason| Error::MalformedLockHolder {
                path: holder_path,
                reason,
            }),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Err(Error::MalformedLockHolder {
            path: holder_path,
            reason: "not UTF-8 text",
        }),
        Err(source) => Err(Error::Lock {
            path: holder_path,
            source,
        }),
    }
}

/// Deletes the lock file and the holder file of the database at `path`, so that a lock
/// left by a holder that is known to be dead stops being reported.
///
/// Idempotent. The caller must have made sure the holder is gone (see [`lock_holder`]):
/// breaking a live holder's lock lets a second writer in, which corrupts the journal.
///
/// # Errors
///
/// [`Error::Lock`] when a file exists but cannot be removed.
pub fn break_lock(path: impl AsRef<Path>) -> Result<()> {
    let data = resolve_lenient(path.as_ref());
    for suffix in [".lock-meta", ".lock"] {
        let p = paths::sibling(&data, suffix);
        match crate::fileops::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(Error::Lock { path: p, source }),
        }
    }
    Ok(())
}

/// Resolves like open does, but falls back to the path as given (the admin functions work
/// on whatever is there).
fn resolve_lenient(path: &Path) -> PathBuf {
    paths::resolve(path).unwrap_or_else(|_| path.to_path_buf())
}

fn parse_holder(body: &str) -> std::result::Result<LockHolder, &'static str> {
    let mut lines = body.lines();
    let first = lines.next().unwrap_or_default().trim();
    let version = first
        .strip_prefix(HOLDER_MAGIC)
        .ok_or("first line is not `emdb-lock v<N>`")?;
    let schema_version = version.parse().map_err(|_| "schema version is not a number")?;
    let mut pid = None;
    let mut acquired_at_unix_millis = 0;
    let mut crate_version = None;
    for line in lines {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "pid" => pid = value.parse().ok(),
            "acquired_at" => acquired_at_unix_millis = value.parse().unwrap_or(0),
            "crate_version" => crate_version = Some(value.to_owned()),
            _ => {}
        }
    }
    Ok(LockHolder {
        schema_version,
        pid: pid.ok_or("no valid pid= line")?,
        acquired_at_unix_millis,
        crate_version,
    })
}

/// Open options that create files readable and writable by the owner only (0600 on Unix).
pub(crate) fn private_options() -> OpenOptions {
    #[allow(unused_mut, reason = "mutated on Unix only")]
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_v1_body_and_ignores_unknown_keys() {
        let h = parse_holder("emdb-lock v1\npid=42\nacquired_at=7\nfuture=x\ncrate_version=1.0.3\n").expect("valid");
        assert_eq!(h.pid, 42);
        assert_eq!(h.schema_version, 1);
        assert_eq!(h.acquired_at_unix_millis, 7);
        assert_eq!(h.crate_version.as_deref(), Some("1.0.3"));
    }

    #[test]
    fn rejects_bodies_without_magic_or_pid() {
        assert!(parse_holder("hello\npid=1\n").is_err());
        assert!(parse_holder("emdb-lock vX\npid=1\n").is_err());
        assert!(parse_holder("emdb-lock v1\nacquired_at=1\n").is_err());
    }
}
