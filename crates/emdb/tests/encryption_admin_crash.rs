//! SIGKILL at random instants of each encryption admin operation (enable, rotate,
//! disable): afterwards exactly one of the old and the new database opens, with every
//! record, and no scratch file is left. `EMDB_ADMIN_CRASH_ROUNDS` rounds per operation,
//! 8 by default. Its own test binary: no other test shares the process whose children
//! are killed.
#![cfg(feature = "encrypt")]

mod common;

use std::io::BufReader;
use std::path::Path;
use std::time::Duration;

use common::admin::{Access, NEW, OLD, leftovers, make, verify};
use common::{spawn_self, temp_path, wait_for_marker};
use emdb::{Emdb, EncryptionInput};

const CHILD_ENV: &str = "EMDB_ADMIN_CRASH_CHILD";

/// The admin operations the crash test interrupts: (name, access before, access after).
fn operations() -> [(&'static str, Access, Access); 3] {
    [
        ("enable", Access::Plain, Access::key(NEW)),
        ("rotate", Access::key(OLD), Access::key(NEW)),
        ("disable", Access::key(OLD), Access::Plain),
    ]
}

fn run_operation(name: &str, path: &Path) -> emdb::Result<()> {
    match name {
        "enable" => Emdb::enable_encryption(path, EncryptionInput::Key(NEW)),
        "rotate" => Emdb::rotate_encryption_key(path, EncryptionInput::Key(OLD), EncryptionInput::Key(NEW)),
        "disable" => Emdb::disable_encryption(path, EncryptionInput::Key(OLD)),
        other => panic!("unknown operation {other}"),
    }
}

/// The child: runs one admin operation (named in the environment, with the path) and
/// reports when it starts and ends.
#[test]
fn admin_crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let (name, path) = spec.split_once(' ').expect("operation and path");
    println!("@start .");
    run_operation(name, Path::new(path)).expect("admin operation");
    println!("@done .");
}

#[test]
fn a_kill_at_any_instant_of_an_admin_run_leaves_exactly_one_openable_database() -> emdb::Result<()> {
    let rounds: u64 = std::env::var("EMDB_ADMIN_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let mut rng = fastrand::Rng::with_seed(0xAD41_0000 ^ rounds);
    for (name, before, after) in operations() {
        // How long an uninterrupted run takes in a child, so kills spread over all of it.
        let (_dir, path) = temp_path("timed.emdb");
        make(&path, &before)?;
        let mut child = spawn_self(
            "admin_crash_child",
            CHILD_ENV,
            &format!("{name} {}", path.display()),
            false,
        );
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        wait_for_marker(&mut out, "@start");
        let started = std::time::Instant::now();
        wait_for_marker(&mut out, "@done");
        let span = started.elapsed().as_micros() as u64 + 1_000;
        let _ = child.wait();
        let (mut old_seen, mut new_seen) = (0, 0);
        for round in 0..rounds {
            let (_dir, path) = temp_path("crash.emdb");
            make(&path, &before)?;
            let spec = format!("{name} {}", path.display());
            let mut child = spawn_self("admin_crash_child", CHILD_ENV, &spec, false);
            let mut out = BufReader::new(child.stdout.take().expect("stdout"));
            wait_for_marker(&mut out, "@start");
            std::thread::sleep(Duration::from_micros(rng.u64(0..span + span / 4)));
            let _ = child.kill();
            let _ = child.wait();
            // Exactly one of the two opens, with all the data. Each handle is closed before
            // the other access is tried, so a refusal is about the key, never the lock.
            let attempt = |access: &Access| -> emdb::Result<bool> {
                match access.open(&path) {
                    Ok(db) => verify(&db).map(|()| true),
                    Err(emdb::Error::LockBusy { .. }) => panic!("{name} round {round}: lock still held"),
                    Err(_) => Ok(false),
                }
            };
            let (old, new) = (attempt(&before)?, attempt(&after)?);
            match (old, new) {
                (true, false) => old_seen += 1,
                (false, true) => new_seen += 1,
                (true, true) => panic!("{name} round {round}: both the old and the new access opened"),
                (false, false) => panic!("{name} round {round}: neither opened"),
            }
            let left = leftovers(&path);
            assert!(left.is_empty(), "{name} round {round}: left {left:?}");
        }
        println!("{name}: {old_seen} rounds ended old, {new_seen} new");
    }
    Ok(())
}
