//! Arbitrary bytes through every parser of `emdb-crypto`: envelopes, emdb 1.0 payloads,
//! verification blocks (both layouts) and KDF parameter records. None may panic, what
//! they accept must be consistent with the bytes, and nothing opens that was not sealed.
//! Then the same bytes as a payload: sealed, it opens again, and damaged it does not.
#![no_main]

use std::sync::LazyLock;

use emdb_crypto::{
    Cipher, ENVELOPE_VERSION, Error, HEADER_LEN, KdfParams, Key, LEGACY_VERIFY_BLOCK_LEN, NONCE_LEN, OVERHEAD, SealKey,
    TAG_LEN, VERIFY_BLOCK_LEN, check_legacy_verify_block, check_verify_block, parse_envelope,
};
use libfuzzer_sys::fuzz_target;

/// Fixed keys, one per cipher (a `SealKey` is built once: it draws its nonce prefix from
/// the OS and expands the key schedule).
static KEYS: LazyLock<[SealKey; 2]> = LazyLock::new(|| {
    let key = Key::from_bytes([0x5a; 32]);
    [Cipher::Aes256Gcm, Cipher::ChaCha20Poly1305].map(|c| SealKey::new(&key, c).expect("rng"))
});

fuzz_target!(|bytes: &[u8]| {
    check_parse(bytes);
    let aad = &bytes[..bytes.len().min(4)];
    for key in KEYS.iter() {
        check_open(key, bytes, aad);
        check_legacy(key, bytes);
        check_verify(key, bytes);
        check_legacy_verify(key, bytes);
        check_seal_then_damage(key, bytes, aad);
    }
    check_kdf_params(bytes);
});

fn check_parse(bytes: &[u8]) {
    match parse_envelope(bytes) {
        Ok(parts) => {
            assert!(bytes.len() >= OVERHEAD);
            assert_eq!(bytes[0], ENVELOPE_VERSION);
            assert_eq!(parts.cipher.id(), bytes[1]);
            assert_eq!(&parts.nonce[..], &bytes[2..HEADER_LEN]);
            assert_eq!(parts.ciphertext, &bytes[HEADER_LEN..bytes.len() - TAG_LEN]);
            assert_eq!(&parts.tag[..], &bytes[bytes.len() - TAG_LEN..]);
        }
        Err(Error::TooShort { len, min }) => assert!(len == bytes.len() && min == OVERHEAD && len < min),
        Err(Error::UnknownVersion { found }) => assert!(found == bytes[0] && found != ENVELOPE_VERSION),
        Err(Error::UnknownCipher { id }) => assert!(id == bytes[1] && Cipher::from_id(id).is_err()),
        Err(e) => panic!("parse_envelope: unexpected {e:?}"),
    }
}

fn check_open(key: &SealKey, bytes: &[u8], aad: &[u8]) {
    let mut out = b"kept".to_vec();
    match key.open(bytes, aad, &mut out) {
        Ok(()) => {
            // Only possible for bytes a key sealed: then they must parse, for this cipher,
            // and the plaintext is as long as the ciphertext.
            let parts = parse_envelope(bytes).expect("an envelope that opened does not parse");
            assert_eq!(parts.cipher, key.cipher());
            assert_eq!(out.len() - 4, parts.ciphertext.len());
            assert_eq!(&out[..4], b"kept");
        }
        Err(e) => {
            assert_eq!(out, b"kept", "a failed open appended bytes");
            match (&e, parse_envelope(bytes)) {
                (Error::TagMismatch, Ok(parts)) => assert_eq!(parts.cipher, key.cipher()),
                (Error::CipherMismatch { envelope, key: k }, Ok(parts)) => {
                    assert_eq!((*envelope, *k), (parts.cipher, key.cipher()));
                    assert_ne!(*envelope, *k);
                }
                (_, Err(parse_error)) => assert_eq!(e.to_string(), parse_error.to_string()),
                (_, Ok(_)) => panic!("open: unexpected {e:?}"),
            }
            assert!(!e.to_string().is_empty());
        }
    }
    let to_vec = key.open_to_vec(bytes, aad);
    assert_eq!(to_vec.is_ok(), out.len() > 4, "open and open_to_vec disagree");
}

