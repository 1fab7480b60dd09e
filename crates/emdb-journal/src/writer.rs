//! The journal: open, append, batch, sync, read, checkpoint, close.
//!
//! # The path of a write
//!
//! An append takes the writer lock, encodes its frame (header, payload, CRC-32C) straight
//! into the write buffer at the tail, advances the tail, and lets go. The buffer reaches
//! the file in one positional write when it fills, when a sync needs it, or when a reader
//! asks for a frame still in it; a write that fills it is issued under the same lock, so
//! the file always receives frames in LSN order. That order is what makes recovery exact:
//! a process killed at any instant leaves a valid prefix, at most one write cut short,
//! then blank space, so an invalid frame followed by valid ones can only be damage.
//! (Buffered writes to one file are serialised by the kernel anyway, on Linux by the
//! inode lock, so ordering them costs no parallelism.) Once written, the frames are
//! *published*: readers see them.
//!
//! Disk space is reserved ahead of the tail in extents (`fallocate` on Linux), so an
//! append overwrites allocated space and a sync has no file size change to commit.
//!
//! Durability is [`crate::group_commit`]'s business: a sync writes out the buffer and
//! issues one `fdatasync` for everyone waiting.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::batch;
use crate::error::{Error, Result};
use crate::file;
use crate::frame;
use crate::group_commit::GroupCommit;
use crate::lock::{self, DirLock};
use crate::lsn::Lsn;
use crate::map::{Map, MapCell};
use crate::options::{JournalOptions, SyncPolicy};
use crate::paths;
use crate::reader::{Bytes, Frame, Snapshot};
use crate::recovery::{self, NoReplay, RecoveryReport, Replay, SidecarState};
use crate::sidecar::{self, Checkpoint, MAX_ENGINE_AREA, Meta, SIDECAR_VERSION};
use crate::stats::{Counters, JournalStats};

/// A crash-safe append-only log over one file. See the [crate docs](crate).
///
/// `Journal` is `Send + Sync`: share it behind an `Arc`. Appends from many threads are
/// ordered by a short lock; syncs from many threads share one device sync.
pub struct Journal {
    path: PathBuf,
    meta_path: PathBuf,
    options: JournalOptions,
    file: File,
    /// Write-through descriptor (`O_DSYNC`), under [`SyncPolicy::WriteThrough`] on Linux.
    dsync: Option<File>,
    /// fsys's Direct I/O journal, when [`JournalOptions::direct_io`] is on and active.
    direct: Option<fsys::JournalHandle>,
    fs: fsys::Handle,
    state: Mutex<State>,
    /// Mirror of `State::complete`, readable without the lock.
    end: AtomicU64,
    /// Everything below this is in the file (shared with every map).
    published: Arc<AtomicU64>,
    group: GroupCommit,
    maps: MapCell,
    meta: Mutex<Meta>,
    poisoned: AtomicBool,
    read_only: bool,
    report: RecoveryReport,
    counters: Counters,
    durability_primitive: &'static str,
    device_primitive: &'static str,
    // Last, so that it is released after everything above has been dropped.
    _lock: DirLock,
}

/// Writer state, under the writer lock.
#[derive(Debug)]
struct State {
    /// Where the next frame goes.
    tail: u64,
    /// End of the bytes handed to the file (the buffer starts here).
    written: u64,
    /// End of the last complete append (a multi-frame batch completes with its last
    /// part); publication never passes it.
    complete: u64,
    /// Encoded frames from `written` to `tail`.
    buf: Vec<u8>,
    /// File length, preallocated space included.
    allocated: u64,
    /// Start and CRC of the last frame appended.
    last_frame: Option<(u64, u32)>,
}

/// Where a batch landed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchReceipt {
    first: Lsn,
    last: Lsn,
    offsets: Vec<u64>,
}

impl BatchReceipt {
    /// The LSN of the batch's (first) frame.
    #[must_use]
    pub fn first(&self) -> Lsn {
        self.first
    }

    /// The LSN of the batch's last frame: `sync_to(receipt.last())` makes the whole batch
    /// durable. Equal to [`BatchReceipt::first`] unless the batch needed several frames.
    #[must_use]
    pub fn last(&self) -> Lsn {
        self.last
    }

    /// The file offset of each record's first byte, in the order given.
    #[must_use]
    pub fn record_offsets(&self) -> &[u64] {
        &self.offsets
    }
}

