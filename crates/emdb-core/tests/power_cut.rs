//! Power cuts at the engine level, from a trace of its file operations.
//!
//! A random workload (single inserts, inserts with a TTL of an hour, `insert_many`,
//! transactions, removes, `clear`, namespaces made and dropped, `flush`, `checkpoint`,
//! `compact`, reopens; under each flush policy, with and without range scans; where the
//! `encrypt` feature is built, one in four encrypted and, now and then at a reopen, an
//! offline encryption admin run between the close and the open: encryption turned on,
//! off, or its key rotated, so that the admin's rewrite, marker and swap are cut too) runs once
//! with every file operation recorded (`emdb_journal::fileops::trace`, feature
//! `io-trace`). The record is checked to be complete (replayed in full, it gives the
//! files on disk byte for byte), then replayed onto a model file system
//! (`common/powercut.rs`) and cut at many points, and each cut gives an image: what was
//! synced, plus some of what was not (everything, nothing, a prefix in order, or any
//! subset in any order, writes torn at sectors), with the directory's pending renames,
//! creations and removals kept as a prefix. Each image is opened by the engine, which
//! must:
//!
//! - open, or refuse with `Corrupted` only where the image's log holds a frame whose
//!   bytes were not synced with kept bytes after it (the damage a power cut may leave,
//!   docs/DURABILITY.md §1); a refusal of synced bytes fails the test, with the trace
//!   around the cut;
//! - hold exactly the state after some prefix of the workload's steps, no shorter than
//!   the last `flush` (or checkpoint, compaction, write-through write) that returned
//!   before the cut, no longer than the steps begun before it: every acknowledged write
//!   there with its value or a later one, every batch whole or absent, no wrong value,
//!   each TTL record with its expiry;
//! - leave no staging or scratch file behind, and (every fourth image) take a write,
//!   flush and reopen with it.
//!
//! CI runs a fixed seed and a random one (printed). `EMDB_POWER_CUT_SEED` replays a
//! random-seed run, `EMDB_POWER_CUT_IMAGES` sets its number of images (250 a workload).
#![cfg(unix)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use common::powercut::{Disk, Image, Keep, slice};
use emdb_core::{Emdb, Error, FlushPolicy, Namespace, Ttl};
use emdb_journal::fileops::trace::{Op, Recording};

const FIXED_SEED: u64 = 0x5eed_0017;
const FIXED_IMAGES: usize = 3000;
const RANDOM_IMAGES: usize = 1000;
const SEED_ENV: &str = "EMDB_POWER_CUT_SEED";
const IMAGES_ENV: &str = "EMDB_POWER_CUT_IMAGES";
const IMAGES_PER_TRACE: usize = 250;
/// The database's file name in the traced directory and in every image.
const DB: &str = "pc.emdb";
/// The named namespaces of a workload (besides the default one, "").
const SPACES: [&str; 2] = ["alpha", "beta"];
const TTL: Duration = Duration::from_secs(3600);

#[test]
fn power_cuts_of_fixed_seed_workloads() {
    run("fixed", FIXED_SEED, FIXED_IMAGES);
}

#[test]
fn power_cuts_of_random_seed_workloads() {
    let (seed, images) = common::random_run(SEED_ENV, IMAGES_ENV, RANDOM_IMAGES);
    println!("power cut: random seed {seed} ({images} images; {SEED_ENV}={seed} replays them)");
    run("random", seed, images);
}

/// Runs workloads from `seed` until `images` images were judged; fails with the first
/// images that went wrong.
fn run(name: &str, seed: u64, images: usize) {
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut wrong = Vec::new();
    let mut seeds = std::iter::successors(Some(seed), |&s| Some(fastrand::Rng::with_seed(s).u64(..1 << 32)));
    let mut left = images;
    while left > 0 && wrong.len() < 10 {
        let seed = seeds.next().expect("an endless sequence");
        let n = left.min(IMAGES_PER_TRACE);
        left -= n;
        let mut rng = fastrand::Rng::with_seed(seed);
        let trace = Trace::record(seed, &Plan::random(&mut rng));
        wrong.extend(
            trace
                .check_complete()
                .err()
                .map(|e| format!("workload seed {seed}: {e}")),
        );
        let cuts = trace.random_cuts(n, &mut rng);
        trace.judge_cuts(&cuts, &mut rng, &mut tally, &mut wrong);
        tally.workloads += 1;
        tally.sealed += usize::from(trace.sealed);
        tally.admin_runs += trace.admin_runs;
        tally.ops += trace.ops.len();
    }
    report(name, &tally, &wrong, started);
}

