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

mod area;
mod checkpoint;
mod compact;
mod evidence;
mod replay;
mod rw;
pub(crate) mod swap;

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use emdb_index::{HashIndex, Location, RangeIndex};
use emdb_journal::{Journal, JournalLock, JournalOptions};
use parking_lot::{Mutex, RwLock, RwLockWriteGuard};

use crate::codec::Codec;
use crate::error::{Error, Result};
use crate::options::FlushPolicy;
use crate::paths::MemDir;
use crate::record::{self, Record};

#[cfg(feature = "encrypt")]
pub(crate) use replay::{NEEDS_KEY, NOT_ENCRYPTED};
pub(crate) use rw::Listing;

/// Number of stripes (a power of two).
const STRIPES: usize = 1024;

/// How a database is opened, resolved from the builder.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) path: PathBuf,
    pub(crate) default_ttl: Option<Duration>,
    pub(crate) range_scans: bool,
    pub(crate) flush_policy: FlushPolicy,
    pub(crate) mem: Option<MemDir>,
    /// The key to open (or set up) an encrypted database with.
    #[cfg(feature = "encrypt")]
    pub(crate) keying: Option<Keying>,
}

/// What the user gave to encrypt with.
#[cfg(feature = "encrypt")]
#[derive(Clone, Debug)]
pub(crate) struct Keying {
    pub(crate) input: crate::crypt::EncryptionInput,
    /// The cipher for a database being set up (an existing one keeps its own).
    pub(crate) cipher: emdb_crypto::Cipher,
    /// Whether a keyed open of an empty plaintext database sets up encryption (a normal
    /// open) or refuses (the offline admin, which must not write).
    pub(crate) set_up: bool,
}

/// One namespace's indexes.
///
/// The range index (kept with range scans on) is built lazily after an open: the open
/// fills the hash index alone and leaves the range index *stale*; the first range scan
/// builds it ([`Inner::ready_range`]), and from the moment the build starts writers keep
/// it in step. A database opened for point reads and writes never pays for a sorted index
/// nobody reads (at 1M keys: 0.4 s at open, 90 MiB, and every write's skiplist update).
#[derive(Debug)]
pub(crate) struct Space {
    pub(crate) index: HashIndex,
    pub(crate) range: Option<RangeIndex>,
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

    /// The range index if writers keep it in step (what a write updates).
    pub(crate) fn live_range(&self) -> Option<&RangeIndex> {
        self.range
            .as_ref()
            .filter(|_| self.range_maintained.load(Ordering::Acquire))
    }

    /// Whether a range scan can read the range index without building it first.
    pub(crate) fn range_is_ready(&self) -> bool {
        self.range_ready.load(Ordering::Acquire)
    }

    /// Marks the range index as out of step with the hash index: after an open or a
    /// compaction filled the hash index alone. The caller is the only one holding the
    /// space, or holds every stripe.
    pub(crate) fn set_range_stale(&self) {
        if self.range.is_none() {
            return;
        }
        self.range_ready.store(false, Ordering::Release);
        self.range_maintained.store(false, Ordering::Release);
    }
}

/// The journal, how its records are stored, and the indexes that point into it: replaced
/// together, never separately.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) journal: Journal,
    pub(crate) codec: Codec,
    pub(crate) spaces: RwLock<HashMap<u32, Arc<Space>>>,
    pub(crate) default: Arc<Space>,
    /// Bytes of the records the indexes point at (the rest of the log is dead: replaced or
    /// removed records, tombstones, frame headers).
    pub(crate) live_bytes: AtomicU64,
}

impl State {
    /// A state over `journal` and these indexes, counting their live bytes.
    pub(crate) fn new(journal: Journal, codec: Codec, spaces: HashMap<u32, Arc<Space>>, default: Arc<Space>) -> State {
        let mut live = 0u64;
        for space in spaces.values().chain([&default]) {
            space.index.for_each(|l| live += u64::from(l.len));
        }
        State {
            journal,
            codec,
            spaces: RwLock::new(spaces),
            default,
            live_bytes: AtomicU64::new(live),
        }
    }

    /// Records that `added` bytes became live and `dropped` stopped being.
    pub(crate) fn account(&self, added: u64, dropped: u64) {
        if added > 0 {
            self.live_bytes.fetch_add(added, Ordering::Relaxed);
        }
        if dropped > 0 {
            let _ = self.live_bytes.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_sub(dropped))
            });
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

