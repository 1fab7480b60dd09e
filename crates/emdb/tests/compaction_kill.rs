//! Kill test of compaction and checkpoint (issue 17). A child process writes from two
//! threads (single inserts and removes, `insert_many` batches, transactions that insert
//! or remove a key with their batch), each flushing every few operations (now and then by
//! a `checkpoint()`) and printing what its flush covered, while a third thread writes bulk
//! batches (megabytes while a compaction copies, so that it runs catch-up rounds;
//! plaintext rounds only) and a fourth compacts or checkpoints in a loop. The child dies
//! in one of two ways:
//!
//! * at a named fault point (`emdb_core::fault::POINTS`, every step of compaction and of
//!   checkpoint, armed through `EMDB_FAULT_POINT`; the first pass or the second): the
//!   child aborts there, and the parent checks that it did (the point's marker on stderr,
//!   the abort signal), so a point that is renamed or never reached fails the test
//!   instead of passing it silently. A checkpoint's points are died at both in
//!   `checkpoint()` and in the checkpoint that ends a compaction: 14 deaths in all;
//! * by a SIGKILL at a random instant inside a compaction (within the length of the one
//!   before): 3 rounds by default; `EMDB_COMPACTION_KILL_ROUNDS` asks for more and
//!   `EMDB_COMPACTION_KILL_SEED` changes the random choices (of both kinds of round).
//!
//! Then the parent reopens and checks: every flushed write is there with its newest
//! flushed value or a later one (a flushed remove: absent or written again later; a
//! flushed insert may be absent only after a later remove the child began), every batch
//! whole or absent, the data written before the loop intact, no staging or scratch file
//! left beside the database, and the database goes on: it takes a write, compacts,
//! checkpoints and reopens with everything. With the `encrypt` feature one round in three
//! is encrypted.
//!
//! A last test needs no kill: a `checkpoint()` racing a compaction, the interleaving that
//! broke the database forced by fault-point holds (`EMDB_FAULT_HOLD`).

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Watched, round_seeds, spawn_self_with};
use emdb::{Emdb, FlushPolicy};

const CHILD_ENV: &str = "EMDB_COMPACTION_KILL_CHILD";
/// How long a child may take to reach its point or its marker before it is called hung
/// (each gets there in well under a second).
const HANG: Duration = Duration::from_secs(60);
/// Writer threads of mixed operations; one more thread writes bulk batches.
const WRITERS: u64 = 2;
/// Keys per writer thread, each written by that thread only (so a later sequence number
/// on a key is a later write of it).
const KEYS_PER_WRITER: u64 = 24;
/// Batch slots per writer thread: a batch writes `b<t>.<slot>/<i>` for its items and
/// `b<t>.<slot>/count`, over the slot's earlier batch (so the live data stays bounded).
const SLOTS: u64 = 8;
/// The bulk writer's batches: this many items of [`BULK_PAD`] bytes, a flush after every
/// [`BULK_PER_FLUSH`] of them. Megabytes written while a compaction copies, so that it
/// has catch-up rounds to run.
const BULK_ITEMS: u64 = 32;
const BULK_PAD: usize = 2048;
const BULK_PER_FLUSH: u64 = 4;
/// Keys written (and flushed) before the loop starts, never written again: fewer in an
/// encrypted round (see [`preloaded`]).
const PRELOAD: u64 = 1_000;
const PRELOAD_SEALED: u64 = 100;
/// Keys written and then removed before the loop: dead records for compaction to drop.
const JUNK: u64 = 500;
/// Keys in the named namespace `side`, written before the loop.
const SIDE: u64 = 50;
/// The writers have done this many operations before the first compaction or checkpoint.
const WARM_UP_OPS: u64 = 100;

fn writer_key(writer: u64, j: u64) -> String {
    format!("w{writer}/{j:02}")
}

fn pre_key(i: u64) -> String {
    format!("pre/{i:05}")
}

fn pre_value(i: u64) -> String {
    format!("{i}:{}", "v".repeat(500))
}

fn side_key(i: u64) -> String {
    format!("s/{i:03}")
}

/// What a single write of sequence number `seq` stores: the number, then `pad` bytes.
fn put_value(seq: u64, pad: usize) -> String {
    format!("{seq} {}", "p".repeat(pad))
}