/// Every cut of a new database's first writes (its creation, batches of several writes,
/// a checkpoint, a reopen), under two flush policies, each cut with 8 images: what a
/// kill leaves, what was synced, 3 of writes kept in order and 3 of any kept.
#[test]
fn every_cut_of_a_new_databases_first_writes() {
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut wrong = Vec::new();
    for (seed, policy) in [(1, FlushPolicy::OnEachFlush), (2, FlushPolicy::WriteThrough)] {
        let trace = Trace::record(seed, &Plan::first_writes(policy));
        wrong.extend(
            trace
                .check_complete()
                .err()
                .map(|e| format!("first writes, {policy:?}: {e}")),
        );
        let cuts: Vec<(usize, Keep)> = (0..=trace.ops.len())
            .flat_map(|cut| {
                [Keep::All, Keep::Synced]
                    .into_iter()
                    .chain([Keep::InOrder; 3])
                    .chain([Keep::Any; 3])
                    .map(move |keep| (cut, keep))
            })
            .collect();
        trace.judge_cuts(&cuts, &mut fastrand::Rng::with_seed(seed), &mut tally, &mut wrong);
        tally.workloads += 1;
        tally.ops += trace.ops.len();
    }
    report("first writes", &tally, &wrong, started);
}

/// Prints the figures of a run and fails with the images that went wrong.
fn report(name: &str, tally: &Tally, wrong: &[String], started: Instant) {
    println!(
        "power cut ({name}): {} workloads ({} encrypted, {} encryption admin runs, {} file operations), {} images in {:.1} s",
        tally.workloads,
        tally.sealed,
        tally.admin_runs,
        tally.ops,
        tally.images,
        started.elapsed().as_secs_f64()
    );
    println!("  kept: images / opened / refused (unsynced damage) / at the acknowledged state / later");
    for (keep, t) in &tally.by_keep {
        println!(
            "  {keep}: {} / {} / {} / {} / {}",
            t.images, t.opened, t.refused, t.at_ack, t.later
        );
    }
    assert!(
        wrong.is_empty(),
        "{} images went wrong (first {}):\n{}",
        wrong.len(),
        wrong.len().min(10),
        wrong[..wrong.len().min(10)].join("\n")
    );
}

#[derive(Default)]
struct Tally {
    workloads: usize,
    /// Of them encrypted.
    sealed: usize,
    /// Encryption admin runs in them.
    admin_runs: usize,
    ops: usize,
    images: usize,
    by_keep: BTreeMap<String, KeepTally>,
}

#[derive(Default)]
struct KeepTally {
    images: usize,
    opened: usize,
    refused: usize,
    at_ack: usize,
    later: usize,
}

/// A namespace's name ("" for the default) and a key.
type Key = (String, Vec<u8>);
/// A value and, for a TTL record, the window its expiry must lie in (Unix ms).
type Entry = (Rc<[u8]>, Option<(u64, u64)>);
type State = BTreeMap<Key, Entry>;

/// What a step did to the database's contents.
#[derive(Clone, Debug)]
enum Change {
    Put { ns: String, key: Vec<u8>, entry: Entry },
    Del { ns: String, key: Vec<u8> },
    Clear { ns: String },
}

fn apply(state: &mut State, change: &Change) {
    match change {
        Change::Put { ns, key, entry } => {
            state.insert((ns.clone(), key.clone()), entry.clone());
        }
        Change::Del { ns, key } => {
            state.remove(&(ns.clone(), key.clone()));
        }
        Change::Clear { ns } => state.retain(|(n, _), _| n != ns),
    }
}

/// An order-free fingerprint of a state (values and whether each has a TTL).
fn fingerprint(state: &State) -> u64 {
    state.iter().fold(0u64, |acc, (k, (v, ttl))| {
        acc.wrapping_add(entry_hash(k, v, ttl.is_some()))
    })
}

fn entry_hash(key: &Key, value: &[u8], ttl: bool) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    (key, value, ttl).hash(&mut h);
    h.finish()
}

/// One step of a workload, with the span of the trace it made.
#[derive(Debug)]
struct Step {
    what: String,
    /// The trace's length when the step began and when it returned.
    start: usize,
    end: usize,
    /// Whether everything up to and including this step is durable once it returned.
    acks: bool,
    changes: Vec<Change>,
}

/// A recorded workload.
struct Trace {
    seed: u64,
    policy: FlushPolicy,
    ranged: bool,
    /// Whether it started encrypted.
    sealed: bool,
    /// The key in force after the first `p` steps, for every `p` (encryption admin steps
    /// change it).
    keys: Vec<DbKey>,
    /// Encryption admin runs among the steps.
    admin_runs: usize,
    /// The traced directory (kept for the completeness check).
    dir: tempfile::TempDir,
    ops: Vec<Op>,
    steps: Vec<Step>,
    /// The fingerprint of the state after the first `p` steps, for every `p`.
    fingerprints: Vec<u64>,
}

/// A database key (feature `encrypt`); `None` for a plaintext database.
type DbKey = Option<[u8; 32]>;

/// The keys of the encrypted workloads: they start with the first, and a key rotation
/// moves to the other.
const KEYS: [[u8; 32]; 2] = [[0x17; 32], [0x71; 32]];

