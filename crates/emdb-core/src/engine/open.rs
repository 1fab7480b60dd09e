//! Opening and closing: the lock, an interrupted admin swap finished, the journal's one
//! recovery scan rebuilding the indexes (see [`super::replay`]), and, at a clean close
//! that leaves a long scan behind, a checkpoint.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use emdb_journal::{JournalLock, JournalOptions, sibling};
use parking_lot::{Mutex, RwLock};

use super::files::remove_if_present;
use super::paths::MemDir;
use super::stripes::Stripes;
use super::{Inner, State, replay};
use crate::error::Result;
use crate::options::{Clock, FlushPolicy};

/// How a database is opened, resolved from the builder.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) path: PathBuf,
    pub(crate) default_ttl: Option<Duration>,
    pub(crate) range_scans: bool,
    pub(crate) flush_policy: FlushPolicy,
    pub(crate) mem: Option<MemDir>,
    /// What expiry is judged by.
    pub(crate) clock: Clock,
    /// The key to open (or set up) an encrypted database with.
    #[cfg(feature = "encrypt")]
    pub(crate) keying: Option<Keying>,
}

/// What the user gave to encrypt with.
#[cfg(feature = "encrypt")]
#[derive(Clone, Debug)]
pub(crate) struct Keying {
    pub(crate) input: crate::EncryptionInput,
    /// The cipher for a database being set up (an existing one keeps its own).
    pub(crate) cipher: emdb_crypto::Cipher,
    /// Whether a keyed open of an empty plaintext database sets up encryption (a normal
    /// open) or refuses (the offline admin, which must not write).
    pub(crate) set_up: bool,
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
        crate::admin::swap::recover(&data)?;
        // Scratch files of a compaction that did not finish: the database never used them.
        for suffix in [".compact.tmp", ".compact.tmp.meta"] {
            remove_if_present(&sibling(&data, suffix))?;
        }
        // Staging files of replaces a crash interrupted: of the index snapshot and the admin
        // marker, and of the scratch logs' sidecars (the journal removes its own `.meta`'s).
        emdb_journal::remove_stale_staging(&data, &[".index", ".encadmin", ".compact.tmp.meta", ".enc.tmp.meta"])?;
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
            stripes: Stripes::new(),
            batch_gate: RwLock::new(()),
            checkpointed: AtomicU64::new(checkpointed),
            compacting: Mutex::new(()),
            flush_policy: config.flush_policy,
            opened,
            lock,
            clock: config.clock,
            _mem: config.mem,
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
