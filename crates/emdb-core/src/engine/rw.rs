//! Reads and writes: point operations under the key's stripe, batches under all of
//! theirs.

use std::sync::Arc;

use emdb_index::Location;
use emdb_journal::{Bytes, Lsn, Snapshot};

use super::{Inner, Space, State, key_at};
use crate::error::{Error, Result};
use crate::options::now_ms;
use crate::record;

/// One write of a batch.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Op<'a> {
    Put {
        ns: u32,
        key: &'a [u8],
        value: &'a [u8],
        expires_at: u64,
    },
    Remove {
        ns: u32,
        key: &'a [u8],
    },
    Clear {
        ns: u32,
    },
    Bind {
        ns: u32,
        name: &'a [u8],
    },
}

/// The live location of `key` in `space`, read through `view`. A slot whose record lies
/// beyond the view was written after the view was taken, by a writer of another key (the
/// caller holds this key's stripe), so it is not this key's.
fn find(space: &Space, view: &Snapshot, ns: u32, key: &[u8]) -> Option<Location> {
    space.index.get(key, |l| key_at(view, l) == Some((ns, key)))
}

/// Where the value of the insert record at `loc` lies in the file: (offset, length).
fn value_span(view: &Snapshot, loc: Location) -> Result<(u64, usize)> {
    let rec = view.slice(loc.offset, loc.len as usize).ok_or(Error::Corrupted {
        offset: loc.offset,
        reason: "an indexed record lies outside the log",
    })?;
    let (start, len) = record::value_span(rec).ok_or(Error::Corrupted {
        offset: loc.offset,
        reason: "an indexed record is not a well-formed insert",
    })?;
    Ok((loc.offset + start as u64, len))
}

/// The value bytes of the insert record at `loc`.
fn value_of(view: &Snapshot, loc: Location) -> Result<&[u8]> {
    let (at, len) = value_span(view, loc)?;
    view.slice(at, len).ok_or(Error::Corrupted {
        offset: loc.offset,
        reason: "an indexed value lies outside the log",
    })
}

/// Updates the index (and range index) of `space` with an appended insert of `key` at
/// `loc`, resolving existing slots through a view taken only if one is needed.
fn index_put(state: &State, space: &Space, ns: u32, key: &[u8], loc: Location) -> Result<Option<Location>> {
    let mut view: Option<Snapshot> = None;
    let mut failed = None;
    let previous = space.index.insert(key, loc, |l| {
        if view.is_none() {
            match state.journal.snapshot_through(Lsn::new(l.offset + u64::from(l.len))) {
                Ok(v) => view = Some(v),
                Err(e) => {
                    failed = Some(e);
                    return false;
                }
            }
        }
        view.as_ref().and_then(|v| key_at(v, l)) == Some((ns, key))
    })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    if let Some(range) = &space.range {
        range.insert(key, loc);
    }
    state.account(u64::from(loc.len), previous.map_or(0, |p| u64::from(p.len)));
    Ok(previous)
}

fn index_remove(state: &State, space: &Space, view: &Snapshot, ns: u32, key: &[u8]) -> Option<Location> {
    let removed = space.index.remove(key, |l| key_at(view, l) == Some((ns, key)));
    state.account(0, removed.map_or(0, |r| u64::from(r.len)));
    if removed.is_some()
        && let Some(range) = &space.range
    {
        range.remove(key);
    }
    removed
}

fn record_len(rec: &[u8]) -> Result<u32> {
    u32::try_from(rec.len()).map_err(|_| {
        Error::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "record larger than a frame can hold",
        ))
    })
}

impl Inner {
    /// Inserts or replaces `key` in namespace `ns`.
    pub(crate) fn put(&self, ns: u32, key: &[u8], value: &[u8], expires_at: u64) -> Result<()> {
        let mut rec = Vec::new();
        record::insert(&mut rec, ns, key, value, expires_at);
        let len = record_len(&rec)?;
        let _stripe = self.stripe(ns, key).write();
        let state = self.state.load();
        let space = state.space(ns)?;
        let lsn = state.journal.append(&rec)?;
        let loc = Location::new(lsn.get() + 8, len).expiring_at(expires_at);
        index_put(&state, &space, ns, key, loc)?;
        Ok(())
    }

