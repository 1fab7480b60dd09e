//! Keys: raw 32-byte keys, or keys derived from a passphrase with Argon2id under a salt and
//! parameters the caller stores.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};

/// Length of a key.
pub const KEY_LEN: usize = 32;
/// Length of a key-derivation salt.
pub const SALT_LEN: usize = 16;

/// A 32-byte key. Zeroized when dropped; `Debug` never shows it; compared without an
/// early exit.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Key([u8; KEY_LEN]);

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        // Every byte is looked at whatever differs first.
        self.0.iter().zip(other.0.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

impl Eq for Key {}

impl Key {
    /// A key from raw bytes. The caller's own copy is the caller's to wipe.
    #[must_use]
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Key {
        Key(bytes)
    }

    /// A fresh random key from the operating system's generator.
    ///
    /// # Errors
    ///
    /// [`Error::Rng`] when the generator fails.
    pub fn generate() -> Result<Key> {
        let mut bytes = [0u8; KEY_LEN];
        crate::fill_random(&mut bytes)?;
        let key = Key(bytes);
        bytes.zeroize();
        Ok(key)
    }

    /// Derives a key from `passphrase` with Argon2id (version 0x13) under `salt` and
    /// `params`. Deterministic: the same inputs give the same key, so store the salt and
    /// the parameters (see [`KdfParams::encode`]) beside the data.
    ///
    /// # Errors
    ///
    /// [`Error::BadKdfParams`] for parameters out of range or an empty passphrase.
    pub fn derive(passphrase: &[u8], salt: &Salt, params: &KdfParams) -> Result<Key> {
        params.validate()?;
        if passphrase.is_empty() {
            return Err(Error::BadKdfParams("the passphrase is empty"));
        }
        let argon_params = argon2::Params::new(params.memory_kib, params.iterations, params.parallelism, Some(KEY_LEN))
            .map_err(|_| Error::BadKdfParams("argon2 refused the parameters"))?;
        let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, argon_params);
        let mut bytes = [0u8; KEY_LEN];
        argon
            .hash_password_into(passphrase, &salt.0, &mut bytes)
            .map_err(|_| Error::BadKdfParams("argon2 failed to derive a key"))?;
        let key = Key(bytes);
        bytes.zeroize();
        Ok(key)
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

/// A key-derivation salt: random, per database, not secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Salt(pub [u8; SALT_LEN]);

impl Salt {
    /// A fresh random salt.
    ///
    /// # Errors
    ///
    /// [`Error::Rng`] when the operating system's generator fails.
    pub fn random() -> Result<Salt> {
        let mut bytes = [0u8; SALT_LEN];
        crate::fill_random(&mut bytes)?;
        Ok(Salt(bytes))
    }
}

/// Argon2id parameters. Stored by the caller next to the salt (13 bytes, see
/// [`KdfParams::encode`]), so the defaults can be raised later without breaking old data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KdfParams {
    /// Memory cost in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub iterations: u32,
    /// Degree of parallelism (lanes).
    pub parallelism: u32,
}

impl KdfParams {
    /// The default for new data: 64 MiB, 3 passes, 1 lane (RFC 9106's second recommended
    /// setting, with one lane since the derivation runs on one thread). 0.11 s measured on
    /// a current Xeon core; above the OWASP minimum (19 MiB, 2 passes, 14 ms there).
    pub const RECOMMENDED: KdfParams = KdfParams {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 1,
    };

    /// What emdb 1.0 used, fixed and unstored: 19,456 KiB, 2 passes, 1 lane.
    pub const EMDB_V1: KdfParams = KdfParams {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };

    /// Length of [`KdfParams::encode`]'s output.
    pub const ENCODED_LEN: usize = 13;
    const VERSION: u8 = 1;

    /// Checks the parameters: 1–16 lanes, 1–16 passes, memory from 8 KiB per lane (and at
    /// least 64 KiB) up to 1 GiB. The caps bound what a hostile file can make
    /// [`Key::derive`] spend (1 GiB and a few seconds); a caller with tighter limits checks
    /// decoded parameters against its own before deriving.
    ///
    /// # Errors
    ///
    /// [`Error::BadKdfParams`] naming what is out of range.
    pub fn validate(&self) -> Result<()> {
        if !(1..=16).contains(&self.parallelism) {
            return Err(Error::BadKdfParams("parallelism must be 1 to 16"));
        }
        if !(1..=16).contains(&self.iterations) {
            return Err(Error::BadKdfParams("iterations must be 1 to 16"));
        }
        if self.memory_kib < 64.max(8 * self.parallelism) || self.memory_kib > 1024 * 1024 {
            return Err(Error::BadKdfParams("memory must be 64 KiB (8 KiB per lane) to 1 GiB"));
        }
        Ok(())
    }

    /// The parameters as 13 bytes: version 1, then memory, passes and lanes as
    /// little-endian u32.
    #[must_use]
    pub fn encode(&self) -> [u8; Self::ENCODED_LEN] {
        let mut out = [0u8; Self::ENCODED_LEN];
        out[0] = Self::VERSION;
        out[1..5].copy_from_slice(&self.memory_kib.to_le_bytes());
        out[5..9].copy_from_slice(&self.iterations.to_le_bytes());
        out[9..13].copy_from_slice(&self.parallelism.to_le_bytes());
        out
    }

    /// Parameters from [`KdfParams::encode`]'s bytes (exactly 13), validated.
    ///
    /// # Errors
    ///
    /// [`Error::WrongLength`], [`Error::UnknownVersion`], or [`Error::BadKdfParams`].
    pub fn decode(bytes: &[u8]) -> Result<KdfParams> {
        if bytes.len() != Self::ENCODED_LEN {
            return Err(Error::WrongLength {
                len: bytes.len(),
                expected: Self::ENCODED_LEN,
            });
        }
        let b = bytes;
        if b[0] != Self::VERSION {
            return Err(Error::UnknownVersion { found: b[0] });
        }
        let u = |at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let params = KdfParams {
            memory_kib: u(1),
            iterations: u(5),
            parallelism: u(9),
        };
        params.validate()?;
        Ok(params)
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::RECOMMENDED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: KdfParams = KdfParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn derivation_is_deterministic_and_sensitive_to_every_input() -> Result<()> {
        let salt = Salt([7; SALT_LEN]);
        let a = Key::derive(b"correct horse", &salt, &FAST)?;
        assert_eq!(a, Key::derive(b"correct horse", &salt, &FAST)?);
        assert_ne!(a, Key::derive(b"correct horsf", &salt, &FAST)?);
        assert_ne!(a, Key::derive(b"correct horse", &Salt([8; SALT_LEN]), &FAST)?);
        let more = KdfParams { iterations: 2, ..FAST };
        assert_ne!(a, Key::derive(b"correct horse", &salt, &more)?);
        Ok(())
    }

    #[test]
    fn bad_parameters_and_records_are_refused() {
        let salt = Salt([0; SALT_LEN]);
        assert!(matches!(Key::derive(b"", &salt, &FAST), Err(Error::BadKdfParams(_))));
        for bad in [
            KdfParams { parallelism: 0, ..FAST },
            KdfParams {
                parallelism: 17,
                ..FAST
            },
            KdfParams { iterations: 0, ..FAST },
            KdfParams { memory_kib: 8, ..FAST },
            KdfParams {
                memory_kib: u32::MAX,
                ..FAST
            },
        ] {
            assert!(
                matches!(Key::derive(b"x", &salt, &bad), Err(Error::BadKdfParams(_))),
                "{bad:?}"
            );
        }
        let encoded = KdfParams::RECOMMENDED.encode();
        assert_eq!(KdfParams::decode(&encoded).ok(), Some(KdfParams::RECOMMENDED));
        assert!(matches!(
            KdfParams::decode(&encoded[..12]),
            Err(Error::WrongLength { len: 12, expected: 13 })
        ));
        let mut longer = encoded.to_vec();
        longer.push(0);
        assert!(matches!(
            KdfParams::decode(&longer),
            Err(Error::WrongLength { len: 14, .. })
        ));
        let mut v2 = encoded;
        v2[0] = 2;
        assert!(matches!(
            KdfParams::decode(&v2),
            Err(Error::UnknownVersion { found: 2 })
        ));
        let mut zero_lanes = encoded;
        zero_lanes[9..13].copy_from_slice(&0u32.to_le_bytes());
        assert!(matches!(KdfParams::decode(&zero_lanes), Err(Error::BadKdfParams(_))));
    }

    #[test]
    fn keys_are_redacted_and_wiped() {
        let key = Key::from_bytes([0xAB; KEY_LEN]);
        assert_eq!(format!("{key:?}"), "Key(<redacted>)");
        fn wiped_on_drop<T: ZeroizeOnDrop>() {}
        wiped_on_drop::<Key>();
        let mut k = Key::generate().expect("rng");
        assert_ne!(k.bytes(), &[0; KEY_LEN]);
        k.zeroize();
        assert_eq!(k.bytes(), &[0; KEY_LEN]);
    }
}
