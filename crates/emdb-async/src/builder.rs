//! `build_async`: opening a database from an [`EmdbBuilder`] on the blocking pool.

use std::future::Future;

use emdb_core::{EmdbBuilder, Result};

use crate::blocking::blocking;
use crate::db::AsyncEmdb;

mod sealed {
    /// Keeps [`super::BuildAsync`] implemented for [`emdb_core::EmdbBuilder`] only.
    pub trait Sealed {}
    impl Sealed for emdb_core::EmdbBuilder {}
}

/// `EmdbBuilder::build_async`, as an extension trait.
///
/// `EmdbBuilder` lives in `emdb-core`, which does not depend on tokio, so the async build
/// cannot be one of its inherent methods; it comes with this trait, implemented for
/// `EmdbBuilder` only. Calls read as in emdb 1.0 once the trait is in scope:
/// `use emdb_async::BuildAsync;` (`use emdb::BuildAsync;` through the facade).
///
/// ```
/// # fn main() -> Result<(), emdb_core::Error> {
/// # let dir = tempfile::tempdir()?;
/// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// # rt.block_on(async {
/// use emdb_async::{AsyncEmdb, BuildAsync};
/// let db = AsyncEmdb::builder()
///     .path(dir.path().join("app.emdb"))
///     .enable_range_scans(true)
///     .build_async()
///     .await?;
/// db.insert("k", "v").await?;
/// # Ok(()) })
/// # }
/// ```
pub trait BuildAsync: sealed::Sealed {
    /// Opens (or creates) the database as [`EmdbBuilder::build`] does, on tokio's blocking
    /// pool, and wraps it in an [`AsyncEmdb`].
    ///
    /// # Errors
    ///
    /// Those of [`EmdbBuilder::build`], and `Io` (kind `Other`) when the blocking task
    /// cannot be joined or no tokio runtime is running.
    fn build_async(self) -> impl Future<Output = Result<AsyncEmdb>> + Send;
}

impl BuildAsync for EmdbBuilder {
    async fn build_async(self) -> Result<AsyncEmdb> {
        blocking(move || self.build()).await.map(AsyncEmdb::from_sync)
    }
}
