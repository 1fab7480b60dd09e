//! Backpressured streams: a sync iterator read on the blocking pool in bounded *trips*,
//! handed over in chunks to a *pump* task that feeds the stream's bounded channel.
//!
//! A trip is one task on the blocking pool. It reads the iterator a chunk at a time (at
//! most [`CHUNK`] items, fewer once they hold [`CHUNK_BYTES`] of keys and values) and
//! passes each chunk to the pump through a hand-off channel, without ever waiting: if
//! the pump has not taken the previous chunk by the time the next one is read, the
//! consumer is not keeping up, and the trip ends, returning the iterator with its last
//! chunk. (A trip also ends after [`TRIP`], to share the pool; the next starts at once.)
//! The pump, an ordinary async task, sends each chunk item by item into the stream's
//! channel, waiting for room as a parked task, and starts a new trip when one ends.
//!
//! So an idle stream holds no blocking thread, and the records read but not yet received
//! are at most [`MAX_AHEAD`]: the channel, the chunk the pump is sending, one chunk
//! waiting in the hand-off, and the chunk a finished trip returned.
//!
//! Why chunks and trips: waking another thread is the expensive step (on a virtual
//! machine, tens of microseconds), so items cross from the blocking thread in chunks, and
//! while the consumer keeps up one trip carries many chunks: a chunk costs one wake-up of
//! the pump, not the two of a trip of its own. What remains is what any hand-over between
//! threads costs: the keys and values are allocated on the blocking thread and freed on
//! the consumer's, which slows the sync iterator itself down (see the crate docs for the
//! numbers).
//!
//! When the stream is dropped the channel closes: the pump sees it at its next send (at
//! once if it is waiting for room) and ends, which closes the hand-off; the trip notices
//! at its next chunk and ends, dropping the iterator on the blocking thread. When the
//! runtime shuts down, the pump task is dropped with it (a running trip finishes its
//! chunk first), and a consumer still holding the stream sees the records already in the
//! channel, then the end of the stream.

use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::mpsc::{self, Receiver, Sender};
use tokio_stream::wrappers::ReceiverStream;

use crate::blocking::{run_blocking, runtime};
use crate::error::Result;

/// Depth of a stream's channel.
pub(crate) const CHANNEL: usize = 64;
/// Most items read from the iterator per chunk.
pub(crate) const CHUNK: usize = 128;
/// A chunk also ends once its keys and values reach this many bytes, so that large values
/// make small chunks (memory in flight stays near the channel's records plus 3 MiB).
pub(crate) const CHUNK_BYTES: usize = 1 << 20;
/// A trip ends after this long, so that one busy stream leaves room on the blocking pool
/// for other work now and then.
pub(crate) const TRIP: Duration = Duration::from_millis(2);
/// The pump waits until this many slots are free before sending, so it wakes once per
/// half channel rather than once per received item.
const REFILL: usize = CHANNEL / 2;
/// The most items read from the sync iterator and not yet received by the consumer: the
/// channel (64) and three chunks (128 each).
pub const MAX_AHEAD: usize = CHANNEL + 3 * CHUNK;

/// How many bytes an item counts for in a chunk's budget (a chunk ends once its items
/// weigh 1 MiB, so that large items make small chunks).
pub type Weigh<T> = fn(&T) -> usize;

/// The weight of a key-value pair: its key's and value's lengths.
#[must_use]
pub fn pair_weight(item: &(Vec<u8>, Vec<u8>)) -> usize {
    item.0.len() + item.1.len()
}

/// The weight of a key: its length.
#[allow(clippy::ptr_arg, reason = "the signature must be a `Weigh<Vec<u8>>`")]
#[must_use]
pub fn key_weight(item: &Vec<u8>) -> usize {
    item.len()
}

/// What a trip hands to the pump.
enum Handoff<I: Iterator> {
    /// The next chunk; the trip goes on.
    Chunk(Vec<I::Item>),
    /// The trip's last chunk, and the iterator unless it has ended (then it has already
    /// been dropped, on the blocking thread).
    End(Option<I>, Vec<I::Item>),
}

/// Reads the next chunk; `true` once the iterator has ended.
fn read_chunk<I: Iterator>(iter: &mut I, weigh: Weigh<I::Item>) -> (Vec<I::Item>, bool) {
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut bytes = 0;
    while chunk.len() < CHUNK && bytes < CHUNK_BYTES {
        let Some(item) = iter.next() else {
            return (chunk, true);
        };
        bytes += weigh(&item);
        chunk.push(item);
    }
    (chunk, false)
}

