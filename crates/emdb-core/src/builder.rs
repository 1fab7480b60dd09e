//! The builder: where the database lives and how it behaves.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::db::Emdb;
use crate::engine::paths::{self, MemDir};
use crate::engine::{Config, Inner};
use crate::error::{Error, Result};
use crate::options::{Clock, FlushPolicy};

/// Configures and opens an [`Emdb`].
///
/// Where: an explicit [`path`](EmdbBuilder::path); or the OS data directory, an
/// application folder and a file name ([`data_root`](EmdbBuilder::data_root),
/// [`app_name`](EmdbBuilder::app_name), [`database_name`](EmdbBuilder::database_name));
/// or neither, for an ephemeral database in a private temporary directory.
///
/// ```
/// # fn main() -> Result<(), emdb_core::Error> {
/// # let dir = tempfile::tempdir()?;
/// use emdb_core::{Emdb, FlushPolicy};
/// let db = Emdb::builder()
///     .path(dir.path().join("app.emdb"))
///     .flush_policy(FlushPolicy::WriteThrough)
///     .enable_range_scans(true)
///     .build()?;
/// db.insert("k", "v")?;
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct EmdbBuilder {
    path: Option<PathBuf>,
    app_name: Option<String>,
    database_name: Option<String>,
    data_root: Option<PathBuf>,
    default_ttl: Option<Duration>,
    range_scans: bool,
    flush_policy: FlushPolicy,
    clock: Clock,
    #[cfg(feature = "encrypt")]
    encryption_key: Option<zeroize::Zeroizing<[u8; 32]>>,
    #[cfg(feature = "encrypt")]
    encryption_passphrase: Option<zeroize::Zeroizing<String>>,
    #[cfg(feature = "encrypt")]
    cipher: Option<crate::Cipher>,
}

impl std::fmt::Debug for EmdbBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("EmdbBuilder");
        d.field("path", &self.path)
            .field("app_name", &self.app_name)
            .field("database_name", &self.database_name)
            .field("data_root", &self.data_root)
            .field("default_ttl", &self.default_ttl)
            .field("range_scans", &self.range_scans)
            .field("flush_policy", &self.flush_policy);
        #[cfg(feature = "test-clock")]
        d.field("clock", &self.clock);
        #[cfg(feature = "encrypt")]
        {
            // `None` when unset, `Some(<redacted>)` when set (as emdb 1.0 shows them):
            // never the secret itself.
            d.field("encryption_key", &self.encryption_key.as_ref().map(|_| Redacted))
                .field(
                    "encryption_passphrase",
                    &self.encryption_passphrase.as_ref().map(|_| Redacted),
                )
                .field("cipher", &self.cipher);
        }
        d.finish_non_exhaustive()
    }
}

/// Stands in for a secret in `Debug` output.
#[cfg(feature = "encrypt")]
struct Redacted;

