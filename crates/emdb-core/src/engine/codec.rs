//! How records are stored in the log: as they are, or sealed (with the `encrypt`
//! feature). Everything above works on plain records; the codec stands between it and the
//! journal. For a plain database it borrows bytes straight from the memory map and costs
//! nothing.

use std::borrow::Cow;

use emdb_index::Location;
use emdb_journal::{Journal, View};

use super::record;
use crate::error::{Error, Result};

/// Reads and writes records for one log.
#[derive(Clone, Debug, Default)]
pub(crate) struct Codec {
    #[cfg(feature = "encrypt")]
    sealer: Option<std::sync::Arc<super::crypt::Sealer>>,
}

impl Codec {
    /// Records stored as they are.
    pub(crate) fn plain() -> Codec {
        Codec::default()
    }

    /// Records sealed by `sealer`.
    #[cfg(feature = "encrypt")]
    pub(crate) fn sealed(sealer: super::crypt::Sealer) -> Codec {
        Codec {
            sealer: Some(std::sync::Arc::new(sealer)),
        }
    }

    /// The sealer, when the log is encrypted.
    #[cfg(feature = "encrypt")]
    pub(crate) fn sealer(&self) -> Option<&super::crypt::Sealer> {
        self.sealer.as_deref()
    }

    /// Whether records are sealed.
    pub(crate) fn is_sealed(&self) -> bool {
        #[cfg(feature = "encrypt")]
        if self.sealer.is_some() {
            return true;
        }
        false
    }

    /// The sidecar flags and engine-area section describing this codec (none when plain).
    pub(crate) fn meta(&self) -> (u32, Option<Vec<u8>>) {
        #[cfg(feature = "encrypt")]
        if let Some(s) = &self.sealer {
            return (s.params().flags(), Some(s.params().encode()));
        }
        (0, None)
    }

    /// The plain record of the stored record `stored` found at `offset`.
    pub(crate) fn open<'a>(&self, stored: &'a [u8], offset: u64) -> Result<Cow<'a, [u8]>> {
        #[cfg(feature = "encrypt")]
        if let Some(s) = &self.sealer {
            return s.open(stored, offset).map(Cow::Owned);
        }
        let _ = offset;
        Ok(Cow::Borrowed(stored))
    }

    /// The plain record at `loc` in `view` (a snapshot's, `Snapshot::view`, or one lent for
    /// a point read, `Journal::with_view`); `None` when it lies beyond the view (it was
    /// written after the view was taken).
    ///
    /// Every record handed out is verified first: a checked record by its own CRC, a sealed
    /// one by its AEAD tag (in `open`), an emdb 1.0 record by the CRC of the frame it fills.
    /// One that fails is `Corrupted` at its offset, never its bytes.
    pub(crate) fn read<'a>(&self, view: View<'a>, loc: Location) -> Result<Option<Cow<'a, [u8]>>> {
        let Some(stored) = view.slice(loc.offset, loc.len as usize) else {
            return Ok(None);
        };
        let plain = self.open(stored, loc.offset)?;
        self.check(&plain, loc, |at, len| view.slice(at, len))
            .map_err(|reason| Error::Corrupted {
                offset: loc.offset,
                reason,
            })?;
        Ok(Some(plain))
    }

    /// [`Codec::read`]'s verification of `plain`, the opened record at `loc`, with `log`
    /// the log's bytes: for open's replay, which reads the log before any snapshot exists.
    pub(crate) fn verify_in_log(&self, plain: &[u8], loc: Location, log: &[u8]) -> bool {
        self.check(plain, loc, |at, len| {
            let at = usize::try_from(at).ok()?;
            log.get(at..at.checked_add(len)?)
        })
        .is_ok()
    }

    /// Verifies the opened record `plain` at `loc`, reading the log through `bytes_at`.
    fn check<'a>(
        &self,
        plain: &[u8],
        loc: Location,
        bytes_at: impl Fn(u64, usize) -> Option<&'a [u8]>,
    ) -> Result<(), &'static str> {
        record::verify(plain)?;
        if !self.is_sealed() && record::is_unchecked_key_record(plain) && !frame_holds(bytes_at, loc) {
            return Err("record checksum mismatch (its frame's)");
        }
        Ok(())
    }

    /// The plain record at `loc` as its bytes stand, unverified: only for placing a damaged
    /// record in the range index by the key it still names (`range::hashed_keys`), so that
    /// scans reach and report it, never for handing bytes out. `None`
    /// when it lies beyond the view or does not open.
    pub(crate) fn read_unverified<'a>(&self, view: View<'a>, loc: Location) -> Option<Cow<'a, [u8]>> {
        self.open(view.slice(loc.offset, loc.len as usize)?, loc.offset).ok()
    }

    /// Appends one plain record; returns where its stored form starts and its stored
    /// length.
    pub(crate) fn append(&self, journal: &Journal, plain: &[u8]) -> Result<(u64, u32)> {
        #[cfg(feature = "encrypt")]
        if let Some(s) = &self.sealer {
            let len = super::crypt::Sealer::sealed_len(plain.len());
            let lsn = journal.append_placed(len, |at, out| s.seal(plain, at, out).map_err(Into::into))?;
            return Ok((lsn.get() + emdb_journal::frame::HEADER_LEN as u64, stored_len(len)?));
        }
        let lsn = journal.append(plain)?;
        Ok((
            lsn.get() + emdb_journal::frame::HEADER_LEN as u64,
            stored_len(plain.len())?,
        ))
    }

    /// Appends plain records as one batch; returns where each stored record starts and
    /// its stored length.
    pub(crate) fn append_batch<R: AsRef<[u8]>>(&self, journal: &Journal, plain: &[R]) -> Result<Vec<(u64, u32)>> {
        #[cfg(feature = "encrypt")]
        if let Some(s) = &self.sealer {
            let lens: Vec<usize> = plain
                .iter()
                .map(|r| super::crypt::Sealer::sealed_len(r.as_ref().len()))
                .collect();
            let receipt = journal.append_batch_placed(&lens, |i, at, out| {
                s.seal(plain[i].as_ref(), at, out).map_err(Into::into)
            })?;
            return receipt
                .record_offsets()
                .iter()
                .zip(&lens)
                .map(|(&at, &len)| Ok((at, stored_len(len)?)))
                .collect();
        }
        let receipt = journal.append_batch(plain)?;
        receipt
            .record_offsets()
            .iter()
            .zip(plain)
            .map(|(&at, r)| Ok((at, stored_len(r.as_ref().len())?)))
            .collect()
    }
}