fn builder(path: &Path, policy: FlushPolicy, ranged: bool, key: DbKey) -> emdb_core::EmdbBuilder {
    let builder = Emdb::builder()
        .path(path)
        .flush_policy(policy)
        .enable_range_scans(ranged);
    #[cfg(feature = "encrypt")]
    let builder = match key {
        Some(key) => builder.encryption_key(key),
        None => builder,
    };
    #[cfg(not(feature = "encrypt"))]
    let _ = key;
    builder
}

/// An offline encryption admin run on the closed database at `path`, whose key is `key`:
/// encryption turned on (plaintext), or the key rotated or encryption turned off (one or
/// the other at random); returns what it did and the key after it.
#[cfg(feature = "encrypt")]
fn admin(path: &Path, key: DbKey, rng: &mut fastrand::Rng) -> (String, DbKey) {
    use emdb_core::EncryptionInput::Key;
    match key {
        None => {
            Emdb::enable_encryption(path, Key(KEYS[0])).expect("enable_encryption");
            ("enable_encryption".to_owned(), Some(KEYS[0]))
        }
        Some(from) if rng.bool() => {
            let to = if from == KEYS[0] { KEYS[1] } else { KEYS[0] };
            Emdb::rotate_encryption_key(path, Key(from), Key(to)).expect("rotate_encryption_key");
            ("rotate_encryption_key".to_owned(), Some(to))
        }
        Some(from) => {
            Emdb::disable_encryption(path, Key(from)).expect("disable_encryption");
            ("disable_encryption".to_owned(), None)
        }
    }
}

/// Without the `encrypt` feature there is nothing to administer: the key stays.
#[cfg(not(feature = "encrypt"))]
fn admin(_: &Path, key: DbKey, _: &mut fastrand::Rng) -> (String, DbKey) {
    ("reopen".to_owned(), key)
}

/// Whether a random workload runs encrypted: one in four, where the feature is built.
fn draw_sealed(rng: &mut fastrand::Rng) -> bool {
    cfg!(feature = "encrypt") && rng.u8(..4) == 0
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// What a step draws its keys and values from.
struct Draw<'a> {
    rng: &'a mut fastrand::Rng,
    step: usize,
    big: bool,
}

/// The default namespace or a named one, behind one set of calls.
enum Handle {
    Db(Emdb),
    Ns(Namespace),
}

impl Handle {
    fn insert(&self, k: &[u8], v: &[u8]) -> emdb_core::Result<()> {
        match self {
            Handle::Db(h) => h.insert(k, v),
            Handle::Ns(h) => h.insert(k, v),
        }
    }
    fn insert_with_ttl(&self, k: &[u8], v: &[u8]) -> emdb_core::Result<()> {
        match self {
            Handle::Db(h) => h.insert_with_ttl(k, v, Ttl::After(TTL)),
            Handle::Ns(h) => h.insert_with_ttl(k, v, Ttl::After(TTL)),
        }
    }
    fn insert_many(&self, items: &[(Vec<u8>, Vec<u8>)]) -> emdb_core::Result<()> {
        let items = items.iter().map(|(k, v)| (k.as_slice(), v.as_slice()));
        match self {
            Handle::Db(h) => h.insert_many(items),
            Handle::Ns(h) => h.insert_many(items),
        }
    }
    fn remove(&self, k: &[u8]) -> emdb_core::Result<Option<Vec<u8>>> {
        match self {
            Handle::Db(h) => h.remove(k),
            Handle::Ns(h) => h.remove(k),
        }
    }
    fn get(&self, k: &[u8]) -> emdb_core::Result<Option<Vec<u8>>> {
        match self {
            Handle::Db(h) => h.get(k),
            Handle::Ns(h) => h.get(k),
        }
    }
    fn clear(&self) -> emdb_core::Result<()> {
        match self {
            Handle::Db(h) => h.clear(),
            Handle::Ns(h) => h.clear(),
        }
    }
    fn try_iter(&self) -> emdb_core::Result<emdb_core::TryIter> {
        match self {
            Handle::Db(h) => h.try_iter(),
            Handle::Ns(h) => h.try_iter(),
        }
    }
    fn expires_at(&self, k: &[u8]) -> emdb_core::Result<Option<u64>> {
        match self {
            Handle::Db(h) => h.expires_at(k),
            Handle::Ns(h) => h.expires_at(k),
        }
    }
    fn range_all(&self) -> emdb_core::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        match self {
            Handle::Db(h) => h.range(..),
            Handle::Ns(h) => h.range(..),
        }
    }
}

fn handle(db: &Emdb, ns: &str) -> emdb_core::Result<Handle> {
    Ok(if ns.is_empty() {
        Handle::Db(db.clone())
    } else {
        Handle::Ns(db.namespace(ns)?)
    })
}

