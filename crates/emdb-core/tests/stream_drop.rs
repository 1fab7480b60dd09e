//! Dropping a stream midway stops its pump (docs/COMPATIBILITY.md §9), and an idle stream holds no
//! blocking thread.
//!
//! Observed three ways: an endless iterator behind `stream_iter` (the pump of every
//! `*_stream` method) whose drop is signalled and whose reads are counted: after the
//! stream is dropped the iterator must be dropped and its count must stop, within one
//! bound of what was received; a range stream's cursor, which keeps the database open:
//! once the stream and the handle are dropped the file can be opened again; and a
//! runtime with a single blocking thread, on which idle streams must leave room for other
//! calls.
#![cfg(feature = "async")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::aio::filled;
use common::{HANG, eventually};
use emdb_async::{MAX_AHEAD, stream_iter};
use emdb_core::AsyncEmdb;
use emdb_core::{Emdb, Error};
use tokio_stream::StreamExt;

/// An endless iterator that counts its items and flags its drop.
struct Endless {
    taken: Arc<AtomicUsize>,
    dropped: Arc<AtomicBool>,
}

impl Iterator for Endless {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        Some(self.taken.fetch_add(1, Ordering::SeqCst))
    }
}

impl Drop for Endless {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

/// How far ahead of its consumer a pump always reads before it waits, once the consumer
/// stops: more than half its channel (it waits for room for up to half a channel at a
/// time: 33 of 64 at least), the rest of the chunk it is sending, and the next chunk (128)
/// in the hand-off. (Each trip ends with a chunk in the hand-off, so there always is one.)
const STALLED_AHEAD: usize = 160;

async fn dropping_stops_the_pump(received_before_drop: usize) {
    let (taken, dropped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
    let endless = Endless {
        taken: Arc::clone(&taken),
        dropped: Arc::clone(&dropped),
    };
    let mut stream = stream_iter(endless).unwrap();
    for expected in 0..received_before_drop {
        assert_eq!(stream.next().await, Some(expected));
    }
    // The producer runs as far ahead as it does before it waits: the bound below is met
    // with the channel full and chunks in flight, the case it is there for.
    eventually("the producer runs ahead", || {
        taken.load(Ordering::SeqCst) >= received_before_drop + STALLED_AHEAD
    })
    .await;
    drop(stream);
    eventually("the pump drops the iterator", || dropped.load(Ordering::SeqCst)).await;
    // The iterator is gone, so its count is final: nothing can read it again.
    let after_drop = taken.load(Ordering::SeqCst);
    assert!(
        after_drop <= received_before_drop + MAX_AHEAD,
        "read {after_drop} items for {received_before_drop} received"
    );
}

#[tokio::test]
async fn dropping_a_stream_stops_the_pump_current_thread() {
    dropping_stops_the_pump(1000).await;
    dropping_stops_the_pump(0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_stream_stops_the_pump_multi_thread() {
    dropping_stops_the_pump(1000).await;
    dropping_stops_the_pump(1).await;
}

/// An endless iterator that counts its items and records the thread it is dropped on.
struct DropsOn {
    taken: Arc<AtomicUsize>,
    thread: Arc<std::sync::Mutex<Option<std::thread::ThreadId>>>,
}

impl Iterator for DropsOn {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        self.taken.fetch_add(1, Ordering::SeqCst);
        Some(7)
    }
}

impl Drop for DropsOn {
    fn drop(&mut self) {
        *self.thread.lock().unwrap() = Some(std::thread::current().id());
    }
}

/// On a current-thread runtime the runtime's only worker is the test's thread. A stream
/// dropped while its consumer lagged (the pump blocked on a full channel, the trip's last
/// hand-off, iterator included, queued behind it) must still drop the iterator on the
/// blocking pool: dropping an engine cursor may close the database, which flushes.
#[tokio::test]
async fn a_dropped_stream_drops_its_iterator_on_the_blocking_pool() {
    for round in 0..20 {
        let (taken, thread) = (Arc::new(AtomicUsize::new(0)), Arc::new(std::sync::Mutex::new(None)));
        let mut stream = stream_iter(DropsOn {
            taken: Arc::clone(&taken),
            thread: Arc::clone(&thread),
        })
        .unwrap();
        assert_eq!(stream.next().await, Some(7));
        // The producer fills the channel while its first trip reads two chunks of 128: the
        // second goes to the hand-off with the iterator, queued behind the first, which the
        // pump is still sending into the full channel.
        eventually("the first trip reads its two chunks", || {
            taken.load(Ordering::SeqCst) >= 256
        })
        .await;
        drop(stream);
        eventually("the iterator is dropped", || thread.lock().unwrap().is_some()).await;
        assert_ne!(
            *thread.lock().unwrap(),
            Some(std::thread::current().id()),
            "round {round}: dropped on the runtime's worker"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_range_stream_releases_the_database() {
    let (_dir, path, db) = filled(100_000).await;
    let mut stream = db.range_stream(..).await.unwrap();
    for _ in 0..10 {
        assert!(stream.next().await.is_some());
    }
    let ns = db.namespace("side").await.unwrap();
    let mut ns_stream = ns.iter_from_stream("").await.unwrap();
    assert_eq!(ns_stream.next().await, None);
    // While the stream's cursor lives, the database is open.
    drop((db, ns));
    assert!(matches!(Emdb::open(&path), Err(Error::LockBusy { .. })));
    drop(stream);
    let mut reopened = None;
    eventually("the pump releases the database", || {
        reopened = Emdb::open(&path).ok();
        reopened.is_some()
    })
    .await;
    assert_eq!(reopened.map(|db| db.len().ok()), Some(Some(100_000)));
}

/// Whether a stream's pump has filled its channel as far as it does before it waits for
/// room: more than half (it waits for room for up to half a channel at a time).
fn waits_for_room<T>(rx: &tokio::sync::mpsc::Receiver<T>) -> bool {
    rx.len() > rx.max_capacity() / 2
}

#[test]
fn idle_streams_hold_no_blocking_thread() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let (_dir, _path, db) = filled(100_000).await;
        let ns = db.namespace("n").await.unwrap();
        ns.insert_many((0..1000).map(|i| (format!("{i:04}"), "v")))
            .await
            .unwrap();
        let work = async {
            // Four open streams nobody reads, each with far more records than fit its
            // channel: with one blocking thread, any of them parked on it would starve
            // every later call.
            let idle = [
                db.iter_stream().await.unwrap(),
                db.range_stream(..).await.unwrap(),
                db.iter_after_stream("k").await.unwrap(),
                db.iter_stream().await.unwrap(),
            ];
            let idle_ns = ns.keys_stream().await.unwrap();
            // Every pump has run ahead until it waits for room, so each has had its trips
            // on the one blocking thread.
            eventually("the idle streams' pumps wait for room", || {
                idle.iter().all(|s| waits_for_room(s.as_ref())) && waits_for_room(idle_ns.as_ref())
            })
            .await;
            db.insert("late", "1").await.unwrap();
            assert_eq!(db.get("late").await.unwrap(), Some(b"1".to_vec()));
            assert_eq!(ns.len().await.unwrap(), 1000);
            db.flush().await.unwrap();
            // And they still work when read.
            let mut all = Vec::new();
            for stream in idle {
                all.push(stream.fold(0usize, |n, _| n + 1).await);
            }
            assert_eq!(idle_ns.fold(0usize, |n, _| n + 1).await, 1000);
            all
        };
        let counts = tokio::time::timeout(HANG, work)
            .await
            .expect("calls starved by idle streams");
        // Snapshots from before "late"; the cursor may or may not see it.
        assert_eq!(counts[0], 100_000);
        assert!(counts[1] == 100_000 || counts[1] == 100_001, "{}", counts[1]);
        assert_eq!(counts[3], 100_000);
    });
}

#[tokio::test]
async fn a_stream_outlives_its_handle() {
    let db = AsyncEmdb::open_in_memory();
    db.insert_many((0..500).map(|i| (format!("{i:03}"), "v")))
        .await
        .unwrap();
    let stream = db.iter_stream().await.unwrap();
    drop(db);
    assert_eq!(stream.fold(0usize, |n, _| n + 1).await, 500);
}
