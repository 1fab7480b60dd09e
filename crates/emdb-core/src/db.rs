//! `Emdb`: the database handle.

use std::ops::RangeBounds;
use std::path::Path;
use std::sync::Arc;

use crate::builder::EmdbBuilder;
use crate::engine::Inner;
use crate::engine::Scope;
use crate::error::Result;
use crate::iter::{EmdbIter, EmdbKeyIter, EmdbRangeIter, TryIter};
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

    /// Inserts or replaces `key` (with the builder's default TTL, if any). Durable after
    /// the next [`Emdb::flush`], or at once under `FlushPolicy::WriteThrough`.
    ///
    /// # Errors
    ///
    /// `Io` when the write fails (then the database is poisoned) or the record is larger
    /// than a frame (`InvalidInput`); `TtlOverflow`.
    pub fn insert(&self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Result<()> {
        self.scope.insert(&key.into(), &value.into())
    }

    /// Inserts many pairs as one batch: one journal frame, so after a crash all of them
    /// are there or none is (stronger than emdb 1.0), and readers see them all at once.
    ///
    /// # Errors
    ///
    /// As [`Emdb::insert`]; nothing is written on error.
    pub fn insert_many<I, K, V>(&self, items: I) -> Result<()>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        self.scope.insert_many(items)
    }

    /// A copy of `key`'s value; `None` if absent or expired.
    ///
    /// # Errors
    ///
    /// `Corrupted` if the indexed record is damaged, `Io`.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.scope.get(key.as_ref())
    }

    /// `key`'s value without a copy, borrowed from the memory map.
    ///
    /// # Errors
    ///
    /// As [`Emdb::get`].
    pub fn get_zerocopy(&self, key: impl AsRef<[u8]>) -> Result<Option<ValueRef>> {
        self.scope.get_zerocopy(key.as_ref())
    }

    /// Removes `key` and returns its value, also when its TTL has passed and no sweep has
    /// removed it yet (as emdb 1.0.3; test `ttl_answers::an_expired_unswept_record_answers_as_in_v1`).
    /// Of two concurrent removes of one key, one gets the value.
    ///
    /// # Errors
    ///
    /// As [`Emdb::insert`].
    pub fn remove(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.scope.remove(key.as_ref())
    }

    /// Whether `key` is live (no value is copied).
    ///
    /// # Errors
    ///
    /// As [`Emdb::get`].
    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        self.scope.contains_key(key.as_ref())
    }

    /// Entries of the default namespace (expired ones not yet swept count, as in emdb 1.0).
    ///
    /// # Errors
    ///
    /// Never in practice; kept for emdb 1.0's signature.
    pub fn len(&self) -> Result<usize> {
        self.scope.len()
    }

    /// Whether the default namespace has no entries.
    ///
    /// # Errors
    ///
    /// As [`Emdb::len`].
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Removes every key of the default namespace, durably: one record, one frame.
    ///
    /// # Errors
    ///
    /// As [`Emdb::insert`].
    pub fn clear(&self) -> Result<()> {
        self.scope.clear()
    }

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
    /// the indexes are copied in memory, not while they are written.
    ///
    /// # Errors
    ///
    /// `Io` when a write or sync fails.
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
    /// `Io` when a write, sync or rename fails.
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

    /// Key-value pairs of the default namespace, as of this call (see [`EmdbIter`]).
    ///
    /// # Errors
    ///
    /// `Io` when the log cannot be mapped.
    pub fn iter(&self) -> Result<EmdbIter> {
        Ok(EmdbIter::new(self.scope.snapshot()?))
    }

    /// Like [`Emdb::iter`], reporting a record that fails to decode as an `Err` item.
    ///
    /// # Errors
    ///
    /// As [`Emdb::iter`].
    pub fn try_iter(&self) -> Result<TryIter> {
        Ok(TryIter::new(self.scope.snapshot()?))
    }

    /// Keys of the default namespace, as of this call.
    ///
    /// # Errors
    ///
    /// As [`Emdb::iter`].
    pub fn keys(&self) -> Result<EmdbKeyIter> {
        Ok(EmdbKeyIter::new(self.scope.snapshot()?))
    }

    /// Every pair with a key in `range`, ascending. Needs `enable_range_scans(true)`.
    ///
    /// # Errors
    ///
    /// `InvalidConfig` without range scans.
    pub fn range<R: RangeBounds<Vec<u8>>>(&self, range: R) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.scope.range_cursor(&range)?.collect_all()
    }

    /// A cursor over the keys in `range`, ascending (see [`EmdbRangeIter`]).
    ///
    /// # Errors
    ///
    /// `InvalidConfig` without range scans.
    pub fn range_iter<R: RangeBounds<Vec<u8>>>(&self, range: R) -> Result<EmdbRangeIter> {
        Ok(EmdbRangeIter::new(self.scope.range_cursor(&range)?))
    }

    /// Every pair whose key starts with `prefix`, ascending.
    ///
    /// # Errors
    ///
    /// `InvalidConfig` without range scans.
    pub fn range_prefix(&self, prefix: impl AsRef<[u8]>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.scope.prefix_cursor(prefix.as_ref())?.collect_all()
    }

    /// A cursor over the keys starting with `prefix`.
    ///
    /// # Errors
    ///
    /// `InvalidConfig` without range scans.
    pub fn range_prefix_iter(&self, prefix: impl AsRef<[u8]>) -> Result<EmdbRangeIter> {
        Ok(EmdbRangeIter::new(self.scope.prefix_cursor(prefix.as_ref())?))
    }

    /// A cursor from `start` (included) on: pagination.
    ///
    /// # Errors
    ///
    /// `InvalidConfig` without range scans.
    pub fn iter_from(&self, start: impl AsRef<[u8]>) -> Result<EmdbRangeIter> {
        self.range_iter(start.as_ref().to_vec()..)
    }

    /// A cursor from just after `start`: the next page after the last key seen.
    ///
    /// # Errors
    ///
    /// `InvalidConfig` without range scans.
    pub fn iter_after(&self, start: impl AsRef<[u8]>) -> Result<EmdbRangeIter> {
        use std::ops::Bound;
        self.range_iter((Bound::Excluded(start.as_ref().to_vec()), Bound::Unbounded))
    }

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
    /// Inserts `key` expiring after `ttl`.
    ///
    /// # Errors
    ///
    /// `TtlOverflow` when the expiry does not fit, and those of [`Emdb::insert`].
    pub fn insert_with_ttl(&self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>, ttl: Ttl) -> Result<()> {
        self.scope.insert_with_ttl(&key.into(), &value.into(), ttl)
    }

    /// When `key` expires (Unix ms): `Some(0)` for a key without expiry, `None` if absent.
    /// A record whose TTL has passed but that no sweep has removed yet reports its (past)
    /// expiry, as emdb 1.0.3 does (test `ttl_answers::an_expired_unswept_record_answers_as_in_v1`).
    ///
    /// # Errors
    ///
    /// As [`Emdb::get`].
    pub fn expires_at(&self, key: impl AsRef<[u8]>) -> Result<Option<u64>> {
        self.scope.expires_at(key.as_ref())
    }

    /// Time left for `key`; `None` if absent, without expiry, or expired.
    ///
    /// # Errors
    ///
    /// As [`Emdb::get`].
    pub fn ttl(&self, key: impl AsRef<[u8]>) -> Result<Option<std::time::Duration>> {
        self.scope.ttl(key.as_ref())
    }

    /// Removes `key`'s expiry (rewrites the record) and returns `true`; `false`, writing
    /// nothing, if it is absent, expired (never brought back) or has no expiry, as emdb
    /// 1.0.3 (tests `ttl_answers::persist_without_expiry_writes_nothing` and
    /// `ttl_answers::an_expired_unswept_record_answers_as_in_v1`).
    ///
    /// # Errors
    ///
    /// As [`Emdb::insert`].
    pub fn persist(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        self.scope.persist(key.as_ref())
    }

    /// Tombstones the expired records of the default namespace (a concurrent re-insert
    /// survives); returns how many. Errors stop the sweep and count as zero more, as in
    /// emdb 1.0; [`Emdb::try_sweep_expired`] reports them.
    #[must_use]
    pub fn sweep_expired(&self) -> usize {
        self.scope.sweep_expired()
    }

    /// [`Emdb::sweep_expired`] that reports its errors.
    ///
    /// # Errors
    ///
    /// As [`Emdb::insert`].
    pub fn try_sweep_expired(&self) -> Result<usize> {
        self.scope.try_sweep_expired()
    }
}
