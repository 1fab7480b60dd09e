//! Compaction: only live records are kept, the file shrinks, nothing is lost, and readers
//! and writers carry on while it runs.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use common::HANG;
use emdb_core::{Emdb, Error};

#[test]
fn compaction_keeps_exactly_the_live_records_and_shrinks_the_file() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("c.emdb");
    let db = Emdb::builder().path(&path).enable_range_scans(true).build()?;
    let users = db.namespace("users")?;
    for round in 0..5 {
        for i in 0..2000 {
            db.insert(format!("k{i:05}"), format!("v{round}-{i}"))?;
        }
    }
    for i in (0..2000).step_by(2) {
        db.remove(format!("k{i:05}"))?;
    }
    users.insert("alice", "admin")?;
    let before = db.stats()?.logical_size_bytes;
    let held = db.get_zerocopy("k00001")?.expect("live");
    db.compact()?;
    let after = db.stats()?.logical_size_bytes;
    assert!(after < before / 5, "the log shrank from {before} to {after}");
    assert_eq!(
        held.as_slice(),
        b"v4-1",
        "a ValueRef from before compaction stays valid"
    );
    assert_eq!(db.len()?, 1000);
    assert_eq!(db.get("k00001")?, Some(b"v4-1".to_vec()));
    assert_eq!(db.get("k00002")?, None);
    assert_eq!(users.get("alice")?, Some(b"admin".to_vec()));
    assert_eq!(
        db.range_prefix("k0000")?.len(),
        5,
        "the range index follows the new log"
    );
    assert!(!dir.path().join("c.emdb.compact.tmp").exists());
    // Writes after compaction, then a reopen.
    db.insert("after", "compaction")?;
    drop(users);
    drop(db);
    let db = Emdb::open(&path)?;
    assert_eq!(db.len()?, 1001);
    assert_eq!(db.get("k01999")?, Some(b"v4-1999".to_vec()));
    assert_eq!(db.get("after")?, Some(b"compaction".to_vec()));
    assert_eq!(db.namespace("users")?.get("alice")?, Some(b"admin".to_vec()));
    Ok(())
}

/// Whether `op` ran entirely while the compaction's scratch file existed: begun after the
/// copy started (the capture that creates the file pauses writers only briefly, before)
/// and ended before the copy was renamed into place (the final pause). Only a write or
/// read that does not wait for the copy can do that.
fn during_the_copy(scratch: &Path, op: impl FnOnce() -> Result<(), Error>) -> Result<bool, Error> {
    let before = scratch.exists();
    op()?;
    Ok(before && scratch.exists())
}

/// Writers and readers are not held back by a compaction's copy: each counts the calls it
/// made entirely during one (see [`during_the_copy`]), and compactions run until both
/// have made one. Were the copy made under the writers' pause (as emdb 1.0 did), no call
/// would ever count, and the test would fail after `common::HANG`.
#[test]
fn writers_and_readers_carry_on_during_compaction() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("live.emdb");
    let scratch = dir.path().join("live.emdb.compact.tmp");
    let db = Emdb::open(&path)?;
    for i in 0..20_000u64 {
        db.insert(format!("base{i}"), i.to_le_bytes().to_vec())?;
    }
    for i in 0..20_000u64 {
        db.insert(format!("base{i}"), (i + 1).to_le_bytes().to_vec())?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let (wrote_during, read_during) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let writer = {
        let (db, scratch) = (db.clone(), scratch.clone());
        let (stop, written, during) = (Arc::clone(&stop), Arc::clone(&written), Arc::clone(&wrote_during));
        std::thread::spawn(move || -> Result<(), Error> {
            let mut i = 0u64;
            while !stop.load(Ordering::Acquire) {
                let overlapped = during_the_copy(&scratch, || {
                    db.insert(format!("new{i}"), i.to_le_bytes().to_vec())?;
                    if i.is_multiple_of(3) {
                        db.remove(format!("base{i}"))?;
                    }
                    Ok(())
                })?;
                if overlapped {
                    during.fetch_add(1, Ordering::AcqRel);
                }
                i += 1;
                written.store(i, Ordering::Release);
            }
            Ok(())
        })
    };
    let reader = {
        let (db, scratch) = (db.clone(), scratch.clone());
        let (stop, during) = (Arc::clone(&stop), Arc::clone(&read_during));
        std::thread::spawn(move || -> Result<(), Error> {
            let mut reads = 0u64;
            while !stop.load(Ordering::Acquire) {
                let i = reads % 20_000;
                let overlapped = during_the_copy(&scratch, || {
                    if let Some(v) = db.get(format!("base{i}"))? {
                        assert_eq!(
                            v,
                            (i + 1).to_le_bytes().to_vec(),
                            "a reader saw a stale or foreign value"
                        );
                    }
                    Ok(())
                })?;
                if overlapped {
                    during.fetch_add(1, Ordering::AcqRel);
                }
                reads += 1;
            }
            Ok(())
        })
    };
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let start = Instant::now();
        while !done() {
            assert!(start.elapsed() < HANG, "gave up waiting: {what}");
            std::thread::yield_now();
        }
    };
    wait_for("the writer's first writes", &|| written.load(Ordering::Acquire) >= 200);
    let start = Instant::now();
    let mut compactions = 0;
    while wrote_during.load(Ordering::Acquire) == 0 || read_during.load(Ordering::Acquire) == 0 {
        assert!(
            start.elapsed() < HANG,
            "{compactions} compactions, and no write or no read ran during one's copy"
        );
        db.compact()?;
        compactions += 1;
    }
    eprintln!(
        "{compactions} compaction(s): {} writes and {} reads during a copy",
        wrote_during.load(Ordering::Acquire),
        read_during.load(Ordering::Acquire)
    );
    let during = written.load(Ordering::Acquire);
    wait_for("writes after the compaction", &|| {
        written.load(Ordering::Acquire) >= during + 100
    });
    stop.store(true, Ordering::Release);
    writer.join().expect("writer")?;
    reader.join().expect("reader")?;
    assert!(!scratch.exists(), "the scratch file was renamed into place");
    let total = written.load(Ordering::Acquire);
    // Every write, before, during and after the compactions, is there.
    for i in 0..total {
        assert_eq!(db.get(format!("new{i}"))?, Some(i.to_le_bytes().to_vec()), "new{i}");
        let base = db.get(format!("base{i}"))?;
        if i < 20_000 {
            assert_eq!(base.is_none(), i % 3 == 0, "base{i}");
        }
    }
    db.flush()?;
    let expected: Vec<(Vec<u8>, Vec<u8>)> = {
        let mut all: Vec<_> = db.iter()?.collect();
        all.sort();
        all
    };
    drop(db);
    let db = Emdb::open(&path)?;
    let mut reopened: Vec<_> = db.iter()?.collect();
    reopened.sort();
    assert_eq!(reopened, expected, "the index equals the log after reopen");
    Ok(())
}

