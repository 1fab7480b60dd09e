//! Point reads and writes: point writes under the key's stripe, point reads checked
//! against its sequence (batches, under all of theirs, are in `batch.rs`). Records pass
//! through the state's codec, so everything here sees plain records whether the log is
//! encrypted or not.

use std::borrow::Cow;

use emdb_index::{Location, Probe};
use emdb_journal::{Lsn, Snapshot, View};

use super::codec::{Codec, narrow};
use super::record;
use super::{Inner, Space, State, holds_key};
use crate::error::{Error, Result};
use crate::options::Clock;
use crate::value::ValueRef;

/// The live entries of a namespace at one instant, and how to read them.
pub(crate) struct Listing {
    pub(crate) view: Snapshot,
    pub(crate) codec: Codec,
    pub(crate) locations: Vec<Location>,
    /// What the walk judges expiry by.
    pub(crate) clock: Clock,
}

/// A record found at its indexed location: its plain bytes and where its value lies in
/// them (`None` when the record holds no well-formed insert: damage, reported when the
/// value is asked for).
struct Found<'v> {
    loc: Location,
    rec: Cow<'v, [u8]>,
    value: Option<(usize, usize)>,
}

impl<'v> Found<'v> {
    /// The record's value, borrowed when the record is.
    fn value(self) -> Result<Cow<'v, [u8]>> {
        let (start, len) = self.value.ok_or(not_an_insert(self.loc.offset))?;
        Ok(narrow(self.rec, start, len))
    }
}

fn not_an_insert(offset: u64) -> Error {
    Error::Corrupted {
        offset,
        reason: "an indexed record is not a well-formed insert",
    }
}

/// The live location of `key` in `space` and its plain record, read through `view`. A
/// slot whose record lies beyond the view was written after the view was taken, by a
/// writer of another key, or of this key while the caller read without its stripe (the
/// caller then reads again), so it is not this key's. A candidate that fails its
/// verification, or holds no insert (damage: the index holds only inserts), is
/// `Corrupted` unless the key is found elsewhere or the candidate has expired (by
/// `clock`). The record's fields are decoded once, for the key compared and the value
/// handed out.
fn find<'v>(
    clock: &Clock,
    codec: &Codec,
    space: &Space,
    view: View<'v>,
    ns: u32,
    key: &[u8],
    probe: Probe,
) -> Result<Option<Found<'v>>> {
    let mut hit = None;
    let mut failed = None;
    let loc = space.index.get_probed(probe, |l| match codec.read(view, l) {
        Ok(Some(rec)) => match record::key_fields(&rec) {
            Some(f) if f.ns == ns && f.key == key => {
                let value = f.value;
                hit = Some((rec, value));
                true
            }
            // Another key with the same fingerprint.
            Some(_) => false,
            // The index holds only inserts: what lies there now is damage.
            None => {
                fail(
                    clock,
                    &mut failed,
                    l,
                    Error::Corrupted {
                        offset: l.offset,
                        reason: "an indexed record is not an insert",
                    },
                );
                false
            }
        },
        Ok(None) => false,
        Err(e) => {
            fail(clock, &mut failed, l, e);
            false
        }
    });
    match (loc, hit, failed) {
        (Some(loc), Some((rec, value)), _) => Ok(Some(Found { loc, rec, value })),
        (_, _, Some(e)) => Err(e),
        _ => Ok(None),
    }
}

/// A view of the log covering every record the index could hold for `key` (the slots
/// whose fingerprint matches), for a writer holding the key's stripe: the journal's write
/// buffer is written out only if one of them is still in it. A view of the whole log
/// would write the buffer out at every such write (a remove after any other write), one
/// system call each.
fn view_for_key(state: &State, space: &Space, key: &[u8]) -> Result<Snapshot> {
    let mut need = 0u64;
    space.index.get(key, |l| {
        need = need.max(l.offset + u64::from(l.len));
        false
    });
    Ok(state.journal.snapshot_through(Lsn::new(need))?)
}

