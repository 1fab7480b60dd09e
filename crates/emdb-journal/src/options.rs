//! How a journal is opened: durability policy, damage handling, allocation and buffering.

use std::path::Path;

use crate::error::{Error, Result};
use crate::frame;
use crate::journal::Journal;

/// When appended frames become durable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncPolicy {
    /// Frames are durable once a [`Journal::sync`] (or [`Journal::sync_to`]) covering them
    /// returns. A lone caller syncs at once; callers that arrive while a sync is running
    /// share the next one.
    #[default]
    OnSync,
    /// Like [`SyncPolicy::OnSync`], and when several threads are syncing, the leader of a
    /// group waits up to [`JournalOptions::group_window`] for the others to join before it
    /// syncs. A lone syncer never waits.
    Grouped,
    /// Every append is durable when it returns. On Linux the data goes through a
    /// descriptor opened with `O_DSYNC`, so a lone writer pays one system call per append;
    /// concurrent writers still share one write and its flush.
    WriteThrough,
}

/// What open does when it finds damage followed by valid frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnCorruption {
    /// Refuse to open: [`Error::Corrupt`] with the offset, and the file left untouched.
    #[default]
    Fail,
    /// Open read-only, with the log ending at the damage: reads and iteration see every
    /// frame before it, appends fail with [`Error::ReadOnly`]. Nothing is modified.
    ReadOnly,
}

/// Writes builder methods that each set one option: an entry `name(arg: Type);`, with its
/// docs, is a `#[must_use]` method `name` that stores `arg` in the field of that name.
macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident($arg:ident: $ty:ty);)*) => {
        $(
            $(#[$doc])*
            #[must_use]
            pub fn $name(mut self, $arg: $ty) -> Self {
                self.$name = $arg;
                self
            }
        )*
    };
}

/// Options for opening a [`Journal`].
///
/// ```
/// # fn main() -> Result<(), emdb_journal::Error> {
/// # let dir = tempfile::tempdir()?;
/// use emdb_journal::{JournalOptions, SyncPolicy};
/// let journal = JournalOptions::new()
///     .sync_policy(SyncPolicy::WriteThrough)
///     .open(dir.path().join("log"))?;
/// let lsn = journal.append(b"durable on return")?;
/// assert!(journal.durable_lsn() > lsn);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct JournalOptions {
    pub(crate) sync_policy: SyncPolicy,
    pub(crate) group_window: std::time::Duration,
    pub(crate) on_corruption: OnCorruption,
    pub(crate) preallocate: u64,
    pub(crate) write_buffer: usize,
    pub(crate) max_frame_payload: usize,
    pub(crate) direct_io: bool,
    pub(crate) holder_version: String,
    pub(crate) take_lock: bool,
}

impl Default for JournalOptions {
    fn default() -> Self {
        JournalOptions {
            sync_policy: SyncPolicy::OnSync,
            group_window: std::time::Duration::from_micros(100),
            on_corruption: OnCorruption::Fail,
            preallocate: 4 << 20,
            write_buffer: 64 << 10,
            max_frame_payload: frame::MAX_PAYLOAD,
            direct_io: false,
            holder_version: concat!("emdb-journal ", env!("CARGO_PKG_VERSION")).to_owned(),
            take_lock: true,
        }
    }
}

impl JournalOptions {
    /// The defaults: [`SyncPolicy::OnSync`], [`OnCorruption::Fail`], 4 MiB preallocation
    /// extents, a 64 KiB write buffer, buffered (not Direct) I/O.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    setters! {
        /// When appends become durable (default [`SyncPolicy::OnSync`]).
        sync_policy(policy: SyncPolicy);

        /// How long the leader of a sync group waits for other syncers under
        /// [`SyncPolicy::Grouped`], when it has seen concurrent syncers (default 100 µs,
        /// at most 10 ms).
        group_window(window: std::time::Duration);

        /// What to do when the log is damaged before its end (default [`OnCorruption::Fail`]).
        on_corruption(action: OnCorruption);