#[cfg(feature = "encrypt")]
impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Setters of the builder's optional fields that take anything convertible: `$field`
/// becomes `Some(value.into())`.
macro_rules! optional_setters {
    ($($(#[$doc:meta])* $field:ident: $ty:ty;)*) => {$(
        $(#[$doc])*
        #[must_use]
        pub fn $field(mut self, value: impl Into<$ty>) -> Self {
            self.$field = Some(value.into());
            self
        }
    )*};
}

impl EmdbBuilder {
    /// A builder with the defaults: ephemeral, no TTL, no range index, `OnEachFlush`.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    optional_setters! {
        /// The database file. Exclusive with `app_name`, `database_name` and `data_root`.
        path: PathBuf;
        /// The folder under the data root (default `emdb`). One plain name.
        app_name: String;
        /// The file name in the application folder (default `emdb-default.emdb`; no
        /// extension is added). One plain name.
        database_name: String;
        /// The data root instead of the OS's per-user data directory.
        data_root: PathBuf;
    }

    /// The TTL of plain inserts and of [`crate::Ttl::Default`].
    #[cfg(feature = "ttl")]
    #[must_use]
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = Some(ttl);
        self
    }

    /// Keep a sorted index for range scans, prefixes and cursors (off by default; chosen
    /// per open, not stored). Costs about 80 bytes of RAM per key.
    ///
    /// The index of the records an open finds is built by the first range call after it
    /// (at 1M keys about 0.4 s, while other threads keep reading and writing), not by the
    /// open itself: an open stays as quick as without range scans, and a process that
    /// never scans never builds it. From then on every write keeps it up to date.
    #[must_use]
    pub fn enable_range_scans(mut self, enabled: bool) -> Self {
        self.range_scans = enabled;
        self
    }

    /// When writes become durable (default [`FlushPolicy::OnEachFlush`]).
    #[must_use]
    pub fn flush_policy(mut self, policy: FlushPolicy) -> Self {
        self.flush_policy = policy;
        self
    }

    /// Judge expiry by `clock` instead of the system clock (feature `test-clock`, for
    /// tests): see [`crate::TestClock`].
    #[cfg(feature = "test-clock")]
    #[must_use]
    pub fn clock(mut self, clock: crate::TestClock) -> Self {
        self.clock = Clock::test(clock);
        self
    }

    /// Accepted for compatibility with emdb 1.0 and ignored: the journal's writes are
    /// buffered positional writes that a submission-queue thread would not speed up.
    #[must_use]
    pub fn iouring_sqpoll(self, idle_ms: u32) -> Self {
        let _ = idle_ms;
        self
    }

    /// Encrypt with this raw 256-bit key (exclusive with
    /// [`encryption_passphrase`](EmdbBuilder::encryption_passphrase)).
    ///
    /// A new or empty database is set up encrypted; an encrypted one must be opened with
    /// its key (`EncryptionKeyMismatch` otherwise, before any record is read). A keyed open
    /// of a plaintext database that holds records is refused (`InvalidConfig`, file
    /// untouched): use [`Emdb::enable_encryption`] for that.
    ///
    /// ```
    /// # fn main() -> Result<(), emdb_core::Error> {
    /// # let dir = tempfile::tempdir()?;
    /// use emdb_core::Emdb;
    /// let path = dir.path().join("secret.emdb");
    /// let key = [7u8; 32]; // in real use, from a key store
    /// let db = Emdb::builder().path(&path).encryption_key(key).build()?;
    /// db.insert("card", "4111 1111 1111 1111")?;
    /// drop(db);
    /// let raw = std::fs::read(&path)?;
    /// assert!(!raw.windows(4).any(|w| w == b"4111"), "nothing readable on disk");
    /// let db = Emdb::builder().path(&path).encryption_key(key).build()?;
    /// assert_eq!(db.get("card")?.as_deref(), Some(&b"4111 1111 1111 1111"[..]));
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "encrypt")]
    #[must_use]
    pub fn encryption_key(mut self, key: [u8; 32]) -> Self {
        self.encryption_key = Some(zeroize::Zeroizing::new(key));
        self
    }

    /// Encrypt with a key derived from `passphrase` by Argon2id (exclusive with
    /// [`encryption_key`](EmdbBuilder::encryption_key)). A new database stretches it with
    /// 64 MiB and 3 passes (about a tenth of a second) and stores those parameters and a
    /// random salt in its sidecar, so they can be raised later; databases made by emdb 1.0
    /// keep their parameters (19 MiB, 2 passes). An empty passphrase is refused.
    #[cfg(feature = "encrypt")]
    #[must_use]
    pub fn encryption_passphrase(mut self, passphrase: impl Into<String>) -> Self {
        self.encryption_passphrase = Some(zeroize::Zeroizing::new(passphrase.into()));
        self
    }

    /// The cipher of a database being set up encrypted (default AES-256-GCM). An existing
    /// database keeps the cipher recorded in its sidecar. Setting it without a key or
    /// passphrase is refused at build (`InvalidConfig`): the data would not be encrypted.
    #[cfg(feature = "encrypt")]
    #[must_use]
    pub fn cipher(mut self, cipher: crate::Cipher) -> Self {
        self.cipher = Some(cipher);
        self
    }

    /// The key input the builder holds, checked.
    #[cfg(feature = "encrypt")]
    fn keying(&self) -> Result<Option<crate::engine::Keying>> {
        let input = match (&self.encryption_key, &self.encryption_passphrase) {
            (Some(_), Some(_)) => {
                return Err(Error::InvalidConfig(
                    "encryption_key and encryption_passphrase are exclusive",
                ));
            }
            (Some(key), None) => crate::EncryptionInput::Key(**key),
            (None, Some(pass)) => crate::EncryptionInput::Passphrase(pass.to_string()),
            (None, None) if self.cipher.is_some() => {
                return Err(Error::InvalidConfig(
                    "a cipher was chosen but no encryption key or passphrase was given",
                ));
            }
            (None, None) => return Ok(None),
        };
        input.check()?;
        Ok(Some(crate::engine::Keying {
            input,
            cipher: self.cipher.unwrap_or_default(),
            set_up: true,
        }))
    }

    /// Opens (or creates) the database.
    ///
    /// # Errors
    ///
    /// `InvalidConfig` for a path combined with OS-resolution fields or a bad name,
    /// `LockBusy` when another handle holds the database, `MagicMismatch` for a foreign
    /// file, `Corrupted` for a damaged one, `Io` when the file system refuses. With
    /// encryption: `EncryptionKeyMismatch` for the wrong key or passphrase,
    /// `InvalidConfig` for a key given to a plaintext database that holds records or none
    /// given to an encrypted one (the files are not touched), `Encryption` for damaged
    /// encryption parameters.
    pub fn build(self) -> Result<Emdb> {
        #[cfg(feature = "encrypt")]
        let keying = self.keying()?;
        let resolving = self.app_name.is_some() || self.database_name.is_some() || self.data_root.is_some();
        let (path, mem) = match self.path {
            Some(_) if resolving => {
                return Err(Error::InvalidConfig(
                    "path cannot be combined with app_name, database_name or data_root",
                ));
            }
            Some(path) => (path, None),
            None if resolving => {
                let app = paths::checked_name(self.app_name.as_deref().unwrap_or(""), paths::DEFAULT_APP)?;
                let db = paths::checked_name(self.database_name.as_deref().unwrap_or(""), paths::DEFAULT_DB)?;
                let dir = self.data_root.unwrap_or_else(paths::data_root).join(app);
                let mut builder = std::fs::DirBuilder::new();
                builder.recursive(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::DirBuilderExt;
                    builder.mode(0o700);
                }
                builder.create(&dir)?;
                (dir.join(db), None)
            }
            None => {
                let mem = MemDir::create()?;
                (mem.file(), Some(mem))
            }
        };
        let inner = Inner::open(Config {
            path,
            default_ttl: self.default_ttl,
            range_scans: self.range_scans,
            flush_policy: self.flush_policy,
            mem,
            clock: self.clock,
            #[cfg(feature = "encrypt")]
            keying,
        })?;
        Emdb::from_inner(Arc::new(inner))
    }
}
