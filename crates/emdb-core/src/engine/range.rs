//! The range index's life: kept in step by writers once built, built lazily by the first
//! range scan after an open (or a compaction that copied it unbuilt), and read a page at
//! a time by cursors.

use std::ops::Bound;
use std::sync::atomic::Ordering;

use emdb_index::{Location, RangeIndex};
use emdb_journal::Snapshot;

use super::codec::Codec;
use super::record;
use super::{Inner, Space, State};
use crate::error::Result;

impl Space {
    /// The range index if writers keep it in step (what a write updates).
    pub(crate) fn live_range(&self) -> Option<&RangeIndex> {
        self.range
            .as_ref()
            .filter(|_| self.range_maintained.load(Ordering::Acquire))
    }

    /// Whether a range scan can read the range index without building it first.
    pub(crate) fn range_is_ready(&self) -> bool {
        self.range_ready.load(Ordering::Acquire)
    }

    /// Marks a range index just filled with every key of the hash index (nobody else
    /// holding the space) as in step: writers keep it, scans read it.
    pub(crate) fn set_range_in_step(&self) {
        if self.range.is_some() {
            self.range_maintained.store(true, Ordering::Release);
            self.range_ready.store(true, Ordering::Release);
        }
    }

    /// Marks the range index as out of step with the hash index: after an open or a
    /// compaction filled the hash index alone. The caller is the only one holding the
    /// space, or holds every stripe.
    pub(crate) fn set_range_stale(&self) {
        if self.range.is_none() {
            return;
        }
        self.range_ready.store(false, Ordering::Release);
        self.range_maintained.store(false, Ordering::Release);
    }
}

/// Where one key lies in a [`hashed_keys`] buffer: start, length, and the location of the
/// record it was read from.
type KeySpan = (usize, usize, Location);

/// The keys of every record `space`'s hash index points at, read in log order
/// (sequential reads of the map, or of the opened plaintext when the log is encrypted)
/// and copied into one buffer: the buffer and each key's span.
///
/// A record that fails its verification is placed under the key its bytes still name, so
/// that a scan reaching it reports it as `get` does (`range` fails, a cursor skips it, as
/// `iter` does) and the other keys stay scannable. One whose key cannot be read at all (a
/// sealed record that no longer opens, a destroyed header) cannot be ordered: the build
/// fails with its error, so scans report it rather than skip a key that may lie in their
/// range, and the next scan tries again.
fn hashed_keys(space: &Space, codec: &Codec, view: &Snapshot) -> Result<(Vec<u8>, Vec<KeySpan>)> {
    let mut locations: Vec<Location> = Vec::with_capacity(space.index.len());
    space.index.for_each(|loc| locations.push(loc));
    locations.sort_unstable_by_key(|loc| loc.offset);
    let mut keys = Vec::new();
    let mut spans = Vec::with_capacity(locations.len());
    let view = view.view();
    for loc in locations {
        let rec = match codec.read(view, loc) {
            Ok(rec) => rec,
            Err(e @ crate::Error::Corrupted { .. }) => match codec.read_unverified(view, loc) {
                Some(rec) if record::key_of(&rec).is_some() => Some(rec),
                _ => return Err(e),
            },
            Err(e) => return Err(e),
        };
        if let Some(rec) = rec
            && let Some((_, key)) = record::key_of(&rec)
        {
            spans.push((keys.len(), key.len(), loc));
            keys.extend_from_slice(key);
        }
    }
    Ok((keys, spans))
}

/// The keys of a [`hashed_keys`] buffer as (key, location) pairs.
fn key_items<'k>(keys: &'k [u8], spans: &[KeySpan]) -> Vec<(&'k [u8], Location)> {
    spans
        .iter()
        .filter_map(|&(at, len, loc)| Some((keys.get(at..at + len)?, loc)))
        .collect()
}

/// Fills one namespace's range index from its hash index, nobody else writing (a
/// compaction's copy before it is swapped in).
pub(crate) fn fill_range(space: &Space, codec: &Codec, view: &Snapshot) -> Result<()> {
    let Some(range) = &space.range else { return Ok(()) };
    let (keys, spans) = hashed_keys(space, codec, view)?;
    range.insert_batch(&key_items(&keys, &spans));
    Ok(())
}

