//! Where the journal's files live, the data file and its siblings, and how a file beside
//! the journal is replaced: the sidecar here, and the files a layer above keeps next to
//! it (emdb's index snapshot, for one) the same way.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The name of a file kept beside the one at `path`: `<path><suffix>`, e.g. `db.emdb` +
/// `.meta` = `db.emdb.meta`. The journal's own are `.meta`, `.lock`, `.lock-meta` and
/// `.corrupt-<offset>`.
///
/// ```
/// use std::path::Path;
/// assert_eq!(emdb_journal::sibling(Path::new("/a/b.db"), ".meta"), Path::new("/a/b.db.meta"));
/// ```
#[must_use]
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Makes the directory entry of `path` durable (a create, rename or removal of it) by
/// syncing the directory that holds it. A no-op where directories cannot be opened
/// (Windows).
///
/// # Errors
///
/// [`Error::Io`] when the directory cannot be opened or its sync fails: a failed sync
/// is reported, never ignored.
pub fn sync_parent_dir(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        crate::fileops::sync_dir(dir)?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Replaces the file at `path` with `bytes`, atomically and durably: through fsys's
/// atomic replace (a staging file beside it, synced, renamed over it), then
/// [`sync_parent_dir`]. After a crash the file holds the old bytes or the new ones, never a
/// mix, and a file that did not exist is absent or whole, never empty. A new file is
/// created owner-only (where the platform has modes), by the same steps through a staging
/// file of this crate's (fsys would give it the default mode); an existing one keeps its
/// permission bits. This is how the journal replaces its sidecar.
///
/// ```
/// # fn main() -> Result<(), emdb_journal::Error> {
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("db.log.extra");
/// emdb_journal::replace_file(&path, b"first")?;
/// emdb_journal::replace_file(&path, b"second")?;
/// assert_eq!(std::fs::read(&path)?, b"second");
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// [`Error::Fsys`] when a step of the replace fails (the old file stays),
/// [`Error::Io`] when the file cannot be created or the directory sync fails.
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<()> {
    replace_with(&fsys::builder().build()?, path, bytes)
}

/// [`replace_file`] through an fsys handle the caller already holds.
pub(crate) fn replace_with(fs: &fsys::Handle, path: &Path, bytes: &[u8]) -> Result<()> {
    if path.exists() {
        crate::fileops::write_copy(fs, path, bytes)?;
    } else {
        // Not an empty owner-only file first for fsys to copy the mode of: a crash before
        // fsys's rename would leave it as the file, empty (a sidecar that reads as
        // damaged).
        create_whole(path, bytes)?;
    }
    // fsys syncs the directory too but ignores a failure of that sync; a replace that is
    // reported durable must have its rename durable, so the directory is synced again
    // here, with the failure reported (one more directory sync per replace).
    sync_parent_dir(path)
}

/// Puts a new owner-only file holding `bytes` at `path` as fsys's replace does: a staging
/// file beside it (named as fsys names its own, so [`remove_stale_staging`] finds it
/// after a crash), written, synced, renamed into place. The caller syncs the directory.
fn create_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    static NONCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let (dir, name) = match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => (dir, name),
        _ => {
            return Err(Error::InvalidPath {
                path: path.to_path_buf(),
                reason: "it has no file name",
            });
        }
    };
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    let mut attempt = 0;
    let (staging, file) = loop {
        let nonce = clock ^ NONCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed) << 32;
        let mut staging_name = OsString::from(format!(".fsys-tmp-{:x}-{nonce:x}.", std::process::id()));
        staging_name.push(name);
        let staging = dir.join(staging_name);
        match crate::lock::private_options()
            .write(true)
            .create_new(true)
            .open(&staging)
        {
            Ok(file) => break (staging, file),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 8 => attempt += 1,
            Err(e) => return Err(Error::Io(e)),
        }
    };
    crate::fileops::opened(&file, &staging);
    let written = crate::fileops::write_at(&file, &staging, bytes, 0)
        .and_then(|()| crate::fileops::sync_all(&file, &staging))
        .and_then(|()| {
            drop(file);
            crate::fileops::rename(&staging, path)
        });
    if let Err(e) = written {
        // Best effort: a staging file left behind is removed at the next open.
        let _ = crate::fileops::remove_file(&staging);
        return Err(Error::Io(e));
    }
    Ok(())
}

/// fsys names a replace's staging file `.fsys-tmp-<pid>-<nonce>.<file name>` (before
/// fsys 1.1.1, `.fsys-tmp-<n>.<file name>`), pid, nonce and n in hex.
const STAGING_PREFIX: &[u8] = b".fsys-tmp-";

/// Whether `name` is the name of a staging file of a [`replace_file`] of `target` (a file
/// name, not a path).
fn is_staging_of(name: &[u8], target: &[u8]) -> bool {
    let Some(rest) = name.strip_prefix(STAGING_PREFIX) else {
        return false;
    };
    let Some(dot) = rest.iter().position(|&b| b == b'.') else {
        return false;
    };
    let (id, file) = (&rest[..dot], &rest[dot + 1..]);
    !id.is_empty() && id.iter().all(|b| b.is_ascii_hexdigit() || *b == b'-') && file == target
}

