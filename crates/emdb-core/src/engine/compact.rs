//! Compaction and backup: live records rewritten into a new log while the database stays
//! open.
//!
//! Compaction:
//!
//! 1. **Capture** (writers pause while the hash indexes are copied, into copies made just
//!    before so that only bytes move): the log's end `E0`, every namespace's index and
//!    name.
//! 2. **Copy** (no lock): namespace bindings, then every live, unexpired record, into
//!    `<path>.compact.tmp` in batches, in the order of their offsets in the old log (so
//!    the old log is read front to back and the new one keeps the records' write order);
//!    each copied index then gets its records' new locations in one pass
//!    (`HashIndex::relocate`), not rebuilt key by key.
//! 3. **Catch up** (no lock): the records written since `E0` are re-applied to the new log
//!    and indexes, round after round, until what is left is small (or stops shrinking).
//! 4. **Swap** (the new log synced first; then writers pause): the last records are
//!    caught up, the new log is synced (only that last part is left to write) and
//!    renamed over `<path>` (its sidecar with it), and the journal and indexes are
//!    replaced in one step. Readers never wait: values, iterators and cursors keep the map
//!    of the file they started on.
//!
//! A crash before the rename leaves the database as it was (the scratch file is removed
//! at the next open; a failure, such as a full disk, removes it at once); after it, the
//! new log is complete and synced.
//!
//! Backup is steps 1 and 2 into `<target>.backup.tmp`, then the rename over `<target>`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use emdb_index::{HashIndex, Location};
use emdb_journal::{Journal, Lsn, Snapshot, sibling};

use super::area::EngineArea;
use super::codec::Codec;
use super::files::{keep_permissions, remove_if_present};
use super::open::journal_options;
use super::record::{self, Record};
use super::{Inner, Space, State, holds_key, range};
use crate::error::{Error, Result};
use crate::fault;

/// Records copied per batch frame, by bytes. Compaction needs no frame-level atomicity (the
/// rename makes the whole new log appear at once), so its frames stay small: one damaged
/// byte in a compacted log costs one frame of records, not megabytes of them, and the
/// frames are still large enough that their headers cost nothing measurable.
const COPY_BATCH_BYTES: usize = 64 << 10;
/// Catch-up rounds stop when fewer bytes than this are left for the final, locked one,
/// after this many rounds, or when a round left no less to do than the one before it
/// (writers outpace the catch-up: each further round would only have more to copy).
const CATCH_UP_SLACK: u64 = 1 << 20;
const CATCH_UP_ROUNDS: usize = 8;

/// What the capture saw.
pub(crate) struct Captured {
    state: Arc<State>,
    view: Snapshot,
    end: Lsn,
    names: Vec<(u32, String)>,
    /// Every namespace's hash index as it was at `end` (a copy).
    live: Vec<(u32, HashIndex)>,
}

/// The new log, how its records are stored, and the indexes being built over it.
pub(crate) struct Target {
    pub(crate) journal: Journal,
    codec: Codec,
    spaces: HashMap<u32, Arc<Space>>,
    range: bool,
}

impl Target {
    /// The new namespace `ns`, created on first use. With range scans it has its range
    /// index from the start, out of step until the copy fills it (or the first range scan
    /// after the swap builds it): never a namespace without one.
    fn space(&mut self, ns: u32) -> Arc<Space> {
        let range = self.range;
        Arc::clone(self.spaces.entry(ns).or_insert_with(|| {
            let space = Space::new(ns, range);
            space.set_range_stale();
            Arc::new(space)
        }))
    }

