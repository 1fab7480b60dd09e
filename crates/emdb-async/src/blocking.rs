//! Running a sync call on tokio's blocking pool.

use tokio::runtime::Handle;

use crate::error::{Error, Result};

/// The runtime the caller runs on; an error (not tokio's panic) when there is none.
pub(crate) fn runtime() -> Result<Handle> {
    Handle::try_current().map_err(Error::NoRuntime)
}

/// Runs `f` on the blocking pool of the caller's runtime and waits for its result.
///
/// Dropping the returned future does not stop `f`: once handed to the pool it runs to
/// completion, and its result is dropped. A panic in `f` is not propagated: it comes back
/// as [`Error::Join`], with the panic inside the [`JoinError`](tokio::task::JoinError).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// # rt.block_on(async {
/// let sum = emdb_async::run_blocking(|| (1..=10u32).sum::<u32>()).await?;
/// assert_eq!(sum, 55);
/// let failed = emdb_async::run_blocking(|| -> u32 { panic!("boom") }).await;
/// assert!(failed.is_err_and(|e| e.is_panic()));
/// # Ok::<(), emdb_async::Error>(()) })?;
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// [`Error::NoRuntime`] when no tokio runtime is running; [`Error::Join`] when `f`
/// panicked or the runtime shut down before `f` ran.
pub async fn run_blocking<F, T>(f: F) -> Result<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let rt = runtime()?;
    rt.spawn_blocking(f).await.map_err(Error::Join)
}
