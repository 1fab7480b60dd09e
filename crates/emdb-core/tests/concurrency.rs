//! Many threads on one database (docs/COMPATIBILITY.md §1, README guarantees 1 and 2): no lost updates for
//! distinct keys, readers see only written values, the index equals the log after
//! reopen, one of two racing removes wins, disjoint transactions all apply, batches are
//! visible all at once, and concurrent flushes all succeed.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Instant;

use common::{HANG, sibling, temp_db, temp_path, temp_range_db, writer_key as key, writer_value as value};
use emdb_core::{Emdb, Error};

const WRITERS: u64 = 4;
const KEYS_PER_WRITER: u64 = 50;
const ROUNDS: u64 = 40;

/// Writer `w` writes each of its keys once per round, each writer through a different API,
/// calling `after_round` after each round.
fn run_writer(db: &Emdb, w: u64, mut after_round: impl FnMut(u64)) -> Result<(), Error> {
    for round in 0..ROUNDS {
        match w {
            0 => {
                for k in 0..KEYS_PER_WRITER {
                    db.insert(key(w, k), value(w, k, round))?;
                }
            }
            1 => db.insert_many((0..KEYS_PER_WRITER).map(|k| (key(w, k), value(w, k, round))))?,
            2 => db.transaction(|tx| {
                for k in 0..KEYS_PER_WRITER {
                    tx.insert(key(w, k), value(w, k, round))?;
                }
                Ok(())
            })?,
            _ => {
                for k in 0..KEYS_PER_WRITER {
                    db.remove(key(w, k))?;
                    db.insert(key(w, k), value(w, k, round))?;
                }
            }
        }
        after_round(round);
    }
    Ok(())
}

/// Reads random keys until `done`; every value seen must be one written to that key, and
/// a key's rounds never go backwards for one reader. Returns how many values it saw.
fn run_reader(db: &Emdb, seed: u64, done: &AtomicBool) -> Result<u64, Error> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut last_round: BTreeMap<String, u64> = BTreeMap::new();
    let mut seen = 0;
    while !done.load(Ordering::Acquire) {
        let (w, k) = (rng.u64(0..WRITERS), rng.u64(0..KEYS_PER_WRITER));
        let name = key(w, k);
        let Some(v) = db.get(&name)? else {
            // Only writer 3 removes, between its remove and its re-insert.
            assert!(w == 3 || !last_round.contains_key(&name), "{name} vanished");
            continue;
        };
        seen += 1;
        let text = String::from_utf8(v).expect("values are UTF-8");
        let parts: Vec<u64> = text.split(':').map(|p| p.parse().expect("a number")).collect();
        assert_eq!(parts.len(), 3, "{name}: never-written value {text:?}");
        assert_eq!((parts[0], parts[1]), (w, k), "{name}: another key's value {text:?}");
        assert!(parts[2] < ROUNDS, "{name}: round {} never written", parts[2]);
        let prev = last_round.insert(name.clone(), parts[2]).unwrap_or(0);
        assert!(parts[2] >= prev, "{name}: went back from round {prev} to {}", parts[2]);
    }
    Ok(seen)
}

