//! Offline encryption admin: turning encryption on or off and changing the key, by
//! rewriting the database under its lock and swapping the files (feature `encrypt`), and
//! the crash-safe swap that ends such a run ([`swap`]), which every open completes if a
//! crash interrupted it, with the feature or without.

pub(crate) mod swap;

#[cfg(feature = "encrypt")]
use std::path::Path;

#[cfg(feature = "encrypt")]
use crate::{
    Cipher, EncryptionInput,
    db::Emdb,
    engine::codec::Codec,
    engine::crypt::CryptoParams,
    engine::{Config, Inner, Keying},
    error::{Error, Result},
    options::FlushPolicy,
};

/// Options of the encryption admin operations.
///
/// ```
/// use emdb_core::{AdminOptions, Cipher};
/// let keep = AdminOptions::new().keep_backup(true).cipher(Cipher::ChaCha20Poly1305);
/// assert!(keep.keeps_backup());
/// ```
#[cfg(feature = "encrypt")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdminOptions {
    keep_backup: bool,
    cipher: Option<Cipher>,
}

#[cfg(feature = "encrypt")]
impl AdminOptions {
    /// The defaults: no backup kept, AES-256-GCM for a newly encrypted database (a
    /// rotation keeps the database's cipher).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Keep the database as it was before the operation in `<path>.encbak` (and
    /// `<path>.encbak.meta`). Off by default: after `enable_encryption` that copy is
    /// plaintext, after a rotation it is readable with the old key.
    #[must_use]
    pub fn keep_backup(mut self, keep: bool) -> Self {
        self.keep_backup = keep;
        self
    }

    /// Whether the backup is kept.
    #[must_use]
    pub fn keeps_backup(&self) -> bool {
        self.keep_backup
    }

    /// The cipher of the rewritten database (enable or rotate).
    #[must_use]
    pub fn cipher(mut self, cipher: Cipher) -> Self {
        self.cipher = Some(cipher);
        self
    }
}

