//! Encryption at rest: the user's key input, the parameters kept in the sidecar, and the
//! sealer that turns plain records into sealed ones and back.
//!
//! # What a sealed record binds
//!
//! A sealed record is `[0x40 | kind][envelope of the plain record's body]`; the envelope
//! (emdb-crypto) authenticates, as associated data, `"emdb-rec"`, the stored tag byte,
//! the database id (16 random bytes made when encryption was set up) and the record's
//! byte offset in the log. So:
//!
//! * a record altered in any byte, or its kind changed, fails to open;
//! * a record moved or copied to another place in the log (a replayed old value, two
//!   records swapped) fails: its offset differs;
//! * a record copied from another database under the same key fails: its id differs.
//!
//! The namespace, key, value and expiry are all inside the envelope. What stays visible is
//! each record's kind, size and position. A log cut short at a frame boundary looks like a
//! crash that lost unflushed writes: detecting that needs state outside the file.
//!
//! Records written by emdb 1.0 (`[0x80 | kind][nonce][ciphertext][tag]`, no associated
//! data) are opened in databases that came from emdb 1.0; compaction rewrites them in the
//! bound form.

use std::fmt;

use emdb_crypto::{Cipher, KdfParams, Key, Salt, SealKey, VERIFY_BLOCK_LEN};
use zeroize::Zeroizing;

use crate::EncryptionInput;
use crate::error::{Error, Result};

/// Sidecar flag: the database is encrypted (as in emdb 1.0).
pub(crate) const FLAG_ENCRYPTED: u32 = 1;
/// Sidecar flag: its cipher is ChaCha20-Poly1305 (as in emdb 1.0).
pub(crate) const FLAG_CHACHA: u32 = 2;
/// Bit of a stored tag marking our sealed records.
pub(crate) const SEALED: u8 = 0x40;
/// Bit of a stored tag marking emdb 1.0's encrypted records.
pub(crate) const LEGACY: u8 = 0x80;

/// Length of a database id.
const ID_LEN: usize = 16;
const RECORD_AAD: &[u8; 8] = b"emdb-rec";
const BLOB_AAD: &[u8; 8] = b"emdb-blb";

/// The key `input` gives with `salt` and `kdf`: a raw key as it is, a passphrase
/// stretched by Argon2id.
fn key_of(input: &EncryptionInput, salt: &Salt, kdf: &KdfParams) -> Result<Key> {
    match input {
        EncryptionInput::Key(raw) => Ok(Key::from_bytes(*raw)),
        EncryptionInput::Passphrase(p) => Key::derive(p.as_bytes(), salt, kdf).map_err(crypto_error),
    }
}
/// Maps an emdb-crypto error met while setting up or checking keys.
pub(crate) fn crypto_error(e: emdb_crypto::Error) -> Error {
    use emdb_crypto::Error as C;
    match e {
        C::WrongKey => Error::EncryptionKeyMismatch,
        C::DamagedVerifyBlock => Error::Encryption("the key verification block in the sidecar is damaged"),
        C::CipherMismatch { .. } => Error::Encryption("the sidecar's cipher does not match its verification block"),
        C::BadKdfParams(_) => Error::Encryption("the sidecar's key-derivation parameters are out of range"),
        C::Rng => Error::Encryption("the operating system's random number generator failed"),
        C::Seal => Error::Encryption("the cipher refused to seal"),
        _ => Error::Encryption("the encryption parameters in the sidecar are malformed"),
    }
}

fn random_id() -> Result<[u8; ID_LEN]> {
    let mut id = [0u8; ID_LEN];
    getrandom::getrandom(&mut id)
        .map_err(|_| Error::Encryption("the operating system's random number generator failed"))?;
    Ok(id)
}