/// A value no other write wrote: the step, the key, and a filler of random length (now
/// and then 20 to 90 KB, and when `big` 8 to 30 KB: a batch of a few is past the
/// journal's 64 KiB write buffer).
fn value(rng: &mut fastrand::Rng, step: usize, key: &[u8], big: bool) -> Vec<u8> {
    let len = if big {
        rng.usize(8_000..30_000)
    } else if rng.u8(..30) == 0 {
        rng.usize(20_000..90_000)
    } else {
        rng.usize(0..200)
    };
    let mut v = format!("v{step}:{}:", String::from_utf8_lossy(key)).into_bytes();
    v.extend((0..len).map(|i| b'a' + (i % 26) as u8));
    v
}

fn pick_key(rng: &mut fastrand::Rng) -> Vec<u8> {
    format!("k{:03}", rng.usize(..60)).into_bytes()
}

fn pick_space(rng: &mut fastrand::Rng) -> String {
    match rng.u8(..4) {
        0 => SPACES[0].to_owned(),
        1 => SPACES[1].to_owned(),
        _ => String::new(),
    }
}

/// The rolls of [`Trace::step`] that pick a step (see its `match`); below 3 the workload
/// reopens the database, and with `ADMIN` runs an encryption admin operation on it
/// between the close and the open (where the feature `encrypt` is built).
const REOPEN: u8 = 0;
const ADMIN: u8 = 2;
const INSERT: u8 = 10;
const INSERT_MANY: u8 = 40;
const FLUSH: u8 = 70;
const CHECKPOINT: u8 = 83;

/// What a workload runs.
struct Plan {
    policy: FlushPolicy,
    ranged: bool,
    /// Encrypted (feature `encrypt`): every record and the index snapshot sealed.
    sealed: bool,
    /// One roll of [`Trace::step`] a step.
    rolls: Vec<u8>,
    /// Every value past the journal's write buffer, so that one step makes several writes.
    big: bool,
}

impl Plan {
    /// A random workload of 120 to 200 steps.
    fn random(rng: &mut fastrand::Rng) -> Plan {
        let policy = match rng.u8(..10) {
            0..5 => FlushPolicy::OnEachFlush,
            5..7 => FlushPolicy::Group,
            _ => FlushPolicy::WriteThrough,
        };
        Plan {
            policy,
            ranged: rng.bool(),
            sealed: draw_sealed(rng),
            rolls: (0..rng.usize(120..200)).map(|_| rng.u8(..100)).collect(),
            big: false,
        }
    }

    /// A new database's first writes: large batches (several writes each) and single
    /// inserts, flushed, checkpointed, reopened.
    fn first_writes(policy: FlushPolicy) -> Plan {
        Plan {
            policy,
            ranged: false,
            sealed: false,
            rolls: vec![
                INSERT_MANY,
                FLUSH,
                INSERT,
                INSERT_MANY,
                CHECKPOINT,
                INSERT,
                REOPEN,
                INSERT,
                FLUSH,
            ],
            big: true,
        }
    }
}

impl Trace {
    /// Runs the workload `plan` (its values drawn from `seed`) with its file operations
    /// recorded.
    fn record(seed: u64, plan: &Plan) -> Trace {
        let mut rng = fastrand::Rng::with_seed(seed);
        let (policy, ranged, sealed) = (plan.policy, plan.ranged, plan.sealed);
        let dir = scratch_dir();
        let path = dir.path().join(DB);
        let recording = Recording::start(dir.path()).expect("start recording");
        let open = |key: DbKey| {
            builder(&path, policy, ranged, key)
                .build()
                .expect("open the traced database")
        };
        let mut key = sealed.then_some(KEYS[0]);
        let mut keys = vec![key];
        let mut admin_runs = 0;
        let mut db = Some(open(key));
        let mut steps = Vec::new();
        let mut state = State::new();
        let write_through = policy == FlushPolicy::WriteThrough;
        for (step, &roll) in plan.rolls.iter().enumerate() {
            let start = recording.len();
            let (what, acks, changes) = if roll == ADMIN && cfg!(feature = "encrypt") {
                // Everything before it was written (the close flushes, best effort), and
                // the admin run syncs what it rewrote before it returns.
                drop(db.take());
                let (what, after) = admin(&path, key, &mut rng);
                key = after;
                admin_runs += 1;
                db = Some(open(key));
                (what, true, Vec::new())
            } else if roll < 3 {
                drop(db.take());
                db = Some(open(key));
                ("reopen".to_owned(), false, Vec::new())
            } else {
                let live = db.as_ref().expect("open");
                let mut draw = Draw {
                    rng: &mut rng,
                    step,
                    big: plan.big,
                };
                Self::step(&mut draw, roll, live, write_through, &state)
            };
            for change in &changes {
                apply(&mut state, change);
            }
            steps.push(Step {
                what,
                start,
                end: recording.len(),
                acks,
                changes,
            });
            keys.push(key);
        }
        // A clean close: its flush is best effort, never acknowledged.
        drop(db);
        let ops = recording.finish();
        let mut fingerprints = vec![0];
        let mut state = State::new();
        for step in &steps {
            for change in &step.changes {
                apply(&mut state, change);
            }
            fingerprints.push(fingerprint(&state));
        }
        Trace {
            seed,
            policy,
            ranged,
            sealed,
            keys,
            admin_runs,
            dir,
            ops,
            steps,
            fingerprints,
        }
    }

