//! Tokio wrappers over the engine (feature `async`): [`AsyncEmdb`] and [`AsyncNamespace`],
//! with backpressured streams, and the inherent `EmdbBuilder::build_async`.
//!
//! They live in this crate, not in `emdb-async`, because `EmdbBuilder::build_async` must
//! be an inherent method (as in emdb 1.0), and only the crate that owns `EmdbBuilder` can
//! give it one. `emdb-async` holds the engine-independent tokio plumbing they run on (the
//! blocking pool, the stream pump). The user guide is on [`AsyncEmdb`].

mod builder;
mod db;
mod methods;
mod namespace;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub use builder::BuildAsync;
pub use db::AsyncEmdb;
pub use namespace::AsyncNamespace;

/// An error of the async plumbing as emdb reports it: `Io` of kind `Other`, carrying the
/// plumbing's error (its message, `async join: ...` or `async runtime: ...`, and tokio's
/// error as the `source()`).
fn plumbing_error(e: emdb_async::Error) -> Error {
    Error::Io(std::io::Error::from(e))
}

/// Runs the engine call `f` on the blocking pool of the caller's runtime and waits for it.
///
/// Dropping the returned future does not stop `f`: once handed to the pool it runs to
/// completion, and its result is dropped.
async fn blocking<F, T>(f: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    emdb_async::run_blocking(f).await.map_err(plumbing_error)?
}

/// Makes an engine iterator with `make` on the blocking pool and streams it (see the
/// module docs); `make`'s error is returned before any stream exists.
async fn open_stream<F, I>(
    make: F,
    weigh: emdb_async::Weigh<I::Item>,
) -> Result<tokio_stream::wrappers::ReceiverStream<I::Item>>
where
    F: FnOnce() -> Result<I> + Send + 'static,
    I: Iterator + Send + 'static,
    I::Item: Send + 'static,
{
    emdb_async::open_stream(make, weigh).await.map_err(plumbing_error)?
}

/// An owned copy of a key or value, taken by value so that the caller's argument is
/// dropped before the first await rather than kept in the future's state.
fn owned<K: AsRef<[u8]>>(bytes: K) -> Vec<u8> {
    bytes.as_ref().to_vec()
}

/// An owned copy of a path (taken by value for the same reason as [`owned`]).
fn owned_path<P: AsRef<Path>>(path: P) -> PathBuf {
    path.as_ref().to_path_buf()
}

/// An owned copy of a name.
fn owned_str<S: AsRef<str>>(name: S) -> String {
    name.as_ref().to_owned()
}
