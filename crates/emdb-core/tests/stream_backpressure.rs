//! Streams over 100,000 records with a consumer slower than the producer (docs/COMPATIBILITY.md §9): the
//! producer is held back (never more than `MAX_AHEAD` records read and not yet received),
//! range streams keep ascending order, and every record arrives exactly once.
//!
//! How the lead is observed: through `stream_iter` (the pump every `*_stream` method uses),
//! an iterator that counts what the pump takes from it; and on a real range stream, with
//! the cursor's weak consistency: a key removed before the cursor has read it never
//! appears, so a consumer that removes keys far ahead of itself would see them anyway if
//! the producer had run that far ahead.
#![cfg(feature = "async")]

mod common;

use common::aio::filled;
use common::{eventually, index_of, key, value};
use emdb_async::{MAX_AHEAD, stream_iter};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};

const RECORDS: usize = 100_000;

/// A consumer that falls behind: every `every` items it waits until the producer has run
/// as far ahead as it does before it waits for room (the stream's channel more than half
/// full: the pump waits for room for up to half a channel at a time), or has finished.
async fn dawdle<T>(stream: &ReceiverStream<T>, i: usize, every: usize) {
    if i % every == every - 1 {
        let rx = stream.as_ref();
        eventually("the producer runs ahead", || {
            rx.len() > rx.max_capacity() / 2 || rx.is_closed()
        })
        .await;
    } else {
        tokio::task::yield_now().await;
    }
}

async fn producer_is_held_back() {
    let taken = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&taken);
    let source = (0..RECORDS).inspect(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let mut stream = stream_iter(source).unwrap();
    let (mut received, mut max_lead) = (0, 0);
    while let Some(item) = stream.next().await {
        assert_eq!(item, received, "order");
        received += 1;
        let lead = taken.load(Ordering::SeqCst) - received;
        assert!(
            lead <= MAX_AHEAD,
            "producer {lead} items ahead of the consumer (bound {MAX_AHEAD})"
        );
        max_lead = max_lead.max(lead);
        dawdle(&stream, received, 1000).await;
    }
    assert_eq!(received, RECORDS);
    assert_eq!(taken.load(Ordering::SeqCst), RECORDS);
    // The producer did run ahead as far as the channel allows (the consumer waits for it
    // to, every thousand items): the bound was tested.
    assert!(
        max_lead >= 64,
        "max lead {max_lead}: the consumer was never the slower side"
    );
}

#[tokio::test]
async fn producer_is_held_back_current_thread() {
    producer_is_held_back().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_is_held_back_multi_thread() {
    producer_is_held_back().await;
}

/// Removes, ahead of itself, one key in every `EVERY` at distance `AHEAD`. `AHEAD` exceeds
/// what a bounded producer can have read: `MAX_AHEAD` records, plus the cursor's own page
/// of at most 512, plus the few removed keys in between.
const AHEAD: usize = 1024;
const EVERY: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_stream_producer_never_reads_far_ahead() {
    const { assert!(MAX_AHEAD + 512 + AHEAD / EVERY + 1 < AHEAD) };
    let (_dir, _path, db) = filled(RECORDS).await;
    let mut stream = db.range_stream(..).await.unwrap();
    let mut got = Vec::with_capacity(RECORDS);
    while let Some((k, v)) = stream.next().await {
        let i = index_of(&k);
        assert_eq!(v, value(i));
        if i.is_multiple_of(EVERY) && i + AHEAD < RECORDS {
            assert!(db.remove(key(i + AHEAD)).await.unwrap().is_some());
        }
        got.push(i);
        dawdle(&stream, got.len(), 5000).await;
    }
    // (i - AHEAD) % EVERY == 0 means i - AHEAD was received (AHEAD % EVERY != 0, so it was
    // not itself removed): i was removed before the cursor reached it.
    let removed = |i: usize| i >= AHEAD && (i - AHEAD).is_multiple_of(EVERY);
    let expected: Vec<usize> = (0..RECORDS).filter(|&i| !removed(i)).collect();
    let leaked: Vec<usize> = got.iter().copied().filter(|&i| removed(i)).take(5).collect();
    assert!(leaked.is_empty(), "keys read before their removal: {leaked:?}");
    assert_eq!(got, expected, "ascending order, every live key once");
}

#[tokio::test]
async fn iter_stream_gives_every_record_once_to_a_slow_consumer() {
    let (_dir, _path, db) = filled(RECORDS).await;
    let mut stream = db.iter_stream().await.unwrap();
    let mut seen = HashSet::with_capacity(RECORDS);
    while let Some((k, v)) = stream.next().await {
        let i = index_of(&k);
        assert_eq!(v, value(i));
        assert!(seen.insert(i), "record {i} twice");
        dawdle(&stream, seen.len(), 2000).await;
    }
    assert_eq!(seen.len(), RECORDS);

    let mut keys = db.keys_stream().await.unwrap();
    let mut count = 0;
    while let Some(k) = keys.next().await {
        assert!(index_of(&k) < RECORDS);
        count += 1;
        dawdle(&keys, count, 2000).await;
    }
    assert_eq!(count, RECORDS);
}

/// The indexes of the keys a stream gives, in its order.
async fn indexes(stream: emdb_core::Result<impl Stream<Item = (Vec<u8>, Vec<u8>)>>) -> Vec<usize> {
    stream.unwrap().map(|(k, _)| index_of(&k)).collect().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_streams_keep_ascending_order() {
    let (_dir, _path, db) = filled(RECORDS).await;
    let all = indexes(db.range_stream(..).await).await;
    assert_eq!(all, (0..RECORDS).collect::<Vec<_>>());
    let from = indexes(db.iter_from_stream(key(40_000)).await).await;
    assert_eq!(from, (40_000..RECORDS).collect::<Vec<_>>());
    let after = indexes(db.iter_after_stream(key(40_000)).await).await;
    assert_eq!(after, (40_001..RECORDS).collect::<Vec<_>>());
    // "k0001" prefixes the ten thousand keys 10_000..20_000.
    let prefixed = indexes(db.range_prefix_stream("k0001").await).await;
    assert_eq!(prefixed, (10_000..20_000).collect::<Vec<_>>());
    let bounded = indexes(db.range_stream(key(99_990)..=key(RECORDS + 5)).await).await;
    assert_eq!(bounded, (99_990..RECORDS).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_streams_match_the_sync_iterators() {
    let (_dir, _path, db) = filled(0).await;
    let ns = db.namespace("big").await.unwrap();
    for start in (0..RECORDS).step_by(10_000) {
        let batch: Vec<(Vec<u8>, Vec<u8>)> = (start..start + 10_000).map(|i| (key(i), value(i))).collect();
        ns.insert_many(batch).await.unwrap();
    }
    let sync = ns.sync_handle();
    let ranged: Vec<(Vec<u8>, Vec<u8>)> = ns.range_stream(..).await.unwrap().collect().await;
    assert_eq!(ranged, sync.range(..).unwrap());
    assert_eq!(ranged.len(), RECORDS);
    let mut hashed: Vec<(Vec<u8>, Vec<u8>)> = ns.iter_stream().await.unwrap().collect().await;
    hashed.sort();
    assert_eq!(hashed, ranged);
    // The default namespace is empty: the streams are separate.
    assert_eq!(db.iter_stream().await.unwrap().fold(0, |n, _| n + 1).await, 0);
}
