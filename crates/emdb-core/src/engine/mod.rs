//! The engine: one journal, one hash index (and optionally one range index) per
//! namespace, and the locks that keep them in step.
//!
//! # Consistency
//!
//! * Every write of a key holds that key's **stripe** (one of 1,024 reader-writer locks
//!   chosen by a hash of namespace and key) across its append and its index update, so
//!   the index applies writes of one key in log order, and recovery, which replays the
//!   log, rebuilds exactly the index writers left. Point reads hold the stripe shared.
//! * A batch (transaction, `insert_many`, `clear`, `drop_namespace`) is one journal frame
//!   (crash-atomic) and holds every stripe it touches while it appends and applies, so a
//!   point reader sees all of it or none of it. Iterators take their snapshot under the
//!   batch gate, which batches hold shared while applying, so they never see half a batch.
//! * The journal and the indexes live in one [`State`], swapped whole (compaction
//!   replaces both) while every stripe is held.
//!
//! # Where things are
//!
//! This file holds the types every part shares ([`Inner`], [`State`], [`Space`]) and the
//! record lookups of the hash index's key check. Then, by what they do:
//!
//! * opening and closing: [`open`] (with [`replay`] rebuilding the indexes in the
//!   journal's scan, [`evidence`] refusing a keyless open of an encrypted database, and
//!   [`checkpoint`] loading the saved indexes);
//! * the locks: [`stripes`]; namespace names and ids: [`registry`];
//! * reads and writes: [`rw`]; the range index's lazy build and cursor pages: [`range`];
//! * checkpoints: [`checkpoint`]; compaction and backup: [`compact`]; statistics:
//!   [`stats`];
//! * the bytes: [`record`] (plain records), [`codec`] (plain or sealed), `crypt` (the
//!   sealer, feature `encrypt`), [`area`] (the sidecar's engine area);
//! * files: [`files`] (helpers beside the journal's own), [`paths`] (where a database
//!   without a path lives);
//! * the handles' side: [`scope`], what `Emdb` and `Namespace` share on one namespace id.

mod area;
mod batch;
mod checkpoint;
pub(crate) mod codec;
mod compact;
#[cfg(feature = "encrypt")]
pub(crate) mod crypt;
mod evidence;
pub(crate) mod files;
mod open;
pub(crate) mod paths;
mod range;
pub(crate) mod record;
mod registry;
mod replay;
mod rw;
mod scope;
mod stats;
mod stripes;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::Duration;

use arc_swap::ArcSwap;
use emdb_index::{HashIndex, Location, RangeIndex};
use emdb_journal::{Journal, JournalLock};
use parking_lot::{Mutex, RwLock};

use crate::error::{Error, Result};
use crate::options::{Clock, FlushPolicy};
use codec::Codec;
use paths::MemDir;
use registry::Registry;
use stripes::Stripes;

pub(crate) use open::Config;
#[cfg(feature = "encrypt")]
pub(crate) use open::Keying;
#[cfg(feature = "encrypt")]
pub(crate) use replay::{NEEDS_KEY, NOT_ENCRYPTED};
pub(crate) use rw::Listing;
pub(crate) use scope::Scope;

/// One namespace's indexes.
///
/// The range index (kept with range scans on) is built lazily after an open: the open
/// fills the hash index alone and leaves the range index *stale*; the first range scan
/// builds it (see [`range`]), and from the moment the build starts writers keep
/// it in step. A database opened for point reads and writes never pays for a sorted index
/// nobody reads (at 1M keys: 0.4 s at open, 90 MiB, and every write's skiplist update).
#[derive(Debug)]
pub(crate) struct Space {
    index: HashIndex,
    range: Option<RangeIndex>,
    /// Writers update `range`: set under every stripe when a build starts.
    range_maintained: AtomicBool,
    /// `range` holds every key of `index`: range scans may read it.
    range_ready: AtomicBool,
    /// One build at a time; range scans that arrive meanwhile wait for it.
    range_build: Mutex<()>,
}

impl Space {
    /// An empty namespace (its range index, being as empty, is in step).
    pub(crate) fn new(id: u32, range: bool) -> Space {
        Space::with_index(
            HashIndex::with_shards(if id == 0 { emdb_index::default_shards() } else { 16 }),
            range,
        )
    }