#[test]
fn writers_and_readers_lose_nothing_and_the_index_equals_the_log() -> Result<(), Error> {
    let (_dir, path) = temp_path("rw.emdb");
    let db = Emdb::open(&path)?;
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2u64)
        .map(|r| {
            let (db, done) = (db.clone(), Arc::clone(&done));
            thread::spawn(move || run_reader(&db, 0xC0FFEE + r, &done))
        })
        .collect();
    // Checkpoints taken while the writers write: the last one plus the log after it must
    // give back exactly the final state. One after each round of writer 0 (rounds that
    // queued up meanwhile share one), until writer 0 is done; halfway through, writer 0
    // waits for the first, so at least one is taken with writes still to come.
    let (round_done, rounds) = mpsc::channel::<u64>();
    let (first_done, first) = mpsc::channel::<()>();
    let checkpointer = {
        let db = db.clone();
        thread::spawn(move || -> Result<u32, Error> {
            let mut n = 0;
            while rounds.recv().is_ok() {
                while rounds.try_recv().is_ok() {}
                db.checkpoint()?;
                n += 1;
                if n == 1 {
                    let _ = first_done.send(());
                }
            }
            Ok(n)
        })
    };
    let mut writer0 = Some((round_done, first));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let db = db.clone_handle();
            let signals = writer0.take();
            thread::spawn(move || {
                run_writer(&db, w, |round| {
                    if let Some((round_done, first)) = &signals {
                        round_done.send(round).expect("the checkpointer runs");
                        if round == ROUNDS / 2 {
                            first.recv_timeout(HANG).expect("a checkpoint while the writers write");
                        }
                    }
                })
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer thread")?;
    }
    done.store(true, Ordering::Release);
    for r in readers {
        r.join().expect("reader thread")?;
    }
    assert!(checkpointer.join().expect("checkpoint thread")? > 0);

    let mut expected = BTreeMap::new();
    for w in 0..WRITERS {
        for k in 0..KEYS_PER_WRITER {
            expected.insert(key(w, k).into_bytes(), value(w, k, ROUNDS - 1).into_bytes());
        }
    }
    for (k, v) in &expected {
        assert_eq!(
            db.get(k)?.as_ref(),
            Some(v),
            "{}: lost update",
            String::from_utf8_lossy(k)
        );
    }
    let in_memory: BTreeMap<_, _> = db.iter()?.collect();
    assert_eq!(in_memory, expected);
    assert_eq!(db.len()?, expected.len());
    db.flush()?;
    drop(db);

    // A reopen (the handle closed again before the next) holds what the index held.
    let reopens_as_in_memory = |why: &str| -> Result<(), Error> {
        let db = Emdb::open(&path)?;
        let reopened: BTreeMap<_, _> = db.iter()?.collect();
        assert_eq!(reopened, in_memory, "{why}");
        assert_eq!(db.len()?, in_memory.len());
        Ok(())
    };
    reopens_as_in_memory("the last checkpoint plus the log after it equal the index in memory")?;
    // Without the saved indexes, the open rebuilds them from the whole log.
    std::fs::remove_file(sibling(&path, ".index"))?;
    reopens_as_in_memory("the index rebuilt from the log equals the one in memory")
}

#[test]
fn of_two_racing_removes_exactly_one_gets_the_value() -> Result<(), Error> {
    const N: usize = 3000;
    let (_dir, _path, db) = temp_db();
    db.insert_many((0..N).map(|i| (format!("k{i}"), format!("v{i}"))))?;
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let racers: Vec<_> = (0..2)
        .map(|_| {
            let (db, barrier) = (db.clone(), Arc::clone(&barrier));
            thread::spawn(move || -> Result<Vec<usize>, Error> {
                barrier.wait();
                let mut won = Vec::new();
                for i in 0..N {
                    if let Some(v) = db.remove(format!("k{i}"))? {
                        assert_eq!(v, format!("v{i}").into_bytes(), "k{i}: wrong value");
                        won.push(i);
                    }
                }
                Ok(won)
            })
        })
        .collect();
    let won: Vec<Vec<usize>> = racers
        .into_iter()
        .map(|t| t.join().expect("racer thread"))
        .collect::<Result<_, _>>()?;
    let a: HashSet<usize> = won[0].iter().copied().collect();
    let b: HashSet<usize> = won[1].iter().copied().collect();
    assert!(a.is_disjoint(&b), "a key was removed twice with a value");
    assert_eq!(a.len() + b.len(), N, "every key was removed with its value once");
    assert!(db.is_empty()?);
    Ok(())
}

