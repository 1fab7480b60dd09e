//! The ciphers: AES-256-GCM and ChaCha20-Poly1305, each with a stable on-disk id.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use chacha20poly1305::ChaCha20Poly1305;

use crate::error::{Error, Result};
use crate::key::Key;

/// Nonce length of both ciphers (96 bits).
pub const NONCE_LEN: usize = 12;
/// Tag length of both ciphers (128 bits).
pub const TAG_LEN: usize = 16;

/// An AEAD cipher. Both take a 32-byte key, a 96-bit nonce and give a 128-bit tag.
///
/// AES-256-GCM is the default: it is hardware-accelerated on current x86 (AES-NI,
/// CLMUL) and ARMv8 (crypto extensions). ChaCha20-Poly1305 is the choice for CPUs
/// without those instructions, where it is faster and constant-time in software.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cipher {
    /// AES-256 in Galois/Counter Mode (NIST SP 800-38D). On-disk id 1.
    #[default]
    Aes256Gcm,
    /// ChaCha20 with Poly1305 (RFC 8439). On-disk id 2.
    ChaCha20Poly1305,
}

impl Cipher {
    /// The cipher's on-disk id (stable across versions).
    #[must_use]
    pub const fn id(self) -> u8 {
        match self {
            Cipher::Aes256Gcm => 1,
            Cipher::ChaCha20Poly1305 => 2,
        }
    }

    /// The cipher with on-disk id `id`.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownCipher`] for an id this build does not know.
    pub const fn from_id(id: u8) -> Result<Cipher> {
        match id {
            1 => Ok(Cipher::Aes256Gcm),
            2 => Ok(Cipher::ChaCha20Poly1305),
            _ => Err(Error::UnknownCipher { id }),
        }
    }
}

impl std::fmt::Display for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Cipher::Aes256Gcm => "AES-256-GCM",
            Cipher::ChaCha20Poly1305 => "ChaCha20-Poly1305",
        })
    }
}

/// A keyed cipher instance (key schedule expanded once; zeroized on drop by the cipher
/// crates).
pub(crate) enum Keyed {
    Aes(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
}

impl Keyed {
    pub(crate) fn new(key: &Key, cipher: Cipher) -> Keyed {
        match cipher {
            Cipher::Aes256Gcm => Keyed::Aes(Box::new(Aes256Gcm::new(key.bytes().into()))),
            Cipher::ChaCha20Poly1305 => Keyed::ChaCha(Box::new(ChaCha20Poly1305::new(key.bytes().into()))),
        }
    }

    /// Encrypts `buffer` in place and returns the tag.
    pub(crate) fn seal(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buffer: &mut [u8]) -> Result<[u8; TAG_LEN]> {
        let nonce = Nonce::from_slice(nonce);
        let tag = match self {
            Keyed::Aes(c) => c.encrypt_in_place_detached(nonce, aad, buffer),
            Keyed::ChaCha(c) => c.encrypt_in_place_detached(nonce, aad, buffer),
        }
        .map_err(|_| Error::Seal)?;
        Ok(tag.into())
    }

    /// Decrypts `buffer` in place if `tag` verifies; on failure `buffer` is left as it
    /// was (still ciphertext).
    pub(crate) fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buffer: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<()> {
        let nonce = Nonce::from_slice(nonce);
        let tag = Tag::from_slice(tag);
        match self {
            Keyed::Aes(c) => c.decrypt_in_place_detached(nonce, aad, buffer, tag),
            Keyed::ChaCha(c) => c.decrypt_in_place_detached(nonce, aad, buffer, tag),
        }
        .map_err(|_| Error::TagMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_round_trip() {
        assert_eq!(Cipher::Aes256Gcm.id(), 1);
        assert_eq!(Cipher::ChaCha20Poly1305.id(), 2);
        for c in [Cipher::Aes256Gcm, Cipher::ChaCha20Poly1305] {
            assert_eq!(Cipher::from_id(c.id()).ok(), Some(c));
        }
        for id in [0u8, 3, 255] {
            assert!(matches!(Cipher::from_id(id), Err(Error::UnknownCipher { id: i }) if i == id));
        }
        assert_eq!(Cipher::default(), Cipher::Aes256Gcm);
    }
}
