//! Concurrent flushes (docs/COMPATIBILITY.md §1 "Durability"): four threads each insert and flush; when
//! every flush has returned the process is killed, with no clean close to flush for them,
//! and every write must be there. Its own test binary: the child it spawns must not
//! inherit other tests' database locks.

mod common;

use std::io::BufReader;
use std::thread;

use common::{spawn_self, temp_path, wait_for_marker};
use emdb::{Emdb, Error};

const CHILD: &str = "EMDB_FLUSH_KILL_CHILD";

/// Entry point of the child process; does nothing as an ordinary test.
#[test]
fn flushing_child() {
    let Ok(path) = std::env::var(CHILD) else { return };
    let db = Emdb::open(&path).expect("child open");
    let threads: Vec<_> = (0..4u32)
        .map(|t| {
            let db = db.clone();
            thread::spawn(move || {
                for i in 0..50u32 {
                    db.insert(format!("t{t}/{i}"), i.to_le_bytes()).expect("insert");
                    db.flush().expect("flush");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("flushing thread");
    }
    println!("@flushed .");
    // Wait to be killed, the handle still open.
    loop {
        thread::sleep(std::time::Duration::from_secs(1));
    }
}

#[test]
fn concurrent_flushes_cover_their_writes_across_a_kill() -> Result<(), Error> {
    let (_dir, path) = temp_path("flush.emdb");
    let mut child = spawn_self("flushing_child", CHILD, &path.display().to_string(), false);
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    wait_for_marker(&mut out, "@flushed");
    child.kill().expect("kill");
    child.wait().expect("wait");
    let db = Emdb::open(&path)?;
    assert_eq!(db.len()?, 200);
    for t in 0..4u32 {
        for i in 0..50u32 {
            assert_eq!(db.get(format!("t{t}/{i}"))?, Some(i.to_le_bytes().to_vec()));
        }
    }
    Ok(())
}