/// Item `i` of batch `id`, `pad` bytes of padding.
fn item_value(id: u64, i: u64, pad: usize) -> String {
    format!("{id}:{i}:{}", "b".repeat(pad))
}

/// Whether round `seed` is encrypted: one in three with the `encrypt` feature.
fn encrypted(seed: u64) -> bool {
    cfg!(feature = "encrypt") && seed.is_multiple_of(3)
}

/// How many keys round `seed` writes before its loop. An encrypted round has fewer:
/// sealing is slow in a debug build, and each compaction copies them all.
fn preloaded(seed: u64) -> u64 {
    if encrypted(seed) { PRELOAD_SEALED } else { PRELOAD }
}

/// How round `seed` opens its database: range scans on (the range index is checked
/// against the hash index after each reopen), sealed if [`encrypted`].
fn builder_for(seed: u64, path: &Path) -> emdb::EmdbBuilder {
    let builder = Emdb::builder().path(path).enable_range_scans(true);
    #[cfg(feature = "encrypt")]
    if encrypted(seed) {
        return builder.encryption_key([0x5A; 32]);
    }
    builder
}

/// What the driver thread of a child calls in its loop.
#[derive(Clone, Copy, Debug)]
enum Driver {
    /// `compact()` only.
    Compact,
    /// `checkpoint()` only.
    Checkpoint,
    /// `compact()`, and a `checkpoint()` after every other one.
    Mixed,
}

impl Driver {
    fn name(self) -> &'static str {
        match self {
            Driver::Compact => "compact",
            Driver::Checkpoint => "checkpoint",
            Driver::Mixed => "mixed",
        }
    }

    fn parse(s: &str) -> Driver {
        match s {
            "compact" => Driver::Compact,
            "checkpoint" => Driver::Checkpoint,
            "mixed" => Driver::Mixed,
            other => panic!("unknown driver {other:?}"),
        }
    }
}

/// The child: fills the database, then writes from [`WRITERS`] threads and a bulk writer
/// while a driver thread compacts or checkpoints, until it dies. After each successful
/// flush a writer prints one line per write it covered: `@put <key> <seq> .`,
/// `@del <key> <seq> .` or `@batch <t>.<slot> <seq> .`. The driver prints
/// `@compact <i> start .` before compaction `i` and `@compact <i> done <ms> .` after it.
fn child(driver: Driver, seed: u64, path: &str) {
    let db = Arc::new(
        builder_for(seed, Path::new(path))
            .flush_policy(FlushPolicy::OnEachFlush)
            .build()
            .expect("child open"),
    );
    for chunk in 0..preloaded(seed) / 100 {
        db.insert_many((chunk * 100..(chunk + 1) * 100).map(|i| (pre_key(i), pre_value(i))))
            .expect("preload");
    }
    for i in 0..JUNK {
        db.insert(format!("junk/{i}"), "j".repeat(500)).expect("junk");
    }
    for i in 0..JUNK {
        db.remove(format!("junk/{i}")).expect("junk removed");
    }
    let side = db.namespace("side").expect("namespace");
    for i in 0..SIDE {
        side.insert(side_key(i).as_str(), side_key(i)).expect("side insert");
    }
    db.flush().expect("preload flush");
    println!("@ready .");

    let seqs = Arc::new(AtomicU64::new(1));
    // The bulk writer only in plaintext rounds: sealing megabytes in a debug build would
    // make each compaction take seconds.
    let threads = if encrypted(seed) { WRITERS } else { WRITERS + 1 };
    let writers: Vec<_> = (0..threads)
        .map(|t| {
            let db = Arc::clone(&db);
            let seqs = Arc::clone(&seqs);
            std::thread::spawn(move || writer(&db, t, seed, &seqs))
        })
        .collect();
    let driving = {
        let db = Arc::clone(&db);
        let seqs = Arc::clone(&seqs);
        std::thread::spawn(move || {
            // Not a timing decision: the loop starts once the writers are under way.
            while seqs.load(Ordering::Relaxed) < WARM_UP_OPS {
                std::thread::sleep(Duration::from_millis(1));
            }
            for i in 0u64.. {
                let started = Instant::now();
                match driver {
                    Driver::Checkpoint => db.checkpoint().expect("checkpoint"),
                    Driver::Compact | Driver::Mixed => {
                        println!("@compact {i} start .");
                        db.compact().expect("compact");
                        println!("@compact {i} done {} .", started.elapsed().as_millis());
                        if matches!(driver, Driver::Mixed) && i % 2 == 1 {
                            db.checkpoint().expect("checkpoint");
                        }
                    }
                }
            }
        })
    };
    for w in writers {
        w.join().expect("writer");
    }
    driving.join().expect("driver");
}

