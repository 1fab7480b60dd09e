//! The envelope: a sealed payload that says how to open it. The layout and the nonce
//! scheme are documented on [`SealKey`], where rustdoc shows them.

use std::sync::atomic::{AtomicU64, Ordering};

use zeroize::Zeroizing;

use crate::cipher::{Cipher, Keyed, NONCE_LEN, TAG_LEN};
use crate::error::{Error, Result};
use crate::key::Key;

/// Envelope format version this build writes and reads.
pub const ENVELOPE_VERSION: u8 = 1;
/// Bytes before the ciphertext: version, cipher id, nonce.
pub const HEADER_LEN: usize = 2 + NONCE_LEN;
/// Bytes an envelope adds to its plaintext.
pub const OVERHEAD: usize = HEADER_LEN + TAG_LEN;

/// The parts of an envelope, borrowed from its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnvelopeParts<'a> {
    /// The cipher it was sealed with.
    pub cipher: Cipher,
    /// Its nonce.
    pub nonce: &'a [u8; NONCE_LEN],
    /// Its ciphertext.
    pub ciphertext: &'a [u8],
    /// Its tag.
    pub tag: &'a [u8; TAG_LEN],
}

/// Splits an envelope into its parts, checking its length, version and cipher id. It
/// authenticates nothing: that is [`SealKey::open`]'s job. Never panics, whatever the
/// bytes.
///
/// # Errors
///
/// [`Error::TooShort`] under 30 bytes, [`Error::UnknownVersion`], [`Error::UnknownCipher`].
pub fn parse_envelope(bytes: &[u8]) -> Result<EnvelopeParts<'_>> {
    if bytes.len() < OVERHEAD {
        return Err(Error::TooShort {
            len: bytes.len(),
            min: OVERHEAD,
        });
    }
    if bytes[0] != ENVELOPE_VERSION {
        return Err(Error::UnknownVersion { found: bytes[0] });
    }
    let cipher = Cipher::from_id(bytes[1])?;
    let (head, rest) = bytes.split_at(HEADER_LEN);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
    Ok(EnvelopeParts {
        cipher,
        nonce: head[2..]
            .try_into()
            .map_err(|_| Error::TooShort { len: 0, min: OVERHEAD })?,
        ciphertext,
        tag: tag.try_into().map_err(|_| Error::TooShort { len: 0, min: OVERHEAD })?,
    })
}

/// A key ready to seal and open envelopes with one cipher.
///
/// # The envelope
///
/// ```text
/// offset  size  field
/// 0       1     format version = 1
/// 1       1     cipher id (1 AES-256-GCM, 2 ChaCha20-Poly1305)
/// 2       12    nonce
/// 14      n     ciphertext (as long as the plaintext)
/// 14+n    16    tag
/// ```
///
/// 30 bytes of overhead. The AEAD authenticates the ciphertext and, as associated data,
/// the two header bytes followed by the caller's associated data (which is not stored).
/// Bind whatever identifies the payload's place (a store binds record kind, namespace and
/// database id): an envelope moved, swapped or replayed elsewhere fails to open, and so
/// does one whose header was altered, or one stripped of its header (which is why an
/// envelope is never also a valid emdb 1.0 payload).
///
/// # Nonces
///
/// A nonce must never repeat under one key. Each `SealKey` draws a random 64-bit prefix
/// from the operating system when it is made, and counts: the nonce is
/// `prefix + (count >> 32)` (8 bytes, little-endian) followed by the low 32 bits of the
/// count (4 bytes). One `SealKey` therefore never repeats a nonce (2^64 seals). Two
/// `SealKey`s over the same key (two sessions of one database) repeat one only if their
/// prefixes land within each other's range, which for S sessions of up to 2^32·E seals
/// each has a probability of about S²·E / 2^64: a million sessions of up to four billion
/// seals each stay below one in ten million. Rotate keys long before either bound
/// matters. Making a nonce is one atomic add: no system call per seal.
///
/// ```
/// use emdb_crypto::{Cipher, Key, SealKey};
/// let key = SealKey::new(&Key::generate()?, Cipher::Aes256Gcm)?;
/// let sealed = key.seal_to_vec(b"secret value", b"ns=1;kind=insert")?;
/// assert_eq!(key.open_to_vec(&sealed, b"ns=1;kind=insert")?, b"secret value");
/// // The same bytes under other associated data (a record moved elsewhere) do not open.
/// assert!(key.open_to_vec(&sealed, b"ns=2;kind=insert").is_err());
/// # Ok::<(), emdb_crypto::Error>(())
/// ```
pub struct SealKey {
    cipher: Cipher,
    keyed: Keyed,
    prefix: u64,
    count: AtomicU64,
}