/// The operations of an offline admin run, each in two forms: one with the default
/// [`AdminOptions`] and one `_with` options. A pair is written as its two documented
/// signatures and the `from` and `to` inputs it passes to [`run`].
#[cfg(feature = "encrypt")]
macro_rules! admin_operations {
    ($(
        $(#[$doc:meta])*
        pub fn $name:ident($($arg:ident),+);
        $(#[$with_doc:meta])*
        pub fn $with:ident => ($from:expr, $to:expr);
    )*) => {$(
        $(#[$doc])*
        pub fn $name(path: impl AsRef<Path>, $($arg: EncryptionInput),+) -> Result<()> {
            Self::$with(path, $($arg,)+ AdminOptions::new())
        }

        $(#[$with_doc])*
        pub fn $with(path: impl AsRef<Path>, $($arg: EncryptionInput,)+ options: AdminOptions) -> Result<()> {
            run(path.as_ref(), $from, $to, options)
        }
    )*};
}

#[cfg(feature = "encrypt")]
impl Emdb {
    admin_operations! {
        /// Encrypts the plaintext database at `path` with `target`, offline: it takes the
        /// database's lock for the whole run, rewrites every live record sealed, and swaps the
        /// files. No plaintext copy is left behind (see
        /// [`enable_encryption_with`](Emdb::enable_encryption_with) to keep one).
        ///
        /// A crash at any instant leaves either the old database or the new one, which the
        /// next open (or admin run) completes; never neither.
        ///
        /// ```
        /// # fn main() -> Result<(), emdb_core::Error> {
        /// # let dir = tempfile::tempdir()?;
        /// use emdb_core::{Emdb, EncryptionInput};
        /// let path = dir.path().join("app.emdb");
        /// Emdb::open(&path)?.insert("k", "v")?;
        /// Emdb::enable_encryption(&path, EncryptionInput::Key([3; 32]))?;
        /// let db = Emdb::builder().path(&path).encryption_key([3; 32]).build()?;
        /// assert_eq!(db.get("k")?.as_deref(), Some(&b"v"[..]));
        /// assert!(db.stats()?.encrypted);
        /// # Ok(()) }
        /// ```
        ///
        /// # Errors
        ///
        /// `InvalidConfig` when there is no database at `path` or it is already encrypted,
        /// `LockBusy` while it is open, and the errors of opening and compacting.
        pub fn enable_encryption(target);

        /// [`enable_encryption`](Emdb::enable_encryption) with options (keep the plaintext
        /// backup, choose the cipher).
        ///
        /// # Errors
        ///
        /// As [`enable_encryption`](Emdb::enable_encryption).
        pub fn enable_encryption_with => (None, Some(&target));

        /// Decrypts the database at `path` (opened with `current`) into a plaintext one,
        /// offline, like [`enable_encryption`](Emdb::enable_encryption).
        ///
        /// # Errors
        ///
        /// `EncryptionKeyMismatch` for the wrong key, `InvalidConfig` when the database is not
        /// encrypted or absent, `LockBusy` while it is open.
        pub fn disable_encryption(current);

        /// [`disable_encryption`](Emdb::disable_encryption) with options.
        ///
        /// # Errors
        ///
        /// As [`disable_encryption`](Emdb::disable_encryption).
        pub fn disable_encryption_with => (Some(&current), None);

        /// Re-encrypts every record of the database at `path` from key `from` to key `to`
        /// (a fresh salt and database id too), offline, like
        /// [`enable_encryption`](Emdb::enable_encryption). The cipher stays unless the
        /// options name another.
        ///
        /// # Errors
        ///
        /// `EncryptionKeyMismatch` when `from` is not the key, `InvalidConfig` when the
        /// database is not encrypted or absent, `LockBusy` while it is open.
        pub fn rotate_encryption_key(from, to);

        /// [`rotate_encryption_key`](Emdb::rotate_encryption_key) with options.
        ///
        /// # Errors
        ///
        /// As [`rotate_encryption_key`](Emdb::rotate_encryption_key).
        pub fn rotate_encryption_key_with => (Some(&from), Some(&to));
    }
}

/// One admin run: open the database at `path` with `from`, rewrite it for `to` (plaintext
/// when `None`) into `<path>.enc.tmp`, write the marker, swap.
#[cfg(feature = "encrypt")]
fn run(path: &Path, from: Option<&EncryptionInput>, to: Option<&EncryptionInput>, options: AdminOptions) -> Result<()> {
    if let Some(to) = to {
        to.check()?;
    }
    if std::fs::metadata(path).is_err() {
        return Err(Error::InvalidConfig("there is no database at this path"));
    }
    let config = Config {
        path: path.to_path_buf(),
        default_ttl: None,
        range_scans: false,
        flush_policy: FlushPolicy::OnEachFlush,
        mem: None,
        clock: crate::options::Clock::default(),
        keying: from.map(|input| Keying {
            input: input.clone(),
            cipher: Cipher::default(),
            set_up: false,
        }),
    };
    let inner = match Inner::open(config) {
        Err(Error::InvalidConfig(why)) if from.is_none() && why == crate::engine::NEEDS_KEY => {
            return Err(Error::InvalidConfig("the database is already encrypted"));
        }
        Err(Error::InvalidConfig(why)) if from.is_some() && why == crate::engine::NOT_ENCRYPTED => {
            return Err(Error::InvalidConfig("the database is not encrypted"));
        }
        other => other?,
    };
    let codec = match to {
        None => Codec::plain(),
        Some(input) => {
            // A rotation keeps the cipher unless told otherwise.
            let cipher = options.cipher.or(inner.cipher()).unwrap_or_default();
            Codec::sealed(CryptoParams::create(input, cipher)?)
        }
    };
    let data = inner.data_path().to_path_buf();
    let scratch = emdb_journal::sibling(&data, ".enc.tmp");
    let lock = inner.shared_lock();
    {
        let mut captured = inner.capture()?;
        let target = inner.copy_live(&mut captured, &scratch, false, codec)?;
        drop(captured);
        target.journal.close()?;
    }
    inner.close_without_checkpoint()?;
    // The new files' directory entries are durable before the marker that points at them.
    emdb_journal::sync_parent_dir(&data)?;
    swap::write_marker(&data, options.keep_backup)?;
    swap::complete(&data, options.keep_backup)?;
    drop(lock);
    Ok(())
}
