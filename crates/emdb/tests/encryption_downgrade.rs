//! No silent encryption downgrade (docs/FORMAT.md §8e "Opening without a key"): an open
//! without a key fails with `InvalidConfig`, and leaves the sidecar as it was, whenever
//! anything says the database is encrypted: the sidecar's flag, an encryption section (or
//! emdb 1.0's salt and verification block) behind a cleared flag, sealed records in the
//! log, or a damaged sidecar that cannot show the database is plain. Plain databases with
//! a damaged sidecar keep opening.
#![cfg(feature = "encrypt")]

mod common;

use std::path::Path;

use common::forge;
use common::{sibling, temp_path, v1_encrypted};
use emdb::{Emdb, Error};
use emdb_v1 as v1;

const KEY: [u8; 32] = [0x3C; 32];

fn keyed(path: &Path) -> emdb::Result<Emdb> {
    Emdb::builder().path(path).encryption_key(KEY).build()
}

/// The sidecar's and the log's bytes (`None` for a missing file).
fn snapshot(path: &Path) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    (std::fs::read(sibling(path, ".meta")).ok(), std::fs::read(path).ok())
}

/// A keyless open is refused with `InvalidConfig` and changes neither file.
fn refused_untouched(path: &Path, case: &str) {
    let before = snapshot(path);
    match Emdb::open(path) {
        Err(Error::InvalidConfig(_)) => {}
        Err(other) => panic!("{case}: expected InvalidConfig, got {other}"),
        Ok(db) => {
            let encrypted = db.stats().map(|s| s.encrypted);
            panic!("{case}: a keyless open succeeded (encrypted: {encrypted:?})")
        }
    }
    assert_eq!(snapshot(path), before, "{case}: a refused open changed a file");
}

/// Clears the flags of a version-2 sidecar (checksum fixed).
fn clear_flag_v2(meta: &Path) {
    forge::edit_meta(meta, |m| m[20..24].copy_from_slice(&0u32.to_le_bytes()));
}

/// Applies `edit` to emdb 1.0's 112-byte sidecar and fixes its CRC-32 (IEEE).
fn edit_v1(meta: &Path, edit: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = std::fs::read(meta).expect("read meta");
    assert_eq!(bytes.len(), 112, "an emdb 1.0 sidecar");
    edit(&mut bytes);
    let crc = crc32fast::hash(&bytes[..108]);
    bytes[108..].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(meta, bytes).expect("write meta");
}

/// Flips bits `mask` of byte `at` of the sidecar without fixing its checksum: damaged.
fn damage_with(meta: &Path, at: usize, mask: u8) {
    let mut bytes = std::fs::read(meta).expect("read meta");
    bytes[at] ^= mask;
    std::fs::write(meta, bytes).expect("write meta");
}

/// Flips a byte of the sidecar without fixing its checksum: damaged.
fn damage(meta: &Path, at: usize) {
    damage_with(meta, at, 0x20);
}

/// Every tampering of an encrypted database's sidecar: each refuses a keyless open and
/// leaves the files as they were; the pristine sidecar then opens with the key.
fn check_every_tampering(path: &Path, v1_sidecar: bool, has_records: bool) {
    let meta = sibling(path, ".meta");
    let pristine = std::fs::read(&meta).expect("read meta");
    let len = pristine.len();
    let restore = || std::fs::write(&meta, &pristine).expect("restore meta");
    refused_untouched(path, "pristine");
    if v1_sidecar {
        edit_v1(&meta, |m| m[20..24].copy_from_slice(&0u32.to_le_bytes()));
    } else {
        clear_flag_v2(&meta);
    }
    refused_untouched(path, "flag cleared");
    restore();
    damage(&meta, len - 1);
    refused_untouched(path, "checksum damaged");
    restore();
    damage_with(&meta, 20, 0x01);
    refused_untouched(path, "flag cleared, checksum not fixed");
    restore();
    if has_records {
        std::fs::remove_file(&meta).expect("remove meta");
        refused_untouched(path, "sidecar missing");
        assert!(!meta.exists(), "a refused open wrote a sidecar");
        restore();
    }
    let db = keyed(path).expect("the pristine sidecar opens with its key");
    assert!(db.stats().expect("stats").encrypted);
}

