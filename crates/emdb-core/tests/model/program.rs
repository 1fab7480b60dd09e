//! The model test's programs and their judge, for `tests/model.rs` (proptest) and
//! the cargo-fuzz target `fuzz/fuzz_targets/model.rs`, which includes this file by `#[path]`.
//!
//! A program is a [`Setup`] and a list of [`Op`]s over the whole API: writes (insert,
//! insert with a TTL, insert_many, remove, persist, sweep, clear), transactions that commit
//! or roll back, namespaces (created, written, dropped, created again, and used through a
//! handle of a dropped one), the test clock moved on, flush, checkpoint, compaction,
//! backup, a clean reopen, and a crash: the database's files copied while it is open
//! (what a killed process leaves: everything written, nothing flushed), the handle
//! dropped and the copy opened. [`run`] runs one against a database and against the
//! model, a `BTreeMap` per namespace, and panics at the first difference.
//!
//! What is judged:
//! * every answer of a write (`remove`'s value, `persist`'s and `drop_namespace`'s
//!   `bool`, the sweep's count, a transaction's reads and its outcome) as it runs;
//! * every read path (`get`, `get_zerocopy`, `contains_key`, `expires_at`, `ttl`, `len`,
//!   `is_empty`, `iter`, `keys`, `try_iter`, `range`, `range_iter`, `range_prefix`,
//!   `iter_from`, `iter_after`, `list_namespaces`) against the model every few ops, after
//!   every reopen and crash, and on a backup opened beside the database;
//! * after a clean reopen: the model, exactly (with the sweep every open makes of the
//!   default namespace's expired records);
//! * after a crash: the model as of some moment between the last flush (or checkpoint or
//!   compaction, which flush) and the crash, writes applied in order and batches whole;
//!   the run goes on from the state found. (A sweep writes one tombstone per record, not a
//!   batch, so any part of it may have reached the file.)
#![allow(
    dead_code,
    reason = "the proptest builds programs itself, the fuzz target decodes them from bytes"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::time::Duration;

use emdb_core::{Emdb, Error, Namespace, TestClock, Ttl};

/// How many keys a program chooses among: few, so that writes meet the same keys again.
pub const KEYS: u8 = 20;
/// The namespaces a program chooses among: `""` is the default one (the database handle).
pub const NAMESPACES: [&str; 4] = ["", "alpha", "beta", "gamma"];
/// Where the test clock starts: 2001, long before any real clock, so that an expiry
/// decision reading the system clock instead of the database's would see every record
/// with a TTL as expired, and differ from the model.
pub const CLOCK_START_MS: u64 = 1_000_000_000_000;

/// TTLs and clock moves are whole multiples of this, so that reads often fall exactly on
/// an expiry (where "expired" begins: `expires_at <= now`).
pub const STEP_MS: u32 = 100;

/// Key number `i` (mod [`KEYS`]): the empty key, short keys, and keys longer than a range
/// index keeps inline.
pub fn key(i: u8) -> Vec<u8> {
    match i % KEYS {
        0 => Vec::new(),
        i if i % 7 == 3 => format!("k{i:02}/{}", "~".repeat(300)).into_bytes(),
        i => format!("k{i:02}").into_bytes(),
    }
}

/// Every key a program can write.
pub fn all_keys() -> Vec<Vec<u8>> {
    (0..KEYS).map(key).collect()
}

/// The name of namespace number `i` (mod 4; 0 is the default namespace).
pub fn namespace(i: u8) -> &'static str {
    NAMESPACES[usize::from(i) % NAMESPACES.len()]
}

/// The name of a named namespace (never the default one).
pub fn named(i: u8) -> &'static str {
    NAMESPACES[1 + usize::from(i) % (NAMESPACES.len() - 1)]
}

/// How a program opens its database.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    /// Range scans at the first open (each reopen chooses again).
    pub range_scans: bool,
    /// The builder's default TTL, in milliseconds.
    pub default_ttl_ms: Option<u32>,
}

/// A TTL as a program picks it.
#[derive(Clone, Copy, Debug)]
pub enum TtlPick {
    Never,
    Default,
    AfterMs(u32),
}

impl TtlPick {
    fn ttl(self) -> Ttl {
        match self {
            TtlPick::Never => Ttl::Never,
            TtlPick::Default => Ttl::Default,
            TtlPick::AfterMs(ms) => Ttl::After(Duration::from_millis(u64::from(ms))),
        }
    }
}

/// One step of a transaction (on the default namespace).
#[derive(Clone, Debug)]
pub enum TxOp {
    Insert {
        key: u8,
        len: u32,
    },
    InsertTtl {
        key: u8,
        len: u32,
        ttl: TtlPick,
    },
    Remove {
        key: u8,
    },
    Get {
        key: u8,
    },
    /// Time passes while the transaction runs.
    Advance {
        ms: u32,
    },
}