/// One trip: reads chunks and hands them over until the iterator ends, the pump falls
/// behind, the trip's time is up, or the pump is gone. Never waits. The hand-off holds
/// two messages and the trip only sends when it is empty, or sends its `End` when one
/// chunk waits, so every send fits. The iterator is dropped here when it ends (or the
/// pump is gone), since dropping an iterator may block too (a storage engine's cursor
/// may release the last handle on a database, which flushes it).
fn trip<I: Iterator>(mut iter: I, out: &Sender<Handoff<I>>, weigh: Weigh<I::Item>) {
    let start = Instant::now();
    loop {
        if out.is_closed() {
            return;
        }
        let (chunk, ended) = read_chunk(&mut iter, weigh);
        if ended {
            drop(iter);
            let _ = out.try_send(Handoff::End(None, chunk));
            return;
        }
        let waiting = out.capacity() < out.max_capacity();
        if waiting || start.elapsed() >= TRIP {
            // If the pump is gone the message, iterator included, is dropped right here.
            let _ = out.try_send(Handoff::End(Some(iter), chunk));
            return;
        }
        if out.try_send(Handoff::Chunk(chunk)).is_err() {
            return;
        }
    }
}

/// Starts a trip on the blocking pool; its chunks arrive on the returned receiver, which
/// ends (`None`) without an `End` only if the trip died (the iterator panicked, or the
/// runtime refused the task while shutting down).
fn start_trip<I>(rt: &Handle, iter: I, weigh: Weigh<I::Item>) -> Receiver<Handoff<I>>
where
    I: Iterator + Send + 'static,
    I::Item: Send + 'static,
{
    let (out, handoff) = mpsc::channel(2);
    // Detached: a trip always ends by itself, soon.
    drop(rt.spawn_blocking(move || trip(iter, &out, weigh)));
    handoff
}

/// Turns any sync iterator into a backpressured stream: the iterator is read on tokio's blocking pool in chunks while the consumer keeps
/// up, at most [`MAX_AHEAD`] items are read ahead of the consumer, dropping the
/// stream stops the iterator (within a chunk) and drops it on the blocking pool, and an
/// idle stream holds no blocking thread. The stream ends at the iterator's first `None`,
/// or when the runtime that made it shuts down.
///
/// Items carry no weight here: chunks are counted in items only (see [`open_stream`]
/// for chunks bounded by bytes too).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// # rt.block_on(async {
/// use tokio_stream::StreamExt;
/// let mut squares = emdb_async::stream_iter((0..1_000u64).map(|i| i * i))?;
/// let mut sum = 0;
/// while let Some(square) = squares.next().await {
///     sum += square;
/// }
/// assert_eq!(sum, 332_833_500);
/// # Ok::<(), emdb_async::Error>(()) })?;
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// [`Error::NoRuntime`](crate::Error::NoRuntime) when called outside a tokio runtime.
pub fn stream_iter<I>(iter: I) -> Result<ReceiverStream<I::Item>>
where
    I: Iterator + Send + 'static,
    I::Item: Send + 'static,
{
    let rt = runtime()?;
    let (tx, rx) = mpsc::channel(CHANNEL);
    // Items carry no byte weight here: chunks are counted in items only.
    drop(rt.spawn(pump(rt.clone(), Some(iter), Vec::new(), |_| 0, tx)));
    Ok(ReceiverStream::new(rx))
}

