//! The operations `Emdb` and `Namespace` share, on one namespace id.

use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use super::Inner;
use super::record::Record;
use crate::error::Result;
use crate::iter::{Cursor, owned_bounds, prefix_bounds};
use crate::options::Ttl;
use crate::value::ValueRef;

/// One namespace of one engine.
#[derive(Clone, Debug)]
pub(crate) struct Scope {
    pub(crate) inner: Arc<Inner>,
    pub(crate) ns: u32,
}

impl Scope {
    /// The expiry a plain insert gets: the builder's default TTL, or never.
    pub(crate) fn default_expiry(&self) -> Result<u64> {
        self.expiry(Ttl::Default)
    }

    #[cfg_attr(not(feature = "ttl"), allow(clippy::unnecessary_wraps))]
    pub(crate) fn expiry(&self, ttl: Ttl) -> Result<u64> {
        #[cfg(feature = "ttl")]
        {
            crate::options::expiry(ttl, self.inner.default_ttl, self.inner.clock().now_ms())
                .ok_or(crate::error::Error::TtlOverflow)
        }
        #[cfg(not(feature = "ttl"))]
        {
            let _ = ttl;
            Ok(0)
        }
    }

    pub(crate) fn insert(&self, key: &[u8], value: &[u8]) -> Result<()> {
        let expires_at = self.default_expiry()?;
        self.inner.put(self.ns, key, value, expires_at)
    }

    #[cfg(feature = "ttl")]
    pub(crate) fn insert_with_ttl(&self, key: &[u8], value: &[u8], ttl: Ttl) -> Result<()> {
        let expires_at = self.expiry(ttl)?;
        self.inner.put(self.ns, key, value, expires_at)
    }

    pub(crate) fn insert_many<I, K, V>(&self, items: I) -> Result<()>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let expires_at = self.default_expiry()?;
        let items: Vec<(K, V)> = items.into_iter().collect();
        let ops: Vec<Record<'_>> = items
            .iter()
            .map(|(k, v)| Record::Insert {
                ns: self.ns,
                key: k.as_ref(),
                value: v.as_ref(),
                expires_at,
            })
            .collect();
        self.inner.apply_batch(&ops)
    }

    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.get(self.ns, key)
    }

    pub(crate) fn get_zerocopy(&self, key: &[u8]) -> Result<Option<ValueRef>> {
        self.inner.get_value(self.ns, key)
    }

    pub(crate) fn remove(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.remove(self.ns, key)
    }

    pub(crate) fn contains_key(&self, key: &[u8]) -> Result<bool> {
        self.inner.contains(self.ns, key)
    }

    pub(crate) fn len(&self) -> Result<usize> {
        self.inner.len(self.ns)
    }

    pub(crate) fn clear(&self) -> Result<()> {
        self.inner.apply_batch(&[Record::Clear { ns: self.ns }])
    }

    pub(crate) fn snapshot(&self) -> Result<super::Listing> {
        self.inner.snapshot(self.ns)
    }

    pub(crate) fn cursor(&self, lower: Bound<Vec<u8>>, upper: Bound<Vec<u8>>) -> Result<Cursor> {
        Cursor::new(Arc::clone(&self.inner), self.ns, lower, upper)
    }

    pub(crate) fn range_cursor<R: RangeBounds<Vec<u8>>>(&self, range: &R) -> Result<Cursor> {
        let (lower, upper) = owned_bounds(range);
        self.cursor(lower, upper)
    }

    pub(crate) fn prefix_cursor(&self, prefix: &[u8]) -> Result<Cursor> {
        let (lower, upper) = prefix_bounds(prefix);
        self.cursor(lower, upper)
    }

    #[cfg(feature = "ttl")]
    pub(crate) fn expires_at(&self, key: &[u8]) -> Result<Option<u64>> {
        self.inner.expires_at(self.ns, key)
    }

    #[cfg(feature = "ttl")]
    pub(crate) fn ttl(&self, key: &[u8]) -> Result<Option<std::time::Duration>> {
        let now = self.inner.clock().now_ms();
        Ok(match self.expires_at(key)? {
            Some(at) if at > now => Some(std::time::Duration::from_millis(at - now)),
            _ => None,
        })
    }

    #[cfg(feature = "ttl")]
    pub(crate) fn persist(&self, key: &[u8]) -> Result<bool> {
        self.inner.persist(self.ns, key)
    }

    #[cfg(feature = "ttl")]
    pub(crate) fn sweep_expired(&self) -> usize {
        self.try_sweep_expired().unwrap_or(0)
    }

    #[cfg(feature = "ttl")]
    pub(crate) fn try_sweep_expired(&self) -> Result<usize> {
        self.inner.sweep_expired(self.ns)
    }
}