    /// Appends plain `records` (whole records, in order, in their current form) as one
    /// batch; returns where each was placed.
    fn append<R: AsRef<[u8]>>(&self, records: &[R]) -> Result<Vec<(u64, u32)>> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        self.codec.append_batch(&self.journal, records)
    }

    /// Appends plain `records` (whole records, in order) as one batch and applies each to
    /// the new indexes.
    fn apply<R: AsRef<[u8]>>(&mut self, records: &[R], indexed: bool) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let current = records
            .iter()
            .map(|r| record::current_form(r.as_ref()))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|reason| Error::Corrupted { offset: 0, reason })?;
        let records = &current[..];
        let placed = self.append(records)?;
        if !indexed {
            return Ok(());
        }
        let view = self.journal.snapshot_through(self.journal.end())?;
        let codec = self.codec.clone();
        let mut failed = None;
        for (&(offset, len), rec) in placed.iter().zip(records) {
            let decoded = record::decode(rec.as_ref()).map_err(|reason| Error::Corrupted { offset, reason })?;
            match decoded {
                Record::Insert {
                    ns, key, expires_at, ..
                } => {
                    let loc = Location::new(offset, len).expiring_at(expires_at);
                    let space = self.space(ns);
                    space
                        .index
                        .insert(key, loc, |l| holds_key(&codec, &view, l, ns, key, &mut failed))?;
                    if let Some(range) = space.live_range() {
                        range.insert(key, loc);
                    }
                }
                Record::Remove { ns, key } => {
                    let space = self.space(ns);
                    if space
                        .index
                        .remove(key, |l| holds_key(&codec, &view, l, ns, key, &mut failed))
                        .is_some()
                        && let Some(range) = space.live_range()
                    {
                        range.remove(key);
                    }
                }
                Record::Clear { ns } => {
                    let space = self.space(ns);
                    space.index.clear();
                    if let Some(range) = &space.range {
                        range.clear();
                    }
                }
                Record::Bind { ns, name } => {
                    if name.is_empty() {
                        self.spaces.remove(&ns);
                    } else {
                        self.space(ns);
                    }
                }
            }
        }
        // The new log was written by this run: a record of it that does not open is a bug
        // or damage, not something to index around.
        failed.map_or(Ok(()), Err)
    }

    /// Re-applies the records of the old log in `[from, to)`.
    fn catch_up(&mut self, old: &State, from: Lsn, to: Lsn) -> Result<()> {
        if from >= to {
            return Ok(());
        }
        let snap = old.journal.snapshot_through(to)?;
        let mut pending: Vec<Vec<u8>> = Vec::new();
        let mut bytes = 0;
        for rec in snap.records(from) {
            let rec = rec?;
            if rec.offset >= to.get() {
                break;
            }
            bytes += rec.bytes.len();
            pending.push(old.codec.open(rec.bytes, rec.offset)?.into_owned());
            if bytes >= COPY_BATCH_BYTES {
                self.apply(&pending, true)?;
                pending.clear();
                bytes = 0;
            }
        }
        self.apply(&pending, true)
    }
}

impl Inner {
    /// Writers pause while the hash indexes are copied into copies made before (so that
    /// under the locks only bytes move: no allocation, no fresh page touched).
    pub(crate) fn capture(&self) -> Result<Captured> {
        let copies = self.state.load().index_copies();
        let registry = self.registry.lock();
        let _stripes = self.stripes.lock_all();
        let _gate = self.batch_gate.write();
        let state = self.state.load_full();
        let view = state.view()?;
        let end = state.journal.end();
        let live = state.refresh_copies(copies);
        Ok(Captured {
            view,
            end,
            names: registry.names.iter().map(|(&id, n)| (id, n.clone())).collect(),
            live,
            state,
        })
    }

