//! Batch frames: several records in one frame, so that a crash keeps all of them or none.
//!
//! ```text
//! offset  size  field
//! 0       1     tag 0xBB
//! 1       1     flags: bit 0 MORE (another part follows), bit 1 CONT (continues a part)
//! 2       4     record count, u32 little-endian
//! 6       ...   per record: length as an unsigned LEB128 varint (1 to 4 bytes, shortest
//!               form), then the record's bytes
//! ```
//!
//! Frames tagged 0xBA, written by earlier versions, are the same with each length a u32
//! little-endian; they are still read.
//!
//! A batch that fits in one frame has flags 0. A larger one is written as consecutive parts
//! (`MORE`, then `MORE|CONT` ..., then `CONT`), all under the writer lock so that no other
//! frame sits between them; recovery applies the parts only once the last one is found.
//! The journal reserves first payload bytes 0xB8..=0xBF for frames of its own, so a plain
//! payload never starts with one of them (see [`crate::Journal::append`]).

use std::ops::RangeInclusive;

/// First payload bytes the journal keeps for its own frames.
pub const RESERVED_TAGS: RangeInclusive<u8> = 0xB8..=0xBF;
/// Tag of a padding frame: written over a zero-filled gap that emdb 1.0's concurrent
/// appends can leave in a log, so the log reads as frames end to end again. Its payload
/// (zeros after the tag) holds no record.
pub(crate) const PADDING: u8 = 0xB8;
/// Tag of a batch frame: what this version writes (record lengths as varints).
pub(crate) const TAG: u8 = 0xBB;
/// Tag of a batch frame whose record lengths are u32s (earlier versions; read, never
/// written).
pub(crate) const TAG_FIXED: u8 = 0xBA;
/// Another part of the same batch follows this one.
pub(crate) const FLAG_MORE: u8 = 0x01;
/// This part continues a batch begun by an earlier part.
pub(crate) const FLAG_CONT: u8 = 0x02;
/// Bytes before the first record: tag, flags, count.
pub(crate) const HEADER_LEN: usize = 6;
/// The most bytes before a record: its length (a varint of a length under 2^28, or a u32).
pub(crate) const RECORD_PREFIX: usize = 4;

/// Bytes of the varint that says `len` (a record of a frame is shorter than 2^28 bytes).
pub(crate) fn prefix_len(len: usize) -> usize {
    match len {
        0..0x80 => 1,
        0x80..0x4000 => 2,
        0x4000..0x20_0000 => 3,
        _ => 4,
    }
}

/// `len` as a varint (the first `prefix_len(len)` bytes of the result).
fn prefix(len: usize) -> ([u8; RECORD_PREFIX], usize) {
    let mut out = [0u8; RECORD_PREFIX];
    let n = prefix_len(len);
    let mut rest = len;
    for (i, byte) in out.iter_mut().enumerate().take(n) {
        let more = if i + 1 < n { 0x80 } else { 0 };
        *byte = (rest & 0x7F) as u8 | more;
        rest >>= 7;
    }
    (out, n)
}

/// The record length at the front of `rest` and the bytes it took: a varint in its
/// shortest form (`varint`), else a u32. `None` when it runs past `rest` or is malformed.
fn read_prefix(rest: &[u8], varint: bool) -> Option<(usize, usize)> {
    if !varint {
        let len = rest.get(..RECORD_PREFIX)?;
        return Some((
            u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize,
            RECORD_PREFIX,
        ));
    }
    let mut len = 0usize;
    for (i, &byte) in rest.iter().take(RECORD_PREFIX).enumerate() {
        len |= usize::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            // Shortest form only: a last byte of zero after others would be padding.
            return (i == 0 || byte != 0).then_some((len, i + 1));
        }
    }
    None
}

/// A batch payload whose lengths have been checked.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BatchPayload<'a> {
    pub(crate) flags: u8,
    pub(crate) count: u32,
    /// Record lengths as varints ([`TAG`]), not u32s ([`TAG_FIXED`]).
    varint: bool,
    body: &'a [u8],
}

