//! A keyed open of a database whose `.meta` sidecar is missing is `InvalidConfig`, as in
//! emdb 1.0.3 (its log has records but nothing proves how they were sealed), and writes
//! nothing: the files' bytes and the directory's listing stay as they were.
#![cfg(feature = "encrypt")]

mod common;

use std::path::Path;

use common::{forge, sibling, temp_path, v1_encrypted};
use emdb::{Emdb, Error};
use emdb_v1 as v1;

const KEY: [u8; 32] = [0x5A; 32];

/// Every file of the database directory with its bytes (a lock file's holder text
/// excepted: a refused open may take and release the lock).
fn listing(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut all: Vec<_> = forge::all_files(path)
        .into_iter()
        .map(|(n, b)| {
            if n.ends_with(".lock-meta") {
                (n, Vec::new())
            } else {
                (n, b)
            }
        })
        .collect();
    all.sort();
    all
}

/// Opens `path` with `KEY` (or the passphrase) and expects `InvalidConfig`, with the
/// directory unchanged.
fn refused_untouched(path: &Path, open: impl Fn() -> emdb::Result<Emdb>) {
    let before = listing(path);
    let opened = open();
    assert!(
        matches!(opened, Err(Error::InvalidConfig(_))),
        "expected InvalidConfig, got {:?}",
        opened.map(|_| ())
    );
    assert_eq!(listing(path), before, "a refused open writes nothing");
}

#[test]
fn our_encrypted_database_without_its_sidecar_is_invalid_config() -> emdb::Result<()> {
    let (_dir, path) = temp_path("enc.emdb");
    {
        let db = Emdb::builder().path(&path).encryption_key(KEY).build()?;
        db.insert("k", "secret value")?;
        db.namespace("ns")?.insert("k", "v")?;
        db.flush()?;
    }
    let meta = sibling(&path, ".meta");
    std::fs::remove_file(&meta)?;
    refused_untouched(&path, || Emdb::builder().path(&path).encryption_key(KEY).build());
    refused_untouched(&path, || {
        Emdb::builder().path(&path).encryption_passphrase("pass").build()
    });
    assert!(!meta.exists(), "no sidecar was made up");
    Ok(())
}

#[test]
fn an_emdb_1_encrypted_database_without_its_sidecar_is_invalid_config_in_both() -> emdb::Result<()> {
    let (_dir, path) = temp_path("v1.emdb");
    v1_encrypted(&path, KEY, &[("k", "secret value")]);
    std::fs::remove_file(sibling(&path, ".meta"))?;
    // emdb 1.0.3's own answer for this state, on a copy.
    let (_copy_dir, copy) = temp_path("copy.emdb");
    std::fs::copy(&path, &copy)?;
    let answer = v1::Emdb::builder().path(&copy).encryption_key(KEY).build();
    assert!(
        matches!(answer, Err(v1::Error::InvalidConfig(_))),
        "emdb 1.0.3 says InvalidConfig: {:?}",
        answer.map(|_| ())
    );
    refused_untouched(&path, || Emdb::builder().path(&path).encryption_key(KEY).build());
    Ok(())
}

/// The refusal is about records without a sidecar: an empty log without one is a new
/// database, which a keyed open creates.
#[test]
fn a_keyed_open_of_an_empty_log_without_sidecar_creates_the_database() -> emdb::Result<()> {
    let (_dir, path) = temp_path("fresh.emdb");
    std::fs::write(&path, b"")?;
    {
        let db = Emdb::builder().path(&path).encryption_key(KEY).build()?;
        db.insert("k", "v")?;
    }
    let db = Emdb::builder().path(&path).encryption_key(KEY).build()?;
    assert_eq!(db.get("k")?, Some(b"v".to_vec()));
    Ok(())
}
