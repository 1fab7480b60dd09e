//! Walking the log: its frames and their records, decoded and validated as they are
//! read, borrowed from the bytes of a [`Snapshot`](crate::Snapshot) or a frame.

use crate::batch::{self, BatchRecords, Content};
use crate::error::{Error, Result};
use crate::frame::{self, Decoded};
use crate::lsn::Lsn;

/// One record: the payload of a plain frame, or one record of a batch frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Record<'a> {
    /// The frame the record is in.
    pub lsn: Lsn,
    /// File offset of the record's first byte (stable: a store may index it).
    pub offset: u64,
    /// The record's bytes.
    pub bytes: &'a [u8],
}

/// A frame found valid at a known LSN, borrowed from some map's bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FrameAt<'a> {
    pub(crate) lsn: u64,
    pub(crate) payload: &'a [u8],
    pub(crate) payload_at: u64,
    pub(crate) len: usize,
    pub(crate) content: Content<'a>,
}

impl<'a> FrameAt<'a> {
    /// Decodes and validates the frame at `lsn` within `bytes`.
    pub(crate) fn decode(bytes: &'a [u8], lsn: u64) -> std::result::Result<Self, &'static str> {
        let at = usize::try_from(lsn).map_err(|_| "lsn beyond the address space")?;
        let here = bytes.get(at..).ok_or("lsn beyond the published log")?;
        match frame::decode(here) {
            Decoded::Frame { payload, len } => {
                let body = &here[payload.clone()];
                let content = batch::content(body)?;
                Ok(FrameAt {
                    lsn,
                    payload: body,
                    payload_at: lsn + payload.start as u64,
                    len,
                    content,
                })
            }
            Decoded::Truncated => Err("frame runs past the published log"),
            Decoded::BadMagic => Err("bad frame magic"),
            Decoded::BadLength => Err("frame length out of range"),
            Decoded::BadChecksum => Err("checksum mismatch"),
        }
    }

    pub(crate) fn records(&self) -> RecordsOf<'a> {
        RecordsOf {
            lsn: Lsn::new(self.lsn),
            payload_at: self.payload_at,
            inner: match self.content {
                Content::Plain => Inner::Plain(Some(self.payload)),
                Content::Batch(b) => Inner::Batch(b.records()),
                Content::Padding => Inner::Plain(None),
            },
        }
    }
}

/// The records of one frame, in order.
#[derive(Clone, Debug)]
pub struct RecordsOf<'a> {
    lsn: Lsn,
    payload_at: u64,
    inner: Inner<'a>,
}

#[derive(Clone, Debug)]
enum Inner<'a> {
    Plain(Option<&'a [u8]>),
    Batch(BatchRecords<'a>),
}

impl<'a> RecordsOf<'a> {
    /// No records (of the frame at `lsn`).
    pub(crate) fn empty(lsn: Lsn) -> RecordsOf<'a> {
        RecordsOf {
            lsn,
            payload_at: 0,
            inner: Inner::Plain(None),
        }
    }
}

impl<'a> Iterator for RecordsOf<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        match &mut self.inner {
            Inner::Plain(p) => p.take().map(|bytes| Record {
                lsn: self.lsn,
                offset: self.payload_at,
                bytes,
            }),
            Inner::Batch(b) => b.next().map(|(at, bytes)| Record {
                lsn: self.lsn,
                offset: self.payload_at + at as u64,
                bytes,
            }),
        }
    }
}

/// A frame seen by [`Frames`].
#[derive(Clone, Copy, Debug)]
pub struct FrameRef<'a> {
    inner: FrameAt<'a>,
}

impl<'a> FrameRef<'a> {
    /// The frame's LSN.
    #[must_use]
    pub fn lsn(&self) -> Lsn {
        Lsn::new(self.inner.lsn)
    }

    /// The LSN just past this frame.
    #[must_use]
    pub fn end(&self) -> Lsn {
        Lsn::new(self.inner.lsn + self.inner.len as u64)
    }