impl SealKey {
    /// Expands `key` for `cipher` and draws this instance's nonce prefix.
    ///
    /// # Errors
    ///
    /// [`Error::Rng`] when the operating system's generator fails.
    pub fn new(key: &Key, cipher: Cipher) -> Result<SealKey> {
        let mut prefix = [0u8; 8];
        crate::fill_random(&mut prefix)?;
        Ok(SealKey {
            cipher,
            keyed: Keyed::new(key, cipher),
            prefix: u64::from_le_bytes(prefix),
            count: AtomicU64::new(0),
        })
    }

    /// The cipher this key seals with.
    #[must_use]
    pub fn cipher(&self) -> Cipher {
        self.cipher
    }

    fn next_nonce(&self) -> [u8; NONCE_LEN] {
        let count = self.count.fetch_add(1, Ordering::Relaxed);
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..8].copy_from_slice(&self.prefix.wrapping_add(count >> 32).to_le_bytes());
        nonce[8..].copy_from_slice(&(count as u32).to_le_bytes());
        nonce
    }

    /// Seals `plaintext` under `aad`, appending the envelope to `out`.
    ///
    /// # Errors
    ///
    /// [`Error::Seal`] if the cipher refuses (inputs beyond its limits, ~64 GiB); `out` is
    /// then as it was.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        out.reserve(plaintext.len() + OVERHEAD);
        let nonce = self.next_nonce();
        out.push(ENVELOPE_VERSION);
        out.push(self.cipher.id());
        out.extend_from_slice(&nonce);
        let body = out.len();
        out.extend_from_slice(plaintext);
        let header = [ENVELOPE_VERSION, self.cipher.id()];
        let sealed = with_header(header, aad, |full| self.keyed.seal(&nonce, full, &mut out[body..]));
        match sealed {
            Ok(tag) => {
                out.extend_from_slice(&tag);
                Ok(())
            }
            Err(e) => {
                out.truncate(start);
                Err(e)
            }
        }
    }

    /// [`SealKey::seal`] into a new vector.
    ///
    /// # Errors
    ///
    /// As [`SealKey::seal`].
    pub fn seal_to_vec(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(plaintext.len() + OVERHEAD);
        self.seal(plaintext, aad, &mut out)?;
        Ok(out)
    }

    /// Opens `envelope` under `aad`, appending the plaintext to `out`. On any failure
    /// nothing is appended: unauthenticated bytes are never handed out.
    ///
    /// # Errors
    ///
    /// [`Error::TagMismatch`] when the envelope was damaged, tampered with, or sealed under
    /// other associated data or another key; [`Error::CipherMismatch`] when it was sealed
    /// with the other cipher; and the errors of [`parse_envelope`].
    pub fn open(&self, envelope: &[u8], aad: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let parts = parse_envelope(envelope)?;
        if parts.cipher != self.cipher {
            return Err(Error::CipherMismatch {
                envelope: parts.cipher,
                key: self.cipher,
            });
        }
        let header = [ENVELOPE_VERSION, self.cipher.id()];
        with_header(header, aad, |full| {
            self.open_parts(parts.nonce, parts.ciphertext, parts.tag, full, out)
        })
    }

    fn open_parts(
        &self,
        nonce: &[u8; NONCE_LEN],
        ciphertext: &[u8],
        tag: &[u8; TAG_LEN],
        aad: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let start = out.len();
        out.extend_from_slice(ciphertext);
        match self.keyed.open(nonce, aad, &mut out[start..], tag) {
            Ok(()) => Ok(()),
            Err(e) => {
                out.truncate(start);
                Err(e)
            }
        }
    }

    /// [`SealKey::open`] into a new vector.
    ///
    /// # Errors
    ///
    /// As [`SealKey::open`].
    pub fn open_to_vec(&self, envelope: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(envelope.len().saturating_sub(OVERHEAD));
        self.open(envelope, aad, &mut out)?;
        Ok(out)
    }

    /// Opens raw AEAD parts (a nonce, a ciphertext and a tag) under `aad` exactly as
    /// given, with no envelope header: for data in other layouts, such as published test
    /// vectors, and emdb 1.0's records (through [`SealKey::open_legacy`]).
    ///
    /// # Errors
    ///
    /// [`Error::TagMismatch`] when the parts do not open under this key and `aad`.
    pub fn open_detached(
        &self,
        nonce: &[u8; NONCE_LEN],
        ciphertext: &[u8],
        tag: &[u8; TAG_LEN],
        aad: &[u8],
    ) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(ciphertext.len());
        self.open_parts(nonce, ciphertext, tag, aad, &mut out)?;
        Ok(out)
    }

    /// Opens a payload in emdb 1.0's layout: nonce (12 bytes), ciphertext, tag (16), no
    /// version byte, no cipher id, no associated data. For reading databases written by
    /// emdb 1.0; never written by this crate.
    ///
    /// # Errors
    ///
    /// [`Error::TooShort`] under 28 bytes, [`Error::TagMismatch`] when it does not open.
    pub fn open_legacy(&self, sealed: &[u8]) -> Result<Vec<u8>> {
        let min = NONCE_LEN + TAG_LEN;
        if sealed.len() < min {
            return Err(Error::TooShort { len: sealed.len(), min });
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        let nonce: &[u8; NONCE_LEN] = nonce
            .try_into()
            .map_err(|_| Error::TooShort { len: sealed.len(), min })?;
        let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| Error::TooShort { len: sealed.len(), min })?;
        self.open_detached(nonce, ciphertext, tag, b"")
    }

    /// Re-seals an envelope for key rotation: opens it under `aad` with this key and seals
    /// the plaintext under `to_aad` with `to`, appending to `out`. The plaintext lives only
    /// in a buffer wiped before returning, and one record is handled at a time, so a store
    /// rotates a file of any size by streaming its records through this.
    ///
    /// # Errors
    ///
    /// The errors of [`SealKey::open`] and [`SealKey::seal`]; `out` is then as it was.
    pub fn reseal(&self, envelope: &[u8], aad: &[u8], to: &SealKey, to_aad: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let mut plain = Zeroizing::new(Vec::with_capacity(envelope.len()));
        self.open(envelope, aad, &mut plain)?;
        to.seal(&plain, to_aad, out)
    }
}

