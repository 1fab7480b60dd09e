//! Rebuilding the indexes from the log, in the journal's single recovery scan. For an
//! encrypted database, the key is checked against the sidecar before the first record is
//! read, and every record is opened (authenticated) as it is applied. An open without a
//! key refuses a database that anything shows to be encrypted (see [`super::evidence`]).
//!
//! # Namespace ids
//!
//! Ids are handed out in increasing order and never reused, so the scan holds, besides the
//! live bindings, the next free id and the ids unbound so far. Refused as `Corrupted`:
//!
//! * a bind of a reserved id (0, the default namespace, or `u32::MAX`);
//! * a bind giving a bound id a second name, or a bound name a second id (repeating a
//!   binding is harmless);
//! * an unbind of an id that is not bound;
//! * a bind of a dropped id: one unbound earlier in this scan, or, when the scan starts at
//!   a checkpoint (which keeps only the live names and the next free id), any unbound id
//!   below the checkpoint's next free id;
//! * an insert, remove or clear of an id that is not bound, except the one case below.
//!
//! emdb 1.0.2 ignored the unbind record emdb 1.0.3 writes at `drop_namespace`, listed
//! the namespace again under its old name and could write to it with no new bind. So an
//! insert or remove of an id unbound earlier in this scan binds it again to the name it
//! had, as emdb 1.0.x reads such a log, unless that name has since been bound to another
//! id (then it is `Corrupted`). Such writes precede every record of ours (a log is emdb
//! 1.0's until our first open rewrites its sidecar, which emdb 1.0 then refuses), and every
//! checkpoint covers them, so a scan from a checkpoint never needs the dropped names.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use emdb_index::Location;
use emdb_journal::{Lsn, Record as JournalRecord, Replay, ReplayError, SidecarState};

use super::Space;
use super::area::EngineArea;
use super::codec::Codec;
use super::evidence::{self, Evidence};
use super::record::{self, Record};
use super::registry::Registry;
use crate::error::Error;

/// The sidecar flags this build can open.
#[cfg(feature = "encrypt")]
pub(crate) const BUILD_FLAGS: u32 = super::crypt::FLAG_ENCRYPTED | super::crypt::FLAG_CHACHA;
#[cfg(not(feature = "encrypt"))]
pub(crate) const BUILD_FLAGS: u32 = 0;

/// Open without a key, of a database whose sidecar says it is encrypted.
#[cfg(feature = "encrypt")]
pub(crate) const NEEDS_KEY: &str = "the database is encrypted: open it with its key or passphrase";
/// Open with a key, of a database that holds plaintext records.
pub(crate) const NOT_ENCRYPTED: &str = "the database is not encrypted, and it is not empty: open it without a key, or encrypt it with Emdb::enable_encryption";
/// Sealed records with no encryption parameters to open them: the sidecar is damaged.
const PARAMS_LOST: &str = "the log holds encrypted records but the sidecar (.meta) holding their parameters is damaged";
/// Sealed records, and no sidecar at all: a keyed open cannot proceed (`InvalidConfig`,
/// as emdb 1.0 answers), and nothing is written.
const PARAMS_MISSING: &str =
    "the log holds encrypted records but its sidecar (.meta), which holds their encryption parameters, is missing";

/// An open without a key of a damaged sidecar over a log with no record.
const UNPROVEN: &str = "the sidecar (.meta) is damaged and the log holds no record, so nothing shows the database is not encrypted: open it with its key, or delete the sidecar if the database is plain";

/// The error of an open without a key of a database something shows to be encrypted.
fn keyless_refusal() -> ReplayError {
    #[cfg(feature = "encrypt")]
    return Box::new(Error::InvalidConfig(NEEDS_KEY));
    #[cfg(not(feature = "encrypt"))]
    Box::new(Error::FeatureMismatch {
        file_flags: 1,
        build_flags: BUILD_FLAGS,
    })
}

