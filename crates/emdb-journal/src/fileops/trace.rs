//! The recorder behind the `io-trace` feature (tests only; never in a release build).
//!
//! A [`Recording`] collects every operation of [`super`] on a path under its root, in the
//! order they returned, as [`Op`]s: enough to replay them onto a model of a file system
//! that tracks what is durable and what is not. Files are named by their inode number
//! ([`Op::Open`] binds a name to one), so a write through a descriptor whose file has
//! been renamed or replaced since is put on the right file. Inode numbers are read on
//! Unix only; elsewhere every file is `0` and the record names files by path alone.
//!
//! Several recordings may run at once (tests in parallel), each under its own root; an
//! operation is added to every recording whose root holds one of its paths. With no
//! recording running, an operation costs one atomic load.
//!
//! ```
//! # fn main() -> Result<(), emdb_journal::Error> {
//! use emdb_journal::fileops::trace::{Op, Recording};
//! let dir = tempfile::tempdir()?;
//! let recording = Recording::start(dir.path())?;
//! let journal = emdb_journal::Journal::open(dir.path().join("db.log"))?;
//! journal.append(b"hello")?;
//! journal.sync()?;
//! let ops = recording.finish();
//! assert!(ops.iter().any(|op| matches!(op, Op::Write { bytes, .. } if bytes.windows(5).any(|w| w == b"hello"))));
//! assert!(ops.iter().any(|op| matches!(op, Op::Sync { .. })));
//! # Ok(()) }
//! ```

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// One recorded file operation. `file` is the inode number of the file operated on.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// `path` was opened for writing as `file`, creating it if the name was free (a name
    /// already bound to `file` is left as it is).
    Open {
        /// The name opened.
        path: PathBuf,
        /// The file it names after the open.
        file: u64,
    },
    /// `bytes` were written at `offset` of `file`.
    Write {
        /// The file's name when written (for reading the record; `file` decides).
        path: PathBuf,
        /// The file written.
        file: u64,
        /// Where the bytes start.
        offset: u64,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// `file` was cut or zero-extended to `len` bytes.
    SetLen {
        /// The file's name then.
        path: PathBuf,
        /// The file.
        file: u64,
        /// Its new length.
        len: u64,
    },
    /// `file` was synced (`fdatasync`, `fsync`, or a write-through write): its bytes and
    /// length are durable; its name is not (that takes [`Op::SyncDir`]).
    Sync {
        /// The file's name then.
        path: PathBuf,
        /// The file.
        file: u64,
    },
    /// The name `path` was removed.
    Remove {
        /// The name removed.
        path: PathBuf,
    },
    /// The name `from` was renamed to `to`, replacing what `to` named.
    Rename {
        /// The old name.
        from: PathBuf,
        /// The new name.
        to: PathBuf,
    },
    /// The directory `dir` was synced: every creation, removal and rename in it so far is
    /// durable.
    SyncDir {
        /// The directory.
        dir: PathBuf,
    },
}

fn name(path: &Path) -> std::borrow::Cow<'_, str> {
    path.file_name().unwrap_or(path.as_os_str()).to_string_lossy()
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Open { path, file } => write!(f, "open {}#{file}", name(path)),
            Op::Write {
                path,
                file,
                offset,
                bytes,
            } => {
                write!(
                    f,
                    "write {}#{file} [{offset}, {}) {} bytes",
                    name(path),
                    offset + bytes.len() as u64,
                    bytes.len()
                )?;
                let head: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
                write!(f, " {}{}", head.join(" "), if bytes.len() > 8 { " .." } else { "" })
            }
            Op::SetLen { path, file, len } => write!(f, "set_len {}#{file} {len}", name(path)),
            Op::Sync { path, file } => write!(f, "sync {}#{file}", name(path)),
            Op::Remove { path } => write!(f, "remove {}", name(path)),
            Op::Rename { from, to } => write!(f, "rename {} -> {}", name(from), name(to)),
            Op::SyncDir { dir } => write!(f, "sync_dir {}", dir.display()),
        }
    }
}

/// One running recording.
struct Slot {
    id: u64,
    /// The root as given and as resolved: paths reach here in either form.
    roots: Vec<PathBuf>,
    ops: Vec<Op>,
}