/// Makes an iterator with `make` on the blocking pool and streams it as [`stream_iter`]
/// does, with chunks also bounded by the weight `weigh` gives their items (1 MiB).
///
/// `make` may fail (say, a range scan on a store without a range index): its error comes
/// back as the inner `Err`, before any stream exists, so the caller reports it from the
/// call that asked for the stream rather than from the stream. The first chunk is read in
/// the same trip to the pool, and an iterator that ends within one channel's worth needs no
/// pump task at all.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// # rt.block_on(async {
/// use tokio_stream::StreamExt;
/// let pairs = || Ok::<_, std::io::Error>((0..3u8).map(|i| (vec![i], vec![i; 10])));
/// let stream = emdb_async::open_stream(pairs, emdb_async::pair_weight).await??;
/// assert_eq!(stream.collect::<Vec<_>>().await.len(), 3);
///
/// let refused = || Err::<std::ops::Range<u8>, _>("no range index");
/// assert!(matches!(emdb_async::open_stream(refused, |_| 1).await?, Err("no range index")));
/// # Ok::<(), Box<dyn std::error::Error>>(()) })?;
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// The outer `Err` when the call could not run on the blocking pool
/// ([`Error::NoRuntime`](crate::Error::NoRuntime), [`Error::Join`](crate::Error::Join));
/// the inner `Err` is `make`'s.
pub async fn open_stream<F, I, E>(
    make: F,
    weigh: Weigh<I::Item>,
) -> Result<std::result::Result<ReceiverStream<I::Item>, E>>
where
    F: FnOnce() -> std::result::Result<I, E> + Send + 'static,
    I: Iterator + Send + 'static,
    I::Item: Send + 'static,
    E: Send + 'static,
{
    let opened = run_blocking(move || {
        let mut iter = make()?;
        let (first, ended) = read_chunk(&mut iter, weigh);
        // An ended iterator is dropped here, on the blocking pool.
        Ok((first, ended, (!ended).then_some(iter)))
    })
    .await?;
    let (first, ended, iter) = match opened {
        Ok(opened) => opened,
        Err(e) => return Ok(Err(e)),
    };
    let (tx, rx) = mpsc::channel(CHANNEL);
    if ended && first.len() <= CHANNEL {
        // Everything fits the empty channel: no pump needed.
        for item in first {
            // Cannot fail: the receiver is alive and there is room for all.
            let _ = tx.try_send(item);
        }
    } else {
        let rt = runtime()?;
        // Detached: the pump ends by itself (iterator done, stream dropped, or runtime
        // shut down).
        drop(rt.spawn(pump(rt.clone(), iter, first, weigh, tx)));
    }
    Ok(Ok(ReceiverStream::new(rx)))
}

/// Sends `first`, then every chunk of every trip, starting a trip whenever the previous
/// one ended with the iterator; until the iterator has ended, the stream is dropped, or a
/// trip died.
async fn pump<I>(rt: Handle, mut iter: Option<I>, mut pending: Vec<I::Item>, weigh: Weigh<I::Item>, tx: Sender<I::Item>)
where
    I: Iterator + Send + 'static,
    I::Item: Send + 'static,
{
    loop {
        // The next trip reads while `pending` is sent.
        let handoff = iter.take().map(|iter| start_trip(&rt, iter, weigh));
        if send_all(&tx, pending).await.is_err() {
            // The stream is gone: stop the trip.
            if let Some(handoff) = handoff {
                release(&rt, handoff);
            }
            return;
        }
        let Some(mut handoff) = handoff else { return };
        loop {
            match handoff.recv().await {
                Some(Handoff::Chunk(chunk)) => {
                    if send_all(&tx, chunk).await.is_err() {
                        release(&rt, handoff);
                        return;
                    }
                }
                Some(Handoff::End(rest, last)) => {
                    (iter, pending) = (rest, last);
                    break;
                }
                None => return,
            }
        }
    }
}

/// Lets go of a trip whose stream is gone. Closing the hand-off makes the trip's next
/// send fail, so it drops the iterator itself, on the blocking pool; an iterator the trip
/// already handed over (an `End` queued behind the chunk being sent) goes back to the
/// blocking pool to be dropped there, not here on a runtime worker: dropping an
/// iterator may block (a storage cursor may release the last handle on a database).
fn release<I>(rt: &Handle, mut handoff: Receiver<Handoff<I>>)
where
    I: Iterator + Send + 'static,
{
    handoff.close();
    while let Ok(message) = handoff.try_recv() {
        if let Handoff::End(Some(iter), _) = message {
            drop(rt.spawn_blocking(move || drop(iter)));
        }
    }
}

/// Sends `items` in order, waiting (asynchronously) for room; `Err` once the receiver is
/// gone.
async fn send_all<T>(tx: &Sender<T>, items: Vec<T>) -> std::result::Result<(), mpsc::error::SendError<()>> {
    let mut items = items.into_iter();
    while items.len() > 0 {
        let permits = tx.reserve_many(items.len().min(REFILL)).await?;
        for (permit, item) in permits.zip(items.by_ref()) {
            permit.send(item);
        }
    }
    Ok(())
}
