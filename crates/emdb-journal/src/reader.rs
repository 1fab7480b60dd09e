//! Reading the log: frames by LSN, raw byte ranges, views and snapshots to iterate
//! (the iterators are in `records.rs`), all zero-copy out of the memory map.

use std::fmt;
use std::ops::{Deref, Range};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::batch::Content;
use crate::error::{Error, Result};
use crate::frame;
use crate::journal::Journal;
use crate::lsn::Lsn;
use crate::map::{Lease, Leased, Map};
use crate::records::{FrameAt, Frames, Records, RecordsOf};

/// A frame read by LSN; it keeps its memory map alive, so it stays valid however the log
/// grows.
#[derive(Clone)]
pub struct Frame {
    map: Arc<Map>,
    lsn: Lsn,
    payload: Range<usize>,
    len: usize,
    batch: bool,
    more: bool,
}

impl Frame {
    pub(crate) fn read(map: Arc<Map>, lsn: Lsn) -> Result<Frame> {
        let f = FrameAt::decode(map.bytes(), lsn.get()).map_err(|_| Error::NoFrame { lsn })?;
        let start = usize::try_from(f.payload_at).map_err(|_| Error::NoFrame { lsn })?;
        let (batch, more) = match f.content {
            Content::Plain => (false, false),
            Content::Batch(b) => (true, b.more()),
            // The journal's own filler: there is no frame of the caller's at `lsn`.
            Content::Padding => return Err(Error::NoFrame { lsn }),
        };
        let (payload, len) = (start..start + f.payload.len(), f.len);
        Ok(Frame {
            map,
            lsn,
            payload,
            len,
            batch,
            more,
        })
    }

    /// The frame's LSN.
    #[must_use]
    pub fn lsn(&self) -> Lsn {
        self.lsn
    }

    /// The LSN just past this frame: where the next one starts.
    #[must_use]
    pub fn end(&self) -> Lsn {
        Lsn::new(self.lsn.get() + self.len as u64)
    }

    /// The frame's payload as stored (for a batch frame, its batch encoding).
    #[must_use]
    pub fn payload(&self) -> &[u8] {
        self.map.bytes().get(self.payload.clone()).unwrap_or_default()
    }

    /// Whether this frame is a batch (or part of one).
    #[must_use]
    pub fn is_batch(&self) -> bool {
        self.batch
    }

    /// Whether this frame is a part of a multi-frame batch that more parts follow.
    pub(crate) fn continues(&self) -> bool {
        self.more
    }

    /// The stored checksum of the frame.
    pub(crate) fn checksum(&self) -> u32 {
        let end = self.payload.end;
        self.map
            .bytes()
            .get(end..end + frame::TRAILER_LEN)
            .and_then(frame::stored_checksum)
            .unwrap_or(0)
    }

    /// The frame's records: its payload, or each record of a batch.
    pub fn records(&self) -> RecordsOf<'_> {
        match FrameAt::decode(self.map.bytes(), self.lsn.get()) {
            Ok(f) => f.records(),
            // Unreachable: the frame validated when it was read and published bytes never
            // change. An empty iterator keeps this panic-free regardless.
            Err(_) => RecordsOf::empty(self.lsn),
        }
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("lsn", &self.lsn)
            .field("payload_len", &self.payload.len())
            .field("batch", &self.batch)
            .finish()
    }
}

/// The log's bytes from its start to a point, borrowed: what [`Journal::with_view`] lends
/// and [`Snapshot::view`] gives, with the snapshot's zero-copy, unchecked reads.
#[derive(Clone, Copy)]
pub struct View<'a> {
    bytes: &'a [u8],
    /// What [`View::bytes_at`] keeps alive.
    holder: Holder<'a>,
}

/// Who holds the map a view borrows: the journal's current map, whose leases it lends,
/// or a snapshot's map.
#[derive(Clone, Copy)]
enum Holder<'a> {
    Leased(&'a Leased),
    Map(&'a Arc<Map>),
}

impl Holder<'_> {
    fn owner(self) -> Owner {
        match self {
            Holder::Leased(leased) => Owner::Lease(Arc::clone(leased.lease())),
            Holder::Map(map) => Owner::Map(Arc::clone(map)),
        }
    }
}