    /// Step `step` on `live`, chosen by `roll` (3 to 99); returns what it was, whether it
    /// acknowledges, and its changes.
    fn step(
        draw: &mut Draw<'_>,
        roll: u8,
        live: &Emdb,
        write_through: bool,
        state: &State,
    ) -> (String, bool, Vec<Change>) {
        let rng = &mut *draw.rng;
        let (step, big) = (draw.step, draw.big);
        let ns = pick_space(rng);
        let h = handle(live, &ns).expect("namespace");
        let wt = write_through;
        match roll {
            0..30 => {
                let key = pick_key(rng);
                let v = value(rng, step, &key, big);
                h.insert(&key, &v).expect("insert");
                let what = format!("insert {ns}/{}", String::from_utf8_lossy(&key));
                (
                    what,
                    wt,
                    vec![Change::Put {
                        ns,
                        key,
                        entry: (v.into(), None),
                    }],
                )
            }
            30..36 => {
                let key = pick_key(rng);
                let v = value(rng, step, &key, big);
                let lo = now_ms() + TTL.as_millis() as u64;
                h.insert_with_ttl(&key, &v).expect("insert with ttl");
                let hi = now_ms() + TTL.as_millis() as u64;
                let what = format!("insert_with_ttl {ns}/{}", String::from_utf8_lossy(&key));
                (
                    what,
                    wt,
                    vec![Change::Put {
                        ns,
                        key,
                        entry: (v.into(), Some((lo, hi))),
                    }],
                )
            }
            36..46 => {
                let items: Vec<(Vec<u8>, Vec<u8>)> = (0..rng.usize(2..20))
                    .map(|_| {
                        let key = pick_key(rng);
                        let v = value(rng, step, &key, big);
                        (key, v)
                    })
                    .collect();
                h.insert_many(&items).expect("insert_many");
                let changes = items
                    .into_iter()
                    .map(|(key, v)| Change::Put {
                        ns: ns.clone(),
                        key,
                        entry: (v.into(), None),
                    })
                    .collect::<Vec<_>>();
                (format!("insert_many {ns} x{}", changes.len()), wt, changes)
            }
            46..54 => {
                let mut changes = Vec::new();
                let n = rng.usize(1..8);
                let lo = now_ms() + TTL.as_millis() as u64;
                let mut staged = Vec::new();
                for _ in 0..n {
                    let key = pick_key(rng);
                    match rng.u8(..4) {
                        0 => staged.push((key, None, false)),
                        1 => {
                            let v = value(rng, step, &key, big);
                            staged.push((key, Some(v), true));
                        }
                        _ => {
                            let v = value(rng, step, &key, big);
                            staged.push((key, Some(v), false));
                        }
                    }
                }
                live.transaction(|tx| {
                    for (key, v, ttl) in &staged {
                        match (v, ttl) {
                            (None, _) => {
                                tx.remove(key.clone())?;
                            }
                            (Some(v), true) => tx.insert_with_ttl(key.clone(), v.clone(), Ttl::After(TTL))?,
                            (Some(v), false) => tx.insert(key.clone(), v.clone())?,
                        }
                    }
                    Ok(())
                })
                .expect("transaction");
                let hi = now_ms() + TTL.as_millis() as u64;
                for (key, v, ttl) in staged {
                    let ns = String::new();
                    changes.push(match v {
                        None => Change::Del { ns, key },
                        Some(v) => Change::Put {
                            ns,
                            key,
                            entry: (v.into(), ttl.then_some((lo, hi))),
                        },
                    });
                }
                (format!("transaction x{n}"), wt, changes)
            }
            54..64 => {
                let key = pick_key(rng);
                h.remove(&key).expect("remove");
                let what = format!("remove {ns}/{}", String::from_utf8_lossy(&key));
                (what, wt, vec![Change::Del { ns, key }])
            }
            64..66 => {
                h.clear().expect("clear");
                (format!("clear {ns}"), wt, vec![Change::Clear { ns }])
            }
            66..68 => {
                let ns = SPACES[rng.usize(..SPACES.len())].to_owned();
                drop(h);
                live.drop_namespace(&ns).expect("drop_namespace");
                (format!("drop_namespace {ns}"), wt, vec![Change::Clear { ns }])
            }
            68..82 => {
                live.flush().expect("flush");
                ("flush".to_owned(), true, Vec::new())
            }
            82..85 => {
                live.checkpoint().expect("checkpoint");
                ("checkpoint".to_owned(), true, Vec::new())
            }
            85..88 => {
                live.compact().expect("compact");
                ("compact".to_owned(), true, Vec::new())
            }
            _ => {
                let key = pick_key(rng);
                let got = h.get(&key).expect("get");
                let want = state.get(&(ns.clone(), key.clone())).map(|e| e.0.to_vec());
                assert_eq!(got, want, "the live database disagrees with the model");
                (format!("get {ns}/{}", String::from_utf8_lossy(&key)), false, Vec::new())
            }
        }
    }

