//! A crash-safe append-only log over one file: CRC-32C frames, ordered positional writes,
//! group-commit sync, atomic batches, zero-copy reads and classified recovery.
//!
//! `emdb-journal` is the bottom layer of the emdb database, usable alone by any store
//! that keeps its data in a log: a write-ahead log, a Bitcask-style value log, an event
//! store. It knows nothing of keys or values; its unit is the *frame*, a payload of up to
//! 256 MiB wrapped in a header and a checksum, and its promise is about frames:
//!
//! * after [`Journal::append`] returns, the frame has an [`Lsn`] (its byte offset) and
//!   is readable through this journal; it is not yet durable;
//! * once [`Journal::sync`] (or [`Journal::sync_to`]) returns `Ok`, every frame appended
//!   before it survives a crash of the process or the machine;
//! * [`Journal::append_batch`] writes several records as one frame (or, past the frame
//!   limit, as parts that recovery treats as one), so a crash keeps all of them or none;
//! * open recovers to exactly the frames that were whole, cuts a torn tail, and refuses
//!   (or opens read-only, if asked) a log damaged before its end, never guessing.
//!
//! # Example
//!
//! ```
//! # fn main() -> Result<(), emdb_journal::Error> {
//! # let dir = tempfile::tempdir()?;
//! use emdb_journal::Journal;
//! let journal = Journal::open(dir.path().join("db.log"))?;
//! let lsn = journal.append(b"hello")?;
//! let batch = journal.append_batch(&[&b"all"[..], b"or", b"nothing"])?;
//! journal.sync()?; // both are durable now
//! assert_eq!(journal.read(lsn)?.payload(), b"hello");
//!
//! let snapshot = journal.snapshot()?;
//! let records: Vec<&[u8]> = snapshot.records(lsn).map(|r| r.map(|r| r.bytes)).collect::<Result<_, _>>()?;
//! assert_eq!(records, [&b"hello"[..], b"all", b"or", b"nothing"]);
//! assert_eq!(&*journal.bytes(batch.record_offsets()[2], 7)?, b"nothing");
//! # Ok(()) }
//! ```
//!
//! # Files
//!
//! A journal at `<path>` owns `<path>` (frames only, byte 0 is the first frame),
//! `<path>.meta` (the sidecar: format version, flags, checkpoint, and an opaque area for
//! the layer above; replaced atomically), `<path>.lock` and `<path>.lock-meta` (the
//! advisory lock and who holds it), and after a torn tail `<path>.corrupt-<offset>`
//! (the bytes that were cut). `docs/FORMAT.md` in the repository specifies every byte.
//! A layer that keeps files of its own beside the journal names them with [`sibling`] and
//! replaces them with [`replace_file`], the sidecar's own atomic, durable replace; after a
//! crash, [`remove_stale_staging`] removes the staging files such a replace left.
//!
//! # What it builds on fsys, and what it adds
//!
//! The frame is fsys 1.x's journal frame byte for byte (magic `46 53 59 01`, length,
//! payload, CRC-32C), so logs written by emdb 1.0 read here, and so do fsys logs whose
//! payloads never start with a byte in [`RESERVED_TAGS`]. fsys replaces the
//! sidecar atomically ([`fsys::Handle::write_copy`]), reports the device's durability
//! primitive, and carries the Direct I/O mode ([`JournalOptions::direct_io`]). The
//! buffered writer is this crate's own, because fsys's journal handle does three things a
//! database cannot accept: every open scans the whole file, a damaged frame in the middle
//! makes it cut every valid frame after it, and each append is a system call. What this
//! crate adds:
//!
//! * **one scan from the checkpoint**: [`Journal::checkpoint`] records where the caller's
//!   own state is complete; open scans only what follows, once, and hands each record to a
//!   [`Replay`] ([`JournalOptions::open_replaying`]) so the caller rebuilds its state in
//!   the same pass;
//! * **classified recovery** ([`Tail`]): clean end, torn tail (cut, saved), incomplete
//!   multi-frame batch (cut), or corruption (refused, file untouched);
//! * **ordered writes through a write buffer**: frames reach the file in LSN order, which
//!   makes the recovery classification exact, and small appends cost a copy, not a
//!   system call;
//! * **group commit without a waiting window**: concurrent syncers share one `fdatasync`,
//!   a lone one never waits ([`SyncPolicy`]);
//! * **preallocation**: the file grows by extents ahead of the tail, so a sync commits no
//!   size change;
//! * **the lock**: `<path>.lock`, refused to a second opener in this process or another
//!   ([`Error::Busy`], naming the holder), with [`lock_holder`] and [`break_lock`].
//!
//! # Reading
//!
//! Reads come straight out of a read-only memory map of the file. A map is replaced, never
//! changed, when the file outgrows it; [`Frame`], [`Bytes`] and [`Snapshot`] keep the map
//! they were read from alive, so they stay valid while the log grows. Only published
//! frames are ever visible.
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod batch;
mod error;
mod file;
pub mod fileops;
pub mod frame;
mod group_commit;
mod journal;
mod lock;
mod lsn;
mod map;
mod options;
mod paths;
mod reader;
mod records;
mod recovery;
mod sidecar;
mod stats;
mod writer;

pub use batch::RESERVED_TAGS;
pub use error::{Error, Result};
pub use journal::Journal;
pub use lock::{JournalLock, LockHolder, break_lock, lock_holder};
pub use lsn::Lsn;
pub use map::{ReplacedFile, map_replaced};
pub use options::{JournalOptions, OnCorruption, SyncPolicy};
pub use paths::{remove_stale_staging, replace_file, sibling, sync_parent_dir};
pub use reader::{Bytes, Frame, Snapshot, View};
pub use records::{FrameRef, Frames, Record, Records, RecordsOf};
pub use recovery::{CheckpointUse, Cut, RecoveryReport, Replay, ReplayError, Scan, SidecarState, Tail, scan};
pub use sidecar::{Checkpoint, MAX_ENGINE_AREA, Meta, SIDECAR_VERSION};
pub use stats::JournalStats;
pub use writer::BatchReceipt;
