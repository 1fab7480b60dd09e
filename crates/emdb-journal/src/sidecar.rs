//! The sidecar `<path>.meta`: a small file, replaced atomically, holding what the log
//! itself does not: format version, flags, the checkpoint, and an opaque area for the
//! layer above (cipher, key-derivation salt, verification block, index-snapshot
//! reference).
//!
//! Version 2 (written by this crate; all numbers little-endian):
//!
//! ```text
//! offset  size  field
//! 0       16    magic "EMDB-META" padded with NUL bytes
//! 16      4     format version = 2
//! 20      4     flags (meaning defined by the layer above)
//! 24      8     created at, Unix milliseconds
//! 32      8     checkpoint LSN: where recovery resumes (0 = no checkpoint)
//! 40      8     anchor LSN: start of the last frame the checkpoint covers
//! 48      4     anchor CRC: that frame's stored CRC-32C
//! 52      4     engine area length n (at most 65,536)
//! 56      n     engine area
//! 56+n    p     zero bytes, so that the file is at least 112 bytes long
//! end-4   4     CRC-32C of every byte before it
//! ```
//!
//! The padding is for emdb 1.0, which checks a sidecar's length before its version: at
//! 112 bytes or more it reports our sidecar as a version it does not know, rather than as
//! damage.
//!
//! Version 1 (emdb 1.0's 112-byte sidecar) is read too: magic and version as above,
//! flags at 20, created-at at 24, 76 bytes at 32..108 (Argon2 salt and verification
//! block, handed up as the engine area), CRC-32 (IEEE) of bytes 0..108 at 108. It has no
//! checkpoint. This crate never writes version 1.

use std::path::Path;

use crate::error::{Error, Result};
use crate::lsn::Lsn;
use crate::paths;

/// Sidecar format version this crate writes.
pub const SIDECAR_VERSION: u32 = 2;
/// Largest engine area a sidecar holds.
pub const MAX_ENGINE_AREA: usize = 64 * 1024;

const MAGIC: [u8; 16] = *b"EMDB-META\0\0\0\0\0\0\0";
const V1_LEN: usize = 112;
const V2_FIXED: usize = 56;
/// Version-2 sidecars are padded to at least this length (emdb 1.0's).
const V2_MIN_LEN: usize = V1_LEN;

/// The sidecar's contents.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Meta {
    /// Format version of the sidecar as read (1 or 2); 2 once this crate rewrote it.
    pub version: u32,
    /// Flags of the layer above (emdb: bit 0 encrypted, bit 1 ChaCha20-Poly1305).
    pub flags: u32,
    /// When the database was created, Unix milliseconds.
    pub created_at_ms: u64,
    /// Where recovery may resume, if a checkpoint was taken.
    pub checkpoint: Option<Checkpoint>,
    /// Opaque bytes of the layer above.
    pub engine: Vec<u8>,
}

/// A recorded checkpoint: every frame before `lsn` is covered by the caller's own state,
/// so recovery scans only from `lsn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Checkpoint {
    /// End of the last covered frame; recovery resumes here.
    pub lsn: Lsn,
    /// Start of the last covered frame.
    pub anchor: Lsn,
    /// That frame's stored CRC-32C, which ties the sidecar to this very log: a log
    /// replaced or damaged behind the sidecar's back fails the check, and the open reports
    /// damage (the checkpoint is a durable floor).
    pub anchor_crc: u32,
}

/// Why a sidecar could not be used.
#[derive(Debug)]
pub(crate) enum Invalid {
    /// Damaged or not a sidecar; the reason says which.
    Damaged(&'static str),
    /// Written by a newer format.
    Version(u32),
}

impl Meta {
    /// A fresh sidecar for a new journal.
    pub(crate) fn new(created_at_ms: u64) -> Self {
        Meta {
            version: SIDECAR_VERSION,
            flags: 0,
            created_at_ms,
            checkpoint: None,
            engine: Vec::new(),
        }
    }

