//! Tokio wrappers over the emdb engine: [`AsyncEmdb`] and [`AsyncNamespace`], with
//! backpressured streams.
//!
//! The engine is synchronous: a write appends to the log with a positional write, a read
//! copies from a memory map (which may fault a page in from disk), `flush` waits for the
//! device. Calling it from a tokio worker would stall every task scheduled there, so each
//! async method copies its arguments into owned buffers and runs the sync call on tokio's
//! blocking pool (one `spawn_blocking` per call). The handles are cheap clones of an
//! `Arc` around the sync handle, which [`AsyncEmdb::sync_handle`] hands out for loops that
//! can afford to block.
//!
//! # Example
//!
//! ```
//! # fn main() -> Result<(), emdb_core::Error> {
//! # let dir = tempfile::tempdir()?;
//! # let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).build()?;
//! # rt.block_on(async {
//! use emdb_async::{AsyncEmdb, BuildAsync};
//! use tokio_stream::StreamExt;
//!
//! let db = AsyncEmdb::builder()
//!     .path(dir.path().join("app.emdb"))
//!     .enable_range_scans(true)
//!     .build_async()
//!     .await?;
//! db.insert("user:1", "alice").await?;
//! db.transaction(|tx| {
//!     tx.insert("user:2", "bob")?;
//!     tx.insert("users", "2")
//! })
//! .await?;
//! db.flush().await?;
//! assert_eq!(db.get("user:2").await?, Some(b"bob".to_vec()));
//!
//! // Records arrive as the consumer asks for them, a bounded number at a time.
//! let mut users = db.range_prefix_stream("user:").await?;
//! while let Some((key, _value)) = users.next().await {
//!     assert!(key.starts_with(b"user:"));
//! }
//! # Ok(()) })
//! # }
//! ```
//!
//! # What runs where
//!
//! Every method runs its sync twin on the blocking pool of the runtime it is called on,
//! except `len` and `is_empty`, which run inline: they sum the index's per-shard counts
//! under short read locks that are never held across I/O, and a trip to the pool costs
//! far more than the call. Everything else may touch the disk, or wait on a lock held
//! across I/O (`list_namespaces` waits while a namespace is being bound), so it goes to
//! the pool.
//!
//! That trip is the price of the async API: on the two-core virtual machine emdb is
//! developed on, where waking another thread costs tens of microseconds, it adds 22 to
//! 30 µs to a `get` (0.14 µs through the sync handle) or an `insert` (1.1 µs), while
//! `len` costs the same 0.16 µs inline as through the sync handle
//! (`benches/async_overhead.rs` measures all of these). For latency-critical loops on a
//! multi-thread runtime, take the sync handle and block in place, which moves the
//! worker's other tasks to another thread instead of handing the call over:
//! `tokio::task::block_in_place(|| db.sync_handle().get(key))` (0.15 µs per `get` there).
//!
//! Called outside a tokio runtime, a method returns an `Io` error of kind `Other` (it does
//! not panic). A blocking task that cannot be joined (the sync call panicked, or the
//! runtime shut down first) surfaces as `Error::Io` of kind `Other`, with a message
//! starting `async join:`.
//!
//! # Streams
//!
//! `iter_stream`, `keys_stream`, `range_stream`, `range_prefix_stream`, `iter_from_stream`
//! and `iter_after_stream` return a
//! [`ReceiverStream`](tokio_stream::wrappers::ReceiverStream):
//!
//! * the sync iterator (a snapshot for `iter`/`keys`, a range cursor for the others) is
//!   made on the blocking pool before the method returns, so its errors (such as
//!   `InvalidConfig` without range scans) come back as the method's `Err`;
//! * it is then read on the blocking pool in *trips*: a trip reads chunks (128 records,
//!   or fewer once they hold 1 MiB of keys and values) and hands each to a pump task,
//!   which sends it record by record into the stream's channel (depth 64); a trip never
//!   waits: when the pump has not taken its previous chunk yet (the consumer is behind),
//!   it ends, and the pump starts another once it has caught up;
//! * **backpressure**: a slow consumer holds the producer back: at most [`MAX_AHEAD`]
//!   (448: the channel and three chunks) records are read and not yet received, whatever
//!   the size of the namespace (a range cursor also keeps its own page of at most 512
//!   entries);
//! * **no blocking thread while idle**: trips never wait (a trip also ends after a couple
//!   of milliseconds, to share the pool), and the pump waits as an async task;
//! * **dropping the stream stops the producer**: the pump notices at its next send (at
//!   once if it is waiting for room), the trip at its next chunk; nothing more is read,
//!   and the iterator is dropped on the blocking pool;
//! * **runtime shutdown**: the pump dies with the runtime that made the stream; a
//!   consumer still holding the stream (on another runtime) receives what is already in
//!   the channel and then the end of the stream. Nothing hangs or panics, but the stream
//!   may end early, so consume a stream on the runtime that made it.
//!
//! A stream delivers records at about a third of the rate of the sync iterator run on
//! the consumer's own thread (0.25–0.38× in the benchmark above): the records are
//! allocated on one thread and freed on another, and the threads must wake each other.
//! A plain two-thread pipeline without tokio does no better here (0.35–0.45×). Use a
//! stream to bound memory and keep the runtime free, not for raw speed.
//!
//! Streams are `Send`. Order is the sync iterator's: ascending keys for range streams,
//! hash order for `iter_stream`/`keys_stream`. [`stream_iter`] does the same for any
//! sync iterator, such as [`Emdb::try_iter`](emdb_core::Emdb::try_iter).
//!
//! # Cancellation
//!
//! Dropping a future before it completes does **not** cancel the operation: once a call
//! has been handed to the blocking pool it runs to completion, and only its result is
//! lost. So after dropping a write's future the write may or may not have happened. A
//! transaction (like `insert_many`, `clear` and `drop_namespace`) is one crash-atomic,
//! atomically visible batch: after its future is dropped, either all of its writes are
//! visible or none is, never a part. Dropping a stream is the one cancellation that
//! stops work (see above).
//!
//! # `build_async`
//!
//! emdb 1.0 had an inherent `EmdbBuilder::build_async`. Here `EmdbBuilder` belongs to
//! `emdb-core`, which does not depend on tokio, so `build_async` comes with the
//! [`BuildAsync`] extension trait, implemented for `EmdbBuilder` only: import it
//! (`use emdb::BuildAsync;` through the facade) and the call reads as before,
//! `AsyncEmdb::builder().path(p).build_async().await`.
//!
//! # Closing
//!
//! Dropping the last handle on a database (async handles, namespaces and range streams
//! all count) flushes the log and may write a checkpoint, on the dropping thread. To keep
//! that work off a runtime worker, `flush().await` (or `checkpoint().await`) before
//! dropping the last handle, which leaves the drop little to do.
//!
//! # Features
//!
//! `ttl` (default): the TTL methods (`insert_with_ttl`, `expires_at`, `ttl`, `persist`,
//! `sweep_expired`), mirroring `emdb-core`'s `ttl`.
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod blocking;
mod builder;
mod db;
mod methods;
mod namespace;
mod stream;

pub use builder::BuildAsync;
pub use db::AsyncEmdb;
pub use namespace::AsyncNamespace;
pub use stream::{MAX_AHEAD, stream_iter};
