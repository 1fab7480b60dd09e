//! Transactions: staged writes applied as one crash-atomic batch.

use std::collections::BTreeMap;

use crate::engine::Scope;
use crate::engine::record::Record;
use crate::error::Result;
#[cfg(feature = "ttl")]
use crate::options::Ttl;

/// A staged write.
#[derive(Debug)]
enum Staged {
    Put { value: Vec<u8>, expires_at: u64 },
    Remove,
}

/// Writes staged inside [`crate::Emdb::transaction`], applied when its closure returns
/// `Ok`, discarded when it returns `Err`.
///
/// Stronger than emdb 1.0: the commit is one journal frame, so after a crash either every
/// staged write is there or none is, and readers see the commit all at once. Reads see the
/// transaction's own writes first, then the live database (no snapshot isolation: a
/// concurrent writer's commits are visible). The last staged write of a key wins.
#[derive(Debug)]
pub struct Transaction<'db> {
    scope: &'db Scope,
    staged: BTreeMap<Vec<u8>, Staged>,
}

impl<'db> Transaction<'db> {
    pub(crate) fn new(scope: &'db Scope) -> Self {
        Transaction {
            scope,
            staged: BTreeMap::new(),
        }
    }

    /// Stages an insert (with the builder's default TTL, if any).
    ///
    /// # Errors
    ///
    /// `TtlOverflow` when the default TTL does not fit.
    pub fn insert(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Result<()> {
        let expires_at = self.scope.default_expiry()?;
        self.stage_put(key.into(), value.into(), expires_at);
        Ok(())
    }

    /// Stages an insert that expires after `ttl`.
    ///
    /// # Errors
    ///
    /// `TtlOverflow` when the expiry does not fit.
    #[cfg(feature = "ttl")]
    pub fn insert_with_ttl(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>, ttl: Ttl) -> Result<()> {
        let expires_at = self.scope.expiry(ttl)?;
        self.stage_put(key.into(), value.into(), expires_at);
        Ok(())
    }

    /// Stages an insert expiring at `expires_at` (Unix ms, 0 = never).
    fn stage_put(&mut self, key: Vec<u8>, value: Vec<u8>, expires_at: u64) {
        self.staged.insert(key, Staged::Put { value, expires_at });
    }

    /// Stages a removal and returns the value the transaction saw for the key.
    ///
    /// # Errors
    ///
    /// The errors of a read.
    pub fn remove(&mut self, key: impl Into<Vec<u8>>) -> Result<Option<Vec<u8>>> {
        let key = key.into();
        let seen = self.get(&key)?;
        self.staged.insert(key, Staged::Remove);
        Ok(seen)
    }

    /// The key's value as this transaction sees it: its own staged write, else the live
    /// database.
    ///
    /// # Errors
    ///
    /// The errors of a read.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        let key = key.as_ref();
        match self.staged.get(key) {
            Some(Staged::Put { value, expires_at }) => {
                Ok((*expires_at == 0 || *expires_at > self.scope.inner.clock().now_ms()).then(|| value.clone()))
            }
            Some(Staged::Remove) => Ok(None),
            None => self.scope.get(key),
        }
    }

    /// Whether the key exists as this transaction sees it.
    ///
    /// # Errors
    ///
    /// The errors of a read.
    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool> {
        let key = key.as_ref();
        match self.staged.get(key) {
            Some(_) => Ok(self.get(key)?.is_some()),
            None => self.scope.contains_key(key),
        }
    }

    /// Applies the staged writes as one batch.
    pub(crate) fn commit(self) -> Result<()> {
        let ns = self.scope.ns;
        let ops: Vec<Record<'_>> = self
            .staged
            .iter()
            .map(|(key, staged)| match staged {
                Staged::Put { value, expires_at } => Record::Insert {
                    ns,
                    key,
                    value,
                    expires_at: *expires_at,
                },
                Staged::Remove => Record::Remove { ns, key },
            })
            .collect();
        self.scope.inner.apply_batch(&ops)
    }
}