#[test]
fn our_encrypted_databases_refuse_a_keyless_open_however_the_sidecar_was_tampered_with() -> emdb::Result<()> {
    // No record yet: only the sidecar says it is encrypted.
    let (_dir, empty) = temp_path("empty.emdb");
    drop(keyed(&empty)?);
    check_every_tampering(&empty, false, false);

    // Sealed records: the log says so too, whatever the sidecar says.
    let (_dir, full) = temp_path("full.emdb");
    {
        let db = keyed(&full)?;
        db.insert("secret", "value")?;
        db.namespace("ns")?.insert("k", "v")?;
        db.checkpoint()?;
        db.insert("after", "checkpoint")?;
    }
    check_every_tampering(&full, false, true);
    let db = keyed(&full)?;
    assert_eq!(db.get("secret")?.as_deref(), Some(&b"value"[..]));
    assert_eq!(db.get("after")?.as_deref(), Some(&b"checkpoint"[..]));
    Ok(())
}

#[test]
fn emdb_1_encrypted_databases_refuse_a_keyless_open_however_the_sidecar_was_tampered_with() -> emdb::Result<()> {
    let (_dir, empty) = temp_path("v1-empty.emdb");
    drop(
        v1::Emdb::builder()
            .path(&empty)
            .encryption_key(KEY)
            .build()
            .expect("emdb 1.0"),
    );
    check_every_tampering(&empty, true, false);

    let (_dir, full) = temp_path("v1-full.emdb");
    v1_encrypted(&full, KEY, &[("secret", "value")]);
    check_every_tampering(&full, true, true);
    assert_eq!(keyed(&full)?.get("secret")?.as_deref(), Some(&b"value"[..]));
    Ok(())
}

#[test]
fn a_keyless_open_never_writes_plaintext_into_an_encrypted_database() -> emdb::Result<()> {
    // What the downgrade did: flag cleared, keyless open, plaintext writes, and a
    // checkpoint that replaced the sidecar's encryption parameters with none.
    let (_dir, path) = temp_path("down.emdb");
    drop(keyed(&path)?);
    let meta = sibling(&path, ".meta");
    clear_flag_v2(&meta);
    if let Ok(db) = Emdb::open(&path) {
        db.insert("plain", "text")?;
        db.checkpoint()?;
        panic!("the keyless open succeeded and wrote plaintext");
    }
    assert!(!std::fs::read(&path)?.windows(4).any(|w| w == b"text"));
    Ok(())
}

#[test]
fn plain_databases_with_a_damaged_sidecar_keep_opening() -> emdb::Result<()> {
    // Ours, with records: the plaintext records show it plain.
    let (_dir, path) = temp_path("plain.emdb");
    {
        let db = Emdb::open(&path)?;
        db.insert("k", "v")?;
    }
    let meta = sibling(&path, ".meta");
    damage(&meta, 100);
    assert_eq!(Emdb::open(&path)?.get("k")?.as_deref(), Some(&b"v"[..]));
    // Even a sidecar that is not one any more.
    std::fs::write(&meta, b"garbage")?;
    {
        let db = Emdb::open(&path)?;
        assert_eq!(db.get("k")?.as_deref(), Some(&b"v"[..]));
        // The first replace repairs it.
        db.checkpoint()?;
    }
    assert!(!Emdb::open(&path)?.stats()?.encrypted);

    // Ours, no record: the damaged bytes still read as a plain sidecar.
    let (_dir, empty) = temp_path("plain-empty.emdb");
    drop(Emdb::open(&empty)?);
    let meta = sibling(&empty, ".meta");
    let pristine = std::fs::read(&meta)?;
    damage(&meta, pristine.len() - 1);
    Emdb::open(&empty)?.insert("k", "v")?;
    // ... but garbage over no record proves nothing: refused, the sidecar kept.
    let (_dir, bare) = temp_path("bare.emdb");
    drop(Emdb::open(&bare)?);
    let meta = sibling(&bare, ".meta");
    std::fs::write(&meta, b"garbage")?;
    assert!(matches!(Emdb::open(&bare), Err(Error::InvalidConfig(_))));
    assert_eq!(std::fs::read(&meta)?, b"garbage");
    std::fs::remove_file(&meta)?;
    Emdb::open(&bare)?.insert("k", "v")?;

    // emdb 1.0's plain sidecars, damaged, with and without records.
    for records in [true, false] {
        let (_dir, old) = temp_path("v1-plain.emdb");
        {
            let db = v1::Emdb::open(&old).expect("emdb 1.0");
            if records {
                db.insert("k", "v").expect("insert");
            }
            db.flush().expect("flush");
        }
        let meta = sibling(&old, ".meta");
        assert_eq!(std::fs::metadata(&meta)?.len(), 112);
        damage(&meta, 30);
        let db = Emdb::open(&old)?;
        assert_eq!(db.get("k")?.is_some(), records);
        assert!(!db.stats()?.encrypted);
    }
    Ok(())
}