/// Keeps `e`, the failure to read the candidate at `loc`, unless that candidate has
/// expired: an expired record answers absent whatever its bytes hold, in `get` as in the
/// iterators (which skip expired entries before reading them).
fn fail(clock: &Clock, failed: &mut Option<Error>, loc: Location, e: Error) {
    if !clock.expired(&loc) {
        *failed = Some(e);
    }
}

/// Updates the index (and range index) of `space` with an appended insert of `key` at
/// `loc`, resolving existing slots through a view taken only if one is needed (taking
/// one may write out the journal's buffer).
pub(super) fn index_put(state: &State, space: &Space, ns: u32, key: &[u8], loc: Location) -> Result<Option<Location>> {
    let previous = hash_put(state, space, ns, key, loc)?;
    if let Some(range) = space.live_range() {
        range.insert(key, loc);
    }
    Ok(previous)
}

/// The hash-index half of [`index_put`]; the caller updates the range index.
fn hash_put(state: &State, space: &Space, ns: u32, key: &[u8], loc: Location) -> Result<Option<Location>> {
    let mut check = KeyCheck::default();
    let previous = space.index.insert(key, loc, |l| check.holds(state, l, ns, key))?;
    check.finish()?;
    Ok(previous)
}

/// The key comparison of an index update: reads the record at a candidate location
/// through a view taken only when one is needed and extended only when a candidate lies
/// past it (taking one may write out the journal's buffer), and keeps the first failure
/// to read one, which the update reports after the index took it.
#[derive(Default)]
pub(super) struct KeyCheck {
    view: Option<Snapshot>,
    failed: Option<Error>,
}

impl KeyCheck {
    /// Whether the record at `l` is `key`'s in namespace `ns`.
    pub(super) fn holds(&mut self, state: &State, l: Location, ns: u32, key: &[u8]) -> bool {
        let need = l.offset + u64::from(l.len);
        if self.view.as_ref().is_none_or(|v| v.end().get() < need) {
            match state.journal.snapshot_through(Lsn::new(need)) {
                Ok(v) => self.view = Some(v),
                Err(e) => {
                    self.failed = Some(e.into());
                    return false;
                }
            }
        }
        self.view
            .as_ref()
            .is_some_and(|v| holds_key(&state.codec, v, l, ns, key, &mut self.failed))
    }

    /// The first failure to read a candidate, if any.
    pub(super) fn finish(self) -> Result<()> {
        self.failed.map_or(Ok(()), Err)
    }
}

/// Appends an insert of `key` and indexes it; the caller holds the key's stripe.
fn append_insert(state: &State, space: &Space, ns: u32, key: &[u8], value: &[u8], expires_at: u64) -> Result<()> {
    let mut rec = Vec::new();
    record::insert(&mut rec, ns, key, value, expires_at);
    let (offset, len) = state.codec.append(&state.journal, &rec)?;
    in_step(
        state,
        index_put(
            state,
            space,
            ns,
            key,
            Location::new(offset, len).expiring_at(expires_at),
        ),
    )?;
    Ok(())
}

/// `indexed`, the outcome of updating the indexes with records the log already holds. On
/// failure the log and the indexes no longer agree: the journal refuses every later write
/// and checkpoint until a reopen rebuilds the indexes from the log, so the mismatch is
/// never made permanent.
pub(super) fn in_step<T>(state: &State, indexed: Result<T>) -> Result<T> {
    if indexed.is_err() {
        state.journal.poison_writes();
    }
    indexed
}

/// Removes `key` from the indexes of `space`, its slot told apart from other keys' by
/// reading their records (a batch's remove, whose location nobody looked up).
pub(super) fn index_remove(
    state: &State,
    space: &Space,
    view: &Snapshot,
    ns: u32,
    key: &[u8],
) -> Result<Option<Location>> {
    let mut failed = None;
    let removed = index_remove_where(space, key, |l| holds_key(&state.codec, view, l, ns, key, &mut failed));
    match failed {
        Some(e) if removed.is_none() => Err(e),
        _ => Ok(removed),
    }
}

