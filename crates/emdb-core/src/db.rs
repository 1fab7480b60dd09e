//! `Emdb`: the database handle.

use std::ops::RangeBounds;
use std::path::Path;
use std::sync::Arc;

use crate::builder::EmdbBuilder;
use crate::engine::Inner;
use crate::engine::Scope;
use crate::error::Result;
use crate::iter::{EmdbIter, EmdbKeyIter, EmdbRangeIter, TryIter};
use crate::methods::scope_methods;
use crate::namespace::Namespace;
#[cfg(feature = "ttl")]
use crate::options::Ttl;
use crate::stats::EmdbStats;
use crate::txn::Transaction;
use crate::value::ValueRef;

/// An embedded key-value database: one log file, indexes in memory, values read straight
/// from a memory map. Cheap to clone (clones share the engine); `Send + Sync`.
///
/// ```
/// # fn main() -> Result<(), emdb_core::Error> {
/// # let dir = tempfile::tempdir()?;
/// use emdb_core::Emdb;
/// let path = dir.path().join("app.emdb");
/// let db = Emdb::open(&path)?;
/// db.insert("user:1", "alice")?;
/// db.transaction(|tx| {
///     tx.insert("user:2", "bob")?;
///     tx.insert("count", "2")
/// })?;
/// db.flush()?; // durable from here on
/// drop(db);
///
/// let db = Emdb::open(&path)?;
/// assert_eq!(db.get("user:2")?, Some(b"bob".to_vec()));
/// assert_eq!(db.len()?, 3);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Emdb {
    scope: Scope,
}

impl std::fmt::Debug for Emdb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emdb").field("path", &self.path()).finish()
    }
}

impl Emdb {
    pub(crate) fn from_inner(inner: Arc<Inner>) -> Result<Emdb> {
        let db = Emdb {
            scope: Scope { inner, ns: 0 },
        };
        #[cfg(feature = "ttl")]
        db.scope.inner.sweep_expired(0)?;
        Ok(db)
    }

    #[cfg(feature = "nested")]
    pub(crate) fn inner(&self) -> &Inner {
        &self.scope.inner
    }

    #[cfg(feature = "nested")]
    pub(crate) fn range_scans_enabled(&self) -> bool {
        self.scope.inner.range_scans()
    }

    /// Opens or creates the database at `path` with the default options.
    ///
    /// # Errors
    ///
    /// See [`EmdbBuilder::build`].
    pub fn open(path: impl AsRef<Path>) -> Result<Emdb> {
        EmdbBuilder::new().path(path.as_ref()).build()
    }

