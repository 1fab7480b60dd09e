//! `AsyncEmdb`: the async handle on a database.

use std::ops::RangeBounds;
use std::path::Path;
use std::sync::Arc;
#[cfg(feature = "ttl")]
use std::time::Duration;

#[cfg(feature = "ttl")]
use crate::Ttl;
use crate::{Emdb, EmdbBuilder, EmdbStats, Result, Transaction, ValueRef};
use tokio_stream::wrappers::ReceiverStream;

use emdb_async::{key_weight, pair_weight};

use super::methods::shared_methods;
use super::namespace::AsyncNamespace;
use super::{blocking, open_stream, owned, owned_path, owned_str};

/// An async handle on an emdb database: the sync [`Emdb`] behind an `Arc`, each call run
/// on tokio's blocking pool. Cheap to clone; `Send + Sync`; `Debug` shows the path.
///
/// The engine is synchronous: a write appends to the log with a positional write, a read
/// copies from a memory map (which may fault a page in from disk), `flush` waits for the
/// device. Calling it from a tokio worker would stall every task scheduled there, so each
/// async method copies its arguments into owned buffers and runs the sync call on tokio's
/// blocking pool (one `spawn_blocking` per call, through `emdb-async`'s plumbing). The
/// handles are cheap clones of an `Arc` around the sync handle, which
/// [`AsyncEmdb::sync_handle`] hands out for loops that can afford to block.
///
/// # Example
///
/// ```
/// # fn main() -> Result<(), emdb_core::Error> {
/// # let dir = tempfile::tempdir()?;
/// # let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).build()?;
/// # rt.block_on(async {
/// use emdb_core::AsyncEmdb;
/// use tokio_stream::StreamExt;
///
/// let db = AsyncEmdb::builder()
///     .path(dir.path().join("app.emdb"))
///     .enable_range_scans(true)
///     .build_async()
///     .await?;
/// db.insert("user:1", "alice").await?;
/// db.transaction(|tx| {
///     tx.insert("user:2", "bob")?;
///     tx.insert("users", "2")
/// })
/// .await?;
/// db.flush().await?;
/// assert_eq!(db.get("user:2").await?, Some(b"bob".to_vec()));
///
/// // Records arrive as the consumer asks for them, a bounded number at a time.
/// let mut users = db.range_prefix_stream("user:").await?;
/// while let Some((key, _value)) = users.next().await {
///     assert!(key.starts_with(b"user:"));
/// }
/// # Ok(()) })
/// # }
/// ```
///
/// # What runs where
///
/// Every method runs its sync twin on the blocking pool of the runtime it is called on,
/// except `len` and `is_empty`, which run inline: they sum the index's per-shard counts
/// under short read locks that are never held across I/O, and a trip to the pool costs
/// far more than the call. Everything else may touch the disk, or wait on a lock held
/// across I/O (`list_namespaces` waits while a namespace is being bound), so it goes to
/// the pool.
///
/// That trip is the price of the async API: on the two-core virtual machine emdb is
/// developed on, where waking another thread costs tens of microseconds, it adds 22 to
/// 30 µs to a `get` (0.14 µs through the sync handle) or an `insert` (1.1 µs), while
/// `len` costs the same 0.16 µs inline as through the sync handle
/// (`crates/emdb-core/benches/async_overhead.rs` measures all of these). For
/// latency-critical loops on a multi-thread runtime, take the sync handle and block in
/// place, which moves the worker's other tasks to another thread instead of handing the
/// call over: `tokio::task::block_in_place(|| db.sync_handle().get(key))` (0.15 µs per
/// `get` there).
///
/// # Errors of the async path
///
/// Called outside a tokio runtime, a method returns `Error::Io` of kind `Other` whose
/// message starts `async runtime:` (it does not panic). A blocking task that cannot be
/// joined (the sync call panicked, or the runtime shut down first) surfaces as
/// `Error::Io` of kind `Other` whose message starts `async join:`, as in emdb 1.0. In both,
/// the tokio error is not flattened into the message: it is the `io::Error`'s `source()`
/// (tokio's `JoinError` for a join failure, which tells whether the call panicked).
///
/// # Streams
///
/// `iter_stream`, `keys_stream`, `range_stream`, `range_prefix_stream`, `iter_from_stream`
/// and `iter_after_stream` return a
/// [`ReceiverStream`](tokio_stream::wrappers::ReceiverStream) fed by `emdb-async`'s pump
/// (its crate docs give the mechanics):
///
/// * the sync iterator (a snapshot for `iter`/`keys`, a range cursor for the others) is
///   made on the blocking pool before the method returns, so its errors (such as
///   `InvalidConfig` without range scans) come back as the method's `Err`;
/// * **backpressure**: at most [`emdb_async::MAX_AHEAD`] (448) records are read and not
///   yet received, whatever the size of the namespace (a range cursor also keeps its own
///   page of at most 512 entries); chunks are bounded by 1 MiB of keys and values;
/// * **no blocking thread while idle**, and **dropping the stream stops the producer**
///   (the cursor is dropped on the blocking pool);
/// * **runtime shutdown**: the stream may end early; consume a stream on the runtime that
///   made it.
///
/// A stream delivers records at about a third of the rate of the sync iterator run on
/// the consumer's own thread (0.25–0.38× in the benchmark above). Streams are `Send`.
/// Order is the sync iterator's: ascending keys for range streams, hash order for
/// `iter_stream`/`keys_stream`. `emdb_async::stream_iter` does the same for any sync
/// iterator, such as [`Emdb::try_iter`](crate::Emdb::try_iter).
///
/// # Cancellation
///
/// Dropping a future before it completes does **not** cancel the operation: once a call
/// has been handed to the blocking pool it runs to completion, and only its result is
/// lost. So after dropping a write's future the write may or may not have happened. A
/// transaction (like `insert_many`, `clear` and `drop_namespace`) is one crash-atomic,
/// atomically visible batch: after its future is dropped, either all of its writes are
/// visible or none is, never a part. Dropping a stream is the one cancellation that
/// stops work (see above).
///
/// # `build_async`
///
/// As in emdb 1.0, [`EmdbBuilder::build_async`](crate::EmdbBuilder::build_async) is an
/// inherent method: `Emdb::builder().path(p).build_async().await` compiles with only
/// `Emdb` imported. The [`BuildAsync`](crate::BuildAsync) trait, which carried it before, is kept for code
/// that imports it.
///
/// # Closing
///
/// Dropping the last handle on a database (async handles, namespaces and range streams
/// all count) flushes the log and may write a checkpoint, on the dropping thread. To keep
/// that work off a runtime worker, `flush().await` (or `checkpoint().await`) before
/// dropping the last handle, which leaves the drop little to do.
#[derive(Clone)]
pub struct AsyncEmdb {
    inner: Arc<Emdb>,
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

    /// A builder for the other options; open it with
    /// [`build_async`](EmdbBuilder::build_async) (or `build`, for a sync handle).
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
    /// As [`Emdb::compact`], whose errors say what a failure at each step leaves.
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
    pub async fn namespace<N: AsRef<str>>(&self, name: N) -> Result<AsyncNamespace> {
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
    pub async fn drop_namespace<N: AsRef<str>>(&self, name: N) -> Result<bool> {
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

impl std::fmt::Debug for AsyncEmdb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncEmdb").field("path", &self.path()).finish()
    }
}