/// Removes `key`, which the caller found at `loc` under its stripe: the slot is the one
/// holding `loc`, so no record is read again.
fn index_remove_at(space: &Space, key: &[u8], loc: Location) -> Option<Location> {
    index_remove_where(space, key, |l| l.offset == loc.offset)
}

/// Removes `key` from both indexes of `space`, its slot the one `is_key` accepts.
fn index_remove_where(space: &Space, key: &[u8], is_key: impl FnMut(Location) -> bool) -> Option<Location> {
    let removed = space.index.remove(key, is_key);
    if removed.is_some()
        && let Some(range) = space.live_range()
    {
        range.remove(key);
    }
    removed
}

impl Inner {
    /// Inserts or replaces `key` in namespace `ns`.
    pub(crate) fn put(&self, ns: u32, key: &[u8], value: &[u8], expires_at: u64) -> Result<()> {
        let _stripe = self.stripes.of(ns, key).write();
        let state = self.state.load();
        let space = state.space(ns)?;
        append_insert(&state, &space, ns, key, value, expires_at)
    }

    /// Runs `f` under `key`'s stripe held for writing, with the state, the key's namespace
    /// and a view of the log covering every record the index holds for the key (see
    /// [`view_for_key`]): the ground of every point write that reads the key's record
    /// first.
    fn at_key_write<T>(&self, ns: u32, key: &[u8], f: impl FnOnce(&State, &Space, Snapshot) -> Result<T>) -> Result<T> {
        let _exclusive = self.stripes.of(ns, key).write();
        let state = self.state.load();
        let space = state.space(ns)?;
        let view = view_for_key(&state, &space, key)?;
        f(&state, &space, view)
    }

    /// The read twin of [`Inner::at_key_write`]: `f` runs without a lock, as many times as
    /// it takes to run once with no writer of the key's stripe beside it (see
    /// `super::stripes`), so it must only read. The log is lent to `f` for the call
    /// (`Journal::with_view`), not held by a snapshot: no reference count on the map; what
    /// must outlive the call takes a holder through [`View::bytes_at`].
    fn at_key_peek<T>(
        &self,
        ns: u32,
        key: &[u8],
        mut f: impl FnMut(&State, &Space, &View<'_>, Probe) -> Result<T>,
    ) -> Result<T> {
        self.stripes.of(ns, key).read_optimistic(|| {
            let state = self.state.load();
            let space = state.space(ns)?;
            // The key's first slots are fetched while the view is taken.
            let probe = space.index.probe(key);
            state.journal.with_view(|view| f(&state, &space, view, probe))?
        })
    }

    /// Runs `f` on `key`'s live record (expired records are hidden), as a point read (see
    /// [`Inner::at_key_peek`]), with the view it was read through.
    fn with_live<T>(
        &self,
        ns: u32,
        key: &[u8],
        mut f: impl FnMut(Found<'_>, &View<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        self.at_key_peek(ns, key, |state, space, view, probe| {
            match find(&self.clock, &state.codec, space, *view, ns, key, probe)? {
                Some(found) if !self.clock.expired(&found.loc) => f(found, view).map(Some),
                _ => Ok(None),
            }
        })
    }

    /// A copy of `key`'s value.
    pub(crate) fn get(&self, ns: u32, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.with_live(ns, key, |found, _| Ok(found.value()?.into_owned()))
    }

    /// `key`'s value: borrowed from the memory map, or the opened plaintext when the log
    /// is encrypted. The map is lent for the read and only the value handed out holds
    /// it, through the holder kept for this thread ([`View::bytes_at`]): no reference
    /// count shared by every reader is written.
    pub(crate) fn get_value(&self, ns: u32, key: &[u8]) -> Result<Option<ValueRef>> {
        self.with_live(ns, key, |found, view| {
            let offset = found.loc.offset;
            let (start, len) = match (&found.rec, found.value) {
                (Cow::Borrowed(_), Some(span)) => span,
                _ => return Ok(ValueRef::owned(found.value()?.into_owned())),
            };
            view.bytes_at(offset + start as u64, len)
                .map(ValueRef::mapped)
                .ok_or(Error::Corrupted {
                    offset,
                    reason: "an indexed value lies outside the log",
                })
        })
    }