/// Writer thread `t` of the child, until the process dies: mixed operations, or bulk
/// batches for `t == WRITERS`.
fn writer(db: &Emdb, t: u64, seed: u64, seqs: &AtomicU64) {
    let mut rng = fastrand::Rng::with_seed(seed ^ (t + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let bulk = t == WRITERS;
    let mut pending = String::new();
    let mut until_flush = if bulk { BULK_PER_FLUSH } else { rng.u64(1..6) };
    loop {
        let seq = seqs.fetch_add(1, Ordering::Relaxed);
        let key = writer_key(t, rng.u64(0..KEYS_PER_WRITER));
        let op = if bulk { 9 } else { rng.u64(0..20) };
        if op < 7 {
            db.insert(key.as_str(), put_value(seq, rng.usize(0..300)))
                .expect("insert");
            pending.push_str(&format!("@put {key} {seq} .\n"));
        } else if op < 9 {
            removing(&key, seq);
            db.remove(key.as_str()).expect("remove");
            pending.push_str(&format!("@del {key} {seq} .\n"));
        } else {
            let slot = format!("{t}.{}", rng.u64(0..SLOTS));
            let (n, pad) = if bulk {
                (BULK_ITEMS, BULK_PAD)
            } else {
                (rng.u64(1..21), rng.usize(0..200))
            };
            let mut items: Vec<(String, String)> = (0..n)
                .map(|i| (format!("b{slot}/{i}"), item_value(seq, i, pad)))
                .collect();
            if op < 15 {
                items.push((format!("b{slot}/count"), format!("{seq} {n} {pad}")));
                db.insert_many(items).expect("insert_many");
            } else {
                let put = op < 18;
                let what = if put { "put" } else { "del" };
                items.push((format!("b{slot}/count"), format!("{seq} {n} {pad} {key} {what}")));
                if !put {
                    removing(&key, seq);
                }
                db.transaction(|tx| {
                    for (k, v) in &items {
                        tx.insert(k.as_str(), v.as_str())?;
                    }
                    if put {
                        tx.insert(key.as_str(), put_value(seq, 0))?;
                    } else {
                        tx.remove(key.as_str())?;
                    }
                    Ok(())
                })
                .expect("transaction");
                pending.push_str(&format!("@{what} {key} {seq} .\n"));
            }
            pending.push_str(&format!("@batch {slot} {seq} .\n"));
        }
        until_flush -= 1;
        if until_flush == 0 {
            // Now and then a checkpoint (a flush that saves the indexes too), racing the
            // driver's compactions and checkpoints.
            if !bulk && rng.u64(0..8) == 0 {
                db.checkpoint().expect("checkpoint");
            } else {
                db.flush().expect("flush");
            }
            let mut out = std::io::stdout().lock();
            out.write_all(pending.as_bytes()).expect("print");
            out.flush().expect("flush stdout");
            pending.clear();
            until_flush = if bulk { BULK_PER_FLUSH } else { rng.u64(1..6) };
        }
    }
}

/// Prints `@removing <key> <seq> .` before the remove is made, so that the parent knows
/// every remove that may be in the log, flushed or not: a key whose newest flushed write
/// is an insert may be absent only after one of them.
fn removing(key: &str, seq: u64) {
    let mut out = std::io::stdout().lock();
    out.write_all(format!("@removing {key} {seq} .\n").as_bytes())
        .expect("print");
    out.flush().expect("flush stdout");
}

/// The holds of the race child: the compaction waits after its capture until the
/// checkpoint has staged its snapshot, and the checkpoint waits there until the compaction
/// has finished (its own closing checkpoint included).
const RACE_HOLDS: &str = "compact.captured>checkpoint.snapshot_built,checkpoint.snapshot_built>compact.checkpointed";

/// The race child: a `checkpoint()` that staged its snapshot of the log before a
/// compaction swapped the log, and writes its files after. Writes a log with garbage (so
/// the compacted one is shorter), runs the two, closes the database and prints `@done .`.
fn race_child(path: &Path) {
    let db = Arc::new(Emdb::open(path).expect("child open"));
    for round in 0..3 {
        db.insert_many((0..PRELOAD).map(|i| (pre_key(i), format!("{round}:{}", pre_value(i)))))
            .expect("insert_many");
    }
    db.flush().expect("flush");
    let compacting = {
        let db = Arc::clone(&db);
        std::thread::spawn(move || db.compact().expect("compact"))
    };
    db.checkpoint().expect("checkpoint");
    compacting.join().expect("compaction thread");
    drop(db);
    println!("@done .");
}

/// Entry point of the child process; does nothing as an ordinary test.
#[test]
fn child_process_entry() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    if let Some(path) = spec.strip_prefix("race:") {
        race_child(Path::new(path));
        return;
    }
    let mut parts = spec.splitn(3, ':');
    let driver = Driver::parse(parts.next().expect("driver"));
    let seed = parts.next().and_then(|s| s.parse().ok()).expect("seed");
    let path = parts.next().expect("path");
    child(driver, seed, path);
}

/// What the child reported as flushed.
#[derive(Debug, Default)]
struct Flushed {
    /// The newest flushed write of each writer key: its sequence number, and whether it
    /// was an insert (or a remove).
    keys: BTreeMap<String, (u64, bool)>,
    /// The newest flushed batch of each slot.
    slots: BTreeMap<String, u64>,
    /// Every remove the child began, flushed or not: key -> sequence numbers.
    removes: BTreeMap<String, Vec<u64>>,
    lines: usize,
}

impl Flushed {
    /// Reads one line of the child's output (libtest may print text before the `@`).
    fn read(&mut self, line: &str) {
        let Some(at) = line.find('@') else { return };
        let tokens: Vec<&str> = line[at..].split_whitespace().collect();
        // A line cut short by the kill lacks its final "." and is ignored.
        match tokens.as_slice() {
            [op @ ("@put" | "@del"), key, seq, "."] => {
                let seq: u64 = seq.parse().expect("seq");
                let newest = self.keys.entry((*key).to_owned()).or_insert((seq, *op == "@put"));
                if seq > newest.0 {
                    *newest = (seq, *op == "@put");
                }
                self.lines += 1;
            }
            ["@removing", key, seq, "."] => {
                let seq = seq.parse().expect("seq");
                self.removes.entry((*key).to_owned()).or_default().push(seq);
            }
            ["@batch", slot, id, "."] => {
                let id: u64 = id.parse().expect("id");
                let newest = self.slots.entry((*slot).to_owned()).or_insert(id);
                *newest = (*newest).max(id);
                self.lines += 1;
            }
            _ => {}
        }
    }
}

/// The sequence number a writer key's value holds, its padding checked.
fn seq_of(ctx: &str, key: &str, v: &[u8]) -> u64 {
    let text = std::str::from_utf8(v).unwrap_or_else(|_| panic!("{ctx}: {key} holds garbage {v:?}"));
    let (seq, pad) = text
        .split_once(' ')
        .unwrap_or_else(|| panic!("{ctx}: {key} holds garbage {text:?}"));
    assert!(pad.bytes().all(|b| b == b'p'), "{ctx}: {key} holds garbage {text:?}");
    seq.parse()
        .unwrap_or_else(|_| panic!("{ctx}: {key} holds garbage {text:?}"))
}

/// The batch an item's value names, its index and padding checked.
fn batch_of(ctx: &str, key: &str, i: u64, v: &[u8]) -> u64 {
    let text = std::str::from_utf8(v).unwrap_or_else(|_| panic!("{ctx}: {key} holds garbage {v:?}"));
    let mut fields = text.splitn(3, ':');
    let id = fields.next().and_then(|id| id.parse().ok());
    let index = fields.next().and_then(|i| i.parse::<u64>().ok());
    let pad = fields.next().unwrap_or("x");
    match id {
        Some(id) if index == Some(i) && pad.bytes().all(|b| b == b'b') => id,
        _ => panic!("{ctx}: {key} holds garbage {text:?}"),
    }
}

/// Checks the open database against what the child flushed; returns the number of
/// default-namespace keys.
fn check_contents(ctx: &str, seed: u64, db: &Emdb, flushed: &Flushed) -> usize {
    let all: BTreeMap<Vec<u8>, Vec<u8>> = db.iter().expect("iter").collect();
    let ranged: Vec<(Vec<u8>, Vec<u8>)> = db.range(..).expect("range");
    assert!(
        ranged.iter().map(|(k, v)| (k, v)).eq(all.iter()),
        "{ctx}: range(..) differs from iter()"
    );
    let get = |k: &str| all.get(k.as_bytes()).map(Vec::as_slice);

    // What was flushed before the loop is there, unchanged.
    for i in 0..preloaded(seed) {
        assert_eq!(
            get(&pre_key(i)),
            Some(pre_value(i).as_bytes()),
            "{ctx}: preloaded {}",
            pre_key(i)
        );
    }
    let side = db.namespace("side").expect("namespace side");
    for i in 0..SIDE {
        assert_eq!(
            side.get(side_key(i).as_str()).expect("side get"),
            Some(side_key(i).into_bytes()),
            "{ctx}: side {}",
            side_key(i)
        );
    }
    assert_eq!(side.len().expect("side len"), SIDE as usize, "{ctx}: side len");

    // Every flushed write of a writer key holds: an insert's value or a later one (the
    // absence of a later remove), a remove's absence or a later insert.
    for (key, &(seq, put)) in &flushed.keys {
        match get(key) {
            Some(v) => {
                let found = seq_of(ctx, key, v);
                if put {
                    assert!(found >= seq, "{ctx}: {key} = {found}, but {seq} was flushed");
                } else {
                    assert!(
                        found > seq,
                        "{ctx}: {key} = {found}, but its remove at {seq} was flushed"
                    );
                }
            }
            None => assert!(
                !put || flushed.removes.get(key).is_some_and(|r| r.iter().any(|&r| r > seq)),
                "{ctx}: flushed {key} = {seq} lost (no later remove was begun)"
            ),
        }
    }

    // The batch slots, and no key nobody wrote (or one removed before the loop).
    let mut slots: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    for (k, v) in &all {
        let k = String::from_utf8(k.clone()).expect("utf-8 key");
        if k.starts_with("pre/") || k == "after-the-crash" {
            continue;
        }
        if k.starts_with('w') {
            seq_of(ctx, &k, v);
        } else if let Some(rest) = k.strip_prefix('b') {
            let (slot, item) = rest.split_once('/').expect("b<slot>/<item>");
            slots
                .entry(slot.to_owned())
                .or_default()
                .insert(item.to_owned(), v.clone());
        } else {
            panic!("{ctx}: a key nobody wrote or one removed before the loop: {k:?}");
        }
    }
    // A slot holds its newest batch whole: every item of it, and only older batches'
    // items beyond its count. A batch is one commit with its count last, so an item of a
    // batch newer than the count, or an older item where the count's batch has one,
    // means a torn batch.
    for (slot, items) in &slots {
        let count = items
            .get("count")
            .unwrap_or_else(|| panic!("{ctx}: slot {slot} has {} items but no count: torn", items.len()));
        let count = String::from_utf8(count.clone()).expect("utf-8 count");
        let fields: Vec<&str> = count.split(' ').collect();
        let id: u64 = fields[0].parse().expect("count id");
        let n: u64 = fields[1].parse().expect("count n");
        let pad: usize = fields[2].parse().expect("count pad");
        for (item, v) in items.iter().filter(|(item, _)| *item != "count") {
            let i: u64 = item.parse().expect("item index");
            let key = format!("b{slot}/{item}");
            if i < n {
                assert!(
                    *v == item_value(id, i, pad).into_bytes(),
                    "{ctx}: batch {id} in slot {slot}: item {i} is not its own: torn"
                );
            } else {
                let older = batch_of(ctx, &key, i, v);
                assert!(
                    older < id,
                    "{ctx}: slot {slot}: {key} is of batch {older}, newer than {id}: torn"
                );
            }
        }
        for i in 0..n {
            assert!(
                items.contains_key(&i.to_string()),
                "{ctx}: batch {id} in slot {slot} lacks item {i}"
            );
        }
        // A transaction's key was written in the same commit: an insert left this
        // sequence number or a later one (or the absence of a later remove), a remove
        // left it absent or written later.
        if let [_, _, _, key, what] = fields.as_slice() {
            match (get(key), *what) {
                (Some(v), "put") => {
                    let found = seq_of(ctx, key, v);
                    assert!(
                        found >= id,
                        "{ctx}: transaction {id} kept its batch, {key} = {found} is older"
                    );
                }
                (None, "put") => assert!(
                    flushed.removes.get(*key).is_some_and(|r| r.iter().any(|&r| r > id)),
                    "{ctx}: transaction {id} kept its batch but lost {key}"
                ),
                (Some(v), _) => {
                    let found = seq_of(ctx, key, v);
                    assert!(
                        found > id,
                        "{ctx}: transaction {id} kept its batch, {key} = {found} not removed"
                    );
                }
                (None, _) => {}
            }
        }
    }
    for (slot, &flushed_id) in &flushed.slots {
        let id = slots
            .get(slot)
            .and_then(|items| items.get("count"))
            .and_then(|count| std::str::from_utf8(count).ok()?.split(' ').next()?.parse::<u64>().ok());
        assert!(
            id.is_some_and(|id| id >= flushed_id),
            "{ctx}: slot {slot} holds batch {id:?}, but {flushed_id} was flushed"
        );
    }
    all.len()
}

/// The files a reopened database may have beside it: the log, its sidecar, the index
/// snapshot, the lock's, and the saved bytes of a torn tail the open cut
/// (`<path>.corrupt-<offset>`: a kill lands in writers' appends too, and cutting their
/// torn last frame is what recovery does). Anything else (a staging file of an atomic
/// replace, a compaction's scratch log or its sidecar) fails.
fn assert_clean_dir(ctx: &str, dir: &Path, path: &Path) {
    let name = path.file_name().and_then(|n| n.to_str()).expect("file name");
    let allowed: Vec<String> = ["", ".meta", ".index", ".lock", ".lock-meta"]
        .iter()
        .map(|s| format!("{name}{s}"))
        .collect();
    let torn_tail = |n: &str| {
        n.strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(".corrupt-"))
            .is_some_and(|offset| !offset.is_empty() && offset.bytes().all(|b| b.is_ascii_digit()))
    };
    let stray: Vec<String> = std::fs::read_dir(dir)
        .expect("list")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| !allowed.contains(n) && !torn_tail(n))
        .collect();
    assert!(stray.is_empty(), "{ctx}: files left after the reopen: {stray:?}");
}

