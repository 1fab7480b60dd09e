//! Dropping the future of an in-flight transaction (docs/COMPATIBILITY.md §9–10):
//! the closure, once handed to the blocking pool, runs on, and afterwards either all of the
//! transaction's writes are visible or none is, never a part. A transaction whose closure
//! fails leaves nothing, dropped or not.
//!
//! The closure stops halfway and waits for the test's signal, so the future is dropped
//! (its task aborted) while the transaction is certainly in flight; readers then check
//! every state they can see until the blocking task has let go of its handle.
#![cfg(feature = "async")]

mod common;

use std::sync::Arc;
use std::sync::mpsc;

use common::eventually;
use emdb_core::AsyncEmdb;
use emdb_core::Error;

const WRITES: usize = 100;

fn key(round: usize, i: usize) -> String {
    format!("r{round:02}/{i:03}")
}

/// How many of round `round`'s keys are visible in a snapshot; asserts it is none or all.
/// (A snapshot, not a range scan: the engine's range cursor reads its pages without
/// excluding batches, so a scan racing a commit can see part of it.)
async fn visible(db: &AsyncEmdb, round: usize) -> usize {
    let prefix = format!("r{round:02}/");
    let n = db
        .keys()
        .await
        .unwrap()
        .iter()
        .filter(|k| k.starts_with(prefix.as_bytes()))
        .count();
    assert!(n == 0 || n == WRITES, "round {round}: {n} of {WRITES} writes visible");
    n
}

/// Starts a transaction that stops after half its writes until `go` is signalled (or
/// fails there, if `fail`), aborts its task once it is in flight, then releases it.
async fn abort_in_flight(db: &AsyncEmdb, round: usize, fail: bool) -> usize {
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let handle = db.sync_handle();
    let idle_handles = Arc::strong_count(&handle);
    let task = tokio::spawn({
        let db = db.clone();
        async move {
            db.transaction(move |tx| {
                for i in 0..WRITES {
                    tx.insert(key(round, i), "v")?;
                    if i == WRITES / 2 {
                        let _ = started_tx.send(());
                        let _ = go_rx.recv();
                        if fail {
                            return Err(Error::InvalidConfig("failed on purpose"));
                        }
                    }
                }
                Ok(())
            })
            .await
        }
    });
    tokio::task::spawn_blocking(move || started_rx.recv())
        .await
        .unwrap()
        .unwrap();
    task.abort();
    let joined = task.await;
    assert!(
        joined.is_err_and(|e| e.is_cancelled()),
        "the future was dropped in flight"
    );
    // Dropped, but the closure is still running: nothing is visible yet.
    assert_eq!(visible(db, round).await, 0);
    go_tx.send(()).unwrap();
    // Until the blocking task lets go of its clone of the handle, every state seen is
    // whole; after it, the outcome is final.
    let start = std::time::Instant::now();
    while Arc::strong_count(&handle) != idle_handles {
        visible(db, round).await;
        assert!(start.elapsed() < common::HANG, "the transaction never finished");
        tokio::task::yield_now().await;
    }
    visible(db, round).await
}

async fn dropped_transactions_apply_whole_or_not_at_all() {
    let db = AsyncEmdb::open_in_memory();
    for round in 0..10 {
        let fail = round % 3 == 2;
        let n = abort_in_flight(&db, round, fail).await;
        // The closure ran to its end after the drop: its writes were applied whole, or,
        // when it failed, not at all.
        assert_eq!(n, if fail { 0 } else { WRITES }, "round {round}");
    }
    // Dropped before it could even start: still whole or nothing.
    for round in 10..30 {
        let fut = {
            let db = db.clone();
            tokio::spawn(async move {
                db.transaction(move |tx| {
                    for i in 0..WRITES {
                        tx.insert(key(round, i), "v")?;
                    }
                    Ok(())
                })
                .await
            })
        };
        if round % 2 == 0 {
            tokio::task::yield_now().await;
        }
        fut.abort();
        let _ = fut.await;
        visible(&db, round).await;
    }
    let handle = db.sync_handle();
    eventually("dropped transactions finish", || Arc::strong_count(&handle) == 2).await;
    for round in 10..30 {
        visible(&db, round).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_transaction_multi_thread() {
    dropped_transactions_apply_whole_or_not_at_all().await;
}

#[tokio::test]
async fn dropped_transaction_current_thread() {
    dropped_transactions_apply_whole_or_not_at_all().await;
}
