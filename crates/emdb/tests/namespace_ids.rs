//! Namespace ids are checked at open, from the log and from a checkpoint (docs/FORMAT.md
//! §8d "Namespace ids"): reserved ids, a second name for a bound id (or a second id for a
//! bound name), an unbind of an unbound id and a bind of a dropped id are `Corrupted`; new
//! ids never wrap or repeat; and emdb 1.0.2's writes after an unbind open as emdb 1.0 read
//! them.

mod common;

use std::path::Path;

use common::forge::{frame_of, log_end, plain_bind, plain_insert};
use common::{sibling, temp_path};
use emdb::{Emdb, Error};
use emdb_v1 as v1;

/// An emdb 1.0 remove record's plain bytes.
fn plain_remove(ns: u32, key: &[u8]) -> Vec<u8> {
    let mut r = vec![1u8];
    r.extend_from_slice(&ns.to_le_bytes());
    r.extend_from_slice(&(key.len() as u32).to_le_bytes());
    r.extend_from_slice(key);
    r
}

/// Writes a log of one frame per record (no sidecar: the open creates one).
fn write_log(path: &Path, records: &[Vec<u8>]) {
    let log: Vec<u8> = records.iter().flat_map(|r| frame_of(r)).collect();
    std::fs::write(path, log).expect("write log");
}

/// Appends one frame per record where the log's frames end (over the reserved zeros).
fn append_frames(path: &Path, records: &[Vec<u8>]) {
    let mut log = std::fs::read(path).expect("read log");
    log.truncate(log_end(&log));
    for r in records {
        log.extend_from_slice(&frame_of(r));
    }
    std::fs::write(path, log).expect("append frames");
}

fn corrupted_because(r: emdb::Result<Emdb>) -> &'static str {
    match r {
        Err(Error::Corrupted { reason, .. }) => reason,
        Err(other) => panic!("expected Corrupted, got {other}"),
        Ok(_) => panic!("expected Corrupted, the database opened"),
    }
}

/// Opens a log made of `records` and expects `Corrupted`; the log is left as it was.
fn refused(records: &[Vec<u8>]) -> &'static str {
    let (_dir, path) = temp_path("ids.emdb");
    write_log(&path, records);
    let before = std::fs::read(&path).expect("read");
    let reason = corrupted_because(Emdb::open(&path));
    assert_eq!(
        std::fs::read(&path).expect("read"),
        before,
        "a refused open changed the log"
    );
    assert!(!sibling(&path, ".meta").exists(), "a refused open wrote a sidecar");
    reason
}

fn opens(records: &[Vec<u8>]) -> Vec<String> {
    let (_dir, path) = temp_path("ids.emdb");
    write_log(&path, records);
    Emdb::open(&path).expect("open").list_namespaces().expect("list")
}

#[test]
fn reserved_ids_are_never_bound_or_unbound() {
    for id in [0, u32::MAX] {
        let reason = refused(&[plain_bind(id, b"x")]);
        assert!(reason.contains("reserved"), "{reason}");
        let reason = refused(&[plain_bind(id, b"")]);
        assert!(reason.contains("reserved"), "{reason}");
    }
    // The last id that can be bound.
    assert_eq!(opens(&[plain_bind(u32::MAX - 1, b"last")]), ["", "last"]);
}

#[test]
fn a_bound_id_keeps_its_one_name_and_a_name_its_one_id() {
    let reason = refused(&[plain_bind(1, b"a"), plain_bind(1, b"b")]);
    assert!(reason.contains("second name"), "{reason}");
    let reason = refused(&[plain_bind(1, b"a"), plain_bind(2, b"a")]);
    assert!(reason.contains("second id"), "{reason}");
    // Repeating a binding is harmless.
    assert_eq!(opens(&[plain_bind(1, b"a"), plain_bind(1, b"a")]), ["", "a"]);
}

#[test]
fn unbinding_an_id_that_is_not_bound_is_refused() {
    let reason = refused(&[plain_bind(1, b"a"), plain_bind(2, b"")]);
    assert!(reason.contains("not bound"), "{reason}");
    let reason = refused(&[plain_bind(1, b"a"), plain_bind(1, b""), plain_bind(1, b"")]);
    assert!(reason.contains("not bound"), "{reason}");
}

