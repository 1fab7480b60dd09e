//! Encryption at rest: both ciphers, raw keys and passphrases, wrong keys, tampered and
//! moved records, tampered sidecars, reopen with and without a checkpoint, compaction,
//! backup, TTL and namespaces, and databases written by emdb 1.0.
#![cfg(feature = "encrypt")]

mod common;

use std::path::Path;

use common::forge::{self, CRYPTO_BODY, LegacyCipher};
use common::{sibling, temp_path};
use emdb::{Cipher, Emdb, EncryptionInput, Error};

const KEY: [u8; 32] = [0x5A; 32];
const OTHER: [u8; 32] = [0xA5; 32];

fn keyed(path: &Path, key: [u8; 32]) -> emdb::Result<Emdb> {
    Emdb::builder().path(path).encryption_key(key).build()
}

fn with_passphrase(path: &Path, pass: &str) -> emdb::Result<Emdb> {
    Emdb::builder().path(path).encryption_passphrase(pass).build()
}

/// The bytes of every file of the database, to show a refused open changed nothing.
fn files(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut all: Vec<_> = forge::all_files(path)
        .into_iter()
        .filter(|(n, _)| !n.ends_with(".lock") && !n.ends_with(".lock-meta"))
        .collect();
    all.sort();
    all
}

fn fill(db: &Emdb) -> emdb::Result<()> {
    for i in 0..50 {
        db.insert(format!("SECRETKEY-{i:03}"), format!("SECRETVALUE-{i:03}"))?;
    }
    let ns = db.namespace("SECRETNS")?;
    ns.insert("nskey", "SECRETNSVALUE")?;
    db.remove("SECRETKEY-007")?;
    db.insert_many((100..110).map(|i| (format!("SECRETKEY-{i:03}"), format!("SECRETVALUE-{i:03}"))))?;
    db.flush()
}

fn check(db: &Emdb) -> emdb::Result<()> {
    check_with(db, 0)
}

/// As [`check`], for a database with `extra` keys written after [`fill`].
fn check_with(db: &Emdb, extra: usize) -> emdb::Result<()> {
    assert_eq!(db.get("SECRETKEY-001")?.as_deref(), Some(&b"SECRETVALUE-001"[..]));
    assert_eq!(db.get("SECRETKEY-105")?.as_deref(), Some(&b"SECRETVALUE-105"[..]));
    assert_eq!(db.get("SECRETKEY-007")?, None);
    assert_eq!(db.len()?, 59 + extra);
    let ns = db.namespace("SECRETNS")?;
    assert_eq!(ns.get("nskey")?.as_deref(), Some(&b"SECRETNSVALUE"[..]));
    assert_eq!(
        db.get_zerocopy("SECRETKEY-002")?.map(|v| v.to_vec()),
        Some(b"SECRETVALUE-002".to_vec())
    );
    assert!(db.contains_key("SECRETKEY-003")?);
    assert_eq!(db.iter()?.count(), 59 + extra);
    assert_eq!(db.keys()?.count(), 59 + extra);
    assert!(db.try_iter()?.all(|item| item.is_ok()));
    assert!(db.stats()?.encrypted);
    Ok(())
}

fn assert_hidden(path: &Path) {
    for needle in [&b"SECRETKEY"[..], b"SECRETVALUE", b"SECRETNS", b"nskey"] {
        forge::assert_nowhere(path, needle);
    }
}

