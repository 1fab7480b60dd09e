//! Crash test: a child process appends and syncs in a loop and prints each frame it has
//! synced; the parent kills it (SIGKILL) at a random instant, reopens the log, and checks
//! that every printed frame is there and intact, that batches are whole, and that the
//! journal goes on. 50 rounds by default; `EMDB_CRASH_ROUNDS` asks for more.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::payload;
use emdb_journal::{Journal, JournalOptions, Lsn, SyncPolicy};

const CHILD_ENV: &str = "EMDB_JOURNAL_CRASH_CHILD";

/// What thread `t` writes as its `seq`-th record (`part` numbers batch records).
fn record(t: u64, seq: u64, part: u64) -> Vec<u8> {
    let mut r = format!("{t}:{seq}:{part}:").into_bytes();
    r.extend_from_slice(&payload(
        t << 40 | seq << 8 | part,
        ((seq * 31 + part * 7) % 400) as usize,
    ));
    r
}

/// Options varied by round, so that every combination gets killed.
fn options(seed: u64) -> JournalOptions {
    let policy = match seed % 3 {
        0 => SyncPolicy::OnSync,
        1 => SyncPolicy::Grouped,
        _ => SyncPolicy::WriteThrough,
    };
    JournalOptions::new()
        .sync_policy(policy)
        .write_buffer(if seed.is_multiple_of(4) { 0 } else { 64 << 10 })
        .preallocate(if seed.is_multiple_of(5) { 0 } else { 1 << 20 })
        .max_frame_payload(if seed.is_multiple_of(7) {
            2048
        } else {
            emdb_journal::frame::MAX_PAYLOAD
        })
}

/// The child: two threads append (plain frames and batches) and sync, printing
/// `<lsn> <thread> <seq> <records>` for each frame once a sync covering it returned.
fn child(path: &str, seed: u64) {
    let journal = std::sync::Arc::new(options(seed).open(path).expect("child open"));
    let start = journal.recovery().scan.records;
    let threads: Vec<_> = (0..2u64)
        .map(|t| {
            let journal = std::sync::Arc::clone(&journal);
            std::thread::spawn(move || {
                let mut pending = Vec::new();
                for seq in start.. {
                    let n = if seq % 5 == 4 { 1 + seq % 9 } else { 0 };
                    let lsn = if n == 0 {
                        journal.append(&record(t, seq, 0)).expect("append")
                    } else {
                        let rs: Vec<Vec<u8>> = (0..n).map(|p| record(t, seq, p)).collect();
                        journal.append_batch(&rs).expect("batch").first()
                    };
                    pending.push((lsn, seq, n));
                    if seq % 3 == 0 {
                        journal.sync().expect("sync");
                        let mut out = std::io::stdout().lock();
                        for (lsn, seq, n) in pending.drain(..) {
                            use std::io::Write;
                            writeln!(out, "{} {t} {seq} {n}", lsn.get()).expect("print");
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

/// Entry point of the child process; does nothing when run as an ordinary test.
#[test]
fn child_process_entry() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (seed, path) = spec.split_once(':').expect("seed:path");
    child(path, seed.parse().expect("seed"));
}

struct Synced {
    lsn: Lsn,
    thread: u64,
    seq: u64,
    records: u64,
}

fn parse(line: &str) -> Option<Synced> {
    let mut it = line.split_whitespace().map(str::parse::<u64>);
    Some(Synced {
        lsn: Lsn::new(it.next()?.ok()?),
        thread: it.next()?.ok()?,
        seq: it.next()?.ok()?,
        records: it.next()?.ok()?,
    })
}

/// One round; returns how many synced frames it checked.
fn one_round(round: u64, seed: u64) -> usize {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("crash.log");
    // A few rounds start from a log an earlier child left, so recovery of recovered logs
    // is exercised too.
    let lives = 1 + seed % 2;
    let mut synced = Vec::new();
    for life in 0..lives {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", "child_process_entry", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, format!("{}:{}", seed + life, path.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let out = child.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || BufReader::new(out).lines().map_while(Result::ok).collect::<Vec<_>>());
        let delay = Duration::from_millis(15 + (seed * 7919 + life * 104_729) % 120);
        let started = Instant::now();
        while started.elapsed() < delay {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("round {round}: child exited early with {status}");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill().expect("kill");
        child.wait().expect("wait");
        synced.extend(reader.join().expect("reader").iter().filter_map(|l| parse(l)));
    }

    let journal = Journal::open(&path).unwrap_or_else(|e| panic!("round {round} (seed {seed}): reopen failed: {e}"));
    for s in &synced {
        // A batch may span several frames (small frame limits): follow them to its end.
        let mut records: Vec<Vec<u8>> = Vec::new();
        let mut at = s.lsn;
        while records.len() < s.records.max(1) as usize {
            let frame = journal
                .read(at)
                .unwrap_or_else(|e| panic!("round {round}: synced frame at {at} (batch at {}) lost: {e}", s.lsn));
            records.extend(frame.records().map(|r| r.bytes.to_vec()));
            at = frame.end();
        }
        let expected: Vec<Vec<u8>> = if s.records == 0 {
            vec![record(s.thread, s.seq, 0)]
        } else {
            (0..s.records).map(|p| record(s.thread, s.seq, p)).collect()
        };
        assert_eq!(records, expected, "round {round}: frame at {} differs", s.lsn);
    }
    // Every frame in the log is whole; no batch is partial (each batch frame holds exactly
    // the records its writer put in it).
    let snapshot = journal.snapshot().expect("snapshot");
    for r in snapshot.records(Lsn::ZERO) {
        let r = r.unwrap_or_else(|e| panic!("round {round}: damaged record after recovery: {e}"));
        assert!(r.bytes.contains(&b':'), "round {round}: foreign record");
    }
    // The journal goes on after recovery.
    let lsn = journal.append(b"after the crash").expect("append");
    journal.sync().expect("sync");
    drop(journal);
    let reopened = Journal::open(&path).expect("reopen");
    assert_eq!(reopened.read(lsn).expect("read").payload(), b"after the crash");
    synced.len()
}

#[test]
fn synced_frames_survive_sigkill() {
    let rounds = std::env::var("EMDB_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50u64);
    let base = std::env::var("EMDB_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_u64);
    let mut checked = 0;
    for (round, seed) in (0..rounds).zip(common::round_seeds(base)) {
        checked += one_round(round, seed);
    }
    // The children must have had time to sync: a test that checks nothing proves nothing.
    assert!(
        checked as u64 >= rounds,
        "only {checked} synced frames checked in {rounds} rounds"
    );
    eprintln!("{rounds} rounds, {checked} synced frames checked after SIGKILL");
}