/// What the sidecar keeps about a database's encryption (its engine area's `C` section).
///
/// ```text
/// offset  size  field
/// 0       1     version = 1
/// 1       1     cipher id (1 AES-256-GCM, 2 ChaCha20-Poly1305)
/// 2       1     1 if the log may hold emdb 1.0 records, else 0
/// 3       13    Argon2id parameters (emdb-crypto's encoding), used for passphrases
/// 16      16    Argon2id salt
/// 32      16    database id
/// 48      66    key verification block (emdb-crypto)
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CryptoParams {
    pub(crate) cipher: Cipher,
    pub(crate) legacy: bool,
    pub(crate) kdf: KdfParams,
    pub(crate) salt: Salt,
    pub(crate) db_id: [u8; ID_LEN],
    pub(crate) verify: [u8; VERIFY_BLOCK_LEN],
}

const PARAMS_VERSION: u8 = 1;
const PARAMS_LEN: usize = 3 + KdfParams::ENCODED_LEN + 16 + ID_LEN + VERIFY_BLOCK_LEN;

impl CryptoParams {
    /// New parameters (fresh salt and id) for `input` and `cipher`, and the sealer they
    /// give. Passphrases are stretched with [`KdfParams::RECOMMENDED`].
    pub(crate) fn create(input: &EncryptionInput, cipher: Cipher) -> Result<Sealer> {
        input.check()?;
        let salt = Salt::random().map_err(crypto_error)?;
        let kdf = KdfParams::RECOMMENDED;
        let key = SealKey::new(&key_of(input, &salt, &kdf)?, cipher).map_err(crypto_error)?;
        CryptoParams::fresh(key, cipher, false, kdf, salt)
    }

    /// The sealer for these parameters, if `input` is their key.
    ///
    /// # Errors
    ///
    /// `EncryptionKeyMismatch` for another key; `Encryption` for damaged parameters.
    pub(crate) fn unlock(&self, input: &EncryptionInput) -> Result<Sealer> {
        let key = SealKey::new(&key_of(input, &self.salt, &self.kdf)?, self.cipher).map_err(crypto_error)?;
        emdb_crypto::check_verify_block(&key, &self.verify).map_err(crypto_error)?;
        Ok(Sealer::new(key, self.clone()))
    }

    /// Unlocks an emdb 1.0 sidecar (flags and its 76 bytes: salt, verification block) and
    /// gives the sealer with parameters of ours that keep its salt and key-derivation
    /// settings, so the same key or passphrase keeps working, and mark the log as holding
    /// emdb 1.0 records.
    pub(crate) fn unlock_v1(flags: u32, area: &[u8], input: &EncryptionInput) -> Result<Sealer> {
        let (Some(salt), Some(verify)) = (area.get(..16), area.get(16..16 + emdb_crypto::LEGACY_VERIFY_BLOCK_LEN))
        else {
            return Err(Error::Encryption(
                "the emdb 1.0 sidecar's encryption fields are malformed",
            ));
        };
        let cipher = if flags & FLAG_CHACHA != 0 {
            Cipher::ChaCha20Poly1305
        } else {
            Cipher::Aes256Gcm
        };
        let mut salt_bytes = [0u8; 16];
        salt_bytes.copy_from_slice(salt);
        let salt = Salt(salt_bytes);
        let kdf = KdfParams::EMDB_V1;
        let key = SealKey::new(&key_of(input, &salt, &kdf)?, cipher).map_err(crypto_error)?;
        emdb_crypto::check_legacy_verify_block(&key, verify).map_err(crypto_error)?;
        CryptoParams::fresh(key, cipher, true, kdf, salt)
    }

    /// The sealer of `key` with parameters of ours around it: a fresh database id and a
    /// verification block of ours for `key`.
    fn fresh(key: SealKey, cipher: Cipher, legacy: bool, kdf: KdfParams, salt: Salt) -> Result<Sealer> {
        let verify = emdb_crypto::verify_block(&key).map_err(crypto_error)?;
        let params = CryptoParams {
            cipher,
            legacy,
            kdf,
            salt,
            db_id: random_id()?,
            verify,
        };
        Ok(Sealer::new(key, params))
    }