    /// Whether `key` is live.
    pub(crate) fn contains(&self, ns: u32, key: &[u8]) -> Result<bool> {
        Ok(self.with_live(ns, key, |_, _| Ok(()))?.is_some())
    }

    /// `key`'s expiry: `Some(0)` for a key that never expires, `None` if absent. A record
    /// whose expiry has passed but that no sweep has removed yet still reports it (as
    /// emdb 1.0.3 does): the answer is in the past.
    #[cfg(feature = "ttl")]
    pub(crate) fn expires_at(&self, ns: u32, key: &[u8]) -> Result<Option<u64>> {
        self.at_key_peek(ns, key, |state, space, view, probe| {
            Ok(find(&self.clock, &state.codec, space, *view, ns, key, probe)?.map(|found| found.loc.expires_at))
        })
    }

    /// [`find`] for a writer holding `key`'s stripe, through the view
    /// [`Inner::at_key_write`] took.
    fn find_held<'v>(
        &self,
        state: &State,
        space: &Space,
        view: &'v Snapshot,
        ns: u32,
        key: &[u8],
    ) -> Result<Option<Found<'v>>> {
        find(
            &self.clock,
            &state.codec,
            space,
            view.view(),
            ns,
            key,
            space.index.probe(key),
        )
    }

    /// Removes `key`, returning the value of its record: also of an expired record that no
    /// sweep has removed yet (as emdb 1.0.3 does). Two concurrent removes of one key: one
    /// gets the value, the other `None` (the stripe orders them).
    pub(crate) fn remove(&self, ns: u32, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.at_key_write(ns, key, |state, space, view| {
            let Some(found) = self.find_held(state, space, &view, ns, key)? else {
                return Ok(None);
            };
            let loc = found.loc;
            let old = found.value()?.into_owned();
            let mut tombstone = Vec::new();
            record::remove(&mut tombstone, ns, key);
            state.codec.append(&state.journal, &tombstone)?;
            index_remove_at(space, key, loc);
            Ok(Some(old))
        })
    }

    /// Rewrites `key` without expiry, keeping its value; `false`, with nothing written, if
    /// it is absent, expired (never brought back) or has no expiry to remove.
    #[cfg(feature = "ttl")]
    pub(crate) fn persist(&self, ns: u32, key: &[u8]) -> Result<bool> {
        self.at_key_write(ns, key, |state, space, view| {
            let Some(found) = self.find_held(state, space, &view, ns, key)? else {
                return Ok(false);
            };
            if found.loc.expires_at == 0 || self.clock.expired(&found.loc) {
                return Ok(false);
            }
            let value = found.value()?;
            append_insert(state, space, ns, key, &value, 0)?;
            Ok(true)
        })
    }

    /// Number of entries of `ns` (expired-but-unswept ones included, as in emdb 1.0).
    pub(crate) fn len(&self, ns: u32) -> Result<usize> {
        Ok(self.state.load().space(ns)?.index.len())
    }

    /// The live locations of `ns` and a view to read them in, taken at one instant: no
    /// batch is half-applied in it.
    pub(crate) fn snapshot(&self, ns: u32) -> Result<Listing> {
        let _gate = self.batch_gate.write();
        let state = self.state.load();
        let space = state.space(ns)?;
        let view = state.view()?;
        Ok(Listing {
            view,
            codec: state.codec.clone(),
            locations: space.index.locations(),
            clock: self.clock.clone(),
        })
    }

    /// Tombstones every expired record of `ns`, each only if it is still the key's
    /// current record (a concurrent re-insert survives). Returns how many were removed.
    #[cfg(feature = "ttl")]
    pub(crate) fn sweep_expired(&self, ns: u32) -> Result<usize> {
        let now = self.clock.now_ms();
        // Only the expired locations are collected (every key is checked again under its
        // stripe below, so no gate is needed), and an index where nothing expires is not
        // walked at all: this runs at every open.
        let (view, codec, expired) = {
            let state = self.state.load();
            let space = state.space(ns)?;
            if space.index.expiring_len() == 0 {
                return Ok(0);
            }
            let mut expired = Vec::new();
            space.index.for_each(|l| {
                if l.is_expired(now) {
                    expired.push(l);
                }
            });
            (state.view()?, state.codec.clone(), expired)
        };
        let mut removed = 0;
        for loc in expired {
            let Some(key) = super::key_at(&codec, &view, loc)? else {
                continue;
            };
            let _stripe = self.stripes.of(ns, &key).write();
            let state = self.state.load();
            let space = state.space(ns)?;
            // Still the key's record? (A concurrent re-insert moved it: that one stays.)
            if space.index.get(&key, |l| l.offset == loc.offset).is_none() {
                continue;
            }
            let mut rec = Vec::new();
            record::remove(&mut rec, ns, &key);
            state.codec.append(&state.journal, &rec)?;
            index_remove_at(&space, &key, loc);
            removed += 1;
        }
        Ok(removed)
    }

    /// Reads the key and value of the record at `loc` in `view`, if it is a live insert.
    pub(crate) fn entry_at(
        codec: &Codec,
        view: &Snapshot,
        loc: Location,
        now: u64,
    ) -> Option<Result<(Vec<u8>, Vec<u8>)>> {
        if loc.is_expired(now) {
            return None;
        }
        let undecodable = Error::Corrupted {
            offset: loc.offset,
            reason: "an indexed record could not be decoded",
        };
        let rec = match codec.read(view.view(), loc) {
            Ok(Some(rec)) => rec,
            Ok(None) => return Some(Err(undecodable)),
            Err(e) => return Some(Err(e)),
        };
        let Some(fields) = record::key_fields(&rec) else {
            return Some(Err(undecodable));
        };
        let (key, value) = (fields.key.to_vec(), fields.value);
        let found = Found { loc, rec, value };
        Some(found.value().map(|v| (key, v.into_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An index update that fails after its record reached the log (here made to fail on
    /// purpose: the index itself refuses only locations past 2^48 bytes) leaves the
    /// journal refusing every write and checkpoint, so the mismatch is never made
    /// permanent; a reopen rebuilds the index from the log, the record included.
    #[test]
    fn a_failed_index_update_after_the_append_stops_writes_until_a_reopen() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("step.emdb");
        let inner = std::sync::Arc::new(Inner::open(crate::engine::Config {
            path: path.clone(),
            default_ttl: None,
            range_scans: false,
            flush_policy: crate::FlushPolicy::OnEachFlush,
            mem: None,
            clock: crate::options::Clock::default(),
            #[cfg(feature = "encrypt")]
            keying: None,
        })?);
        let db = crate::Emdb::from_inner(std::sync::Arc::clone(&inner))?;
        db.insert("before", "1")?;
        {
            let state = inner.state.load();
            let mut rec = Vec::new();
            record::insert(&mut rec, 0, b"in-the-log", b"2", 0);
            state.codec.append(&state.journal, &rec)?;
            let injected: Result<()> = Err(Error::InvalidConfig("injected index failure"));
            assert!(in_step(&state, injected).is_err());
        }
        assert!(db.insert("after", "3").is_err(), "writes refused");
        assert!(db.checkpoint().is_err(), "no checkpoint over the mismatch");
        assert_eq!(
            db.get("before").expect("read").as_deref(),
            Some(&b"1"[..]),
            "reads go on"
        );
        drop(db);
        drop(inner);
        let db = crate::Emdb::open(&path).expect("reopen");
        assert_eq!(
            db.get("in-the-log").expect("read").as_deref(),
            Some(&b"2"[..]),
            "rebuilt from the log"
        );
        assert_eq!(db.get("after")?, None);
        db.insert("after", "3")?;
        Ok(())
    }
}