    /// The live location of `key` (expired records are hidden) and a view to read it in.
    fn live(&self, ns: u32, key: &[u8]) -> Result<Option<(Snapshot, Location)>> {
        let _stripe = self.stripe(ns, key).read();
        let state = self.state.load();
        let space = state.space(ns)?;
        let view = state.view()?;
        Ok(find(&space, &view, ns, key)
            .filter(|l| !l.is_expired(now_ms()))
            .map(|l| (view, l)))
    }

    /// A copy of `key`'s value.
    pub(crate) fn get(&self, ns: u32, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.live(ns, key)? {
            Some((view, loc)) => Ok(Some(value_of(&view, loc)?.to_vec())),
            None => Ok(None),
        }
    }

    /// `key`'s value, borrowed from the memory map.
    pub(crate) fn get_bytes(&self, ns: u32, key: &[u8]) -> Result<Option<Bytes>> {
        let Some((view, loc)) = self.live(ns, key)? else {
            return Ok(None);
        };
        let (at, len) = value_span(&view, loc)?;
        view.bytes_at(at, len).map(Some).ok_or(Error::Corrupted {
            offset: loc.offset,
            reason: "an indexed value lies outside the log",
        })
    }

    /// Whether `key` is live.
    pub(crate) fn contains(&self, ns: u32, key: &[u8]) -> Result<bool> {
        Ok(self.live(ns, key)?.is_some())
    }

    /// `key`'s expiry: `Some(0)` for a live key that never expires, `None` if absent or
    /// expired.
    #[cfg(feature = "ttl")]
    pub(crate) fn expires_at(&self, ns: u32, key: &[u8]) -> Result<Option<u64>> {
        Ok(self.live(ns, key)?.map(|(_, l)| l.expires_at))
    }

    /// Removes `key`, returning its live value. Two concurrent removes of one key: one
    /// gets the value, the other `None` (the stripe orders them).
    pub(crate) fn remove(&self, ns: u32, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let _stripe = self.stripe(ns, key).write();
        let state = self.state.load();
        let space = state.space(ns)?;
        let view = state.view()?;
        let Some(loc) = find(&space, &view, ns, key) else {
            return Ok(None);
        };
        let old = (!loc.is_expired(now_ms()))
            .then(|| value_of(&view, loc).map(<[u8]>::to_vec))
            .transpose()?;
        let mut rec = Vec::new();
        record::remove(&mut rec, ns, key);
        state.journal.append(&rec)?;
        index_remove(&state, &space, &view, ns, key);
        Ok(old)
    }

    /// Rewrites `key` with a new expiry (persist: 0), keeping its value; `false` if it is
    /// absent or expired.
    #[cfg(feature = "ttl")]
    pub(crate) fn set_expiry(&self, ns: u32, key: &[u8], expires_at: u64) -> Result<bool> {
        let _stripe = self.stripe(ns, key).write();
        let state = self.state.load();
        let space = state.space(ns)?;
        let view = state.view()?;
        let Some(loc) = find(&space, &view, ns, key).filter(|l| !l.is_expired(now_ms())) else {
            return Ok(false);
        };
        let value = value_of(&view, loc)?;
        let mut rec = Vec::new();
        record::insert(&mut rec, ns, key, value, expires_at);
        let len = record_len(&rec)?;
        let lsn = state.journal.append(&rec)?;
        index_put(
            &state,
            &space,
            ns,
            key,
            Location::new(lsn.get() + 8, len).expiring_at(expires_at),
        )?;
        Ok(true)
    }

