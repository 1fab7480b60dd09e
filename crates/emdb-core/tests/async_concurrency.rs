//! Many tasks writing and reading one database at once, on a multi-thread runtime and on
//! a current-thread one: no write is lost, readers see only values that were
//! written, batches appear whole, and streams run beside the writers.
#![cfg(feature = "async")]

mod common;

use std::collections::HashSet;

use common::aio::open_ranged;
use common::{temp_path, writer_key as key, writer_value as value};
use emdb_core::AsyncEmdb;
use tokio::task::JoinSet;
use tokio_stream::StreamExt;

const WRITERS: usize = 8;
const KEYS: usize = 200;
const ROUNDS: usize = 3;
const BATCH: usize = 20;

/// Every value a writer may ever have written under `key`.
fn plausible(key: &[u8], value: &[u8]) -> bool {
    let (Ok(key), Ok(value)) = (std::str::from_utf8(key), std::str::from_utf8(value)) else {
        return false;
    };
    let Some((w, k)) = key.strip_prefix('w').and_then(|rest| rest.split_once('/')) else {
        return key.starts_with("batch/") && value == "b";
    };
    let mut parts = value.split(':');
    parts.next() == Some(w) && parts.next().map(|k2| k2.parse::<usize>().ok()) == Some(k.parse().ok())
}

async fn writers_and_readers() {
    let (_dir, path) = temp_path("concurrent.emdb");
    let db = open_ranged(&path).await;
    let mut tasks = JoinSet::new();
    for w in 0..WRITERS {
        let db = db.clone();
        tasks.spawn(async move {
            for round in 0..ROUNDS {
                for k in 0..KEYS {
                    if w % 2 == 0 {
                        db.insert(key(w, k), value(w, k, round)).await.unwrap();
                    } else {
                        db.transaction(move |tx| tx.insert(key(w, k), value(w, k, round)))
                            .await
                            .unwrap();
                    }
                    // Read-your-writes through the async path.
                    assert_eq!(db.get(key(w, k)).await.unwrap(), Some(value(w, k, round).into_bytes()));
                }
            }
        });
    }
    // Batches of BATCH keys, which readers must see whole or not at all.
    let batcher = {
        let db = db.clone();
        tokio::spawn(async move {
            for b in 0..50 {
                let items: Vec<(String, &str)> = (0..BATCH).map(|i| (format!("batch/{b:02}/{i:02}"), "b")).collect();
                db.insert_many(items).await.unwrap();
            }
        })
    };
    for r in 0..4 {
        let db = db.clone();
        tasks.spawn(async move {
            for _ in 0..20 {
                for (k, v) in db.iter().await.unwrap() {
                    assert!(plausible(&k, &v), "reader {r} saw {k:?} = {v:?}");
                }
                // A range stream beside the writers: ascending, each key once (a cursor
                // is weakly consistent, so a batch landing mid-scan may be seen in part).
                let prefix: Vec<Vec<u8>> = db
                    .range_prefix_stream("batch/")
                    .await
                    .unwrap()
                    .map(|(k, _)| k)
                    .collect()
                    .await;
                assert!(prefix.windows(2).all(|w| w[0] < w[1]), "range stream out of order");
                // A snapshot (`iter`) never sees a batch in part.
                let snapshot = db.iter().await.unwrap();
                let mut whole = std::collections::HashMap::<Vec<u8>, usize>::new();
                for (k, _) in snapshot.iter().filter(|(k, _)| k.starts_with(b"batch/")) {
                    *whole.entry(k[..8].to_vec()).or_default() += 1;
                }
                assert!(whole.values().all(|&n| n == BATCH), "a batch seen in part: {whole:?}");
                tokio::task::yield_now().await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    batcher.await.unwrap();

    // Nothing lost: every writer's last round, every batch.
    assert_eq!(db.len().await.unwrap(), WRITERS * KEYS + 50 * BATCH);
    for w in 0..WRITERS {
        for k in 0..KEYS {
            assert_eq!(
                db.get(key(w, k)).await.unwrap(),
                Some(value(w, k, ROUNDS - 1).into_bytes())
            );
        }
    }
    let keys: HashSet<Vec<u8>> = db.keys_stream().await.unwrap().collect().await;
    assert_eq!(keys.len(), WRITERS * KEYS + 50 * BATCH);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_and_readers_multi_thread() {
    writers_and_readers().await;
}

#[tokio::test]
async fn writers_and_readers_current_thread() {
    writers_and_readers().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_removes_of_one_key_have_one_winner() {
    let db = AsyncEmdb::open_in_memory();
    for round in 0..50 {
        db.insert("contested", format!("{round}")).await.unwrap();
        let mut racers = JoinSet::new();
        for _ in 0..4 {
            let db = db.clone();
            racers.spawn(async move { db.remove("contested").await.unwrap() });
        }
        let mut winners = 0;
        while let Some(got) = racers.join_next().await {
            if let Some(v) = got.unwrap() {
                assert_eq!(v, format!("{round}").into_bytes());
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "round {round}");
    }
}
