//! Property test: random sequences of appends, batches, syncs, checkpoints, reopens and
//! torn tails, checked after every step against a model of what the log must hold.

mod common;

use std::path::Path;

use common::{all_records, payload};
use emdb_journal::{Journal, JournalOptions, Lsn};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Append(u16),
    Batch(Vec<u16>),
    Sync,
    Checkpoint,
    Reopen(u8),
    /// Cut the file at this fraction (per mille) of the log, as a crash mid-write would.
    Cut(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u16..600).prop_map(Op::Append),
        3 => proptest::collection::vec(0u16..300, 0..12).prop_map(Op::Batch),
        2 => Just(Op::Sync),
        1 => Just(Op::Checkpoint),
        2 => any::<u8>().prop_map(Op::Reopen),
        1 => (0u16..1000).prop_map(Op::Cut),
    ]
}

/// A unit the writer appended in one call: where it starts and ends, the LSN of its last
/// frame, and its records.
#[derive(Clone, Debug)]
struct Unit {
    start: u64,
    end: u64,
    last: Lsn,
    records: Vec<Vec<u8>>,
}

fn options(variant: u8) -> JournalOptions {
    JournalOptions::new()
        .write_buffer([0, 512, 64 << 10][variant as usize % 3])
        .preallocate([0, 4096, 1 << 20][variant as usize / 3 % 3])
        .max_frame_payload(if variant.is_multiple_of(2) {
            1024
        } else {
            emdb_journal::frame::MAX_PAYLOAD
        })
}

fn expected(units: &[Unit]) -> Vec<Vec<u8>> {
    units.iter().flat_map(|u| u.records.clone()).collect()
}

fn check(journal: &Journal, units: &[Unit]) {
    assert_eq!(journal.end().get(), units.last().map_or(0, |u| u.end));
    assert_eq!(all_records(journal).expect("records"), expected(units));
    if let Some(u) = units.last() {
        let frame = journal.read(u.last).expect("read last frame");
        assert_eq!(frame.end().get(), u.end);
    }
}

fn run(ops: &[Op], path: &Path) {
    let mut variant = 1u8;
    let mut journal = Some(options(variant).open(path).expect("open"));
    let mut units: Vec<Unit> = Vec::new();
    let mut counter = 0u64;
    // The end of the last checkpointed frame: the durable floor a cut must not go below.
    let mut floor: Option<u64> = None;
    for op in ops {
        let j = journal.as_ref().expect("open journal");
        match op {
            Op::Append(len) => {
                counter += 1;
                let r = payload(counter, *len as usize);
                let start = j.end().get();
                let lsn = j.append(&r).expect("append");
                assert_eq!(lsn.get(), start);
                units.push(Unit {
                    start,
                    end: j.end().get(),
                    last: lsn,
                    records: vec![r],
                });
            }
            Op::Batch(lens) => {
                let rs: Vec<Vec<u8>> = lens
                    .iter()
                    .map(|&l| {
                        counter += 1;
                        payload(counter, l as usize)
                    })
                    .collect();
                let start = j.end().get();
                let receipt = j.append_batch(&rs).expect("batch");
                assert_eq!(receipt.first().get(), start);
                units.push(Unit {
                    start,
                    end: j.end().get(),
                    last: receipt.last(),
                    records: rs,
                });
            }
            Op::Sync => {
                j.sync().expect("sync");
                assert_eq!(j.durable_lsn(), j.end());
            }
            Op::Checkpoint => {
                if let Some(u) = units.last() {
                    j.checkpoint(u.last, b"model").expect("checkpoint");
                    floor = Some(u.end);
                }
            }
            Op::Reopen(v) => {
                drop(journal.take());
                variant = *v;
                let j = options(variant).open(path).expect("reopen");
                assert_eq!(j.recovery().scan.end.get(), units.last().map_or(0, |u| u.end));
                journal = Some(j);
            }
            Op::Cut(per_mille) => {
                drop(journal.take());
                let end = units.last().map_or(0, |u| u.end);
                let cut = end * u64::from(*per_mille) / 1000;
                let file = std::fs::OpenOptions::new().write(true).open(path).expect("open file");
                file.set_len(cut).expect("cut");
                drop(file);
                units.retain(|u| u.end <= cut);
                if floor.is_some_and(|f| cut < f) {
                    // Below the checkpoint: damage, refused with the file untouched. The
                    // model's operator then removes the sidecar, and the cut reads as a torn
                    // tail again.
                    let refused = options(variant).open(path);
                    assert!(
                        matches!(refused, Err(emdb_journal::Error::Corrupt { .. })),
                        "a cut below the floor must be refused"
                    );
                    assert_eq!(std::fs::metadata(path).expect("stat").len(), cut, "untouched");
                    std::fs::remove_file(common::sibling(path, ".meta")).expect("remove sidecar");
                    floor = None;
                }
                let j = options(variant).open(path).expect("open after cut");
                let survived = units.last().map_or(0, |u| u.end);
                assert_eq!(j.recovery().scan.end.get(), survived, "cut at {cut}");
                assert!(
                    units
                        .iter()
                        .all(|u| u.start < survived || survived == 0 || u.end <= survived)
                );
                journal = Some(j);
            }
        }
        check(journal.as_ref().expect("open journal"), &units);
    }
    drop(journal);
    let reopened = Journal::open(path).expect("final reopen");
    check(&reopened, &units);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_log_matches_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().expect("dir");
        run(&ops, &dir.path().join("model.log"));
    }
}