        /// Size of the extents the file grows by ahead of its tail (default 4 MiB; 0 grows the
        /// file with every write). Preallocated space makes a sync cheaper, since the file's
        /// size does not change, at the cost of recovery checking that the unused space is
        /// blank (a memory scan of at most one extent). The reserve is made by appends and
        /// cut by close and by [`crate::Journal::relocate`] (see [`crate::Journal::close`]), so
        /// a closed file ends where its log ends. Ignored with Direct I/O.
        preallocate(extent_bytes: u64);

        /// Size of the in-memory write buffer (default 64 KiB; 0 writes every append straight
        /// to the file). Appends are copied into it and written out in one positional write
        /// when it fills, when a sync needs them, or when a reader asks for a frame still in
        /// it. Frames in the buffer are lost if the process dies, which is allowed: no frame
        /// is durable before a sync covers it.
        write_buffer(bytes: usize);

        /// Largest payload a single frame may carry (default and maximum: 256 MiB - 1). A
        /// batch larger than this is split into parts that recovery applies all together.
        /// Records written under a larger limit still read back.
        max_frame_payload(bytes: usize);

        /// Writes through fsys's Direct I/O journal (`O_DIRECT` and an aligned log buffer)
        /// where the filesystem allows it, bypassing the page cache. Frames become readable
        /// only once synced, since until then they sit in fsys's buffer and not in the file;
        /// reads of a newer frame sync first. Preallocation is not used. Falls back to
        /// buffered I/O where the filesystem refuses `O_DIRECT` (see
        /// [`crate::JournalStats::direct_io`]).
        direct_io(enabled: bool);
    }

    /// The version string written to the lock holder file (default `emdb-journal <ver>`).
    #[must_use]
    pub fn holder_version(mut self, version: impl Into<String>) -> Self {
        self.holder_version = version.into();
        self
    }

    setters! {
        /// Whether open takes the path's lock (default `true`). Turn it off only when the
        /// caller holds the lock itself ([`crate::JournalLock`]), or for a private scratch file
        /// no one else opens: two writers on one journal corrupt it.
        take_lock(take: bool);
    }

    /// Opens (or creates) the journal at `path` with these options.
    ///
    /// # Errors
    ///
    /// See [`Journal::open`].
    pub fn open(self, path: impl AsRef<Path>) -> Result<Journal> {
        Journal::open_with(path.as_ref(), self)
    }

    /// Opens (or creates) the journal at `path`, handing every record that recovery
    /// accepts to `replay` during open's single scan of the log. This is how a store
    /// rebuilds its index without reading the log twice.
    ///
    /// ```
    /// # fn main() -> Result<(), emdb_journal::Error> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("log");
    /// use emdb_journal::{Journal, JournalOptions, Record, ReplayError};
    /// let journal = Journal::open(&path)?;
    /// journal.append(b"one")?;
    /// journal.append_batch(&[&b"two"[..], b"three"])?;
    /// journal.close()?;
    ///
    /// let mut seen = Vec::new();
    /// let mut replay = |r: Record<'_>| -> Result<(), ReplayError> {
    ///     seen.push(r.bytes.to_vec());
    ///     Ok(())
    /// };
    /// let journal = JournalOptions::new().open_replaying(&path, &mut replay)?;
    /// assert_eq!(seen, [b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]);
    /// assert_eq!(journal.recovery().scan.records, 3);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// See [`Journal::open`]; an error returned by `replay` aborts the open as
    /// [`Error::Replay`].
    pub fn open_replaying<R: crate::Replay>(self, path: impl AsRef<Path>, replay: &mut R) -> Result<Journal> {
        Journal::open_replaying(path.as_ref(), self, replay)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.max_frame_payload < 64 || self.max_frame_payload > frame::MAX_PAYLOAD {
            return Err(Error::InvalidOptions("max_frame_payload must lie in 64..=268435455"));
        }
        if self.group_window > std::time::Duration::from_millis(10) {
            return Err(Error::InvalidOptions("group_window must be at most 10 ms"));
        }
        if self.write_buffer > 64 << 20 {
            return Err(Error::InvalidOptions("write_buffer must be at most 64 MiB"));
        }
        if self.holder_version.contains('\n') {
            return Err(Error::InvalidOptions("holder_version must be one line"));
        }
        Ok(())
    }
}