impl<'a> BatchPayload<'a> {
    /// Validates a payload that starts with [`TAG`] or [`TAG_FIXED`]: known flags, and
    /// record lengths that add up to exactly the payload's length.
    pub(crate) fn parse(payload: &'a [u8]) -> Result<Self, &'static str> {
        let Some(head) = payload.get(..HEADER_LEN) else {
            return Err("batch frame shorter than its header");
        };
        let varint = head[0] == TAG;
        let flags = head[1];
        if flags & !(FLAG_MORE | FLAG_CONT) != 0 {
            return Err("batch frame has unknown flags");
        }
        let count = u32::from_le_bytes([head[2], head[3], head[4], head[5]]);
        let body = &payload[HEADER_LEN..];
        let mut rest = body;
        for _ in 0..count {
            let Some((len, took)) = read_prefix(rest, varint) else {
                return Err("batch record length runs past the frame or is malformed");
            };
            let Some(after) = rest.get(took..).and_then(|r| r.get(len..)) else {
                return Err("batch record runs past the frame");
            };
            rest = after;
        }
        if !rest.is_empty() {
            return Err("batch frame has bytes after its last record");
        }
        Ok(BatchPayload {
            flags,
            count,
            varint,
            body,
        })
    }

    pub(crate) fn more(&self) -> bool {
        self.flags & FLAG_MORE != 0
    }

    pub(crate) fn cont(&self) -> bool {
        self.flags & FLAG_CONT != 0
    }

    /// The records in order, each with its offset from the start of the payload.
    pub(crate) fn records(&self) -> BatchRecords<'a> {
        BatchRecords {
            rest: self.body,
            offset: HEADER_LEN,
            left: self.count,
            varint: self.varint,
        }
    }
}

/// Iterator over the records of a validated batch payload.
#[derive(Clone, Debug)]
pub(crate) struct BatchRecords<'a> {
    rest: &'a [u8],
    offset: usize,
    left: u32,
    varint: bool,
}

