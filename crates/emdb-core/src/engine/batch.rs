//! Batches: `insert_many`, transactions and `clear` as one journal frame each
//! (crash-atomic), applied to the indexes while every stripe the batch touches is held
//! (atomically visible to point reads) and under the batch gate shared (iterators never
//! see half of one). Point reads and writes are in `rw.rs`.

use emdb_index::Location;

use super::record::Record;
use super::rw::{KeyCheck, in_step, index_put, index_remove};
use super::{Inner, Space, SpaceRef, State};
use crate::error::Result;

/// Indexes a batch of nothing but inserts into one namespace (`insert_many`, a
/// transaction that only inserts): the hash index in one `insert_batch` (one lock per shard,
/// room made once, each key's slot fetched a few keys ahead), the range index in one sorted
/// pass, which walks paths already in cache and is about twice as fast as inserting in log
/// order. A location the index refuses changes neither index; a record that could not be
/// read back to compare keys is reported after both took the batch, so the two never
/// disagree (the caller then stops writes until a reopen, see `in_step`).
fn index_put_all(state: &State, space: &Space, ns: u32, puts: &[(&[u8], Location)]) -> Result<()> {
    // Every location checked first, so that the chunks below are all taken or none is.
    if let Some(&(_, loc)) = puts.iter().find(|(_, loc)| !loc.fits()) {
        return Err(emdb_index::Error::LocationOutOfRange {
            offset: loc.offset,
            len: loc.len,
        }
        .into());
    }
    let mut check = KeyCheck::default();
    // In chunks: `insert_batch` keeps a few words per item while it runs, which for a bulk
    // load of millions would be tens of MiB held at once for no gain.
    for chunk in puts.chunks(INDEX_CHUNK) {
        space
            .index
            .insert_batch(chunk, |i, l| check.holds(state, l, ns, chunk[i].0))?;
    }
    if let Some(range) = space.live_range() {
        range.insert_batch(puts);
    }
    check.finish()
}

/// Keys given to the hash index's `insert_batch` at a time by [`index_put_all`].
const INDEX_CHUNK: usize = 8192;

/// The namespace of a batch made only of inserts into one namespace.
fn only_puts_into_one_namespace(ops: &[Record<'_>]) -> Option<u32> {
    let Some(&Record::Insert { ns, .. }) = ops.first() else {
        return None;
    };
    ops.iter()
        .all(|op| matches!(*op, Record::Insert { ns: n, .. } if n == ns))
        .then_some(ns)
}

impl Inner {
    /// Applies `ops` as one batch: one journal frame (crash-atomic), applied to the
    /// indexes while every stripe it touches is held (atomically visible).
    pub(crate) fn apply_batch(&self, ops: &[Record<'_>]) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        // Every record encoded into one buffer: two allocations for the whole batch.
        let mut encoded = Vec::new();
        let mut ends = Vec::with_capacity(ops.len());
        for op in ops {
            op.encode(&mut encoded);
            ends.push(encoded.len());
        }
        let mut start = 0;
        let records: Vec<&[u8]> = ends
            .iter()
            .map(|&end| {
                let rec = &encoded[start..end];
                start = end;
                rec
            })
            .collect();
        // Lock order, everywhere: registry, stripes, batch gate (see `super::stripes`).
        let mut registry = ops
            .iter()
            .any(|op| matches!(op, Record::Bind { .. }))
            .then(|| self.registry.lock());
        let _stripes = self.stripes.lock_for(ops);
        let _gate = self.batch_gate.read();
        let state = self.state.load();
        let mut spaces: Vec<SpaceRef<'_>> = Vec::with_capacity(ops.len());
        for op in ops {
            spaces.push(state.space(op.ns())?);
        }
        let placed = state.codec.append_batch(&state.journal, &records)?;
        in_step(
            &state,
            self.index_batch(&state, ops, &spaces, &placed, registry.as_deref_mut()),
        )
    }

    /// Applies the records of an appended batch (`placed`: where each lies) to the indexes
    /// and, for binds, to the registry.
    fn index_batch(
        &self,
        state: &State,
        ops: &[Record<'_>],
        spaces: &[SpaceRef<'_>],
        placed: &[(u64, u32)],
        mut registry: Option<&mut super::registry::Registry>,
    ) -> Result<()> {
        if let Some(ns) = only_puts_into_one_namespace(ops) {
            let puts: Vec<(&[u8], Location)> = ops
                .iter()
                .zip(placed)
                .filter_map(|(op, &(offset, len))| match *op {
                    Record::Insert { key, expires_at, .. } => {
                        Some((key, Location::new(offset, len).expiring_at(expires_at)))
                    }
                    _ => None,
                })
                .collect();
            return index_put_all(state, &spaces[0], ns, &puts);
        }
        let view = state.view()?;
        for ((op, space), &(offset, len)) in ops.iter().zip(spaces).zip(placed) {
            match *op {
                Record::Insert {
                    ns, key, expires_at, ..
                } => {
                    let loc = Location::new(offset, len).expiring_at(expires_at);
                    index_put(state, space, ns, key, loc)?;
                }
                Record::Remove { ns, key } => {
                    index_remove(state, space, &view, ns, key)?;
                }
                Record::Clear { .. } => {
                    space.index.clear();
                    if let Some(range) = &space.range {
                        range.clear();
                    }
                }
                Record::Bind { ns, name } => {
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
}