    /// The payload as stored.
    #[must_use]
    pub fn payload(&self) -> &'a [u8] {
        self.inner.payload
    }

    /// Whether this frame is a batch (or part of one).
    #[must_use]
    pub fn is_batch(&self) -> bool {
        matches!(self.inner.content, Content::Batch(_))
    }

    /// The frame's records.
    #[must_use]
    pub fn records(&self) -> RecordsOf<'a> {
        self.inner.records()
    }
}

/// Iterator over the frames of a [`Snapshot`].
#[derive(Debug)]
pub struct Frames<'a> {
    bytes: &'a [u8],
    pos: u64,
    done: bool,
}

impl<'a> Frames<'a> {
    /// The frames of `bytes` (a log from its start) from the frame at `from` on.
    pub(crate) fn new(bytes: &'a [u8], from: Lsn) -> Frames<'a> {
        Frames {
            bytes,
            pos: from.get(),
            done: false,
        }
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<FrameRef<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.bytes.len() as u64 {
            return None;
        }
        match FrameAt::decode(self.bytes, self.pos) {
            Ok(inner) => {
                self.pos += inner.len as u64;
                if matches!(inner.content, Content::Padding) {
                    // The journal's own filler (a gap of an emdb 1.0 log): no caller's frame.
                    return self.next();
                }
                Some(Ok(FrameRef { inner }))
            }
            Err(reason) => {
                self.done = true;
                Some(Err(Error::Corrupt {
                    offset: self.pos,
                    reason,
                }))
            }
        }
    }
}

/// Iterator over the records of a [`Snapshot`].
#[derive(Debug)]
pub struct Records<'a> {
    frames: Frames<'a>,
    current: Option<RecordsOf<'a>>,
    /// End of the multi-frame batch being yielded, once validated.
    group_end: Option<u64>,
}

impl<'a> Records<'a> {
    /// The records of `bytes` (a log from its start) from the frame at `from` on.
    pub(crate) fn new(bytes: &'a [u8], from: Lsn) -> Records<'a> {
        Records {
            frames: Frames::new(bytes, from),
            current: None,
            group_end: None,
        }
    }

    /// Checks that the multi-frame batch starting at the frame just read is complete.
    fn validate_group(&self, first: &FrameAt<'a>) -> Result<u64> {
        let mut probe = Frames {
            bytes: self.frames.bytes,
            pos: first.lsn + first.len as u64,
            done: false,
        };
        loop {
            let Some(next) = probe.next() else {
                return Err(Error::Corrupt {
                    offset: first.lsn,
                    reason: "multi-frame batch has no last part in the published log",
                });
            };
            let next = next?;
            match next.inner.content {
                Content::Batch(b) if b.cont() => {
                    if !b.more() {
                        return Ok(next.inner.lsn + next.inner.len as u64);
                    }
                }
                _ => {
                    return Err(Error::Corrupt {
                        offset: next.inner.lsn,
                        reason: "a frame interrupts a multi-frame batch",
                    });
                }
            }
        }
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(rec) = self.current.as_mut().and_then(Iterator::next) {
                return Some(Ok(rec));
            }
            self.current = None;
            let frame = match self.frames.next()? {
                Ok(f) => f.inner,
                Err(e) => return Some(Err(e)),
            };
            if self.group_end.is_some_and(|end| frame.lsn >= end) {
                self.group_end = None;
            }
            if let Content::Batch(b) = frame.content {
                if b.more() && !b.cont() && self.group_end.is_none() {
                    match self.validate_group(&frame) {
                        Ok(end) => self.group_end = Some(end),
                        Err(e) => {
                            self.frames.done = true;
                            return Some(Err(e));
                        }
                    }
                } else if b.cont() && self.group_end.is_none() {
                    self.frames.done = true;
                    return Some(Err(Error::Corrupt {
                        offset: frame.lsn,
                        reason: "a batch part without its first part",
                    }));
                }
            }
            self.current = Some(frame.records());
        }
    }
}
