//! The crate's error type: every way opening or deriving can fail, kept apart.

/// Errors returned by the envelope and key management.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The key does not open this database: its verification block fails under it.
    #[error("wrong key: the verification block does not open under it")]
    WrongKey,
    /// The envelope's tag does not verify: the bytes were damaged or tampered with, or
    /// the associated data differs from what was sealed (moved or swapped record).
    #[error("authentication failed: the envelope was damaged, tampered with, or sealed for other associated data")]
    TagMismatch,
    /// The envelope (or verification block, or KDF record) has a format version this
    /// build does not know.
    #[error("unknown envelope format version {found}")]
    UnknownVersion {
        /// The version byte found.
        found: u8,
    },
    /// The envelope names a cipher this build does not know.
    #[error("unknown cipher id {id}")]
    UnknownCipher {
        /// The cipher id found.
        id: u8,
    },
    /// The envelope was sealed with another cipher than the key's.
    #[error("envelope sealed with {envelope}, key is for {key}")]
    CipherMismatch {
        /// The envelope's cipher.
        envelope: crate::Cipher,
        /// The key's cipher.
        key: crate::Cipher,
    },
    /// Key-derivation parameters are out of range (or their record is malformed).
    #[error("bad key-derivation parameters: {0}")]
    BadKdfParams(&'static str),
    /// The input is shorter than the smallest valid one.
    #[error("input of {len} bytes is shorter than the minimum of {min}")]
    TooShort {
        /// Bytes given.
        len: usize,
        /// Bytes needed at least.
        min: usize,
    },
    /// The input has a fixed length and this is not it.
    #[error("input of {len} bytes, expected exactly {expected}")]
    WrongLength {
        /// Bytes given.
        len: usize,
        /// Bytes expected.
        expected: usize,
    },
    /// A verification block failed its checksum: damaged, not a wrong key.
    #[error("verification block is damaged (checksum mismatch)")]
    DamagedVerifyBlock,
    /// The operating system's random generator failed.
    #[error("operating system random number generator failed")]
    Rng,
    /// The cipher refused to seal (input too large for the AEAD).
    #[error("the cipher refused to seal this input")]
    Seal,
}

/// Shorthand for results whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
