//! Concurrent syncers share device syncs: fewer syncs than callers, and every caller's
//! frame is durable when its sync returns.

mod common;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{payload, temp_log};
use emdb_journal::{Journal, JournalOptions, SyncPolicy};

/// How long a test waits for something that must happen before it calls it a hang.
const HANG: Duration = Duration::from_secs(30);

fn hammer(journal: &Arc<Journal>, threads: usize, per_thread: usize) {
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let journal = Arc::clone(journal);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                for i in 0..per_thread {
                    let lsn = journal
                        .append(&payload((t * per_thread + i) as u64, 100))
                        .expect("append");
                    journal.sync_to(lsn).expect("sync");
                    assert!(journal.durable_lsn() > lsn, "durable when sync_to returns");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
}

/// Eight threads append and sync, each sync durable on return; they share device syncs.
/// Whether two syncs overlap is the scheduler's business, so rounds run until one has
/// fewer device syncs than sync calls: were every call its own device sync, none would,
/// and the test would fail after [`HANG`].
#[test]
fn concurrent_syncers_share_syncs() {
    for policy in [SyncPolicy::OnSync, SyncPolicy::Grouped] {
        let start = Instant::now();
        for round in 1.. {
            let (_dir, path) = temp_log();
            let journal = Arc::new(JournalOptions::new().sync_policy(policy).open(&path).expect("open"));
            let (threads, per_thread) = (8, 60);
            hammer(&journal, threads, per_thread);
            let stats = journal.stats().expect("stats");
            let calls = (threads * per_thread) as u64;
            assert_eq!(stats.durable, stats.end);
            if stats.syncs < calls {
                eprintln!(
                    "{policy:?}, round {round}: {calls} sync calls, {} device syncs",
                    stats.syncs
                );
                break;
            }
            assert!(
                start.elapsed() < HANG,
                "{policy:?}: {round} rounds of {calls} sync calls, never fewer device syncs: no grouping"
            );
        }
    }
}

/// Syncers that meet share one device sync, whatever the interleaving: eight threads
/// each append a frame, wait for each other, then sync through it. The first to sync
/// covers every frame (all were appended before anyone synced), and the others either
/// wait for it or find their frame durable already, so each round costs one device sync.
#[test]
fn syncers_that_meet_share_one_device_sync() {
    for policy in [SyncPolicy::OnSync, SyncPolicy::Grouped] {
        let (_dir, path) = temp_log();
        let journal = Arc::new(JournalOptions::new().sync_policy(policy).open(&path).expect("open"));
        let threads = 8;
        let appended = Arc::new(Barrier::new(threads));
        for round in 0..20u64 {
            let before = journal.stats().expect("stats").syncs;
            let handles: Vec<_> = (0..threads as u64)
                .map(|t| {
                    let (journal, appended) = (Arc::clone(&journal), Arc::clone(&appended));
                    std::thread::spawn(move || {
                        let lsn = journal.append(&payload(round * 100 + t, 100)).expect("append");
                        appended.wait();
                        journal.sync_to(lsn).expect("sync");
                        assert!(journal.durable_lsn() > lsn, "durable when sync_to returns");
                    })
                })
                .collect();
            for h in handles {
                h.join().expect("thread");
            }
            let syncs = journal.stats().expect("stats").syncs - before;
            assert_eq!(
                syncs, 1,
                "{policy:?}, round {round}: {threads} syncers met, {syncs} device syncs"
            );
        }
    }
}

#[test]
fn a_lone_syncer_syncs_once_per_call_and_a_repeat_is_free() {
    let (_dir, path) = temp_log();
    let journal = Journal::open(&path).expect("open");
    for i in 0..20 {
        journal.append(&payload(i, 50)).expect("append");
        journal.sync().expect("sync");
    }
    assert_eq!(journal.stats().expect("stats").syncs, 20);
    journal.sync().expect("sync");
    journal.sync().expect("sync");
    assert_eq!(journal.stats().expect("stats").syncs, 20, "nothing new: no device sync");
}

#[test]
fn sync_covers_appends_from_every_thread() {
    let (_dir, path) = temp_log();
    let journal = Arc::new(Journal::open(&path).expect("open"));
    let handles: Vec<_> = (0..4u64)
        .map(|t| {
            let journal = Arc::clone(&journal);
            std::thread::spawn(move || {
                for i in 0..500 {
                    journal.append(&payload(t * 1000 + i, 30)).expect("append");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    let end = journal.end();
    journal.sync().expect("sync");
    assert!(journal.durable_lsn() >= end);
}