/// Reopens after the child died and checks everything; then the database goes on: a
/// write, a compaction, a checkpoint, a reopen with everything still there.
fn check_after_death(ctx: &str, seed: u64, dir: &Path, path: &Path, flushed: &Flushed) {
    let db = builder_for(seed, path)
        .build()
        .unwrap_or_else(|e| panic!("{ctx}: reopen failed: {e}"));
    assert_clean_dir(ctx, dir, path);
    let live = check_contents(ctx, seed, &db, flushed);
    db.insert("after-the-crash", "yes").expect("write after recovery");
    db.flush().expect("flush after recovery");
    db.compact()
        .unwrap_or_else(|e| panic!("{ctx}: compaction after recovery failed: {e}"));
    db.checkpoint().expect("checkpoint after recovery");
    assert_clean_dir(ctx, dir, path);
    drop(db);
    let db = builder_for(seed, path)
        .build()
        .unwrap_or_else(|e| panic!("{ctx}: second reopen failed: {e}"));
    assert_eq!(db.get("after-the-crash").expect("get"), Some(b"yes".to_vec()), "{ctx}");
    assert_eq!(
        check_contents(ctx, seed, &db, flushed),
        live + 1,
        "{ctx}: keys after the second reopen"
    );
    assert_eq!(db.len().expect("len"), live + 1, "{ctx}: len after the second reopen");
}

