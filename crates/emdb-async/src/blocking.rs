//! Running a sync call on tokio's blocking pool, and the errors of doing so.

use std::path::{Path, PathBuf};

use emdb_core::{Error, Result};
use tokio::runtime::Handle;
use tokio::task::JoinError;

/// The runtime the caller runs on; an error (not tokio's panic) when there is none.
pub(crate) fn runtime() -> Result<Handle> {
    Handle::try_current().map_err(|e| Error::Io(std::io::Error::other(format!("async runtime: {e}"))))
}

/// A failed join of a blocking task (it panicked, or the runtime shut down before it
/// ran), as API.md promises: `Io` of kind `Other`, "async join: ...".
pub(crate) fn join_error(e: &JoinError) -> Error {
    Error::Io(std::io::Error::other(format!("async join: {e}")))
}

/// Runs `f` on the blocking pool of the caller's runtime and waits for it.
///
/// Dropping the returned future does not stop `f`: once handed to the pool it runs to
/// completion, and its result is dropped.
pub(crate) async fn blocking<F, T>(f: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    let rt = runtime()?;
    rt.spawn_blocking(f).await.map_err(|e| join_error(&e))?
}

/// An owned copy of a key or value, taken by value so that the caller's argument is
/// dropped before the first await rather than kept in the future's state.
pub(crate) fn owned<K: AsRef<[u8]>>(bytes: K) -> Vec<u8> {
    bytes.as_ref().to_vec()
}

/// An owned copy of a path (taken by value for the same reason as [`owned`]).
pub(crate) fn owned_path<P: AsRef<Path>>(path: P) -> PathBuf {
    path.as_ref().to_path_buf()
}

/// An owned copy of a name.
pub(crate) fn owned_str<S: AsRef<str>>(name: S) -> String {
    name.as_ref().to_owned()
}
