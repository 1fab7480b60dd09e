//! Many threads appending (and reading) at once: every frame lands whole, in LSN order,
//! and each thread's own frames keep their order.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::{all_records, payload, temp_log};
use emdb_journal::{Journal, JournalOptions, Lsn};

const THREADS: u64 = 4;
const PER_THREAD: u64 = 2_000;

fn tagged(thread: u64, i: u64) -> Vec<u8> {
    let mut p = format!("t{thread}:{i}:").into_bytes();
    p.extend_from_slice(&payload(thread * 1_000_000 + i, (i % 97) as usize));
    p
}

fn run(journal: Arc<Journal>) -> Vec<Vec<(u64, Lsn)>> {
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let journal = Arc::clone(&journal);
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                for i in 0..PER_THREAD {
                    let lsn = if i % 10 == 9 {
                        let batch = [tagged(t, i), tagged(t, i + 1_000_000)];
                        journal.append_batch(&batch).expect("batch").first()
                    } else {
                        journal.append(&tagged(t, i)).expect("append")
                    };
                    // Read-your-writes from this thread, while the others keep appending.
                    assert_eq!(journal.read(lsn).expect("read").lsn(), lsn);
                    mine.push((i, lsn));
                }
                mine
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().expect("thread")).collect()
}

fn check(journal: &Journal, per_thread: &[Vec<(u64, Lsn)>]) {
    let mut by_lsn: HashMap<Lsn, (u64, u64)> = HashMap::new();
    for (t, mine) in per_thread.iter().enumerate() {
        for pair in mine.windows(2) {
            assert!(pair[0].1 < pair[1].1, "a thread's frames keep its order");
        }
        for &(i, lsn) in mine {
            assert!(by_lsn.insert(lsn, (t as u64, i)).is_none(), "LSNs are unique");
        }
    }
    let snapshot = journal.snapshot().expect("snapshot");
    let mut frames = 0;
    let mut last = None;
    for frame in snapshot.frames(Lsn::ZERO) {
        let frame = frame.expect("every frame validates");
        assert!(last < Some(frame.lsn()), "frames are in LSN order");
        last = Some(frame.lsn());
        let (t, i) = by_lsn[&frame.lsn()];
        let records: Vec<_> = frame.records().map(|r| r.bytes.to_vec()).collect();
        if i % 10 == 9 {
            assert_eq!(records, vec![tagged(t, i), tagged(t, i + 1_000_000)]);
        } else {
            assert_eq!(records, vec![tagged(t, i)]);
        }
        frames += 1;
    }
    assert_eq!(frames, THREADS * PER_THREAD);
    assert_eq!(snapshot.end(), journal.end());
}

#[test]
fn four_threads_appending_with_a_write_buffer() {
    let (_dir, path) = temp_log();
    let journal = Arc::new(Journal::open(&path).expect("open"));
    let per_thread = run(Arc::clone(&journal));
    check(&journal, &per_thread);
    let before = all_records(&journal).expect("records");
    drop(journal);
    let reopened = Journal::open(&path).expect("reopen");
    check(&reopened, &per_thread);
    assert_eq!(all_records(&reopened).expect("records"), before);
}

#[test]
fn four_threads_appending_unbuffered() {
    let (_dir, path) = temp_log();
    let journal = Arc::new(JournalOptions::new().write_buffer(0).open(&path).expect("open"));
    let per_thread = run(Arc::clone(&journal));
    check(&journal, &per_thread);
}
