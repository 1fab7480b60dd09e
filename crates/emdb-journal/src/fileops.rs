//! Every change the journal, and the engine above it, makes to its files: writes, length
//! changes, syncs of a file, creations, removals, renames, syncs of a directory and
//! fsys's atomic replace. Nothing else in either crate changes a file, so that with the
//! `io-trace` feature each of these calls can be recorded (see [`trace`]) and a test can
//! rebuild, from the record, what a power cut at any instant could have left on disk.
//! Without the feature the functions are the operations and nothing more.
//!
//! Not covered: fsys's Direct I/O journal ([`crate::JournalOptions::direct_io`]), whose
//! writes and syncs happen inside fsys, and permission changes, which change no bytes.

use std::fs::File;
use std::io;
use std::path::Path;

use crate::file;

#[cfg(feature = "io-trace")]
pub mod trace;

/// Records `op` when a recording covers `path` (compiled out without `io-trace`).
macro_rules! note {
    ($paths:expr, $op:expr) => {
        #[cfg(feature = "io-trace")]
        trace::note($paths, || $op);
        #[cfg(not(feature = "io-trace"))]
        let _ = $paths;
    };
}

/// Records a sync of `file` (named `path`): its bytes and length are durable.
fn note_sync(file: &File, path: &Path) {
    note!(
        &[path],
        trace::Op::Sync {
            path: path.to_path_buf(),
            file: trace::file_id(file),
        }
    );
    #[cfg(not(feature = "io-trace"))]
    let _ = file;
}

/// Records that `file` (named `path`) now has the length `len` gives.
fn note_len(file: &File, path: &Path, len: impl FnOnce() -> u64) {
    note!(
        &[path],
        trace::Op::SetLen {
            path: path.to_path_buf(),
            file: trace::file_id(file),
            len: len(),
        }
    );
    #[cfg(not(feature = "io-trace"))]
    let _ = (file, len);
}

/// Renames `from` to `to`, replacing whatever `to` names (`std::fs::rename`). Durable
/// only once the directory is synced ([`crate::sync_parent_dir`]).
///
/// # Errors
///
/// The rename's.
pub fn rename(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::rename(from, to)?;
    note!(
        &[from, to],
        trace::Op::Rename {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
        }
    );
    Ok(())
}

/// Removes the file at `path` (`std::fs::remove_file`). Durable only once the directory
/// is synced.
///
/// # Errors
///
/// The removal's (`NotFound` for a file already absent).
pub fn remove_file(path: &Path) -> io::Result<()> {
    std::fs::remove_file(path)?;
    note!(
        &[path],
        trace::Op::Remove {
            path: path.to_path_buf()
        }
    );
    Ok(())
}

/// Notes that `file` was opened at `path` by an open that may have created it.
#[cfg_attr(not(feature = "io-trace"), allow(unused_variables, reason = "recording only"))]
pub(crate) fn opened(file: &File, path: &Path) {
    note!(
        &[path],
        trace::Op::Open {
            path: path.to_path_buf(),
            file: trace::file_id(file),
        }
    );
}

/// Writes all of `buf` at `offset` of `file` (named `path`).
pub(crate) fn write_at(file: &File, path: &Path, buf: &[u8], offset: u64) -> io::Result<()> {
    file::write_all_at(file, buf, offset)?;
    note!(
        &[path],
        trace::Op::Write {
            path: path.to_path_buf(),
            file: trace::file_id(file),
            offset,
            bytes: buf.to_vec(),
        }
    );
    Ok(())
}

/// [`write_at`] through a write-through (`O_DSYNC`) descriptor: the bytes are durable when
/// it returns, recorded as a write followed by a sync of the file.
pub(crate) fn write_through_at(file: &File, path: &Path, buf: &[u8], offset: u64) -> io::Result<()> {
    write_at(file, path, buf, offset)?;
    note_sync(file, path);
    Ok(())
}

/// Sets the length of `file` (named `path`) to `len`, cutting or zero-extending it.
pub(crate) fn set_len(file: &File, path: &Path, len: u64) -> io::Result<()> {
    file.set_len(len)?;
    note_len(file, path, || len);
    Ok(())
}

/// Grows `file` (named `path`) from `from` to `to` bytes, reserving real blocks where the
/// platform can (see [`file::allocate`]). Recorded as the length the file then has.
pub(crate) fn allocate(file: &File, path: &Path, from: u64, to: u64) -> io::Result<()> {
    file::allocate(file, from, to)?;
    note_len(file, path, || file.metadata().map_or(to, |m| m.len()));
    Ok(())
}

/// `fdatasync` of `file` (named `path`): its bytes and length are durable.
pub(crate) fn sync_data(file: &File, path: &Path) -> io::Result<()> {
    file.sync_data()?;
    note_sync(file, path);
    Ok(())
}

/// `fsync` of `file` (named `path`); recorded as [`sync_data`] is (its name is not made
/// durable by it: that takes a sync of the directory).
pub(crate) fn sync_all(file: &File, path: &Path) -> io::Result<()> {
    file.sync_all()?;
    note_sync(file, path);
    Ok(())
}

/// Syncs the directory `dir`: the creations, removals and renames of its entries so far
/// are durable. A no-op where directories cannot be opened (Windows).
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    note!(&[dir], trace::Op::SyncDir { dir: dir.to_path_buf() });
    Ok(())
}

/// fsys's atomic replace of `path` with `bytes` ([`fsys::Handle::write_copy`]). fsys
/// documents its steps: a staging file `.fsys-tmp-<pid>-<nonce>.<name>` created beside
/// the target, written, flushed, renamed over the target, then the directory synced (its
/// failure ignored). They are recorded as those steps, the staging file under a name of
/// that form.
pub(crate) fn write_copy(fs: &fsys::Handle, path: &Path, bytes: &[u8]) -> fsys::Result<()> {
    fs.write_copy(path, bytes)?;
    #[cfg(feature = "io-trace")]
    trace::note_replace(path, bytes);
    Ok(())
}