    /// The sidecar flags of a database with these parameters.
    pub(crate) fn flags(&self) -> u32 {
        FLAG_ENCRYPTED
            | match self.cipher {
                Cipher::ChaCha20Poly1305 => FLAG_CHACHA,
                _ => 0,
            }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PARAMS_LEN);
        out.push(PARAMS_VERSION);
        out.push(self.cipher.id());
        out.push(u8::from(self.legacy));
        out.extend_from_slice(&self.kdf.encode());
        out.extend_from_slice(&self.salt.0);
        out.extend_from_slice(&self.db_id);
        out.extend_from_slice(&self.verify);
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<CryptoParams> {
        let malformed = Error::Encryption("the encryption parameters in the sidecar are malformed");
        if bytes.len() != PARAMS_LEN || bytes[0] != PARAMS_VERSION || bytes[2] > 1 {
            return Err(malformed);
        }
        let cipher = Cipher::from_id(bytes[1]).map_err(crypto_error)?;
        let mut at = 3;
        let mut take = |n: usize| {
            let field = &bytes[at..at + n];
            at += n;
            field
        };
        let kdf = KdfParams::decode(take(KdfParams::ENCODED_LEN)).map_err(crypto_error)?;
        let salt = Salt(take(16).try_into().map_err(|_| Error::Encryption("malformed salt"))?);
        let db_id = take(ID_LEN).try_into().map_err(|_| Error::Encryption("malformed id"))?;
        let verify = take(VERIFY_BLOCK_LEN)
            .try_into()
            .map_err(|_| Error::Encryption("malformed verification block"))?;
        Ok(CryptoParams {
            cipher,
            legacy: bytes[2] == 1,
            kdf,
            salt,
            db_id,
            verify,
        })
    }
}

/// Seals and opens the records of one encrypted database.
pub(crate) struct Sealer {
    key: std::sync::Arc<SealKey>,
    params: CryptoParams,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer")
            .field("cipher", &self.params.cipher)
            .finish_non_exhaustive()
    }
}

/// Associated data of a sealed record.
fn record_aad(tag: u8, db_id: &[u8; ID_LEN], offset: u64) -> [u8; 8 + 1 + ID_LEN + 8] {
    let mut aad = [0u8; 8 + 1 + ID_LEN + 8];
    aad[..8].copy_from_slice(RECORD_AAD);
    aad[8] = tag;
    aad[9..9 + ID_LEN].copy_from_slice(db_id);
    aad[9 + ID_LEN..].copy_from_slice(&offset.to_le_bytes());
    aad
}

fn unauthentic(offset: u64) -> Error {
    Error::Corrupted {
        offset,
        reason: "a sealed record failed authentication: damaged, tampered with, or moved",
    }
}

impl Sealer {
    fn new(key: SealKey, params: CryptoParams) -> Sealer {
        Sealer {
            key: std::sync::Arc::new(key),
            params,
        }
    }

    pub(crate) fn params(&self) -> &CryptoParams {
        &self.params
    }

    /// The same key with `params` (the parameters of a rewritten log).
    pub(crate) fn with_params(&self, params: CryptoParams) -> Sealer {
        Sealer {
            key: std::sync::Arc::clone(&self.key),
            params,
        }
    }

    /// Bytes a plain record of `len` bytes takes once sealed.
    pub(crate) const fn sealed_len(len: usize) -> usize {
        len + emdb_crypto::OVERHEAD
    }

    /// Appends the sealed form of plain record `plain`, bound to `offset`, to `out`.
    pub(crate) fn seal(&self, plain: &[u8], offset: u64, out: &mut Vec<u8>) -> Result<()> {
        let (&tag, body) = plain
            .split_first()
            .ok_or(Error::Encryption("an empty record cannot be sealed"))?;
        let stored = tag | SEALED;
        out.push(stored);
        self.key
            .seal(body, &record_aad(stored, &self.params.db_id, offset), out)
            .map_err(crypto_error)
    }