/// Runs `f` with the associated data the AEAD sees: the envelope's two header bytes, then
/// the caller's. Short associated data is joined on the stack; longer on the heap.
fn with_header<T>(header: [u8; 2], aad: &[u8], f: impl FnOnce(&[u8]) -> T) -> T {
    const STACK: usize = 128;
    if aad.len() + 2 <= STACK {
        let mut buf = [0u8; STACK];
        buf[..2].copy_from_slice(&header);
        buf[2..2 + aad.len()].copy_from_slice(aad);
        f(&buf[..2 + aad.len()])
    } else {
        let mut full = Vec::with_capacity(aad.len() + 2);
        full.extend_from_slice(&header);
        full.extend_from_slice(aad);
        f(&full)
    }
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealKey")
            .field("cipher", &self.cipher)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(cipher: Cipher) -> SealKey {
        SealKey::new(&Key::from_bytes([0x42; 32]), cipher).expect("rng")
    }

    #[test]
    fn nonces_never_repeat_within_a_key_and_roll_into_the_prefix() {
        let k = key(Cipher::Aes256Gcm);
        let a = k.next_nonce();
        let b = k.next_nonce();
        assert_ne!(a, b);
        assert_eq!(&a[..8], &b[..8], "same prefix within one 2^32 block");
        k.count.store(u64::from(u32::MAX), Ordering::Relaxed);
        let last = k.next_nonce();
        let next = k.next_nonce();
        assert_eq!(&last[8..], &u32::MAX.to_le_bytes());
        assert_eq!(&next[8..], &0u32.to_le_bytes());
        assert_ne!(&last[..8], &next[..8], "the prefix moves on when the low half wraps");
    }

    #[test]
    fn a_failed_open_appends_nothing() {
        let k = key(Cipher::ChaCha20Poly1305);
        let sealed = k.seal_to_vec(b"payload", b"aad").expect("seal");
        let mut out = b"kept".to_vec();
        assert!(matches!(k.open(&sealed, b"other", &mut out), Err(Error::TagMismatch)));
        assert_eq!(out, b"kept");
        k.open(&sealed, b"aad", &mut out).expect("open");
        assert_eq!(out, b"keptpayload");
    }

    #[test]
    fn the_other_cipher_is_named_not_guessed() {
        let aes = key(Cipher::Aes256Gcm);
        let chacha = key(Cipher::ChaCha20Poly1305);
        let sealed = aes.seal_to_vec(b"x", b"").expect("seal");
        assert!(matches!(
            chacha.open_to_vec(&sealed, b""),
            Err(Error::CipherMismatch {
                envelope: Cipher::Aes256Gcm,
                key: Cipher::ChaCha20Poly1305
            })
        ));
    }
}
