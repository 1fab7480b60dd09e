//! The recovery scan: one pass over the log's bytes that accepts valid frames, hands their
//! records to the caller, and classifies where and why it stopped.
//!
//! Writes are issued in LSN order (see `writer.rs`), so a process killed at any instant
//! leaves a valid prefix, at most one partly written write after it, and blank space
//! (zeros, or the end of the file) after that. The scan relies on that shape:
//!
//! * **clean**: the bytes after the last valid frame are all zero, or there are none;
//! * **torn**: non-zero bytes that are not a valid frame, with no valid frame anywhere
//!   after them: the last write was cut short. They are cut and new frames go there;
//! * **incomplete batch**: the log ends inside a multi-frame batch whose last part never
//!   made it; the batch's parts are cut like a torn tail;
//! * **corrupt**: an invalid frame with a valid frame somewhere after it. No crash of
//!   this writer produces that, so it is damage: open refuses (or opens read-only up to
//!   it, when asked), and never guesses.
//!
//! One exception keeps torn writes of frame-shaped user data from reading as damage: if
//! the invalid frame has an intact header whose claimed end lies within the file, and
//! every byte from that end on is zero, every valid frame found lies inside the torn
//! frame's own extent, so the tail is torn, not corrupt.

use crate::batch::{self, Content};
use crate::frame::{self, Decoded};
use crate::lsn::Lsn;
use crate::records::Record;

/// How the scanned log ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tail {
    /// After the last frame there is nothing, or only zeros (preallocated space).
    Clean,
    /// A partly written frame (or other non-zero bytes) follows the last frame, and no
    /// valid frame comes after it.
    Torn {
        /// Where the torn bytes start.
        offset: Lsn,
    },
    /// The log ends inside a multi-frame batch whose last part is missing.
    IncompleteBatch {
        /// Where the batch's first part starts.
        offset: Lsn,
    },
    /// An invalid frame is followed by a valid one: damage, not a crash.
    Corrupt {
        /// Where the first invalid frame starts.
        offset: Lsn,
        /// Where the next valid frame starts (equal to `offset` when the frame itself is
        /// valid but its content is not).
        next_valid: Lsn,
        /// What was wrong at `offset`.
        reason: &'static str,
    },
}

/// What a scan found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Scan {
    /// Where the scan started.
    pub start: Lsn,
    /// End of the last accepted frame: where the next frame goes.
    pub end: Lsn,
    /// Frames accepted.
    pub frames: u64,
    /// Records accepted (each record of a batch counts once).
    pub records: u64,
    /// Start of the last accepted frame, if any frame was accepted.
    pub last_frame: Option<Lsn>,
    /// How the log ends.
    pub tail: Tail,
    /// End of the non-zero bytes after `end` that a writable open cuts (equal to `end`
    /// when there is nothing to cut, or when the tail is corrupt and nothing is cut).
    pub cut_end: u64,
    /// Zero-filled gaps `[start, end)` skipped between frames: only in logs emdb 1.0
    /// wrote, whose concurrent appends can leave one when the process dies (see
    /// [`crate::Replay`] and the recovery docs). Open fills them with padding frames.
    pub holes: Vec<(Lsn, Lsn)>,
    pub(crate) last_crc: u32,
}

/// Scans `bytes` (a whole log) from `start` and reports what it finds; no record is
/// delivered anywhere. This is recovery's scan without the I/O, for tools and tests: it
/// never panics and never reads outside `bytes`, whatever they hold. `start` is clamped
/// to the length of `bytes`.
#[must_use]
pub fn scan(bytes: &[u8], start: Lsn) -> Scan {
    match scan_with(bytes, start.get(), false, &mut |_| {
        Ok::<(), std::convert::Infallible>(())
    }) {
        Ok(s) => s,
        Err(never) => match never {},
    }
}

/// A multi-frame batch whose parts have been seen but not its last one.
struct OpenBatch {
    start: usize,
    frames: u64,
    last: (usize, u32),
    records: Vec<(usize, usize, usize)>,
}

