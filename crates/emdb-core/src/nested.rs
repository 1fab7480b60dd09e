//! Dotted-prefix groups (`nested` feature): keys like `user.42.name` grouped by prefix,
//! and [`Focus`] handles that write under a prefix.
//!
//! With range scans enabled, groups are read from the range index (only the group's keys
//! are touched); without, the namespace is scanned and filtered, as emdb 1.0 always did.

use crate::db::Emdb;
use crate::engine::record::Record;
use crate::error::{Error, Result};
#[cfg(feature = "ttl")]
use crate::options::Ttl;

/// `prefix` + `.`
fn group_prefix(prefix: &str) -> Vec<u8> {
    let mut p = prefix.as_bytes().to_vec();
    p.push(b'.');
    p
}

impl Emdb {
    /// Every pair of the default namespace whose key starts with `prefix` and a dot,
    /// full keys included; materialised.
    ///
    /// # Errors
    ///
    /// The errors of a read.
    pub fn group(&self, prefix: impl AsRef<str>) -> Result<std::vec::IntoIter<(Vec<u8>, Vec<u8>)>> {
        Ok(self.with_prefix(&group_prefix(prefix.as_ref()))?.into_iter())
    }

    /// Removes every key under `prefix.` as one crash-atomic batch; returns how many.
    ///
    /// # Errors
    ///
    /// `InvalidPath` for an empty prefix, and those of a write.
    pub fn delete_group(&self, prefix: impl AsRef<str>) -> Result<usize> {
        let prefix = prefix.as_ref();
        if prefix.is_empty() {
            return Err(Error::InvalidPath);
        }
        self.delete_with_prefix(&group_prefix(prefix))
    }

    /// A handle that reads and writes under `prefix` (no I/O until used).
    #[must_use]
    pub fn focus(&self, prefix: impl Into<String>) -> Focus<'_> {
        Focus {
            db: self,
            prefix: prefix.into(),
        }
    }

    /// The pairs whose key starts with `prefix`, through the range index when it is kept.
    fn with_prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        if self.range_scans_enabled() {
            return self.range_prefix(prefix);
        }
        Ok(self.iter()?.filter(|(k, _)| k.starts_with(prefix)).collect())
    }

    fn delete_with_prefix(&self, prefix: &[u8]) -> Result<usize> {
        let keys: Vec<Vec<u8>> = self.with_prefix(prefix)?.into_iter().map(|(k, _)| k).collect();
        let ops: Vec<Record<'_>> = keys.iter().map(|key| Record::Remove { ns: 0, key }).collect();
        self.inner().apply_batch(&ops)?;
        Ok(keys.len())
    }
}

/// Reads and writes keys under a dotted prefix: `focus("user").focus("42").set("name", ..)`
/// writes `user.42.name`.
pub struct Focus<'a> {
    db: &'a Emdb,
    prefix: String,
}

impl<'a> Focus<'a> {
    fn full(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    /// Writes `<prefix>.<key>` (the bare key if the prefix is empty).
    ///
    /// # Errors
    ///
    /// The errors of [`Emdb::insert`].
    pub fn set(&self, key: &str, value: impl Into<Vec<u8>>) -> Result<()> {
        self.db.insert(self.full(key), value)
    }

    /// Writes `<prefix>.<key>` expiring after `ttl`.
    ///
    /// # Errors
    ///
    /// The errors of [`Emdb::insert_with_ttl`].
    #[cfg(feature = "ttl")]
    pub fn set_with_ttl(&self, key: &str, value: impl Into<Vec<u8>>, ttl: Ttl) -> Result<()> {
        self.db.insert_with_ttl(self.full(key), value, ttl)
    }

    /// Reads `<prefix>.<key>`.
    ///
    /// # Errors
    ///
    /// The errors of [`Emdb::get`].
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.db.get(self.full(key))
    }

    /// Removes `<prefix>.<key>`.
    ///
    /// # Errors
    ///
    /// The errors of [`Emdb::remove`].
    pub fn remove(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.db.remove(self.full(key))
    }

    /// Whether `<prefix>.<key>` exists.
    ///
    /// # Errors
    ///
    /// The errors of [`Emdb::contains_key`].
    pub fn contains_key(&self, key: &str) -> Result<bool> {
        self.db.contains_key(self.full(key))
    }

    /// A handle one level deeper: `<prefix>.<sub>`.
    #[must_use]
    pub fn focus(&self, sub: &str) -> Focus<'a> {
        Focus {
            db: self.db,
            prefix: self.full(sub),
        }
    }

    /// The pairs under the prefix (full keys); every pair if the prefix is empty.
    ///
    /// # Errors
    ///
    /// The errors of a read.
    pub fn iter(&self) -> Result<std::vec::IntoIter<(Vec<u8>, Vec<u8>)>> {
        if self.prefix.is_empty() {
            return Ok(self.db.iter()?.collect::<Vec<_>>().into_iter());
        }
        Ok(self.db.with_prefix(&group_prefix(&self.prefix))?.into_iter())
    }

    /// Removes every key under the prefix; returns how many.
    ///
    /// # Errors
    ///
    /// `InvalidPath` for an empty prefix, and those of a write.
    pub fn delete_all(&self) -> Result<usize> {
        self.db.delete_group(&self.prefix)
    }
}
