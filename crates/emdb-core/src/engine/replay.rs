//! Rebuilding the indexes from the log, in the journal's single recovery scan.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use emdb_index::Location;
use emdb_journal::{Lsn, Record as JournalRecord, Replay, ReplayError, SidecarState};

use super::{Registry, Space, State};
use crate::error::Error;
use crate::record::{self, Record};

/// The flags this build can open.
pub(crate) const BUILD_FLAGS: u32 = 0;

/// The indexes and namespace names as the log builds them.
pub(crate) struct Rebuild {
    path: std::path::PathBuf,
    spaces: HashMap<u32, Arc<Space>>,
    names: BTreeMap<u32, String>,
    next_id: u32,
    range: bool,
}

fn corrupted(offset: u64, reason: &'static str) -> ReplayError {
    Box::new(Error::Corrupted { offset, reason })
}

impl Rebuild {
    pub(crate) fn new(range: bool, path: std::path::PathBuf) -> Rebuild {
        let mut spaces = HashMap::new();
        spaces.insert(0, Arc::new(Space::new(0, range)));
        Rebuild {
            path,
            spaces,
            names: BTreeMap::new(),
            next_id: 1,
            range,
        }
    }

    /// The default namespace's indexes, the named ones', and their names.
    pub(crate) fn finish(mut self) -> (Arc<Space>, HashMap<u32, Arc<Space>>, Registry) {
        let range = self.range;
        let default = self.spaces.remove(&0).unwrap_or_else(|| Arc::new(Space::new(0, range)));
        (
            default,
            self.spaces,
            Registry {
                names: self.names,
                next_id: self.next_id,
            },
        )
    }

    fn space(&self, ns: u32, offset: u64) -> Result<&Arc<Space>, ReplayError> {
        self.spaces
            .get(&ns)
            .ok_or_else(|| corrupted(offset, "a record names a namespace that was never bound"))
    }
}

impl Replay for Rebuild {
    fn begin(&mut self, sidecar: &SidecarState, checkpoint: Option<Lsn>) -> Result<Lsn, ReplayError> {
        let SidecarState::Valid(meta) = sidecar else {
            return Ok(Lsn::ZERO);
        };
        if meta.flags & !BUILD_FLAGS != 0 {
            return Err(Box::new(Error::FeatureMismatch {
                file_flags: meta.flags,
                build_flags: BUILD_FLAGS,
            }));
        }
        let restored = checkpoint.and_then(|cp| {
            let area = super::checkpoint::Area::decode(&meta.engine)?;
            super::checkpoint::load(&self.path, &area, cp, self.range).map(|r| (cp, r))
        });
        match restored {
            Some((cp, restored)) => {
                self.spaces = restored.spaces;
                self.names = restored.registry.names;
                self.next_id = restored.registry.next_id.max(1);
                Ok(cp)
            }
            None => Ok(Lsn::ZERO),
        }
    }

    fn record(&mut self, record: JournalRecord<'_>) -> Result<(), ReplayError> {
        self.record_in(record, &[])
    }

    fn record_in(&mut self, rec: JournalRecord<'_>, log: &[u8]) -> Result<(), ReplayError> {
        let offset = rec.offset;
        let decoded = record::decode(rec.bytes).map_err(|reason| corrupted(offset, reason))?;
        let key_in_log = |l: Location| -> Option<(u32, &[u8])> {
            let start = usize::try_from(l.offset).ok()?;
            record::key_of(log.get(start..start + l.len as usize)?)
        };
        match decoded {
            Record::Insert {
                ns, key, expires_at, ..
            } => {
                let len = u32::try_from(rec.bytes.len()).map_err(|_| corrupted(offset, "record too long"))?;
                let loc = Location::new(offset, len).expiring_at(expires_at);
                self.space(ns, offset)?
                    .index
                    .insert(key, loc, |l| key_in_log(l) == Some((ns, key)))
                    .map_err(|_| corrupted(offset, "record beyond the index's reach"))?;
            }
            Record::Remove { ns, key } => {
                self.space(ns, offset)?
                    .index
                    .remove(key, |l| key_in_log(l) == Some((ns, key)));
            }
            Record::Clear { ns } => self.space(ns, offset)?.index.clear(),
            Record::Bind { ns, name } => {
                if ns == 0 {
                    return Err(corrupted(offset, "a bind record names the default namespace"));
                }
                if name.is_empty() {
                    self.names.remove(&ns);
                    self.spaces.remove(&ns);
                } else {
                    let name = std::str::from_utf8(name)
                        .map_err(|_| corrupted(offset, "a namespace name is not UTF-8"))?
                        .to_owned();
                    self.names.insert(ns, name);
                    let range = self.range;
                    self.spaces.entry(ns).or_insert_with(|| Arc::new(Space::new(ns, range)));
                }
                self.next_id = self.next_id.max(ns.saturating_add(1));
            }
        }
        Ok(())
    }
}

/// Fills each namespace's range index from its hash index, reading every key once and
/// inserting them sorted (the skiplist's fast bulk path).
pub(crate) fn fill_range_indexes(state: &State) -> crate::Result<()> {
    let view = state.view()?;
    let spaces: Vec<Arc<Space>> = state
        .spaces
        .read()
        .values()
        .cloned()
        .chain([Arc::clone(&state.default)])
        .collect();
    for space in spaces {
        fill_range(&space, &view);
    }
    Ok(())
}

/// Fills one namespace's range index from its hash index.
pub(crate) fn fill_range(space: &Space, view: &emdb_journal::Snapshot) {
    let Some(range) = &space.range else { return };
    let mut items: Vec<(&[u8], Location)> = Vec::with_capacity(space.index.len());
    space.index.for_each(|loc| {
        if let Some((_, key)) = super::key_at(view, loc) {
            items.push((key, loc));
        }
    });
    range.insert_batch(&mut items);
}