/// The scan, delivering each accepted record to `on_record` in log order. The records of
/// a multi-frame batch are delivered only once its last part has been found. With
/// `skip_holes` (a log emdb 1.0 wrote), a zero-filled gap at a frame boundary that a valid
/// frame follows is skipped, not taken for damage.
pub(crate) fn scan_with<E>(
    bytes: &[u8],
    start: u64,
    skip_holes: bool,
    on_record: &mut dyn FnMut(Record<'_>) -> Result<(), E>,
) -> Result<Scan, (E, Lsn)> {
    let start = usize::try_from(start).unwrap_or(usize::MAX).min(bytes.len());
    let mut pos = start;
    let mut end = start;
    let (mut frames, mut records) = (0u64, 0u64);
    let mut last: Option<(usize, u32)> = None;
    let mut open: Option<OpenBatch> = None;
    let mut bad_content: Option<&'static str> = None;
    let mut holes = Vec::new();
    let deliver = |on_record: &mut dyn FnMut(Record<'_>) -> Result<(), E>, lsn: usize, off: usize, len: usize| {
        on_record(Record {
            lsn: Lsn::new(lsn as u64),
            offset: off as u64,
            bytes: &bytes[off..off + len],
        })
        .map_err(|e| (e, Lsn::new(lsn as u64)))
    };

    let stop = loop {
        let here = &bytes[pos..];
        let (payload, len) = match frame::decode(here) {
            Decoded::Frame { payload, len } => (payload, len),
            other => {
                if skip_holes
                    && open.is_none()
                    && let Some(next) = hole_end(bytes, pos)
                {
                    holes.push((Lsn::new(pos as u64), Lsn::new(next as u64)));
                    pos = next;
                    continue;
                }
                break other;
            }
        };
        let crc = frame::stored_checksum(&here[..len]).unwrap_or(0);
        let body = &here[payload.clone()];
        match batch::content(body) {
            Err(reason) => {
                bad_content = Some(reason);
                break Decoded::BadChecksum;
            }
            Ok(Content::Padding) => {
                if open.is_some() {
                    bad_content = Some("a frame interrupts a multi-frame batch");
                    break Decoded::BadChecksum;
                }
                frames += 1;
                last = Some((pos, crc));
                pos += len;
                end = pos;
            }
            Ok(Content::Plain) => {
                if open.is_some() {
                    bad_content = Some("a frame interrupts a multi-frame batch");
                    break Decoded::BadChecksum;
                }
                deliver(on_record, pos, pos + payload.start, body.len())?;
                frames += 1;
                records += 1;
                last = Some((pos, crc));
                pos += len;
                end = pos;
            }
            Ok(Content::Batch(b)) => {
                match (open.is_some(), b.cont()) {
                    (false, true) => {
                        bad_content = Some("a batch part without its first part");
                        break Decoded::BadChecksum;
                    }
                    (true, false) => {
                        bad_content = Some("a frame interrupts a multi-frame batch");
                        break Decoded::BadChecksum;
                    }
                    _ => {}
                }
                if open.is_none() && !b.more() {
                    for (at, rec) in b.records() {
                        deliver(on_record, pos, pos + payload.start + at, rec.len())?;
                    }
                    frames += 1;
                    records += u64::from(b.count);
                    last = Some((pos, crc));
                    pos += len;
                    end = pos;
                    continue;
                }
                let group = open.get_or_insert_with(|| OpenBatch {
                    start: pos,
                    frames: 0,
                    last: (pos, crc),
                    records: Vec::new(),
                });
                group
                    .records
                    .extend(b.records().map(|(at, rec)| (pos, pos + payload.start + at, rec.len())));
                group.frames += 1;
                group.last = (pos, crc);
                pos += len;
                if !b.more()
                    && let Some(group) = open.take()
                {
                    for &(lsn, off, len) in &group.records {
                        deliver(on_record, lsn, off, len)?;
                    }
                    frames += group.frames;
                    records += group.records.len() as u64;
                    last = Some(group.last);
                    end = pos;
                }
            }
        }
    };

    let lsn = |x: usize| Lsn::new(x as u64);
    let (mut tail, mut cut_end) = match bad_content {
        Some(reason) => (
            Tail::Corrupt {
                offset: lsn(pos),
                next_valid: lsn(pos),
                reason,
            },
            end,
        ),
        None => classify(bytes, pos, &stop),
    };
    if let Some(group) = &open {
        end = group.start;
        match tail {
            Tail::Corrupt { .. } => cut_end = end,
            Tail::Clean => {
                tail = Tail::IncompleteBatch {
                    offset: lsn(group.start),
                };
                cut_end = pos;
            }
            Tail::Torn { .. } | Tail::IncompleteBatch { .. } => {
                tail = Tail::IncompleteBatch {
                    offset: lsn(group.start),
                };
            }
        }
    } else if matches!(tail, Tail::Corrupt { .. }) {
        cut_end = end;
    }
    Ok(Scan {
        start: lsn(start),
        end: lsn(end),
        frames,
        records,
        last_frame: last.map(|(at, _)| lsn(at)),
        tail,
        cut_end: cut_end as u64,
        holes,
        last_crc: last.map_or(0, |(_, crc)| crc),
    })
}

/// If a zero-filled gap starts at `x` (at least a padding frame long) and a valid frame
/// follows it, where that frame starts.
fn hole_end(bytes: &[u8], x: usize) -> Option<usize> {
    let rest = bytes.get(x..)?;
    let zeros = rest.iter().position(|&b| b != 0)?;
    if zeros < batch::MIN_PADDING {
        return None;
    }
    let next = x + zeros;
    matches!(frame::decode(&bytes[next..]), Decoded::Frame { .. }).then_some(next)
}

/// Classifies the bytes from `x`, where the frame decode stopped with `stop`. Returns the
/// tail and the end of the non-zero bytes to cut.
fn classify(bytes: &[u8], x: usize, stop: &Decoded) -> (Tail, usize) {
    let rest = &bytes[x..];
    if is_zero(rest) {
        return (Tail::Clean, x);
    }
    let garbage_end = x + rest.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let torn = (
        Tail::Torn {
            offset: Lsn::new(x as u64),
        },
        garbage_end,
    );
    let Some(next) = next_valid_frame(bytes, x + 1) else {
        return torn;
    };
    if let Some(claimed_end) = intact_claimed_end(rest)
        && x + claimed_end <= bytes.len()
        && is_zero(&bytes[x + claimed_end..])
    {
        return torn;
    }
    let reason = match stop {
        _ if is_zero(&rest[..rest.len().min(frame::HEADER_LEN)]) => "zeroed bytes where a frame should start",
        Decoded::BadMagic => "bad frame magic",
        Decoded::BadLength => "frame length out of range",
        Decoded::Truncated => "frame runs past the end of the file",
        Decoded::BadChecksum | Decoded::Frame { .. } => "checksum mismatch",
    };
    (
        Tail::Corrupt {
            offset: Lsn::new(x as u64),
            next_valid: Lsn::new(next as u64),
            reason,
        },
        x,
    )
}

/// If `bytes` start with a frame header whose magic and length are plausible, the frame's
/// claimed total length.
fn intact_claimed_end(bytes: &[u8]) -> Option<usize> {
    let head = bytes.get(..frame::HEADER_LEN)?;
    if head[..4] != frame::MAGIC {
        return None;
    }
    let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
    (len <= frame::MAX_PAYLOAD).then(|| frame::frame_len(len))
}

/// The first offset at or after `from` where a valid frame starts.
pub(crate) fn next_valid_frame(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + frame::OVERHEAD <= bytes.len() {
        let k = bytes[i..].iter().position(|&b| b == frame::MAGIC[0])?;
        let y = i + k;
        if bytes.get(y..y + 4) == Some(&frame::MAGIC[..]) && matches!(frame::decode(&bytes[y..]), Decoded::Frame { .. })
        {
            return Some(y);
        }
        i = y + 1;
    }
    None
}

/// Whether every byte is zero (vectorises; no early exit inside a chunk).
pub(crate) fn is_zero(bytes: &[u8]) -> bool {
    bytes
        .chunks(64 << 10)
        .all(|c| c.iter().fold(0u8, |acc, &b| acc | b) == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in payloads {
            frame::encode(p, &mut out);
        }
        out
    }

    fn batch_parts(parts: &[(&[&[u8]], u8)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (records, flags) in parts {
            out.extend(crate::batch::frame_of(records, *flags));
        }
        out
    }

    #[test]
    fn a_whole_log_and_its_zero_tail_are_clean() {
        let mut bytes = log(&[b"a", b"bb", b"ccc"]);
        let end = bytes.len() as u64;
        let s = scan(&bytes, Lsn::ZERO);
        assert_eq!((s.end.get(), s.frames, s.records, s.tail), (end, 3, 3, Tail::Clean));
        bytes.resize(bytes.len() + 4096, 0);
        let s = scan(&bytes, Lsn::ZERO);
        assert_eq!((s.end.get(), s.tail, s.cut_end), (end, Tail::Clean, end));
        assert_eq!(scan(&[], Lsn::ZERO).tail, Tail::Clean);
    }

    #[test]
    fn a_partial_last_frame_is_torn() {
        let bytes = log(&[b"first", b"second"]);
        let first_end = frame::frame_len(5) as u64;
        for cut in first_end as usize + 1..bytes.len() {
            let s = scan(&bytes[..cut], Lsn::ZERO);
            assert_eq!(s.end.get(), first_end);
            assert_eq!(
                s.tail,
                Tail::Torn {
                    offset: Lsn::new(first_end)
                }
            );
            assert_eq!(
                s.cut_end,
                cut as u64 - bytes[..cut].iter().rev().take_while(|&&b| b == 0).count() as u64
            );
        }
    }

    #[test]
    fn damage_followed_by_a_valid_frame_is_corrupt() {
        let mut bytes = log(&[b"one", b"two", b"three"]);
        let second = frame::frame_len(3);
        bytes[second + 9] ^= 1;
        let s = scan(&bytes, Lsn::ZERO);
        assert_eq!(s.end.get(), second as u64);
        let third = 2 * frame::frame_len(3) as u64;
        assert!(matches!(
            s.tail,
            Tail::Corrupt { offset, next_valid, reason: "checksum mismatch" }
                if offset.get() == second as u64 && next_valid.get() == third
        ));
        assert_eq!(s.cut_end, s.end.get(), "nothing is cut after corruption");
    }

    #[test]
    fn zeros_before_a_valid_frame_are_corrupt() {
        let mut bytes = log(&[b"one", b"two", b"three"]);
        let second = frame::frame_len(3);
        bytes[second..2 * second].fill(0);
        let s = scan(&bytes, Lsn::ZERO);
        assert!(matches!(
            s.tail,
            Tail::Corrupt {
                reason: "zeroed bytes where a frame should start",
                ..
            }
        ));
    }

    #[test]
    fn multi_frame_batches_count_only_when_complete() {
        let a: &[&[u8]] = &[b"r1", b"r2"];
        let b: &[&[u8]] = &[b"r3"];
        let whole = batch_parts(&[(a, crate::batch::FLAG_MORE), (b, crate::batch::FLAG_CONT)]);
        let s = scan(&whole, Lsn::ZERO);
        assert_eq!(
            (s.frames, s.records, s.tail, s.end.get()),
            (2, 3, Tail::Clean, whole.len() as u64)
        );

        let first_only = batch_parts(&[(a, crate::batch::FLAG_MORE)]);
        let s = scan(&first_only, Lsn::ZERO);
        assert_eq!((s.frames, s.records, s.end.get()), (0, 0, 0));
        assert_eq!(s.tail, Tail::IncompleteBatch { offset: Lsn::ZERO });
        assert_eq!(s.cut_end, first_only.len() as u64);

        let orphan = batch_parts(&[(b, crate::batch::FLAG_CONT)]);
        assert!(matches!(scan(&orphan, Lsn::ZERO).tail, Tail::Corrupt { .. }));

        let mut interrupted = batch_parts(&[(a, crate::batch::FLAG_MORE)]);
        interrupted.extend(log(&[b"plain"]));
        assert!(matches!(
            scan(&interrupted, Lsn::ZERO).tail,
            Tail::Corrupt {
                reason: "a frame interrupts a multi-frame batch",
                ..
            }
        ));
    }

    #[test]
    fn unknown_journal_tags_are_refused() {
        let bytes = log(&[b"ok", &[0xBC, 1, 2]]);
        let s = scan(&bytes, Lsn::ZERO);
        assert_eq!(s.records, 1);
        assert!(matches!(
            s.tail,
            Tail::Corrupt {
                reason: "frame uses a journal tag this version does not know",
                ..
            }
        ));
    }

    #[test]
    fn records_are_delivered_in_order_with_offsets() {
        let mut bytes = log(&[b"alpha"]);
        bytes.extend(batch_parts(&[(&[b"b1", b"b2"], 0)]));
        let mut seen = Vec::new();
        let s = scan_with(&bytes, 0, false, &mut |r: Record<'_>| {
            assert_eq!(&bytes[r.offset as usize..r.offset as usize + r.bytes.len()], r.bytes);
            seen.push(r.bytes.to_vec());
            Ok::<(), ()>(())
        })
        .expect("scan");
        assert_eq!(seen, vec![b"alpha".to_vec(), b"b1".to_vec(), b"b2".to_vec()]);
        assert_eq!(s.records, 3);
        assert_eq!(s.last_frame, Some(Lsn::new(frame::frame_len(5) as u64)));
    }

    #[test]
    fn a_scan_from_a_later_start_sees_only_the_rest() {
        let bytes = log(&[b"a", b"b", b"c"]);
        let s = scan(&bytes, Lsn::new(frame::frame_len(1) as u64));
        assert_eq!((s.frames, s.tail), (2, Tail::Clean));
        let beyond = scan(&bytes, Lsn::new(10_000));
        assert_eq!(
            (beyond.start.get(), beyond.end.get()),
            (bytes.len() as u64, bytes.len() as u64)
        );
    }
}
