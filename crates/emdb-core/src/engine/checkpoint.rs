//! Checkpoints: the indexes saved beside the log, so that the next open loads them and
//! scans only the records written after.
//!
//! `<path>.index` (replaced atomically; all integers little-endian):
//!
//! ```text
//! 0    8   magic "EMDBIDX\x01"
//! 8    8   covered end: the log LSN the snapshot is exact at
//! 16   4   next namespace id
//! 20   4   namespace count n (the default namespace included)
//! then n times: id u32, name length u32, name (empty for the default), snapshot length u64,
//!      the hash index snapshot (emdb-index's format)
//! end  4   CRC-32C of everything before
//! ```
//!
//! For an encrypted database the file is `"EMDBIDXS"`, then the bytes above without their
//! CRC sealed as one envelope (bound to the database and the covered end), then the CRC
//! of everything before it: namespace names and expiry times stay hidden.
//!
//! The sidecar's engine area names the file (see [`super::area`]). Open uses the file only
//! when the journal vouches for the checkpoint (its anchor frame matches the log) and the
//! file's CRC, length and covered end match the area; anything else is a full scan, never
//! wrong data.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use emdb_index::HashIndex;
use emdb_journal::Lsn;
use parking_lot::MutexGuard;

use super::area::{EngineArea, IndexRef};
use super::codec::Codec;
use super::{Inner, Space, State};
use crate::error::Result;
use crate::fault;
use emdb_journal::{replace_file, sibling};

const MAGIC: &[u8; 8] = b"EMDBIDX\x01";
const SEALED_MAGIC: &[u8; 8] = b"EMDBIDXS";

/// `<path>.index`.
pub(crate) fn index_path(path: &Path) -> PathBuf {
    sibling(path, ".index")
}

/// The indexes and names a checkpoint restores, as the file holds them: the caller checks
/// the bindings (see `replay::Rebuild::restore`).
pub(crate) struct Restored {
    pub(crate) spaces: HashMap<u32, Arc<Space>>,
    /// Every entry's id and name, in file order (the default namespace's included).
    pub(crate) bindings: Vec<(u32, String)>,
    pub(crate) next_id: u32,
}

/// Loads `<path>.index` if it matches `index` and `checkpoint`; `None` means "scan in
/// full" (missing, stale or damaged file).
pub(crate) fn load(path: &Path, index: &IndexRef, checkpoint: Lsn, range: bool, codec: &Codec) -> Option<Restored> {
    if index.covered_end != checkpoint.get() {
        return None;
    }
    // Mapped, not read, so a reopen copies nothing of it.
    #[allow(unsafe_code, reason = "the one map of a file beside the log; contract below")]
    // SAFETY: `<path>.index` is only ever replaced (`replace_file`: a rename over the
    // name), never written or cut in place, and only under the database's lock, which this
    // open holds: the mapped bytes stay as they are while the map lives.
    let bytes = unsafe { emdb_journal::map_replaced(&index_path(path)) }.ok()?;
    if bytes.len() as u64 != index.len || bytes.len() < 12 {
        return None;
    }
    let (file, crc) = bytes.split_at(bytes.len() - 4);
    let stored = u32::from_le_bytes(crc.try_into().ok()?);
    if stored != index.crc || crc32c::crc32c(file) != stored {
        return None;
    }
    let opened;
    let body: &[u8] = if codec.is_sealed() {
        if &file[..8] != SEALED_MAGIC {
            return None;
        }
        opened = open_sealed(codec, &file[8..], checkpoint.get())?;
        &opened
    } else {
        file
    };
    if body.len() < 24 || &body[..8] != MAGIC {
        return None;
    }
    let covered = u64::from_le_bytes(body[8..16].try_into().ok()?);
    if covered != checkpoint.get() {
        return None;
    }
    let next_id = u32::from_le_bytes(body[16..20].try_into().ok()?);
    let count = u32::from_le_bytes(body[20..24].try_into().ok()?);
    let mut rest = &body[24..];
    let mut take = |n: usize| -> Option<&[u8]> {
        let (head, tail) = rest.split_at_checked(n)?;
        rest = tail;
        Some(head)
    };
    let mut spaces = HashMap::new();
    let mut bindings = Vec::new();
    for _ in 0..count {
        let id = u32::from_le_bytes(take(4)?.try_into().ok()?);
        let name_len = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
        let name = std::str::from_utf8(take(name_len)?).ok()?.to_owned();
        let snap_len = usize::try_from(u64::from_le_bytes(take(8)?.try_into().ok()?)).ok()?;
        // The file's CRC, checked above, covers these bytes.
        let index = HashIndex::from_verified_snapshot(take(snap_len)?).ok()?;
        bindings.push((id, name));
        spaces.insert(id, Arc::new(Space::with_index(index, range)));
    }
    if !rest.is_empty() || !spaces.contains_key(&0) {
        return None;
    }
    Some(Restored {
        spaces,
        bindings,
        next_id,
    })
}