#[test]
fn a_stale_scratch_file_is_removed_on_open() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("s.emdb");
    drop(Emdb::open(&path)?);
    std::fs::write(dir.path().join("s.emdb.compact.tmp"), b"half a compaction")?;
    std::fs::write(dir.path().join("s.emdb.compact.tmp.meta"), b"x")?;
    let db = Emdb::open(&path)?;
    assert!(!dir.path().join("s.emdb.compact.tmp").exists());
    assert!(!dir.path().join("s.emdb.compact.tmp.meta").exists());
    db.insert("k", "v")?;
    Ok(())
}

/// Live bytes are those of the records the indexes point at: a dropped namespace's stop
/// counting, and a reopen (from the checkpoint, or by a full scan without one) counts the
/// same.
#[test]
fn live_bytes_follow_dropped_namespaces_and_reopens() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("live.emdb");
    let db = Emdb::open(&path)?;
    db.insert_many((0..500).map(|i| (format!("k{i}"), format!("default value {i}"))))?;
    let default_only = db.stats()?.live_bytes;
    let ns = db.namespace("other")?;
    ns.insert_many((0..300).map(|i| (format!("k{i}"), format!("a longer value of the other namespace {i}"))))?;
    let both = db.stats()?.live_bytes;
    assert!(both > default_only, "{both} > {default_only}");
    drop(ns);
    db.drop_namespace("other")?;
    assert_eq!(
        db.stats()?.live_bytes,
        default_only,
        "the dropped namespace's bytes are dead"
    );
    db.remove("k7")?;
    let live = db.stats()?.live_bytes;
    assert!(live < default_only);
    db.checkpoint()?;
    drop(db);
    let db = Emdb::open(&path)?;
    assert!(db.stats()?.opened_from_checkpoint);
    assert_eq!(db.stats()?.live_bytes, live, "from the checkpoint");
    drop(db);
    std::fs::remove_file(dir.path().join("live.emdb.index"))?;
    let db = Emdb::open(&path)?;
    assert!(!db.stats()?.opened_from_checkpoint);
    assert_eq!(db.stats()?.live_bytes, live, "from a full scan");
    Ok(())
}

#[test]
fn stats_count_dead_bytes_and_compaction_reclaims_them() -> Result<(), Error> {
    let db = Emdb::open_in_memory();
    for round in 0..4 {
        db.insert_many((0..1000).map(|i| (format!("k{i}"), format!("round {round} value {i}"))))?;
    }
    let before = db.stats()?;
    assert!(
        before.dead_bytes > before.live_bytes * 2,
        "three rounds replaced: {before:?}"
    );
    assert_eq!(before.live_bytes + before.dead_bytes, before.logical_size_bytes);
    db.compact()?;
    let after = db.stats()?;
    assert_eq!(after.live_bytes, before.live_bytes, "the same records stay live");
    assert!(after.dead_bytes < after.live_bytes / 5, "{after:?}");
    db.clear()?;
    assert_eq!(db.stats()?.live_bytes, 0);
    Ok(())
}

#[test]
fn a_range_cursor_carries_on_across_compaction() -> Result<(), Error> {
    let db = Emdb::builder().enable_range_scans(true).build()?;
    db.insert_many((0..3000).map(|i| (format!("k{i:05}"), format!("v{i}"))))?;
    for i in (0..3000).step_by(2) {
        db.remove(format!("k{i:05}"))?;
    }
    let mut cursor = db.iter_from("k00000")?;
    let first: Vec<_> = cursor.by_ref().take(10).collect();
    db.compact()?;
    let rest: Vec<_> = cursor.collect();
    let keys: Vec<Vec<u8>> = first.iter().chain(&rest).map(|(k, _)| k.clone()).collect();
    let expected: Vec<Vec<u8>> = (1..3000).step_by(2).map(|i| format!("k{i:05}").into_bytes()).collect();
    assert_eq!(keys, expected, "every live key once, in order, across the swap");
    Ok(())
}