/// One step of a program. `ns` numbers a namespace (see [`namespace`]); a write to a named
/// namespace the database does not have creates it first. Values are made by the runner,
/// `len` bytes each, unique per write (but for the shortest).
#[derive(Clone, Debug)]
pub enum Op {
    Insert {
        ns: u8,
        key: u8,
        len: u32,
    },
    InsertTtl {
        ns: u8,
        key: u8,
        len: u32,
        ttl: TtlPick,
    },
    InsertMany {
        ns: u8,
        items: Vec<(u8, u32)>,
    },
    Remove {
        ns: u8,
        key: u8,
    },
    Persist {
        ns: u8,
        key: u8,
    },
    Sweep {
        ns: u8,
    },
    Clear {
        ns: u8,
    },
    Transaction {
        ops: Vec<TxOp>,
        commit: bool,
    },
    CreateNamespace {
        ns: u8,
    },
    DropNamespace {
        ns: u8,
    },
    /// Every call through the handle of a dropped namespace fails.
    UseDroppedHandle,
    Advance {
        ms: u32,
    },
    Flush,
    Checkpoint,
    Compact,
    /// `backup_to`, the copy opened beside the database and judged.
    Backup,
    Reopen {
        range_scans: bool,
    },
    Crash {
        range_scans: bool,
    },
    Check,
    /// The range calls over keys `lo` and `hi` of a namespace.
    Range {
        ns: u8,
        lo: u8,
        hi: u8,
    },
}

/// Decodes arbitrary bytes into a program (the fuzz target's input): every byte string is
/// a program, at most `max_ops` long.
pub fn decode(bytes: &[u8], max_ops: usize) -> (Setup, Vec<Op>) {
    let mut r = Reader(bytes);
    let flags = r.byte();
    let setup = Setup {
        range_scans: flags & 1 != 0,
        default_ttl_ms: (flags & 2 != 0).then(|| (2 + u32::from(r.byte() % 78)) * STEP_MS),
    };
    let mut ops = Vec::new();
    while !r.0.is_empty() && ops.len() < max_ops {
        ops.push(r.op());
    }
    (setup, ops)
}

/// Bytes read one at a time, zeros once they run out.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn len(&mut self) -> u32 {
        match self.byte() {
            0..8 => 0,
            b @ 8..200 => u32::from(b % 24) + 1,
            b @ 200..250 => 100 + u32::from(b - 200) * 40,
            b => 20_000 + u32::from(b - 250) * 10_000,
        }
    }

    fn ttl(&mut self) -> TtlPick {
        match self.byte() {
            0..32 => TtlPick::Never,
            32..64 => TtlPick::Default,
            b => TtlPick::AfterMs(u32::from((b - 64) % 50) * STEP_MS),
        }
    }

    fn op(&mut self) -> Op {
        let tag = self.byte();
        match tag % 32 {
            0..=6 => Op::Insert {
                ns: self.byte(),
                key: self.byte(),
                len: self.len(),
            },
            7..=9 => Op::InsertTtl {
                ns: self.byte(),
                key: self.byte(),
                len: self.len(),
                ttl: self.ttl(),
            },
            10 => {
                let ns = self.byte();
                let n = self.byte() % 6;
                Op::InsertMany {
                    ns,
                    items: (0..n).map(|_| (self.byte(), self.len())).collect(),
                }
            }
            11..=13 => Op::Remove {
                ns: self.byte(),
                key: self.byte(),
            },
            14 => Op::Persist {
                ns: self.byte(),
                key: self.byte(),
            },
            15 => Op::Sweep { ns: self.byte() },
            16 => Op::Clear { ns: self.byte() },
            17 | 18 => {
                let n = self.byte() % 6;
                let ops = (0..n)
                    .map(|_| match self.byte() % 5 {
                        0 => TxOp::Insert {
                            key: self.byte(),
                            len: self.len(),
                        },
                        1 => TxOp::InsertTtl {
                            key: self.byte(),
                            len: self.len(),
                            ttl: self.ttl(),
                        },
                        2 => TxOp::Remove { key: self.byte() },
                        3 => TxOp::Get { key: self.byte() },
                        _ => TxOp::Advance {
                            ms: u32::from(self.byte() % 30) * STEP_MS,
                        },
                    })
                    .collect();
                Op::Transaction {
                    ops,
                    commit: tag & 0x80 == 0,
                }
            }
            19 => Op::CreateNamespace { ns: self.byte() },
            20 => Op::DropNamespace { ns: self.byte() },
            21 => Op::UseDroppedHandle,
            22 | 23 => Op::Advance {
                ms: u32::from(self.byte() % 30) * STEP_MS,
            },
            24 => Op::Flush,
            25 => Op::Checkpoint,
            26 => Op::Compact,
            27 => Op::Backup,
            28 => Op::Reopen {
                range_scans: tag & 0x80 != 0,
            },
            29 => Op::Crash {
                range_scans: tag & 0x80 != 0,
            },
            30 => Op::Check,
            _ => Op::Range {
                ns: self.byte(),
                lo: self.byte(),
                hi: self.byte(),
            },
        }
    }
}

/// A short rendering of what a failed comparison shows: bytes as escaped text, long ones
/// cut (the comparison itself is of the whole values).
trait Show {
    fn show(&self) -> String;
}