    /// Writes the captured live records into a new journal at `scratch`, stored by
    /// `codec` (the database's own, or another for the encryption admin), its sidecar
    /// describing that codec; with `indexed`, the captured indexes, relocated to the new
    /// log, become the target's.
    pub(crate) fn copy_live(
        &self,
        captured: &mut Captured,
        scratch: &Path,
        indexed: bool,
        codec: Codec,
    ) -> Result<Target> {
        remove_if_present(scratch)?;
        remove_if_present(&sibling(scratch, ".meta"))?;
        let journal = journal_options(self.flush_policy).open(scratch)?;
        let (flags, crypto) = codec.meta();
        // Set before any record: the sidecar always describes what the log holds.
        journal.set_meta(flags, &EngineArea { index: None, crypto }.encode())?;
        if indexed {
            // A compaction's (a backup or the encryption admin copies without indexes).
            fault::point("compact.scratch_created");
        }
        let mut target = Target {
            journal,
            codec,
            spaces: HashMap::new(),
            range: indexed && self.range_scans,
        };
        target.space(0);
        let mut binds = Vec::new();
        for (id, name) in &captured.names {
            let mut rec = Vec::new();
            record::bind(&mut rec, *id, name.as_bytes());
            binds.push(rec);
        }
        target.apply(&binds, indexed)?;
        let now = self.clock.now_ms();
        let live = std::mem::take(&mut captured.live);
        // The copy's bytes are made durable as it goes, by a thread of their own, so that
        // the device writes them while the next ones are copied and the final sync (under
        // the swap's locks, for a compaction) has only the tail left.
        let (copied, background) = std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<()>(1);
            let journal = &target.journal;
            // Without a thread (the system refused one) the final sync does all of it.
            let syncer = std::thread::Builder::new()
                .name("emdb-compact-sync".to_owned())
                .spawn_scoped(scope, move || rx.iter().find_map(|()| journal.sync().err()))
                .ok();
            let mut writeback = Writeback { tx, unsynced: 0 };
            let mut spaces = Vec::new();
            let copied = live.into_iter().try_for_each(|(ns, index)| {
                // Drops the expired entries and sizes each table to what is left (a
                // compaction after many removals gives the memory back too); it re-places
                // slots by their stored hash bits, reading no record.
                index.retain(|l| !l.is_expired(now));
                let mut locations = index.locations();
                self.copy_records(captured, &target, &mut locations, &mut writeback)?;
                if indexed {
                    index.relocate(&locations)?;
                    spaces.push((ns, index));
                }
                Ok::<_, Error>(())
            });
            drop(writeback);
            let background = syncer.and_then(|syncer| syncer.join().unwrap_or(None));
            (copied.map(|()| spaces), background)
        });
        // A failed background sync poisoned the journal: its error is the cause of what
        // failed after it.
        if let Some(e) = background {
            return Err(e.into());
        }
        for (ns, index) in copied? {
            let space = Space::with_index(index, target.range);
            if target.range {
                space.set_range_stale();
            }
            target.spaces.insert(ns, Arc::new(space));
        }
        Ok(target)
    }

    /// Copies the records at `locations` from the captured log to the target's, in the
    /// order of their offsets, and replaces each location by its record's new one.
    fn copy_records(
        &self,
        captured: &Captured,
        target: &Target,
        locations: &mut [Location],
        writeback: &mut Writeback,
    ) -> Result<()> {
        let from = &captured.state.codec;
        let mut order: Vec<(u64, usize)> = locations.iter().enumerate().map(|(i, l)| (l.offset, i)).collect();
        order.sort_unstable();
        let mut batch = Vec::new();
        let mut slots = Vec::new();
        let mut bytes = 0;
        let mut place =
            |batch: &mut Vec<Cow<'_, [u8]>>, slots: &mut Vec<usize>, locations: &mut [Location]| -> Result<()> {
                let placed = target.append(batch)?;
                writeback.wrote(batch.iter().map(|r| r.len()).sum());
                for (&i, (offset, len)) in slots.iter().zip(placed) {
                    locations[i] = Location::new(offset, len).expiring_at(locations[i].expires_at);
                }
                batch.clear();
                slots.clear();
                Ok(())
            };
        for (_, i) in order {
            let loc = locations[i];
            let rec = from.read(captured.view.view(), loc)?.ok_or(Error::Corrupted {
                offset: loc.offset,
                reason: "an indexed record lies outside the log",
            })?;
            // Plain records stay borrowed from the old log's map; opened (sealed) ones are
            // owned already.
            let rec = match rec {
                Cow::Borrowed(bytes) => current_form(bytes, loc.offset)?,
                Cow::Owned(bytes) => Cow::Owned(current_form(&bytes, loc.offset)?.into_owned()),
            };
            bytes += rec.len();
            batch.push(rec);
            slots.push(i);
            if bytes >= COPY_BATCH_BYTES {
                place(&mut batch, &mut slots, locations)?;
                bytes = 0;
            }
        }
        place(&mut batch, &mut slots, locations)
    }

    /// The codec of a rewritten copy of this database: the same key and parameters,
    /// with every record in the current, bound form.
    pub(crate) fn rewritten_codec(&self) -> Codec {
        let codec = self.state.load().codec.clone();
        #[cfg(feature = "encrypt")]
        if let Some(sealer) = codec.sealer() {
            let mut params = sealer.params().clone();
            params.legacy = false;
            return Codec::sealed(sealer.with_params(params));
        }
        codec
    }

    /// Rewrites the log with only its live records, while readers and writers carry on;
    /// writers wait only for the final swap. Then checkpoints, so the next open is fast.
    pub(crate) fn compact(&self) -> Result<()> {
        let compacting = self.compacting.lock();
        let data = self.data_path().to_path_buf();
        let scratch = sibling(&data, ".compact.tmp");
        let swapped = self.compact_into(&data, &scratch);
        if swapped.is_err() {
            remove_scratch(&scratch);
        }
        swapped?;
        fault::point("compact.swapped");
        self.write_checkpoint_compacting(&compacting)?;
        fault::point("compact.checkpointed");
        Ok(())
    }

    /// Copies the live records to `scratch` and swaps it in for `data` (compaction's steps
    /// 1 to 4).
    fn compact_into(&self, data: &Path, scratch: &Path) -> Result<()> {
        let mut captured = self.capture()?;
        fault::point("compact.captured");
        let mut target = self.copy_live(&mut captured, scratch, true, self.rewritten_codec())?;
        // The new files replace the old by rename: they take the old ones' permission
        // bits (a database shared 0640 stays so; new files are created owner-only).
        keep_permissions(data, scratch)?;
        keep_permissions(&sibling(data, ".meta"), &sibling(scratch, ".meta"))?;
        if self.range_scans {
            // A range index nobody has built yet (see `Space`) stays unbuilt in the copy;
            // a built one is filled in one sorted pass and kept in step from then on.
            let view = target.journal.snapshot()?;
            for (&id, space) in &target.spaces {
                let built = match id {
                    0 => captured.state.default.range_is_ready(),
                    _ => captured.state.spaces.read().get(&id).is_none_or(|s| s.range_is_ready()),
                };
                if built {
                    range::fill_range(space, &target.codec, &view)?;
                    space.set_range_in_step();
                }
            }
        }
        fault::point("compact.copied");
        let old = Arc::clone(&captured.state);
        let mut from = captured.end;
        let mut last_gap = u64::MAX;
        for _ in 0..CATCH_UP_ROUNDS {
            let to = old.journal.end();
            let gap = to.get().saturating_sub(from.get());
            if gap < CATCH_UP_SLACK || gap >= last_gap {
                break;
            }
            target.catch_up(&old, from, to)?;
            fault::point("compact.caught_up");
            from = to;
            last_gap = gap;
        }
        drop(captured);
        // What was copied and caught up so far is made durable before writers pause, so
        // the swap's own sync has only the last catch-up to write.
        target.journal.sync()?;
        {
            let _registry = self.registry.lock();
            let _stripes = self.stripes.lock_all();
            let _gate = self.batch_gate.write();
            let current = self.state.load_full();
            if !Arc::ptr_eq(&current, &old) {
                return Err(Error::InvalidConfig("the database changed underneath compaction"));
            }
            target.catch_up(&old, from, old.journal.end())?;
            fault::point("compact.final_caught_up");
            let Target {
                mut journal,
                codec,
                mut spaces,
                ..
            } = target;
            let moved = journal
                .relocate(data)
                .map_err(Error::from)
                .and_then(|()| Ok(fault::fail("compact.relocate")?));
            // A move that failed before the log was renamed left the old files in place,
            // and the engine goes on with them. One that failed after (the sidecar's
            // rename, the directory's sync) left the new log at the database's path:
            // writes to the old one would land in a file no longer there, lost at the next
            // open. The engine takes the new log, whose records are the old one's live
            // ones, and refuses writes until a reopen, since the rename may not be durable.
            if moved.is_err() && journal.path() != data {
                return moved;
            }
            if moved.is_ok() {
                fault::point("compact.relocated");
            } else {
                journal.poison_writes();
            }
            let default = spaces
                .remove(&0)
                .unwrap_or_else(|| Arc::new(Space::new(0, self.range_scans)));
            self.state.store(Arc::new(State::new(journal, codec, spaces, default)));
            self.checkpointed.store(0, std::sync::atomic::Ordering::Release);
            moved?;
        }
        Ok(())
    }

    /// Writes a compacted copy of the database to `target` (and `<target>.meta`) through
    /// `<target>.backup.tmp`, replacing `target` atomically.
    pub(crate) fn backup_to(&self, target: &Path) -> Result<()> {
        let _one = self.compacting.lock();
        let resolved = match std::fs::canonicalize(target) {
            Ok(p) => p,
            Err(_) => match (target.parent(), target.file_name()) {
                (Some(parent), Some(name)) => {
                    let parent = if parent.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        parent
                    };
                    std::fs::canonicalize(parent)?.join(name)
                }
                _ => return Err(Error::InvalidConfig("the backup target has no file name")),
            },
        };
        if resolved == self.data_path() {
            return Err(Error::InvalidConfig("the backup target is the database itself"));
        }
        let scratch = sibling(&resolved, ".backup.tmp");
        let copied = self.backup_into(&resolved, &scratch);
        if copied.is_err() {
            remove_scratch(&scratch);
        }
        copied
    }

    fn backup_into(&self, target: &Path, scratch: &Path) -> Result<()> {
        let mut captured = self.capture()?;
        let copy = self.copy_live(&mut captured, scratch, false, self.rewritten_codec())?;
        let mut journal = copy.journal;
        journal.relocate(target)?;
        Ok(())
    }
}

