//! Tokio plumbing for synchronous storage engines: run a blocking call on tokio's blocking
//! pool, and turn any sync iterator into a backpressured stream.
//!
//! It knows nothing of any engine: it depends on tokio and tokio-stream only. The emdb
//! engine (`emdb-core`, feature `async`) builds its `AsyncEmdb` and `AsyncNamespace` on
//! it, and any project with a blocking API can do the same.
//!
//! * [`run_blocking`]: one call on the blocking pool of the caller's runtime. No runtime,
//!   a panic in the call, or a runtime that shut down before it ran come back as an
//!   [`Error`] (never as a panic of the caller), with tokio's error as the `source()`.
//!   Dropping the future does not cancel the call: once handed over it runs to completion.
//! * [`stream_iter`] and [`open_stream`]: a stream over a sync iterator, read on the
//!   blocking pool a chunk at a time, with backpressure.
//!
//! # Example
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).build()?;
//! # rt.block_on(async {
//! use tokio_stream::StreamExt;
//!
//! // A blocking call: file I/O, a lock held across I/O, a long computation.
//! let tmp = std::env::temp_dir();
//! let is_dir = emdb_async::run_blocking(move || std::fs::metadata(tmp).map(|m| m.is_dir())).await??;
//! assert!(is_dir);
//!
//! // A blocking iterator, consumed as a stream: at most `MAX_AHEAD` items read ahead.
//! let mut lines = emdb_async::stream_iter((0..10_000).map(|i| format!("line {i}")))?;
//! let mut n = 0;
//! while let Some(line) = lines.next().await {
//!     assert_eq!(line, format!("line {n}"));
//!     n += 1;
//! }
//! assert_eq!(n, 10_000);
//! # Ok::<(), Box<dyn std::error::Error>>(()) })?;
//! # Ok(()) }
//! ```
//!
//! # Streams
//!
//! A stream is a [`ReceiverStream`](tokio_stream::wrappers::ReceiverStream) fed by a pump:
//!
//! * the iterator is read on the blocking pool in *trips*: a trip reads chunks (128 items,
//!   or fewer once they weigh 1 MiB, by the [`Weigh`] function given to [`open_stream`])
//!   and hands each to a pump task, which sends it item by item into the stream's channel
//!   (depth 64); a trip never waits: when the pump has not taken its previous chunk yet
//!   (the consumer is behind), it ends, and the pump starts another once it has caught up;
//! * **backpressure**: a slow consumer holds the producer back: at most [`MAX_AHEAD`]
//!   (448: the channel and three chunks) items are read and not yet received, however
//!   long the iterator;
//! * **no blocking thread while idle**: trips never wait (a trip also ends after a couple
//!   of milliseconds, to share the pool), and the pump waits as an async task;
//! * **dropping the stream stops the producer**: the pump notices at its next send (at
//!   once if it is waiting for room), the trip at its next chunk; nothing more is read,
//!   and the iterator is dropped on the blocking pool (its drop may block, too);
//! * **runtime shutdown**: the pump dies with the runtime that made the stream; a
//!   consumer still holding the stream (on another runtime) receives what is already in
//!   the channel and then the end of the stream. Nothing hangs or panics, but the stream
//!   may end early, so consume a stream on the runtime that made it.
//!
//! Items keep the iterator's order. A stream delivers them at about a third of the rate of
//! the iterator run on the consumer's own thread: the items are made on one thread and
//! dropped on another, and the threads must wake each other (`benches/plumbing.rs`
//! measures it). Use a stream to bound memory and keep the runtime free, not for speed.
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod blocking;
mod error;
mod stream;

pub use blocking::run_blocking;
pub use error::{Error, Result};
pub use stream::{MAX_AHEAD, Weigh, key_weight, open_stream, pair_weight, stream_iter};