    /// Applies `ops` as one batch: one journal frame (crash-atomic), applied to the
    /// indexes while every stripe it touches is held (atomically visible).
    pub(crate) fn apply_batch(&self, ops: &[Op<'_>]) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        let mut records = Vec::with_capacity(ops.len());
        for op in ops {
            let mut rec = Vec::new();
            match *op {
                Op::Put {
                    ns,
                    key,
                    value,
                    expires_at,
                } => record::insert(&mut rec, ns, key, value, expires_at),
                Op::Remove { ns, key } => record::remove(&mut rec, ns, key),
                Op::Clear { ns } => record::clear(&mut rec, ns),
                Op::Bind { ns, name } => record::bind(&mut rec, ns, name),
            }
            record_len(&rec)?;
            records.push(rec);
        }
        // Lock order, everywhere: registry, stripes, batch gate.
        let mut registry = ops
            .iter()
            .any(|op| matches!(op, Op::Bind { .. }))
            .then(|| self.registry.lock());
        let _stripes = match self.stripes_of(ops) {
            Some(which) => self.lock_stripes(which),
            None => self.lock_all_stripes(),
        };
        let _gate = self.batch_gate.read();
        let state = self.state.load();
        let mut spaces: Vec<Arc<Space>> = Vec::with_capacity(ops.len());
        for op in ops {
            let (Op::Put { ns, .. } | Op::Remove { ns, .. } | Op::Clear { ns } | Op::Bind { ns, .. }) = *op;
            spaces.push(state.space(ns)?);
        }
        let receipt = state.journal.append_batch(&records)?;
        let view = state.view()?;
        for ((op, space), (&offset, rec)) in ops
            .iter()
            .zip(&spaces)
            .zip(receipt.record_offsets().iter().zip(&records))
        {
            match *op {
                Op::Put {
                    ns, key, expires_at, ..
                } => {
                    let loc = Location::new(offset, rec.len() as u32).expiring_at(expires_at);
                    index_put(&state, space, ns, key, loc)?;
                }
                Op::Remove { ns, key } => {
                    index_remove(&state, space, &view, ns, key);
                }
                Op::Clear { .. } => {
                    let mut cleared = 0u64;
                    space.index.for_each(|l| cleared += u64::from(l.len));
                    state.account(0, cleared);
                    space.index.clear();
                    if let Some(range) = &space.range {
                        range.clear();
                    }
                }
                Op::Bind { ns, name } => {
                    if let Some(registry) = registry.as_mut() {
                        if name.is_empty() {
                            registry.names.remove(&ns);
                            state.spaces.write().remove(&ns);
                        } else {
                            registry.names.insert(ns, String::from_utf8_lossy(name).into_owned());
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Number of entries of `ns` (expired-but-unswept ones included, as in emdb 1.0).
    pub(crate) fn len(&self, ns: u32) -> Result<usize> {
        Ok(self.state.load().space(ns)?.index.len())
    }

    /// The live locations of `ns` and a view to read them in, taken at one instant: no
    /// batch is half-applied in it.
    pub(crate) fn snapshot(&self, ns: u32) -> Result<(Snapshot, Vec<Location>)> {
        let _gate = self.batch_gate.write();
        let state = self.state.load();
        let space = state.space(ns)?;
        let view = state.view()?;
        Ok((view, space.index.locations()))
    }

    /// Tombstones every expired record of `ns`, each only if it is still the key's
    /// current record (a concurrent re-insert survives). Returns how many were removed.
    #[cfg(feature = "ttl")]
    pub(crate) fn sweep_expired(&self, ns: u32) -> Result<usize> {
        let now = now_ms();
        let (view, locations) = self.snapshot(ns)?;
        let mut removed = 0;
        for loc in locations.into_iter().filter(|l| l.is_expired(now)) {
            let Some((_, key)) = key_at(&view, loc) else { continue };
            let _stripe = self.stripe(ns, key).write();
            let state = self.state.load();
            let space = state.space(ns)?;
            let current = state.view()?;
            if find(&space, &current, ns, key) != Some(loc) {
                continue;
            }
            let mut rec = Vec::new();
            record::remove(&mut rec, ns, key);
            state.journal.append(&rec)?;
            index_remove(&state, &space, &current, ns, key);
            removed += 1;
        }
        Ok(removed)
    }

    /// Reads the key and value of the record at `loc` in `view`, if it is a live insert.
    pub(crate) fn entry_at(view: &Snapshot, loc: Location, now: u64) -> Option<Result<(Vec<u8>, Vec<u8>)>> {
        if loc.is_expired(now) {
            return None;
        }
        let Some((_, key)) = key_at(view, loc) else {
            return Some(Err(Error::Corrupted {
                offset: loc.offset,
                reason: "an indexed record could not be decoded",
            }));
        };
        Some(value_of(view, loc).map(|v| (key.to_vec(), v.to_vec())))
    }
}