/// Names of the bound namespaces, by id (ids grow, so id order is creation order).
#[derive(Debug, Default)]
pub(crate) struct Registry {
    pub(crate) names: BTreeMap<u32, String>,
    pub(crate) next_id: u32,
}

/// The shared engine behind every handle.
pub(crate) struct Inner {
    pub(crate) path: PathBuf,
    #[cfg_attr(not(feature = "ttl"), allow(dead_code, reason = "read by TTL writes only"))]
    pub(crate) default_ttl: Option<Duration>,
    pub(crate) range_scans: bool,
    pub(crate) state: ArcSwap<State>,
    pub(crate) registry: Mutex<Registry>,
    stripes: Box<[RwLock<()>]>,
    stripe_hasher: foldhash::fast::FixedState,
    pub(crate) batch_gate: RwLock<()>,
    /// The log LSN the last checkpoint covers (0: none).
    pub(crate) checkpointed: AtomicU64,
    /// One compaction or backup at a time.
    pub(crate) compacting: Mutex<()>,
    pub(crate) flush_policy: FlushPolicy,
    /// What this open's recovery did: (loaded a checkpoint, bytes scanned).
    opened: (bool, u64),
    /// The path's lock, held by the engine itself so that it stays held while compaction
    /// swaps the journal (and, shared, by an encryption admin run past the engine's life).
    lock: Arc<JournalLock>,
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
    /// Opens the database: one scan of the log rebuilds every index.
    pub(crate) fn open(config: Config) -> Result<Inner> {
        let lock = JournalLock::acquire(&config.path, env!("CARGO_PKG_VERSION"))?;
        Inner::open_locked(config, Arc::new(lock))
    }

    /// Opens the database under a lock already held.
    fn open_locked(config: Config, lock: Arc<JournalLock>) -> Result<Inner> {
        let data = lock.data_path().to_path_buf();
        swap::recover(&data)?;
        // Scratch files of a compaction that did not finish: the database never used them.
        for suffix in [".compact.tmp", ".compact.tmp.meta"] {
            swap::remove_if_present(&swap::sibling(&data, suffix))?;
        }
        #[cfg_attr(not(feature = "encrypt"), allow(unused_mut))]
        let mut rebuild = replay::Rebuild::new(config.range_scans, data.clone());
        #[cfg(feature = "encrypt")]
        rebuild.set_keying(config.keying.clone());
        let journal = journal_options(config.flush_policy).open_replaying(&data, &mut rebuild)?;
        let report = journal.recovery();
        let checkpointed = match report.checkpoint {
            emdb_journal::CheckpointUse::Used => report.scan.start.get(),
            _ => 0,
        };
        let opened = (checkpointed > 0, report.scan.end.get() - report.scan.start.get());
        let finished = rebuild.finish()?;
        // An emdb 1.0 sidecar (version 1) is rewritten as ours at the first open, before
        // any write of ours: from then on emdb 1.0 refuses the file with its version
        // error instead of misreading records it does not know.
        let area = match finished.new_area {
            Some(area) => Some(area),
            None if journal.meta().version < emdb_journal::SIDECAR_VERSION => Some(Vec::new()),
            None => None,
        };
        if let Some(area) = area {
            journal.set_meta(finished.codec.meta().0, &area)?;
        }
        let state = State::new(journal, finished.codec, finished.spaces, finished.default);
        // The range indexes of what the log holds are built by the first range scan (see
        // `Space`); an empty namespace's is in step already.
        for space in state.spaces.read().values().chain([&state.default]) {
            if !space.index.is_empty() {
                space.set_range_stale();
            }
        }
        Ok(Inner {
            path: config.path,
            default_ttl: config.default_ttl,
            range_scans: config.range_scans,
            state: ArcSwap::from_pointee(state),
            registry: Mutex::new(finished.registry),
            stripes: (0..STRIPES).map(|_| RwLock::new(())).collect(),
            stripe_hasher: foldhash::fast::FixedState::with_seed(0x5712_1BE5),
            batch_gate: RwLock::new(()),
            checkpointed: AtomicU64::new(checkpointed),
            compacting: Mutex::new(()),
            flush_policy: config.flush_policy,
            opened,
            lock,
            _mem: config.mem,
        })
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
        self.checkpointed.store(u64::MAX, Ordering::Release);
        self.flush()
    }

