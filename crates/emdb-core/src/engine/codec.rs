//! How records are stored in the log: as they are, or sealed (with the `encrypt`
//! feature). Everything above works on plain records; the codec stands between it and the
//! journal. For a plain database it borrows bytes straight from the memory map and costs
//! nothing.

use std::borrow::Cow;

use emdb_index::Location;
use emdb_journal::{Journal, Snapshot};

use crate::error::Result;

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

    /// The plain record at `loc` in `view`; `None` when it lies beyond the view (it was
    /// written after the view was taken).
    pub(crate) fn read<'a>(&self, view: &'a Snapshot, loc: Location) -> Result<Option<Cow<'a, [u8]>>> {
        match view.slice(loc.offset, loc.len as usize) {
            Some(stored) => self.open(stored, loc.offset).map(Some),
            None => Ok(None),
        }
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