#[test]
fn both_ciphers_with_keys_and_passphrases_hide_everything_and_reopen() -> emdb::Result<()> {
    for cipher in [Cipher::Aes256Gcm, Cipher::ChaCha20Poly1305] {
        for by_pass in [false, true] {
            let (_dir, path) = temp_path("enc.emdb");
            let open = |path: &Path| {
                let b = Emdb::builder().path(path).cipher(cipher);
                if by_pass {
                    b.encryption_passphrase("correct horse battery staple").build()
                } else {
                    b.encryption_key(KEY).build()
                }
            };
            let db = open(&path)?;
            fill(&db)?;
            check(&db)?;
            db.checkpoint()?;
            db.insert("SECRETKEY-after", "SECRETVALUE-after")?;
            drop(db);
            assert_hidden(&path);
            let db = open(&path)?;
            assert!(db.stats()?.opened_from_checkpoint, "the sealed index snapshot is used");
            check_with(&db, 1)?;
            assert_eq!(db.get("SECRETKEY-after")?.as_deref(), Some(&b"SECRETVALUE-after"[..]));
            drop(db);
            // The cipher on reopen is the recorded one, whatever the builder says.
            let other_cipher = if cipher == Cipher::Aes256Gcm {
                Cipher::ChaCha20Poly1305
            } else {
                Cipher::Aes256Gcm
            };
            let b = Emdb::builder().path(&path).cipher(other_cipher);
            let db = if by_pass {
                b.encryption_passphrase("correct horse battery staple").build()?
            } else {
                b.encryption_key(KEY).build()?
            };
            check_with(&db, 1)?;
        }
    }
    Ok(())
}

#[test]
fn a_wrong_key_or_passphrase_is_refused_before_any_record_and_changes_nothing() -> emdb::Result<()> {
    let (_dir, path) = temp_path("enc.emdb");
    fill(&keyed(&path, KEY)?)?;
    let before = files(&path);
    assert!(matches!(keyed(&path, OTHER), Err(Error::EncryptionKeyMismatch)));
    assert!(matches!(
        with_passphrase(&path, "not the key"),
        Err(Error::EncryptionKeyMismatch)
    ));
    assert_eq!(files(&path), before);

    let (_dir2, path2) = temp_path("pass.emdb");
    fill(&with_passphrase(&path2, "right")?)?;
    assert!(matches!(
        with_passphrase(&path2, "wrong"),
        Err(Error::EncryptionKeyMismatch)
    ));
    assert!(matches!(keyed(&path2, KEY), Err(Error::EncryptionKeyMismatch)));
    check(&with_passphrase(&path2, "right")?)?;
    Ok(())
}

#[test]
fn keyed_open_of_plaintext_and_plain_open_of_encrypted_are_refused_untouched() -> emdb::Result<()> {
    let (_dir, plain) = temp_path("plain.emdb");
    let db = Emdb::open(&plain)?;
    db.insert("k", "v")?;
    drop(db);
    let before = files(&plain);
    assert!(matches!(keyed(&plain, KEY), Err(Error::InvalidConfig(_))));
    assert_eq!(files(&plain), before);
    assert_eq!(Emdb::open(&plain)?.get("k")?.as_deref(), Some(&b"v"[..]));

    let (_dir, enc) = temp_path("enc.emdb");
    fill(&keyed(&enc, KEY)?)?;
    let before = files(&enc);
    assert!(matches!(Emdb::open(&enc), Err(Error::InvalidConfig(_))));
    assert_eq!(files(&enc), before);

    // An existing but empty plaintext database takes the key: it becomes encrypted.
    let (_dir, empty) = temp_path("empty.emdb");
    drop(Emdb::open(&empty)?);
    let db = keyed(&empty, KEY)?;
    assert!(db.stats()?.encrypted);
    db.insert("k", "v")?;
    drop(db);
    assert!(matches!(Emdb::open(&empty), Err(Error::InvalidConfig(_))));
    Ok(())
}

