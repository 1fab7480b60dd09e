//! File helpers of the engine's own files beside the journal (compaction's scratch, the
//! index snapshot, the admin swap's files). Their names (`emdb_journal::sibling`), their
//! atomic replacement (`emdb_journal::replace_file`) and the sync of their directory
//! (`emdb_journal::sync_parent_dir`) are the journal's, and so are their removals and
//! renames (`emdb_journal::fileops`), so every file of a database is named, replaced and
//! changed one way (and, in tests, recorded: feature `io-trace`).

use std::path::Path;

use crate::error::Result;

/// Removes the file at `path`; a file already absent is fine.
pub(crate) fn remove_if_present(path: &Path) -> Result<()> {
    match emdb_journal::fileops::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Gives `to` the permission bits of `from` (the mode on Unix, the read-only flag
/// elsewhere), so that a file put in place of `from` by a rename keeps them. Nothing to
/// copy when `from` is absent.
pub(crate) fn keep_permissions(from: &Path, to: &Path) -> Result<()> {
    match std::fs::metadata(from) {
        Ok(m) => Ok(std::fs::set_permissions(to, m.permissions())?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Makes `path` readable and writable by its owner only (0600; a no-op where the platform
/// has no modes, or when `path` is absent).
pub(crate) fn owner_only(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
