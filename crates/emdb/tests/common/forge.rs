//! Tools of an attacker (or of a disk gone bad) for the encryption tests: walking the
//! frames of a log, rewriting a frame with a valid checksum, editing a sidecar and fixing
//! its checksum, and writing databases the way emdb 1.0 wrote encrypted ones.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::Path;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use emdb_journal::frame;

/// A whole frame found in a log: where it starts and its payload's range in the file.
#[derive(Clone, Debug)]
pub struct FrameAt {
    pub start: usize,
    pub payload: std::ops::Range<usize>,
}

/// The valid frames at the start of `log`, in order (stops at the first non-frame: the
/// zeroed space the journal reserves past its end).
pub fn frames(log: &[u8]) -> Vec<FrameAt> {
    let mut out = Vec::new();
    let mut at = 0;
    while let frame::Decoded::Frame { payload, len } = frame::decode(&log[at..]) {
        out.push(FrameAt {
            start: at,
            payload: at + payload.start..at + payload.end,
        });
        at += len;
    }
    out
}

/// Where the log's frames end.
pub fn log_end(log: &[u8]) -> usize {
    frames(log).last().map_or(0, |f| f.payload.end + frame::TRAILER_LEN)
}

/// Recomputes the checksum of the frame at `f` after its payload was edited in place.
pub fn fix_crc(log: &mut [u8], f: &FrameAt) {
    let crc = crc32c::crc32c(&log[f.start..f.payload.end]);
    log[f.payload.end..f.payload.end + 4].copy_from_slice(&crc.to_le_bytes());
}

/// A whole frame around `payload`.
pub fn frame_of(payload: &[u8]) -> Vec<u8> {
    let mut out = frame::header(payload.len()).to_vec();
    out.extend_from_slice(payload);
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Offset of a version-2 sidecar's engine area.
pub const META_AREA: usize = 56;

/// Applies `edit` to the sidecar at `meta` and fixes its CRC-32C (version 2).
pub fn edit_meta(meta: &Path, edit: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = std::fs::read(meta).expect("read meta");
    edit(&mut bytes);
    let body = bytes.len() - 4;
    let crc = crc32c::crc32c(&bytes[..body]);
    bytes[body..].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(meta, bytes).expect("write meta");
}

/// Where the encryption section's body starts in a version-2 sidecar written by emdb
/// (the section comes first: tag `C`, length, body).
pub const CRYPTO_BODY: usize = META_AREA + 3;

/// emdb 1.0's cipher choice for a hand-made legacy database.
#[derive(Clone, Copy, Debug)]
pub enum LegacyCipher {
    Aes,
    ChaCha,
}

/// Seals `plain` the way emdb 1.0 did: random nonce, no associated data; returns
/// nonce ‖ ciphertext ‖ tag.
pub fn legacy_seal(cipher: LegacyCipher, key: &[u8; 32], nonce: [u8; 12], plain: &[u8]) -> Vec<u8> {
    let mut body = plain.to_vec();
    let tag = match cipher {
        LegacyCipher::Aes => {
            aes_gcm::Aes256Gcm::new(key.into()).encrypt_in_place_detached(&nonce.into(), b"", &mut body)
        }
        LegacyCipher::ChaCha => {
            chacha20poly1305::ChaCha20Poly1305::new(key.into()).encrypt_in_place_detached(&nonce.into(), b"", &mut body)
        }
    }
    .expect("seal");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&body);
    out.extend_from_slice(&tag);
    out
}

/// The key emdb 1.0 derived from a passphrase: Argon2id v0x13, 19,456 KiB, 2 passes,
/// 1 lane, 32 bytes.
pub fn legacy_derive(passphrase: &str, salt: &[u8; 16]) -> [u8; 32] {
    let params = argon2::Params::new(19_456, 2, 1, Some(32)).expect("params");
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    argon
        .hash_password_into(passphrase.as_bytes(), salt, &mut out)
        .expect("derive");
    out
}

/// An emdb 1.0 insert record's plain bytes.
pub fn plain_insert(ns: u32, key: &[u8], value: &[u8], expires_at: u64) -> Vec<u8> {
    let mut r = vec![0u8];
    r.extend_from_slice(&ns.to_le_bytes());
    r.extend_from_slice(&(key.len() as u32).to_le_bytes());
    r.extend_from_slice(key);
    r.extend_from_slice(&(value.len() as u32).to_le_bytes());
    r.extend_from_slice(value);
    r.extend_from_slice(&expires_at.to_le_bytes());
    r
}

/// An emdb 1.0 namespace bind record's plain bytes.
pub fn plain_bind(ns: u32, name: &[u8]) -> Vec<u8> {
    let mut r = vec![2u8];
    r.extend_from_slice(&ns.to_le_bytes());
    r.extend_from_slice(&(name.len() as u32).to_le_bytes());
    r.extend_from_slice(name);
    r
}

/// Writes an encrypted database the way emdb 1.0 did: one frame per record, each record
/// `[tag | 0x80][nonce][ciphertext][tag]` of the plain body, and a 112-byte version-1
/// sidecar holding the salt and the sealed check constant.
pub fn write_legacy_db(path: &Path, cipher: LegacyCipher, key: &[u8; 32], salt: [u8; 16], records: &[Vec<u8>]) {
    let mut log = Vec::new();
    for (i, plain) in records.iter().enumerate() {
        let mut nonce = [0u8; 12];
        nonce[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
        let mut payload = vec![plain[0] | 0x80];
        payload.extend_from_slice(&legacy_seal(cipher, key, nonce, &plain[1..]));
        log.extend_from_slice(&frame_of(&payload));
    }
    std::fs::write(path, &log).expect("write legacy log");
    let mut meta = Vec::with_capacity(112);
    meta.extend_from_slice(b"EMDB-META\0\0\0\0\0\0\0");
    meta.extend_from_slice(&1u32.to_le_bytes());
    let flags: u32 = match cipher {
        LegacyCipher::Aes => 1,
        LegacyCipher::ChaCha => 3,
    };
    meta.extend_from_slice(&flags.to_le_bytes());
    meta.extend_from_slice(&1_700_000_000_000u64.to_le_bytes());
    meta.extend_from_slice(&salt);
    let check = *b"EMDB-ENCRYPT-OK\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
    meta.extend_from_slice(&legacy_seal(cipher, key, [9; 12], &check));
    assert_eq!(meta.len(), 108);
    let crc = crc32fast::hash(&meta);
    meta.extend_from_slice(&crc.to_le_bytes());
    std::fs::write(super::sibling(path, ".meta"), meta).expect("write legacy meta");
}

/// Every file of the database at `path` (log, sidecar, index snapshot, backups), read
/// whole, so a test can look for plaintext in any of them.
pub fn all_files(path: &Path) -> Vec<(String, Vec<u8>)> {
    let dir = path.parent().expect("parent");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            out.push((name, std::fs::read(entry.path()).unwrap_or_default()));
        }
    }
    out
}

/// Panics if any file of the database holds `needle`.
pub fn assert_nowhere(path: &Path, needle: &[u8]) {
    for (name, bytes) in all_files(path) {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "{} found in plaintext in {name}",
            String::from_utf8_lossy(needle)
        );
    }
}