#[test]
fn builder_refuses_bad_combinations_and_redacts_secrets() {
    let (_dir, path) = temp_path("b.emdb");
    let both = Emdb::builder()
        .path(&path)
        .encryption_key(KEY)
        .encryption_passphrase("p");
    assert!(matches!(both.build(), Err(Error::InvalidConfig(_))));
    let cipher_only = Emdb::builder().path(&path).cipher(Cipher::ChaCha20Poly1305);
    assert!(matches!(cipher_only.build(), Err(Error::InvalidConfig(_))));
    let empty = Emdb::builder().path(&path).encryption_passphrase("");
    assert!(matches!(empty.build(), Err(Error::InvalidConfig(_))));
    assert!(!path.exists(), "no refused build created the file");
    let shown = format!(
        "{:?}",
        Emdb::builder()
            .encryption_passphrase("hunter2")
            .encryption_key([0x42; 32])
    );
    assert!(shown.contains("<redacted>"), "{shown}");
    assert!(!shown.contains("hunter2") && !shown.contains("66, 66"), "{shown}");
    assert_eq!(format!("{:?}", EncryptionInput::Key(KEY)), "Key(<redacted>)");
    assert_eq!(
        format!("{:?}", EncryptionInput::Passphrase("x".into())),
        "Passphrase(<redacted>)"
    );
}

/// A database with three single-record frames of equal length after its bind: `a`, `b`,
/// and `a` again (a newer value).
fn three_frames(path: &Path) -> emdb::Result<()> {
    let db = keyed(path, KEY)?;
    db.insert("a", "old-value-1")?;
    db.insert("b", "other-val-2")?;
    db.insert("a", "new-value-3")?;
    db.flush()
}

fn reopen_fails_as_corrupted(path: &Path) {
    match keyed(path, KEY) {
        Err(Error::Corrupted { .. }) => {}
        Err(other) => panic!("expected Corrupted, got {other}"),
        Ok(db) => panic!(
            "a tampered log opened: a = {:?}, b = {:?}",
            db.get("a").ok().flatten(),
            db.get("b").ok().flatten()
        ),
    }
}

#[test]
fn flipped_bytes_in_a_record_are_caught_even_with_a_valid_frame_checksum() -> emdb::Result<()> {
    let (_dir, path) = temp_path("t.emdb");
    three_frames(&path)?;
    let pristine = std::fs::read(&path)?;
    let frames = forge::frames(&pristine);
    assert_eq!(frames.len(), 3);
    let f = &frames[1];
    for at in f.payload.clone() {
        let mut log = pristine.clone();
        log[at] ^= 0x01;
        forge::fix_crc(&mut log, f);
        std::fs::write(&path, &log)?;
        reopen_fails_as_corrupted(&path);
    }
    // The same flip without fixing the checksum is a damaged frame with valid ones after
    // it: refused too.
    let mut log = pristine.clone();
    log[f.payload.start + 5] ^= 0x01;
    std::fs::write(&path, &log)?;
    assert!(keyed(&path, KEY).is_err());
    std::fs::write(&path, &pristine)?;
    assert_eq!(keyed(&path, KEY)?.get("a")?.as_deref(), Some(&b"new-value-3"[..]));
    Ok(())
}

#[test]
fn swapped_moved_and_replayed_records_are_caught() -> emdb::Result<()> {
    let (_dir, path) = temp_path("t.emdb");
    three_frames(&path)?;
    let pristine = std::fs::read(&path)?;
    let frames = forge::frames(&pristine);
    let payload = |i: usize| pristine[frames[i].payload.clone()].to_vec();
    assert!(frames.iter().all(|f| f.payload.len() == frames[0].payload.len()));

    // Swap the first two records (a and b): each now sits at the other's offset.
    let mut log = pristine.clone();
    log[frames[0].payload.clone()].copy_from_slice(&payload(1));
    log[frames[1].payload.clone()].copy_from_slice(&payload(0));
    forge::fix_crc(&mut log, &frames[0]);
    forge::fix_crc(&mut log, &frames[1]);
    std::fs::write(&path, &log)?;
    reopen_fails_as_corrupted(&path);

    // Roll `a` back: the old record copied over the new one.
    let mut log = pristine.clone();
    log[frames[2].payload.clone()].copy_from_slice(&payload(0));
    forge::fix_crc(&mut log, &frames[2]);
    std::fs::write(&path, &log)?;
    reopen_fails_as_corrupted(&path);

    // Replay the old record as a new frame at the end of the log.
    let mut log = pristine.clone();
    let end = forge::log_end(&log);
    let old = forge::frame_of(&payload(0));
    // A closed file ends where its log ends (no reserve): the frame extends it.
    log.truncate(end);
    log.extend_from_slice(&old);
    std::fs::write(&path, &log)?;
    reopen_fails_as_corrupted(&path);

    // A record of another database under the same key, at the same offset.
    let (_dir2, other) = temp_path("o.emdb");
    three_frames(&other)?;
    let foreign = std::fs::read(&other)?;
    let mut log = pristine.clone();
    log[frames[1].payload.clone()].copy_from_slice(&foreign[frames[1].payload.clone()]);
    forge::fix_crc(&mut log, &frames[1]);
    std::fs::write(&path, &log)?;
    reopen_fails_as_corrupted(&path);

    std::fs::write(&path, &pristine)?;
    let db = keyed(&path, KEY)?;
    assert_eq!(db.get("a")?.as_deref(), Some(&b"new-value-3"[..]));
    assert_eq!(db.get("b")?.as_deref(), Some(&b"other-val-2"[..]));
    Ok(())
}

