//! Shutting a runtime down while one of its streams is open neither hangs nor panics:
//! the runtime's drop returns, and a consumer still holding the stream gets the
//! records already in the channel and then the end of the stream.
//!
//! Each scenario runs on a thread of its own, so that a hang fails the test (after
//! `common::HANG`) instead of stalling the suite, and a panic shows up in `join`.
#![cfg(feature = "async")]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Instant;

use common::aio::filled;
use common::{HANG, eventually};
use emdb_async::{MAX_AHEAD, stream_iter};
use tokio::runtime::{Builder, Runtime};
use tokio_stream::StreamExt;

/// Runs `scenario` on its own thread; fails if it panics or does not finish in time.
fn must_finish<T: Send + 'static>(scenario: impl FnOnce() -> T + Send + 'static) -> T {
    let (done_tx, done_rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let out = scenario();
        let _ = done_tx.send(());
        out
    });
    match done_rx.recv_timeout(HANG) {
        // A panicking scenario drops the sender early: join reports the panic.
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => worker.join().expect("the scenario panicked"),
        // Left running: joining it would hang the test too.
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the scenario hung"),
    }
}

fn runtime(multi_thread: bool) -> Runtime {
    let mut builder = if multi_thread {
        Builder::new_multi_thread()
    } else {
        Builder::new_current_thread()
    };
    if multi_thread {
        builder.worker_threads(2);
    }
    builder.enable_time().build().unwrap()
}

/// Opens a 100,000-record stream, reads a little, drops the runtime, then drains the
/// stream on another runtime. Returns how many records the stream gave in all.
fn drop_runtime_mid_stream(multi_thread: bool, range: bool) -> usize {
    let rt = runtime(multi_thread);
    let (dir, stream, read) = rt.block_on(async {
        let (dir, _path, db) = filled(100_000).await;
        let mut stream = if range {
            db.range_stream(..).await.unwrap()
        } else {
            db.iter_stream().await.unwrap()
        };
        let mut read = 0;
        while read < 100 {
            assert!(stream.next().await.is_some());
            read += 1;
        }
        // The pump fills the channel as far as it does before it waits for room (more
        // than half: it waits for room for up to half a channel at a time).
        eventually("the pump fills the channel", || {
            let rx = stream.as_ref();
            rx.len() > rx.max_capacity() / 2
        })
        .await;
        (dir, stream, read)
    });
    drop(rt);
    let rest = runtime(false).block_on(stream.fold(0usize, |n, _| n + 1));
    drop(dir);
    read + rest
}

/// [`drop_runtime_mid_stream`] with an iterator stream, then a range stream: each gives
/// what it read before the drop and at most the channel's worth after it.
fn drops_mid_stream_finish(multi_thread: bool) {
    for range in [false, true] {
        let total = must_finish(move || drop_runtime_mid_stream(multi_thread, range));
        assert!((100..100 + MAX_AHEAD).contains(&total), "{total} records");
    }
}

#[test]
fn dropping_a_current_thread_runtime_with_an_open_stream() {
    drops_mid_stream_finish(false);
}

#[test]
fn dropping_a_multi_thread_runtime_with_an_open_stream() {
    drops_mid_stream_finish(true);
}

/// The item at which the iterator of [`shutting_down_while_a_chunk_is_fetched`] stops
/// until the runtime is shutting down: inside the first trip's second chunk (128..256),
/// after the first chunk was handed over.
const STOP_AT: usize = 200;

/// The runtime goes away while the pump is fetching a chunk on the blocking pool: the
/// iterator stops in the middle of a chunk and goes on only once the pump is gone (the
/// stream's channel has no sender left), while the runtime's shutdown waits for the
/// fetch. The fetch finishes, the shutdown returns, nothing hangs.
#[test]
fn shutting_down_while_a_chunk_is_fetched() {
    let taken = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&taken);
    let (received, total) = must_finish(move || {
        let rt = runtime(true);
        let (fetching_tx, fetching) = mpsc::channel();
        let (resume, resume_rx) = mpsc::channel::<()>();
        let stopping = (0..10_000usize).inspect(move |&i| {
            counter.fetch_add(1, Ordering::SeqCst);
            if i == STOP_AT {
                let _ = fetching_tx.send(());
                // Gone (`Err`) when the test has failed already: then go on.
                let _ = resume_rx.recv_timeout(HANG);
            }
        });
        let (stream, received) = rt.block_on(async {
            let mut stream = stream_iter(stopping).unwrap();
            let mut received = 0;
            while received < 70 {
                assert_eq!(stream.next().await, Some(received));
                received += 1;
            }
            (stream, received)
        });
        fetching.recv_timeout(HANG).expect("the pump fetches the second chunk");
        let shutdown = std::thread::spawn(move || rt.shutdown_timeout(HANG));
        let start = Instant::now();
        while !stream.as_ref().is_closed() {
            assert!(start.elapsed() < HANG, "the runtime's shutdown never dropped the pump");
            std::thread::yield_now();
        }
        assert!(!shutdown.is_finished(), "the shutdown did not wait for the fetch");
        resume.send(()).expect("the iterator waits");
        shutdown.join().expect("the shutdown");
        let rest = runtime(false).block_on(stream.fold(0usize, |n, _| n + 1));
        (received, received + rest)
    });
    assert!(total >= received && total <= STOP_AT, "{total} records");
    assert!(taken.load(Ordering::SeqCst) < 10_000, "the iterator ran to its end");
}

/// A stream whose runtime was shut down before anything else happened, and calls made
/// on a runtime that is shutting down, fail or end; they do not panic.
#[test]
fn calls_on_a_dead_runtime_end_quietly() {
    must_finish(|| {
        let rt = runtime(false);
        let (db, stream) = rt.block_on(async {
            let db = emdb_core::AsyncEmdb::open_in_memory();
            db.insert_many((0..1000).map(|i| (format!("{i:04}"), "v")))
                .await
                .unwrap();
            let stream = db.iter_stream().await.unwrap();
            (db, stream)
        });
        drop(rt);
        // The pump died with the runtime: the stream ends with at most what was read
        // ahead, not the 1,000 records.
        let got = runtime(false).block_on(stream.fold(0usize, |n, _| n + 1));
        assert!(got <= emdb_async::MAX_AHEAD, "{got} items after the runtime died");
        // The database itself is fine, on a live runtime.
        let n = runtime(true).block_on(async { db.len().await.unwrap() });
        assert_eq!(n, 1000);
    });
}