impl Show for [u8] {
    fn show(&self) -> String {
        if self.len() <= 24 {
            format!("\"{}\"", self.escape_ascii())
        } else {
            format!("\"{}\"..({} bytes)", self[..16].escape_ascii(), self.len())
        }
    }
}

impl Show for Vec<u8> {
    fn show(&self) -> String {
        self.as_slice().show()
    }
}

impl Show for Option<Vec<u8>> {
    fn show(&self) -> String {
        match self {
            Some(v) => format!("Some({})", v.show()),
            None => "None".to_owned(),
        }
    }
}

impl Show for Vec<Vec<u8>> {
    fn show(&self) -> String {
        let items: Vec<String> = self.iter().map(|k| k.show()).collect();
        format!("[{}]", items.join(", "))
    }
}

impl Show for Vec<(Vec<u8>, Vec<u8>)> {
    fn show(&self) -> String {
        let items: Vec<String> = self
            .iter()
            .map(|(k, v)| format!("{}: {}", k.show(), v.show()))
            .collect();
        format!("[{}]", items.join(", "))
    }
}

impl Show for BTreeMap<Vec<u8>, Vec<u8>> {
    fn show(&self) -> String {
        let items: Vec<String> = self
            .iter()
            .map(|(k, v)| format!("{}: {}", k.show(), v.show()))
            .collect();
        format!("{{{}}}", items.join(", "))
    }
}

impl Show for BTreeMap<Vec<u8>, u64> {
    fn show(&self) -> String {
        let items: Vec<String> = self.iter().map(|(k, at)| format!("{}: {at}", k.show())).collect();
        format!("{{{}}}", items.join(", "))
    }
}

/// `Show` by `Debug`, for the types that print short.
macro_rules! show_by_debug {
    ($($t:ty),*) => {$(
        impl Show for $t {
            fn show(&self) -> String {
                format!("{self:?}")
            }
        }
    )*};
}

show_by_debug!(bool, usize, u64, Option<u64>, Option<Duration>, Vec<String>);

/// Panics with both sides shown short unless `$got == $want`.
macro_rules! same {
    ($got:expr, $want:expr, $($what:tt)+) => {{
        let (got, want) = (&$got, &$want);
        if got != want {
            panic!("{}\n  got:  {}\n  want: {}", format!($($what)+), Show::show(got), Show::show(want));
        }
    }};
}

/// A record as the model holds it.
#[derive(Clone, PartialEq, Eq)]
struct Entry {
    value: Vec<u8>,
    /// Unix ms, 0 = never.
    expires_at: u64,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} expiring at {}", self.value.show(), self.expires_at)
    }
}

impl Entry {
    fn live(&self, now: u64) -> bool {
        self.expires_at == 0 || self.expires_at > now
    }
}

type Space = BTreeMap<Vec<u8>, Entry>;

/// The database as the model sees it: the namespaces in creation order, the default one
/// (`""`) first. Expired records stay until a sweep, a compaction or (in the default
/// namespace) an open removes them, as in the engine: `len` counts them.
#[derive(Clone, PartialEq, Eq)]
struct Model {
    spaces: Vec<(String, Space)>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (name, space) in &self.spaces {
            writeln!(f, "    namespace {name:?}:")?;
            for (k, e) in space {
                writeln!(f, "      {}: {e:?}", k.show())?;
            }
        }
        Ok(())
    }
}

impl Model {
    fn new() -> Model {
        Model {
            spaces: vec![(String::new(), Space::new())],
        }
    }

    fn space(&self, name: &str) -> Option<&Space> {
        self.spaces.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }

    fn space_mut(&mut self, name: &str) -> &mut Space {
        match self.spaces.iter().position(|(n, _)| n == name) {
            Some(i) => &mut self.spaces[i].1,
            None => panic!("model: no namespace {name:?}"),
        }
    }

    fn names(&self) -> Vec<String> {
        self.spaces.iter().map(|(n, _)| n.clone()).collect()
    }

    /// What every open does: sweep the default namespace's expired records.
    fn opened(mut self, now: u64) -> Model {
        self.spaces[0].1.retain(|_, e| e.live(now));
        self
    }

    /// What a compaction (and a backup) keeps: the unexpired records of every namespace.
    fn compacted(mut self, now: u64) -> Model {
        for (_, space) in &mut self.spaces {
            space.retain(|_, e| e.live(now));
        }
        self
    }
}

/// A state a crash may leave: `model`, except that each key of `optional` (namespace,
/// key) may be missing (the records of a sweep that may not have reached the file).
#[derive(Clone)]
struct Candidate {
    model: Model,
    optional: BTreeSet<(String, Vec<u8>)>,
}

impl std::fmt::Debug for Candidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "  a state:")?;
        write!(f, "{:?}", self.model)?;
        for (name, k) in &self.optional {
            writeln!(f, "    (may lack {} of {name:?})", k.show())?;
        }
        Ok(())
    }
}