#[test]
fn a_record_tampered_while_open_is_an_error_not_a_wrong_value() -> emdb::Result<()> {
    let (_dir, path) = temp_path("t.emdb");
    three_frames(&path)?;
    let db = keyed(&path, KEY)?;
    let mut log = std::fs::read(&path)?;
    let frames = forge::frames(&log);
    log[frames[2].payload.start + 20] ^= 0x40;
    forge::fix_crc(&mut log, &frames[2]);
    // Written in place through another descriptor: the open database's map sees it.
    std::fs::write(&path, &log)?;
    assert!(matches!(db.get("a"), Err(Error::Corrupted { .. })));
    assert!(db.try_iter()?.any(|item| item.is_err()));
    assert_eq!(db.get("b")?.as_deref(), Some(&b"other-val-2"[..]));
    Ok(())
}

#[test]
fn a_tampered_sidecar_never_opens_to_wrong_data() -> emdb::Result<()> {
    let (_dir, path) = temp_path("t.emdb");
    fill(&with_passphrase(&path, "pass")?)?;
    let meta_path = sibling(&path, ".meta");
    let pristine = std::fs::read(&meta_path)?;
    // Any flipped byte: the sidecar's checksum fails and the encryption parameters are
    // lost, so the sealed records cannot be read.
    for at in (0..pristine.len()).step_by(7) {
        let mut meta = pristine.clone();
        meta[at] ^= 0x08;
        std::fs::write(&meta_path, &meta)?;
        let opened = with_passphrase(&path, "pass");
        assert!(opened.is_err(), "a sidecar flipped at byte {at} opened");
        assert!(
            Emdb::open(&path).is_err(),
            "a sidecar flipped at byte {at} opened without a key"
        );
    }
    // Edits with the checksum recomputed: each field the key depends on.
    let cases: [(&str, usize); 5] = [
        ("cipher", CRYPTO_BODY + 1),
        ("kdf memory", CRYPTO_BODY + 4),
        ("salt", CRYPTO_BODY + 20),
        ("database id", CRYPTO_BODY + 40),
        ("verify block", CRYPTO_BODY + 70),
    ];
    for (field, at) in cases {
        std::fs::write(&meta_path, &pristine)?;
        forge::edit_meta(&meta_path, |m| m[at] ^= 0x01);
        match with_passphrase(&path, "pass") {
            Err(Error::EncryptionKeyMismatch | Error::Encryption(_) | Error::Corrupted { .. }) => {}
            Err(other) => panic!("{field}: unexpected error {other}"),
            Ok(_) => panic!("{field}: a tampered sidecar opened"),
        }
    }
    // The encrypted flag cleared: the records are still sealed, so nothing opens.
    std::fs::write(&meta_path, &pristine)?;
    forge::edit_meta(&meta_path, |m| m[20] = 0);
    assert!(Emdb::open(&path).is_err());
    assert!(with_passphrase(&path, "pass").is_err());
    std::fs::write(&meta_path, &pristine)?;
    check(&with_passphrase(&path, "pass")?)?;
    Ok(())
}

