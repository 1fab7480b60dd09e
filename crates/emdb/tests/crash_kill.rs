//! Crash test (issue guarantees 1 and 2): a child process writes in a loop (single
//! inserts, `insert_many` batches, transactions), flushes every few operations and prints
//! what each flush covered; the parent SIGKILLs it at a random instant, reopens and
//! checks that every flushed write is there, that every batch is all-or-nothing, and that
//! the database goes on. Some flushes are checkpoints, so kills also land during them;
//! with the `encrypt` feature one round in three is encrypted. 30 rounds by default;
//! `EMDB_CRASH_ROUNDS` asks for more and `EMDB_CRASH_SEED` changes the random choices.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Watched, round_seeds, spawn_self};
use emdb::{Emdb, FlushPolicy};

const CHILD_ENV: &str = "EMDB_CRASH_KILL_CHILD";
/// Keys written by single inserts (and one per transaction): few, so they are overwritten.
const SHARED_KEYS: u64 = 64;
/// Sequence numbers of the second life start here, so they stay above the first's.
const LIFE_BASE: u64 = 1_000_000_000;

fn shared_key(j: u64) -> String {
    format!("k{j:02}")
}

/// The child: writes until killed. Every operation gets a sequence number `seq` (increasing
/// across lives); a single insert writes `k<j> = seq`; a batch with id `seq` writes
/// `batch<seq>/<i> = "<seq>:<i>"` for i in 0..n and `batch<seq>/count = "<n>"`, and a
/// transaction does the same plus `k<j> = seq`, with count `"<n> k<j>"`. After each
/// successful flush (or checkpoint) it prints one line per write the flush covered:
/// `@put <key> <seq> .` or `@batch <seq> <n> .`.
fn child(seed: u64, life: u64, path: &str) {
    let db = builder_for(seed, Path::new(path))
        .flush_policy(FlushPolicy::OnEachFlush)
        .build()
        .expect("child open");
    println!("@ready .");
    let mut rng = fastrand::Rng::with_seed(seed ^ life.wrapping_mul(0xA076_1D64_78BD_642F));
    let mut pending = String::new();
    let mut until_flush = rng.u64(1..6);
    for seq in life * LIFE_BASE.. {
        let op = rng.u64(0..10);
        if op < 5 {
            let key = shared_key(rng.u64(0..SHARED_KEYS));
            db.insert(key.as_str(), seq.to_string()).expect("insert");
            pending.push_str(&format!("@put {key} {seq} .\n"));
        } else {
            let n = rng.u64(1..21);
            let mut items: Vec<(String, String)> = (0..n)
                .map(|i| (format!("batch{seq}/{i}"), format!("{seq}:{i}")))
                .collect();
            if op < 8 {
                items.push((format!("batch{seq}/count"), n.to_string()));
                db.insert_many(items).expect("insert_many");
            } else {
                let key = shared_key(rng.u64(0..SHARED_KEYS));
                items.push((format!("batch{seq}/count"), format!("{n} {key}")));
                db.transaction(|tx| {
                    for (k, v) in &items {
                        tx.insert(k.as_str(), v.as_str())?;
                    }
                    tx.insert(key.as_str(), seq.to_string())
                })
                .expect("transaction");
                pending.push_str(&format!("@put {key} {seq} .\n"));
            }
            pending.push_str(&format!("@batch {seq} {n} .\n"));
        }
        until_flush -= 1;
        if until_flush == 0 {
            // Now and then a checkpoint (a flush that also saves the indexes), so that
            // kills land during checkpoints and reopens load one and scan the tail.
            if rng.u64(0..8) == 0 {
                db.checkpoint().expect("checkpoint");
            } else if rng.u64(0..6) == 0 {
                // A range scan: the first one of a life builds the range index while
                // this process goes on writing, and a kill may land during it.
                let _ = db.range_prefix("batch").expect("range scan");
                db.flush().expect("flush");
            } else {
                db.flush().expect("flush");
            }
            let mut out = std::io::stdout().lock();
            out.write_all(pending.as_bytes()).expect("print");
            out.flush().expect("flush stdout");
            pending.clear();
            until_flush = rng.u64(1..6);
        }
    }
}

