//! The file swap that ends an encryption-admin run (enable, disable, rotate), and its
//! completion by the next open when a crash interrupted it.
//!
//! The admin writes the new database to `<path>.enc.tmp` (its sidecar to
//! `<path>.enc.tmp.meta`) and syncs both, then writes the intent marker `<path>.encadmin`
//! atomically. From the marker on, the new database is the truth, and these steps, each
//! skipped when already done, finish the swap:
//!
//! 1. `<path>.meta` → `<path>.encbak.meta` (if the new sidecar is still waiting)
//! 2. `<path>` → `<path>.encbak` (if the new log is still waiting)
//! 3. `<path>.enc.tmp.meta` → `<path>.meta`
//! 4. `<path>.enc.tmp` → `<path>`, directory synced
//! 5. the old database's index snapshot is deleted; so is the backup, unless the marker
//!    says to keep it
//! 6. the marker is deleted, directory synced
//!
//! A crash before the marker leaves the old database in place (the next open deletes the
//! scratch files); a crash after it leaves a state from which the steps above reach the
//! new database. Either way exactly one of the two opens, with its own key.
//!
//! A marker without our header is emdb 1.0's (one line of prose): its swap is finished as
//! emdb 1.0 finishes it ([`complete_emdb1`]), keeping its `.encbak`. A marker of a newer
//! format of ours is refused.

use std::path::Path;

#[cfg(feature = "encrypt")]
use emdb_journal::replace_file;
use emdb_journal::{fileops, sibling, sync_parent_dir};

use crate::engine::files::{keep_permissions, owner_only, remove_if_present};
use crate::error::{Error, Result};

#[cfg(feature = "encrypt")]
const MARKER_HEAD: &str = "emdb-encadmin v1";
/// What starts every marker of ours, before its format version.
const MARKER_PREFIX: &str = "emdb-encadmin v";

fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

fn len_of(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Writes the intent marker of the database at `data`, atomically and durably (the
/// journal's [`replace_file`]).
#[cfg(feature = "encrypt")]
pub(crate) fn write_marker(data: &Path, keep_backup: bool) -> Result<()> {
    let body = format!("{MARKER_HEAD}\nkeep_backup={}\n", u8::from(keep_backup));
    Ok(replace_file(&sibling(data, ".encadmin"), body.as_bytes())?)
}

/// Runs the swap's steps for the database at `data` (see the module docs); each step is
/// skipped when already done, so this finishes a swap interrupted at any point.
pub(crate) fn complete(data: &Path, keep_backup: bool) -> Result<()> {
    let meta = sibling(data, ".meta");
    let new_log = sibling(data, ".enc.tmp");
    let new_meta = sibling(data, ".enc.tmp.meta");
    let bak = sibling(data, ".encbak");
    let bak_meta = sibling(data, ".encbak.meta");
    // The new files take the permission bits of those they replace (already moved to
    // the backup names when a crash interrupted an earlier run).
    if exists(&new_log) {
        keep_permissions(if exists(data) { data } else { &bak }, &new_log)?;
    }
    if exists(&new_meta) {
        keep_permissions(if exists(&meta) { &meta } else { &bak_meta }, &new_meta)?;
    }
    if exists(&new_meta) && exists(&meta) {
        fileops::rename(&meta, &bak_meta)?;
    }
    if exists(&new_log) && exists(data) {
        fileops::rename(data, &bak)?;
    }
    if exists(&new_meta) {
        fileops::rename(&new_meta, &meta)?;
    }
    if exists(&new_log) {
        fileops::rename(&new_log, data)?;
    }
    sync_parent_dir(data)?;
    // The old database's index snapshot describes the old log (and, after
    // enable_encryption, in plaintext).
    remove_if_present(&sibling(data, ".index"))?;
    // The staging name earlier builds of ours gave it.
    remove_if_present(&sibling(data, ".index.tmp"))?;
    if keep_backup {
        // A copy kept for safekeeping (plaintext after enable_encryption) is the owner's
        // alone, whatever the database's own bits.
        owner_only(&bak)?;
        owner_only(&bak_meta)?;
    } else {
        remove_if_present(&bak)?;
        remove_if_present(&bak_meta)?;
    }
    sync_parent_dir(data)?;
    remove_if_present(&sibling(data, ".encadmin"))?;
    Ok(sync_parent_dir(data)?)
}

/// Whose intent marker a `.encadmin` file is.
#[derive(Debug, PartialEq, Eq)]
enum Marker {
    /// Ours, of this format: `emdb-encadmin v1`, then options.
    Ours { keep_backup: bool },
    /// Anything without our header: emdb 1.0 writes one line of prose (and an empty or
    /// torn marker completes the same way, as emdb 1.0 completes any marker file).
    Emdb1,
    /// Ours, of a newer format (`emdb-encadmin v<n>`, n > 1, or a version this build cannot
    /// read, reported as 0): refused, nothing touched.
    Newer { found: u32 },
}

/// Reads a marker's bytes.
fn marker_kind(bytes: &[u8]) -> Marker {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default().trim_end();
    let Some(version) = first.strip_prefix(MARKER_PREFIX) else {
        return Marker::Emdb1;
    };
    match version.parse::<u32>() {
        Ok(1) => Marker::Ours {
            // Unreadable options keep the backup: the safe side.
            keep_backup: !lines.any(|l| l.trim() == "keep_backup=0"),
        },
        Ok(found) => Marker::Newer { found },
        Err(_) => Marker::Newer { found: 0 },
    }
}

/// Finishes a swap emdb 1.0 began, as emdb 1.0 finishes it: it kept the old database as
/// `<path>.encbak` (+ `.encbak.meta`) before writing its marker, so only the renames of
/// the new files over the old ones remain, each skipped when done; the backup stays.
fn complete_emdb1(data: &Path) -> Result<()> {
    let new_log = sibling(data, ".enc.tmp");
    let new_meta = sibling(data, ".enc.tmp.meta");
    if exists(&new_meta) {
        fileops::rename(&new_meta, &sibling(data, ".meta"))?;
    }
    if exists(&new_log) {
        fileops::rename(&new_log, data)?;
    }
    sync_parent_dir(data)?;
    remove_if_present(&sibling(data, ".encadmin"))?;
    Ok(sync_parent_dir(data)?)
}

/// What open does first, under the lock: finishes an interrupted swap, deletes the
/// scratch of an admin run that never reached its marker, and refuses to create a new
/// database where a backup shows one was lost.
pub(crate) fn recover(data: &Path) -> Result<()> {
    let marker = sibling(data, ".encadmin");
    // The marker's staging file under the name earlier builds gave it (fsys's own staging
    // files are `.fsys-tmp-*`).
    remove_if_present(&sibling(data, ".encadmin.tmp"))?;
    match std::fs::read(&marker) {
        Ok(bytes) => {
            return match marker_kind(&bytes) {
                Marker::Ours { keep_backup } => complete(data, keep_backup),
                Marker::Emdb1 => complete_emdb1(data),
                Marker::Newer { found } => Err(Error::VersionMismatch { found, expected: 1 }),
            };
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    remove_if_present(&sibling(data, ".enc.tmp"))?;
    remove_if_present(&sibling(data, ".enc.tmp.meta"))?;
    if len_of(data) == 0 && len_of(&sibling(data, ".encbak")) > 0 {
        return Err(Error::InvalidConfig(
            "the database file is missing or empty but <path>.encbak holds one: restore it (rename it and its .meta back) or delete it",
        ));
    }
    Ok(())
}