/// Asks the copy's background sync for a pass every [`Writeback::EVERY`] bytes.
struct Writeback {
    tx: std::sync::mpsc::SyncSender<()>,
    unsynced: usize,
}

impl Writeback {
    const EVERY: usize = 8 << 20;

    fn wrote(&mut self, bytes: usize) {
        self.unsynced += bytes;
        if self.unsynced >= Self::EVERY {
            self.unsynced = 0;
            // Full: a pass is running or asked for already, and it will cover these bytes
            // or the next request will.
            let _ = self.tx.try_send(());
        }
    }
}

/// The record `bytes`, read at `offset` of the old log, in the current record form.
fn current_form(bytes: &[u8], offset: u64) -> Result<Cow<'_, [u8]>> {
    record::current_form(bytes).map_err(|reason| Error::Corrupted { offset, reason })
}

/// Removes the scratch log of a compaction or backup that failed, and its sidecar, best
/// effort: a copy cut short by a full disk must not keep the disk full until the next
/// open (which removes a compaction's; nothing removes a backup's). The copy's journal
/// is closed by then. Whatever step failed, this removes what the next open would: a
/// log already moved into place is no longer at the scratch path.
fn remove_scratch(scratch: &Path) {
    let _ = remove_if_present(scratch);
    let _ = remove_if_present(&sibling(scratch, ".meta"));
}