/// How round `seed` opens its database: one round in three encrypted (with the
/// `encrypt` feature), so kills also land in sealed appends.
fn builder_for(seed: u64, path: &Path) -> emdb::EmdbBuilder {
    // Range scans always on: the lazily built range index is checked against the hash
    // index after every recovery.
    let builder = Emdb::builder().path(path).enable_range_scans(true);
    #[cfg(feature = "encrypt")]
    if seed.is_multiple_of(3) {
        return builder.encryption_key([0x3C; 32]);
    }
    let _ = seed;
    builder
}

/// Entry point of the child process; does nothing as an ordinary test.
#[test]
fn child_process_entry() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut parts = spec.splitn(3, ':');
    let seed = parts.next().and_then(|s| s.parse().ok()).expect("seed");
    let life = parts.next().and_then(|s| s.parse().ok()).expect("life");
    let path = parts.next().expect("path");
    child(seed, life, path);
}

/// What the child reported as flushed.
#[derive(Debug, Default)]
struct Flushed {
    /// Highest flushed sequence number written to each shared key.
    puts: BTreeMap<String, u64>,
    /// Flushed batches: id -> number of items.
    batches: BTreeMap<u64, u64>,
    lines: usize,
}

impl Flushed {
    /// Reads one line of the child's output (libtest may print text before the `@`).
    fn read(&mut self, line: &str) {
        let Some(at) = line.find('@') else { return };
        let tokens: Vec<&str> = line[at..].split_whitespace().collect();
        // A line cut short by the kill lacks its final "." and is ignored.
        match tokens.as_slice() {
            ["@put", key, seq, "."] => {
                let seq: u64 = seq.parse().expect("seq");
                let best = self.puts.entry((*key).to_owned()).or_insert(seq);
                *best = (*best).max(seq);
                self.lines += 1;
            }
            ["@batch", id, n, "."] => {
                self.batches.insert(id.parse().expect("id"), n.parse().expect("n"));
                self.lines += 1;
            }
            _ => {}
        }
    }
}

fn as_number(v: &[u8]) -> Option<u64> {
    std::str::from_utf8(v).ok()?.parse().ok()
}

