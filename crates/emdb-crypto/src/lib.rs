//! An AEAD envelope for storage engines: seal and open records with AES-256-GCM or
//! ChaCha20-Poly1305, bind each record to its place through associated data, never reuse
//! a nonce, derive keys from passphrases with Argon2id, and tell a wrong key from damage.
//!
//! # Example
//!
//! ```
//! use emdb_crypto::{Cipher, KdfParams, Key, Salt, SealKey, check_verify_block, verify_block};
//!
//! // Creating an encrypted database: derive the key, keep salt, parameters and a
//! // verification block beside the data.
//! let salt = Salt::random()?;
//! let params = KdfParams { memory_kib: 1024, iterations: 1, parallelism: 1 }; // KdfParams::RECOMMENDED in real use
//! let key = SealKey::new(&Key::derive(b"passphrase", &salt, &params)?, Cipher::Aes256Gcm)?;
//! let block = verify_block(&key)?;
//!
//! // Sealing a record, bound to where it belongs.
//! let record = key.seal_to_vec(b"alice=admin", b"db=7;ns=users")?;
//!
//! // Reopening: the same passphrase passes the check and opens the record...
//! let again = SealKey::new(&Key::derive(b"passphrase", &salt, &params)?, Cipher::Aes256Gcm)?;
//! check_verify_block(&again, &block)?;
//! assert_eq!(again.open_to_vec(&record, b"db=7;ns=users")?, b"alice=admin");
//! // ...a wrong one is told so, before any record is read.
//! let wrong = SealKey::new(&Key::derive(b"guess", &salt, &params)?, Cipher::Aes256Gcm)?;
//! assert!(matches!(check_verify_block(&wrong, &block), Err(emdb_crypto::Error::WrongKey)));
//! # Ok::<(), emdb_crypto::Error>(())
//! ```
//!
//! # What is bound, what is visible
//!
//! The envelope (layout on [`SealKey`]: version, cipher id, 96-bit nonce, ciphertext,
//! 128-bit tag; 30 bytes of overhead) authenticates its ciphertext, its header and the
//! caller's associated data. A store should bind what identifies a record's place
//! (record kind, namespace, database id), so that a sealed record copied, moved or
//! swapped elsewhere fails to open. Lengths, counts and order stay visible.
//!
//! # Nonces
//!
//! Counter-based with a random 64-bit prefix per [`SealKey`]: no nonce repeats within a
//! `SealKey`, and across `SealKey`s over one key (sessions) a repeat needs two random
//! prefixes to fall within each other's range; [`SealKey`] gives the bound. Sealing makes
//! no system call.
//!
//! # Keys
//!
//! [`Key`] is 32 bytes, zeroized on drop, never printed. [`Key::derive`] runs Argon2id
//! v0x13 with [`KdfParams`] that the caller stores (13 bytes, versioned), so the defaults
//! can be raised without breaking old data; [`KdfParams::EMDB_V1`] names emdb 1.0's fixed
//! parameters. [`SealKey::reseal`] re-encrypts one record under a new key for rotation.
//!
//! # Errors
//!
//! Wrong key, tag mismatch (damage or tampering), unknown version, unknown cipher, cipher
//! mismatch, bad KDF parameters, input too short and a damaged verification block are
//! distinct [`Error`] variants. No input makes this crate panic.
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod cipher;
mod envelope;
mod error;
mod key;
mod verify;

pub use cipher::{Cipher, NONCE_LEN, TAG_LEN};
pub use envelope::{ENVELOPE_VERSION, EnvelopeParts, HEADER_LEN, OVERHEAD, SealKey, parse_envelope};
pub use error::{Error, Result};
pub use key::{KEY_LEN, KdfParams, Key, SALT_LEN, Salt};
pub use verify::{
    LEGACY_VERIFY_BLOCK_LEN, VERIFY_BLOCK_LEN, check_legacy_verify_block, check_verify_block, verify_block,
};

/// Fills `out` from the operating system's random generator.
pub(crate) fn fill_random(out: &mut [u8]) -> Result<()> {
    getrandom::getrandom(out).map_err(|_| Error::Rng)
}
