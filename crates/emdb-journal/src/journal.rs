//! The journal handle: open, positions, sync, the sidecar, statistics and close.
//!
//! The write path lives in `writer.rs`, the read path in `reader.rs`, recovery in
//! `recovery/`; this file holds the handle they share and everything that is neither.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::file;
use crate::fileops;
use crate::group_commit::GroupCommit;
use crate::lock::{self, JournalLock};
use crate::lsn::Lsn;
use crate::map::{Map, MapCell};
use crate::options::{JournalOptions, SyncPolicy};
use crate::paths;
use crate::recovery::{self, CheckpointUse, NoReplay, RecoveryReport, Replay, SidecarState};
use crate::sidecar::{self, Checkpoint, MAX_ENGINE_AREA, Meta, SIDECAR_VERSION};
use crate::stats::JournalStats;

/// A crash-safe append-only log over one file. See the [crate docs](crate).
///
/// `Journal` is `Send + Sync`: share it behind an `Arc`. Appends from many threads are
/// ordered by a short lock; syncs from many threads share one device sync.
pub struct Journal {
    pub(crate) path: PathBuf,
    pub(crate) meta_path: PathBuf,
    pub(crate) options: JournalOptions,
    pub(crate) file: File,
    /// Write-through descriptor (`O_DSYNC`), under [`SyncPolicy::WriteThrough`] on Linux.
    pub(crate) dsync: Option<File>,
    /// fsys's Direct I/O journal, when [`JournalOptions::direct_io`] is on and active.
    pub(crate) direct: Option<fsys::JournalHandle>,
    pub(crate) fs: fsys::Handle,
    pub(crate) state: Mutex<State>,
    /// Mirror of `State::complete`, readable without the lock.
    pub(crate) end: AtomicU64,
    /// Everything below this is in the file (shared with every map).
    pub(crate) published: Arc<AtomicU64>,
    pub(crate) group: GroupCommit,
    pub(crate) maps: MapCell,
    pub(crate) meta: Mutex<Meta>,
    pub(crate) poisoned: AtomicBool,
    pub(crate) read_only: bool,
    pub(crate) report: RecoveryReport,
    /// Durability operations issued (device syncs and write-through writes).
    pub(crate) syncs: AtomicU64,
    pub(crate) durability_primitive: &'static str,
    pub(crate) device_primitive: &'static str,
    // Last, so that it is released after everything above has been dropped.
    _lock: Option<JournalLock>,
}

/// Writer state, under the writer lock.
#[derive(Debug)]
pub(crate) struct State {
    /// Where the next frame goes.
    pub(crate) tail: u64,
    /// End of the bytes handed to the file (the buffer starts here).
    pub(crate) written: u64,
    /// End of the last complete append (a multi-frame batch completes with its last
    /// part); publication never passes it.
    pub(crate) complete: u64,
    /// Encoded bytes from `written` on, not yet in the file.
    pub(crate) buf: Vec<u8>,
    /// File length, preallocated space included.
    pub(crate) allocated: u64,
    /// Start and CRC of the last frame appended.
    pub(crate) last_frame: Option<(u64, u32)>,
    /// Frames, records and bytes appended, and positional writes issued, since open.
    pub(crate) frames: u64,
    pub(crate) records: u64,
    pub(crate) bytes: u64,
    pub(crate) writes: u64,
}

/// Milliseconds since the Unix epoch, now: the sidecar's and the lock holder's timestamps.
pub(crate) fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn platform_sync_name() -> &'static str {
    if cfg!(target_vendor = "apple") {
        "F_FULLFSYNC"
    } else if cfg!(windows) {
        "FlushFileBuffers"
    } else {
        "fdatasync"
    }
}

impl Journal {
    /// Opens the journal at `path` with default options, creating it if it does not exist.
    ///
    /// Takes the lock (`<path>.lock`), reads the sidecar (`<path>.meta`), scans the log
    /// once from the checkpoint, cuts a torn tail (saving non-zero bytes to
    /// `<path>.corrupt-<offset>`), and makes what it accepted durable.
    ///
    /// # Errors
    ///
    /// [`Error::Busy`] if another handle holds the lock, [`Error::NotAJournal`] if the file
    /// holds something else, [`Error::Corrupt`] if the log is damaged before its end,
    /// [`Error::SidecarVersion`] for a sidecar from a newer format, [`Error::InvalidPath`]
    /// for a directory or a dangling symlink, [`Error::Io`] and [`Error::Lock`] when the
    /// operating system refuses.
    pub fn open(path: impl AsRef<Path>) -> Result<Journal> {
        Self::open_with(path.as_ref(), JournalOptions::default())
    }