impl fmt::Debug for View<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("View").field("end", &self.bytes.len()).finish()
    }
}

impl<'a> View<'a> {
    /// Where the view ends: the LSN the next frame after it has.
    #[must_use]
    pub fn end(&self) -> Lsn {
        Lsn::new(self.bytes.len() as u64)
    }

    /// `len` bytes at file offset `offset`, if they lie within the view (as
    /// [`Snapshot::slice`]).
    #[must_use]
    pub fn slice(&self, offset: u64, len: usize) -> Option<&'a [u8]> {
        let start = usize::try_from(offset).ok()?;
        self.bytes.get(start..start.checked_add(len)?)
    }

    /// The same bytes as [`View::slice`], as [`Bytes`] that keep the map alive after the
    /// view is gone. A view lent by [`Journal::with_view`] hands out a holder of the map
    /// kept for the calling thread, so point reads on many threads do not all write one
    /// reference count.
    #[must_use]
    pub fn bytes_at(&self, offset: u64, len: usize) -> Option<Bytes> {
        self.slice(offset, len)?;
        Bytes::new(self.holder.owner(), offset, len).ok()
    }
}

/// Bytes of the log, borrowed from a memory map that this value keeps alive.
#[derive(Clone)]
pub struct Bytes {
    owner: Owner,
    range: Range<usize>,
}

/// What keeps the bytes of a [`Bytes`] mapped: the map itself, or a lease of it.
#[derive(Clone)]
enum Owner {
    Map(Arc<Map>),
    Lease(Arc<Lease>),
}

impl Owner {
    fn map(&self) -> &Map {
        match self {
            Owner::Map(map) => map,
            Owner::Lease(lease) => &lease.0,
        }
    }
}

impl Bytes {
    fn new(owner: Owner, offset: u64, len: usize) -> Result<Bytes> {
        let out_of_range = |end| Error::OutOfRange { offset, end };
        let end = offset.checked_add(len as u64).ok_or_else(|| out_of_range(u64::MAX))?;
        let start = usize::try_from(offset).map_err(|_| out_of_range(end))?;
        if owner.map().bytes().len() < start + len {
            return Err(out_of_range(end));
        }
        Ok(Bytes {
            owner,
            range: start..start + len,
        })
    }
}

impl Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // The range was checked against the published prefix, which only grows.
        self.owner.map().bytes().get(self.range.clone()).unwrap_or_default()
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bytes").field("len", &self.range.len()).finish()
    }
}

/// A consistent view of the published log at one instant: iterate it without racing the
/// writers. Frames appended later are not seen.
pub struct Snapshot {
    map: Arc<Map>,
    end: u64,
}

impl Snapshot {
    pub(crate) fn new(map: Arc<Map>, end: u64) -> Snapshot {
        let end = end.min(map.bytes().len() as u64);
        Snapshot { map, end }
    }

    /// Where the snapshot ends: the LSN the next frame after it has.
    #[must_use]
    pub fn end(&self) -> Lsn {
        Lsn::new(self.end)
    }

    fn bytes(&self) -> &[u8] {
        let all = self.map.bytes();
        &all[..usize::try_from(self.end).unwrap_or(usize::MAX).min(all.len())]
    }

    /// `len` bytes at file offset `offset`, if they lie within the snapshot. Zero-copy,
    /// no checksum verified: for a store reading a record it indexed.
    #[must_use]
    pub fn slice(&self, offset: u64, len: usize) -> Option<&[u8]> {
        self.view().slice(offset, len)
    }

    /// The same bytes as [`Snapshot::slice`], as a [`Bytes`] that keeps the map alive.
    #[must_use]
    pub fn bytes_at(&self, offset: u64, len: usize) -> Option<Bytes> {
        self.slice(offset, len)?;
        Bytes::new(Owner::Map(Arc::clone(&self.map)), offset, len).ok()
    }