impl<'a> Iterator for BatchRecords<'a> {
    /// (offset of the record's bytes within the payload, the bytes)
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        // `parse` checked every length, so these slices are in bounds; `get` keeps this
        // panic-free even so.
        let (len, took) = read_prefix(self.rest, self.varint)?;
        let bytes = self.rest.get(took..took + len)?;
        let at = self.offset + took;
        self.rest = self.rest.get(took + len..)?;
        self.offset = at + len;
        self.left -= 1;
        Some((at, bytes))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

/// Payload length of a batch part holding records of the given lengths.
pub(crate) fn payload_len(lens: impl IntoIterator<Item = usize>) -> usize {
    HEADER_LEN + lens.into_iter().map(|l| prefix_len(l) + l).sum::<usize>()
}

/// What a frame's payload holds.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Content<'a> {
    /// A record of the caller's.
    Plain,
    /// A batch (or a part of one).
    Batch(BatchPayload<'a>),
    /// A padding frame: no record.
    Padding,
}

/// Tells a caller's record from a batch frame, and rejects journal tags this version does
/// not know (a newer journal wrote them; guessing would misread the log).
pub(crate) fn content(payload: &[u8]) -> Result<Content<'_>, &'static str> {
    match payload.first() {
        Some(&(TAG | TAG_FIXED)) => BatchPayload::parse(payload).map(Content::Batch),
        Some(&PADDING) => Ok(Content::Padding),
        Some(t) if RESERVED_TAGS.contains(t) => Err("frame uses a journal tag this version does not know"),
        _ => Ok(Content::Plain),
    }
}

/// Emits a batch payload (batch header and records, no frame around it) piece by piece
/// through `put`, and pushes the offset of each record's bytes relative to the payload's
/// start onto `offsets`.
pub(crate) fn emit_payload<R: AsRef<[u8]>, E>(
    records: &[R],
    flags: u8,
    offsets: &mut Vec<u64>,
    put: &mut dyn FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    // Lossless: a frame holds fewer than 2^28 bytes, so fewer than 2^26 records.
    let count = (records.len() as u32).to_le_bytes();
    put(&[TAG, flags, count[0], count[1], count[2], count[3]])?;
    let mut at = HEADER_LEN as u64;
    for r in records {
        let r = r.as_ref();
        let (bytes, n) = prefix(r.len());
        put(&bytes[..n])?;
        at += n as u64;
        offsets.push(at);
        put(r)?;
        at += r.len() as u64;
    }
    Ok(())
}

/// Smallest padding frame: header, tag, checksum.
pub(crate) const MIN_PADDING: usize = crate::frame::OVERHEAD + 1;

/// Padding frames filling exactly `len` bytes (one, or several past the frame limit);
/// `None` under [`MIN_PADDING`] bytes.
pub(crate) fn padding(len: usize) -> Option<Vec<u8>> {
    if len < MIN_PADDING {
        return None;
    }
    let mut out = Vec::with_capacity(len);
    let mut left = len;
    while left > 0 {
        let mut this = left.min(crate::frame::MAX_PAYLOAD + crate::frame::OVERHEAD);
        if left - this != 0 && left - this < MIN_PADDING {
            this -= MIN_PADDING;
        }
        let mut payload = vec![0u8; this - crate::frame::OVERHEAD];
        payload[0] = PADDING;
        crate::frame::encode(&payload, &mut out);
        left -= this;
    }
    Some(out)
}

/// A whole batch frame in a vector (tests and tools).
#[cfg(test)]
pub(crate) fn frame_of<R: AsRef<[u8]>>(records: &[R], flags: u8) -> Vec<u8> {
    let mut payload = Vec::new();
    emit_payload(records, flags, &mut Vec::new(), &mut |b| {
        payload.extend_from_slice(b);
        Ok::<(), ()>(())
    })
    .unwrap_or_default();
    let mut out = Vec::new();
    crate::frame::encode(&payload, &mut out);
    out
}

/// The payload a batch part is filled to before the next part begins. A record larger
/// than this gets a part of its own (up to the frame limit). Parts keep each frame's
/// checksum cheap to check: an open from a checkpoint verifies the frame it is anchored
/// to, the last part of a batch, so a bulk load of 200 MB in one batch costs an open a
/// 1 MiB check, not a 200 MB one.
pub(crate) const PART_TARGET: usize = 1 << 20;

/// Splits records into parts, greedily and in order: a part takes records while its
/// payload stays within `target` bytes, and a record that does not fit an empty part of
/// `target` gets one of its own, up to `max_payload`. Returns the end index of each part,
/// or the index of a record too large to fit in any part. Each record is counted with the
/// longest length prefix ([`RECORD_PREFIX`]), so a part may end a few bytes short of
/// `target`, never past it or past `max_payload`.
pub(crate) fn plan_parts(lens: &[usize], target: usize, max_payload: usize) -> Result<Vec<usize>, usize> {
    let target = target.min(max_payload);
    let mut ends = Vec::new();
    let mut used = HEADER_LEN;
    for (i, &len) in lens.iter().enumerate() {
        let need = RECORD_PREFIX.saturating_add(len);
        if HEADER_LEN.saturating_add(need) > max_payload {
            return Err(i);
        }
        if used > HEADER_LEN && used + need > target {
            ends.push(i);
            used = HEADER_LEN;
        }
        used += need;
    }
    ends.push(lens.len());
    Ok(ends)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{self, Decoded};

    fn one_frame(records: &[&[u8]], flags: u8) -> (Vec<u8>, Vec<u64>) {
        let mut offsets = Vec::new();
        emit_payload(records, flags, &mut offsets, &mut |_| Ok::<(), ()>(())).expect("emit");
        for o in &mut offsets {
            *o += crate::frame::HEADER_LEN as u64;
        }
        (frame_of(records, flags), offsets)
    }

    #[test]
    fn records_round_trip_with_their_offsets() {
        let records: [&[u8]; 4] = [b"alpha", b"", b"gamma-gamma", b"d"];
        let (bytes, offsets) = one_frame(&records, 0);
        let Decoded::Frame { payload, .. } = frame::decode(&bytes) else {
            panic!("batch frame does not decode");
        };
        let batch = BatchPayload::parse(&bytes[payload.clone()]).expect("valid batch");
        assert_eq!(batch.count, 4);
        assert!(!batch.more() && !batch.cont());
        let seen: Vec<_> = batch.records().collect();
        assert_eq!(seen.len(), 4);
        for (i, (at, rec)) in seen.into_iter().enumerate() {
            assert_eq!(rec, records[i]);
            let in_frame = payload.start + at;
            assert_eq!(in_frame as u64, offsets[i]);
            assert_eq!(&bytes[in_frame..in_frame + rec.len()], records[i]);
        }
    }

    #[test]
    fn lengths_take_the_shortest_varint_and_read_back() {
        for (len, bytes) in [
            (0, 1),
            (0x7F, 1),
            (0x80, 2),
            (0x3FFF, 2),
            (0x4000, 3),
            (0x1F_FFFF, 3),
            (0x20_0000, 4),
            ((1 << 28) - 1, 4),
        ] {
            let (out, n) = prefix(len);
            assert_eq!((n, prefix_len(len)), (bytes, bytes), "length {len}");
            assert_eq!(read_prefix(&out[..n], true), Some((len, n)), "length {len}");
            assert_eq!(read_prefix(&out[..n - 1], true), None, "length {len} cut short");
        }
        // Not the shortest form, and a fifth byte: malformed.
        assert_eq!(read_prefix(&[0x81, 0x00], true), None);
        assert_eq!(read_prefix(&[0xFF, 0xFF, 0xFF, 0xFF, 0x01], true), None);
        // A batch of records around the one-byte limit reads back (the 184-byte insert of
        // the benchmark workload takes two bytes of length, a remove one).
        let big = vec![7u8; 200];
        let records: [&[u8]; 3] = [b"x", &big, &big[..127]];
        let (bytes, offsets) = one_frame(&records, 0);
        let Decoded::Frame { payload, .. } = frame::decode(&bytes) else {
            panic!("batch frame does not decode");
        };
        assert_eq!(payload.len(), HEADER_LEN + 1 + 1 + 2 + 200 + 1 + 127);
        assert_eq!(payload.len(), payload_len(records.iter().map(|r| r.len())));
        let batch = BatchPayload::parse(&bytes[payload.clone()]).expect("valid batch");
        let seen: Vec<_> = batch.records().map(|(at, r)| (payload.start + at, r)).collect();
        for (i, (at, rec)) in seen.into_iter().enumerate() {
            assert_eq!((at as u64, rec), (offsets[i], records[i]));
        }
    }

    #[test]
    fn batches_of_earlier_versions_still_read() {
        // Tag 0xBA, u32 lengths: "ab" and "".
        let payload = [TAG_FIXED, 0, 2, 0, 0, 0, 2, 0, 0, 0, b'a', b'b', 0, 0, 0, 0];
        let Ok(Content::Batch(batch)) = content(&payload) else {
            panic!("an 0xBA batch is a batch");
        };
        let seen: Vec<_> = batch.records().collect();
        assert_eq!(seen, vec![(10, &b"ab"[..]), (16, &b""[..])]);
        // The same bytes read as varints do not add up: the tag decides.
        let mut as_varint = payload;
        as_varint[0] = TAG;
        assert!(BatchPayload::parse(&as_varint).is_err());
    }

    #[test]
    fn malformed_payloads_are_rejected() {
        assert!(BatchPayload::parse(&[TAG, 0, 1]).is_err());
        assert!(BatchPayload::parse(&[TAG, 0x80, 0, 0, 0, 0]).is_err());
        // One record claimed, none present.
        assert!(BatchPayload::parse(&[TAG, 0, 1, 0, 0, 0]).is_err());
        // Length past the end.
        assert!(BatchPayload::parse(&[TAG, 0, 1, 0, 0, 0, 9, 1]).is_err());
        assert!(BatchPayload::parse(&[TAG_FIXED, 0, 1, 0, 0, 0, 9, 0, 0, 0, 1]).is_err());
        // A length whose varint runs past the end.
        assert!(BatchPayload::parse(&[TAG, 0, 1, 0, 0, 0, 0x80]).is_err());
        // Trailing bytes.
        assert!(BatchPayload::parse(&[TAG, 0, 0, 0, 0, 0, 7]).is_err());
        assert!(BatchPayload::parse(&[TAG, 0, 0, 0, 0, 0]).is_ok());
    }

    #[test]
    fn parts_respect_the_cap() {
        let lens = [10, 10, 10, 10, 10];
        // Header 6 + two records of 14 = 34.
        let ends = plan_parts(&lens, 34, 34).expect("fits");
        assert_eq!(ends, vec![2, 4, 5]);
        assert_eq!(plan_parts(&lens, 1000, 1000).expect("fits"), vec![5]);
        assert_eq!(
            plan_parts(&lens, 1000, 34).expect("fits"),
            vec![2, 4, 5],
            "the cap wins"
        );
        assert_eq!(plan_parts(&[10, 100], 40, 40), Err(1));
        assert_eq!(plan_parts(&[], 40, 40).expect("empty"), vec![0]);
    }

    #[test]
    fn parts_fill_to_the_target_and_a_larger_record_gets_a_part_of_its_own() {
        // Header 6 + two records of 14 = 34: a target of 34 takes two records a part.
        assert_eq!(plan_parts(&[10, 10, 10, 10], 34, 1000).expect("fits"), vec![2, 4]);
        // A record of 100 (part of 110) exceeds the target but fits the cap: alone.
        assert_eq!(plan_parts(&[10, 100, 10], 34, 1000).expect("fits"), vec![1, 2, 3]);
        assert_eq!(plan_parts(&[100], 34, 1000).expect("fits"), vec![1]);
        assert_eq!(plan_parts(&[10, 1000], 34, 1000), Err(1), "past the cap");
    }
}
