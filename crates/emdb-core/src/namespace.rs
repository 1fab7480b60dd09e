//! `Namespace`: a handle scoped to one named namespace.

use std::ops::RangeBounds;
use std::sync::Arc;

use crate::engine::Inner;
use crate::engine::Scope;
use crate::error::Result;
use crate::iter::{NamespaceIter, NamespaceKeyIter, NamespaceRangeIter, TryIter};
#[cfg(feature = "ttl")]
use crate::options::Ttl;
use crate::value::ValueRef;

/// A handle on one named namespace: the same key-value API as [`crate::Emdb`], scoped.
/// Cheap to clone. File-wide operations (flush, checkpoint, compaction, statistics,
/// transactions) live on `Emdb`. A handle whose namespace was dropped fails with
/// `InvalidConfig`.
#[derive(Clone, Debug)]
pub struct Namespace {
    scope: Scope,
    name: String,
}

impl Namespace {
    pub(crate) fn new(inner: Arc<Inner>, ns: u32, name: String) -> Namespace {
        Namespace {
            scope: Scope { inner, ns },
            name,
        }
    }

    /// The namespace's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// See [`crate::Emdb::insert`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn insert(&self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Result<()> {
        self.scope.insert(&key.into(), &value.into())
    }

    /// See [`crate::Emdb::insert_many`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn insert_many<I, K, V>(&self, items: I) -> Result<()>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        self.scope.insert_many(items)
    }

    /// See [`crate::Emdb::get`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.scope.get(key.as_ref())
    }

    /// See [`crate::Emdb::get_zerocopy`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn get_zerocopy(&self, key: impl AsRef<[u8]>) -> Result<Option<ValueRef>> {
        self.scope.get_zerocopy(key.as_ref())
    }

    /// See [`crate::Emdb::remove`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn remove(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.scope.remove(key.as_ref())
    }

    /// See [`crate::Emdb::contains_key`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        self.scope.contains_key(key.as_ref())
    }

    /// See [`crate::Emdb::len`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn len(&self) -> Result<usize> {
        self.scope.len()
    }

    /// See [`crate::Emdb::is_empty`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// See [`crate::Emdb::clear`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn clear(&self) -> Result<()> {
        self.scope.clear()
    }

    /// See [`crate::Emdb::iter`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn iter(&self) -> Result<NamespaceIter> {
        Ok(NamespaceIter::new(self.scope.snapshot()?))
    }

    /// See [`crate::Emdb::try_iter`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn try_iter(&self) -> Result<TryIter> {
        Ok(TryIter::new(self.scope.snapshot()?))
    }

    /// See [`crate::Emdb::keys`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn keys(&self) -> Result<NamespaceKeyIter> {
        Ok(NamespaceKeyIter::new(self.scope.snapshot()?))
    }

    /// See [`crate::Emdb::range`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn range<R: RangeBounds<Vec<u8>>>(&self, range: R) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.scope.range_cursor(&range)?.collect_all()
    }

    /// See [`crate::Emdb::range_iter`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn range_iter<R: RangeBounds<Vec<u8>>>(&self, range: R) -> Result<NamespaceRangeIter> {
        Ok(NamespaceRangeIter::new(self.scope.range_cursor(&range)?))
    }

    /// See [`crate::Emdb::range_prefix`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn range_prefix(&self, prefix: impl AsRef<[u8]>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.scope.prefix_cursor(prefix.as_ref())?.collect_all()
    }

    /// See [`crate::Emdb::range_prefix_iter`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn range_prefix_iter(&self, prefix: impl AsRef<[u8]>) -> Result<NamespaceRangeIter> {
        Ok(NamespaceRangeIter::new(self.scope.prefix_cursor(prefix.as_ref())?))
    }

    /// See [`crate::Emdb::iter_from`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn iter_from(&self, start: impl AsRef<[u8]>) -> Result<NamespaceRangeIter> {
        self.range_iter(start.as_ref().to_vec()..)
    }

    /// See [`crate::Emdb::iter_after`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn iter_after(&self, start: impl AsRef<[u8]>) -> Result<NamespaceRangeIter> {
        use std::ops::Bound;
        self.range_iter((Bound::Excluded(start.as_ref().to_vec()), Bound::Unbounded))
    }
}

#[cfg(feature = "ttl")]
impl Namespace {
    /// See [`crate::Emdb::insert_with_ttl`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn insert_with_ttl(&self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>, ttl: Ttl) -> Result<()> {
        self.scope.insert_with_ttl(&key.into(), &value.into(), ttl)
    }

    /// See [`crate::Emdb::expires_at`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn expires_at(&self, key: impl AsRef<[u8]>) -> Result<Option<u64>> {
        self.scope.expires_at(key.as_ref())
    }

    /// See [`crate::Emdb::ttl`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn ttl(&self, key: impl AsRef<[u8]>) -> Result<Option<std::time::Duration>> {
        self.scope.ttl(key.as_ref())
    }

    /// See [`crate::Emdb::persist`].
    ///
    /// # Errors
    ///
    /// As there.
    pub fn persist(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        self.scope.persist(key.as_ref())
    }

    /// See [`crate::Emdb::sweep_expired`].
    #[must_use]
    pub fn sweep_expired(&self) -> usize {
        self.scope.sweep_expired()
    }

    /// [`Namespace::sweep_expired`] that reports its errors.
    ///
    /// # Errors
    ///
    /// As [`crate::Emdb::insert`].
    #[cfg(feature = "ttl")]
    pub fn try_sweep_expired(&self) -> Result<usize> {
        self.scope.try_sweep_expired()
    }
}
