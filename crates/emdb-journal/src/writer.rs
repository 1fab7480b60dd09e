//! The path of a write: append, batch, the write buffer and its write-out.
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

use std::sync::atomic::Ordering;

use crate::batch;
use crate::error::{Error, Result};
use crate::fileops;
use crate::frame;
use crate::journal::{Journal, State};
use crate::lsn::Lsn;
use crate::options::SyncPolicy;
use crate::recovery::ReplayError;

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

/// Smallest piece a frame larger than the write buffer is streamed in.
const STREAM_CHUNK: usize = 64 << 10;

/// Streams one frame into the write buffer, writing the buffer out when it fills and
/// writing large pieces straight from the caller's memory, so a frame of any size is
/// copied at most once, into a buffer that stays in cache.
///
/// A frame that fits the buffer is simply copied in and its CRC computed in one pass at
/// the end (`streaming == false`); a larger one accumulates its CRC piece by piece.
struct Sink<'a> {
    journal: &'a Journal,
    st: &'a mut State,
    streaming: bool,
    crc: u32,
}

impl Sink<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        if self.streaming {
            self.crc = crc32c::crc32c_append(self.crc, bytes);
            let limit = self.journal.options.write_buffer.max(STREAM_CHUNK);
            if self.st.buf.len() + bytes.len() > limit {
                self.journal.write_out(self.st)?;
                if bytes.len() > limit {
                    self.journal
                        .write_file_at(bytes, self.st.written)
                        .map_err(|e| self.journal.poison(e))?;
                    self.st.written += bytes.len() as u64;
                    self.st.writes += 1;
                    return Ok(());
                }
            }
        }
        self.st.buf.extend_from_slice(bytes);
        Ok(())
    }
}

/// How a batch is cut into frames: each part's records `[begin, end)` and payload length.
struct Plan {
    parts: Vec<(usize, usize, usize)>,
    total: u64,
}

impl Plan {
    /// Where each record's bytes will land when the batch starts at `start`.
    fn offsets_from(&self, start: u64, lens: &[usize]) -> Vec<u64> {
        let mut out = Vec::with_capacity(lens.len());
        let mut lsn = start;
        for &(begin, stop, payload_len) in &self.parts {
            let mut at = lsn + (frame::HEADER_LEN + batch::HEADER_LEN) as u64;
            for &len in &lens[begin..stop] {
                at += batch::prefix_len(len) as u64;
                out.push(at);
                at += len as u64;
            }
            lsn += frame::frame_len(payload_len) as u64;
        }
        out
    }
}

/// A placed record must be exactly as long as announced: its neighbours' offsets, and
/// what was sealed with them, depend on it.
fn check_placed(written: usize, announced: usize) -> Result<()> {
    if written == announced {
        Ok(())
    } else {
        Err(Error::InvalidArgument(
            "a placed record's length differs from the length announced for it",
        ))
    }
}

fn check_tag(payload: &[u8]) -> Result<()> {
    match payload.first().filter(|t| batch::RESERVED_TAGS.contains(t)) {
        Some(&tag) => Err(Error::ReservedTag { tag }),
        None => Ok(()),
    }
}