    pub(crate) fn open_with(path: &Path, options: JournalOptions) -> Result<Journal> {
        Self::open_replaying(path, options, &mut NoReplay)
    }

    pub(crate) fn open_replaying(path: &Path, options: JournalOptions, replay: &mut dyn Replay) -> Result<Journal> {
        options.validate()?;
        let path = paths::resolve(path)?;
        let dir_lock = if options.take_lock {
            Some(lock::acquire(&path, &options.holder_version)?)
        } else {
            None
        };
        let meta_path = paths::sibling(&path, ".meta");
        // Staging files of sidecar replaces a crash interrupted (a new name each time).
        paths::remove_stale_staging(&path, &[".meta"])?;
        let sidecar_state = match sidecar::read(&meta_path)? {
            None => SidecarState::Missing,
            Some(Ok(meta)) => SidecarState::Valid(meta),
            Some(Err(reason)) => SidecarState::Damaged { reason },
        };
        let file = file::open_data(&path, true)?;
        let report = recovery::recover(&path, &file, &options, sidecar_state, replay)?.report;
        let read_only = report.read_only;
        let end = report.scan.end.get();
        let fs = fsys::builder().build()?;

        let direct = if options.direct_io && !read_only {
            let handle = fs.journal_with(
                &path,
                fsys::JournalOptions::new().direct(true).group_commit_window(None),
            )?;
            if handle.next_lsn().as_u64() != end {
                return Err(Error::Corrupt {
                    offset: end.min(handle.next_lsn().as_u64()),
                    reason: "fsys resumed the log at a different end than recovery found",
                });
            }
            Some(handle)
        } else {
            None
        };
        let dsync = if options.sync_policy == SyncPolicy::WriteThrough && direct.is_none() && !read_only {
            file::open_write_through(&path)?
        } else {
            None
        };

        let mut allocated = file.metadata()?.len();
        if !read_only && allocated > end {
            // Zeros past the log's end: a reserve left by a close that could not trim it
            // (a reader still mapped the file) or by a crash. Recovery found the end by
            // validating frames, so they are cut here, and the first append reserves
            // again. Best effort: where a map of an earlier handle in this process still
            // covers them, the platform may refuse (Windows), and they stay harmless.
            if fileops::set_len(&file, &path, end).is_ok() {
                allocated = end;
            }
        }
        if !read_only && end > 0 {
            // Frames a killed predecessor left in the page cache are accepted now; make them
            // durable before anything is built on them.
            fileops::sync_data(&file, &path)?;
        }

        let mut meta = match &report.sidecar {
            SidecarState::Valid(meta) => meta.clone(),
            SidecarState::Missing | SidecarState::Damaged { .. } => Meta::new(now_millis()),
        };
        if !matches!(report.checkpoint, CheckpointUse::Used | CheckpointUse::Declined) {
            // A rejected checkpoint must not be written back by a later meta update.
            meta.checkpoint = None;
        }
        if report.sidecar == SidecarState::Missing && !read_only {
            sidecar::write(&fs, &meta_path, &meta)?;
        }

        let published = Arc::new(AtomicU64::new(end));
        let maps = MapCell::new(Map::of(&file, Arc::clone(&published))?);
        let last_frame = report.scan.last_frame.map(|l| (l.get(), report.scan.last_crc));
        let window = (options.sync_policy == SyncPolicy::Grouped).then_some(options.group_window);
        let durability_primitive = if direct.is_some() {
            "fdatasync (fsys Direct I/O)"
        } else if dsync.is_some() {
            "O_DSYNC write"
        } else {
            platform_sync_name()
        };
        let device_primitive = fs.active_durability_primitive();
        let buffer_capacity = options.write_buffer.min(1 << 20);
        Ok(Journal {
            path,
            meta_path,
            file,
            dsync,
            direct,
            fs,
            state: Mutex::new(State {
                tail: end,
                written: end,
                complete: end,
                buf: Vec::with_capacity(buffer_capacity),
                allocated,
                last_frame,
                frames: 0,
                records: 0,
                bytes: 0,
                writes: 0,
            }),
            end: AtomicU64::new(end),
            published,
            group: GroupCommit::new(end, window),
            maps,
            meta: Mutex::new(meta),
            poisoned: AtomicBool::new(false),
            read_only,
            report,
            syncs: AtomicU64::new(0),
            durability_primitive,
            device_primitive,
            options,
            _lock: dir_lock,
        })
    }