    /// The version-2 bytes of this sidecar.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(V2_FIXED + self.engine.len() + 4);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&SIDECAR_VERSION.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.created_at_ms.to_le_bytes());
        let (lsn, anchor, crc) = self
            .checkpoint
            .map_or((0, 0, 0), |c| (c.lsn.get(), c.anchor.get(), c.anchor_crc));
        out.extend_from_slice(&lsn.to_le_bytes());
        out.extend_from_slice(&anchor.to_le_bytes());
        out.extend_from_slice(&crc.to_le_bytes());
        // Lossless: callers keep the engine area within MAX_ENGINE_AREA.
        out.extend_from_slice(&(self.engine.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.engine);
        if out.len() + 4 < V2_MIN_LEN {
            out.resize(V2_MIN_LEN - 4, 0);
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Parses sidecar bytes of version 1 or 2.
    pub(crate) fn decode(bytes: &[u8]) -> std::result::Result<Self, Invalid> {
        use Invalid::Damaged;
        if bytes.len() < 24 || bytes[..16] != MAGIC {
            return Err(Damaged("not an emdb sidecar (bad magic or too short)"));
        }
        let version = u32_at(bytes, 16);
        match version {
            1 => {
                if bytes.len() != V1_LEN {
                    return Err(Damaged("version-1 sidecar is not 112 bytes long"));
                }
                if crc32fast::hash(&bytes[..108]) != u32_at(bytes, 108) {
                    return Err(Damaged("checksum mismatch"));
                }
                Ok(Meta {
                    version,
                    flags: u32_at(bytes, 20),
                    created_at_ms: u64_at(bytes, 24),
                    checkpoint: None,
                    engine: bytes[32..108].to_vec(),
                })
            }
            2 => {
                if bytes.len() < V2_FIXED + 4 {
                    return Err(Damaged("version-2 sidecar shorter than its header"));
                }
                let n = u32_at(bytes, 52) as usize;
                let expected = (V2_FIXED + n + 4).max(V2_MIN_LEN);
                if n > MAX_ENGINE_AREA || bytes.len() != expected {
                    return Err(Damaged("engine area length does not match the file"));
                }
                let body = V2_FIXED + n;
                let crc_at = bytes.len() - 4;
                if crc32c::crc32c(&bytes[..crc_at]) != u32_at(bytes, crc_at) {
                    return Err(Damaged("checksum mismatch"));
                }
                if bytes[body..crc_at].iter().any(|&b| b != 0) {
                    return Err(Damaged("padding is not zero"));
                }
                let lsn = u64_at(bytes, 32);
                let checkpoint = (lsn != 0).then(|| Checkpoint {
                    lsn: Lsn::new(lsn),
                    anchor: Lsn::new(u64_at(bytes, 40)),
                    anchor_crc: u32_at(bytes, 48),
                });
                Ok(Meta {
                    version,
                    flags: u32_at(bytes, 20),
                    created_at_ms: u64_at(bytes, 24),
                    checkpoint,
                    engine: bytes[V2_FIXED..body].to_vec(),
                })
            }
            0 => Err(Damaged("format version 0 does not exist")),
            newer => Err(Invalid::Version(newer)),
        }
    }
}

/// Reads the sidecar at `path`: `Ok(None)` if it does not exist.
pub(crate) fn read(path: &Path) -> Result<Option<std::result::Result<Meta, &'static str>>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::Io(e)),
    };
    match Meta::decode(&bytes) {
        Ok(meta) => Ok(Some(Ok(meta))),
        Err(Invalid::Damaged(reason)) => Ok(Some(Err(reason))),
        Err(Invalid::Version(found)) => Err(Error::SidecarVersion {
            path: path.to_path_buf(),
            found,
            supported: SIDECAR_VERSION,
        }),
    }
}

/// Replaces the sidecar at `path` atomically and durably (see [`paths::replace_file`]).
pub(crate) fn write(fs: &fsys::Handle, path: &Path, meta: &Meta) -> Result<()> {
    paths::replace_with(fs, path, &meta.encode())
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(x)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Meta {
        Meta {
            version: SIDECAR_VERSION,
            flags: 3,
            created_at_ms: 1_700_000_000_000,
            checkpoint: Some(Checkpoint {
                lsn: Lsn::new(4096),
                anchor: Lsn::new(4000),
                anchor_crc: 0xdead_beef,
            }),
            engine: b"engine bytes".to_vec(),
        }
    }

    #[test]
    fn version_2_round_trips() {
        let m = sample();
        assert_eq!(Meta::decode(&m.encode()).expect("valid"), m);
        let empty = Meta::new(5);
        assert_eq!(Meta::decode(&empty.encode()).expect("valid"), empty);
    }

    #[test]
    fn every_flipped_byte_and_truncation_is_rejected() {
        let bytes = sample().encode();
        for i in 0..bytes.len() {
            let mut d = bytes.clone();
            d[i] ^= 0x10;
            assert!(Meta::decode(&d).is_err(), "flip at {i} accepted");
        }
        for cut in 0..bytes.len() {
            assert!(Meta::decode(&bytes[..cut]).is_err(), "cut at {cut} accepted");
        }
    }

    #[test]
    fn small_sidecars_are_padded_to_emdb_1_length_with_zeros() {
        let mut meta = Meta::new(7);
        let bytes = meta.encode();
        assert_eq!(bytes.len(), V2_MIN_LEN);
        assert!(matches!(Meta::decode(&bytes), Ok(m) if m == meta));
        let mut dirty = bytes.clone();
        dirty[80] = 1;
        let crc = crc32c::crc32c(&dirty[..dirty.len() - 4]);
        let at = dirty.len() - 4;
        dirty[at..].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(
            Meta::decode(&dirty),
            Err(Invalid::Damaged("padding is not zero"))
        ));
        meta.engine = vec![9; 200];
        let big = meta.encode();
        assert_eq!(big.len(), V2_FIXED + 200 + 4, "no padding past 112 bytes");
        assert!(matches!(Meta::decode(&big), Ok(m) if m == meta));
    }

    #[test]
    fn reads_emdb_1_sidecars() {
        let mut v1 = vec![0u8; V1_LEN];
        v1[..16].copy_from_slice(&MAGIC);
        v1[16..20].copy_from_slice(&1u32.to_le_bytes());
        v1[20..24].copy_from_slice(&1u32.to_le_bytes());
        v1[24..32].copy_from_slice(&99u64.to_le_bytes());
        v1[32] = 0xAA;
        let crc = crc32fast::hash(&v1[..108]);
        v1[108..].copy_from_slice(&crc.to_le_bytes());
        let m = Meta::decode(&v1).expect("valid v1");
        assert_eq!((m.version, m.flags, m.created_at_ms), (1, 1, 99));
        assert_eq!(m.engine.len(), 76);
        assert_eq!(m.engine[0], 0xAA);
        assert!(m.checkpoint.is_none());
        v1[50] ^= 1;
        assert!(matches!(Meta::decode(&v1), Err(Invalid::Damaged(_))));
    }

    #[test]
    fn newer_versions_are_refused_not_guessed() {
        let mut bytes = sample().encode();
        bytes[16..20].copy_from_slice(&3u32.to_le_bytes());
        assert!(matches!(Meta::decode(&bytes), Err(Invalid::Version(3))));
    }
}