    /// The data file's path, symlinks resolved (where its siblings live).
    pub(crate) fn data_path(&self) -> &Path {
        self.lock.data_path()
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn stripe_of(&self, ns: u32, key: &[u8]) -> usize {
        (self.stripe_hasher.hash_one((ns, key)) as usize) & (STRIPES - 1)
    }

    pub(crate) fn stripe(&self, ns: u32, key: &[u8]) -> &RwLock<()> {
        &self.stripes[self.stripe_of(ns, key)]
    }

    /// Write guards of the given stripes, taken in ascending order (no deadlock).
    pub(crate) fn lock_stripes(&self, mut which: Vec<usize>) -> Vec<RwLockWriteGuard<'_, ()>> {
        which.sort_unstable();
        which.dedup();
        which.into_iter().map(|i| self.stripes[i].write()).collect()
    }

    /// The range index of namespace `ns` (`space`, of `state`), built first if it is
    /// stale; `None` without range scans.
    ///
    /// The build: under every stripe (no write half done), the index is emptied and
    /// writers start keeping it in step; then, with writers running, every key of the
    /// hash index is inserted under its own stripe, and only if the hash index still
    /// holds the same record for it (a key a writer changed or removed meanwhile is
    /// already right, or rightly absent). A build that fails leaves the index stale for
    /// the next scan to retry.
    pub(crate) fn ready_range<'s>(&self, state: &State, space: &'s Space, ns: u32) -> Result<Option<&'s RangeIndex>> {
        let Some(range) = &space.range else {
            return Ok(None);
        };
        if space.range_is_ready() {
            return Ok(Some(range));
        }
        let _one = space.range_build.lock();
        if space.range_is_ready() {
            return Ok(Some(range));
        }
        {
            let _stripes = self.lock_all_stripes();
            range.clear();
            space.range_maintained.store(true, Ordering::Release);
        }
        let filled = state
            .view()
            .and_then(|view| replay::fill_range_under_stripes(self, space, ns, &state.codec, &view));
        if let Err(e) = filled {
            let _stripes = self.lock_all_stripes();
            space.set_range_stale();
            return Err(e);
        }
        space.range_ready.store(true, Ordering::Release);
        Ok(Some(range))
    }

    /// Every stripe, for operations on whole namespaces and for swapping the state.
    pub(crate) fn lock_all_stripes(&self) -> Vec<RwLockWriteGuard<'_, ()>> {
        self.stripes.iter().map(RwLock::write).collect()
    }

    pub(crate) fn stripes_of(&self, ops: &[Record<'_>]) -> Option<Vec<usize>> {
        let mut which = Vec::with_capacity(ops.len());
        for op in ops {
            match op {
                Record::Insert { ns, key, .. } | Record::Remove { ns, key } => which.push(self.stripe_of(*ns, key)),
                Record::Clear { .. } | Record::Bind { .. } => return None,
            }
        }
        Some(which)
    }

    /// Makes every write so far durable.
    pub(crate) fn flush(&self) -> Result<()> {
        Ok(self.state.load().journal.sync()?)
    }

    /// The id of namespace `name`, binding a new one (durably logged) if needed.
    pub(crate) fn namespace_id(&self, name: &str) -> Result<u32> {
        if name.is_empty() {
            return Err(Error::InvalidConfig(
                "the empty name is the default namespace; use the database handle",
            ));
        }
        let mut registry = self.registry.lock();
        if let Some((&id, _)) = registry.names.iter().find(|(_, n)| n.as_str() == name) {
            return Ok(id);
        }
        // Ids grow and are never reused: 0 is the default namespace and u32::MAX is
        // reserved, so the last id handed out is u32::MAX - 1.
        let id = registry.next_id.max(1);
        let next = id
            .checked_add(1)
            .filter(|_| id != u32::MAX)
            .ok_or(Error::InvalidConfig(
                "namespace ids are exhausted: no more namespaces can be created in this database",
            ))?;
        // Taken before the append: an id whose bind was written (even if the append then
        // failed) is never handed out again.
        registry.next_id = next;
        let mut rec = Vec::new();
        record::bind(&mut rec, id, name.as_bytes());
        let st = self.state.load();
        st.codec.append(&st.journal, &rec)?;
        st.spaces.write().insert(id, Arc::new(Space::new(id, self.range_scans)));
        registry.names.insert(id, name.to_owned());
        Ok(id)
    }

    /// The id of an existing namespace.
    pub(crate) fn existing_namespace(&self, name: &str) -> Option<u32> {
        self.registry
            .lock()
            .names
            .iter()
            .find(|(_, n)| n.as_str() == name)
            .map(|(&id, _)| id)
    }

    /// Drops namespace `name`: one batch frame clears it and unbinds it.
    pub(crate) fn drop_namespace(&self, name: &str) -> Result<bool> {
        let Some(id) = self.existing_namespace(name) else {
            return Ok(false);
        };
        self.apply_batch(&[Record::Clear { ns: id }, Record::Bind { ns: id, name: b"" }])?;
        Ok(true)
    }

    /// "" first, then the named namespaces in creation order.
    pub(crate) fn list_namespaces(&self) -> Vec<String> {
        let registry = self.registry.lock();
        std::iter::once(String::new())
            .chain(registry.names.values().cloned())
            .collect()
    }

    /// A point-in-time snapshot of sizes and counts.
    pub(crate) fn stats(&self) -> Result<crate::EmdbStats> {
        let state = self.state.load();
        let journal = state.journal.stats()?;
        let (live, memory) = {
            let spaces = state.spaces.read();
            spaces.values().chain([&state.default]).fold((0u64, 0u64), |(n, m), s| {
                (n + s.index.len() as u64, m + s.index.memory_bytes() as u64)
            })
        };
        let logical = journal.end.get();
        Ok(crate::EmdbStats {
            live_records: live,
            namespace_count: self.registry.lock().names.len(),
            logical_size_bytes: logical,
            file_size_bytes: journal.file_len.max(logical),
            preallocated_bytes: journal.file_len.saturating_sub(logical),
            range_scans_enabled: self.range_scans,
            encrypted: state.codec.is_sealed(),
            live_bytes: state.live_bytes.load(Ordering::Relaxed).min(logical),
            dead_bytes: logical.saturating_sub(state.live_bytes.load(Ordering::Relaxed)),
            opened_from_checkpoint: self.opened.0,
            recovery_scanned_bytes: self.opened.1,
            index_memory_bytes: memory,
        })
    }
}

