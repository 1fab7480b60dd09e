//! The key-value basics of docs/COMPATIBILITY.md §1: insert, get, zero-copy get, remove, contains, len,
//! clear, with empty and binary keys and values.

mod common;

use common::temp_db;
use emdb::{Emdb, Error};

#[test]
fn insert_get_replace_remove() -> Result<(), Error> {
    let (_dir, _path, db) = temp_db();
    assert!(db.is_empty()?);
    db.insert("a", "1")?;
    db.insert(b"b".to_vec(), vec![2u8])?;
    assert_eq!(db.get("a")?, Some(b"1".to_vec()));
    assert_eq!(db.get(b"b")?, Some(vec![2]));
    assert_eq!(db.get("missing")?, None);
    db.insert("a", "one")?;
    assert_eq!(db.get("a")?, Some(b"one".to_vec()));
    assert_eq!(db.len()?, 2);
    assert!(db.contains_key("a")?);
    assert_eq!(db.remove("a")?, Some(b"one".to_vec()));
    assert_eq!(db.remove("a")?, None, "a second remove finds nothing");
    assert!(!db.contains_key("a")?);
    assert_eq!(db.len()?, 1);
    Ok(())
}

#[test]
fn empty_and_binary_keys_and_values() -> Result<(), Error> {
    let (_dir, _path, db) = temp_db();
    db.insert("", "empty key")?;
    db.insert("empty value", "")?;
    let binary: Vec<u8> = (0..=255).collect();
    db.insert(binary.clone(), binary.iter().rev().copied().collect::<Vec<u8>>())?;
    assert_eq!(db.get("")?, Some(b"empty key".to_vec()));
    assert_eq!(db.get("empty value")?, Some(Vec::new()));
    assert_eq!(db.get(&binary)?.map(|v| v.len()), Some(256));
    assert_eq!(db.len()?, 3);
    Ok(())
}

#[test]
fn zero_copy_values_compare_and_outlive_writes() -> Result<(), Error> {
    let (_dir, _path, db) = temp_db();
    db.insert("k", "value one")?;
    let v = db.get_zerocopy("k")?.expect("present");
    db.insert("k", "value two")?;
    for i in 0..10_000 {
        db.insert(format!("filler{i}"), vec![b'x'; 100])?;
    }
    assert_eq!(
        v.as_slice(),
        b"value one",
        "a ValueRef keeps the bytes it was read from"
    );
    assert_eq!(v.len(), 9);
    assert!(!v.is_empty());
    assert!(v == b"value one"[..]);
    let as_ref: &[u8] = b"value one";
    assert!(v == as_ref, "PartialEq<&[u8]>");
    assert!(v == b"value one".to_vec());
    assert_eq!(&*v, b"value one");
    assert_eq!(v.clone().into_vec(), b"value one".to_vec());
    assert_eq!(
        db.get_zerocopy("k")?.expect("present"),
        db.get_zerocopy("k")?.expect("present")
    );
    assert!(db.get_zerocopy("nope")?.is_none());
    assert!(format!("{v:?}").contains("len"));
    Ok(())
}

#[test]
fn clear_removes_everything_durably() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("clear.emdb");
    {
        let db = Emdb::open(&path)?;
        for i in 0..100 {
            db.insert(format!("k{i}"), "v")?;
        }
        db.clear()?;
        assert!(db.is_empty()?);
        db.insert("after", "clear")?;
        db.flush()?;
    }
    let db = Emdb::open(&path)?;
    assert_eq!(db.len()?, 1);
    assert_eq!(db.get("after")?, Some(b"clear".to_vec()));
    assert_eq!(db.get("k5")?, None);
    Ok(())
}

#[test]
fn records_over_the_frame_cap_are_invalid_input_and_change_nothing() -> Result<(), Error> {
    let (_dir, _path, db) = temp_db();
    let huge = vec![0u8; (256 << 20) + 1];
    match db.insert("big", huge) {
        Err(Error::Io(e)) => {
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
            // emdb 1.0.3 names the limit "256 MiB" (its journal's message); so do we.
            assert!(e.to_string().contains("256 MiB"), "{e}");
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    assert_eq!(db.get("big")?, None);
    // The same through a batch, whose records share a frame's room.
    match db.insert_many([("a", vec![1u8; 4]), ("big", vec![0u8; (256 << 20) + 1])]) {
        Err(Error::Io(e)) => {
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
            assert!(e.to_string().contains("256 MiB"), "{e}");
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    assert_eq!(db.get("a")?, None, "nothing of the refused batch was written");
    db.insert("small", "still works")?;
    assert_eq!(db.get("small")?, Some(b"still works".to_vec()));
    Ok(())
}

#[test]
fn large_values_near_a_megabyte_round_trip() -> Result<(), Error> {
    let (_dir, _path, db) = temp_db();
    let value: Vec<u8> = (0..(1 << 20)).map(|i| (i % 251) as u8).collect();
    db.insert("big", value.clone())?;
    assert_eq!(db.get("big")?, Some(value.clone()));
    assert_eq!(db.get_zerocopy("big")?.expect("present").as_slice(), &value[..]);
    Ok(())
}

#[test]
fn handles_share_one_engine_and_debug_shows_the_path() -> Result<(), Error> {
    let (_dir, path, db) = temp_db();
    let other = db.clone_handle();
    other.insert("shared", "yes")?;
    assert_eq!(db.get("shared")?, Some(b"yes".to_vec()));
    let text = format!("{db:?}");
    let name = path.file_name().expect("file name").to_string_lossy();
    assert!(text.contains(name.as_ref()), "{text}");
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Emdb>();
    Ok(())
}
