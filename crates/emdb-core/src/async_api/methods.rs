//! The key-value, iteration, stream and TTL methods `AsyncEmdb` and `AsyncNamespace`
//! share: the sync `Emdb` and `Namespace` have the same methods under the same names, so
//! `shared_methods!` writes both async sets, with `key_methods!` and `key_streams!` for
//! the methods that only copy a key and hand it over.

/// Writes async methods that each copy one key argument and run the sync method of the
/// same name on the blocking pool. An entry is the method's attributes (docs, `cfg`), its
/// name and argument, and what the sync method returns in its `Result`:
/// `get(key) -> Option<Vec<u8>>;`. For `shared_methods!`, whose handle keeps its sync handle
/// in `self.inner`.
macro_rules! key_methods {
    ($($(#[$attr:meta])* $name:ident($arg:ident) -> $out:ty;)*) => {
        $(
            $(#[$attr])*
            pub async fn $name<K>(&self, $arg: K) -> Result<$out>
            where
                K: AsRef<[u8]>,
            {
                let (db, $arg) = (Arc::clone(&self.inner), owned($arg));
                blocking(move || db.$name($arg)).await
            }
        )*
    };
}

/// Writes async methods that each copy one key argument and stream, with backpressure,
/// the pairs of the sync range cursor that a sync method makes from it. An entry is the
/// method's attributes, its name and argument, and the sync method:
/// `iter_from_stream(start) = iter_from;`. For `shared_methods!`, as `key_methods!`.
macro_rules! key_streams {
    ($($(#[$attr:meta])* $name:ident($arg:ident) = $sync:ident;)*) => {
        $(
            $(#[$attr])*
            pub async fn $name<K>(&self, $arg: K) -> Result<ReceiverStream<(Vec<u8>, Vec<u8>)>>
            where
                K: AsRef<[u8]>,
            {
                let (db, $arg) = (Arc::clone(&self.inner), owned($arg));
                open_stream(move || db.$sync($arg), pair_weight).await
            }
        )*
    };
}

/// Writes the shared methods into an `impl` block whose type keeps its sync handle in
/// `self.inner: Arc<$sync>`. `$scope` names what the methods act on, for the docs.
macro_rules! shared_methods {
    ($sync:ident, $scope:literal) => {
        /// Inserts or replaces `key` (with the builder's default TTL, if any), on the
        #[doc = concat!(" blocking pool; see [`", stringify!($sync), "::insert`].")]
        /// Key and value are copied before the call.
        ///
        /// Dropping the future does not cancel the write: it may or may not have happened.
        ///
        /// # Errors
        ///
        /// Those of the sync call, and `Io` (kind `Other`) when the blocking task cannot be
        /// joined or no tokio runtime is running.
        pub async fn insert<K, V>(&self, key: K, value: V) -> Result<()>
        where
            K: AsRef<[u8]>,
            V: AsRef<[u8]>,
        {
            let (db, key, value) = (Arc::clone(&self.inner), owned(key), owned(value));
            blocking(move || db.insert(key, value)).await
        }

        /// Inserts every pair as one batch (one crash-atomic frame, visible all at once);
        #[doc = concat!(" see [`", stringify!($sync), "::insert_many`].")]
        /// The pairs are copied before the call.
        ///
        /// Dropping the future does not cancel the batch: it may or may not have happened,
        /// and if it did, it happened whole.
        ///
        /// # Errors
        ///
        /// As [`Self::insert`]; nothing is written on error.
        pub async fn insert_many<I, K, V>(&self, items: I) -> Result<()>
        where
            I: IntoIterator<Item = (K, V)>,
            K: AsRef<[u8]>,
            V: AsRef<[u8]>,
        {
            let items: Vec<(Vec<u8>, Vec<u8>)> = items.into_iter().map(|(k, v)| (owned(k), owned(v))).collect();
            let db = Arc::clone(&self.inner);
            blocking(move || db.insert_many(items)).await
        }

        $crate::async_api::methods::key_methods! {
            /// A copy of `key`'s value; `None` if absent or expired.
            ///
            /// # Errors
            ///
            /// As [`Self::insert`].
            get(key) -> Option<Vec<u8>>;

            /// `key`'s value without a copy: a [`ValueRef`] into the memory map, valid after
            #[doc = concat!(" later writes and compaction (see [`", stringify!($sync), "::get_zerocopy`]).")]
            ///
            /// # Errors
            ///
            /// As [`Self::insert`].
            get_zerocopy(key) -> Option<ValueRef>;

            /// Removes `key` and returns its live value.
            ///
            /// Dropping the future does not cancel the removal: it may or may not have
            /// happened.
            ///
            /// # Errors
            ///
            /// As [`Self::insert`].
            remove(key) -> Option<Vec<u8>>;

            /// Whether `key` is live (no value is copied).
            ///
            /// # Errors
            ///
            /// As [`Self::insert`].
            contains_key(key) -> bool;
        }

        #[doc = concat!("Entries of ", $scope, " (expired ones not yet swept count).")]
        ///
        /// Runs inline, not on the blocking pool: it reads one in-memory counter per
        /// index shard, takes no lock and does no I/O, and a trip to the pool would cost
        /// far more than the call (see [`AsyncEmdb`](crate::AsyncEmdb#what-runs-where)).
        ///
        /// # Errors
        ///
        /// Never in practice (kept for emdb 1.0's signature).
        pub async fn len(&self) -> Result<usize> {
            self.inner.len()
        }

        #[doc = concat!("Whether ", $scope, " has no entries. Runs inline, like [`Self::len`].")]
        ///
        /// # Errors
        ///
        /// As [`Self::len`].
        pub async fn is_empty(&self) -> Result<bool> {
            self.inner.is_empty()
        }

        #[doc = concat!("Removes every key of ", $scope, ", in one crash-atomic frame.")]
        ///
        /// Dropping the future does not cancel it: it may or may not have happened (whole).
        ///
        /// # Errors
        ///
        /// As [`Self::insert`].
        pub async fn clear(&self) -> Result<()> {
            let db = Arc::clone(&self.inner);
            blocking(move || db.clear()).await
        }

        #[doc = concat!("Every pair of ", $scope, ", as of the call, in hash order, collected on the")]
        /// blocking pool. For large namespaces prefer [`Self::iter_stream`], which holds
        /// a bounded number of records at a time.
        ///
        /// # Errors
        ///
        /// As [`Self::insert`].
        pub async fn iter(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
            let db = Arc::clone(&self.inner);
            blocking(move || Ok(db.iter()?.collect())).await
        }

        #[doc = concat!("Every key of ", $scope, ", as of the call, collected on the blocking pool.")]
        ///
        /// # Errors
        ///
        /// As [`Self::insert`].
        pub async fn keys(&self) -> Result<Vec<Vec<u8>>> {
            let db = Arc::clone(&self.inner);
            blocking(move || Ok(db.keys()?.collect())).await
        }

        /// Every pair with a key in `range`, ascending. Needs range scans.
        ///
        /// # Errors
        ///
        /// `InvalidConfig` without range scans; as [`Self::insert`].
        pub async fn range<R>(&self, range: R) -> Result<Vec<(Vec<u8>, Vec<u8>)>>
        where
            R: RangeBounds<Vec<u8>> + Send + 'static,
        {
            let db = Arc::clone(&self.inner);
            blocking(move || db.range(range)).await
        }

        /// Every pair whose key starts with `prefix`, ascending. Needs range scans.
        ///
        /// # Errors
        ///
        /// As [`Self::range`].
        pub async fn range_prefix<K>(&self, prefix: K) -> Result<Vec<(Vec<u8>, Vec<u8>)>>
        where
            K: AsRef<[u8]>,
        {
            let (db, prefix) = (Arc::clone(&self.inner), owned(prefix));
            blocking(move || db.range_prefix(prefix)).await
        }

        /// Every pair from `start` (included) on, ascending. Needs range scans.
        ///
        /// # Errors
        ///
        /// As [`Self::range`].
        pub async fn iter_from<K>(&self, start: K) -> Result<Vec<(Vec<u8>, Vec<u8>)>>
        where
            K: AsRef<[u8]>,
        {
            let (db, start) = (Arc::clone(&self.inner), owned(start));
            blocking(move || Ok(db.iter_from(start)?.collect())).await
        }

        /// Every pair after `start` (excluded), ascending. Needs range scans.
        ///
        /// # Errors
        ///
        /// As [`Self::range`].
        pub async fn iter_after<K>(&self, start: K) -> Result<Vec<(Vec<u8>, Vec<u8>)>>
        where
            K: AsRef<[u8]>,
        {
            let (db, start) = (Arc::clone(&self.inner), owned(start));
            blocking(move || Ok(db.iter_after(start)?.collect())).await
        }

        #[doc = concat!("A stream of the pairs of ", $scope, ", as of the call (snapshot semantics of")]
        #[doc = concat!(" [`", stringify!($sync), "::iter`]), with backpressure: see")]
        /// [`AsyncEmdb`](crate::AsyncEmdb#streams). The snapshot is taken before this returns.
        ///
        /// # Errors
        ///
        /// As [`Self::insert`]; once the stream exists it yields records only.
        pub async fn iter_stream(&self) -> Result<ReceiverStream<(Vec<u8>, Vec<u8>)>> {
            let db = Arc::clone(&self.inner);
            open_stream(move || db.iter(), pair_weight).await
        }

        #[doc = concat!("A stream of the keys of ", $scope, ", as of the call; as [`Self::iter_stream`].")]
        ///
        /// # Errors
        ///
        /// As [`Self::iter_stream`].
        pub async fn keys_stream(&self) -> Result<ReceiverStream<Vec<u8>>> {
            let db = Arc::clone(&self.inner);
            open_stream(move || db.keys(), key_weight).await
        }

        /// A stream of the pairs with a key in `range`, ascending: a range cursor (weakly
        /// consistent, each key at most once) read on the blocking pool with backpressure.
        /// Needs range scans.
        ///
        /// # Errors
        ///
        /// `InvalidConfig` without range scans (before any stream exists); as
        /// [`Self::insert`].
        pub async fn range_stream<R>(&self, range: R) -> Result<ReceiverStream<(Vec<u8>, Vec<u8>)>>
        where
            R: RangeBounds<Vec<u8>> + Send + 'static,
        {
            let db = Arc::clone(&self.inner);
            open_stream(move || db.range_iter(range), pair_weight).await
        }

        $crate::async_api::methods::key_streams! {
            /// A stream of the pairs whose key starts with `prefix`; as [`Self::range_stream`].
            ///
            /// # Errors
            ///
            /// As [`Self::range_stream`].
            range_prefix_stream(prefix) = range_prefix_iter;

            /// A stream of the pairs from `start` (included) on; as [`Self::range_stream`].
            ///
            /// # Errors
            ///
            /// As [`Self::range_stream`].
            iter_from_stream(start) = iter_from;

            /// A stream of the pairs after `start` (excluded); as [`Self::range_stream`].
            ///
            /// # Errors
            ///
            /// As [`Self::range_stream`].
            iter_after_stream(start) = iter_after;
        }

        /// Inserts `key` expiring after `ttl`.
        ///
        /// Dropping the future does not cancel the write: it may or may not have happened.
        ///
        /// # Errors
        ///
        /// `TtlOverflow` when the expiry does not fit; as [`Self::insert`].
        #[cfg(feature = "ttl")]
        pub async fn insert_with_ttl<K, V>(&self, key: K, value: V, ttl: Ttl) -> Result<()>
        where
            K: AsRef<[u8]>,
            V: AsRef<[u8]>,
        {
            let (db, key, value) = (Arc::clone(&self.inner), owned(key), owned(value));
            blocking(move || db.insert_with_ttl(key, value, ttl)).await
        }

        $crate::async_api::methods::key_methods! {
            /// When `key` expires (Unix ms): `Some(0)` for a live key without expiry, `None`
            /// if absent or expired (as emdb 1.0).
            ///
            /// # Errors
            ///
            /// As [`Self::insert`].
            #[cfg(feature = "ttl")]
            expires_at(key) -> Option<u64>;

            /// Time left for `key`; `None` if absent, without expiry, or expired.
            ///
            /// # Errors
            ///
            /// As [`Self::insert`].
            #[cfg(feature = "ttl")]
            ttl(key) -> Option<Duration>;

            /// Removes `key`'s expiry; `false` if absent or expired.
            ///
            /// Dropping the future does not cancel the write: it may or may not have happened.
            ///
            /// # Errors
            ///
            /// As [`Self::insert`].
            #[cfg(feature = "ttl")]
            persist(key) -> bool;
        }
    };
}

pub(crate) use {key_methods, key_streams, shared_methods};