    /// [`Snapshot::bytes_at`] consuming the snapshot: its hold on the map passes to the
    /// `Bytes`, so no reference count is taken (a point read that hands out one value).
    #[must_use]
    pub fn into_bytes_at(self, offset: u64, len: usize) -> Option<Bytes> {
        self.slice(offset, len)?;
        Bytes::new(Owner::Map(self.map), offset, len).ok()
    }

    /// The snapshot's bytes as a [`View`].
    #[must_use]
    pub fn view(&self) -> View<'_> {
        View {
            bytes: self.bytes(),
            holder: Holder::Map(&self.map),
        }
    }

    /// The frames from `from` (a frame's LSN) to the end of the snapshot, validated as
    /// they are read: damage yields one `Err` and ends the iteration.
    #[must_use]
    pub fn frames(&self, from: Lsn) -> Frames<'_> {
        Frames::new(self.bytes(), from)
    }

    /// The records from the frame at `from` on: plain payloads, and each record of each
    /// batch. A multi-frame batch is validated whole before its first record is yielded.
    #[must_use]
    pub fn records(&self, from: Lsn) -> Records<'_> {
        Records::new(self.bytes(), from)
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot").field("end", &self.end).finish()
    }
}

impl Journal {
    /// Makes sure the bytes below `end` are in the file.
    pub(crate) fn publish_through(&self, end: u64) -> Result<()> {
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
        let end = offset
            .checked_add(len as u64)
            .ok_or(Error::OutOfRange { offset, end: u64::MAX })?;
        self.publish_through(end)?;
        Bytes::new(Owner::Map(self.current_map()?), offset, len)
    }

    /// A view of the log covering at least everything below `end` (an LSN from
    /// [`Journal::end`] or a record's end): the write buffer is written out only if it
    /// holds bytes below `end`. The cheap way for a store to read records it indexed.
    ///
    /// # Errors
    ///
    /// [`Error::OutOfRange`] when `end` is past the appended log, [`Error::Io`] when the
    /// write-out or the mapping fails.
    pub fn snapshot_through(&self, end: Lsn) -> Result<Snapshot> {
        self.publish_through(end.get())?;
        let map = self.current_map()?;
        let published = self.published.load(Ordering::Acquire);
        Ok(Snapshot::new(map, published))
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

    /// Runs `f` on a view of the log as it is now (what [`Journal::snapshot`] would cover),
    /// lent for the call instead of held: no reference count is taken on the memory map
    /// (one contended atomic less per read for a store's point reads), unless the file has
    /// grown past the map and it must be mapped again.
    ///
    /// ```
    /// # fn main() -> emdb_journal::Result<()> {
    /// # let dir = tempfile::tempdir()?;
    /// let journal = emdb_journal::Journal::open(dir.path().join("log"))?;
    /// let receipt = journal.append(b"hello")?;
    /// let at = journal.snapshot()?.records(emdb_journal::Lsn::ZERO).next().expect("one")?.offset;
    /// let read = journal.with_view(|view| view.slice(at, 5).map(<[u8]>::to_vec))?;
    /// assert_eq!(read.as_deref(), Some(&b"hello"[..]));
    /// # let _ = receipt;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when writing out the buffer or mapping the file fails.
    pub fn with_view<T>(&self, f: impl FnOnce(&View<'_>) -> T) -> Result<T> {
        self.publish_through(self.end.load(Ordering::Acquire))?;
        let end = self.published.load(Ordering::Acquire);
        let lent = self.maps.with_current(end, |bytes: &[u8], leased: &Leased| {
            f(&View {
                bytes,
                holder: Holder::Leased(leased),
            })
        });
        match lent {
            Ok(out) => Ok(out),
            // The map is shorter than the log: map it again, held (with leases of its own)
            // for the call.
            Err(lend) => {
                let leased = Leased::new(self.current_map()?);
                Ok(lend(leased.map.bytes(), &leased))
            }
        }
    }
}