    /// The record replayed in full must give the files on disk, byte for byte: no file
    /// operation went unrecorded.
    fn check_complete(&self) -> Result<(), String> {
        let mut disk = Disk::new(self.dir.path());
        for op in &self.ops {
            disk.apply(op)?;
        }
        let modelled = disk.live_files();
        let mut real = BTreeMap::new();
        for entry in std::fs::read_dir(self.dir.path()).map_err(|e| e.to_string())? {
            let entry = entry.map_err(|e| e.to_string())?;
            let bytes = std::fs::read(entry.path()).map_err(|e| e.to_string())?;
            real.insert(PathBuf::from(entry.file_name()), bytes);
        }
        let names = |m: &BTreeMap<PathBuf, Vec<u8>>| m.keys().map(|p| p.display().to_string()).collect::<Vec<_>>();
        if names(&modelled) != names(&real) {
            return Err(format!(
                "the trace gives the files {:?}, the disk holds {:?}",
                names(&modelled),
                names(&real)
            ));
        }
        for (name, bytes) in &real {
            if modelled[name] != *bytes {
                return Err(format!(
                    "the trace gives {} as {} bytes, the disk holds {}",
                    name.display(),
                    modelled[name].len(),
                    bytes.len()
                ));
            }
        }
        Ok(())
    }

    /// The state after the first `p` steps.
    fn state_at(&self, p: usize) -> State {
        let mut state = State::new();
        for step in &self.steps[..p] {
            for change in &step.changes {
                apply(&mut state, change);
            }
        }
        state
    }

