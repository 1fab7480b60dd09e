//! The key-value, iteration and TTL methods `Emdb` and `Namespace` share. Both keep a
//! `Scope` (an engine and a namespace id) in `self.scope` and forward each call to it, so
//! one macro writes both sets: `Emdb` shows the full docs, written here once, and each
//! `Namespace` method points to its `Emdb` twin.

/// Writes one shared method with the docs its handle shows: on `Emdb` the docs in the
/// first brackets; on `Namespace` those after `namespace:`, or else a link to the `Emdb`
/// method of the same name.
macro_rules! method {
    (Emdb, [$(#[$doc:meta])*] namespace: [$(#[$ns_doc:meta])*] $($item:tt)*) => {
        $(#[$doc])*
        $($item)*
    };
    (Emdb, [$(#[$doc:meta])*] $($item:tt)*) => {
        $(#[$doc])*
        $($item)*
    };
    (Namespace, [$(#[$doc:meta])*] namespace: [$(#[$ns_doc:meta])*] $($item:tt)*) => {
        $(#[$ns_doc])*
        $($item)*
    };
    (Namespace, [$(#[$doc:meta])*] $(#[$attr:meta])* pub fn $name:ident $($rest:tt)*) => {
        #[doc = concat!("See [`crate::Emdb::", stringify!($name), "`].")]
        ///
        /// # Errors
        ///
        /// As there.
        $(#[$attr])*
        pub fn $name $($rest)*
    };
}

/// Writes a group of the shared methods into an `impl` block of `$handle` (`Emdb` or
/// `Namespace`, whose `self.scope` is a `Scope`): `kv` (insert to clear), `iteration`
/// (iterators and range cursors, of the handle's own types `$iter`, `$keys` and
/// `$cursor`) or `ttl` (for an `impl` block under feature `ttl`). `Emdb` puts its
/// file-wide methods between the groups, so its docs list them where they always stood.
macro_rules! scope_methods {
    (kv, $handle:ident) => {
        $crate::methods::method! { $handle, [
            /// Inserts or replaces `key` (with the builder's default TTL, if any). Durable after
            /// the next [`Emdb::flush`], or at once under `FlushPolicy::WriteThrough`.
            ///
            /// # Errors
            ///
            /// `Io` when the write fails (then the database is poisoned) or the record is larger
            /// than a frame (`InvalidInput`); `TtlOverflow`.
        ]
            pub fn insert(&self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Result<()> {
                self.scope.insert(&key.into(), &value.into())
            }
        }

        $crate::methods::method! { $handle, [
            /// Inserts many pairs as one batch: one journal frame, so after a crash all of them
            /// are there or none is (stronger than emdb 1.0), and readers see them all at once.
            ///
            /// # Errors
            ///
            /// As [`Emdb::insert`]; nothing is written on error.
        ]
            pub fn insert_many<I, K, V>(&self, items: I) -> Result<()>
            where
                I: IntoIterator<Item = (K, V)>,
                K: AsRef<[u8]>,
                V: AsRef<[u8]>,
            {
                self.scope.insert_many(items)
            }
        }

        $crate::methods::method! { $handle, [
            /// A copy of `key`'s value; `None` if absent or expired. The record is verified
            /// (its own CRC-32C, or its AEAD tag when encrypted) before any byte is
            /// returned: damage is an error, never a wrong value (docs/DURABILITY.md).
            ///
            /// # Errors
            ///
            /// `Corrupted` if the key's record is damaged (never its bytes, never `None`),
            /// `Io`.
        ]
            pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
                self.scope.get(key.as_ref())
            }
        }

        $crate::methods::method! { $handle, [
            /// `key`'s value without a copy, borrowed from the memory map; verified like
            /// [`Emdb::get`]'s, whatever its size.
            ///
            /// # Errors
            ///
            /// As [`Emdb::get`].
        ]
            pub fn get_zerocopy(&self, key: impl AsRef<[u8]>) -> Result<Option<ValueRef>> {
                self.scope.get_zerocopy(key.as_ref())
            }
        }

        $crate::methods::method! { $handle, [
            /// Removes `key` and returns its value, also when its TTL has passed and no sweep has
            /// removed it yet (as emdb 1.0.3; test `ttl_answers::an_expired_unswept_record_answers_as_in_v1`).
            /// Of two concurrent removes of one key, one gets the value.
            ///
            /// # Errors
            ///
            /// As [`Emdb::insert`].
        ]
            pub fn remove(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
                self.scope.remove(key.as_ref())
            }
        }

        $crate::methods::method! { $handle, [
            /// Whether `key` is live (no value is copied).
            ///
            /// # Errors
            ///
            /// As [`Emdb::get`].
        ]
            pub fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool> {
                self.scope.contains_key(key.as_ref())
            }
        }

        $crate::methods::method! { $handle, [
            /// Entries of the default namespace: every key the index holds, so expired ones
            /// not yet swept count (as in emdb 1.0), and so do keys whose record is
            /// damaged (which `get` reports as `Corrupted` and `iter` skips).
            ///
            /// # Errors
            ///
            /// Never in practice; kept for emdb 1.0's signature.
        ]
            pub fn len(&self) -> Result<usize> {
                self.scope.len()
            }
        }

        $crate::methods::method! { $handle, [
            /// Whether the default namespace has no entries.
            ///
            /// # Errors
            ///
            /// As [`Emdb::len`].
        ]
            pub fn is_empty(&self) -> Result<bool> {
                Ok(self.len()? == 0)
            }
        }

        $crate::methods::method! { $handle, [
            /// Removes every key of the default namespace, durably: one record, one frame.
            ///
            /// # Errors
            ///
            /// As [`Emdb::insert`].
        ]
            pub fn clear(&self) -> Result<()> {
                self.scope.clear()
            }
        }
    };
    (iteration, $handle:ident, $iter:ident, $keys:ident, $cursor:ident) => {
        $crate::methods::method! { $handle, [
            /// Key-value pairs of the default namespace, as of this call (see [`EmdbIter`]).
            /// Every record is verified before it is yielded; one that fails (damage) is
            /// skipped, as emdb 1.0's iterators skip what they cannot decode:
            /// [`Emdb::try_iter`] reports it instead.
            ///
            /// # Errors
            ///
            /// `Io` when the log cannot be mapped.
        ]
            pub fn iter(&self) -> Result<$iter> {
                Ok($iter::new(self.scope.snapshot()?))
            }
        }

        $crate::methods::method! { $handle, [
            /// Like [`Emdb::iter`], reporting a record that fails its verification or does
            /// not decode as an `Err(Corrupted)` item: exactly the keys for which `get`
            /// returns `Corrupted`.
            ///
            /// # Errors
            ///
            /// As [`Emdb::iter`].
        ]
            pub fn try_iter(&self) -> Result<TryIter> {
                Ok(TryIter::new(self.scope.snapshot()?))
            }
        }

        $crate::methods::method! { $handle, [
            /// Keys of the default namespace, as of this call.
            ///
            /// # Errors
            ///
            /// As [`Emdb::iter`].
        ]
            pub fn keys(&self) -> Result<$keys> {
                Ok($keys::new(self.scope.snapshot()?))
            }
        }

        $crate::methods::method! { $handle, [
            /// Every pair with a key in `range`, ascending. Needs `enable_range_scans(true)`.
            ///
            /// # Errors
            ///
            /// `InvalidConfig` without range scans.
        ]
            pub fn range<R: RangeBounds<Vec<u8>>>(&self, range: R) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
                self.scope.range_cursor(&range)?.collect_all()
            }
        }

        $crate::methods::method! { $handle, [
            /// A cursor over the keys in `range`, ascending (see [`EmdbRangeIter`]).
            ///
            /// # Errors
            ///
            /// `InvalidConfig` without range scans.
        ]
            pub fn range_iter<R: RangeBounds<Vec<u8>>>(&self, range: R) -> Result<$cursor> {
                Ok($cursor::new(self.scope.range_cursor(&range)?))
            }
        }

        $crate::methods::method! { $handle, [
            /// Every pair whose key starts with `prefix`, ascending.
            ///
            /// # Errors
            ///
            /// `InvalidConfig` without range scans.
        ]
            pub fn range_prefix(&self, prefix: impl AsRef<[u8]>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
                self.scope.prefix_cursor(prefix.as_ref())?.collect_all()
            }
        }

        $crate::methods::method! { $handle, [
            /// A cursor over the keys starting with `prefix`.
            ///
            /// # Errors
            ///
            /// `InvalidConfig` without range scans.
        ]
            pub fn range_prefix_iter(&self, prefix: impl AsRef<[u8]>) -> Result<$cursor> {
                Ok($cursor::new(self.scope.prefix_cursor(prefix.as_ref())?))
            }
        }

        $crate::methods::method! { $handle, [
            /// A cursor from `start` (included) on: pagination.
            ///
            /// # Errors
            ///
            /// `InvalidConfig` without range scans.
        ]
            pub fn iter_from(&self, start: impl AsRef<[u8]>) -> Result<$cursor> {
                self.range_iter(start.as_ref().to_vec()..)
            }
        }

        $crate::methods::method! { $handle, [
            /// A cursor from just after `start`: the next page after the last key seen.
            ///
            /// # Errors
            ///
            /// `InvalidConfig` without range scans.
        ]
            pub fn iter_after(&self, start: impl AsRef<[u8]>) -> Result<$cursor> {
                use std::ops::Bound;
                self.range_iter((Bound::Excluded(start.as_ref().to_vec()), Bound::Unbounded))
            }
        }
    };
    (ttl, $handle:ident) => {
        $crate::methods::method! { $handle, [
            /// Inserts `key` expiring after `ttl`.
            ///
            /// # Errors
            ///
            /// `TtlOverflow` when the expiry does not fit, and those of [`Emdb::insert`].
        ]
            pub fn insert_with_ttl(&self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>, ttl: Ttl) -> Result<()> {
                self.scope.insert_with_ttl(&key.into(), &value.into(), ttl)
            }
        }

        $crate::methods::method! { $handle, [
            /// When `key` expires (Unix ms): `Some(0)` for a key without expiry, `None` if absent.
            /// A record whose TTL has passed but that no sweep has removed yet reports its (past)
            /// expiry, as emdb 1.0.3 does (test `ttl_answers::an_expired_unswept_record_answers_as_in_v1`).
            ///
            /// # Errors
            ///
            /// As [`Emdb::get`].
        ]
            pub fn expires_at(&self, key: impl AsRef<[u8]>) -> Result<Option<u64>> {
                self.scope.expires_at(key.as_ref())
            }
        }

        $crate::methods::method! { $handle, [
            /// Time left for `key`; `None` if absent, without expiry, or expired.
            ///
            /// # Errors
            ///
            /// As [`Emdb::get`].
        ]
            pub fn ttl(&self, key: impl AsRef<[u8]>) -> Result<Option<std::time::Duration>> {
                self.scope.ttl(key.as_ref())
            }
        }

        $crate::methods::method! { $handle, [
            /// Removes `key`'s expiry (rewrites the record) and returns `true`; `false`, writing
            /// nothing, if it is absent, expired (never brought back) or has no expiry, as emdb
            /// 1.0.3 (tests `ttl_answers::persist_without_expiry_writes_nothing` and
            /// `ttl_answers::an_expired_unswept_record_answers_as_in_v1`).
            ///
            /// # Errors
            ///
            /// As [`Emdb::insert`].
        ]
            pub fn persist(&self, key: impl AsRef<[u8]>) -> Result<bool> {
                self.scope.persist(key.as_ref())
            }
        }

        $crate::methods::method! { $handle, [
            /// Tombstones the expired records of the default namespace (a concurrent re-insert
            /// survives); returns how many. Errors stop the sweep and count as zero more, as in
            /// emdb 1.0; [`Emdb::try_sweep_expired`] reports them.
        ] namespace: [
            /// See [`crate::Emdb::sweep_expired`].
        ]
            #[must_use]
            pub fn sweep_expired(&self) -> usize {
                self.scope.sweep_expired()
            }
        }

        $crate::methods::method! { $handle, [
            /// [`Emdb::sweep_expired`] that reports its errors.
            ///
            /// # Errors
            ///
            /// As [`Emdb::insert`].
        ] namespace: [
            /// [`Namespace::sweep_expired`] that reports its errors.
            ///
            /// # Errors
            ///
            /// As [`crate::Emdb::insert`].
        ]
            pub fn try_sweep_expired(&self) -> Result<usize> {
                self.scope.try_sweep_expired()
            }
        }
    };
}

pub(crate) use {method, scope_methods};