fn now_millis() -> u64 {
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
        let dir_lock = lock::acquire(&path, &options.holder_version)?;
        let meta_path = paths::sibling(&path, ".meta");
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
                fsys::JournalOptions::new()
                    .direct(true)
                    .group_commit_window(None),
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
        if !read_only && direct.is_none() && options.preallocate > 0 && allocated < end + options.preallocate {
            let target = end + options.preallocate;
            file::allocate(&file, allocated, target)?;
            allocated = target;
        }
        if !read_only && end > 0 {
            // Frames a killed predecessor left in the page cache are accepted now; make them
            // durable before anything is built on them.
            file.sync_data()?;
        }

        let meta = match &report.sidecar {
            SidecarState::Valid(meta) => meta.clone(),
            SidecarState::Missing | SidecarState::Damaged { .. } => Meta::new(now_millis()),
        };
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
            }),
            end: AtomicU64::new(end),
            published,
            group: GroupCommit::new(end, window),
            maps,
            meta: Mutex::new(meta),
            poisoned: AtomicBool::new(false),
            read_only,
            report,
            counters: Counters::default(),
            durability_primitive,
            device_primitive,
            options,
            _lock: dir_lock,
        })
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

    fn lock_state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn writable(&self) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly);
        }
        if self.poisoned.load(Ordering::Acquire) {
            return Err(Error::Poisoned);
        }
        Ok(())
    }

    fn poison<E: Into<Error>>(&self, e: E) -> Error {
        self.poisoned.store(true, Ordering::Release);
        e.into()
    }

    fn largest_record(&self) -> usize {
        self.options.max_frame_payload
    }

    /// Appends one frame holding `payload` and returns its LSN.
    ///
    /// The frame is visible to readers of this journal at once and durable once a sync
    /// covers it (at return, under [`SyncPolicy::WriteThrough`]). An empty payload is
    /// allowed.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] over the frame limit, [`Error::ReservedTag`] when the payload
    /// starts with a byte in [`crate::RESERVED_TAGS`] (nothing is written for either),
    /// [`Error::ReadOnly`], [`Error::Poisoned`] after an earlier failure, [`Error::Io`]
    /// when the write fails (which poisons the journal) or the disk is full when
    /// reserving space (which does not).
    pub fn append(&self, payload: &[u8]) -> Result<Lsn> {
        self.writable()?;
        if payload.len() > self.largest_record() {
            return Err(Error::TooLarge {
                len: payload.len() as u64,
                max: self.largest_record() as u64,
            });
        }
        if let Some(&tag) = payload.first().filter(|t| batch::RESERVED_TAGS.contains(t)) {
            return Err(Error::ReservedTag { tag });
        }
        let lsn = {
            let mut st = self.lock_state();
            let lsn = match &self.direct {
                Some(direct) => self.direct_append(&mut st, direct, payload, true)?,
                None => self.push_frame(&mut st, frame::frame_len(payload.len()), true, |buf| frame::encode(payload, buf))?,
            };
            Counters::add(&self.counters.frames, 1);
            Counters::add(&self.counters.records, 1);
            Counters::add(&self.counters.bytes, frame::frame_len(payload.len()) as u64);
            lsn
        };
        if self.options.sync_policy == SyncPolicy::WriteThrough {
            self.sync_until(lsn + 1)?;
        }
        Ok(Lsn::new(lsn))
    }

    /// Appends `records` as one batch: a single frame whose checksum covers them all, so
    /// that after a crash either every record is there or none is. A batch larger than one
    /// frame is written as consecutive parts, and recovery applies them only when the last
    /// part is found. Readers see the batch all at once. An empty batch writes an empty
    /// batch frame.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] when one record cannot fit in a frame (nothing is written), and
    /// the errors of [`Journal::append`].
    pub fn append_batch<R: AsRef<[u8]>>(&self, records: &[R]) -> Result<BatchReceipt> {
        self.writable()?;
        let max = self.largest_record();
        let lens: Vec<usize> = records.iter().map(|r| r.as_ref().len()).collect();
        let parts = batch::plan_parts(&lens, max).map_err(|i| Error::TooLarge {
            len: lens.get(i).copied().unwrap_or(0) as u64,
            max: (max - batch::HEADER_LEN - batch::RECORD_PREFIX) as u64,
        })?;
        let mut offsets = Vec::with_capacity(records.len());
        let (first, last, bytes) = {
            let mut st = self.lock_state();
            let start_tail = st.tail;
            let (mut first, mut last, mut begin) = (None, 0, 0);
            for (i, &stop) in parts.iter().enumerate() {
                let is_last = i + 1 == parts.len();
                let flags = if is_last { 0 } else { batch::FLAG_MORE } | if i > 0 { batch::FLAG_CONT } else { 0 };
                let slice = &records[begin..stop];
                let payload_len = batch::payload_len(lens[begin..stop].iter().copied());
                let base = offsets.len();
                let lsn = match &self.direct {
                    Some(direct) => {
                        let mut payload = Vec::with_capacity(payload_len);
                        batch::encode_payload(slice, flags, &mut payload, &mut offsets);
                        let lsn = self.direct_append(&mut st, direct, &payload, is_last)?;
                        for o in &mut offsets[base..] {
                            *o += lsn + frame::HEADER_LEN as u64;
                        }
                        lsn
                    }
                    None => {
                        let lsn = self.push_frame(&mut st, frame::frame_len(payload_len), is_last, |buf| {
                            batch::encode_frame(slice, flags, buf, &mut offsets)
                        })?;
                        for o in &mut offsets[base..] {
                            *o += lsn;
                        }
                        lsn
                    }
                };
                first.get_or_insert(lsn);
                last = lsn;
                begin = stop;
            }
            (first.unwrap_or(start_tail), last, st.tail - start_tail)
        };
        Counters::add(&self.counters.frames, parts.len() as u64);
        Counters::add(&self.counters.records, records.len() as u64);
        Counters::add(&self.counters.bytes, bytes);
        if self.options.sync_policy == SyncPolicy::WriteThrough {
            self.sync_until(last + 1)?;
        }
        Ok(BatchReceipt {
            first: Lsn::new(first),
            last: Lsn::new(last),
            offsets,
        })
    }

    /// Encodes one frame of `len` bytes at the tail through `encode` (which returns its
    /// CRC), writing the buffer out around it as needed. Returns the frame's LSN.
    fn push_frame(&self, st: &mut State, len: usize, complete: bool, encode: impl FnOnce(&mut Vec<u8>) -> u32) -> Result<u64> {
        let cap = self.options.write_buffer;
        self.ensure_allocated(st, st.tail + len as u64)?;
        if !st.buf.is_empty() && st.buf.len() + len > cap {
            self.write_out(st)?;
        }
        let lsn = st.tail;
        let crc = encode(&mut st.buf);
        debug_assert_eq!(st.written + st.buf.len() as u64, lsn + len as u64);
        st.tail += len as u64;
        st.last_frame = Some((lsn, crc));
        if complete {
            st.complete = st.tail;
            self.end.store(st.tail, Ordering::Release);
        }
        if st.buf.len() > cap {
            self.write_out(st)?;
        }
        Ok(lsn)
    }

    /// Hands one payload to fsys's Direct I/O journal; the frame it writes is ours byte
    /// for byte.
    fn direct_append(&self, st: &mut State, direct: &fsys::JournalHandle, payload: &[u8], complete: bool) -> Result<u64> {
        let end = direct.append(payload).map_err(|e| self.poison(e))?.as_u64();
        let lsn = end.saturating_sub(frame::frame_len(payload.len()) as u64);
        if lsn != st.tail {
            return Err(self.poison(Error::Corrupt {
                offset: st.tail,
                reason: "fsys placed a frame away from the journal's tail",
            }));
        }
        st.tail = end;
        st.written = end;
        st.last_frame = Some((lsn, frame::checksum(&frame::header(payload.len()), payload)));
        if complete {
            st.complete = end;
            self.end.store(end, Ordering::Release);
        }
        Ok(lsn)
    }

    /// Reserves file space through `end`, an extent at a time.
    fn ensure_allocated(&self, st: &mut State, end: u64) -> Result<()> {
        let extent = self.options.preallocate;
        if extent == 0 || self.direct.is_some() || end <= st.allocated {
            return Ok(());
        }
        let target = end + extent;
        // Not poisoning: nothing was written, so a full disk is reported and the journal
        // stays usable once space is freed.
        file::allocate(&self.file, st.allocated, target)?;
        st.allocated = target;
        Ok(())
    }

    /// Writes the buffer to the file at `written` and publishes up to the last complete
    /// append.
    fn write_out(&self, st: &mut State) -> Result<()> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(Error::Poisoned);
        }
        if !st.buf.is_empty() {
            let target = self.dsync.as_ref().unwrap_or(&self.file);
            file::write_all_at(target, &st.buf, st.written).map_err(|e| self.poison(e))?;
            st.written = st.tail;
            st.buf.clear();
            if st.buf.capacity() > 4 * self.options.write_buffer.max(1 << 16) {
                st.buf.shrink_to(self.options.write_buffer);
            }
            Counters::add(&self.counters.writes, 1);
            if self.dsync.is_some() {
                Counters::add(&self.counters.syncs, 1);
            }
        }
        if self.direct.is_none() {
            self.published.fetch_max(st.complete, Ordering::AcqRel);
            if self.dsync.is_some() {
                self.group.advance(st.complete);
            }
        }
        Ok(())
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

    fn sync_until(&self, target: u64) -> Result<()> {
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
            Counters::add(&self.counters.syncs, 1);
            self.published.fetch_max(complete, Ordering::AcqRel);
            return Ok(complete);
        }
        let frontier = {
            let mut st = self.lock_state();
            self.write_out(&mut st)?;
            st.complete
        };
        if self.dsync.is_none() {
            self.file.sync_data().map_err(|e| self.poison(e))?;
            Counters::add(&self.counters.syncs, 1);
        }
        Ok(frontier)
    }

    /// Makes sure the bytes below `end` are in the file.
    fn publish_through(&self, end: u64) -> Result<()> {
        if self.published.load(Ordering::Acquire) >= end {
            return Ok(());
        }
        if end > self.end.load(Ordering::Acquire) {
            return Err(Error::OutOfRange {
                offset: end.saturating_sub(1),
                end,
            });
        }
        if self.direct.is_some() {
            return self.sync_until(end);
        }
        let mut st = self.lock_state();
        self.write_out(&mut st)
    }

    /// A map covering the published log, remapping if the file has grown.
    fn current_map(&self) -> Result<Arc<Map>> {
        let published = self.published.load(Ordering::Acquire);
        Ok(self.maps.covering(&self.file, published)?)
    }

    /// Reads the frame at `lsn` (an LSN returned by an append or found by iteration),
    /// validating its checksum. Zero-copy: the frame borrows the memory map.
    ///
    /// # Errors
    ///
    /// [`Error::NoFrame`] when no valid frame starts at `lsn`.
    pub fn read(&self, lsn: Lsn) -> Result<Frame> {
        match self.publish_through(lsn.get().saturating_add(1)) {
            Ok(()) => {}
            Err(Error::OutOfRange { .. }) => return Err(Error::NoFrame { lsn }),
            Err(e) => return Err(e),
        }
        Frame::read(self.current_map()?, lsn)
    }

    /// `len` bytes of the log starting at file offset `offset` (typically a record offset
    /// from a receipt or an iterator), zero-copy. No checksum is verified: the caller
    /// knows what it indexed.
    ///
    /// # Errors
    ///
    /// [`Error::OutOfRange`] when the range reaches past the appended log.
    pub fn bytes(&self, offset: u64, len: usize) -> Result<Bytes> {
        let end = offset.checked_add(len as u64).ok_or(Error::OutOfRange {
            offset,
            end: u64::MAX,
        })?;
        self.publish_through(end)?;
        Bytes::new(self.current_map()?, offset, len)
    }

    /// A view of the log as it is now, every append that returned before this call
    /// included, to iterate over.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when writing out the buffer or mapping the file fails.
    pub fn snapshot(&self) -> Result<Snapshot> {
        self.publish_through(self.end.load(Ordering::Acquire))?;
        let map = self.current_map()?;
        let end = self.published.load(Ordering::Acquire);
        Ok(Snapshot::new(map, end))
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
        self.update_meta(|m| {
            m.flags = flags;
            m.engine = engine.to_vec();
        }, engine.len())
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
            return Err(Error::InvalidArgument("a checkpoint cannot end inside a multi-frame batch"));
        }
        self.sync_to(through)?;
        let checkpoint = Checkpoint {
            lsn: frame.end(),
            anchor: through,
            anchor_crc: frame.checksum(),
        };
        self.update_meta(|m| {
            m.checkpoint = Some(checkpoint);
            m.engine = engine.to_vec();
        }, engine.len())
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
        Ok(JournalStats {
            end: self.end(),
            published: Lsn::new(self.published.load(Ordering::Acquire)),
            durable: self.durable_lsn(),
            file_len: self.file.metadata()?.len(),
            frames_appended: Counters::get(&self.counters.frames),
            records_appended: Counters::get(&self.counters.records),
            bytes_appended: Counters::get(&self.counters.bytes),
            syncs: Counters::get(&self.counters.syncs),
            writes: Counters::get(&self.counters.writes),
            policy: self.options.sync_policy,
            direct_io: self.direct.as_ref().is_some_and(fsys::JournalHandle::is_direct_active),
            durability_primitive: self.durability_primitive,
            device_primitive: self.device_primitive,
            read_only: self.read_only,
        })
    }

    /// Syncs everything and closes the journal, reporting what dropping it would swallow.
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
        Ok(())
    }
}

impl Drop for Journal {
    /// Writes out the buffer (best effort) so that appended frames reach the page cache
    /// and survive the process; it does not sync.
    fn drop(&mut self) {
        if self.read_only || self.direct.is_some() {
            return;
        }
        let mut st = self.lock_state();
        let _ = self.write_out(&mut st);
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