#[test]
fn concurrent_transactions_on_disjoint_keys_all_apply() -> Result<(), Error> {
    const THREADS: u64 = 4;
    const TXS: u64 = 100;
    let (_dir, path) = temp_path("tx.emdb");
    let db = Emdb::open(&path)?;
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let db = db.clone();
            thread::spawn(move || -> Result<(), Error> {
                for i in 0..TXS {
                    db.transaction(|tx| {
                        // A read-modify-write of this thread's own counter.
                        let count: u64 = match tx.get(format!("count{t}"))? {
                            Some(v) => String::from_utf8(v).expect("utf-8").parse().expect("number"),
                            None => 0,
                        };
                        tx.insert(format!("count{t}"), (count + 1).to_string())?;
                        for j in 0..5 {
                            tx.insert(format!("t{t}/{i}/{j}"), format!("{t}{i}{j}"))?;
                        }
                        if i > 0 {
                            tx.remove(format!("t{t}/{}/0", i - 1))?;
                        }
                        Ok(())
                    })?;
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join().expect("transaction thread")?;
    }
    let check = |db: &Emdb| -> Result<(), Error> {
        for t in 0..THREADS {
            assert_eq!(db.get(format!("count{t}"))?, Some(TXS.to_string().into_bytes()));
            for i in 0..TXS {
                for j in 0..5 {
                    let expect = (j != 0 || i == TXS - 1).then(|| format!("{t}{i}{j}").into_bytes());
                    assert_eq!(db.get(format!("t{t}/{i}/{j}"))?, expect, "t{t}/{i}/{j}");
                }
            }
        }
        assert_eq!(db.len()? as u64, THREADS * (1 + TXS * 4 + 1));
        Ok(())
    };
    check(&db)?;
    drop(db);
    check(&Emdb::open(&path)?)
}

fn number(v: Option<Vec<u8>>) -> u64 {
    v.map_or(0, |v| String::from_utf8(v).expect("utf-8").parse().expect("number"))
}

/// Runs `check` on a thread of its own, again and again until `done`, counting the checks
/// made in `checks`.
fn keep_checking(
    db: &Emdb,
    done: &Arc<AtomicBool>,
    checks: &Arc<AtomicU64>,
    check: impl Fn(&Emdb) -> Result<(), Error> + Send + 'static,
) -> thread::JoinHandle<Result<(), Error>> {
    let (db, done, checks) = (db.clone(), Arc::clone(done), Arc::clone(checks));
    thread::spawn(move || {
        while !done.load(Ordering::Acquire) {
            check(&db)?;
            checks.fetch_add(1, Ordering::AcqRel);
        }
        Ok(())
    })
}

/// A writer commits `a = b = n` for n = 1, 2, ... as one transaction (even n) or one
/// `insert_many` (odd n). Both are visible all at once, and n only grows. So once a reader
/// has read `a = x`, the commit of `b = x` is already visible and only larger values can
/// replace it: a later read of `b` gives at least `x`. Were a commit applied key by key
/// (a before b, as the transaction's key order has it), a reader could get the new `a`
/// and then the old `b`. An iterator's snapshot, and a page of a range scan, must hold
/// `a == b` exactly. The writer goes on past `COMMITS` until every reader has made two
/// checks since the first commit, so each made at least one entirely among the commits.
#[test]
fn readers_never_observe_half_a_batch() -> Result<(), Error> {
    const COMMITS: u64 = 3000;
    let (_dir, _path, db) = temp_range_db();
    db.insert_many([("a", "0"), ("b", "0")])?;
    let done = Arc::new(AtomicBool::new(false));
    let counts: [Arc<AtomicU64>; 3] = Default::default();
    let point_reader = keep_checking(&db, &done, &counts[0], |db| {
        let a = number(db.get("a")?);
        let b = number(db.get("b")?);
        assert!(b >= a, "read a = {a} and then b = {b}: half a batch was visible");
        Ok(())
    });
    let snapshot_reader = keep_checking(&db, &done, &counts[1], |db| {
        let snap: BTreeMap<Vec<u8>, Vec<u8>> = db.iter()?.collect();
        let a = number(snap.get(b"a".as_slice()).cloned());
        let b = number(snap.get(b"b".as_slice()).cloned());
        assert_eq!(a, b, "a snapshot holds half a batch");
        Ok(())
    });
    let range_reader = keep_checking(&db, &done, &counts[2], |db| {
        let page = db.range(b"a".to_vec()..=b"b".to_vec())?;
        let a = number(page.first().map(|(_, v)| v.clone()));
        let b = number(page.get(1).map(|(_, v)| v.clone()));
        assert_eq!(a, b, "a range scan holds half a batch");
        Ok(())
    });
    let at_start: Vec<u64> = counts.iter().map(|c| c.load(Ordering::Acquire)).collect();
    let all_checked_twice = || {
        counts
            .iter()
            .zip(&at_start)
            .all(|(c, &start)| c.load(Ordering::Acquire) >= start + 2)
    };
    let begun = Instant::now();
    let mut n = 0;
    while n < COMMITS || !all_checked_twice() {
        assert!(begun.elapsed() < HANG, "a reader made no check during {n} commits");
        n += 1;
        let v = n.to_string();
        if n.is_multiple_of(2) {
            db.transaction(|tx| {
                tx.insert("a", v.clone())?;
                tx.insert("b", v.clone())
            })?;
        } else {
            db.insert_many([("a", &v), ("b", &v)])?;
        }
    }
    done.store(true, Ordering::Release);
    point_reader.join().expect("point reader")?;
    snapshot_reader.join().expect("snapshot reader")?;
    range_reader.join().expect("range reader")?;
    assert_eq!(number(db.get("a")?), n);
    assert_eq!(number(db.get("b")?), n);
    Ok(())
}

/// Point reads take no lock (they check their key's stripe sequence instead): a writer
/// commits n to each of 1,000 keys for n = 1, 2, ... as one `insert_many`, while two
/// readers read the keys in a random order, a key at a time. A commit is visible all at
/// once and n only grows, so once a reader has read n from any key, every later read of
/// any key gives at least n; a reader that got part of a batch (a key of commit n and then
/// a key still at n - 1) fails. The writer goes on until each reader has read the whole
/// key set twice since the first commit, and at least 20 commits are made.
#[test]
fn point_reads_never_see_part_of_a_thousand_key_batch() -> Result<(), Error> {
    const KEYS: usize = 1000;
    const MIN_COMMITS: u64 = 20;
    let (_dir, _path, db) = temp_db();
    let keys: Arc<Vec<String>> = Arc::new((0..KEYS).map(|i| format!("batch-key-{i:04}")).collect());
    db.insert_many(keys.iter().map(|k| (k.as_str(), "0")))?;
    let done = Arc::new(AtomicBool::new(false));
    let passes: [Arc<AtomicU64>; 2] = Default::default();
    let readers: Vec<_> = passes
        .iter()
        .enumerate()
        .map(|(r, passes)| {
            let (db, keys, done, passes) = (db.clone(), Arc::clone(&keys), Arc::clone(&done), Arc::clone(passes));
            thread::spawn(move || -> Result<(), Error> {
                let mut rng = fastrand::Rng::with_seed(0x0b47_c400 + r as u64);
                let mut order: Vec<usize> = (0..KEYS).collect();
                let mut seen = 0;
                while !done.load(Ordering::Acquire) {
                    rng.shuffle(&mut order);
                    for &i in &order {
                        let n = number(db.get(&keys[i])?);
                        assert!(
                            n >= seen,
                            "read commit {seen} and then {} = {n}: part of a batch was visible",
                            keys[i]
                        );
                        seen = n;
                    }
                    passes.fetch_add(1, Ordering::AcqRel);
                }
                Ok(())
            })
        })
        .collect();
    let at_start: Vec<u64> = passes.iter().map(|p| p.load(Ordering::Acquire)).collect();
    let begun = Instant::now();
    let mut n = 0u64;
    while n < MIN_COMMITS
        || !passes
            .iter()
            .zip(&at_start)
            .all(|(p, &start)| p.load(Ordering::Acquire) >= start + 2)
    {
        assert!(begun.elapsed() < HANG, "a reader made no pass during {n} commits");
        n += 1;
        let v = n.to_string();
        db.insert_many(keys.iter().map(|k| (k.as_str(), v.as_str())))?;
    }
    done.store(true, Ordering::Release);
    for reader in readers {
        reader.join().expect("reader")?;
    }
    assert_eq!(number(db.get(&keys[KEYS - 1])?), n);
    Ok(())
}