    /// A namespace over `index`, with an empty range index if `range`: in step only if
    /// `index` is empty, so a caller that filled it marks it stale.
    pub(crate) fn with_index(index: HashIndex, range: bool) -> Space {
        Space {
            index,
            range: range.then(RangeIndex::new),
            range_maintained: AtomicBool::new(true),
            range_ready: AtomicBool::new(true),
            range_build: Mutex::new(()),
        }
    }
}

/// The journal, how its records are stored, and the indexes that point into it: replaced
/// together, never separately.
#[derive(Debug)]
pub(crate) struct State {
    journal: Journal,
    codec: Codec,
    spaces: RwLock<HashMap<u32, Arc<Space>>>,
    default: Arc<Space>,
}

impl State {
    /// A state over `journal` and these indexes.
    pub(crate) fn new(journal: Journal, codec: Codec, spaces: HashMap<u32, Arc<Space>>, default: Arc<Space>) -> State {
        State {
            journal,
            codec,
            spaces: RwLock::new(spaces),
            default,
        }
    }

    /// The indexes of namespace `ns`.
    pub(crate) fn space(&self, ns: u32) -> Result<SpaceRef<'_>> {
        if ns == 0 {
            return Ok(SpaceRef::Default(&self.default));
        }
        self.spaces
            .read()
            .get(&ns)
            .cloned()
            .map(SpaceRef::Named)
            .ok_or(Error::InvalidConfig("the namespace was dropped"))
    }

    /// Copies of every namespace's hash index, made while writers go on: the memory that
    /// [`State::refresh_copies`] fills while they wait. Each shard is copied under its own
    /// lock only.
    pub(crate) fn index_copies(&self) -> HashMap<u32, HashIndex> {
        // With no copies to refresh, every index is cloned.
        self.refresh_copies(HashMap::new()).into_iter().collect()
    }

    /// Every namespace's hash index as it is now, ascending by namespace, into the copies
    /// [`State::index_copies`] made (only bytes move, unless a table grew since); a
    /// namespace made since is cloned. For a caller holding every stripe and the batch
    /// gate: the copies are one instant of the whole database.
    pub(crate) fn refresh_copies(&self, mut copies: HashMap<u32, HashIndex>) -> Vec<(u32, HashIndex)> {
        let spaces = self.spaces.read();
        let mut out: Vec<(u32, HashIndex)> = std::iter::once((0, &self.default))
            .chain(spaces.iter().map(|(&id, s)| (id, s)))
            .map(|(id, s)| match copies.remove(&id) {
                Some(mut copy) => {
                    copy.clone_from(&s.index);
                    (id, copy)
                }
                None => (id, s.index.clone()),
            })
            .collect();
        out.sort_unstable_by_key(|&(id, _)| id);
        out
    }

    /// A view of the log covering every record indexed so far.
    pub(crate) fn view(&self) -> Result<emdb_journal::Snapshot> {
        Ok(self.journal.snapshot()?)
    }
}

/// The indexes of one namespace as [`State::space`] hands them out: borrowed for the
/// default namespace, so the hot path (every `get` of the default namespace) touches no
/// shared reference count, and shared for a named one, whose entry a concurrent
/// `drop_namespace` may remove from the map.
pub(crate) enum SpaceRef<'a> {
    Default(&'a Space),
    Named(Arc<Space>),
}

impl std::ops::Deref for SpaceRef<'_> {
    type Target = Space;

    fn deref(&self) -> &Space {
        match self {
            SpaceRef::Default(space) => space,
            SpaceRef::Named(space) => space,
        }
    }
}

/// The shared engine behind every handle. Its fields are the engine's alone: the rest of
/// the crate calls its methods.
pub(crate) struct Inner {
    path: PathBuf,
    #[cfg_attr(not(feature = "ttl"), allow(dead_code, reason = "read by TTL writes only"))]
    default_ttl: Option<Duration>,
    range_scans: bool,
    state: ArcSwap<State>,
    registry: Mutex<Registry>,
    stripes: Stripes,
    /// Held shared by a batch while it applies, and for writing by whoever must see no
    /// half-applied batch (iterator snapshots, cursor pages, capture, checkpoint).
    batch_gate: RwLock<()>,
    /// The log LSN the last checkpoint covers (0: none).
    checkpointed: AtomicU64,
    /// One compaction or backup at a time.
    compacting: Mutex<()>,
    flush_policy: FlushPolicy,
    /// What this open's recovery did: (loaded a checkpoint, bytes scanned).
    opened: (bool, u64),
    /// The path's lock, held by the engine itself so that it stays held while compaction
    /// swaps the journal (and, shared, by an encryption admin run past the engine's life).
    lock: Arc<JournalLock>,
    /// What every expiry decision of this database reads.
    clock: Clock,
    // Last: the temporary directory of an ephemeral database goes after the journal.
    _mem: Option<MemDir>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// The database file's path, as given or resolved.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The data file's path, symlinks resolved (where its siblings live).
    pub(crate) fn data_path(&self) -> &Path {
        self.lock.data_path()
    }