    /// Start of the last frame appended (or found by recovery), if any: what
    /// [`Journal::checkpoint`] takes to cover everything written so far.
    #[must_use]
    pub fn last_lsn(&self) -> Option<Lsn> {
        self.lock_state().last_frame.map(|(lsn, _)| Lsn::new(lsn))
    }

    /// Cuts the file back to the log's end, dropping the preallocated reserve, unless a
    /// reader still maps the file (a [`crate::Snapshot`] or a value borrowed from one):
    /// a mapped file is never truncated (Windows refuses to, and the maps' soundness
    /// rests on it), so the reserve then stays until the next open cuts it. Writes the
    /// buffer out first. The next append reserves again. Returns whether it cut: a cut the
    /// platform refuses (Windows, while a map made by an earlier handle of this process is
    /// alive) is not an error, since zeros past the log are harmless.
    fn trim_reserve(&mut self) -> Result<bool> {
        if self.read_only || self.direct.is_some() {
            return Ok(false);
        }
        let mut st = self.lock_state();
        self.write_out(&mut st)?;
        let end = st.written;
        if st.allocated <= end {
            return Ok(false);
        }
        if !self.maps.release() {
            return Ok(false);
        }
        if fileops::set_len(&self.file, &self.path, end).is_err() {
            return Ok(false);
        }
        st.allocated = end;
        Ok(true)
    }

    /// Moves this journal's data file and sidecar to `to` and `<to>.meta`, replacing
    /// whatever is there, atomically each (rename), and syncs the directory. The moved
    /// file ends where its log ends: the preallocated reserve is cut first (unless a
    /// reader maps the file, see [`Journal::close`]) and the next append reserves again. The open file
    /// and its memory maps are unaffected. The data file moves first, so a crash between
    /// the two renames leaves the new log with the old sidecar, stripped of its checkpoint
    /// beforehand (a checkpoint is a durable floor: a log that breaks it does not open). A store uses this to put a rewritten (compacted)
    /// log in place of the live one; the lock must be held by the caller
    /// ([`JournalLock`]), as a journal opened with `take_lock(false)`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if this journal holds a lock of its own,
    /// [`Error::Io`] when a rename or the sync fails.
    pub fn relocate(&mut self, to: impl AsRef<Path>) -> Result<()> {
        if self._lock.is_some() {
            return Err(Error::InvalidArgument("a journal holding its own lock cannot be moved"));
        }
        self.trim_reserve()?;
        // `sync` writes the buffer out first.
        self.sync()?;
        let to = to.as_ref().to_path_buf();
        let to_meta = paths::sibling(&to, ".meta");
        // The sidecar at `to` names a checkpoint of the log being replaced: a durable floor
        // that this log need not reach. It loses its checkpoint before the log moves, so
        // a crash between the renames leaves this log with a sidecar that asks for a full
        // scan, never one whose floor it breaks.
        if let Some(Ok(mut old)) = sidecar::read(&to_meta)?
            && old.checkpoint.is_some()
        {
            old.checkpoint = None;
            sidecar::write(&self.fs, &to_meta, &old)?;
        }
        fileops::rename(&self.path, &to)?;
        // From here the log is at `to`: the paths follow it at once, so a failure below
        // leaves them naming where the files are.
        let from_meta = std::mem::replace(&mut self.meta_path, to_meta.clone());
        self.path = to;
        if from_meta.exists() {
            fileops::rename(&from_meta, &to_meta)?;
        } else if to_meta.exists() {
            // Another log's sidecar must not be paired with this one.
            fileops::remove_file(&to_meta)?;
        }
        paths::sync_parent_dir(&self.path)?;
        Ok(())
    }

