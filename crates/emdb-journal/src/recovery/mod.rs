//! Recovery on open: read the sidecar, scan the log once from the checkpoint, hand the
//! records to the caller, classify the end, and cut a torn tail.

mod scan;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

pub use scan::{Scan, Tail, scan};

use crate::error::{Error, Result};
use crate::frame::{self, Decoded};
use crate::lsn::Lsn;
use crate::map::Map;
use crate::options::{JournalOptions, OnCorruption};
use crate::records::Record;
use crate::sidecar::{Checkpoint, Meta};
use crate::{file, fileops, paths};

/// Error type a [`Replay`] may return; open wraps it in [`Error::Replay`].
pub type ReplayError = Box<dyn std::error::Error + Send + Sync>;

/// Receives what open's recovery scan finds, so that the layer above rebuilds its state
/// in the same single pass over the log.
///
/// Closures `FnMut(Record<'_>) -> Result<(), ReplayError>` implement it.
pub trait Replay {
    /// Called once, before any record, with the sidecar as read and the checkpoint LSN
    /// when the sidecar holds one that matches this log. Returns where the scan starts:
    /// the checkpoint (the caller restored its state as of it) or zero (the caller
    /// rebuilds from scratch, for instance because its own snapshot is missing). The
    /// default starts at the checkpoint when there is one.
    ///
    /// # Errors
    ///
    /// An error aborts the open; so does returning any other LSN.
    fn begin(&mut self, sidecar: &SidecarState, checkpoint: Option<Lsn>) -> std::result::Result<Lsn, ReplayError> {
        let _ = sidecar;
        Ok(checkpoint.unwrap_or(Lsn::ZERO))
    }

    /// Called for each record of each accepted frame, in log order; the records of a batch
    /// arrive together, once the whole batch has been validated.
    ///
    /// # Errors
    ///
    /// An error aborts the open.
    fn record(&mut self, record: Record<'_>) -> std::result::Result<(), ReplayError>;

    /// Like [`Replay::record`], with the scanned log's bytes from offset 0 to the end of
    /// the record, so that the caller can read earlier records it refers to (a store
    /// comparing a key with the one at an indexed offset). Defaults to `record`.
    ///
    /// # Errors
    ///
    /// An error aborts the open.
    fn record_in(&mut self, record: Record<'_>, log: &[u8]) -> std::result::Result<(), ReplayError> {
        let _ = log;
        self.record(record)
    }
}

impl<F> Replay for F
where
    F: FnMut(Record<'_>) -> std::result::Result<(), ReplayError>,
{
    fn record(&mut self, record: Record<'_>) -> std::result::Result<(), ReplayError> {
        self(record)
    }
}

/// A [`Replay`] that ignores everything.
pub(crate) struct NoReplay;

impl Replay for NoReplay {
    fn record(&mut self, _: Record<'_>) -> std::result::Result<(), ReplayError> {
        Ok(())
    }
}

/// What open found in the sidecar.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SidecarState {
    /// There was none (a new one was written, unless the journal opened read-only).
    Missing,
    /// It was read and validated.
    Valid(Meta),
    /// It was there but damaged; it was left as it was and the log was scanned in full.
    Damaged {
        /// What was wrong with it.
        reason: &'static str,
    },
}

/// Whether recovery could start from the sidecar's checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckpointUse {
    /// The sidecar holds no checkpoint (or none could be read).
    None,
    /// The scan started at the checkpoint.
    Used,
    /// The checkpoint matched the log, but the caller's [`Replay::begin`] chose a full
    /// scan.
    Declined,
    /// The checkpoint does not match this log (a log replaced or damaged behind the
    /// sidecar's back); the scan started at zero.
    Rejected {
        /// Why it was rejected.
        reason: &'static str,
    },
}

/// Bytes recovery removed from the end of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cut {
    /// First byte removed (the new end of the log).
    pub from: Lsn,
    /// One past the last non-zero byte removed.
    pub to: u64,
    /// Where the removed bytes were saved (`<path>.corrupt-<from>`), if any was non-zero.
    pub saved_to: Option<PathBuf>,
}

/// What open's recovery did, for logs and statistics.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryReport {
    /// The sidecar as found.
    pub sidecar: SidecarState,
    /// Whether the scan started at the checkpoint.
    pub checkpoint: CheckpointUse,
    /// The scan: where it started and ended, what it accepted, how the log ends.
    pub scan: Scan,
    /// Bytes cut from the end, if any.
    pub cut: Option<Cut>,
    /// The journal opened read-only because of damage ([`OnCorruption::ReadOnly`]).
    pub read_only: bool,
}

/// The outcome of recovery, for the writer to resume from.
pub(crate) struct Recovered {
    pub(crate) report: RecoveryReport,
}