    /// The clock expiry is judged by.
    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Whether the range index is kept.
    pub(crate) fn range_scans(&self) -> bool {
        self.range_scans
    }

    /// Whether namespace `ns` exists (an error once it was dropped).
    pub(crate) fn check_namespace(&self, ns: u32) -> Result<()> {
        self.state.load().space(ns).map(drop)
    }

    /// Makes every write so far durable.
    pub(crate) fn flush(&self) -> Result<()> {
        Ok(self.state.load().journal.sync()?)
    }

    /// The cipher of an encrypted database.
    #[cfg(feature = "encrypt")]
    pub(crate) fn cipher(&self) -> Option<emdb_crypto::Cipher> {
        self.state.load().codec.sealer().map(|s| s.params().cipher)
    }

    /// The path's lock, shared: it stays held after this engine is dropped.
    #[cfg(feature = "encrypt")]
    pub(crate) fn shared_lock(&self) -> Arc<JournalLock> {
        Arc::clone(&self.lock)
    }

    /// Closes without the checkpoint a clean close may write (the log is about to be
    /// replaced).
    #[cfg(feature = "encrypt")]
    pub(crate) fn close_without_checkpoint(self) -> Result<()> {
        self.checkpointed.store(u64::MAX, std::sync::atomic::Ordering::Release);
        self.flush()
    }
}

/// Whether the record at `loc` in `view` is `key` of namespace `ns`: the hash index's key
/// check on writes. A candidate whose record fails its verification counts as `key`'s
/// (see [`DAMAGED_IS_THIS_KEY`]), so that a write of a key whose record was damaged
/// replaces that record (a repair) instead of leaving it beside the new one. Any other
/// failure is kept in `failed`.
pub(crate) fn holds_key(
    codec: &Codec,
    view: &emdb_journal::Snapshot,
    loc: Location,
    ns: u32,
    key: &[u8],
    failed: &mut Option<Error>,
) -> bool {
    match codec.read(view.view(), loc) {
        Ok(Some(rec)) => is_slot_of(&rec, ns, key),
        Ok(None) => false,
        Err(Error::Corrupted { .. }) => DAMAGED_IS_THIS_KEY,
        Err(e) => {
            *failed = Some(e);
            false
        }
    }
}

/// Whether the verified record `rec` of a hash index slot is `key` of namespace `ns`. The
/// index holds only inserts: a record of another kind there is damage that passed its
/// check (a checked tag overwritten by an unchecked one), treated as a failed one.
pub(crate) fn is_slot_of(rec: &[u8], ns: u32, key: &[u8]) -> bool {
    match record::key_of(rec) {
        Some(named) => named == (ns, key),
        None => DAMAGED_IS_THIS_KEY,
    }
}

/// How a write (or a replayed record) treats a slot of the hash index whose fingerprint
/// matches its key but whose record fails its verification: as its own key's. The bytes
/// cannot say which key they held (the key itself may be what was damaged), and the slot
/// belongs to another key only if that key's 48-bit fingerprint collides with this one
/// in the same shard; a write that left the slot beside its own would leave a phantom
/// entry that `len` counts and `try_iter` reports, and a remove would leave the key
/// reading `Corrupted` instead of absent.
pub(crate) const DAMAGED_IS_THIS_KEY: bool = true;

/// The key of the record at `loc` in `view`: `None` when it lies beyond the view or is not
/// an insert or remove.
pub(crate) fn key_at(codec: &Codec, view: &emdb_journal::Snapshot, loc: Location) -> Result<Option<Vec<u8>>> {
    Ok(codec
        .read(view.view(), loc)?
        .and_then(|rec| record::key_of(&rec).map(|(_, k)| k.to_vec())))
}