/// What a reopened database shows of one namespace: its `len`, its live entries, and the
/// expiry of every key it holds (expired ones too, which only `expires_at` and `len`
/// reveal).
struct Seen {
    len: usize,
    live: BTreeMap<Vec<u8>, Vec<u8>>,
    expiry: BTreeMap<Vec<u8>, u64>,
}

impl std::fmt::Debug for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "len {}, live {}, expiries {}",
            self.len,
            self.live.show(),
            self.expiry.show()
        )
    }
}

/// Whether `seen` (namespace names, then one [`Seen`] each) is `c` as an open leaves it,
/// and if so the model it is (the optional keys settled as seen).
fn settle(c: &Candidate, now: u64, names: &[String], seen: &[Seen]) -> Option<Model> {
    let mut model = c.model.clone().opened(now);
    if model.names() != names {
        return None;
    }
    for ((name, space), seen) in model.spaces.iter_mut().zip(seen) {
        if seen.len != seen.expiry.len() {
            return None;
        }
        for k in all_keys() {
            let entry = space.get(&k);
            let shown = seen.expiry.get(&k);
            match (entry, shown) {
                (None, None) => {}
                (Some(e), Some(&at)) if e.expires_at == at => {
                    let live = e.live(now).then_some(&e.value);
                    if seen.live.get(&k) != live {
                        return None;
                    }
                }
                (Some(_), None) if c.optional.contains(&(name.clone(), k.clone())) => {
                    space.remove(&k);
                }
                _ => return None,
            }
        }
        if seen.live.keys().any(|k| !space.contains_key(k)) {
            return None;
        }
    }
    Some(model)
}

/// A handle on one namespace: the database (default namespace) or a named one.
#[derive(Clone)]
enum Handle {
    Db(Emdb),
    Ns(Namespace),
}

/// Runs `$body` with `$h` bound to the handle's `Emdb` or `Namespace`.
macro_rules! on {
    ($handle:expr, |$h:ident| $body:expr) => {
        match $handle {
            Handle::Db($h) => $body,
            Handle::Ns($h) => $body,
        }
    };
}

/// `result`'s value; a panic naming `what` if the call failed.
fn ok<T>(result: emdb_core::Result<T>, what: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{what} failed: {e:?}"),
    }
}

fn sorted<T: Ord>(mut items: Vec<T>) -> Vec<T> {
    items.sort();
    items
}

/// The database under test, the model, and what a crash may leave.
struct Runner {
    dir: tempfile::TempDir,
    /// Bumped by every crash: the copy lives in a directory of its own.
    generation: u32,
    backups: u32,
    path: PathBuf,
    setup: Setup,
    range_scans: bool,
    clock: TestClock,
    db: Option<Emdb>,
    handles: BTreeMap<String, Namespace>,
    /// Handles of dropped namespaces.
    dropped: Vec<Namespace>,
    model: Model,
    /// The states a crash now may leave, oldest first: the one at the last flush, then
    /// one after every write.
    history: Vec<Candidate>,
    /// Numbers the values, so that each write's is its own.
    writes: u64,
}

/// Runs `ops` against a fresh database opened as `setup` says, and against the model;
/// panics at the first difference.
pub fn run(setup: Setup, ops: &[Op]) {
    let mut runner = Runner::new(setup);
    for (i, op) in ops.iter().enumerate() {
        runner.step(op);
        if i % 4 == 3 {
            runner.check(&format!("after op {i} ({op:?})"));
        }
    }
    runner.check("at the end");
    runner.reopen(setup.range_scans);
    runner.check("after the final reopen");
}

/// A temporary directory, on tmpfs when there is one (its fsync costs nothing).
fn temp_dir() -> tempfile::TempDir {
    let dir = if Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm")
    } else {
        tempfile::tempdir()
    };
    match dir {
        Ok(dir) => dir,
        Err(e) => panic!("no temporary directory: {e}"),
    }
}

impl Runner {
    fn new(setup: Setup) -> Runner {
        let dir = temp_dir();
        let path = dir.path().join("gen0").join("model.emdb");
        if let Err(e) = std::fs::create_dir_all(dir.path().join("gen0")) {
            panic!("create gen0: {e}");
        }
        let mut runner = Runner {
            dir,
            generation: 0,
            backups: 0,
            path,
            setup,
            range_scans: setup.range_scans,
            clock: TestClock::at(CLOCK_START_MS),
            db: None,
            handles: BTreeMap::new(),
            dropped: Vec::new(),
            model: Model::new(),
            history: Vec::new(),
            writes: 0,
        };
        runner.db = Some(runner.open(&runner.path.clone()));
        runner.durable();
        runner
    }

    fn open(&self, path: &Path) -> Emdb {
        let mut builder = Emdb::builder()
            .path(path)
            .enable_range_scans(self.range_scans)
            .clock(self.clock.clone());
        if let Some(ms) = self.setup.default_ttl_ms {
            builder = builder.default_ttl(Duration::from_millis(u64::from(ms)));
        }
        ok(builder.build(), "open")
    }

    fn db(&self) -> Emdb {
        match &self.db {
            Some(db) => db.clone(),
            None => panic!("no database open"),
        }
    }