/// A running child: its stdout lines as they come, its stderr when it is over.
struct Running {
    watched: Watched,
    started: Instant,
}

impl Running {
    fn spawn(driver: Driver, seed: u64, path: &Path, point: Option<&str>) -> Running {
        let spec = format!("{}:{seed}:{}", driver.name(), path.display());
        let mut envs = vec![(CHILD_ENV, spec.as_str())];
        if let Some(point) = point {
            envs.push((emdb_core::fault::ENV, point));
        }
        Running {
            watched: Watched::new(spawn_self_with("child_process_entry", &envs, false)),
            started: Instant::now(),
        }
    }

    /// The next line, or `None` once the child's stdout is closed. Past [`HANG`] from the
    /// spawn the child is killed and the test fails: a point never reached (its writers
    /// print on) or a marker never printed is a hang, not a slow run.
    fn next_line(&mut self, ctx: &str, seen: &mut Vec<String>) -> Option<String> {
        let left = HANG.saturating_sub(self.started.elapsed());
        match self.watched.lines.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                Some(line)
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => None,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = self.watched.child.kill();
                let _ = self.watched.child.wait();
                panic!("{ctx}: the child did not get there within {HANG:?}");
            }
        }
    }

    /// Waits for the child's end (killing it first if `kill`); its status, every line it
    /// printed after `seen`, and its stderr.
    fn finish(self, kill: bool, mut seen: Vec<String>) -> (ExitStatus, Vec<String>, String) {
        let (status, rest, errors) = self.watched.finish(kill);
        seen.extend(rest);
        (status, seen, errors)
    }
}