/// Runs one life of the child and kills it after `delay`; returns its output lines.
fn one_life(seed: u64, life: u64, path: &Path, delay: Duration, round: u64) -> Vec<String> {
    let spec = format!("{seed}:{life}:{}", path.display());
    let watched = Watched::new(spawn_self("child_process_entry", CHILD_ENV, &spec, false));
    let mut lines = Vec::new();
    // The clock starts once the child has opened the database.
    let started = Instant::now();
    loop {
        match watched.lines.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                let ready = line.contains("@ready");
                lines.push(line);
                if ready {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) if started.elapsed() < Duration::from_secs(60) => {}
            Err(_) => panic!(
                "round {round}: the child never opened the database; stderr:\n{}",
                watched.abandon()
            ),
        }
    }
    let mut watched = watched;
    let killed_at = Instant::now() + delay;
    while Instant::now() < killed_at {
        if let Ok(Some(status)) = watched.child.try_wait() {
            panic!(
                "round {round} (seed {seed}): the child exited early with {status}; stderr:\n{}",
                watched.abandon()
            );
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let (_, rest, _) = watched.finish(true);
    lines.extend(rest);
    lines
}

/// One round: one or two lives of the child, then the checks. Returns how many flushed
/// writes it checked.
fn one_round(round: u64, seed: u64) -> usize {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("crash.emdb");
    let mut rng = fastrand::Rng::with_seed(seed);
    let lives = 1 + seed % 2;
    let mut flushed = Flushed::default();
    for life in 0..lives {
        let delay = Duration::from_millis(rng.u64(20..121));
        for line in one_life(seed, life, &path, delay, round) {
            flushed.read(&line);
        }
    }
    let ctx = format!("round {round} (seed {seed})");
    let db = builder_for(seed, &path)
        .build()
        .unwrap_or_else(|e| panic!("{ctx}: reopen failed: {e}"));
    // A kill inside a checkpoint's atomic replace leaves its staging file; the open that
    // follows removes it (docs/DURABILITY.md §1).
    let staging: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with(".fsys-tmp-"))
        .collect();
    assert!(
        staging.is_empty(),
        "{ctx}: staging files left after the open: {staging:?}"
    );
    let all: BTreeMap<Vec<u8>, Vec<u8>> = db.iter().expect("iter").collect();
    let get = |k: &str| all.get(k.as_bytes()).map(Vec::as_slice);
    // The range index, built from the recovered hash index, agrees with it.
    let ranged: Vec<(Vec<u8>, Vec<u8>)> = db.range(..).expect("range");
    assert!(
        ranged.iter().map(|(k, v)| (k, v)).eq(all.iter()),
        "{ctx}: range(..) differs from iter()"
    );

    // Every flushed put is there, with its value or a later one.
    for (key, &seq) in &flushed.puts {
        let v = get(key).unwrap_or_else(|| panic!("{ctx}: flushed {key} = {seq} lost"));
        let found = as_number(v).unwrap_or_else(|| panic!("{ctx}: {key} holds garbage {v:?}"));
        assert!(found >= seq, "{ctx}: {key} = {found}, but {seq} was flushed");
    }
    // Every batch in the file is whole or absent entirely, flushed or not.
    let mut members: BTreeMap<u64, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    for (k, v) in &all {
        let k = String::from_utf8(k.clone()).expect("utf-8 key");
        if let Some(rest) = k.strip_prefix("batch") {
            let (id, item) = rest.split_once('/').expect("batch<id>/<item>");
            members
                .entry(id.parse().expect("batch id"))
                .or_default()
                .insert(item.to_owned(), v.clone());
        } else {
            assert!(as_number(v).is_some(), "{ctx}: {k} holds garbage {v:?}");
        }
    }
    for (id, items) in &members {
        let count = items
            .get("count")
            .unwrap_or_else(|| panic!("{ctx}: batch {id} has {} items but no count: torn", items.len()));
        let count = String::from_utf8(count.clone()).expect("utf-8 count");
        let mut fields = count.split(' ');
        let n: u64 = fields.next().and_then(|n| n.parse().ok()).expect("count");
        assert_eq!(
            items.len() as u64,
            n + 1,
            "{ctx}: batch {id} has {} of {n} items",
            items.len() - 1
        );
        for i in 0..n {
            let expected = format!("{id}:{i}").into_bytes();
            assert_eq!(items.get(&i.to_string()), Some(&expected), "{ctx}: batch {id} item {i}");
        }
        // A transaction's shared key was written in the same commit: it holds this seq or
        // a later one.
        if let Some(key) = fields.next() {
            let v = get(key).unwrap_or_else(|| panic!("{ctx}: transaction {id} kept its batch but lost {key}"));
            assert!(
                as_number(v).is_some_and(|s| s >= *id),
                "{ctx}: transaction {id}: {key} is older"
            );
        }
    }
    for (id, n) in &flushed.batches {
        assert!(members.contains_key(id), "{ctx}: flushed batch {id} of {n} items lost");
    }

    // The database goes on: it takes writes and reopens with them.
    let live = db.len().expect("len");
    db.insert("after-the-crash", "yes").expect("write after recovery");
    db.flush().expect("flush after recovery");
    drop(db);
    let db = builder_for(seed, &path)
        .build()
        .unwrap_or_else(|e| panic!("{ctx}: second reopen failed: {e}"));
    assert_eq!(db.get("after-the-crash").expect("get"), Some(b"yes".to_vec()));
    assert_eq!(
        db.range(b"after-the-crash".to_vec()..=b"after-the-crash".to_vec())
            .expect("range"),
        vec![(b"after-the-crash".to_vec(), b"yes".to_vec())],
        "{ctx}"
    );
    assert_eq!(db.len().expect("len"), live + 1, "{ctx}");
    for (key, &seq) in &flushed.puts {
        let v = db.get(key).expect("get").expect("still there");
        assert!(
            as_number(&v).is_some_and(|s| s >= seq),
            "{ctx}: {key} after second reopen"
        );
    }
    flushed.lines
}

#[test]
fn flushed_writes_survive_sigkill_and_batches_are_atomic() {
    let rounds = std::env::var("EMDB_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30u64);
    let base = std::env::var("EMDB_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0xC4A5_u64);
    let mut checked = 0;
    for (round, seed) in (0..rounds).zip(round_seeds(base)) {
        checked += one_round(round, seed);
    }
    // A test that checks nothing proves nothing: the children must have flushed.
    assert!(
        checked as u64 >= rounds,
        "only {checked} flushed writes checked in {rounds} rounds"
    );
    eprintln!("{rounds} rounds, {checked} flushed writes checked after SIGKILL");
}