    fn now(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Everything so far is in the file: a crash from here on leaves at least this.
    fn durable(&mut self) {
        self.history = vec![Candidate {
            model: self.model.clone(),
            optional: BTreeSet::new(),
        }];
    }

    /// One write (a record or a batch) was made: a crash may leave the state after it.
    fn wrote(&mut self) {
        self.history.push(Candidate {
            model: self.model.clone(),
            optional: BTreeSet::new(),
        });
    }

    fn value(&mut self, len: u32) -> Vec<u8> {
        self.writes += 1;
        let mut v = format!("{}:", self.writes).into_bytes();
        v.resize(len as usize, b'a' + (self.writes % 26) as u8);
        v
    }

    /// The expiry a write with `ttl` gets now.
    fn expiry(&self, ttl: TtlPick) -> u64 {
        let now = self.now();
        let after = match ttl {
            TtlPick::Never => return 0,
            TtlPick::Default => match self.setup.default_ttl_ms {
                None => return 0,
                Some(ms) => ms,
            },
            TtlPick::AfterMs(ms) => ms,
        };
        (now + u64::from(after)).max(1)
    }

    /// The handle on namespace `name`, creating the namespace (a logged write) if the
    /// database has none of that name.
    fn handle(&mut self, name: &str) -> Handle {
        if name.is_empty() {
            return Handle::Db(self.db());
        }
        if let Some(h) = self.handles.get(name) {
            return Handle::Ns(h.clone());
        }
        let h = ok(self.db().namespace(name), "namespace");
        assert_eq!(h.name(), name);
        if self.model.space(name).is_none() {
            self.model.spaces.push((name.to_owned(), Space::new()));
            self.wrote();
        }
        self.handles.insert(name.to_owned(), h.clone());
        Handle::Ns(h)
    }

    fn step(&mut self, op: &Op) {
        match op {
            Op::Insert { ns, key: k, len } => {
                let name = namespace(*ns);
                let h = self.handle(name);
                let (k, v) = (key(*k), self.value(*len));
                ok(on!(&h, |h| h.insert(k.clone(), v.clone())), "insert");
                let expires_at = self.expiry(TtlPick::Default);
                self.model.space_mut(name).insert(k, Entry { value: v, expires_at });
                self.wrote();
            }
            Op::InsertTtl { ns, key: k, len, ttl } => {
                let name = namespace(*ns);
                let h = self.handle(name);
                let (k, v) = (key(*k), self.value(*len));
                ok(
                    on!(&h, |h| h.insert_with_ttl(k.clone(), v.clone(), ttl.ttl())),
                    "insert_with_ttl",
                );
                let expires_at = self.expiry(*ttl);
                self.model.space_mut(name).insert(k, Entry { value: v, expires_at });
                self.wrote();
            }
            Op::InsertMany { ns, items } => {
                let name = namespace(*ns);
                let h = self.handle(name);
                let items: Vec<(Vec<u8>, Vec<u8>)> = items.iter().map(|&(k, len)| (key(k), self.value(len))).collect();
                ok(on!(&h, |h| h.insert_many(items.clone())), "insert_many");
                let expires_at = self.expiry(TtlPick::Default);
                let space = self.model.space_mut(name);
                for (k, v) in items {
                    space.insert(k, Entry { value: v, expires_at });
                }
                self.wrote();
            }
            Op::Remove { ns, key: k } => {
                let name = namespace(*ns);
                let h = self.handle(name);
                let k = key(*k);
                let got = ok(on!(&h, |h| h.remove(&k)), "remove");
                // The value of an expired record no sweep has removed yet too (as 1.0.3).
                let expected = self.model.space_mut(name).remove(&k).map(|e| e.value);
                same!(got, expected, "remove({}) in {name:?}", k.show());
                if expected.is_some() {
                    self.wrote();
                }
            }
            Op::Persist { ns, key: k } => {
                let name = namespace(*ns);
                let h = self.handle(name);
                let k = key(*k);
                let got = ok(on!(&h, |h| h.persist(&k)), "persist");
                let now = self.now();
                let expected = match self.model.space_mut(name).get_mut(&k) {
                    Some(e) if e.expires_at != 0 && e.live(now) => {
                        e.expires_at = 0;
                        true
                    }
                    _ => false,
                };
                same!(got, expected, "persist({}) in {name:?}", k.show());
                if expected {
                    self.wrote();
                }
            }
            Op::Sweep { ns } => {
                let name = namespace(*ns);
                let h = self.handle(name);
                let now = self.now();
                let before = self.model.clone();
                let space = self.model.space_mut(name);
                let expired: BTreeSet<(String, Vec<u8>)> = space
                    .iter()
                    .filter(|(_, e)| !e.live(now))
                    .map(|(k, _)| (name.to_owned(), k.clone()))
                    .collect();
                space.retain(|_, e| e.live(now));
                let got = ok(on!(&h, |h| h.try_sweep_expired()), "try_sweep_expired");
                same!(got, expired.len(), "sweep of {name:?}");
                if !expired.is_empty() {
                    self.history.push(Candidate {
                        model: before,
                        optional: expired,
                    });
                    self.wrote();
                }
            }
            Op::Clear { ns } => {
                let name = namespace(*ns);
                let h = self.handle(name);
                ok(on!(&h, |h| h.clear()), "clear");
                self.model.space_mut(name).clear();
                self.wrote();
            }
            Op::Transaction { ops, commit } => self.transaction(ops, *commit),
            Op::CreateNamespace { ns } => {
                let _ = self.handle(named(*ns));
            }
            Op::DropNamespace { ns } => {
                let name = named(*ns);
                let got = ok(self.db().drop_namespace(name), "drop_namespace");
                let expected = self.model.space(name).is_some();
                same!(got, expected, "drop_namespace({name:?})");
                if expected {
                    self.model.spaces.retain(|(n, _)| n != name);
                    self.dropped.extend(self.handles.remove(name));
                    self.wrote();
                }
            }
            Op::UseDroppedHandle => {
                if let Some(h) = self.dropped.last() {
                    let what = format!("a handle of the dropped namespace {:?}", h.name());
                    assert!(h.insert("k01", "v").is_err(), "insert through {what}");
                    assert!(h.get("k01").is_err(), "get through {what}");
                    assert!(h.len().is_err(), "len through {what}");
                    assert!(h.iter().is_err(), "iter through {what}");
                    assert!(h.remove("k01").is_err(), "remove through {what}");
                }
            }
            Op::Advance { ms } => self.clock.advance(Duration::from_millis(u64::from(*ms))),
            Op::Flush => {
                ok(self.db().flush(), "flush");
                self.durable();
            }
            Op::Checkpoint => {
                ok(self.db().checkpoint(), "checkpoint");
                self.durable();
            }
            Op::Compact => {
                ok(self.db().compact(), "compact");
                self.model = self.model.clone().compacted(self.now());
                self.durable();
            }
            Op::Backup => self.backup(),
            Op::Reopen { range_scans } => {
                self.reopen(*range_scans);
                self.check("after a reopen");
            }
            Op::Crash { range_scans } => {
                self.crash(*range_scans);
                self.check("after a crash");
            }
            Op::Check => self.check("at a check"),
            Op::Range { ns, lo, hi } => {
                let name = namespace(*ns);
                if self.model.space(name).is_some() {
                    let h = self.handle(name);
                    self.check_ranges(&h, name, &key(*lo), &key(*hi));
                }
            }
        }
    }

    fn transaction(&mut self, ops: &[TxOp], commit: bool) {
        const ROLLBACK: &str = "rolled back by the model test";
        let db = self.db();
        // What the transaction has staged: a value with its expiry, or a removal.
        let mut staged: BTreeMap<Vec<u8>, Option<Entry>> = BTreeMap::new();
        let result = db.transaction(|tx| {
            for op in ops {
                match op {
                    TxOp::Insert { key: k, len } => {
                        let (k, v) = (key(*k), self.value(*len));
                        tx.insert(k.clone(), v.clone())?;
                        let expires_at = self.expiry(TtlPick::Default);
                        staged.insert(k, Some(Entry { value: v, expires_at }));
                    }
                    TxOp::InsertTtl { key: k, len, ttl } => {
                        let (k, v) = (key(*k), self.value(*len));
                        tx.insert_with_ttl(k.clone(), v.clone(), ttl.ttl())?;
                        let expires_at = self.expiry(*ttl);
                        staged.insert(k, Some(Entry { value: v, expires_at }));
                    }
                    TxOp::Remove { key: k } => {
                        let k = key(*k);
                        let seen = tx.remove(k.clone())?;
                        same!(seen, self.tx_view(&staged, &k), "tx.remove({})", k.show());
                        staged.insert(k, None);
                    }
                    TxOp::Advance { ms } => self.clock.advance(Duration::from_millis(u64::from(*ms))),
                    TxOp::Get { key: k } => {
                        let k = key(*k);
                        let expected = self.tx_view(&staged, &k);
                        same!(tx.get(&k)?, expected, "tx.get({})", k.show());
                        same!(
                            tx.contains_key(&k)?,
                            expected.is_some(),
                            "tx.contains_key({})",
                            k.show()
                        );
                    }
                }
            }
            if commit {
                Ok(())
            } else {
                Err(Error::InvalidConfig(ROLLBACK))
            }
        });
        if commit {
            ok(result, "transaction");
            let space = self.model.space_mut("");
            for (k, write) in staged {
                match write {
                    Some(e) => space.insert(k, e),
                    None => space.remove(&k),
                };
            }
            self.wrote();
        } else {
            assert!(
                matches!(result, Err(Error::InvalidConfig(why)) if why == ROLLBACK),
                "a transaction returning Err returns that error: {result:?}"
            );
        }
    }

    /// A key's value as a transaction sees it: its own staged write, else the database's.
    fn tx_view(&self, staged: &BTreeMap<Vec<u8>, Option<Entry>>, k: &[u8]) -> Option<Vec<u8>> {
        let now = self.now();
        match staged.get(k) {
            Some(Some(e)) => e.live(now).then(|| e.value.clone()),
            Some(None) => None,
            None => self
                .model
                .space("")
                .and_then(|s| s.get(k))
                .filter(|e| e.live(now))
                .map(|e| e.value.clone()),
        }
    }

    /// Drops every handle: the engine closes.
    fn close(&mut self) {
        self.handles.clear();
        self.dropped.clear();
        self.db = None;
    }

    fn reopen(&mut self, range_scans: bool) {
        self.close();
        self.range_scans = range_scans;
        self.db = Some(self.open(&self.path.clone()));
        self.model = self.model.clone().opened(self.now());
        self.durable();
    }

    /// Copies the files while the database is open, drops it, opens the copy, and finds
    /// the state it holds among those a crash may leave.
    fn crash(&mut self, range_scans: bool) {
        self.generation += 1;
        let dir = self.dir.path().join(format!("gen{}", self.generation));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("create {}: {e}", dir.display());
        }
        let from = match self.path.parent() {
            Some(p) => p.to_path_buf(),
            None => panic!("a database path without a directory"),
        };
        let entries = match std::fs::read_dir(&from) {
            Ok(entries) => entries,
            Err(e) => panic!("list {}: {e}", from.display()),
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => panic!("list {}: {e}", from.display()),
            };
            if let Err(e) = std::fs::copy(entry.path(), dir.join(entry.file_name())) {
                panic!("copy {}: {e}", entry.path().display());
            }
        }
        self.close();
        // The files of the generation before are not needed any more.
        let _ = std::fs::remove_dir_all(&from);
        self.path = dir.join("model.emdb");
        self.range_scans = range_scans;
        let db = self.open(&self.path.clone());
        let now = self.now();
        let names = ok(db.list_namespaces(), "list_namespaces");
        let mut seen = Vec::new();
        for name in &names {
            let h = if name.is_empty() {
                Handle::Db(db.clone())
            } else {
                Handle::Ns(ok(db.namespace(name), "namespace"))
            };
            let mut expiry = BTreeMap::new();
            for k in all_keys() {
                if let Some(at) = ok(on!(&h, |h| h.expires_at(&k)), "expires_at") {
                    expiry.insert(k, at);
                }
            }
            seen.push(Seen {
                len: ok(on!(&h, |h| h.len()), "len"),
                live: ok(on!(&h, |h| h.iter().map(|i| i.collect::<BTreeMap<_, _>>())), "iter"),
                expiry,
            });
        }
        let found = self.history.iter().rev().find_map(|c| settle(c, now, &names, &seen));
        match found {
            Some(model) => self.model = model,
            None => panic!(
                "after a crash the database holds a state no prefix of the writes since the \
                 last flush leaves:\n  namespaces {names:?}\n  seen {seen:?}\n  candidates, \
                 oldest first: {:#?}",
                self.history
            ),
        }
        self.db = Some(db);
        self.durable();
    }

    /// A backup, opened beside the database: the model as a compaction leaves it.
    fn backup(&mut self) {
        self.backups += 1;
        let target = self.dir.path().join(format!("backup{}.emdb", self.backups));
        ok(self.db().backup_to(&target), "backup_to");
        let copy = self.open(&target);
        let now = self.now();
        let expected = self.model.clone().compacted(now).opened(now);
        check_db(&copy, &expected, now, self.range_scans, "in a backup");
    }

    /// Every read path of every namespace against the model.
    fn check(&mut self, when: &str) {
        let db = self.db();
        check_db(&db, &self.model, self.now(), self.range_scans, when);
    }

    fn check_ranges(&self, h: &Handle, name: &str, a: &[u8], b: &[u8]) {
        let now = self.now();
        let (lo, hi) = if a <= b {
            (a.to_vec(), b.to_vec())
        } else {
            (b.to_vec(), a.to_vec())
        };
        let space = self.model.space(name).cloned().unwrap_or_default();
        let want = |range: (Bound<Vec<u8>>, Bound<Vec<u8>>)| -> Vec<(Vec<u8>, Vec<u8>)> {
            space
                .range(range)
                .filter(|(_, e)| e.live(now))
                .map(|(k, e)| (k.clone(), e.value.clone()))
                .collect()
        };
        let what = format!("in {name:?} over {}..{}", lo.show(), hi.show());
        if !self.range_scans {
            assert!(
                matches!(
                    on!(h, |h| h.range(lo.clone()..hi.clone())),
                    Err(Error::InvalidConfig(_))
                ),
                "range without range scans {what}"
            );
            return;
        }
        use Bound::{Excluded, Included, Unbounded};
        same!(
            ok(on!(h, |h| h.range(lo.clone()..hi.clone())), "range"),
            want((Included(lo.clone()), Excluded(hi.clone()))),
            "range(lo..hi) {what}"
        );
        same!(
            ok(on!(h, |h| h.range(lo.clone()..=hi.clone())), "range"),
            want((Included(lo.clone()), Included(hi.clone()))),
            "range(lo..=hi) {what}"
        );
        same!(
            ok(
                on!(h, |h| h
                    .range_iter(lo.clone()..hi.clone())
                    .map(|i| i.collect::<Vec<_>>())),
                "range_iter"
            ),
            want((Included(lo.clone()), Excluded(hi.clone()))),
            "range_iter(lo..hi) {what}"
        );
        same!(
            ok(on!(h, |h| h.iter_from(&lo).map(|i| i.collect::<Vec<_>>())), "iter_from"),
            want((Included(lo.clone()), Unbounded)),
            "iter_from(lo) {what}"
        );
        same!(
            ok(
                on!(h, |h| h.iter_after(&lo).map(|i| i.collect::<Vec<_>>())),
                "iter_after"
            ),
            want((Excluded(lo.clone()), Unbounded)),
            "iter_after(lo) {what}"
        );
        let prefix = &lo[..lo.len().min(2)];
        let by_prefix: Vec<_> = want((Unbounded, Unbounded))
            .into_iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .collect();
        same!(
            ok(on!(h, |h| h.range_prefix(prefix)), "range_prefix"),
            by_prefix,
            "range_prefix({}) {what}",
            prefix.show()
        );
        same!(
            ok(
                on!(h, |h| h.range_prefix_iter(prefix).map(|i| i.collect::<Vec<_>>())),
                "range_prefix_iter"
            ),
            by_prefix,
            "range_prefix_iter({}) {what}",
            prefix.show()
        );
    }
}