#[test]
fn a_damaged_index_snapshot_falls_back_to_a_full_scan() -> emdb::Result<()> {
    let (_dir, path) = temp_path("t.emdb");
    let db = keyed(&path, KEY)?;
    fill(&db)?;
    db.checkpoint()?;
    drop(db);
    let index = sibling(&path, ".index");
    let mut bytes = std::fs::read(&index)?;
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xFF;
    std::fs::write(&index, &bytes)?;
    let db = keyed(&path, KEY)?;
    assert!(!db.stats()?.opened_from_checkpoint);
    check(&db)
}

#[test]
fn compaction_and_backup_keep_the_key() -> emdb::Result<()> {
    let (dir, path) = temp_path("c.emdb");
    let db = Emdb::builder()
        .path(&path)
        .encryption_key(KEY)
        .cipher(Cipher::ChaCha20Poly1305)
        .enable_range_scans(true)
        .build()?;
    fill(&db)?;
    for i in 0..50 {
        db.insert(format!("SECRETKEY-{i:03}"), format!("SECRETVALUE-{i:03}"))?;
    }
    db.remove("SECRETKEY-007")?;
    let before = db.stats()?.logical_size_bytes;
    db.compact()?;
    assert!(db.stats()?.logical_size_bytes < before);
    check(&db)?;
    let ranged: Vec<_> = db.range_prefix("SECRETKEY-00")?;
    assert_eq!(ranged.len(), 9);
    let backup = dir.path().join("backup.emdb");
    db.backup_to(&backup)?;
    db.insert("SECRETKEY-late", "late")?;
    drop(db);
    assert_hidden(&path);
    assert_hidden(&backup);
    check_with(&keyed(&path, KEY)?, 1)?;
    check(&keyed(&backup, KEY)?)?;
    assert!(matches!(keyed(&backup, OTHER), Err(Error::EncryptionKeyMismatch)));
    assert!(matches!(Emdb::open(&backup), Err(Error::InvalidConfig(_))));
    Ok(())
}

#[test]
fn ttl_and_namespaces_under_encryption() -> emdb::Result<()> {
    let (_dir, path) = temp_path("ttl.emdb");
    // A test clock moved past the short TTL instead of a sleep.
    let clock = emdb_core::TestClock::new();
    let db = Emdb::builder()
        .path(&path)
        .encryption_key(KEY)
        .clock(clock.clone())
        .build()?;
    db.insert_with_ttl(
        "short",
        "gone soon",
        emdb::Ttl::After(std::time::Duration::from_millis(30)),
    )?;
    assert_eq!(db.get("short")?.as_deref(), Some(&b"gone soon"[..]));
    db.insert_with_ttl("long", "stays", emdb::Ttl::After(std::time::Duration::from_secs(3600)))?;
    let users = db.namespace("users")?;
    users.insert("alice", "1")?;
    let orders = db.namespace("orders")?;
    orders.insert("o1", "x")?;
    assert!(db.drop_namespace("orders")?);
    let expiry = db.expires_at("long")?.expect("has a ttl");
    db.flush()?;
    clock.advance(std::time::Duration::from_millis(30));
    assert_eq!(db.get("short")?, None);
    drop((db, users, orders));
    forge::assert_nowhere(&path, b"users");
    forge::assert_nowhere(&path, b"alice");
    let db = Emdb::builder()
        .path(&path)
        .encryption_key(KEY)
        .clock(clock.clone())
        .build()?;
    assert_eq!(db.get("short")?, None);
    assert_eq!(db.expires_at("long")?, Some(expiry));
    assert_eq!(db.list_namespaces()?, vec![String::new(), "users".to_owned()]);
    assert_eq!(db.namespace("users")?.get("alice")?.as_deref(), Some(&b"1"[..]));
    assert!(db.persist("long")?);
    assert_eq!(db.expires_at("long")?, Some(0));
    Ok(())
}

