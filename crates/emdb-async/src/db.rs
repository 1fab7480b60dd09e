//! `AsyncEmdb`: the async handle on a database.

use std::ops::RangeBounds;
use std::path::Path;
use std::sync::Arc;
#[cfg(feature = "ttl")]
use std::time::Duration;

#[cfg(feature = "ttl")]
use emdb_core::Ttl;
use emdb_core::{Emdb, EmdbBuilder, EmdbStats, Result, Transaction, ValueRef};
use tokio_stream::wrappers::ReceiverStream;

use crate::blocking::{blocking, owned, owned_path, owned_str};
use crate::methods::shared_methods;
use crate::namespace::AsyncNamespace;
use crate::stream::{key_weight, open_stream, pair_weight};

/// An async handle on an emdb database: the sync [`Emdb`] behind an `Arc`, each call run
/// on tokio's blocking pool. Cheap to clone; `Send + Sync`; `Debug` shows the path.
///
/// See [the crate docs](crate) for streams, cancellation and what runs inline.
#[derive(Clone)]
pub struct AsyncEmdb {
    inner: Arc<Emdb>,
}

impl std::fmt::Debug for AsyncEmdb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncEmdb").field("path", &self.path()).finish()
    }
}

impl AsyncEmdb {
    /// Opens or creates the database at `path` with the default options, on the blocking
    /// pool.
    ///
    /// # Errors
    ///
    /// Those of [`EmdbBuilder::build`], and `Io` (kind `Other`) when the blocking task
    /// cannot be joined or no tokio runtime is running.
    pub async fn open(path: impl AsRef<Path>) -> Result<AsyncEmdb> {
        let path = owned_path(path);
        blocking(move || Emdb::open(path)).await.map(AsyncEmdb::from_sync)
    }

    /// A disposable database in a fresh private temporary directory, removed when the last
    /// handle is dropped (see [`Emdb::open_in_memory`]). Synchronous, as in emdb 1.0: it
    /// only creates an empty directory and file.
    ///
    /// # Panics
    ///
    /// When no temporary directory is writable, as [`Emdb::open_in_memory`] does; use
    /// `AsyncEmdb::builder().build_async()` to get an error instead.
    #[must_use]
    pub fn open_in_memory() -> AsyncEmdb {
        AsyncEmdb::from_sync(Emdb::open_in_memory())
    }

    /// A builder for the other options. Open it with
    /// [`build_async`](crate::BuildAsync::build_async), which needs
    /// `use emdb_async::BuildAsync;` (`use emdb::BuildAsync;` through the facade).
    #[must_use]
    pub fn builder() -> EmdbBuilder {
        EmdbBuilder::new()
    }

    /// Wraps a sync handle (no I/O).
    #[must_use]
    pub fn from_sync(emdb: Emdb) -> AsyncEmdb {
        AsyncEmdb { inner: Arc::new(emdb) }
    }

    /// The sync handle this wraps, for latency-critical loops that can afford to block
    /// (on a thread of their own, or inside `spawn_blocking`).
    #[must_use]
    pub fn sync_handle(&self) -> Arc<Emdb> {
        Arc::clone(&self.inner)
    }

    /// The database file's path, as given or resolved.
    #[must_use]
    pub fn path(&self) -> &Path {
        self.inner.path()
    }

    shared_methods!(Emdb, "the default namespace");

    /// Tombstones the expired records of the default namespace; returns how many.
    /// Unlike the sync `sweep_expired`, an error is reported, not counted as zero.
    ///
    /// # Errors
    ///
    /// As [`AsyncEmdb::insert`].
    #[cfg(feature = "ttl")]
    pub async fn sweep_expired(&self) -> Result<usize> {
        let db = Arc::clone(&self.inner);
        blocking(move || db.try_sweep_expired()).await
    }

    /// Makes every write made so far, through any handle, durable.
    ///
    /// # Errors
    ///
    /// As [`AsyncEmdb::insert`]; a failed sync poisons the database until reopened.
    pub async fn flush(&self) -> Result<()> {
        let db = Arc::clone(&self.inner);
        blocking(move || db.flush()).await
    }

    /// Makes everything durable and saves the indexes beside the log, so the next open is
    /// short (see [`Emdb::checkpoint`]).
    ///
    /// # Errors
    ///
    /// As [`AsyncEmdb::insert`].
    pub async fn checkpoint(&self) -> Result<()> {
        let db = Arc::clone(&self.inner);
        blocking(move || db.checkpoint()).await
    }

    /// Rewrites the log with only its live records (see [`Emdb::compact`]). Dropping the
    /// future does not stop the compaction.
    ///
    /// # Errors
    ///
    /// As [`AsyncEmdb::insert`]; on failure the original is untouched.
    pub async fn compact(&self) -> Result<()> {
        let db = Arc::clone(&self.inner);
        blocking(move || db.compact()).await
    }

    /// Writes a compacted, openable copy of the database to `target` (see
    /// [`Emdb::backup_to`]).
    ///
    /// # Errors
    ///
    /// `InvalidConfig` when `target` is the database itself; as [`AsyncEmdb::insert`].
    pub async fn backup_to(&self, target: impl AsRef<Path>) -> Result<()> {
        let (db, target) = (Arc::clone(&self.inner), owned_path(target));
        blocking(move || db.backup_to(target)).await
    }

    /// A point-in-time snapshot of sizes and counts.
    ///
    /// # Errors
    ///
    /// As [`AsyncEmdb::insert`].
    pub async fn stats(&self) -> Result<EmdbStats> {
        let db = Arc::clone(&self.inner);
        blocking(move || db.stats()).await
    }

    /// Opens (or creates) the namespace `name`.
    ///
    /// # Errors
    ///
    /// `InvalidConfig` for the empty name; as [`AsyncEmdb::insert`].
    pub async fn namespace(&self, name: impl AsRef<str>) -> Result<AsyncNamespace> {
        let (db, name) = (Arc::clone(&self.inner), owned_str(name));
        blocking(move || db.namespace(name))
            .await
            .map(AsyncNamespace::from_sync)
    }

    /// Removes every key of `name` and unbinds it, in one crash-atomic frame; `false` if
    /// there is no such namespace.
    ///
    /// # Errors
    ///
    /// As [`AsyncEmdb::insert`].
    pub async fn drop_namespace(&self, name: impl AsRef<str>) -> Result<bool> {
        let (db, name) = (Arc::clone(&self.inner), owned_str(name));
        blocking(move || db.drop_namespace(name)).await
    }

    /// The namespaces: `""` (the default) first, then the named ones in creation order.
    ///
    /// # Errors
    ///
    /// As [`AsyncEmdb::insert`].
    pub async fn list_namespaces(&self) -> Result<Vec<String>> {
        let db = Arc::clone(&self.inner);
        blocking(move || db.list_namespaces()).await
    }

    /// Runs `f` with a [`Transaction`] on the blocking pool; its writes are applied as one
    /// crash-atomic, atomically visible batch when `f` returns `Ok`, and discarded when it
    /// returns `Err` (see [`Emdb::transaction`]).
    ///
    /// Dropping the future does not cancel the transaction: once `f` has been handed to
    /// the pool it runs, and its writes are applied whole or not at all, exactly as if
    /// the future had been awaited; only the result is lost.
    ///
    /// # Errors
    ///
    /// `f`'s error, the batch's, or those of [`AsyncEmdb::insert`].
    pub async fn transaction<F, T>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut Transaction<'_>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let db = Arc::clone(&self.inner);
        blocking(move || db.transaction(f)).await
    }
}