impl Inner {
    /// Fills namespace `ns`'s range index from its hash index while writers run and keep
    /// the range index in step themselves: each key is inserted under its stripe, and only
    /// if the hash index still points at the record it was read from (see
    /// [`Inner::ready_range`]).
    fn fill_range_under_stripes(&self, space: &Space, ns: u32, codec: &Codec, view: &Snapshot) -> Result<()> {
        let Some(range) = &space.range else { return Ok(()) };
        let (keys, spans) = hashed_keys(space, codec, view)?;
        let items = key_items(&keys, &spans);
        for at in RangeIndex::insertion_order(&items) {
            let Some(&(key, loc)) = items.get(at) else { continue };
            let _stripe = self.stripes.of(ns, key).read();
            if space.index.get(key, |l| l.offset == loc.offset).is_some() {
                range.insert(key, loc);
            }
        }
        Ok(())
    }

    /// The range index of namespace `ns` (`space`, of `state`), built first if it is
    /// stale; `None` without range scans.
    ///
    /// The build: under every stripe (no write half done), the index is emptied and
    /// writers start keeping it in step; then, with writers running, every key of the
    /// hash index is inserted under its own stripe, and only if the hash index still
    /// holds the same record for it (a key a writer changed or removed meanwhile is
    /// already right, or rightly absent). A build that fails leaves the index stale for
    /// the next scan to retry.
    pub(crate) fn ready_range<'s>(&self, state: &State, space: &'s Space, ns: u32) -> Result<Option<&'s RangeIndex>> {
        let Some(range) = &space.range else {
            return Ok(None);
        };
        if space.range_is_ready() {
            return Ok(Some(range));
        }
        let _one = space.range_build.lock();
        if space.range_is_ready() {
            return Ok(Some(range));
        }
        {
            let _stripes = self.stripes.lock_all();
            range.clear();
            space.range_maintained.store(true, Ordering::Release);
        }
        let filled = state
            .view()
            .and_then(|view| self.fill_range_under_stripes(space, ns, &state.codec, &view));
        if let Err(e) = filled {
            let _stripes = self.stripes.lock_all();
            space.set_range_stale();
            return Err(e);
        }
        space.range_ready.store(true, Ordering::Release);
        Ok(Some(range))
    }

    /// The next page of a cursor over namespace `ns`: up to `size` locations of keys from
    /// `lower` up to `upper`, in key order, with a view of the log that covers them. Taken
    /// under the batch gate, so it never holds half a batch. `None` without range scans.
    pub(crate) fn range_page(
        &self,
        ns: u32,
        lower: &Bound<Vec<u8>>,
        upper: &Bound<Vec<u8>>,
        size: usize,
    ) -> Result<Option<Page>> {
        // The range index is built (if an open left it stale) before the gate is taken:
        // a build takes every stripe, and writers take stripes before the gate. A
        // compaction swapping in a stale copy between the two is met by going round again.
        let (_gate, state) = loop {
            {
                let state = self.state.load();
                let space = state.space(ns)?;
                self.ready_range(&state, &space, ns)?;
            }
            let gate = self.batch_gate.write();
            let state = self.state.load();
            let space = state.space(ns)?;
            if space.range.is_none() || space.range_is_ready() {
                drop(space);
                break (gate, state);
            }
        };
        let space = state.space(ns)?;
        let Some(range) = &space.range else {
            return Ok(None);
        };
        let view = state.view()?;
        let lower = match lower {
            Bound::Included(k) => Bound::Included(k.as_slice()),
            Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
            Bound::Unbounded => Bound::Unbounded,
        };
        let mut locations = Vec::new();
        let mut last = None;
        let mut past_upper = false;
        for entry in range.range(lower, Bound::Unbounded) {
            if !below(upper, entry.key()) {
                past_upper = true;
                break;
            }
            if locations.len() == size {
                break;
            }
            locations.push(entry.location());
            last = Some(entry);
        }
        let full = locations.len() == size;
        Ok(Some(Page {
            resume_after: last.filter(|_| full && !past_upper).map(|e| e.key().to_vec()),
            locations,
            view,
            codec: state.codec.clone(),
        }))
    }
}

/// One page of a cursor (see [`Inner::range_page`]).
pub(crate) struct Page {
    /// Where the keys' records are, in key order.
    pub(crate) locations: Vec<Location>,
    /// The last key of a full page, after which the next page starts; `None` when the
    /// range holds nothing past this page.
    pub(crate) resume_after: Option<Vec<u8>>,
    /// A view of the log covering every location of the page.
    pub(crate) view: Snapshot,
    /// How the view's records are stored.
    pub(crate) codec: Codec,
}

/// Whether `key` lies at or below the bound `upper`.
fn below(upper: &Bound<Vec<u8>>, key: &[u8]) -> bool {
    match upper {
        Bound::Unbounded => true,
        Bound::Included(u) => key <= u.as_slice(),
        Bound::Excluded(u) => key < u.as_slice(),
    }
}