#[test]
fn transactions_and_batches_are_sealed_and_atomic() -> emdb::Result<()> {
    let (_dir, path) = temp_path("tx.emdb");
    let db = keyed(&path, KEY)?;
    db.transaction(|tx| {
        tx.insert("SECRETKEY-tx1", "SECRETVALUE-tx1")?;
        tx.insert("SECRETKEY-tx2", "SECRETVALUE-tx2")?;
        tx.remove("missing")?;
        Ok(())
    })?;
    db.clear()?;
    db.insert("SECRETKEY-kept", "SECRETVALUE-kept")?;
    db.flush()?;
    drop(db);
    assert_hidden(&path);
    let db = keyed(&path, KEY)?;
    assert_eq!(db.len()?, 1);
    assert_eq!(db.get("SECRETKEY-kept")?.as_deref(), Some(&b"SECRETVALUE-kept"[..]));
    Ok(())
}

fn legacy_records() -> Vec<Vec<u8>> {
    vec![
        forge::plain_insert(0, b"k1", b"legacy-one", 0),
        forge::plain_bind(1, b"things"),
        forge::plain_insert(1, b"thing", b"legacy-ns", 0),
        forge::plain_insert(0, b"k2", b"legacy-two", 0),
        forge::plain_insert(0, b"k1", b"legacy-one-v2", 0),
    ]
}

fn check_legacy(db: &Emdb) -> emdb::Result<()> {
    assert_eq!(db.get("k1")?.as_deref(), Some(&b"legacy-one-v2"[..]));
    assert_eq!(db.get("k2")?.as_deref(), Some(&b"legacy-two"[..]));
    assert_eq!(
        db.namespace("things")?.get("thing")?.as_deref(),
        Some(&b"legacy-ns"[..])
    );
    Ok(())
}

#[test]
fn emdb_1_encrypted_databases_open_with_their_key_and_upgrade_on_compaction() -> emdb::Result<()> {
    for cipher in [LegacyCipher::Aes, LegacyCipher::ChaCha] {
        let (_dir, path) = temp_path("v1.emdb");
        forge::write_legacy_db(&path, cipher, &KEY, [3; 16], &legacy_records());
        assert!(matches!(keyed(&path, OTHER), Err(Error::EncryptionKeyMismatch)));
        assert!(matches!(Emdb::open(&path), Err(Error::InvalidConfig(_))));
        let db = keyed(&path, KEY)?;
        check_legacy(&db)?;
        db.insert("k3", "ours")?;
        db.flush()?;
        drop(db);
        let db = keyed(&path, KEY)?;
        check_legacy(&db)?;
        assert_eq!(db.get("k3")?.as_deref(), Some(&b"ours"[..]));
        db.compact()?;
        drop(db);
        let log = std::fs::read(&path)?;
        // Compaction writes batch frames (tag 0xBB); their first record follows the
        // six-byte batch header and its length (a varint: its bytes up to the first
        // without the high bit).
        let first_tags: Vec<u8> = forge::frames(&log)
            .iter()
            .map(|f| match log[f.payload.start] {
                0xBB => {
                    let len_at = f.payload.start + 6;
                    let len_bytes = log[len_at..].iter().take_while(|b| **b & 0x80 != 0).count() + 1;
                    log[len_at + len_bytes]
                }
                tag => tag,
            })
            .collect();
        assert!(
            first_tags.iter().all(|t| t & 0x80 == 0),
            "compaction rewrote every emdb 1.0 record: {first_tags:x?}"
        );
        let db = keyed(&path, KEY)?;
        check_legacy(&db)?;
        assert_eq!(db.get("k3")?.as_deref(), Some(&b"ours"[..]));
    }
    Ok(())
}