/// Runs recovery on the data file `file` at `path`.
pub(crate) fn recover(
    path: &Path,
    file: &File,
    options: &JournalOptions,
    sidecar: SidecarState,
    replay: &mut dyn Replay,
) -> Result<Recovered> {
    let file_len = file.metadata()?.len();
    check_first_bytes(path, file, file_len)?;
    let map = Map::of(file, Arc::new(AtomicU64::new(file_len)))?;
    map.advise_sequential();
    let bytes = map.bytes();

    // A checkpoint is a durable floor: the sidecar names it only after every byte below it
    // was synced, and a log is never moved under a sidecar that still names a checkpoint
    // of another log (`Journal::relocate` clears it first). A log that ends below the
    // floor or no longer carries the anchor frame was damaged, not torn by a crash.
    let floor = match &sidecar {
        SidecarState::Valid(meta) => meta.checkpoint,
        _ => None,
    };
    let checkpoint = match floor {
        None => CheckpointUse::None,
        Some(cp) => match check_anchor(bytes, cp.anchor.get(), cp.lsn.get(), cp.anchor_crc) {
            Ok(()) => CheckpointUse::Used,
            Err(reason) => match options.on_corruption {
                OnCorruption::Fail => {
                    return Err(Error::Corrupt {
                        offset: cp.anchor.get().min(file_len),
                        reason,
                    });
                }
                OnCorruption::ReadOnly => CheckpointUse::Rejected { reason },
            },
        },
    };
    let offered = match (&checkpoint, &sidecar) {
        (CheckpointUse::Used, SidecarState::Valid(meta)) => meta.checkpoint.map(|c| c.lsn),
        _ => None,
    };
    let chosen = replay.begin(&sidecar, offered).map_err(|source| Error::Replay {
        lsn: offered.unwrap_or(Lsn::ZERO),
        source,
    })?;
    let mut checkpoint = checkpoint;
    if chosen == Lsn::ZERO && offered.is_some() {
        checkpoint = CheckpointUse::Declined;
    } else if Some(chosen) != offered && chosen != Lsn::ZERO {
        return Err(Error::InvalidArgument(
            "Replay::begin must return the offered checkpoint or zero",
        ));
    }
    let start = chosen.get();
    // emdb 1.0 reserved offsets without a lock, so a process killed while appending from
    // several threads can leave a zero-filled gap (a reservation never written) before
    // frames that were: in a log whose sidecar is still emdb 1.0's, such a gap is skipped
    // and later filled with padding, where emdb 1.0 itself cut everything after it.
    let skip_holes = matches!(&sidecar, SidecarState::Valid(meta) if meta.version == 1);
    let scan = scan::scan_with(bytes, start, skip_holes, &mut |record| {
        let log_end = usize::try_from(record.offset)
            .unwrap_or(usize::MAX)
            .saturating_add(record.bytes.len());
        replay.record_in(record, &bytes[..log_end.min(bytes.len())])
    })
    .map_err(|(source, lsn)| Error::Replay { lsn, source })?;

    let ours = matches!(sidecar, SidecarState::Valid(_));
    if scan.end.get() == 0 && matches!(scan.tail, Tail::Torn { .. }) && !starts_with_magic(bytes) && !ours {
        // Nothing valid anywhere and not even a torn first frame: a foreign file that
        // happens to start with a zero byte. Refuse it, untouched. Beside a valid sidecar
        // (written before the first append) it is this journal's log, whose first frames
        // a power cut kept out of order, zeros before some of their bytes: a torn tail.
        return Err(Error::NotAJournal {
            path: path.to_path_buf(),
        });
    }
    let mut read_only = false;
    let mut cut = None;
    let fill_holes = !scan.holes.is_empty();
    match below_floor(&scan, floor, &checkpoint) {
        Some((offset, reason)) => match options.on_corruption {
            OnCorruption::Fail => return Err(Error::Corrupt { offset, reason }),
            OnCorruption::ReadOnly => read_only = true,
        },
        None => match scan.tail {
            Tail::Corrupt { offset, reason, .. } => match options.on_corruption {
                OnCorruption::Fail => {
                    return Err(Error::Corrupt {
                        offset: offset.get(),
                        reason,
                    });
                }
                OnCorruption::ReadOnly => read_only = true,
            },
            Tail::Torn { .. } | Tail::IncompleteBatch { .. } => {
                let from = scan.end.get();
                let to = scan.cut_end.max(from);
                let saved_to = save_cut_bytes(path, &bytes[from as usize..to as usize], from)?;
                drop(map);
                fileops::set_len(file, path, from)?;
                fileops::sync_all(file, path)?;
                cut = Some(Cut {
                    from: scan.end,
                    to,
                    saved_to,
                });
            }
            Tail::Clean => {}
        },
    }
    if fill_holes && !read_only {
        for &(from, to) in &scan.holes {
            let len = usize::try_from(to.get() - from.get()).unwrap_or(usize::MAX);
            let padding = crate::batch::padding(len).ok_or(Error::Corrupt {
                offset: from.get(),
                reason: "a zero-filled gap too short to pad",
            })?;
            fileops::write_at(file, path, &padding, from.get())?;
        }
        fileops::sync_data(file, path)?;
    }
    Ok(Recovered {
        report: RecoveryReport {
            sidecar,
            checkpoint,
            scan,
            cut,
            read_only,
        },
    })
}