/// Every read path of every namespace of `db` against `model` at time `now`.
fn check_db(db: &Emdb, model: &Model, now: u64, range_scans: bool, when: &str) {
    same!(
        ok(db.list_namespaces(), "list_namespaces"),
        model.names(),
        "namespaces {when}"
    );
    for (name, space) in &model.spaces {
        let what = format!("in {name:?} {when}");
        let h = if name.is_empty() {
            Handle::Db(db.clone())
        } else {
            Handle::Ns(ok(db.namespace(name), "namespace"))
        };
        let live: Vec<(Vec<u8>, Vec<u8>)> = space
            .iter()
            .filter(|(_, e)| e.live(now))
            .map(|(k, e)| (k.clone(), e.value.clone()))
            .collect();
        let live_keys: Vec<Vec<u8>> = live.iter().map(|(k, _)| k.clone()).collect();
        same!(
            ok(on!(&h, |h| h.len()), "len"),
            space.len(),
            "len (expired records too) {what}"
        );
        same!(
            ok(on!(&h, |h| h.is_empty()), "is_empty"),
            space.is_empty(),
            "is_empty {what}"
        );
        same!(
            sorted(ok(on!(&h, |h| h.iter().map(|i| i.collect::<Vec<_>>())), "iter")),
            live,
            "iter {what}"
        );
        same!(
            sorted(ok(on!(&h, |h| h.keys().map(|i| i.collect::<Vec<_>>())), "keys")),
            live_keys,
            "keys {what}"
        );
        let tried: Vec<_> = ok(on!(&h, |h| h.try_iter().map(|i| i.collect::<Vec<_>>())), "try_iter");
        let tried = ok(
            tried.into_iter().collect::<emdb_core::Result<Vec<_>>>(),
            "try_iter item",
        );
        same!(sorted(tried), live, "try_iter {what}");
        for (i, k) in all_keys().into_iter().enumerate() {
            let entry = space.get(&k);
            let value = entry.filter(|e| e.live(now)).map(|e| e.value.clone());
            same!(ok(on!(&h, |h| h.get(&k)), "get"), value, "get({}) {what}", k.show());
            same!(
                ok(on!(&h, |h| h.contains_key(&k)), "contains_key"),
                value.is_some(),
                "contains_key({}) {what}",
                k.show()
            );
            if i % 3 == 0 {
                let zero = ok(on!(&h, |h| h.get_zerocopy(&k)), "get_zerocopy").map(|v| v.to_vec());
                same!(zero, value, "get_zerocopy({}) {what}", k.show());
            }
            // Expired but unswept: its past expiry (as 1.0.3).
            same!(
                ok(on!(&h, |h| h.expires_at(&k)), "expires_at"),
                entry.map(|e| e.expires_at),
                "expires_at({}) {what}",
                k.show()
            );
            let ttl = entry
                .filter(|e| e.expires_at > now)
                .map(|e| Duration::from_millis(e.expires_at - now));
            same!(ok(on!(&h, |h| h.ttl(&k)), "ttl"), ttl, "ttl({}) {what}", k.show());
        }
        if range_scans {
            same!(ok(on!(&h, |h| h.range(..)), "range"), live, "range(..) {what}");
            same!(
                ok(
                    on!(&h, |h| h.range_iter(..).map(|i| i.collect::<Vec<_>>())),
                    "range_iter"
                ),
                live,
                "range_iter(..) {what}"
            );
        } else {
            assert!(
                matches!(on!(&h, |h| h.range(..)), Err(Error::InvalidConfig(_))),
                "range without range scans {what}"
            );
        }
    }
}