#[test]
fn emdb_1_passphrase_databases_keep_their_passphrase() -> emdb::Result<()> {
    let (_dir, path) = temp_path("v1p.emdb");
    let salt = [0x11; 16];
    let key = forge::legacy_derive("old passphrase", &salt);
    forge::write_legacy_db(&path, LegacyCipher::Aes, &key, salt, &legacy_records());
    assert!(matches!(
        with_passphrase(&path, "wrong passphrase"),
        Err(Error::EncryptionKeyMismatch)
    ));
    check_legacy(&with_passphrase(&path, "old passphrase")?)?;
    // The sidecar is ours now (version 2), with emdb 1.0's key-derivation settings kept.
    check_legacy(&with_passphrase(&path, "old passphrase")?)?;
    Ok(())
}

#[test]
fn a_tampered_emdb_1_record_is_an_error() -> emdb::Result<()> {
    let (_dir, path) = temp_path("v1t.emdb");
    forge::write_legacy_db(&path, LegacyCipher::Aes, &KEY, [3; 16], &legacy_records());
    let mut log = std::fs::read(&path)?;
    let frames = forge::frames(&log);
    log[frames[3].payload.start + 15] ^= 0x02;
    forge::fix_crc(&mut log, &frames[3]);
    std::fs::write(&path, &log)?;
    assert!(matches!(keyed(&path, KEY), Err(Error::Corrupted { .. })));
    Ok(())
}

#[test]
fn emdb_1_records_are_refused_in_a_database_that_never_held_any() -> emdb::Result<()> {
    let (_dir, path) = temp_path("mix.emdb");
    three_frames(&path)?;
    // A legacy-looking record sealed under the right key, appended as a new frame.
    let mut log = std::fs::read(&path)?;
    let end = forge::log_end(&log);
    let plain = forge::plain_insert(0, b"a", b"injected", 0);
    let mut payload = vec![0x80];
    payload.extend_from_slice(&forge::legacy_seal(LegacyCipher::Aes, &KEY, [1; 12], &plain[1..]));
    let frame = forge::frame_of(&payload);
    log.truncate(end);
    log.extend_from_slice(&frame);
    std::fs::write(&path, &log)?;
    reopen_fails_as_corrupted(&path);
    Ok(())
}

#[test]
fn concurrent_writers_and_readers_on_an_encrypted_database() -> emdb::Result<()> {
    let (_dir, path) = temp_path("conc.emdb");
    let db = keyed(&path, KEY)?;
    std::thread::scope(|s| -> emdb::Result<()> {
        let mut workers = Vec::new();
        for t in 0..4u32 {
            let db = db.clone();
            workers.push(s.spawn(move || -> emdb::Result<()> {
                for i in 0..300u32 {
                    let key = format!("t{t}-{i}");
                    if i % 10 == 0 {
                        db.insert_many((0..5).map(|j| (format!("{key}-b{j}"), format!("{t}:{i}:{j}"))))?;
                    } else {
                        db.insert(key.as_str(), format!("{t}:{i}"))?;
                    }
                    if i % 7 == 0 {
                        let other = format!("t{}-{}", (t + 1) % 4, i / 2);
                        if let Some(v) = db.get(&other)? {
                            assert!(v.starts_with(format!("{}:", (t + 1) % 4).as_bytes()));
                        }
                    }
                }
                Ok(())
            }));
        }
        for w in workers {
            w.join().expect("worker panicked")?;
        }
        Ok(())
    })?;
    let expected = 4 * (270 + 30 * 5);
    assert_eq!(db.len()?, expected);
    db.compact()?;
    drop(db);
    let db = keyed(&path, KEY)?;
    assert_eq!(db.len()?, expected);
    assert_eq!(db.get("t2-13")?.as_deref(), Some(&b"2:13"[..]));
    assert_eq!(db.get("t3-20-b4")?.as_deref(), Some(&b"3:20:4"[..]));
    Ok(())
}
