//! The corruption suite's base database (`corruption.rs`): what it holds (a model of every
//! value each key ever had), where each key's newest record lies in its log, and the damage
//! a trial does to a copy of it.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use emdb_core::{Emdb, Namespace, Ttl};
use emdb_journal::Lsn;

use super::sibling;

/// The namespaces of the base (`None`: the default one), each with its key letter and the
/// number of keys it draws from. A key names its namespace by its letter, and no other
/// record holds its bytes (values start with `v`, namespace names are words).
pub const NAMESPACES: [(Option<&str>, u8, usize); 3] =
    [(None, b'd', 500), (Some("alpha"), b'p', 250), (Some("beta"), b'q', 150)];

/// A key and its value.
pub type Pair = (Vec<u8>, Vec<u8>);

/// A key of the base: its namespace and its bytes, `<letter><5 digits>`.
pub type Key = (Option<&'static str>, Vec<u8>);

/// Every answer a read of a key has been right at some time, oldest first (`None`: absent,
/// removed, or expired); the last one is right now.
#[derive(Default)]
pub struct Model {
    pub history: BTreeMap<Key, Vec<Option<Vec<u8>>>>,
    /// Keys that were written expired at some time: `len` counts such a record until a
    /// sweep removes it (an open that cuts a damaged tail may leave an older one newest).
    pub expired: BTreeSet<Key>,
    writes: u64,
}

impl Model {
    fn value(&mut self, rng: &mut fastrand::Rng) -> Vec<u8> {
        self.writes += 1;
        format!("v{:07}{}", self.writes, ".".repeat(rng.usize(8..160))).into_bytes()
    }

    fn push(&mut self, key: &Key, answer: Option<Vec<u8>>, expired: bool) {
        self.history
            .entry(key.clone())
            .or_insert_with(|| vec![None])
            .push(answer);
        if expired {
            self.expired.insert(key.clone());
        }
    }

    /// The right answer for `key` now.
    pub fn expected(&self, key: &Key) -> Option<&[u8]> {
        self.history.get(key).and_then(|h| h.last()).and_then(|v| v.as_deref())
    }

    /// Whether `answer` was right for `key` at some time.
    pub fn was(&self, key: &Key, answer: Option<&[u8]>) -> bool {
        self.history
            .get(key)
            .is_some_and(|h| h.iter().any(|v| v.as_deref() == answer))
    }
}

/// A namespace of the base's (or of a trial's copy): the default one or a named one.
pub enum Handle<'a> {
    Default(&'a Emdb),
    Named(Namespace),
}

/// Calls `$method` on whichever handle it is.
macro_rules! on_handle {
    ($handle:expr, $method:ident($($arg:expr),*)) => {
        match $handle {
            Handle::Default(db) => db.$method($($arg),*),
            Handle::Named(ns) => ns.$method($($arg),*),
        }
    };
}

impl<'a> Handle<'a> {
    /// The handle of namespace `ns` of `db` (a named one is made if missing).
    pub fn of(db: &'a Emdb, ns: Option<&str>) -> emdb_core::Result<Handle<'a>> {
        Ok(match ns {
            None => Handle::Default(db),
            Some(name) => Handle::Named(db.namespace(name)?),
        })
    }

    fn insert(&self, key: &[u8], value: &[u8], ttl: Ttl) {
        on_handle!(self, insert_with_ttl(key, value, ttl)).expect("insert");
    }

    fn insert_many(&self, items: Vec<(Vec<u8>, Vec<u8>)>) {
        on_handle!(self, insert_many(items)).expect("insert_many");
    }

    fn remove(&self, key: &[u8]) {
        on_handle!(self, remove(key)).expect("remove");
    }

    pub fn get(&self, key: &[u8]) -> emdb_core::Result<Option<Vec<u8>>> {
        on_handle!(self, get(key))
    }

    pub fn len(&self) -> emdb_core::Result<usize> {
        on_handle!(self, len())
    }

    /// `try_iter`'s items.
    pub fn try_items(&self) -> emdb_core::Result<Vec<emdb_core::Result<Pair>>> {
        Ok(on_handle!(self, try_iter())?.collect())
    }

    /// `iter`'s items.
    pub fn items(&self) -> emdb_core::Result<Vec<Pair>> {
        Ok(match self {
            Handle::Default(db) => db.iter()?.collect(),
            Handle::Named(ns) => ns.iter()?.collect(),
        })
    }

    /// `range(..)`.
    pub fn range_all(&self) -> emdb_core::Result<Vec<Pair>> {
        on_handle!(self, range(..))
    }

    /// `range_iter(..)`'s items.
    pub fn cursor_items(&self) -> emdb_core::Result<Vec<Pair>> {
        Ok(match self {
            Handle::Default(db) => db.range_iter(..)?.collect(),
            Handle::Named(ns) => ns.range_iter(..)?.collect(),
        })
    }
}

/// The base: a closed database and what it holds.
pub struct Base {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
    pub model: Model,
    pub layout: Layout,
}

/// Where things lie in the base's log.
pub struct Layout {
    /// Where the checkpoint's scan starts: the frames before it are below the durable floor
    /// (an open does not read them again), the ones after it are replayed.
    pub floor: u64,
    /// The end of the last frame.
    pub end: u64,
    /// Each key's newest record: the record's bytes and its frame's.
    pub newest: BTreeMap<Key, (Range<u64>, Range<u64>)>,
    /// The records naming each namespace (its creation).
    pub namespace_records: BTreeMap<&'static str, Vec<Range<u64>>>,
}

/// Builds the base, the same every time: writes (single inserts, inserts with a TTL of an
/// hour or expired at once, removes, batches, transactions, in three namespaces), a
/// compaction, more writes, a checkpoint, more writes (the tail an open replays), a close.
pub fn build_base() -> Base {
    let (dir, path) = super::temp_path("base.emdb");
    let db = super::ranged(&path).build().expect("open the base");
    let handles: Vec<Handle<'_>> = NAMESPACES
        .iter()
        .map(|(ns, ..)| Handle::of(&db, *ns).expect("namespace"))
        .collect();
    let mut model = Model::default();
    let mut rng = fastrand::Rng::with_seed(0xC022_0016);
    write(&db, &handles, &mut model, &mut rng, 1_500);
    db.compact().expect("compact");
    write(&db, &handles, &mut model, &mut rng, 600);
    db.checkpoint().expect("checkpoint");
    write(&db, &handles, &mut model, &mut rng, 300);
    drop(handles);
    drop(db);
    let layout = Layout::read(&path);
    for (key, history) in &model.history {
        assert!(
            history.len() == 1 || layout.newest.contains_key(key) || model.expected(key).is_none(),
            "the layout found no record of the live key {key:?}"
        );
    }
    Base {
        _dir: dir,
        path,
        model,
        layout,
    }
}

/// `ops` random writes.
fn write(db: &Emdb, handles: &[Handle<'_>], model: &mut Model, rng: &mut fastrand::Rng, ops: usize) {
    for _ in 0..ops {
        let which = [0, 0, 1, 2][rng.usize(..4)];
        let (ns, letter, pool) = NAMESPACES[which];
        let key = |rng: &mut fastrand::Rng| -> Key {
            (ns, format!("{}{:05}", letter as char, rng.usize(..pool)).into_bytes())
        };
        let handle = &handles[which];
        match rng.u32(..100) {
            0..45 => {
                let (k, v) = (key(rng), model.value(rng));
                handle.insert(&k.1, &v, Ttl::Never);
                model.push(&k, Some(v), false);
            }
            45..55 => {
                let (k, v) = (key(rng), model.value(rng));
                handle.insert(&k.1, &v, Ttl::After(Duration::from_secs(3_600)));
                model.push(&k, Some(v), false);
            }
            55..58 => {
                let (k, v) = (key(rng), model.value(rng));
                handle.insert(&k.1, &v, Ttl::After(Duration::ZERO));
                model.push(&k, None, true);
            }
            58..70 => {
                let k = key(rng);
                handle.remove(&k.1);
                model.push(&k, None, false);
            }
            70..88 => {
                let n = rng.usize(5..40);
                let keys: BTreeSet<Key> = (0..n).map(|_| key(rng)).collect();
                let items: Vec<(Key, Vec<u8>)> = keys.into_iter().map(|k| (k, model.value(rng))).collect();
                handle.insert_many(items.iter().map(|(k, v)| (k.1.clone(), v.clone())).collect());
                for (k, v) in items {
                    model.push(&k, Some(v), false);
                }
            }
            _ => {
                let keys: BTreeSet<Vec<u8>> = (0..rng.usize(3..12))
                    .map(|_| format!("d{:05}", rng.usize(..NAMESPACES[0].2)).into_bytes())
                    .collect();
                let ops: Vec<(Key, Option<Vec<u8>>)> = keys
                    .into_iter()
                    .map(|k| ((None, k), (rng.u32(..5) > 0).then(|| model.value(rng))))
                    .collect();
                db.transaction(|tx| {
                    for ((_, k), v) in &ops {
                        match v {
                            Some(v) => tx.insert(k.clone(), v.clone())?,
                            None => drop(tx.remove(k.clone())?),
                        }
                    }
                    Ok(())
                })
                .expect("transaction");
                for (k, v) in ops {
                    model.push(&k, v, false);
                }
            }
        }
    }
}

impl Layout {
    /// Reads the base's log (through a copy: the journal's open may write).
    fn read(path: &Path) -> Layout {
        let scratch = tempfile::tempdir().expect("temp dir");
        let copy = scratch.path().join("layout.emdb");
        std::fs::copy(path, &copy).expect("copy the log");
        std::fs::copy(sibling(path, ".meta"), sibling(&copy, ".meta")).expect("copy the sidecar");
        let journal = emdb_journal::Journal::open(&copy).expect("open the copy's journal");
        let floor = journal.recovery().scan.start.get();
        let end = journal.end().get();
        assert!(floor > 0 && floor < end, "the base has a checkpoint and a tail");
        let snapshot = journal.snapshot().expect("snapshot");
        let mut layout = Layout {
            floor,
            end,
            newest: BTreeMap::new(),
            namespace_records: BTreeMap::new(),
        };
        for frame in snapshot.frames(Lsn::ZERO) {
            let Ok(frame) = frame else { break };
            if frame.lsn().get() >= end {
                break;
            }
            let span = frame.lsn().get()..frame.end().get();
            for record in frame.records() {
                let at = record.offset..record.offset + record.bytes.len() as u64;
                if let Some(key) = key_in(record.bytes) {
                    layout.newest.insert(key, (at, span.clone()));
                    continue;
                }
                for (ns, ..) in NAMESPACES {
                    if let Some(name) = ns
                        && record.bytes.windows(name.len()).any(|w| w == name.as_bytes())
                    {
                        layout.namespace_records.entry(name).or_default().push(at.clone());
                    }
                }
            }
        }
        layout
    }
}

/// The key a record of the base holds: the first `<letter><5 digits>` in its bytes.
fn key_in(bytes: &[u8]) -> Option<Key> {
    (0..bytes.len().saturating_sub(5)).find_map(|i| {
        let (ns, ..) = NAMESPACES.iter().find(|(_, letter, _)| *letter == bytes[i])?;
        let digits = &bytes[i + 1..i + 6];
        let ends = bytes.get(i + 6).is_none_or(|b| !b.is_ascii_digit());
        (digits.iter().all(u8::is_ascii_digit) && ends).then(|| (*ns, bytes[i..i + 6].to_vec()))
    })
}

/// Which file of a database a trial damages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    Log,
    Sidecar,
    IndexSnapshot,
}

/// What a trial did to its copy.
#[derive(Debug)]
pub struct Damage {
    pub target: Target,
    pub kind: &'static str,
    /// The byte ranges changed (for a truncation, from the cut to the old end; for
    /// appended garbage, past the old end).
    pub spans: Vec<Range<u64>>,
}

impl Damage {
    /// Whether any damaged byte lies in `range`.
    pub fn touches(&self, range: &Range<u64>) -> bool {
        self.spans.iter().any(|s| s.start < range.end && range.start < s.end)
    }
}

/// Damages one file of the database at `path` (a copy of the base), at random: one to four
/// bit flips, a truncation, a zeroed or garbage 4 KiB page, or garbage appended.
pub fn damage(path: &Path, layout: &Layout, rng: &mut fastrand::Rng) -> Damage {
    let (target, file) = match rng.u32(..100) {
        0..70 => (Target::Log, path.to_path_buf()),
        70..85 => (Target::Sidecar, sibling(path, ".meta")),
        _ => (Target::IndexSnapshot, sibling(path, ".index")),
    };
    let mut bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
    let len = bytes.len() as u64;
    // In the log, mostly where the frames are, sometimes in the space preallocated after.
    let reach = if target == Target::Log && rng.u32(..100) < 85 {
        layout.end
    } else {
        len
    };
    let offset = |rng: &mut fastrand::Rng| rng.u64(..reach.max(1));
    let (kind, spans) = match rng.u32(..5) {
        0 => {
            let n = rng.usize(1..=4);
            let spans = (0..n).map(|_| offset(rng)).collect::<Vec<_>>();
            for &at in &spans {
                bytes[at as usize] ^= 1 << rng.u32(..8);
            }
            ("bit flips", spans.into_iter().map(|at| at..at + 1).collect())
        }
        1 => {
            let cut = offset(rng);
            bytes.truncate(cut as usize);
            ("truncation", std::iter::once(cut..len).collect())
        }
        k @ (2 | 3) => {
            let page = offset(rng) / 4096 * 4096;
            let page_end = (page + 4096).min(len);
            for b in &mut bytes[page as usize..page_end as usize] {
                *b = if k == 2 { 0 } else { rng.u8(..) };
            }
            (
                if k == 2 { "zeroed page" } else { "garbage page" },
                std::iter::once(page..page_end).collect(),
            )
        }
        _ => {
            let n = rng.u64(1..=8192);
            bytes.extend((0..n).map(|_| rng.u8(..)));
            ("appended garbage", std::iter::once(len..len + n).collect())
        }
    };
    std::fs::write(&file, bytes).expect("write the damaged file");
    Damage { target, kind, spans }
}

/// Copies the base's files into `dir`, under the base's own name; returns the copy's path.
pub fn copy_base(base: &Base, dir: &Path) -> PathBuf {
    let name = base.path.file_name().expect("a file name");
    let copy = dir.join(name);
    for suffix in ["", ".meta", ".index"] {
        let from = sibling(&base.path, suffix);
        if from.exists() {
            std::fs::copy(&from, sibling(&copy, suffix)).expect("copy a file of the base");
        }
    }
    copy
}