#[test]
fn a_dropped_id_is_never_bound_again_in_the_log() {
    let reason = refused(&[plain_bind(1, b"a"), plain_bind(1, b""), plain_bind(1, b"b")]);
    assert!(reason.contains("dropped"), "{reason}");
    // Not even to its old name.
    let reason = refused(&[plain_bind(1, b"a"), plain_bind(1, b""), plain_bind(1, b"a")]);
    assert!(reason.contains("dropped"), "{reason}");
    // A clear (ours) of a dropped namespace does not bring it back either.
    let mut clear = vec![3u8];
    clear.extend_from_slice(&1u32.to_le_bytes());
    let reason = refused(&[plain_bind(1, b"a"), plain_bind(1, b""), clear]);
    assert!(reason.contains("never bound"), "{reason}");
}

#[test]
fn a_dropped_id_is_never_bound_again_after_a_checkpoint() -> emdb::Result<()> {
    let (_dir, path) = temp_path("cp.emdb");
    {
        let db = Emdb::open(&path)?;
        db.namespace("a")?.insert("k", "v")?; // id 1
        db.namespace("b")?.insert("k", "v")?; // id 2
        assert!(db.drop_namespace("a")?);
        db.checkpoint()?;
    }
    // The checkpoint keeps only "b" and the next free id (3): id 1, below it and unbound,
    // was dropped, whatever the name.
    let pristine = std::fs::read(&path)?;
    for name in [&b"a"[..], b"c"] {
        std::fs::write(&path, &pristine)?;
        append_frames(&path, &[plain_bind(1, name)]);
        let reason = corrupted_because(Emdb::open(&path));
        assert!(reason.contains("dropped"), "{reason}");
        // The full scan (no index snapshot) comes to the same answer from the unbind.
        let snapshot = std::fs::read(sibling(&path, ".index"))?;
        std::fs::remove_file(sibling(&path, ".index"))?;
        let reason = corrupted_because(Emdb::open(&path));
        assert!(reason.contains("dropped"), "{reason}");
        std::fs::write(sibling(&path, ".index"), snapshot)?;
    }
    // An insert into the dropped id after the checkpoint has no name to bring back.
    std::fs::write(&path, &pristine)?;
    append_frames(&path, &[plain_insert(1, b"k", b"v", 0)]);
    let reason = corrupted_because(Emdb::open(&path));
    assert!(reason.contains("never bound"), "{reason}");

    // Without the forged frames the checkpoint opens, and a new namespace takes a new id.
    std::fs::write(&path, &pristine)?;
    {
        let db = Emdb::open(&path)?;
        assert!(db.stats()?.opened_from_checkpoint);
        assert_eq!(db.list_namespaces()?, ["", "b"]);
        db.namespace("a")?.insert("again", "1")?;
    }
    let db = Emdb::open(&path)?;
    assert_eq!(db.list_namespaces()?, ["", "b", "a"]);
    assert_eq!(db.namespace("a")?.get("again")?.as_deref(), Some(&b"1"[..]));
    assert_eq!(
        db.namespace("a")?.get("k")?,
        None,
        "the dropped namespace's records stay gone"
    );
    Ok(())
}