    /// A disposable database in a fresh private temporary directory, removed when the
    /// last handle is dropped. It lives on disk, not only in RAM.
    ///
    /// # Panics
    ///
    /// When no temporary directory is writable (as in emdb 1.0; use
    /// `Emdb::builder().build()` to get an error instead).
    #[must_use]
    #[allow(
        clippy::panic,
        reason = "emdb 1.0's contract: open_in_memory panics when the temp dir is unusable"
    )]
    pub fn open_in_memory() -> Emdb {
        match EmdbBuilder::new().build() {
            Ok(db) => db,
            Err(e) => panic!("emdb: cannot create an in-memory database: {e}"),
        }
    }

    /// A builder for the other options.
    #[must_use]
    pub fn builder() -> EmdbBuilder {
        EmdbBuilder::new()
    }

    /// Another handle on the same engine (the same as `clone`).
    #[must_use]
    pub fn clone_handle(&self) -> Emdb {
        self.clone()
    }

    /// The database file's path, as given or resolved.
    #[must_use]
    pub fn path(&self) -> &Path {
        self.scope.inner.path()
    }

    scope_methods!(kv, Emdb);

    /// Makes every write made so far, through any handle, durable. Concurrent calls share
    /// one device sync.
    ///
    /// # Errors
    ///
    /// `Io` when the sync fails; the database is then poisoned until reopened.
    pub fn flush(&self) -> Result<()> {
        self.scope.inner.flush()
    }

    /// Makes everything durable and saves the indexes beside the log (`<path>.index`), so
    /// that the next open loads them and scans only what is written after, instead of the
    /// whole log (emdb 1.0's checkpoint did not shorten reopening). Writers pause while
    /// the indexes are copied in memory, not while they are written. A checkpoint asked
    /// for while a compaction runs waits for it, then saves the indexes of the compacted
    /// log (`crates/emdb/tests/compaction_kill.rs::a_checkpoint_staged_before_a_compaction_swapped_the_log_leaves_it_openable`).
    ///
    /// # Errors
    ///
    /// `Io` when a write or sync fails. A checkpoint that fails leaves the previous one in
    /// force: the next open scans more of the log, nothing is lost.
    pub fn checkpoint(&self) -> Result<()> {
        self.scope.inner.flush()?;
        self.scope.inner.write_checkpoint()
    }

    /// Rewrites the log with only its live, unexpired records, through
    /// `<path>.compact.tmp`, then renames it over `<path>`. Readers never wait, and values,
    /// iterators and cursors taken before keep working; writers carry on during the copy
    /// and wait only for the final swap (emdb 1.0 blocked writers for the whole run). On
    /// failure the original is untouched.
    ///
    /// The new file ends where its log ends (no preallocated reserve until the next
    /// write), so with garbage to drop it is smaller on disk than before, and it keeps
    /// the permission bits of the files it replaces (tests `file_size` and `permissions`).
    /// A cleanly closed database file ends where its log ends as well.
    ///
    /// # Errors
    ///
    /// `Io` when a write, sync or rename fails, naming the cause:
    ///
    /// * before the new log is renamed over `<path>`: the database goes on with the old
    ///   one, as if no compaction had run;
    /// * after (the sidecar's rename or the directory's sync failed): the database is the
    ///   compacted log, which it reads from, but every later write is refused until it is
    ///   reopened, since the rename may not be durable; what was flushed before is kept
    ///   either way;
    /// * in the checkpoint that closes a successful compaction: the compacted log is in
    ///   place and the database fully usable; the next open scans it instead of loading a
    ///   checkpoint.
    ///
    /// (`crates/emdb-core/tests/compaction_failures.rs`.)
    pub fn compact(&self) -> Result<()> {
        self.scope.inner.compact()
    }

    /// Writes a compacted copy of the database, openable like any other, to `target` (and
    /// `<target>.meta`) through `<target>.backup.tmp`, replacing `target` atomically. The
    /// copy is the database as of the call; writers pause only while it is captured.
    ///
    /// # Errors
    ///
    /// `InvalidConfig` when `target` is the database itself, `Io`.
    pub fn backup_to(&self, target: impl AsRef<Path>) -> Result<()> {
        self.scope.inner.backup_to(target.as_ref())
    }

    /// A point-in-time snapshot of sizes and counts.
    ///
    /// # Errors
    ///
    /// `Io` when the file's size cannot be read.
    pub fn stats(&self) -> Result<EmdbStats> {
        self.scope.inner.stats()
    }

    scope_methods!(iteration, Emdb, EmdbIter, EmdbKeyIter, EmdbRangeIter);

    /// Opens (or creates) the namespace `name`; its binding is logged durably with the
    /// next flush, and its id survives reopen and compaction.
    ///
    /// # Errors
    ///
    /// `InvalidConfig` for the empty name (the default namespace is this handle).
    pub fn namespace(&self, name: impl AsRef<str>) -> Result<Namespace> {
        let name = name.as_ref();
        let id = self.scope.inner.namespace_id(name)?;
        Ok(Namespace::new(Arc::clone(&self.scope.inner), id, name.to_owned()))
    }

    /// Removes every key of `name` and unbinds it, in one crash-atomic frame; `false` if
    /// there is no such namespace. Creating it again gives a fresh, empty namespace.
    ///
    /// # Errors
    ///
    /// As [`Emdb::insert`].
    pub fn drop_namespace(&self, name: impl AsRef<str>) -> Result<bool> {
        self.scope.inner.drop_namespace(name.as_ref())
    }

    /// The namespaces: `""` (the default) first, then the named ones in creation order.
    ///
    /// # Errors
    ///
    /// Never in practice; kept for emdb 1.0's signature.
    pub fn list_namespaces(&self) -> Result<Vec<String>> {
        Ok(self.scope.inner.list_namespaces())
    }

    /// Runs `f` with a [`Transaction`]; its writes are applied as one crash-atomic,
    /// atomically visible batch when `f` returns `Ok`, and discarded when it returns
    /// `Err` (which is returned).
    ///
    /// # Errors
    ///
    /// `f`'s error, or the batch's.
    pub fn transaction<F, T>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut Transaction<'_>) -> Result<T>,
    {
        let mut tx = Transaction::new(&self.scope);
        let out = f(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Who holds the lock of the database at `path`, from its `<path>.lock-meta`.
    ///
    /// # Errors
    ///
    /// `Corrupted` for a malformed holder file, `LockfileError` when it cannot be read.
    pub fn lock_holder(path: impl AsRef<Path>) -> Result<Option<crate::LockHolder>> {
        Ok(emdb_journal::lock_holder(path)?)
    }

    /// Deletes `<path>.lock` and `<path>.lock-meta` (idempotent). Only after making sure
    /// the holder is dead.
    ///
    /// # Errors
    ///
    /// `LockfileError` when a file exists but cannot be removed.
    pub fn break_lock(path: impl AsRef<Path>) -> Result<()> {
        Ok(emdb_journal::break_lock(path)?)
    }
}

#[cfg(feature = "ttl")]
impl Emdb {
    scope_methods!(ttl, Emdb);
}
