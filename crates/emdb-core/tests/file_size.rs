//! On-disk sizes answer as in emdb 1.0: `compact()` makes the file smaller when there was
//! garbage to drop (emdb 1.0.3's `examples/smoke.rs` asserts it with `fs::metadata`), and a
//! cleanly closed database file ends where its log ends (the preallocated reserve is cut
//! at close, or at the next open when a `ValueRef` still mapped the file), so truncating
//! its last bytes damages its last record.

mod common;

use std::fs::OpenOptions;
use std::path::Path;

use common::{sibling, temp_path};
use emdb_core::{Emdb, Error};

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).expect("metadata").len()
}

/// What emdb 1.0.3's smoke example does before its "compact should shrink" check, with
/// the same calls (its 50 ms TTL sleep replaced by an expiry already reached).
#[cfg(all(feature = "ttl", feature = "nested"))]
#[test]
fn compaction_shrinks_the_file_as_v1_smoke_expects() -> Result<(), Error> {
    use std::time::Duration;

    use emdb_core::{EmdbBuilder, Ttl};

    let (_dir, path) = temp_path("emdb-smoke.emdb");
    let open = || {
        EmdbBuilder::new()
            .path(&path)
            .enable_range_scans(true)
            .default_ttl(Duration::from_secs(3600))
            .build()
    };
    let db = open()?;
    db.insert("hello", "world")?;
    db.insert("user:001", "alice")?;
    db.insert("user:002", "bob")?;
    db.insert("user:003", "carol")?;
    db.insert_with_ttl("ephemeral", "ghost", Ttl::After(Duration::ZERO))?;
    assert!(db.get("ephemeral")?.is_none());
    assert_eq!(db.range(b"user:".to_vec()..b"user;".to_vec())?.len(), 3);
    assert_eq!(db.range_prefix(b"user:")?.len(), 3);
    let sessions = db.namespace("sessions")?;
    sessions.insert(b"sid-abc", b"token-xyz")?;
    sessions.insert(b"sid-def", b"token-uvw")?;
    let focus = db.focus("config");
    focus.set("theme", "dark")?;
    focus.set("language", "en")?;
    db.transaction(|tx| {
        tx.insert("tx-key-1", "tx-val-1")?;
        tx.insert("tx-key-2", "tx-val-2")?;
        Ok(())
    })?;
    db.flush()?;
    let _ = db.remove(b"hello")?;
    let _ = db.remove(b"tx-key-1")?;
    let _ = sessions.remove(b"sid-abc")?;
    db.flush()?;
    let size_after_removes = file_len(&path);
    db.compact()?;
    db.flush()?;
    let size_after_compact = file_len(&path);
    assert!(
        size_after_compact < size_after_removes,
        "compact should shrink: {size_after_compact} >= {size_after_removes}"
    );
    assert_eq!(
        size_after_compact,
        db.stats()?.logical_size_bytes,
        "the compacted file carries no reserve"
    );
    // The next write reserves again, and the data is all there after a reopen.
    db.insert("after", "compaction")?;
    db.flush()?;
    assert!(db.stats()?.preallocated_bytes > 0, "appends reserve again");
    drop(focus);
    drop(sessions);
    drop(db);
    let db = open()?;
    assert_eq!(db.get(b"hello")?, None);
    assert_eq!(db.get(b"user:001")?.as_deref(), Some(b"alice".as_slice()));
    assert_eq!(db.get(b"tx-key-2")?.as_deref(), Some(b"tx-val-2".as_slice()));
    assert_eq!(db.get(b"after")?.as_deref(), Some(b"compaction".as_slice()));
    assert_eq!(db.namespace("sessions")?.get(b"sid-abc")?, None);
    assert_eq!(db.focus("config").get("theme")?.as_deref(), Some(b"dark".as_slice()));
    Ok(())
}

