//! Verification blocks tell a wrong key from damaged data, and emdb 1.0's blocks still
//! check.

use emdb_crypto::{
    Cipher, Error, KdfParams, Key, LEGACY_VERIFY_BLOCK_LEN, Salt, SealKey, VERIFY_BLOCK_LEN, check_legacy_verify_block,
    check_verify_block, verify_block,
};

const FAST: KdfParams = KdfParams {
    memory_kib: 256,
    iterations: 1,
    parallelism: 1,
};

#[test]
fn the_right_key_passes_a_wrong_one_is_named() -> Result<(), Error> {
    for cipher in [Cipher::Aes256Gcm, Cipher::ChaCha20Poly1305] {
        let salt = Salt::random()?;
        let key = SealKey::new(&Key::derive(b"right", &salt, &FAST)?, cipher)?;
        let block = verify_block(&key)?;
        assert_eq!(block.len(), VERIFY_BLOCK_LEN);
        let again = SealKey::new(&Key::derive(b"right", &salt, &FAST)?, cipher)?;
        check_verify_block(&again, &block)?;
        let wrong = SealKey::new(&Key::derive(b"wrong", &salt, &FAST)?, cipher)?;
        assert!(matches!(check_verify_block(&wrong, &block), Err(Error::WrongKey)));
        let other_salt = SealKey::new(&Key::derive(b"right", &Salt::random()?, &FAST)?, cipher)?;
        assert!(matches!(check_verify_block(&other_salt, &block), Err(Error::WrongKey)));
    }
    Ok(())
}

#[test]
fn damage_is_not_reported_as_a_wrong_key() -> Result<(), Error> {
    let key = SealKey::new(&Key::generate()?, Cipher::Aes256Gcm)?;
    let block = verify_block(&key)?;
    for at in 0..block.len() {
        let mut damaged = block;
        damaged[at] ^= 0x01;
        assert!(
            matches!(check_verify_block(&key, &damaged), Err(Error::DamagedVerifyBlock)),
            "flip at {at}"
        );
    }
    for cut in 0..block.len() {
        assert!(matches!(
            check_verify_block(&key, &block[..cut]),
            Err(Error::WrongLength { .. })
        ));
    }
    Ok(())
}

#[test]
fn an_emdb_1_block_checks_with_the_right_key_only() -> Result<(), Error> {
    // An emdb 1.0 block is the raw AEAD of its 32-byte constant: nonce, ciphertext, tag.
    use aes_gcm::aead::{AeadInPlace, KeyInit};
    let raw_key = [0x33u8; 32];
    let nonce = [9u8; 12];
    let cipher = aes_gcm::Aes256Gcm::new((&raw_key).into());
    let mut body = b"EMDB-ENCRYPT-OK\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0".to_vec();
    let tag = cipher
        .encrypt_in_place_detached((&nonce).into(), b"", &mut body)
        .map_err(|_| Error::Seal)?;
    let mut block = nonce.to_vec();
    block.extend_from_slice(&body);
    block.extend_from_slice(&tag);
    assert_eq!(block.len(), LEGACY_VERIFY_BLOCK_LEN);
    check_legacy_verify_block(&SealKey::new(&Key::from_bytes(raw_key), Cipher::Aes256Gcm)?, &block)?;
    let wrong = SealKey::new(&Key::from_bytes([0x34; 32]), Cipher::Aes256Gcm)?;
    assert!(matches!(
        check_legacy_verify_block(&wrong, &block),
        Err(Error::WrongKey)
    ));
    assert!(matches!(
        check_legacy_verify_block(&wrong, &block[..59]),
        Err(Error::WrongLength { .. })
    ));
    Ok(())
}