    /// The shortest prefix a cut before operation `cut` may leave: through the last
    /// acknowledging step that returned before it.
    fn acknowledged(&self, cut: usize) -> usize {
        self.steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.acks && s.end <= cut)
            .map(|(j, _)| j + 1)
            .max()
            .unwrap_or(0)
    }

    /// The longest prefix: the steps begun before the cut (a step that made no file
    /// operation at the cut may lie on either side of it).
    fn begun(&self, cut: usize) -> usize {
        self.steps.iter().filter(|s| s.start < cut || s.end <= cut).count()
    }

    /// The step running (or last returned) at the cut, for the report.
    fn step_at(&self, cut: usize) -> String {
        match self.steps.iter().rposition(|s| s.start < cut) {
            Some(j) => format!("step {j} ({})", self.steps[j].what),
            None => "before the first step".to_owned(),
        }
    }

    /// `n` random cuts, each with what it keeps: a third of them at the operations that
    /// make things durable or move them (or just after one).
    fn random_cuts(&self, n: usize, rng: &mut fastrand::Rng) -> Vec<(usize, Keep)> {
        let len = self.ops.len();
        let mut cuts: Vec<(usize, Keep)> = (0..n)
            .map(|_| {
                let cut = if rng.u8(..10) < 3 {
                    let i = rng.usize(..len.max(1));
                    let near = (i..len)
                        .find(|&j| matches!(self.ops[j], Op::Sync { .. } | Op::SyncDir { .. } | Op::Rename { .. }))
                        .unwrap_or(len);
                    (near + usize::from(rng.bool())).min(len)
                } else {
                    rng.usize(..=len)
                };
                let keep = match rng.u8(..20) {
                    0..3 => Keep::All,
                    3..6 => Keep::Synced,
                    6..13 => Keep::InOrder,
                    _ => Keep::Any,
                };
                (cut, keep)
            })
            .collect();
        cuts.sort_by_key(|c| c.0);
        cuts
    }

    /// Judges the image of each cut (in increasing order), drawn with `rng`.
    fn judge_cuts(&self, cuts: &[(usize, Keep)], rng: &mut fastrand::Rng, tally: &mut Tally, wrong: &mut Vec<String>) {
        let mut disk = Disk::new(self.dir.path());
        let scratch = scratch_dir();
        for (i, &(cut, keep)) in cuts.iter().enumerate() {
            while disk.replayed() < cut {
                if let Err(e) = disk.apply(&self.ops[disk.replayed()]) {
                    wrong.push(format!("workload seed {}: the trace does not replay: {e}", self.seed));
                    return;
                }
            }
            let image = disk.image(keep, rng);
            let dir = scratch.path().join(format!("image-{i}"));
            std::fs::create_dir(&dir).expect("image dir");
            let reserve = rng.u8(..8) == 0;
            image.materialise(&dir, reserve).expect("materialise the image");
            let verdict = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.judge(&dir, &image, cut, rng.u8(..4) == 0)
            }))
            .unwrap_or_else(|panic| {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                Err(format!("panicked: {msg}"))
            });
            let _ = std::fs::remove_dir_all(&dir);
            tally.images += 1;
            let t = tally.by_keep.entry(format!("{keep:?}")).or_default();
            t.images += 1;
            match verdict {
                Ok(Verdict::Refused) => t.refused += 1,
                Ok(Verdict::Opened { at_ack }) => {
                    t.opened += 1;
                    if at_ack {
                        t.at_ack += 1;
                    } else {
                        t.later += 1;
                    }
                }
                Err(problem) => {
                    let from = self.steps.iter().rev().find(|s| s.end <= cut).map_or(0, |s| s.start);
                    wrong.push(format!(
                        "workload seed {} ({:?}, range scans {}, encrypted {}), cut before operation {cut} of {}, at {}: {problem}\n    image: {}\n    trace (from the step before the cut):{}",
                        self.seed,
                        self.policy,
                        self.ranged,
                        self.sealed,
                        self.ops.len(),
                        self.step_at(cut),
                        image.describe(),
                        slice(&self.ops, from.min(cut.saturating_sub(60)).max(cut.saturating_sub(200)), cut + 3)
                    ));
                    if wrong.len() >= 10 {
                        return;
                    }
                }
            }
        }
    }

    /// Opens the image in `dir` (cut before operation `cut`) and judges it.
    fn judge(&self, dir: &Path, image: &Image, cut: usize, write_after: bool) -> Result<Verdict, String> {
        let path = dir.join(DB);
        let (low, high) = (self.acknowledged(cut), self.begun(cut));
        let (db, key) = match self.open_image(&path, low, high)? {
            Ok(opened) => opened,
            Err((offset, reason)) => return self.refusal(image, offset, reason).map(|()| Verdict::Refused),
        };
        let found = read_state(&db, self.ranged)?;
        let p = self.matching_prefix(&found, low, high)?;
        let leftovers = leftovers(dir);
        if !leftovers.is_empty() {
            return Err(format!("files left after the open: {leftovers:?}"));
        }
        if write_after {
            db.insert("after the cut", "written")
                .map_err(|e| format!("insert after the cut: {e}"))?;
            db.flush().map_err(|e| format!("flush after the cut: {e}"))?;
            drop(db);
            let db = builder(&path, self.policy, self.ranged, key)
                .build()
                .map_err(|e| format!("reopen after a write: {e}"))?;
            let mut again = read_state(&db, self.ranged)?;
            let written = again.remove(&(String::new(), b"after the cut".to_vec()));
            if written.map(|e| e.0.to_vec()) != Some(b"written".to_vec()) {
                return Err("a write flushed after the cut was lost at the next open".to_owned());
            }
            if !same(&again, &self.state_at(p)) {
                return Err(format!("the state after a write and a reopen is no longer step {p}'s"));
            }
        }
        Ok(Verdict::Opened { at_ack: p == low })
    }

    /// Opens the image's database with the key of one of the steps `low..=high` (latest
    /// first: an encryption admin run among them may or may not have taken effect), and
    /// gives it with its key; a refusal as damage gives its offset and reason. Fails when
    /// no key of those steps opens it, or the open fails otherwise.
    #[allow(clippy::type_complexity)]
    fn open_image(
        &self,
        path: &Path,
        low: usize,
        high: usize,
    ) -> Result<Result<(Emdb, DbKey), (u64, &'static str)>, String> {
        let mut tried: Vec<DbKey> = Vec::new();
        let mut refused = Vec::new();
        for &key in self.keys[low..=high].iter().rev() {
            if tried.contains(&key) {
                continue;
            }
            tried.push(key);
            match builder(path, self.policy, self.ranged, key).build() {
                Ok(db) => return Ok(Ok((db, key))),
                Err(Error::Corrupted { offset, reason }) => return Ok(Err((offset, reason))),
                // Another key, no key, or a key for a plaintext database: the image holds
                // the database as another of the steps left it.
                Err(e) if refused_for_its_key(&e) => {
                    refused.push(format!("{}: {e}", if key.is_some() { "keyed" } else { "no key" }));
                }
                Err(e) => return Err(format!("open failed: {e}")),
            }
        }
        Err(format!(
            "no key of steps {low} to {high} opens the database: {}",
            refused.join("; ")
        ))
    }

    /// The prefix in `[low, high]` whose state `found` is, checked exactly.
    fn matching_prefix(&self, found: &State, low: usize, high: usize) -> Result<usize, String> {
        let fp = fingerprint(found);
        for p in (low..=high).rev() {
            if self.fingerprints[p] == fp {
                let want = self.state_at(p);
                if same(found, &want) {
                    check_expiry(found, &want)?;
                    return Ok(p);
                }
            }
        }
        let want = self.state_at(low);
        Err(format!(
            "the state is no prefix of steps {low} (acknowledged) to {high} (begun); against step {low}'s: {}",
            difference(found, &want)
        ))
    }

    /// Whether a refusal at `offset` of an image is one a power cut explains: the log's
    /// frame there holds bytes that were not synced and the image keeps bytes after it.
    fn refusal(&self, image: &Image, offset: u64, reason: &str) -> Result<(), String> {
        let refused = format!("refused at offset {offset}: {reason}");
        let Some(log) = image.files.get(Path::new(DB)) else {
            return Err(format!("{refused}, but the image has no log"));
        };
        let Some(damage) = log.content.first_difference(&log.live) else {
            return Err(format!(
                "{refused}, but the log holds exactly what was written (a kill leaves this)"
            ));
        };
        let head = log.live.bytes(offset, offset + 8);
        if head[..4] != emdb_journal::frame::MAGIC {
            return Err(format!(
                "{refused}, but the log as written has no frame there (first unsynced damage at {damage})"
            ));
        }
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) & 0x0fff_ffff;
        let end = offset + emdb_journal::frame::frame_len(len as usize) as u64;
        if damage < offset || damage >= end {
            return Err(format!(
                "{refused}, but the frame [{offset}, {end}) is whole in the image (first unsynced damage at {damage})"
            ));
        }
        if !log.content.has_data_from(end) {
            return Err(format!(
                "{refused}, but nothing follows the torn frame [{offset}, {end}): a torn tail, to be cut"
            ));
        }
        Ok(())
    }
}