impl Slot {
    fn covers(&self, path: &Path) -> bool {
        self.roots.iter().any(|root| path.starts_with(root))
    }
}

/// How many recordings run: the fast path's one load.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);
static SLOTS: Mutex<Vec<Slot>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);
/// The staging files' numbers (their "nonce").
static STAGING: AtomicU64 = AtomicU64::new(0);

fn slots() -> MutexGuard<'static, Vec<Slot>> {
    SLOTS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Adds the operations `make` returns to every recording that covers one of `paths`.
fn note_all(paths: &[&Path], make: impl FnOnce() -> Vec<Op>) {
    if ACTIVE.load(Ordering::Acquire) == 0 {
        return;
    }
    let mut slots = slots();
    let mut make = Some(make);
    let mut made: Option<Vec<Op>> = None;
    for slot in slots.iter_mut().filter(|s| paths.iter().any(|p| s.covers(p))) {
        if made.is_none() {
            made = make.take().map(|f| f());
        }
        slot.ops.extend(made.iter().flatten().cloned());
    }
}

/// Adds the operation `make` returns to every recording that covers one of `paths`.
pub(crate) fn note(paths: &[&Path], make: impl FnOnce() -> Op) {
    note_all(paths, || vec![make()]);
}

/// Records fsys's atomic replace of `path` with `bytes` as the steps fsys documents.
pub(crate) fn note_replace(path: &Path, bytes: &[u8]) {
    note_all(&[path], || {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let staging = dir.join(format!(
            ".fsys-tmp-{:x}-{:x}.{}",
            std::process::id(),
            STAGING.fetch_add(1, Ordering::Relaxed),
            name(path)
        ));
        // The staging file is the target now.
        let file = std::fs::metadata(path).map_or(0, |m| meta_id(&m));
        vec![
            Op::Open {
                path: staging.clone(),
                file,
            },
            Op::Write {
                path: staging.clone(),
                file,
                offset: 0,
                bytes: bytes.to_vec(),
            },
            Op::Sync {
                path: staging.clone(),
                file,
            },
            Op::Rename {
                from: staging,
                to: path.to_path_buf(),
            },
            Op::SyncDir { dir },
        ]
    });
}

fn meta_id(meta: &std::fs::Metadata) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        meta.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        0
    }
}

/// The inode number of `file` (0 where it cannot be read).
pub(crate) fn file_id(file: &File) -> u64 {
    file.metadata().map_or(0, |m| meta_id(&m))
}

/// A running recording of the file operations under one directory. Dropping it stops it.
#[derive(Debug)]
pub struct Recording {
    id: u64,
}

impl Recording {
    /// Starts recording every file operation on a path under `root` (a directory that
    /// exists).
    ///
    /// # Errors
    ///
    /// [`crate::Error::Io`] when `root` cannot be resolved.
    pub fn start(root: impl AsRef<Path>) -> crate::Result<Recording> {
        let root = root.as_ref();
        let resolved = std::fs::canonicalize(root)?;
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        slots().push(Slot {
            id,
            roots: vec![root.to_path_buf(), resolved],
            ops: Vec::new(),
        });
        ACTIVE.fetch_add(1, Ordering::AcqRel);
        Ok(Recording { id })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Slot) -> T) -> Option<T> {
        slots().iter_mut().find(|s| s.id == self.id).map(f)
    }

    /// How many operations were recorded so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.with(|s| s.ops.len()).unwrap_or(0)
    }

    /// Whether nothing was recorded yet.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of the operations recorded so far.
    #[must_use]
    pub fn ops(&self) -> Vec<Op> {
        self.with(|s| s.ops.clone()).unwrap_or_default()
    }

    /// Stops recording and returns every operation recorded.
    #[must_use]
    pub fn finish(self) -> Vec<Op> {
        self.with(|s| std::mem::take(&mut s.ops)).unwrap_or_default()
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        let mut slots = slots();
        if let Some(at) = slots.iter().position(|s| s.id == self.id) {
            slots.swap_remove(at);
            ACTIVE.fetch_sub(1, Ordering::AcqRel);
        }
    }
}