/// Removes the staging files that interrupted replaces ([`replace_file`], a crash between
/// fsys's staging write and its rename) left beside `path`'s siblings `<path><suffix>`,
/// one per suffix: each such crash leaves a file of a new name, so without this they pile
/// up. Returns how many were removed. Call it only while no replace of those files can be
/// running (under the database's lock: the journal does it at open for `<path>.meta`).
/// A staging file whose name fsys shortened (a target name near the 255-byte limit) is
/// not recognised and stays.
///
/// # Errors
///
/// [`Error::Io`] when the directory cannot be read or a staging file cannot be removed.
pub fn remove_stale_staging(path: &Path, suffixes: &[&str]) -> Result<usize> {
    if suffixes.is_empty() {
        return Ok(0);
    }
    let targets: Vec<PathBuf> = suffixes.iter().map(|s| sibling(path, s)).collect();
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let names: Vec<&[u8]> = targets
        .iter()
        .filter_map(|t| t.file_name())
        .map(|n| n.as_encoded_bytes())
        .collect();
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.as_encoded_bytes();
        if names.iter().any(|target| is_staging_of(name, target)) {
            match crate::fileops::remove_file(&entry.path()) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::Io(e)),
            }
        }
    }
    Ok(removed)
}

/// The path every sibling is derived from: symlinks resolved, so that every name of the
/// same file shares one lock. A path that does not exist yet resolves its parent
/// directory; a dangling symlink is refused.
pub(crate) fn resolve(path: &Path) -> Result<PathBuf> {
    let invalid = |reason| Error::InvalidPath {
        path: path.to_path_buf(),
        reason,
    };
    match std::fs::symlink_metadata(path) {
        Ok(meta) => match std::fs::canonicalize(path) {
            Ok(resolved) => {
                if std::fs::metadata(&resolved).is_ok_and(|m| m.is_dir()) {
                    return Err(invalid("it is a directory"));
                }
                Ok(resolved)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && meta.file_type().is_symlink() => {
                Err(invalid("it is a symlink to a file that does not exist"))
            }
            Err(e) => Err(Error::Io(e)),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let name = path.file_name().ok_or_else(|| invalid("it has no file name"))?;
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let parent = std::fs::canonicalize(parent)?;
            Ok(parent.join(name))
        }
        Err(e) => Err(Error::Io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_file_creates_owner_only_keeps_modes_and_reports_a_missing_directory() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("x.db.extra");
        replace_file(&path, b"one")?;
        assert_eq!(std::fs::read(&path)?, b"one");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640))?;
            replace_file(&path, b"two")?;
            assert_eq!(std::fs::read(&path)?, b"two");
            assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, 0o640);
        }
        let names: Vec<_> = std::fs::read_dir(dir.path())?.collect::<std::io::Result<_>>()?;
        assert_eq!(names.len(), 1, "no staging file is left behind");
        let lost = dir.path().join("missing").join("x.db.extra");
        assert!(replace_file(&lost, b"three").is_err());
        assert!(!lost.exists());
        assert!(
            sync_parent_dir(&lost).is_err(),
            "a directory that cannot be synced is reported"
        );
        Ok(())
    }

    #[test]
    fn staging_names_are_recognised_exactly() {
        let t = b"db.log.meta";
        assert!(is_staging_of(b".fsys-tmp-1a2b-ff00.db.log.meta", t));
        assert!(is_staging_of(b".fsys-tmp-7.db.log.meta", t), "the pre-1.1.1 form");
        assert!(!is_staging_of(b".fsys-tmp-1a-2b.db.log.meta.x", t));
        assert!(!is_staging_of(b".fsys-tmp-1a-2b.x.db.log.meta", t));
        assert!(!is_staging_of(b".fsys-tmp-1a-2b.db.log", t));
        assert!(!is_staging_of(b".fsys-tmp-zz.db.log.meta", t), "not hex");
        assert!(!is_staging_of(b".fsys-tmp-.db.log.meta", t), "no id");
        assert!(!is_staging_of(b"fsys-tmp-1.db.log.meta", t));
        assert!(!is_staging_of(b"db.log.meta", t));
    }

    #[test]
    fn stale_staging_files_of_the_named_siblings_are_removed_and_nothing_else() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("db.log");
        let ours = [
            ".fsys-tmp-1a-2b.db.log.meta",
            ".fsys-tmp-3.db.log.meta",
            ".fsys-tmp-4-5.db.log.extra",
        ];
        let others = [
            ".fsys-tmp-1a-2b.db.log.x.meta", // another database, `db.log.x`
            ".fsys-tmp-1a-2b.other.meta",
            ".fsys-tmp-1a-2b.db.log.meta.old",
            "db.log.meta",
        ];
        for name in ours.iter().chain(&others) {
            std::fs::write(dir.path().join(name), b"x")?;
        }
        assert_eq!(remove_stale_staging(&path, &[".meta", ".extra"])?, ours.len());
        for name in ours {
            assert!(!dir.path().join(name).exists(), "{name} stays");
        }
        for name in others {
            assert!(dir.path().join(name).exists(), "{name} was removed");
        }
        assert_eq!(remove_stale_staging(&path, &[".meta"])?, 0);
        Ok(())
    }

    #[test]
    fn sibling_appends_to_the_file_name() {
        assert_eq!(sibling(Path::new("/a/b.db"), ".meta"), PathBuf::from("/a/b.db.meta"));
    }

    #[test]
    fn resolve_handles_new_existing_and_dangling_paths() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let root = std::fs::canonicalize(dir.path())?;
        let new = dir.path().join("new.db");
        assert_eq!(resolve(&new)?, root.join("new.db"));
        std::fs::write(&new, b"")?;
        assert_eq!(resolve(&new)?, root.join("new.db"));
        assert!(matches!(resolve(dir.path()), Err(Error::InvalidPath { .. })));
        #[cfg(unix)]
        {
            let link = dir.path().join("link.db");
            std::os::unix::fs::symlink(&new, &link)?;
            assert_eq!(resolve(&link)?, root.join("new.db"));
            let dangling = dir.path().join("dangling.db");
            std::os::unix::fs::symlink(dir.path().join("missing.db"), &dangling)?;
            assert!(matches!(resolve(&dangling), Err(Error::InvalidPath { .. })));
        }
        Ok(())
    }
}