impl Journal {
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
        self.check_record(payload.len())?;
        check_tag(payload)?;
        let lsn = {
            let mut st = self.lock_state();
            self.append_locked(&mut st, payload)?
        };
        self.after_append(lsn)
    }

    /// Appends one frame whose payload depends on where it lands: `place` receives the
    /// file offset of the payload's first byte (the frame's LSN plus the header) and
    /// writes exactly `len` bytes into the vector. A layer above binds records to their
    /// position this way, for instance as an AEAD's associated data, so that a record
    /// copied elsewhere in the log no longer verifies. `place` runs under the writer lock:
    /// keep it short. Returns the frame's LSN.
    ///
    /// # Errors
    ///
    /// [`Error::Placed`] when `place` fails and [`Error::InvalidArgument`] when it writes
    /// another length (nothing is written for either), and the errors of
    /// [`Journal::append`].
    pub fn append_placed(
        &self,
        len: usize,
        place: impl FnOnce(u64, &mut Vec<u8>) -> std::result::Result<(), ReplayError>,
    ) -> Result<Lsn> {
        self.check_record(len)?;
        let lsn = {
            let mut st = self.lock_state();
            let mut payload = Vec::with_capacity(len);
            place(st.tail + frame::HEADER_LEN as u64, &mut payload).map_err(|source| Error::Placed { source })?;
            check_placed(payload.len(), len)?;
            check_tag(&payload)?;
            self.append_locked(&mut st, &payload)?
        };
        self.after_append(lsn)
    }

    fn check_record(&self, len: usize) -> Result<()> {
        self.writable()?;
        if len > self.largest_record() {
            return Err(Error::TooLarge {
                len: len as u64,
                max: self.largest_record() as u64,
            });
        }
        Ok(())
    }

    fn append_locked(&self, st: &mut State, payload: &[u8]) -> Result<u64> {
        let lsn = match &self.direct {
            Some(direct) => self.direct_append(st, direct, payload, true)?,
            None => self.push_frame(st, payload.len(), true, |sink| sink.put(payload))?,
        };
        st.frames += 1;
        st.records += 1;
        st.bytes += frame::frame_len(payload.len()) as u64;
        Ok(lsn)
    }

    fn after_append(&self, lsn: u64) -> Result<Lsn> {
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
    /// the errors of [`Journal::append`]. A failure after the first part of a multi-frame
    /// batch was written poisons the journal.
    pub fn append_batch<R: AsRef<[u8]>>(&self, records: &[R]) -> Result<BatchReceipt> {
        self.writable()?;
        let lens: Vec<usize> = records.iter().map(|r| r.as_ref().len()).collect();
        let plan = self.plan_batch(&lens)?;
        let receipt = {
            let mut st = self.lock_state();
            self.batch_locked(&mut st, records, &plan)?
        };
        self.after_batch(receipt)
    }

    /// [`Journal::append_batch`] for records whose bytes depend on where they land:
    /// `place(i, offset, out)` writes record `i` (exactly `lens[i]` bytes) knowing the file
    /// offset of its first byte, as [`Journal::append_placed`] does for one record. All
    /// records are produced, under the writer lock, before anything is written.
    ///
    /// # Errors
    ///
    /// [`Error::Placed`] when `place` fails and [`Error::InvalidArgument`] when it writes
    /// another length (nothing is written for either), and the errors of
    /// [`Journal::append_batch`].
    pub fn append_batch_placed(
        &self,
        lens: &[usize],
        mut place: impl FnMut(usize, u64, &mut Vec<u8>) -> std::result::Result<(), ReplayError>,
    ) -> Result<BatchReceipt> {
        self.writable()?;
        let plan = self.plan_batch(lens)?;
        let receipt = {
            let mut st = self.lock_state();
            let offsets = plan.offsets_from(st.tail, lens);
            // Every record appended to one buffer: one allocation for the batch.
            let mut bytes = Vec::with_capacity(lens.iter().sum());
            for (i, (&len, &offset)) in lens.iter().zip(&offsets).enumerate() {
                let before = bytes.len();
                place(i, offset, &mut bytes).map_err(|source| Error::Placed { source })?;
                check_placed(bytes.len() - before, len)?;
            }
            let mut at = 0;
            let records: Vec<&[u8]> = lens
                .iter()
                .map(|&len| {
                    let record = &bytes[at..at + len];
                    at += len;
                    record
                })
                .collect();
            let receipt = self.batch_locked(&mut st, &records, &plan)?;
            if receipt.offsets != offsets {
                return Err(self.poison(Error::Corrupt {
                    offset: receipt.first.get(),
                    reason: "placed records landed away from the offsets they were made for",
                }));
            }
            receipt
        };
        self.after_batch(receipt)
    }

    fn plan_batch(&self, lens: &[usize]) -> Result<Plan> {
        let max = self.largest_record();
        let ends = batch::plan_parts(lens, batch::PART_TARGET, max).map_err(|i| Error::TooLarge {
            len: lens.get(i).copied().unwrap_or(0) as u64,
            max: (max - batch::HEADER_LEN - batch::RECORD_PREFIX) as u64,
        })?;
        let mut parts = Vec::with_capacity(ends.len());
        let mut begin = 0;
        for &stop in &ends {
            parts.push((begin, stop, batch::payload_len(lens[begin..stop].iter().copied())));
            begin = stop;
        }
        let total = parts.iter().map(|r| frame::frame_len(r.2) as u64).sum();
        Ok(Plan { parts, total })
    }

    fn batch_locked<R: AsRef<[u8]>>(&self, st: &mut State, records: &[R], plan: &Plan) -> Result<BatchReceipt> {
        let ranges = &plan.parts;
        let mut offsets = Vec::with_capacity(records.len());
        let start = st.tail;
        // Reserve space for every part first: once a part is written, a failure would
        // leave a batch without its end in the log, so from then on failures poison.
        self.ensure_allocated(st, start + plan.total)?;
        let mut last = start;
        for (i, &(begin, stop, payload_len)) in ranges.iter().enumerate() {
            let is_last = i + 1 == ranges.len();
            let flags = if is_last { 0 } else { batch::FLAG_MORE } | if i > 0 { batch::FLAG_CONT } else { 0 };
            let slice = &records[begin..stop];
            let base = offsets.len();
            let appended = match &self.direct {
                Some(direct) => {
                    let mut payload = Vec::with_capacity(payload_len);
                    batch::emit_payload(slice, flags, &mut offsets, &mut |b| {
                        payload.extend_from_slice(b);
                        Ok::<(), Error>(())
                    })?;
                    self.direct_append(st, direct, &payload, is_last)
                }
                None => self.push_frame(st, payload_len, is_last, |sink| {
                    batch::emit_payload(slice, flags, &mut offsets, &mut |b| sink.put(b))
                }),
            };
            let lsn = appended.map_err(|e| if ranges.len() > 1 { self.poison(e) } else { e })?;
            for o in &mut offsets[base..] {
                *o += lsn + frame::HEADER_LEN as u64;
            }
            last = lsn;
        }
        st.frames += ranges.len() as u64;
        st.records += records.len() as u64;
        st.bytes += plan.total;
        Ok(BatchReceipt {
            first: Lsn::new(start),
            last: Lsn::new(last),
            offsets,
        })
    }

    fn after_batch(&self, receipt: BatchReceipt) -> Result<BatchReceipt> {
        if self.options.sync_policy == SyncPolicy::WriteThrough {
            self.sync_until(receipt.last.get() + 1)?;
        }
        Ok(receipt)
    }

    /// Appends one frame with a payload of `payload_len` bytes, which `emit` produces
    /// through a [`Sink`], writing the buffer out around it as needed. Returns its LSN.
    fn push_frame(
        &self,
        st: &mut State,
        payload_len: usize,
        complete: bool,
        emit: impl FnOnce(&mut Sink<'_>) -> Result<()>,
    ) -> Result<u64> {
        let len = frame::frame_len(payload_len);
        let cap = self.options.write_buffer;
        self.ensure_allocated(st, st.tail + len as u64)?;
        if !st.buf.is_empty() && st.buf.len() + len > cap {
            self.write_out(st)?;
        }
        let lsn = st.tail;
        st.tail += len as u64;
        let streaming = len > cap;
        let start = st.buf.len();
        let mut sink = Sink {
            journal: self,
            st,
            streaming,
            crc: 0,
        };
        sink.put(&frame::header(payload_len))?;
        emit(&mut sink)?;
        let crc = if streaming {
            sink.crc
        } else {
            crc32c::crc32c(&sink.st.buf[start..])
        };
        sink.put(&crc.to_le_bytes())?;
        debug_assert_eq!(st.written + st.buf.len() as u64, st.tail);
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
    fn direct_append(
        &self,
        st: &mut State,
        direct: &fsys::JournalHandle,
        payload: &[u8],
        complete: bool,
    ) -> Result<u64> {
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

    /// Reserves file space through `end`, an extent at a time; short of space for a whole
    /// extent, exactly through `end`.
    fn ensure_allocated(&self, st: &mut State, end: u64) -> Result<()> {
        let extent = self.options.preallocate;
        if extent == 0 || self.direct.is_some() || end <= st.allocated {
            return Ok(());
        }
        let target = if fileops::allocate(&self.file, &self.path, st.allocated, end + extent).is_ok() {
            end + extent
        } else {
            // Not poisoning: nothing was written, so a full disk is reported here, before
            // the write, and the journal stays usable once space is freed.
            fileops::allocate(&self.file, &self.path, st.allocated, end)?;
            end
        };
        st.allocated = target;
        Ok(())
    }

    /// Writes `bytes` at `offset` of the data file, through the write-through descriptor
    /// when there is one (the bytes are then durable at return).
    fn write_file_at(&self, bytes: &[u8], offset: u64) -> std::io::Result<()> {
        match &self.dsync {
            Some(dsync) => fileops::write_through_at(dsync, &self.path, bytes, offset),
            None => fileops::write_at(&self.file, &self.path, bytes, offset),
        }
    }

    /// Writes the buffer to the file at `written` and publishes up to the last complete
    /// append (never part of a frame, nor part of a multi-frame batch).
    pub(crate) fn write_out(&self, st: &mut State) -> Result<()> {
        if self.poisoned.load(Ordering::Acquire) {
            return Err(Error::Poisoned);
        }
        if !st.buf.is_empty() {
            self.write_file_at(&st.buf, st.written).map_err(|e| self.poison(e))?;
            st.written += st.buf.len() as u64;
            st.buf.clear();
            st.writes += 1;
            if self.dsync.is_some() {
                self.syncs.fetch_add(1, Ordering::Relaxed);
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
}