/// Compaction of a log with garbage gives a smaller file than before, checked on the
/// file's size (not only the log's), with plain and overwritten keys.
#[test]
fn compaction_of_overwritten_keys_shrinks_the_file() -> Result<(), Error> {
    let (_dir, path) = temp_path("garbage.emdb");
    let db = Emdb::open(&path)?;
    for round in 0..20 {
        db.insert_many((0..100).map(|i| (format!("key-{i:03}"), format!("value-{round}-{i}"))))?;
    }
    db.flush()?;
    let before = file_len(&path);
    db.compact()?;
    let after = file_len(&path);
    assert!(after < before, "{after} >= {before}");
    assert_eq!(after, db.stats()?.logical_size_bytes);
    assert_eq!(db.len()?, 100);
    assert_eq!(db.get("key-042")?, Some(b"value-19-42".to_vec()));
    Ok(())
}

#[test]
fn a_closed_database_file_ends_where_its_log_ends() -> Result<(), Error> {
    let (_dir, path) = temp_path("closed.emdb");
    let end = {
        let db = Emdb::open(&path)?;
        db.insert("k", "v")?;
        db.flush()?;
        let stats = db.stats()?;
        assert!(stats.preallocated_bytes > 0, "open: a reserve ahead of the log");
        stats.logical_size_bytes
    };
    assert_eq!(file_len(&path), end, "close cut the reserve");
    // An open that writes nothing leaves the size alone.
    drop(Emdb::open(&path)?);
    assert_eq!(file_len(&path), end);
    Ok(())
}

/// A `ValueRef` borrowing from the map keeps the file whole through close (a mapped file
/// is never truncated; Windows would refuse), and the next open cuts the leftover reserve.
#[test]
fn a_value_ref_alive_at_close_defers_the_cut_to_the_next_open() -> Result<(), Error> {
    let (_dir, path) = temp_path("mapped.emdb");
    let db = Emdb::open(&path)?;
    db.insert("k", vec![7u8; 4096])?;
    db.flush()?;
    let end = db.stats()?.logical_size_bytes;
    let held = db.get_zerocopy("k")?.expect("present");
    drop(db);
    assert!(file_len(&path) > end, "not cut while a ValueRef maps the file");
    assert_eq!(held.as_slice(), vec![7u8; 4096].as_slice());

    let db = Emdb::open(&path)?;
    if cfg!(unix) {
        assert_eq!(file_len(&path), db.stats()?.logical_size_bytes, "the next open cut it");
    }
    assert_eq!(held.as_slice(), vec![7u8; 4096].as_slice(), "the held value is intact");
    drop(held);
    assert_eq!(db.get("k")?, Some(vec![7u8; 4096]));
    Ok(())
}

/// With the reserve gone, the last bytes of a closed file are its last record's: cutting
/// them loses that record (a torn tail, cut at the next open) and nothing else.
#[test]
fn truncating_a_closed_file_damages_its_last_record() -> Result<(), Error> {
    let (_dir, path) = temp_path("torn.emdb");
    {
        let db = Emdb::open(&path)?;
        for i in 0..10 {
            db.insert(format!("k{i}"), format!("v{i}"))?;
        }
        db.insert("last", "record")?;
    }
    let len = file_len(&path);
    let file = OpenOptions::new().write(true).open(&path)?;
    file.set_len(len - 3)?;
    drop(file);

    let db = Emdb::open(&path)?;
    assert_eq!(db.get("last")?, None, "the torn last record is gone");
    assert_eq!(db.len()?, 10);
    assert_eq!(db.get("k9")?, Some(b"v9".to_vec()));
    // The cut bytes were saved beside the database, as for any torn tail.
    assert!(forge_saved_tail(&path), "a .corrupt-<offset> file holds the cut bytes");
    Ok(())
}

fn forge_saved_tail(path: &Path) -> bool {
    let prefix = sibling(path, ".corrupt-");
    let prefix = prefix
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    std::fs::read_dir(path.parent().expect("parent"))
        .expect("read dir")
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with(&prefix))
}