/// The indexes and namespace names as the log builds them.
pub(crate) struct Rebuild {
    path: std::path::PathBuf,
    spaces: HashMap<u32, Arc<Space>>,
    names: BTreeMap<u32, String>,
    next_id: u32,
    /// Ids unbound earlier in this scan, with the name each had (emdb 1.0.2's writes).
    dropped: HashMap<u32, String>,
    /// The next free id of the checkpoint the scan starts at (1 without one): an unbound
    /// id below it was dropped before the checkpoint.
    floor: u32,
    /// Whether the scan met a record.
    seen_record: bool,
    /// An open without a key over a damaged sidecar that shows nothing either way: a
    /// plaintext record proves the database plain; no record at all is refused.
    unproven: bool,
    range: bool,
    codec: Codec,
    /// A key was given for a database whose sidecar says plaintext: fine only if the log
    /// holds no record.
    must_be_empty: bool,
    /// There was no sidecar at all (not a damaged one).
    sidecar_missing: bool,
    /// An engine area open must write once the log is open (encryption set up on an
    /// empty database, or carried over from an emdb 1.0 sidecar).
    new_area: Option<Vec<u8>>,
    #[cfg(feature = "encrypt")]
    keying: Option<super::Keying>,
}

/// What the rebuild hands to the engine.
pub(crate) struct Finished {
    pub(crate) default: Arc<Space>,
    pub(crate) spaces: HashMap<u32, Arc<Space>>,
    pub(crate) registry: Registry,
    pub(crate) codec: Codec,
    pub(crate) new_area: Option<Vec<u8>>,
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
            dropped: HashMap::new(),
            floor: 1,
            seen_record: false,
            unproven: false,
            range,
            codec: Codec::plain(),
            must_be_empty: false,
            sidecar_missing: false,
            new_area: None,
            #[cfg(feature = "encrypt")]
            keying: None,
        }
    }

    /// The key to open with (or to set encryption up with, on an empty database).
    #[cfg(feature = "encrypt")]
    pub(crate) fn set_keying(&mut self, keying: Option<super::Keying>) {
        self.keying = keying;
    }

    /// The indexes and names, how the log's records are stored, and what the sidecar
    /// must be told. Sets encryption up when a key was given for an empty database.
    pub(crate) fn finish(mut self) -> crate::Result<Finished> {
        if self.unproven && !self.seen_record {
            return Err(Error::InvalidConfig(UNPROVEN));
        }
        #[cfg(feature = "encrypt")]
        if self.must_be_empty
            && let Some(keying) = &self.keying
        {
            if !keying.set_up {
                return Err(Error::InvalidConfig("the database is not encrypted"));
            }
            let sealer = super::crypt::CryptoParams::create(&keying.input, keying.cipher)?;
            self.codec = Codec::sealed(sealer);
            self.new_area = Some(
                EngineArea {
                    index: None,
                    crypto: self.codec.meta().1,
                }
                .encode(),
            );
        }
        let range = self.range;
        let default = self.spaces.remove(&0).unwrap_or_else(|| Arc::new(Space::new(0, range)));
        Ok(Finished {
            default,
            spaces: self.spaces,
            registry: Registry {
                names: self.names,
                next_id: self.next_id,
            },
            codec: self.codec,
            new_area: self.new_area,
        })
    }

    fn space(&self, ns: u32, offset: u64) -> Result<&Arc<Space>, ReplayError> {
        self.spaces
            .get(&ns)
            .ok_or_else(|| corrupted(offset, "a record names a namespace that was never bound"))
    }

    /// Before an insert or remove of namespace `ns`: an id unbound earlier in this scan is
    /// bound again to its old name (emdb 1.0.2's writes, see the module docs).
    fn revive(&mut self, ns: u32, offset: u64) -> Result<(), ReplayError> {
        if !self.spaces.contains_key(&ns)
            && let Some(name) = self.dropped.remove(&ns)
        {
            if self.names.values().any(|n| *n == name) {
                return Err(corrupted(
                    offset,
                    "a record names a dropped namespace whose name now belongs to another id",
                ));
            }
            self.names.insert(ns, name);
            let range = self.range;
            self.spaces.insert(ns, Arc::new(Space::new(ns, range)));
        }
        Ok(())
    }

    /// Applies a bind record (an empty name unbinds), checking the id rules of the module
    /// docs.
    fn bind(&mut self, ns: u32, name: &[u8], offset: u64) -> Result<(), ReplayError> {
        if ns == 0 || ns == u32::MAX {
            return Err(corrupted(
                offset,
                "a bind record names a reserved namespace id (0 or u32::MAX)",
            ));
        }
        if name.is_empty() {
            let Some(old) = self.names.remove(&ns) else {
                return Err(corrupted(
                    offset,
                    "an unbind record names a namespace that is not bound",
                ));
            };
            self.spaces.remove(&ns);
            self.dropped.insert(ns, old);
            return Ok(());
        }
        let name = std::str::from_utf8(name).map_err(|_| corrupted(offset, "a namespace name is not UTF-8"))?;
        match self.names.get(&ns) {
            Some(bound) if bound == name => return Ok(()),
            Some(_) => {
                return Err(corrupted(
                    offset,
                    "a bind record gives a bound namespace id a second name",
                ));
            }
            None => {}
        }
        if ns < self.floor || self.dropped.contains_key(&ns) {
            return Err(corrupted(offset, "a bind record re-binds a dropped namespace id"));
        }
        if self.names.values().any(|n| n == name) {
            return Err(corrupted(
                offset,
                "a bind record gives a bound namespace name a second id",
            ));
        }
        self.names.insert(ns, name.to_owned());
        let range = self.range;
        self.spaces.insert(ns, Arc::new(Space::new(ns, range)));
        // ns < u32::MAX (checked above), so this cannot overflow.
        self.next_id = self.next_id.max(ns + 1);
        Ok(())
    }

    /// Takes the bindings of a checkpoint, refusing what the rules of the module docs
    /// refuse: a reserved id, an id at or past the next free id, an id or name twice.
    fn restore(&mut self, restored: super::checkpoint::Restored) -> Result<(), ReplayError> {
        let next_id = restored.next_id.max(1);
        let mut names = BTreeMap::new();
        let mut default_seen = false;
        for (id, name) in restored.bindings {
            let bad = if id == 0 {
                let twice = default_seen;
                default_seen = true;
                (twice || !name.is_empty()).then_some("the checkpoint binds the default namespace")
            } else if id == u32::MAX || name.is_empty() {
                Some("the checkpoint binds a reserved namespace id or an empty name")
            } else if id >= next_id {
                Some("the checkpoint binds a namespace id at or past its next free id")
            } else if names.contains_key(&id) {
                Some("the checkpoint gives a namespace id a second name")
            } else if names.values().any(|n| *n == name) {
                Some("the checkpoint gives a namespace name a second id")
            } else {
                None
            };
            if let Some(reason) = bad {
                return Err(corrupted(0, reason));
            }
            if id != 0 {
                names.insert(id, name);
            }
        }
        self.spaces = restored.spaces;
        self.names = names;
        self.next_id = next_id;
        self.floor = next_id;
        Ok(())
    }

    /// Sets up the codec from the sidecar, checking the key. Returns the engine area.
    fn unlock(&mut self, sidecar: &SidecarState, has_checkpoint: bool) -> Result<EngineArea, ReplayError> {
        let meta = match sidecar {
            SidecarState::Valid(meta) => Some(meta),
            _ => None,
        };
        self.sidecar_missing = matches!(sidecar, SidecarState::Missing);
        let flags = meta.map_or(0, |m| m.flags);
        if flags & !BUILD_FLAGS != 0 {
            return Err(Box::new(Error::FeatureMismatch {
                file_flags: flags,
                build_flags: BUILD_FLAGS,
            }));
        }
        // An area this build cannot parse names no checkpoint it could use.
        let area = meta
            .filter(|m| m.version >= 2)
            .and_then(|m| EngineArea::decode(&m.engine).ok())
            .unwrap_or_default();
        #[cfg(feature = "encrypt")]
        if let Some(meta) = meta.filter(|m| m.flags & super::crypt::FLAG_ENCRYPTED != 0) {
            let Some(keying) = &self.keying else {
                return Err(Box::new(Error::InvalidConfig(NEEDS_KEY)));
            };
            let sealer = if meta.version == 1 {
                let sealer = super::crypt::CryptoParams::unlock_v1(meta.flags, &meta.engine, &keying.input)?;
                // Written once the log is open, before any record of ours.
                self.new_area = Some(
                    EngineArea {
                        index: None,
                        crypto: Some(sealer.params().encode()),
                    }
                    .encode(),
                );
                sealer
            } else {
                let params = area.crypto.as_deref().ok_or(Error::Encryption(
                    "the sidecar says encrypted but holds no encryption parameters",
                ))?;
                super::crypt::CryptoParams::decode(params)?.unlock(&keying.input)?
            };
            self.codec = Codec::sealed(sealer);
            return Ok(area);
        }
        #[cfg(feature = "encrypt")]
        if self.keying.is_some() {
            if has_checkpoint {
                return Err(Box::new(Error::InvalidConfig(NOT_ENCRYPTED)));
            }
            self.must_be_empty = true;
            return Ok(area);
        }
        let _ = has_checkpoint;
        // Opened without a key: nothing may say the database is encrypted.
        match evidence::of_sidecar(sidecar, &self.path) {
            Evidence::Encrypted => return Err(keyless_refusal()),
            Evidence::Unknown => self.unproven = matches!(sidecar, SidecarState::Damaged { .. }),
            Evidence::Plain => {}
        }
        Ok(area)
    }
}