/// Where and why the scan breaks the checkpoint's durable floor, if it does: the
/// checkpoint's anchor failed (reaching the scan only for a read-only open), or the scan
/// stopped short of the floor. A corrupt tail is reported as such.
fn below_floor(scan: &Scan, floor: Option<Checkpoint>, use_: &CheckpointUse) -> Option<(u64, &'static str)> {
    let floor = floor?;
    if let CheckpointUse::Rejected { reason } = use_ {
        return Some((floor.anchor.get().min(scan.end.get()), reason));
    }
    (!matches!(scan.tail, Tail::Corrupt { .. }) && scan.end < floor.lsn)
        .then_some((scan.end.get(), "the log ends below its checkpoint"))
}

/// Refuses a data file that does not start like a log: it must be empty, start with the
/// frame magic (or a prefix of it, a first frame torn short), or start with a zero byte
/// (preallocated space never written).
fn check_first_bytes(path: &Path, file: &File, len: u64) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    let mut head = [0u8; 4];
    let n = usize::try_from(len.min(4)).unwrap_or(4);
    file::read_exact_at(file, &mut head[..n], 0)?;
    if head[0] == 0 || head[..n] == frame::MAGIC[..n] {
        Ok(())
    } else {
        Err(Error::NotAJournal {
            path: path.to_path_buf(),
        })
    }
}

/// Whether `bytes` start with the frame magic (or the whole of them is a prefix of it).
fn starts_with_magic(bytes: &[u8]) -> bool {
    let n = bytes.len().min(frame::MAGIC.len());
    n > 0 && bytes[..n] == frame::MAGIC[..n]
}

/// Checks that the frame at `anchor` is whole, ends at `end`, and carries `crc`.
fn check_anchor(bytes: &[u8], anchor: u64, end: u64, crc: u32) -> std::result::Result<(), &'static str> {
    let at = usize::try_from(anchor).map_err(|_| "anchor beyond the address space")?;
    if end > bytes.len() as u64 {
        return Err("the log is shorter than the checkpoint");
    }
    let Some(here) = bytes.get(at..) else {
        return Err("the log is shorter than the checkpoint");
    };
    match frame::decode(here) {
        Decoded::Frame { len, .. } => {
            if anchor + len as u64 != end {
                return Err("the checkpoint's last frame does not end at the checkpoint");
            }
            if frame::stored_checksum(&here[..len]) != Some(crc) {
                return Err("the checkpoint's last frame differs from the one recorded");
            }
            if let Ok(crate::batch::Content::Batch(b)) =
                crate::batch::content(&here[frame::HEADER_LEN..len - frame::TRAILER_LEN])
                && b.more()
            {
                return Err("the checkpoint ends inside a multi-frame batch");
            }
            Ok(())
        }
        _ => Err("no valid frame where the checkpoint's last frame should be"),
    }
}

/// Saves the non-zero bytes cut from the tail to `<path>.corrupt-<offset>` (or
/// `.corrupt-<offset>.<n>` if that name is taken), durably, before the cut.
fn save_cut_bytes(path: &Path, bytes: &[u8], offset: u64) -> Result<Option<PathBuf>> {
    if scan::is_zero(bytes) {
        return Ok(None);
    }
    let base = paths::sibling(path, &format!(".corrupt-{offset}"));
    for n in 0..1000u32 {
        let target = if n == 0 {
            base.clone()
        } else {
            paths::sibling(&base, &format!(".{n}"))
        };
        let created = crate::lock::private_options()
            .write(true)
            .create_new(true)
            .open(&target);
        let out = match created {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if std::fs::read(&target).is_ok_and(|old| old == bytes) {
                    return Ok(Some(target));
                }
                continue;
            }
            Err(e) => return Err(Error::Io(e)),
        };
        fileops::opened(&out, &target);
        fileops::write_at(&out, &target, bytes, 0)?;
        fileops::sync_all(&out, &target)?;
        paths::sync_parent_dir(path)?;
        return Ok(Some(target));
    }
    Err(Error::Io(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        "too many .corrupt-<offset> files beside the journal",
    )))
}