/// A clean close checkpoints when the next open would otherwise scan more than this.
const CLOSE_CHECKPOINT_BYTES: u64 = 16 << 20;

impl Drop for Inner {
    fn drop(&mut self) {
        // Best effort: an error here cannot be reported (API: "drop flushes").
        let state = self.state.load_full();
        let _ = state.journal.sync();
        let end = state.journal.end().get();
        if end.saturating_sub(self.checkpointed.load(Ordering::Acquire)) > CLOSE_CHECKPOINT_BYTES {
            let _ = self.write_checkpoint();
        }
    }
}

/// The journal options every journal of a database is opened with; the engine holds the
/// path's lock itself.
pub(crate) fn journal_options(policy: FlushPolicy) -> JournalOptions {
    JournalOptions::new()
        .sync_policy(policy.sync_policy())
        .holder_version(env!("CARGO_PKG_VERSION"))
        .take_lock(false)
}

/// Whether the record at `loc` in `view` is `key` of namespace `ns`: the hash index's key
/// check. A record that fails to open is not the key, and its error is kept in `failed`.
pub(crate) fn holds_key(
    codec: &Codec,
    view: &emdb_journal::Snapshot,
    loc: Location,
    ns: u32,
    key: &[u8],
    failed: &mut Option<Error>,
) -> bool {
    match codec.read(view, loc) {
        Ok(Some(rec)) => record::key_of(&rec) == Some((ns, key)),
        Ok(None) => false,
        Err(e) => {
            *failed = Some(e);
            false
        }
    }
}

/// The key of the record at `loc` in `view`: `None` when it lies beyond the view or is not
/// an insert or remove.
pub(crate) fn key_at(codec: &Codec, view: &emdb_journal::Snapshot, loc: Location) -> Result<Option<Vec<u8>>> {
    Ok(codec
        .read(view, loc)?
        .and_then(|rec| record::key_of(&rec).map(|(_, k)| k.to_vec())))
}
