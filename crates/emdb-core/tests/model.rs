//! The model test of the whole API (docs/DURABILITY.md, "The model test"): random programs
//! of writes, transactions, namespaces, TTL records under a test clock, flushes,
//! checkpoints, compactions, backups, reopens and crashes, run against a database and a
//! `BTreeMap` per namespace (the programs and the judge are in `model/program.rs`, with a
//! decoder from arbitrary bytes for the cargo-fuzz target `fuzz/fuzz_targets/model.rs`).
//!
//! 256 programs of 50 to 200 ops by default; `EMDB_MODEL_CASES` (or `PROPTEST_CASES`) asks
//! for more. A failure is shrunk and kept in `model.proptest-regressions`.
#![cfg(all(feature = "ttl", feature = "test-clock"))]

#[path = "model/program.rs"]
mod program;

use proptest::collection::vec;
use proptest::prelude::*;

use program::{KEYS, Op, STEP_MS, Setup, TtlPick, TxOp};

/// Programs per run: `EMDB_MODEL_CASES`, else `PROPTEST_CASES`, else 256.
fn cases() -> u32 {
    ["EMDB_MODEL_CASES", "PROPTEST_CASES"]
        .iter()
        .find_map(|name| std::env::var(name).ok()?.parse().ok())
        .unwrap_or(256)
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        any::<bool>(),
        prop_oneof![4 => Just(None), 1 => (2u32..80).prop_map(|n| Some(n * STEP_MS))],
    )
        .prop_map(|(range_scans, default_ttl_ms)| Setup {
            range_scans,
            default_ttl_ms,
        })
}

/// A value length: mostly short, sometimes a few KiB, now and then larger than the
/// journal's 64 KiB write buffer (which such a write passes straight to the file).
fn len() -> impl Strategy<Value = u32> {
    prop_oneof![
        3 => Just(0u32),
        60 => 1u32..24,
        8 => 100u32..3_000,
        1 => 20_000u32..70_000,
    ]
}

fn ttl() -> impl Strategy<Value = TtlPick> {
    prop_oneof![
        1 => Just(TtlPick::Never),
        1 => Just(TtlPick::Default),
        1 => Just(TtlPick::AfterMs(0)),
        5 => (1u32..50).prop_map(|n| TtlPick::AfterMs(n * STEP_MS)),
    ]
}

/// A transaction's step: on a few keys, so that its reads meet its own writes.
fn tx_op() -> impl Strategy<Value = TxOp> {
    let key = 0..KEYS / 3;
    prop_oneof![
        4 => (key.clone(), len()).prop_map(|(key, len)| TxOp::Insert { key, len }),
        2 => (key.clone(), len(), ttl()).prop_map(|(key, len, ttl)| TxOp::InsertTtl { key, len, ttl }),
        2 => key.clone().prop_map(|key| TxOp::Remove { key }),
        2 => key.prop_map(|key| TxOp::Get { key }),
        1 => (0u32..30).prop_map(|n| TxOp::Advance { ms: n * STEP_MS }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let ns = 0u8..4;
    let key = 0..KEYS;
    prop_oneof![
        20 => (ns.clone(), key.clone(), len()).prop_map(|(ns, key, len)| Op::Insert { ns, key, len }),
        10 => (ns.clone(), key.clone(), len(), ttl())
            .prop_map(|(ns, key, len, ttl)| Op::InsertTtl { ns, key, len, ttl }),
        4 => (ns.clone(), vec((key.clone(), len()), 0..6)).prop_map(|(ns, items)| Op::InsertMany { ns, items }),
        8 => (ns.clone(), key.clone()).prop_map(|(ns, key)| Op::Remove { ns, key }),
        3 => (ns.clone(), key.clone()).prop_map(|(ns, key)| Op::Persist { ns, key }),
        2 => ns.clone().prop_map(|ns| Op::Sweep { ns }),
        1 => ns.clone().prop_map(|ns| Op::Clear { ns }),
        5 => (vec(tx_op(), 0..6), prop::bool::weighted(0.75))
            .prop_map(|(ops, commit)| Op::Transaction { ops, commit }),
        2 => ns.clone().prop_map(|ns| Op::CreateNamespace { ns }),
        1 => ns.clone().prop_map(|ns| Op::DropNamespace { ns }),
        1 => Just(Op::UseDroppedHandle),
        5 => (0u32..30).prop_map(|n| Op::Advance { ms: n * STEP_MS }),
        2 => Just(Op::Flush),
        1 => Just(Op::Checkpoint),
        1 => Just(Op::Compact),
        1 => Just(Op::Backup),
        2 => any::<bool>().prop_map(|range_scans| Op::Reopen { range_scans }),
        3 => any::<bool>().prop_map(|range_scans| Op::Crash { range_scans }),
        2 => Just(Op::Check),
        3 => (ns, key.clone(), key).prop_map(|(ns, lo, hi)| Op::Range { ns, lo, hi }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Every answer of every program equals the model's; after a reopen the database is
    /// the model, after a crash the model as of a moment since the last flush.
    #[test]
    fn the_database_matches_the_model(setup in setup(), ops in vec(op(), 50..200)) {
        program::run(setup, &ops);
    }
}

/// The decoder from bytes (for a fuzz target) turns any bytes into a program that runs: a
/// few fixed inputs, so that it is exercised in every test run.
#[test]
fn decoded_programs_run() {
    let inputs: [&[u8]; 4] = [
        b"",
        &[0xff; 64],
        b"\x03\x10\x00\x01\x02\x03\x1d\x80\x01\x05\x06\x07\x1c\x00\x1e",
        &(0u8..=255).collect::<Vec<u8>>(),
    ];
    for bytes in inputs {
        let (setup, ops) = program::decode(bytes, 256);
        program::run(setup, &ops);
    }
}
