//! Streams over plain iterators: every item once and in order, at most `MAX_AHEAD` items
//! read ahead of a slow consumer, dropping the stream stops and drops the iterator,
//! `open_stream` returns the maker's error before any stream exists, and a panicking
//! iterator ends its stream instead of hanging it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use emdb_async::{MAX_AHEAD, open_stream, pair_weight, stream_iter};
use tokio_stream::StreamExt;

/// How long a test waits for something that must happen before it calls it a hang (not a
/// timing assertion: it happens in milliseconds unless the code is broken).
const HANG: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_holds_the_producer_back() {
    const ITEMS: usize = 20_000;
    let taken = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&taken);
    let source = (0..ITEMS).inspect(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let mut stream = stream_iter(source).unwrap();
    let mut received = 0;
    while let Some(item) = stream.next().await {
        assert_eq!(item, received, "order");
        received += 1;
        let lead = taken.load(Ordering::SeqCst) - received;
        assert!(lead <= MAX_AHEAD, "producer {lead} items ahead (bound {MAX_AHEAD})");
        if received % 1_000 == 0 {
            // Give the producer every chance to run ahead.
            tokio::task::yield_now().await;
        }
    }
    assert_eq!(received, ITEMS);
}

/// An endless iterator that counts what is taken and says when it is dropped.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_stream_stops_and_drops_the_iterator() {
    let (taken, dropped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
    let mut stream = stream_iter(Endless {
        taken: Arc::clone(&taken),
        dropped: Arc::clone(&dropped),
    })
    .unwrap();
    for expected in 0..100 {
        assert_eq!(stream.next().await, Some(expected));
    }
    drop(stream);
    let start = Instant::now();
    while !dropped.load(Ordering::SeqCst) {
        assert!(start.elapsed() < HANG, "the iterator was never dropped");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let after = taken.load(Ordering::SeqCst);
    assert!(after <= 100 + MAX_AHEAD, "{after} items read for 100 received");
}

#[tokio::test]
async fn the_makers_error_comes_back_before_any_stream() {
    let refused = open_stream(
        || Err::<std::iter::Empty<(Vec<u8>, Vec<u8>)>, _>("refused"),
        pair_weight,
    )
    .await;
    assert!(matches!(refused, Ok(Err("refused"))));
    let pairs = || Ok::<_, ()>((0..1_000u32).map(|i| (i.to_be_bytes().to_vec(), vec![0; 4096])));
    let stream = open_stream(pairs, pair_weight).await.unwrap().unwrap();
    let keys: Vec<Vec<u8>> = stream.map(|(k, _)| k).collect().await;
    assert_eq!(
        keys,
        (0..1_000u32).map(|i| i.to_be_bytes().to_vec()).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_iterator_ends_its_stream() {
    let source = (0..10_000).map(|i| {
        if i == 5_000 {
            panic!("the iterator panics on purpose")
        } else {
            i
        }
    });
    let stream = stream_iter(source).unwrap();
    let got = tokio::time::timeout(HANG, stream.collect::<Vec<_>>())
        .await
        .expect("the stream hung");
    // Everything before the panic that was handed over arrives in order; nothing after it.
    assert!(got.len() <= 5_000);
    assert!(got.iter().copied().eq(0..got.len()));
}
