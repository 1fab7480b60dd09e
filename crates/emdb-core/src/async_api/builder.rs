//! `build_async`: opening a database from an [`EmdbBuilder`] on the blocking pool.

use std::future::Future;

use crate::{EmdbBuilder, Result};

use super::blocking;
use super::db::AsyncEmdb;

impl EmdbBuilder {
    /// Opens (or creates) the database as [`EmdbBuilder::build`] does, on tokio's blocking
    /// pool, and wraps it in an [`AsyncEmdb`]. An inherent method, as in emdb 1.0: no
    /// import beyond the builder's type is needed.
    ///
    /// ```
    /// # fn main() -> Result<(), emdb_core::Error> {
    /// # let dir = tempfile::tempdir()?;
    /// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// # rt.block_on(async {
    /// use emdb_core::Emdb;
    /// let db = Emdb::builder()
    ///     .path(dir.path().join("app.emdb"))
    ///     .enable_range_scans(true)
    ///     .build_async()
    ///     .await?;
    /// db.insert("k", "v").await?;
    /// # Ok(()) })
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`EmdbBuilder::build`]; `Io` (kind `Other`) when no tokio runtime is
    /// running (message `async runtime: ...`) or the blocking task cannot be joined
    /// (message `async join: ...`, tokio's `JoinError` as the source).
    pub async fn build_async(self) -> Result<AsyncEmdb> {
        blocking(move || self.build()).await.map(AsyncEmdb::from_sync)
    }
}

mod sealed {
    /// Keeps [`super::BuildAsync`] implemented for [`crate::EmdbBuilder`] only.
    pub trait Sealed {}
    impl Sealed for crate::EmdbBuilder {}
}

/// `build_async` as a trait, for code written when it was not inherent.
///
/// [`EmdbBuilder::build_async`] is an inherent method (as in emdb 1.0), which method calls
/// find without any import; an earlier release of this crate offered it only through this
/// trait, so `use emdb::BuildAsync;` keeps compiling, and `BuildAsync::build_async(builder)`
/// keeps working: it calls the inherent method. Implemented for `EmdbBuilder` only.
///
/// ```
/// # fn main() -> Result<(), emdb_core::Error> {
/// # let dir = tempfile::tempdir()?;
/// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// # rt.block_on(async {
/// use emdb_core::{AsyncEmdb, BuildAsync};
/// let builder = AsyncEmdb::builder().path(dir.path().join("app.emdb"));
/// let db = BuildAsync::build_async(builder).await?;
/// db.insert("k", "v").await?;
/// # Ok(()) })
/// # }
/// ```
pub trait BuildAsync: sealed::Sealed {
    /// As [`EmdbBuilder::build_async`].
    ///
    /// # Errors
    ///
    /// As [`EmdbBuilder::build_async`].
    fn build_async(self) -> impl Future<Output = Result<AsyncEmdb>> + Send;
}

impl BuildAsync for EmdbBuilder {
    fn build_async(self) -> impl Future<Output = Result<AsyncEmdb>> + Send {
        EmdbBuilder::build_async(self)
    }
}