#[test]
fn new_ids_never_wrap_or_repeat() -> emdb::Result<()> {
    let (_dir, path) = temp_path("full.emdb");
    write_log(&path, &[plain_bind(u32::MAX - 1, b"last")]);
    {
        let db = Emdb::open(&path)?;
        // u32::MAX is reserved and 0 is the default namespace: no id is left.
        assert!(matches!(db.namespace("one more"), Err(Error::InvalidConfig(_))));
        assert!(matches!(db.namespace("and another"), Err(Error::InvalidConfig(_))));
        // Existing namespaces keep working.
        db.namespace("last")?.insert("k", "v")?;
        assert_eq!(db.list_namespaces()?, ["", "last"]);
        db.checkpoint()?;
    }
    let db = Emdb::open(&path)?;
    assert!(db.stats()?.opened_from_checkpoint);
    assert!(matches!(db.namespace("one more"), Err(Error::InvalidConfig(_))));
    assert_eq!(db.namespace("last")?.get("k")?.as_deref(), Some(&b"v"[..]));

    // A dropped namespace's id is not handed out again, after a reopen either.
    let (_dir, path) = temp_path("reuse.emdb");
    {
        let db = Emdb::open(&path)?;
        db.namespace("a")?.insert("k", "1")?;
        db.namespace("b")?;
        db.drop_namespace("b")?;
        db.namespace("c")?.insert("k", "3")?;
    }
    let log = std::fs::read(&path)?;
    let binds: Vec<u32> = common::forge::frames(&log)
        .iter()
        .filter(|f| log[f.payload.start] == 2)
        .map(|f| u32::from_le_bytes(log[f.payload.start + 1..f.payload.start + 5].try_into().expect("4")))
        .collect();
    assert_eq!(binds, [1, 2, 3], "ids 1, 2 (dropped) and 3");
    let db = Emdb::open(&path)?;
    db.namespace("d")?;
    assert_eq!(db.list_namespaces()?, ["", "a", "c", "d"]);
    Ok(())
}

/// A database emdb 1.0.3 wrote with namespace "a" dropped (its unbind record written).
fn v1_with_dropped(path: &Path, recreate: bool) -> v1::Result<()> {
    let db = v1::Emdb::open(path)?;
    db.namespace("a")?.insert("old", "gone")?; // id 1
    db.namespace("keep")?.insert("k", "v")?; // id 2
    assert!(db.drop_namespace("a")?);
    if recreate {
        db.namespace("a")?.insert("new", "3")?; // id 3
    }
    db.flush()
}

#[test]
fn emdb_1_0_2_writes_after_an_unbind_open_as_emdb_1_read_them() -> emdb::Result<()> {
    let (_dir, path) = temp_path("v102.emdb");
    v1_with_dropped(&path, false).expect("emdb 1.0.3 writes");
    // emdb 1.0.2 then opened it: it ignored the unbind, listed "a" (id 1) again and wrote
    // into it with no new bind.
    append_frames(
        &path,
        &[
            plain_insert(1, b"written by 1.0.2", b"yes", 0),
            plain_insert(1, b"removed by 1.0.2", b"no", 0),
            plain_remove(1, b"removed by 1.0.2"),
        ],
    );
    let v1_sidecar = std::fs::read(sibling(&path, ".meta"))?;
    assert_eq!(v1_sidecar.len(), 112, "still emdb 1.0's sidecar");
    for round in 0..2 {
        let db = Emdb::open(&path)?;
        assert_eq!(db.list_namespaces()?, ["", "a", "keep"], "round {round}");
        let a = db.namespace("a")?;
        assert_eq!(a.get("written by 1.0.2")?.as_deref(), Some(&b"yes"[..]));
        assert_eq!(a.get("removed by 1.0.2")?, None);
        assert_eq!(a.get("old")?, None, "the drop emptied it");
        assert_eq!(a.len()?, 1 + round, "ours is written in round 0");
        assert_eq!(db.namespace("keep")?.get("k")?.as_deref(), Some(&b"v"[..]));
        if round == 0 {
            a.insert("ours", "1")?;
        } else {
            assert_eq!(a.get("ours")?.as_deref(), Some(&b"1"[..]));
        }
    }
    // The same write after emdb 1.0.3 bound the name to a new id is not emdb's.
    let (_dir, path) = temp_path("moved.emdb");
    v1_with_dropped(&path, true).expect("emdb 1.0.3 writes");
    assert_eq!(
        Emdb::open(&path)?.namespace("a")?.get("new")?.as_deref(),
        Some(&b"3"[..]),
        "without the forged write it opens"
    );
    append_frames(&path, &[plain_insert(1, b"k", b"v", 0)]);
    let reason = corrupted_because(Emdb::open(&path));
    assert!(reason.contains("another id"), "{reason}");
    Ok(())
}