/// Whether `status` is a death by SIGABRT (what `std::process::abort` raises).
#[cfg(unix)]
fn aborted(status: ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal() == Some(6)
}

#[cfg(not(unix))]
fn aborted(status: ExitStatus) -> bool {
    !status.success()
}

/// One fault round: the child dies at pass `pass` of `point`. Returns the flushed writes
/// checked.
fn fault_round(point: &str, pass: u64, driver: Driver, seed: u64) -> usize {
    let ctx = format!("point {point}@{pass}, driver {}, seed {seed}", driver.name());
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kill.emdb");
    let mut running = Running::spawn(driver, seed, &path, Some(&format!("{point}@{pass}")));
    let mut seen = Vec::new();
    while running.next_line(&ctx, &mut seen).is_some() {}
    let (status, lines, stderr) = running.finish(false, seen);
    assert!(
        lines.iter().any(|l| l.contains("@ready")),
        "{ctx}: the child never opened the database ({status}); stderr:\n{stderr}"
    );
    assert!(
        aborted(status) && stderr.contains(&format!("emdb fault point {point} reached")),
        "{ctx}: the child did not die at the point ({status}); stderr:\n{stderr}"
    );
    let mut flushed = Flushed::default();
    for line in &lines {
        flushed.read(line);
    }
    check_after_death(&ctx, seed, dir.path(), &path, &flushed);
    flushed.lines
}