/// A checkpoint staged in memory: the snapshot file's bytes and what the sidecar will say,
/// of the log in `state`.
struct Staged {
    bytes: Vec<u8>,
    crc: u32,
    last: Lsn,
    end: u64,
    state: Arc<State>,
}

impl Inner {
    /// Saves the indexes and records the checkpoint: the next open loads them and scans
    /// only what is written after. Writers pause while the indexes are copied (about a
    /// millisecond per 100,000 keys), not while the file is written.
    ///
    /// The files are written under the compaction lock, so a checkpoint called while a
    /// compaction runs writes them after it. A compaction swaps the log and its sidecar:
    /// a checkpoint of the old log written after the swap would put the old log's
    /// checkpoint into the new log's sidecar, and a log shorter than its checkpoint does
    /// not open. A checkpoint staged before a swap is staged again from the new log.
    pub(crate) fn write_checkpoint(&self) -> Result<()> {
        let staged = self.stage_checkpoint()?;
        let compacting = self.compacting.lock();
        let staged = match staged {
            Some(staged) if !Arc::ptr_eq(&staged.state, &self.state.load()) => self.stage_checkpoint()?,
            staged => staged,
        };
        self.commit_checkpoint(staged, &compacting)
    }

    /// [`Inner::write_checkpoint`] for a caller that holds the compaction lock (a
    /// compaction's closing checkpoint): no swap can come between staging and writing.
    pub(crate) fn write_checkpoint_compacting(&self, compacting: &MutexGuard<'_, ()>) -> Result<()> {
        let staged = self.stage_checkpoint()?;
        self.commit_checkpoint(staged, compacting)
    }

    /// Copies the indexes into a checkpoint; `None` for an empty log. Writers pause only
    /// while the indexes are copied, into copies made before (see [`State::index_copies`]);
    /// the snapshot is encoded, sealed and checksummed after they go on.
    fn stage_checkpoint(&self) -> Result<Option<Staged>> {
        let copies = self.state.load().index_copies();
        let (state, last, end, next_id, spaces) = {
            let registry = self.registry.lock();
            let _stripes = self.stripes.lock_all();
            let _gate = self.batch_gate.write();
            let state = self.state.load_full();
            let Some(last) = state.journal.last_lsn() else {
                return Ok(None);
            };
            let end = state.journal.end().get();
            let spaces: Vec<(u32, String, HashIndex)> = state
                .refresh_copies(copies)
                .into_iter()
                .map(|(id, index)| (id, registry.names.get(&id).cloned().unwrap_or_default(), index))
                .collect();
            (state, last, end, registry.next_id, spaces)
        };
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&end.to_le_bytes());
        out.extend_from_slice(&next_id.to_le_bytes());
        out.extend_from_slice(&(spaces.len() as u32).to_le_bytes());
        for (id, name, index) in spaces {
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&(name.len() as u32).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            let snapshot = index.snapshot();
            out.extend_from_slice(&(snapshot.len() as u64).to_le_bytes());
            out.extend_from_slice(&snapshot);
        }
        let end_bytes = end.to_le_bytes();
        if state.codec.is_sealed() {
            let mut sealed = SEALED_MAGIC.to_vec();
            sealed.extend_from_slice(&seal(&state.codec, &out, &end_bytes)?);
            out = sealed;
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        fault::point("checkpoint.snapshot_built");
        Ok(Some(Staged {
            bytes: out,
            crc,
            last,
            end,
            state,
        }))
    }

    /// Writes a staged checkpoint's snapshot file, then the sidecar naming it.
    fn commit_checkpoint(&self, staged: Option<Staged>, _compacting: &MutexGuard<'_, ()>) -> Result<()> {
        let Some(Staged {
            bytes,
            crc,
            last,
            end,
            state,
        }) = staged
        else {
            return Ok(());
        };
        fault::fail("checkpoint.begin")?;
        let data = self.data_path();
        replace_file(&index_path(data), &bytes)?;
        fault::point("checkpoint.index_replaced");
        let area = EngineArea {
            index: Some(IndexRef {
                covered_end: end,
                crc,
                len: bytes.len() as u64,
            }),
            crypto: state.codec.meta().1,
        };
        state.journal.checkpoint(last, &area.encode())?;
        fault::point("checkpoint.sidecar_written");
        self.checkpointed.store(end, std::sync::atomic::Ordering::Release);
        Ok(())
    }
}

fn seal(codec: &Codec, plain: &[u8], context: &[u8]) -> Result<Vec<u8>> {
    #[cfg(feature = "encrypt")]
    if let Some(sealer) = codec.sealer() {
        return sealer.seal_blob(plain, context);
    }
    let _ = (codec, context);
    Ok(plain.to_vec())
}

fn open_sealed(codec: &Codec, sealed: &[u8], covered: u64) -> Option<Vec<u8>> {
    #[cfg(feature = "encrypt")]
    if let Some(sealer) = codec.sealer() {
        return sealer.open_blob(sealed, &covered.to_le_bytes());
    }
    let _ = (codec, sealed, covered);
    None
}