/// Whether the record at `loc` fills a frame of its own that passes its CRC: how an emdb
/// 1.0 record, which carries no checksum, is verified (emdb 1.0 wrote every record in a
/// frame of its own, its batches and compactions too), and what a framed remove found at an
/// indexed location must pass (the index holds inserts only, so there it is damage either
/// way, reported as such, never taken for another key's record). An unchecked record anywhere else
/// (inside a batch frame, or where no frame header precedes it) was not written by emdb
/// 1.0 nor by this version: it is damage, such as a zeroed checked record, whose tag then
/// reads as emdb 1.0's.
fn frame_holds<'a>(bytes_at: impl Fn(u64, usize) -> Option<&'a [u8]>, loc: Location) -> bool {
    use emdb_journal::frame::{self, Decoded};
    let Some(start) = loc.offset.checked_sub(frame::HEADER_LEN as u64) else {
        return false;
    };
    let Some(bytes) = bytes_at(start, frame::frame_len(loc.len as usize)) else {
        return false;
    };
    bytes[..frame::HEADER_LEN] == frame::header(loc.len as usize)
        && matches!(frame::decode(bytes), Decoded::Frame { .. })
}

fn stored_len(len: usize) -> Result<u32> {
    u32::try_from(len).map_err(|_| {
        crate::Error::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "record larger than a frame can hold",
        ))
    })
}

/// The part `[start, start + len)` of a record, keeping it borrowed when it was.
pub(crate) fn narrow(rec: Cow<'_, [u8]>, start: usize, len: usize) -> Cow<'_, [u8]> {
    match rec {
        Cow::Borrowed(b) => Cow::Borrowed(b.get(start..start + len).unwrap_or_default()),
        Cow::Owned(mut v) => {
            v.truncate(start + len);
            v.drain(..start.min(v.len()));
            Cow::Owned(v)
        }
    }
}
