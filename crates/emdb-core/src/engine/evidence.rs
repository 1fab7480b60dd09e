//! What says a database is encrypted, for an open without a key: such an open must never
//! treat an encrypted database as plain (its later writes would be plaintext, and its next
//! sidecar replace would drop the encryption parameters).
//!
//! The signs, any one of which refuses a keyless open (`InvalidConfig`, nothing written):
//!
//! * a valid sidecar with the encrypted flag (bit 0);
//! * a valid sidecar with the flag cleared that still holds encryption parameters: an
//!   encryption section (`C`) in a version-2 engine area, or a non-zero salt or
//!   verification block (bytes 32..108) in emdb 1.0's version-1 sidecar;
//! * a damaged sidecar whose bytes, read without trusting its checksum, show the flag or
//!   the parameters;
//! * a sealed record (first byte with bit 0x40 or 0x80) anywhere in the scanned log.
//!
//! A damaged sidecar that shows none of them proves nothing either way, so the log decides:
//! a plaintext record shows the database is plain (an encrypted database holds none, see
//! `crate::crypt`), and a log with no record at all is refused unless the damaged bytes
//! still read as a plain sidecar (magic, a known version, flag clear, no parameters).

use std::path::Path;

use emdb_journal::{Meta, SidecarState};

use super::area::EngineArea;

/// Sidecar flag bit 0: the database is encrypted (emdb 1.0's meaning, kept).
const FLAG_ENCRYPTED: u32 = 1;
/// Start of the engine area in a version-2 sidecar.
const V2_AREA: usize = 56;
/// Length of emdb 1.0's version-1 sidecar.
const V1_LEN: usize = 112;

/// What a sidecar says about encryption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Evidence {
    /// It shows the database is encrypted.
    Encrypted,
    /// It shows the database is plain.
    Plain,
    /// It is missing, or too damaged to tell: the log decides.
    Unknown,
}

/// Whether a valid sidecar shows encryption: the flag, or parameters left behind the flag.
pub(crate) fn of_meta(meta: &Meta) -> Evidence {
    if meta.flags & FLAG_ENCRYPTED != 0 || holds_parameters(meta.version, &meta.engine) {
        Evidence::Encrypted
    } else {
        Evidence::Plain
    }
}

/// What the sidecar of the database at `data`, as open found it, says.
pub(crate) fn of_sidecar(sidecar: &SidecarState, data: &Path) -> Evidence {
    match sidecar {
        SidecarState::Valid(meta) => of_meta(meta),
        SidecarState::Damaged { .. } => match std::fs::read(emdb_journal::sibling(data, ".meta")) {
            Ok(bytes) => of_damaged(&bytes),
            // Unreadable now (removed meanwhile): nothing shows it plain.
            Err(_) => Evidence::Unknown,
        },
        _ => Evidence::Unknown,
    }
}

/// Whether a stored record is sealed (ours or emdb 1.0's).
pub(crate) fn is_sealed_record(stored: &[u8]) -> bool {
    stored.first().is_some_and(|t| t & 0xC0 != 0)
}

/// Whether an engine area of a sidecar of `version` holds encryption parameters.
fn holds_parameters(version: u32, engine: &[u8]) -> bool {
    if version == 1 {
        // emdb 1.0: salt and verification block, zero in a plain database.
        return engine.iter().any(|&b| b != 0);
    }
    EngineArea::decode(engine).map_or_else(|_| has_crypto_header(engine), |area| area.crypto.is_some())
}

/// Whether `bytes` hold what starts an encryption section (tag `C`, length 114, version 1)
/// anywhere: found even when a damaged length or section before it hides the section.
fn has_crypto_header(bytes: &[u8]) -> bool {
    bytes.windows(4).any(|w| w == [b'C', 114, 0, 1])
}

/// Reads a damaged sidecar without trusting its checksum or lengths.
fn of_damaged(bytes: &[u8]) -> Evidence {
    let magic_ok = bytes.len() >= 24 && bytes.starts_with(b"EMDB-META");
    if has_crypto_header(bytes) {
        return Evidence::Encrypted;
    }
    if !magic_ok {
        return Evidence::Unknown;
    }
    let word = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (Some(version), Some(flags)) = (word(16), word(20)) else {
        return Evidence::Unknown;
    };
    if flags & FLAG_ENCRYPTED != 0 {
        return Evidence::Encrypted;
    }
    match version {
        1 if bytes.len() == V1_LEN => {
            if holds_parameters(1, &bytes[32..108]) {
                Evidence::Encrypted
            } else {
                Evidence::Plain
            }
        }
        2 => {
            let area = word(52)
                .and_then(|n| usize::try_from(n).ok())
                .and_then(|n| bytes.get(V2_AREA..V2_AREA.checked_add(n)?))
                .and_then(|area| EngineArea::decode(area).ok());
            match area {
                Some(area) if area.crypto.is_some() => Evidence::Encrypted,
                Some(_) => Evidence::Plain,
                None => Evidence::Unknown,
            }
        }
        _ => Evidence::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(flags: u32, area: &[u8]) -> Vec<u8> {
        let mut b = b"EMDB-META\0\0\0\0\0\0\0".to_vec();
        b.extend_from_slice(&2u32.to_le_bytes());
        b.extend_from_slice(&flags.to_le_bytes());
        b.resize(52, 0);
        b.extend_from_slice(&(area.len() as u32).to_le_bytes());
        b.extend_from_slice(area);
        b.resize(b.len().max(108), 0);
        b.extend_from_slice(&[0xEE; 4]); // a wrong checksum: damaged
        b
    }

    #[test]
    fn damaged_sidecars_are_read_for_signs_of_encryption() {
        let mut crypto = vec![b'C', 114, 0, 1];
        crypto.resize(3 + 114, 7);
        assert_eq!(of_damaged(&v2(0, &[])), Evidence::Plain);
        assert_eq!(of_damaged(&v2(1, &[])), Evidence::Encrypted);
        assert_eq!(of_damaged(&v2(0, &crypto)), Evidence::Encrypted);
        // A damaged length hides the section from the parser, not from the search.
        let mut hidden = v2(0, &crypto);
        hidden[52] = 0xFF;
        assert_eq!(of_damaged(&hidden), Evidence::Encrypted);
        let mut garbled = v2(0, &[]);
        garbled[52] = 0xFF;
        assert_eq!(of_damaged(&garbled), Evidence::Unknown);
        assert_eq!(of_damaged(b"not a sidecar at all, not at all"), Evidence::Unknown);
        assert_eq!(of_damaged(&[]), Evidence::Unknown);

        let mut v1 = b"EMDB-META\0\0\0\0\0\0\0".to_vec();
        v1.extend_from_slice(&1u32.to_le_bytes());
        v1.resize(V1_LEN, 0);
        assert_eq!(of_damaged(&v1), Evidence::Plain);
        v1[60] = 9;
        assert_eq!(of_damaged(&v1), Evidence::Encrypted);
        v1.truncate(100);
        assert_eq!(of_damaged(&v1), Evidence::Unknown);
    }

    #[test]
    fn sealed_tags_are_recognised() {
        assert!(is_sealed_record(&[0x40]));
        assert!(is_sealed_record(&[0x82, 1]));
        assert!(!is_sealed_record(&[0x02, 1]));
        assert!(!is_sealed_record(&[]));
    }
}
