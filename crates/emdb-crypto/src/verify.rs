//! Verification blocks: a known constant sealed at creation, so that opening with the
//! wrong key is told apart from damaged data.
//!
//! ```text
//! offset  size  field
//! 0       62    envelope of the 32-byte constant, associated data "emdb-crypto verify"
//! 62      4     CRC-32C of bytes 0..62, little-endian
//! ```
//!
//! The checksum separates the two failures: a block whose checksum fails is damaged
//! ([`Error::DamagedVerifyBlock`]); a whole block that does not open is a wrong key
//! ([`Error::WrongKey`]).

use crate::envelope::{OVERHEAD, SealKey};
use crate::error::{Error, Result};

/// The sealed constant.
const PLAINTEXT: &[u8; 32] = b"emdb-crypto key verification v1.";
const AAD: &[u8] = b"emdb-crypto verify";
/// Length of a verification block.
pub const VERIFY_BLOCK_LEN: usize = OVERHEAD + PLAINTEXT.len() + 4;
/// Length of emdb 1.0's verification block (nonce, sealed constant, tag).
pub const LEGACY_VERIFY_BLOCK_LEN: usize = 60;
/// emdb 1.0's sealed constant.
const LEGACY_PLAINTEXT: &[u8; 32] = b"EMDB-ENCRYPT-OK\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

/// A new verification block for `key`.
///
/// # Errors
///
/// The errors of [`SealKey::seal`].
pub fn verify_block(key: &SealKey) -> Result<[u8; VERIFY_BLOCK_LEN]> {
    let sealed = key.seal_to_vec(PLAINTEXT, AAD)?;
    let mut block = [0u8; VERIFY_BLOCK_LEN];
    let body = VERIFY_BLOCK_LEN - 4;
    if sealed.len() != body {
        return Err(Error::Seal);
    }
    block[..body].copy_from_slice(&sealed);
    block[body..].copy_from_slice(&crc32c::crc32c(&sealed).to_le_bytes());
    Ok(block)
}

/// Checks that `key` is the key `block` was made with.
///
/// # Errors
///
/// [`Error::WrongLength`] for a block of the wrong length, [`Error::DamagedVerifyBlock`]
/// when its checksum fails, [`Error::WrongKey`] when it does not open, and
/// [`Error::CipherMismatch`] / [`Error::UnknownVersion`] / [`Error::UnknownCipher`] from
/// its header.
pub fn check_verify_block(key: &SealKey, block: &[u8]) -> Result<()> {
    if block.len() != VERIFY_BLOCK_LEN {
        return Err(Error::WrongLength {
            len: block.len(),
            expected: VERIFY_BLOCK_LEN,
        });
    }
    let (body, crc) = block.split_at(VERIFY_BLOCK_LEN - 4);
    if crc32c::crc32c(body).to_le_bytes() != crc {
        return Err(Error::DamagedVerifyBlock);
    }
    match key.open_to_vec(body, AAD) {
        Ok(plain) if plain == PLAINTEXT => Ok(()),
        Ok(_) | Err(Error::TagMismatch) => Err(Error::WrongKey),
        Err(e) => Err(e),
    }
}

/// Checks an emdb 1.0 verification block (60 bytes, no checksum of its own: emdb 1.0's
/// sidecar checksums it).
///
/// # Errors
///
/// [`Error::WrongLength`] for another length, [`Error::WrongKey`] when it does not open.
pub fn check_legacy_verify_block(key: &SealKey, block: &[u8]) -> Result<()> {
    if block.len() != LEGACY_VERIFY_BLOCK_LEN {
        return Err(Error::WrongLength {
            len: block.len(),
            expected: LEGACY_VERIFY_BLOCK_LEN,
        });
    }
    match key.open_legacy(block) {
        Ok(plain) if plain == LEGACY_PLAINTEXT => Ok(()),
        Ok(_) | Err(Error::TagMismatch) => Err(Error::WrongKey),
        Err(e) => Err(e),
    }
}
