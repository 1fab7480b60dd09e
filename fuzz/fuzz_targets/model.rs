//! The model test as a fuzz target: arbitrary bytes decoded into a program over the whole
//! API (`crates/emdb-core/tests/model/program.rs`, shared with the proptest
//! `crates/emdb-core/tests/model.rs`), run against a real database and a `BTreeMap` per
//! namespace. Any difference between the two, and any panic of the engine, is a crash.
#![no_main]

#[path = "../../crates/emdb-core/tests/model/program.rs"]
mod program;

use libfuzzer_sys::fuzz_target;

/// Longer programs find little more and run slower: every op may reopen the database.
const MAX_OPS: usize = 200;

fuzz_target!(|bytes: &[u8]| {
    let (setup, ops) = program::decode(bytes, MAX_OPS);
    program::run(setup, &ops);
});