    /// The plain record of the stored record at `offset`.
    ///
    /// # Errors
    ///
    /// `Corrupted` for a record that fails authentication, a plaintext record, or an
    /// emdb 1.0 record in a database that never held any.
    pub(crate) fn open(&self, stored: &[u8], offset: u64) -> Result<Vec<u8>> {
        let Some((&tag, body)) = stored.split_first() else {
            return Err(unauthentic(offset));
        };
        if tag & (SEALED | LEGACY) == SEALED {
            let mut out = Vec::with_capacity(body.len());
            out.push(tag & !SEALED);
            self.key
                .open(body, &record_aad(tag, &self.params.db_id, offset), &mut out)
                .map_err(|_| unauthentic(offset))?;
            return Ok(out);
        }
        if tag & (SEALED | LEGACY) == LEGACY {
            if !self.params.legacy {
                return Err(Error::Corrupted {
                    offset,
                    reason: "an emdb 1.0 record in a database that never held any",
                });
            }
            let plain = Zeroizing::new(self.key.open_legacy(body).map_err(|_| unauthentic(offset))?);
            let mut out = Vec::with_capacity(plain.len() + 1);
            out.push(tag & !LEGACY);
            out.extend_from_slice(&plain);
            return Ok(out);
        }
        Err(Error::Corrupted {
            offset,
            reason: "a plaintext record in an encrypted database",
        })
    }

    /// Seals a whole file's contents (an index snapshot) bound to `context`.
    pub(crate) fn seal_blob(&self, plain: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        let mut aad = BLOB_AAD.to_vec();
        aad.extend_from_slice(&self.params.db_id);
        aad.extend_from_slice(context);
        self.key.seal_to_vec(plain, &aad).map_err(crypto_error)
    }

    /// Opens what [`Sealer::seal_blob`] made; `None` if it does not open.
    pub(crate) fn open_blob(&self, sealed: &[u8], context: &[u8]) -> Option<Vec<u8>> {
        let mut aad = BLOB_AAD.to_vec();
        aad.extend_from_slice(&self.params.db_id);
        aad.extend_from_slice(context);
        self.key.open_to_vec(sealed, &aad).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(cipher: Cipher) -> Sealer {
        CryptoParams::create(&EncryptionInput::Key([7; 32]), cipher).expect("create")
    }

    #[test]
    fn records_round_trip_and_are_bound_to_their_offset() {
        for cipher in [Cipher::Aes256Gcm, Cipher::ChaCha20Poly1305] {
            let s = sealer(cipher);
            let mut plain = Vec::new();
            crate::engine::record::insert(&mut plain, 3, b"key", b"value", 9);
            let mut stored = Vec::new();
            s.seal(&plain, 100, &mut stored).expect("seal");
            assert_eq!(stored.len(), Sealer::sealed_len(plain.len()));
            assert_eq!(stored[0], SEALED | plain[0]);
            assert!(!stored.windows(5).any(|w| w == b"value"), "the value is hidden");
            assert_eq!(s.open(&stored, 100).expect("open"), plain);
            assert!(matches!(s.open(&stored, 101), Err(Error::Corrupted { .. })), "moved");
            let mut kind = stored.clone();
            kind[0] = SEALED | 1;
            assert!(s.open(&kind, 100).is_err(), "kind changed");
            for i in 1..stored.len() {
                let mut bad = stored.clone();
                bad[i] ^= 0x10;
                assert!(s.open(&bad, 100).is_err(), "flip at {i}");
            }
            let other = sealer(cipher);
            assert!(other.open(&stored, 100).is_err(), "another database's id");
            assert!(s.open(&plain, 100).is_err(), "a plaintext record is refused");
            assert!(s.open(&[], 100).is_err());
        }
    }

    #[test]
    fn params_round_trip_and_unlock_only_with_their_key() {
        let s = CryptoParams::create(&EncryptionInput::Key([1; 32]), Cipher::ChaCha20Poly1305).expect("create");
        let bytes = s.params().encode();
        assert_eq!(bytes.len(), PARAMS_LEN);
        let back = CryptoParams::decode(&bytes).expect("decode");
        assert_eq!(&back, s.params());
        assert!(back.unlock(&EncryptionInput::Key([1; 32])).is_ok());
        assert!(matches!(
            back.unlock(&EncryptionInput::Key([2; 32])),
            Err(Error::EncryptionKeyMismatch)
        ));
        assert!(CryptoParams::decode(&bytes[1..]).is_err());
        let mut bad = bytes.clone();
        bad[1] = 9;
        assert!(CryptoParams::decode(&bad).is_err());
        assert_eq!(back.flags(), FLAG_ENCRYPTED | FLAG_CHACHA);
    }
}