/// One random round: the child is killed at a random instant of compaction `target`
/// (1 to 3), somewhere within the length of the compaction before it. Returns the
/// flushed writes checked and whether the kill came before that compaction ended.
fn random_round(round: u64, seed: u64) -> (usize, bool) {
    let ctx = format!("random round {round} (seed {seed})");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kill.emdb");
    let mut rng = fastrand::Rng::with_seed(seed);
    let target = rng.u64(1..4);
    let mut running = Running::spawn(Driver::Mixed, seed, &path, None);
    let mut seen = Vec::new();
    let mut last_ms = None;
    loop {
        let line = running
            .next_line(&ctx, &mut seen)
            .unwrap_or_else(|| panic!("{ctx}: the child exited early"));
        let tokens: Vec<&str> = line[line.find('@').unwrap_or(0)..].split_whitespace().collect();
        match tokens.as_slice() {
            ["@compact", i, "done", ms, "."] if i.parse() == Ok(target - 1) => {
                last_ms = Some(ms.parse::<u64>().expect("ms"));
            }
            ["@compact", i, "start", "."] if i.parse() == Ok(target) => break,
            _ => {}
        }
    }
    let delay = rng.u64(0..=last_ms.expect("the compaction before").max(1));
    std::thread::sleep(Duration::from_millis(delay));
    let (status, lines, stderr) = running.finish(true, seen);
    assert!(
        !status.success() && !stderr.contains("panicked"),
        "{ctx}: the child failed before the kill ({status}); stderr:\n{stderr}"
    );
    let done = format!("@compact {target} done");
    let inside = !lines.iter().any(|l| l.contains(&done));
    let mut flushed = Flushed::default();
    for line in &lines {
        flushed.read(line);
    }
    check_after_death(&ctx, seed, dir.path(), &path, &flushed);
    (flushed.lines, inside)
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn a_death_at_every_fault_point_of_compaction_and_checkpoint_loses_no_flushed_write() {
    let base = env_u64("EMDB_COMPACTION_KILL_SEED").unwrap_or(0xC0DE);
    let mut seeds = round_seeds(base);
    let mut checked = 0;
    let mut rounds = 0;
    for point in emdb_core::fault::POINTS {
        // A checkpoint's points are passed by `checkpoint()` and by the checkpoint that
        // ends each compaction: both are died in.
        let drivers: &[Driver] = if point.starts_with("checkpoint.") {
            &[Driver::Checkpoint, Driver::Compact]
        } else {
            &[Driver::Compact]
        };
        for &driver in drivers {
            // A catch-up round needs megabytes written while a compaction copies: only a
            // plaintext round has the bulk writer.
            let seed = seeds
                .by_ref()
                .find(|&s| *point != "compact.caught_up" || !encrypted(s))
                .expect("seed");
            // The first pass or a later one, so some deaths come after a compaction that
            // finished (a checkpointed database, an index snapshot to replace).
            let pass = 1 + seed % 2;
            checked += fault_round(point, pass, driver, seed);
            rounds += 1;
        }
    }
    assert!(
        checked >= rounds,
        "only {checked} flushed writes checked in {rounds} rounds"
    );
    eprintln!(
        "{rounds} deaths at {} fault points, {checked} flushed writes checked",
        emdb_core::fault::POINTS.len()
    );
}

/// A `checkpoint()` whose snapshot was staged before a compaction swapped the log wrote
/// the old log's sidecar (its checkpoint past the new log's end) beside the new log: the
/// database then refused to open as corrupted, with no crash at all. The holds
/// ([`RACE_HOLDS`]) make that interleaving happen every time.
#[test]
fn a_checkpoint_staged_before_a_compaction_swapped_the_log_leaves_it_openable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("race.emdb");
    let spec = format!("race:{}", path.display());
    let child = spawn_self_with(
        "child_process_entry",
        &[(CHILD_ENV, spec.as_str()), (emdb_core::fault::HOLD_ENV, RACE_HOLDS)],
        false,
    );
    let out = child.wait_with_output().expect("wait for the race child");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success() && stdout.contains("@done ."),
        "the race child failed ({}); stderr:\n{stderr}",
        out.status
    );
    let db = Emdb::open(&path).unwrap_or_else(|e| panic!("the database does not open after the race: {e}"));
    assert_clean_dir("race", dir.path(), &path);
    for i in 0..PRELOAD {
        assert_eq!(
            db.get(pre_key(i)).expect("get"),
            Some(format!("2:{}", pre_value(i)).into_bytes()),
            "{}",
            pre_key(i)
        );
    }
    assert_eq!(db.len().expect("len"), PRELOAD as usize);
}

#[test]
fn a_sigkill_during_a_compaction_with_writers_loses_no_flushed_write() {
    let rounds = env_u64("EMDB_COMPACTION_KILL_ROUNDS").unwrap_or(3);
    let base = env_u64("EMDB_COMPACTION_KILL_SEED").unwrap_or(0xC0DE) ^ 0x5EED;
    let mut checked = 0;
    let mut inside = 0;
    for (round, seed) in (0..rounds).zip(round_seeds(base)) {
        let (lines, during) = random_round(round, seed);
        checked += lines;
        inside += u64::from(during);
    }
    assert!(
        checked as u64 >= rounds,
        "only {checked} flushed writes checked in {rounds} rounds"
    );
    eprintln!("{rounds} kills ({inside} inside a compaction), {checked} flushed writes checked");
}