    /// The data file's path, symlinks resolved.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What open's recovery found and did.
    #[must_use]
    pub fn recovery(&self) -> &RecoveryReport {
        &self.report
    }

    /// Whether the journal is read-only (opened past damage with
    /// [`crate::OnCorruption::ReadOnly`]).
    #[must_use]
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Where the next frame goes: everything appended so far lies below it.
    #[must_use]
    pub fn end(&self) -> Lsn {
        Lsn::new(self.end.load(Ordering::Acquire))
    }

    /// Everything below this LSN is durable.
    #[must_use]
    pub fn durable_lsn(&self) -> Lsn {
        Lsn::new(self.group.durable())
    }

    pub(crate) fn lock_state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn writable(&self) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly);
        }
        if self.poisoned.load(Ordering::Acquire) {
            return Err(Error::Poisoned);
        }
        Ok(())
    }

    /// Refuses every later write and sync with [`Error::Poisoned`] until the journal is
    /// reopened; reads go on. For a layer above whose own state (an index over the log)
    /// failed to take in a record the log already holds: nothing, a checkpoint least of
    /// all, may then be built on the mismatch, and a reopen rebuilds that state from the
    /// log. What was appended before the call is written out first (not synced), so reads
    /// of it go on.
    pub fn poison_writes(&self) {
        let mut st = self.lock_state();
        // Best effort: a failing write-out poisons the journal by itself.
        let _ = self.write_out(&mut st);
        self.poisoned.store(true, Ordering::Release);
    }

    pub(crate) fn poison<E: Into<Error>>(&self, e: E) -> Error {
        self.poisoned.store(true, Ordering::Release);
        e.into()
    }

    pub(crate) fn largest_record(&self) -> usize {
        self.options.max_frame_payload
    }

    /// Makes every frame appended before this call durable. Concurrent callers share one
    /// device sync; a lone caller syncs at once.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the write or the sync fails, which poisons the journal: every
    /// later write or sync then fails with [`Error::Poisoned`] (a failed `fsync` may have
    /// dropped the dirty pages, so retrying could report success for lost data).
    pub fn sync(&self) -> Result<()> {
        self.sync_until(self.end.load(Ordering::Acquire))
    }

    /// Makes the frame at `lsn` and every frame before it durable.
    ///
    /// # Errors
    ///
    /// [`Error::NoFrame`] when no frame has been appended at or after `lsn`, and the
    /// errors of [`Journal::sync`].
    pub fn sync_to(&self, lsn: Lsn) -> Result<()> {
        if lsn.get() >= self.end.load(Ordering::Acquire) {
            return Err(Error::NoFrame { lsn });
        }
        self.sync_until(lsn.get() + 1)
    }

    pub(crate) fn sync_until(&self, target: u64) -> Result<()> {
        if self.read_only {
            return Ok(());
        }
        self.group.sync(target, &self.poisoned, &mut || self.lead_sync())
    }

    /// One round of group commit: write out, sync, return the new durable frontier.
    fn lead_sync(&self) -> Result<u64> {
        if let Some(direct) = &self.direct {
            let (tail, complete) = {
                let st = self.lock_state();
                (st.tail, st.complete)
            };
            direct.sync_through(fsys::Lsn::new(tail)).map_err(|e| self.poison(e))?;
            self.syncs.fetch_add(1, Ordering::Relaxed);
            self.published.fetch_max(complete, Ordering::AcqRel);
            return Ok(complete);
        }
        let frontier = {
            let mut st = self.lock_state();
            self.write_out(&mut st)?;
            st.complete
        };
        if self.dsync.is_none() {
            fileops::sync_data(&self.file, &self.path).map_err(|e| self.poison(e))?;
            self.syncs.fetch_add(1, Ordering::Relaxed);
        }
        Ok(frontier)
    }

    /// The sidecar as this journal holds it.
    #[must_use]
    pub fn meta(&self) -> Meta {
        self.meta.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Replaces the sidecar's flags and engine area, keeping its checkpoint; the sidecar
    /// file is replaced atomically.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an engine area over 64 KiB, [`Error::ReadOnly`],
    /// [`Error::Fsys`] or [`Error::Io`] when the replace fails (the old sidecar stays).
    pub fn set_meta(&self, flags: u32, engine: &[u8]) -> Result<()> {
        self.update_meta(
            |m| {
                m.flags = flags;
                m.engine = engine.to_vec();
            },
            engine.len(),
        )
    }

    /// Records a checkpoint through the frame at `through`: the caller's own state covers
    /// that frame and everything before it, so the next open scans only what follows.
    /// Syncs through the frame first, then replaces the sidecar with the checkpoint and
    /// `engine` as its engine area (where a store keeps, say, the name of its index
    /// snapshot).
    ///
    /// # Errors
    ///
    /// [`Error::NoFrame`] when no frame starts at `through`, [`Error::InvalidArgument`] for
    /// a frame inside a multi-frame batch or an engine area over 64 KiB, and the errors of
    /// [`Journal::sync`] and [`Journal::set_meta`].
    pub fn checkpoint(&self, through: Lsn, engine: &[u8]) -> Result<()> {
        self.writable()?;
        let frame = self.read(through)?;
        if frame.continues() {
            return Err(Error::InvalidArgument(
                "a checkpoint cannot end inside a multi-frame batch",
            ));
        }
        self.sync_to(through)?;
        let checkpoint = Checkpoint {
            lsn: frame.end(),
            anchor: through,
            anchor_crc: frame.checksum(),
        };
        self.update_meta(
            |m| {
                m.checkpoint = Some(checkpoint);
                m.engine = engine.to_vec();
            },
            engine.len(),
        )
    }

    fn update_meta(&self, change: impl FnOnce(&mut Meta), engine_len: usize) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly);
        }
        if engine_len > MAX_ENGINE_AREA {
            return Err(Error::InvalidArgument("the sidecar's engine area holds at most 64 KiB"));
        }
        let mut meta = self.meta.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = meta.clone();
        change(&mut next);
        next.version = SIDECAR_VERSION;
        sidecar::write(&self.fs, &self.meta_path, &next)?;
        *meta = next;
        Ok(())
    }

    /// Positions and counters.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file's length cannot be read.
    pub fn stats(&self) -> Result<JournalStats> {
        let (frames, records, bytes, writes) = {
            let st = self.lock_state();
            (st.frames, st.records, st.bytes, st.writes)
        };
        Ok(JournalStats {
            end: self.end(),
            published: Lsn::new(self.published.load(Ordering::Acquire)),
            durable: self.durable_lsn(),
            file_len: self.file.metadata()?.len(),
            frames_appended: frames,
            records_appended: records,
            bytes_appended: bytes,
            syncs: self.syncs.load(Ordering::Relaxed),
            writes,
            policy: self.options.sync_policy,
            direct_io: self.direct.as_ref().is_some_and(fsys::JournalHandle::is_direct_active),
            durability_primitive: self.durability_primitive,
            device_primitive: self.device_primitive,
            read_only: self.read_only,
        })
    }

    /// Syncs everything and closes the journal, reporting what dropping it would swallow.
    ///
    /// A closed journal's file ends where its log ends: the preallocated reserve is cut,
    /// unless a reader still maps the file (a [`crate::Snapshot`], or a value borrowed
    /// from one, outlives the journal). A mapped file is never truncated, so then the
    /// reserve stays, as zeros, until the next open cuts it.
    ///
    /// # Errors
    ///
    /// The errors of [`Journal::sync`].
    pub fn close(mut self) -> Result<()> {
        if self.read_only {
            return Ok(());
        }
        self.sync()?;
        if let Some(direct) = self.direct.take() {
            direct.close()?;
        }
        self.trim_reserve()?;
        Ok(())
    }
}

impl Drop for Journal {
    /// Writes out the buffer (best effort) so that appended frames reach the page cache
    /// and survive the process, and cuts the preallocated reserve as
    /// [`Journal::close`] does; it does not sync.
    fn drop(&mut self) {
        if self.read_only || self.direct.is_some() {
            return;
        }
        let _ = self.trim_reserve();
    }
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.path)
            .field("end", &self.end())
            .field("durable", &self.durable_lsn())
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}
