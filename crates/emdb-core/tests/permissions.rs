//! Rewrites keep the database's permission bits (Unix): a database whose files are 0640
//! stays 0640, data file and `.meta` alike, after `compact()` and after each encryption
//! admin swap, while the files that hold a copy of the data for safekeeping (the admin's
//! `.encbak` pair, `backup_to`'s output) stay owner-only. New databases are created
//! owner-only.
#![cfg(unix)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{sibling, temp_path};
use emdb_core::{Emdb, Error};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A database with some garbage whose data file and sidecar are made 0640.
fn shared_database(path: &Path, open: impl Fn() -> emdb_core::Result<Emdb>) -> emdb_core::Result<()> {
    let db = open()?;
    for round in 0..5 {
        db.insert_many((0..50).map(|i| (format!("k{i}"), format!("v{round}-{i}"))))?;
    }
    db.flush()?;
    drop(db);
    set_mode(path, 0o640);
    set_mode(&sibling(path, ".meta"), 0o640);
    Ok(())
}

fn assert_modes(path: &Path, expected: u32, what: &str) {
    let (data, meta) = (mode(path), mode(&sibling(path, ".meta")));
    assert_eq!(data, expected, "{what}: data file is {data:o}, not {expected:o}");
    assert_eq!(meta, expected, "{what}: sidecar is {meta:o}, not {expected:o}");
}

#[test]
fn new_databases_are_owner_only() -> Result<(), Error> {
    let (_dir, path) = temp_path("new.emdb");
    let db = Emdb::open(&path)?;
    db.insert("k", "v")?;
    drop(db);
    assert_modes(&path, 0o600, "new database");
    Ok(())
}

#[test]
fn compaction_keeps_the_files_permission_bits() -> Result<(), Error> {
    let (_dir, path) = temp_path("shared.emdb");
    shared_database(&path, || Emdb::open(&path))?;
    let db = Emdb::open(&path)?;
    let before = std::fs::metadata(&path)?.len();
    db.compact()?;
    assert!(std::fs::metadata(&path)?.len() < before, "a new file was put in place");
    assert_modes(&path, 0o640, "after compact");
    db.insert("after", "compact")?;
    drop(db);
    assert_modes(&path, 0o640, "after close");
    let db = Emdb::open(&path)?;
    assert_eq!(db.get("k7")?, Some(b"v4-7".to_vec()));
    Ok(())
}

#[test]
fn backups_stay_owner_only() -> Result<(), Error> {
    let (_dir, path) = temp_path("shared.emdb");
    shared_database(&path, || Emdb::open(&path))?;
    let db = Emdb::open(&path)?;
    let target = path.with_file_name("copy.emdb");
    db.backup_to(&target)?;
    assert_modes(&target, 0o600, "backup_to output");
    Ok(())
}

#[cfg(feature = "encrypt")]
#[test]
fn encryption_admin_swaps_keep_the_bits_and_backups_stay_owner_only() -> Result<(), Error> {
    use emdb_core::{AdminOptions, EncryptionInput};

    const KEY: [u8; 32] = [0x33; 32];
    const NEXT: [u8; 32] = [0x44; 32];

    let (_dir, path) = temp_path("shared.emdb");
    let bak = sibling(&path, ".encbak");
    let keep = AdminOptions::new().keep_backup(true);
    shared_database(&path, || Emdb::open(&path))?;

    Emdb::enable_encryption_with(&path, EncryptionInput::Key(KEY), keep)?;
    assert_modes(&path, 0o640, "after enable_encryption");
    assert_modes(&bak, 0o600, "enable's backup (a plaintext copy)");

    Emdb::rotate_encryption_key_with(&path, EncryptionInput::Key(KEY), EncryptionInput::Key(NEXT), keep)?;
    assert_modes(&path, 0o640, "after rotate_encryption_key");
    assert_modes(&bak, 0o600, "rotate's backup");

    Emdb::disable_encryption_with(&path, EncryptionInput::Key(NEXT), AdminOptions::new())?;
    assert_modes(&path, 0o640, "after disable_encryption");
    assert!(!bak.exists(), "no backup kept unless asked");

    let db = Emdb::open(&path)?;
    assert_eq!(db.get("k7")?, Some(b"v4-7".to_vec()));
    Ok(())
}
