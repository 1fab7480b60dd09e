//! Round trips, and every way an envelope can be wrong: other associated data, another
//! key, the other cipher, every truncation, every flipped bit of every byte. Opening
//! never returns plaintext for bytes that were not sealed as given, and never panics.

use emdb_crypto::{Cipher, Error, Key, OVERHEAD, SealKey, parse_envelope};
use proptest::prelude::*;

const CIPHERS: [Cipher; 2] = [Cipher::Aes256Gcm, Cipher::ChaCha20Poly1305];

fn seal_key(byte: u8, cipher: Cipher) -> SealKey {
    SealKey::new(&Key::from_bytes([byte; 32]), cipher).expect("rng")
}

/// For each cipher: the key of `byte`s, and `plain` sealed under it with `aad`.
fn sealed_under_each_cipher(byte: u8, plain: &[u8], aad: &[u8]) -> Result<Vec<(Cipher, SealKey, Vec<u8>)>, Error> {
    CIPHERS
        .into_iter()
        .map(|cipher| {
            let key = seal_key(byte, cipher);
            let sealed = key.seal_to_vec(plain, aad)?;
            Ok((cipher, key, sealed))
        })
        .collect()
}

#[test]
fn round_trips_for_every_size_around_block_boundaries() -> Result<(), Error> {
    for cipher in CIPHERS {
        let key = seal_key(1, cipher);
        for len in (0..=70).chain([255, 256, 257, 4096, 65_537]) {
            let plain: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let sealed = key.seal_to_vec(&plain, b"aad")?;
            assert_eq!(sealed.len(), len + OVERHEAD);
            if len >= 8 {
                assert_ne!(&sealed[14..22], &plain[..8], "ciphertext is not the plaintext");
            }
            assert_eq!(key.open_to_vec(&sealed, b"aad")?, plain);
            let parts = parse_envelope(&sealed)?;
            assert_eq!((parts.cipher, parts.ciphertext.len()), (cipher, len));
        }
    }
    Ok(())
}

#[test]
fn the_same_plaintext_never_seals_the_same_way_twice() -> Result<(), Error> {
    let key = seal_key(2, Cipher::Aes256Gcm);
    let a = key.seal_to_vec(b"same", b"")?;
    let b = key.seal_to_vec(b"same", b"")?;
    assert_ne!(a, b, "a fresh nonce per seal");
    let other_session = seal_key(2, Cipher::Aes256Gcm);
    let c = other_session.seal_to_vec(b"same", b"")?;
    assert_ne!(
        parse_envelope(&a)?.nonce,
        parse_envelope(&c)?.nonce,
        "sessions draw different prefixes"
    );
    Ok(())
}

#[test]
fn other_aad_other_key_and_other_cipher_are_refused() -> Result<(), Error> {
    for (cipher, key, sealed) in sealed_under_each_cipher(3, b"record", b"ns=1;offset=4096")? {
        assert!(matches!(
            key.open_to_vec(&sealed, b"ns=1;offset=4097"),
            Err(Error::TagMismatch)
        ));
        assert!(matches!(key.open_to_vec(&sealed, b""), Err(Error::TagMismatch)));
        assert!(matches!(
            seal_key(4, cipher).open_to_vec(&sealed, b"ns=1;offset=4096"),
            Err(Error::TagMismatch)
        ));
        let other = if cipher == Cipher::Aes256Gcm {
            Cipher::ChaCha20Poly1305
        } else {
            Cipher::Aes256Gcm
        };
        assert!(matches!(
            seal_key(3, other).open_to_vec(&sealed, b"ns=1;offset=4096"),
            Err(Error::CipherMismatch { .. })
        ));
    }
    Ok(())
}

#[test]
fn every_truncation_is_refused() -> Result<(), Error> {
    for (_cipher, key, sealed) in sealed_under_each_cipher(5, b"a record of some length", b"aad")? {
        for cut in 0..sealed.len() {
            match key.open_to_vec(&sealed[..cut], b"aad") {
                Err(Error::TooShort { len, min: OVERHEAD }) => assert!(cut < OVERHEAD && len == cut),
                Err(Error::TagMismatch) => assert!(cut >= OVERHEAD),
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
    }
    Ok(())
}

#[test]
fn every_flipped_bit_is_refused() -> Result<(), Error> {
    for (cipher, key, sealed) in sealed_under_each_cipher(6, b"flip every bit of me", b"aad")? {
        for at in 0..sealed.len() {
            for bit in 0..8 {
                let mut damaged = sealed.clone();
                damaged[at] ^= 1 << bit;
                let result = key.open_to_vec(&damaged, b"aad");
                let expected = match at {
                    0 => matches!(result, Err(Error::UnknownVersion { .. })),
                    1 => matches!(result, Err(Error::UnknownCipher { .. } | Error::CipherMismatch { .. })),
                    _ => matches!(result, Err(Error::TagMismatch)),
                };
                assert!(expected, "{cipher:?}: bit {bit} of byte {at}: {result:?}");
            }
        }
    }
    Ok(())
}

#[test]
fn reseal_moves_a_record_to_a_new_key_and_new_place() -> Result<(), Error> {
    let old = seal_key(7, Cipher::Aes256Gcm);
    let new = seal_key(8, Cipher::ChaCha20Poly1305);
    let sealed = old.seal_to_vec(b"rotate me", b"old place")?;
    let mut out = b"prefix:".to_vec();
    old.reseal(&sealed, b"old place", &new, b"new place", &mut out)?;
    assert_eq!(new.open_to_vec(&out[7..], b"new place")?, b"rotate me");
    assert!(old.open_to_vec(&out[7..], b"new place").is_err());
    // A reseal that cannot open leaves the output as it was.
    let mut untouched = b"prefix:".to_vec();
    assert!(old.reseal(&sealed, b"wrong place", &new, b"x", &mut untouched).is_err());
    assert_eq!(untouched, b"prefix:");
    Ok(())
}

#[test]
fn debug_output_names_no_secret() {
    let key = Key::from_bytes([0x5A; 32]);
    let seal = SealKey::new(&key, Cipher::Aes256Gcm).expect("rng");
    for text in [format!("{key:?}"), format!("{seal:?}")] {
        assert!(
            !text.contains("5A") && !text.contains("5a") && !text.contains("90"),
            "{text}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn open_of_seal_is_identity(plain in proptest::collection::vec(any::<u8>(), 0..2048),
                                aad in proptest::collection::vec(any::<u8>(), 0..64),
                                chacha in any::<bool>()) {
        let key = seal_key(9, if chacha { Cipher::ChaCha20Poly1305 } else { Cipher::Aes256Gcm });
        let sealed = key.seal_to_vec(&plain, &aad).expect("seal");
        prop_assert_eq!(key.open_to_vec(&sealed, &aad).expect("open"), plain);
    }

    #[test]
    fn a_flipped_bit_never_opens(plain in proptest::collection::vec(any::<u8>(), 0..512),
                                 at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let key = seal_key(10, Cipher::Aes256Gcm);
        let mut sealed = key.seal_to_vec(&plain, b"a").expect("seal");
        let at = at.index(sealed.len());
        sealed[at] ^= 1 << bit;
        prop_assert!(key.open_to_vec(&sealed, b"a").is_err());
    }

    #[test]
    fn arbitrary_bytes_never_open_and_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        for cipher in CIPHERS {
            let key = seal_key(11, cipher);
            prop_assert!(key.open_to_vec(&bytes, b"").is_err());
            prop_assert!(key.open_legacy(&bytes).is_err());
        }
        let _ = parse_envelope(&bytes);
    }
}