impl Replay for Rebuild {
    fn begin(&mut self, sidecar: &SidecarState, checkpoint: Option<Lsn>) -> Result<Lsn, ReplayError> {
        let has_checkpoint = matches!(sidecar, SidecarState::Valid(m) if m.checkpoint.is_some());
        let area = self.unlock(sidecar, has_checkpoint)?;
        let restored = checkpoint.and_then(|cp| {
            let index = area.index?;
            super::checkpoint::load(&self.path, &index, cp, self.range, &self.codec).map(|r| (cp, r))
        });
        match restored {
            Some((cp, restored)) => {
                self.restore(restored)?;
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
        self.seen_record = true;
        if !self.must_be_empty && !self.codec.is_sealed() && evidence::is_sealed_record(rec.bytes) {
            // A sealed record opened without a key (a valid sidecar would have said so).
            return Err(keyless_refusal());
        }
        if self.must_be_empty {
            let sealed = rec.bytes.first().is_some_and(|t| t & 0xC0 != 0);
            return Err(if sealed && self.sidecar_missing {
                Box::new(Error::InvalidConfig(PARAMS_MISSING))
            } else if sealed {
                corrupted(0, PARAMS_LOST)
            } else {
                Box::new(Error::InvalidConfig(NOT_ENCRYPTED))
            });
        }
        let plain = self.codec.open(rec.bytes, offset)?;
        let decoded = record::decode(&plain).map_err(|reason| corrupted(offset, reason))?;
        if let Record::Insert { ns, .. } | Record::Remove { ns, .. } = decoded {
            self.revive(ns, offset)?;
        }
        let codec = &self.codec;
        let target = record::key_of(&plain);
        // The index's key check: is the earlier record at `l` this record's key? One that
        // names it is (whatever else is damaged: it is replaced either way), so the common
        // case, a key written again, costs no checksum at open; one that names another key
        // or none is verified, and counts as this key's when it fails, as on a live write
        // (`holds_key`).
        let key_in_log = |l: Location| -> bool {
            let Some(stored) = usize::try_from(l.offset)
                .ok()
                .and_then(|start| log.get(start..start + l.len as usize))
            else {
                return false;
            };
            match codec.open(stored, l.offset) {
                Ok(r) if target.is_some() && record::key_of(&r) == target => true,
                Ok(r) if codec.verify_in_log(&r, l, log) => {
                    target.is_some_and(|(ns, key)| super::is_slot_of(&r, ns, key))
                }
                _ => super::DAMAGED_IS_THIS_KEY,
            }
        };
        match decoded {
            Record::Insert {
                ns, key, expires_at, ..
            } => {
                let len = u32::try_from(rec.bytes.len()).map_err(|_| corrupted(offset, "record too long"))?;
                let loc = Location::new(offset, len).expiring_at(expires_at);
                self.space(ns, offset)?
                    .index
                    .insert(key, loc, key_in_log)
                    .map_err(|_| corrupted(offset, "record beyond the index's reach"))?;
            }
            Record::Remove { ns, key } => {
                self.space(ns, offset)?.index.remove(key, key_in_log);
            }
            Record::Clear { ns } => self.space(ns, offset)?.index.clear(),
            Record::Bind { ns, name } => self.bind(ns, name, offset)?,
        }
        Ok(())
    }
}