fn check_legacy(key: &SealKey, bytes: &[u8]) {
    let min = NONCE_LEN + TAG_LEN;
    match key.open_legacy(bytes) {
        Ok(plain) => assert_eq!(plain.len() + min, bytes.len()),
        Err(Error::TooShort { len, min: m }) => assert!(len == bytes.len() && m == min && len < min),
        Err(Error::TagMismatch) => assert!(bytes.len() >= min),
        Err(e) => panic!("open_legacy: unexpected {e:?}"),
    }
}

fn check_verify(key: &SealKey, bytes: &[u8]) {
    let result = check_verify_block(key, bytes);
    if bytes.len() != VERIFY_BLOCK_LEN {
        assert!(matches!(result, Err(Error::WrongLength { len, .. }) if len == bytes.len()));
        return;
    }
    let (body, crc) = bytes.split_at(VERIFY_BLOCK_LEN - 4);
    let crc_ok = crc32c(body).to_le_bytes() == crc;
    match result {
        Ok(()) => assert!(crc_ok && key.open_to_vec(body, b"emdb-crypto verify").is_ok()),
        Err(Error::DamagedVerifyBlock) => assert!(!crc_ok),
        Err(Error::WrongKey) => assert!(crc_ok && parse_envelope(body).is_ok()),
        Err(Error::CipherMismatch { .. } | Error::UnknownVersion { .. } | Error::UnknownCipher { .. }) => {
            assert!(crc_ok && key.open_to_vec(body, b"emdb-crypto verify").is_err());
        }
        Err(e) => panic!("check_verify_block: unexpected {e:?}"),
    }
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit: the verification
/// block's checksum, recomputed here without a dependency.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0x82F6_3B78 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

fn check_legacy_verify(key: &SealKey, bytes: &[u8]) {
    match check_legacy_verify_block(key, bytes) {
        Ok(()) => assert!(bytes.len() == LEGACY_VERIFY_BLOCK_LEN && key.open_legacy(bytes).is_ok()),
        Err(Error::WrongLength { len, .. }) => assert!(len == bytes.len() && len != LEGACY_VERIFY_BLOCK_LEN),
        Err(Error::WrongKey) => assert_eq!(bytes.len(), LEGACY_VERIFY_BLOCK_LEN),
        Err(e) => panic!("check_legacy_verify_block: unexpected {e:?}"),
    }
}

/// The input as a payload: it opens after sealing; one flipped bit (position chosen by the
/// input), a truncation, or other associated data, and it does not.
fn check_seal_then_damage(key: &SealKey, bytes: &[u8], aad: &[u8]) {
    let sealed = key.seal_to_vec(bytes, aad).expect("seal");
    assert_eq!(sealed.len(), bytes.len() + OVERHEAD);
    assert_eq!(key.open_to_vec(&sealed, aad).expect("open what was sealed"), bytes);

    let pick = bytes
        .iter()
        .fold(0usize, |h, &b| h.wrapping_mul(31).wrapping_add(usize::from(b)));
    let mut flipped = sealed.clone();
    flipped[pick % sealed.len()] ^= 1 << (pick / sealed.len() % 8);
    assert!(key.open_to_vec(&flipped, aad).is_err(), "a flipped bit opened");
    assert!(
        key.open_to_vec(&sealed[..pick % sealed.len()], aad).is_err(),
        "a truncation opened"
    );
    let mut other_aad = aad.to_vec();
    other_aad.push(0);
    assert!(matches!(key.open_to_vec(&sealed, &other_aad), Err(Error::TagMismatch)));
}

fn check_kdf_params(bytes: &[u8]) {
    match KdfParams::decode(bytes) {
        Ok(params) => {
            assert!(params.validate().is_ok());
            assert_eq!(&params.encode()[..], bytes);
        }
        Err(Error::WrongLength { len, expected }) => {
            assert!(len == bytes.len() && expected == KdfParams::ENCODED_LEN && len != expected);
        }
        Err(Error::UnknownVersion { found }) => assert_eq!(found, bytes[0]),
        Err(Error::BadKdfParams(why)) => assert!(!why.is_empty()),
        Err(e) => panic!("KdfParams::decode: unexpected {e:?}"),
    }
}
