//! `AsyncNamespace`: the async handle on one named namespace.

use std::ops::RangeBounds;
use std::sync::Arc;
#[cfg(feature = "ttl")]
use std::time::Duration;

#[cfg(feature = "ttl")]
use crate::Ttl;
use crate::{Namespace, Result, ValueRef};
use tokio_stream::wrappers::ReceiverStream;

use emdb_async::{key_weight, pair_weight};

use super::methods::shared_methods;
use super::{blocking, open_stream, owned};

/// An async handle on one named namespace: the sync [`Namespace`] behind an `Arc`, each
/// call run on tokio's blocking pool. Made by [`crate::AsyncEmdb::namespace`]; cheap to
/// clone; `Debug` shows the name. File-wide operations (flush, checkpoint, compaction,
/// statistics, transactions) live on [`crate::AsyncEmdb`].
#[derive(Clone)]
pub struct AsyncNamespace {
    inner: Arc<Namespace>,
}

impl AsyncNamespace {
    /// Wraps a sync namespace handle (no I/O).
    #[must_use]
    pub fn from_sync(ns: Namespace) -> AsyncNamespace {
        AsyncNamespace { inner: Arc::new(ns) }
    }

    /// The namespace's name.
    #[must_use]
    pub fn name(&self) -> &str {
        self.inner.name()
    }

    /// The sync handle this wraps (a cheap clone sharing the engine).
    #[must_use]
    pub fn sync_handle(&self) -> Namespace {
        Namespace::clone(&self.inner)
    }

    shared_methods!(Namespace, "this namespace");

    /// Tombstones the expired records of this namespace; returns how many. Unlike the sync
    /// `sweep_expired`, an error is reported, not counted as zero (it runs
    /// [`Namespace::try_sweep_expired`]).
    ///
    /// # Errors
    ///
    /// The errors of the sweep (a dropped namespace, I/O), and `Io` (kind `Other`) when
    /// the blocking task cannot be joined or no tokio runtime is running.
    #[cfg(feature = "ttl")]
    pub async fn sweep_expired(&self) -> Result<usize> {
        let ns = Arc::clone(&self.inner);
        blocking(move || ns.try_sweep_expired()).await
    }
}

impl std::fmt::Debug for AsyncNamespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncNamespace").field("name", &self.name()).finish()
    }
}