/// Whether an open failed for the key it was given: another key, none for an encrypted
/// database, or one for a plaintext database.
fn refused_for_its_key(e: &Error) -> bool {
    #[cfg(feature = "encrypt")]
    if matches!(e, Error::EncryptionKeyMismatch) {
        return true;
    }
    matches!(e, Error::InvalidConfig(_))
}

enum Verdict {
    Refused,
    Opened { at_ack: bool },
}

/// Every live entry of every namespace, with its expiry; the range index agrees.
fn read_state(db: &Emdb, ranged: bool) -> Result<State, String> {
    let mut state = State::new();
    for ns in db.list_namespaces().map_err(|e| e.to_string())? {
        let h = handle(db, &ns).map_err(|e| format!("namespace {ns}: {e}"))?;
        let mut listed = Vec::new();
        for item in h.try_iter().map_err(|e| format!("try_iter {ns}: {e}"))? {
            let (key, value) = item.map_err(|e| format!("try_iter {ns}: {e}"))?;
            let expires = h
                .expires_at(&key)
                .map_err(|e| format!("expires_at: {e}"))?
                .ok_or("a key listed has no expiry")?;
            let ttl = (expires != 0).then_some((expires, expires));
            listed.push((key.clone(), value.clone()));
            state.insert((ns.clone(), key), (value.into(), ttl));
        }
        if ranged {
            listed.sort();
            let range = h.range_all().map_err(|e| format!("range {ns}: {e}"))?;
            if range != listed {
                return Err(format!("namespace {ns:?}: range(..) disagrees with try_iter"));
            }
        }
    }
    Ok(state)
}

/// Equal keys, values and TTL presence.
fn same(a: &State, b: &State) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|((ka, (va, ta)), (kb, (vb, tb)))| ka == kb && va == vb && ta.is_some() == tb.is_some())
}

/// Each TTL record's expiry lies in the window its write was made in.
fn check_expiry(found: &State, want: &State) -> Result<(), String> {
    for (key, (_, ttl)) in want {
        if let (Some((lo, hi)), Some((_, Some((at, _))))) = (ttl, found.get(key))
            && (at < lo || at > hi)
        {
            return Err(format!("{key:?} expires at {at}, written to expire in [{lo}, {hi}]"));
        }
    }
    Ok(())
}

/// The first few keys on which two states differ.
fn difference(found: &State, want: &State) -> String {
    let mut out = Vec::new();
    let short = |e: Option<&Entry>| {
        e.map_or("absent".to_owned(), |(v, _)| {
            String::from_utf8_lossy(&v[..v.len().min(24)]).into_owned()
        })
    };
    for key in found.keys().chain(want.keys()).collect::<BTreeSet<_>>() {
        let (f, w) = (found.get(key), want.get(key));
        if f.map(|e| (&e.0, e.1.is_some())) != w.map(|e| (&e.0, e.1.is_some())) {
            out.push(format!(
                "{}/{}: found {}, expected {}",
                key.0,
                String::from_utf8_lossy(&key.1),
                short(f),
                short(w)
            ));
        }
    }
    let n = out.len();
    out.truncate(6);
    format!("{n} keys differ: {}", out.join("; "))
}

/// A directory for a traced database or for images: on a memory file system where there
/// is one (syncs then cost nothing; the trace and the images are the same either way).
fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().expect("image dir")
}

/// Staging and scratch files in `dir`.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".fsys-tmp-") || n.contains(".compact.tmp"))
                .collect()
        })
        .unwrap_or_default()
}
