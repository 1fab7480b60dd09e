//! The sidecar's engine area: what the engine keeps beside the journal's own fields, as
//! tagged sections.
//!
//! ```text
//! section: tag u8, body length u16 (little-endian), body
//! 'I'  the index snapshot the checkpoint saved: covered end u64, file CRC-32C u32,
//!      file length u64 (20 bytes)
//! 'C'  the encryption parameters (`super::crypt::CryptoParams`, 114 bytes)
//! ```
//!
//! Unknown tags are skipped, so a later version can add sections that older ones ignore;
//! anything that must not be ignored is announced by a sidecar flag instead.

/// Tag of the index snapshot section.
const INDEX: u8 = b'I';
/// Tag of the encryption section.
const CRYPTO: u8 = b'C';
const INDEX_LEN: usize = 20;

/// The index snapshot a checkpoint saved in `<path>.index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IndexRef {
    /// The log LSN the snapshot is exact at.
    pub(crate) covered_end: u64,
    /// CRC-32C of the file without its last four bytes.
    pub(crate) crc: u32,
    /// The file's length.
    pub(crate) len: u64,
}

/// The sections of an engine area.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct EngineArea {
    pub(crate) index: Option<IndexRef>,
    pub(crate) crypto: Option<Vec<u8>>,
}

impl EngineArea {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(crypto) = &self.crypto {
            out.push(CRYPTO);
            // Lossless: the section is 114 bytes.
            out.extend_from_slice(&(crypto.len() as u16).to_le_bytes());
            out.extend_from_slice(crypto);
        }
        if let Some(index) = &self.index {
            out.push(INDEX);
            out.extend_from_slice(&(INDEX_LEN as u16).to_le_bytes());
            out.extend_from_slice(&index.covered_end.to_le_bytes());
            out.extend_from_slice(&index.crc.to_le_bytes());
            out.extend_from_slice(&index.len.to_le_bytes());
        }
        out
    }

    /// The sections of `bytes`; an error when they do not parse.
    pub(crate) fn decode(bytes: &[u8]) -> Result<EngineArea, &'static str> {
        let mut area = EngineArea::default();
        let mut rest = bytes;
        while let Some((&tag, tail)) = rest.split_first() {
            let (len, tail) = tail
                .split_at_checked(2)
                .ok_or("engine area section header is cut short")?;
            let len = u16::from_le_bytes([len[0], len[1]]) as usize;
            let (body, tail) = tail
                .split_at_checked(len)
                .ok_or("engine area section runs past its end")?;
            rest = tail;
            match tag {
                INDEX => {
                    if len != INDEX_LEN {
                        return Err("index section has the wrong length");
                    }
                    let u64_at = |at: usize| {
                        let mut b = [0u8; 8];
                        b.copy_from_slice(&body[at..at + 8]);
                        u64::from_le_bytes(b)
                    };
                    area.index = Some(IndexRef {
                        covered_end: u64_at(0),
                        crc: u32::from_le_bytes([body[8], body[9], body[10], body[11]]),
                        len: u64_at(12),
                    });
                }
                CRYPTO => area.crypto = Some(body.to_vec()),
                _ => {}
            }
        }
        Ok(area)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_round_trip_and_unknown_ones_are_skipped() {
        let area = EngineArea {
            index: Some(IndexRef {
                covered_end: 1234,
                crc: 0xABCD,
                len: 99,
            }),
            crypto: Some(vec![1, 2, 3]),
        };
        let bytes = area.encode();
        assert_eq!(EngineArea::decode(&bytes), Ok(area.clone()));
        let mut with_unknown = vec![b'Z', 2, 0, 9, 9];
        with_unknown.extend_from_slice(&bytes);
        assert_eq!(EngineArea::decode(&with_unknown), Ok(area));
        assert_eq!(EngineArea::decode(&[]), Ok(EngineArea::default()));
        for cut in 1..bytes.len() {
            // Every cut either fails or loses the section it cut into: never a wrong value.
            if let Ok(a) = EngineArea::decode(&bytes[..cut]) {
                assert!(a.index.is_none());
            }
        }
        assert!(EngineArea::decode(&[b'I', 3, 0, 1, 2, 3]).is_err());
    }
}
