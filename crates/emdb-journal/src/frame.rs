//! The frame: the unit the log is made of.
//!
//! ```text
//! offset  size  field
//! 0       4     magic and version: 46 53 59 01 (the fsys journal frame, version 1)
//! 4       4     payload length, u32 little-endian, at most MAX_PAYLOAD
//! 8       n     payload
//! 8+n     4     CRC-32C (Castagnoli) of bytes 0..8+n, u32 little-endian
//! ```
//!
//! This is byte for byte the frame fsys 1.x writes and emdb 1.0 stores, so logs written by
//! either decode here. A frame carries no sequence number: its LSN is its offset.

use std::ops::Range;

/// The four bytes every frame starts with (`"FSY"` and format version 1).
pub const MAGIC: [u8; 4] = [0x46, 0x53, 0x59, 0x01];
/// Bytes before the payload: magic and length.
pub const HEADER_LEN: usize = 8;
/// Bytes after the payload: the checksum.
pub const TRAILER_LEN: usize = 4;
/// Total bytes a frame adds around its payload.
pub const OVERHEAD: usize = HEADER_LEN + TRAILER_LEN;
/// The largest payload the format allows: 256 MiB - 1 (the length field's top four bits
/// are reserved, as in fsys).
pub const MAX_PAYLOAD: usize = (1 << 28) - 1;

/// What [`decode`] found at the start of a byte slice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A whole, valid frame.
    Frame {
        /// Where the payload sits within the slice.
        payload: Range<usize>,
        /// The frame's total length (header, payload and checksum).
        len: usize,
    },
    /// The slice ends before the frame does: fewer than eight bytes, or a length that runs
    /// past the end. A torn write at the tail looks like this.
    Truncated,
    /// The first four bytes are not [`MAGIC`].
    BadMagic,
    /// The length field exceeds [`MAX_PAYLOAD`].
    BadLength,
    /// Every byte is present but the checksum does not match.
    BadChecksum,
}

/// Total length of the frame that wraps a payload of `payload_len` bytes.
#[must_use]
pub const fn frame_len(payload_len: usize) -> usize {
    payload_len + OVERHEAD
}

/// The eight header bytes for a payload of `payload_len` bytes.
///
/// The caller guarantees `payload_len <= MAX_PAYLOAD`.
#[must_use]
pub fn header(payload_len: usize) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..4].copy_from_slice(&MAGIC);
    // Lossless: callers check `payload_len <= MAX_PAYLOAD` (< 2^28) first.
    h[4..].copy_from_slice(&(payload_len as u32).to_le_bytes());
    h
}

/// The checksum stored in a frame's trailer.
#[must_use]
pub fn checksum(header: &[u8; HEADER_LEN], payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(header), payload)
}

/// Appends the frame around `payload` to `out` and returns its checksum.
///
/// A payload over [`MAX_PAYLOAD`] is the caller's error ([`crate::Journal`] rejects it
/// before it gets here); the length field would not represent it, so this function
/// debug-asserts it.
pub fn encode(payload: &[u8], out: &mut Vec<u8>) -> u32 {
    debug_assert!(payload.len() <= MAX_PAYLOAD);
    let h = header(payload.len());
    let crc = checksum(&h, payload);
    out.reserve(frame_len(payload.len()));
    out.extend_from_slice(&h);
    out.extend_from_slice(payload);
    out.extend_from_slice(&crc.to_le_bytes());
    crc
}

/// Reads the frame at the start of `bytes`.
///
/// Never panics and never reads outside `bytes`, whatever they hold; a corrupt length can
/// at most make the result [`Decoded::Truncated`] or [`Decoded::BadLength`].
#[must_use]
pub fn decode(bytes: &[u8]) -> Decoded {
    let Some(head) = bytes.get(..HEADER_LEN) else {
        let seen = bytes.len().min(MAGIC.len());
        return if bytes[..seen] == MAGIC[..seen] {
            Decoded::Truncated
        } else {
            Decoded::BadMagic
        };
    };
    if head[..4] != MAGIC {
        return Decoded::BadMagic;
    }
    let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
    if len > MAX_PAYLOAD {
        return Decoded::BadLength;
    }
    let total = frame_len(len);
    let Some(frame) = bytes.get(..total) else {
        return Decoded::Truncated;
    };
    let body_end = HEADER_LEN + len;
    let stored = u32::from_le_bytes([
        frame[body_end],
        frame[body_end + 1],
        frame[body_end + 2],
        frame[body_end + 3],
    ]);
    let computed = crc32c::crc32c_append(crc32c::crc32c(&frame[..HEADER_LEN]), &frame[HEADER_LEN..body_end]);
    if stored != computed {
        return Decoded::BadChecksum;
    }
    Decoded::Frame {
        payload: HEADER_LEN..body_end,
        len: total,
    }
}

/// The checksum stored in the trailer of a frame already known to be whole.
pub(crate) fn stored_checksum(frame: &[u8]) -> Option<u32> {
    let at = frame.len().checked_sub(TRAILER_LEN)?;
    let t = frame.get(at..)?;
    Some(u32::from_le_bytes([t[0], t[1], t[2], t[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let crc = encode(payload, &mut out);
        assert_eq!(stored_checksum(&out), Some(crc));
        out
    }

    #[test]
    fn round_trip_keeps_payload() {
        for payload in [&b""[..], b"x", b"hello world", &[0u8; 4096][..]] {
            let bytes = framed(payload);
            assert_eq!(bytes.len(), frame_len(payload.len()));
            match decode(&bytes) {
                Decoded::Frame { payload: range, len } => {
                    assert_eq!(&bytes[range], payload);
                    assert_eq!(len, bytes.len());
                }
                other => panic!("expected a frame, got {other:?}"),
            }
        }
    }

    #[test]
    fn matches_the_fsys_layout() {
        let bytes = framed(b"abc");
        assert_eq!(&bytes[..4], &[0x46, 0x53, 0x59, 0x01]);
        assert_eq!(&bytes[4..8], &3u32.to_le_bytes());
        assert_eq!(&bytes[8..11], b"abc");
        let crc = crc32c::crc32c(&bytes[..11]);
        assert_eq!(&bytes[11..], &crc.to_le_bytes());
    }

    #[test]
    fn every_truncation_is_truncated() {
        let bytes = framed(b"some payload bytes");
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut]), Decoded::Truncated, "cut at {cut}");
        }
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let bytes = framed(b"payload under test");
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut damaged = bytes.clone();
                damaged[i] ^= 1 << bit;
                assert!(
                    !matches!(decode(&damaged), Decoded::Frame { .. }),
                    "flip of bit {bit} in byte {i} went unnoticed"
                );
            }
        }
    }

    #[test]
    fn oversized_length_is_rejected_without_reading() {
        let mut bytes = framed(b"x");
        bytes[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode(&bytes), Decoded::BadLength);
    }

    #[test]
    fn short_garbage_is_bad_magic() {
        assert_eq!(decode(&[0, 0, 0, 0, 0]), Decoded::BadMagic);
        assert_eq!(decode(&[0x46, 0x53]), Decoded::Truncated);
        assert_eq!(decode(&[0x46, 0x00]), Decoded::BadMagic);
        assert_eq!(decode(&[0x46, 0x53, 0x59, 0x01, 0]), Decoded::Truncated);
    }
}
