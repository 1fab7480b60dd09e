//! The offline encryption admin: enable, disable and rotate, their options and errors, and
//! the swap's completion from every intermediate state (the kill test is in
//! `encryption_admin_crash.rs`).
#![cfg(feature = "encrypt")]

mod common;

use std::path::Path;

use common::admin::{Access, NEW, OLD, leftovers, make, verify};
use common::forge;
use common::{sibling, temp_path};
use emdb::{AdminOptions, Cipher, Emdb, EncryptionInput, Error};

#[test]
fn enable_disable_and_rotate_round_trip_without_backups_by_default() -> emdb::Result<()> {
    let (_dir, path) = temp_path("a.emdb");
    make(&path, &Access::Plain)?;
    let db = Access::Plain.open(&path)?;
    db.checkpoint()?;
    drop(db);

    Emdb::enable_encryption(&path, EncryptionInput::Key(OLD))?;
    assert_eq!(leftovers(&path), Vec::<String>::new());
    for needle in [&b"PLAINKEY"[..], b"PLAINVALUE", b"PLAINNS"] {
        forge::assert_nowhere(&path, needle);
    }
    assert!(matches!(Emdb::open(&path), Err(Error::InvalidConfig(_))));
    let db = Access::key(OLD).open(&path)?;
    verify(&db)?;
    assert!(db.stats()?.encrypted);
    drop(db);

    Emdb::rotate_encryption_key(
        &path,
        EncryptionInput::Key(OLD),
        EncryptionInput::Passphrase("new pass".into()),
    )?;
    assert_eq!(leftovers(&path), Vec::<String>::new());
    assert!(matches!(
        Access::key(OLD).open(&path),
        Err(Error::EncryptionKeyMismatch)
    ));
    let pass = Access::Input(EncryptionInput::Passphrase("new pass".into()));
    verify(&pass.open(&path)?)?;

    Emdb::disable_encryption(&path, EncryptionInput::Passphrase("new pass".into()))?;
    assert_eq!(leftovers(&path), Vec::<String>::new());
    let db = Emdb::open(&path)?;
    verify(&db)?;
    assert!(!db.stats()?.encrypted);
    Ok(())
}

#[test]
fn keeping_the_backup_leaves_the_old_database_openable_beside_the_new() -> emdb::Result<()> {
    let (_dir, path) = temp_path("a.emdb");
    make(&path, &Access::Plain)?;
    Emdb::enable_encryption_with(
        &path,
        EncryptionInput::Key(OLD),
        AdminOptions::new().keep_backup(true).cipher(Cipher::ChaCha20Poly1305),
    )?;
    let bak = sibling(&path, ".encbak");
    assert!(bak.exists() && sibling(&path, ".encbak.meta").exists());
    // The kept backup is the plaintext database, as asked.
    verify(&Emdb::open(&bak)?)?;
    verify(&Access::key(OLD).open(&path)?)?;

    Emdb::rotate_encryption_key_with(
        &path,
        EncryptionInput::Key(OLD),
        EncryptionInput::Key(NEW),
        AdminOptions::new().keep_backup(true),
    )?;
    verify(&Access::key(OLD).open(&bak)?)?;
    verify(&Access::key(NEW).open(&path)?)?;
    Ok(())
}

#[test]
fn admin_errors_leave_the_database_as_it_was() -> emdb::Result<()> {
    let (dir, path) = temp_path("a.emdb");
    assert!(matches!(
        Emdb::enable_encryption(&path, EncryptionInput::Key(OLD)),
        Err(Error::InvalidConfig(_))
    ));
    assert!(!path.exists(), "no database is created by a refused admin run");
    make(&path, &Access::key(OLD))?;
    // The log's frames (an open may reserve more zeroed space past them).
    let frames_of = |path: &Path| -> std::io::Result<Vec<u8>> {
        let log = std::fs::read(path)?;
        Ok(log[..forge::log_end(&log)].to_vec())
    };
    let before = frames_of(&path)?;
    assert!(matches!(
        Emdb::enable_encryption(&path, EncryptionInput::Key(NEW)),
        Err(Error::InvalidConfig(_))
    ));
    assert!(matches!(
        Emdb::disable_encryption(&path, EncryptionInput::Key(NEW)),
        Err(Error::EncryptionKeyMismatch)
    ));
    assert!(matches!(
        Emdb::rotate_encryption_key(&path, EncryptionInput::Key(NEW), EncryptionInput::Key(OLD)),
        Err(Error::EncryptionKeyMismatch)
    ));
    assert!(matches!(
        Emdb::rotate_encryption_key(
            &path,
            EncryptionInput::Key(OLD),
            EncryptionInput::Passphrase(String::new())
        ),
        Err(Error::InvalidConfig(_))
    ));
    {
        let _open = Access::key(OLD).open(&path)?;
        assert!(matches!(
            Emdb::disable_encryption(&path, EncryptionInput::Key(OLD)),
            Err(Error::LockBusy { .. })
        ));
    }
    assert!(frames_of(&path)? == before, "a refused admin run changed the log");
    assert_eq!(leftovers(&path), Vec::<String>::new());

    let plain = dir.path().join("plain.emdb");
    make(&plain, &Access::Plain)?;
    assert!(matches!(
        Emdb::disable_encryption(&plain, EncryptionInput::Key(OLD)),
        Err(Error::InvalidConfig(_))
    ));
    assert!(matches!(
        Emdb::rotate_encryption_key(&plain, EncryptionInput::Key(OLD), EncryptionInput::Key(NEW)),
        Err(Error::InvalidConfig(_))
    ));
    // An empty plaintext database is not set up encrypted by an admin run that expects
    // an encrypted one.
    let empty = dir.path().join("empty.emdb");
    drop(Emdb::open(&empty)?);
    assert!(Emdb::disable_encryption(&empty, EncryptionInput::Key(OLD)).is_err());
    assert!(!Emdb::open(&empty)?.stats()?.encrypted);
    verify(&Emdb::open(&plain)?)?;
    Ok(())
}

/// The files of a finished enable run, as they were just before the swap: the old
/// plaintext database at `path`, the new encrypted one in `.enc.tmp` (+`.meta`).
fn staged(path: &Path) -> emdb::Result<()> {
    make(path, &Access::Plain)?;
    let dir = path.parent().expect("dir");
    let new = dir.join("new.emdb");
    make(&new, &Access::key(NEW))?;
    std::fs::rename(&new, sibling(path, ".enc.tmp"))?;
    std::fs::rename(sibling(&new, ".meta"), sibling(path, ".enc.tmp.meta"))?;
    for suffix in [".lock", ".index"] {
        let _ = std::fs::remove_file(sibling(&new, suffix));
    }
    Ok(())
}

#[test]
fn open_finishes_a_swap_interrupted_after_any_step() -> emdb::Result<()> {
    let moves: [(&str, &str); 4] = [
        (".meta", ".encbak.meta"),
        ("", ".encbak"),
        (".enc.tmp.meta", ".meta"),
        (".enc.tmp", ""),
    ];
    for done in 0..=moves.len() {
        for keep in [false, true] {
            let (_dir, path) = temp_path("s.emdb");
            staged(&path)?;
            std::fs::write(
                sibling(&path, ".encadmin"),
                format!("emdb-encadmin v1\nkeep_backup={}\n", u8::from(keep)),
            )?;
            for (from, to) in &moves[..done] {
                std::fs::rename(sibling(&path, from), sibling(&path, to))?;
            }
            // The old key no longer opens (the new database is the truth); the new does.
            assert!(Emdb::open(&path).is_err(), "after {done} steps the old database opened");
            verify(&Access::key(NEW).open(&path)?)?;
            let left = leftovers(&path);
            if keep {
                assert_eq!(
                    left,
                    vec![".encbak".to_owned(), ".encbak.meta".to_owned()],
                    "{done} steps"
                );
                verify(&Emdb::open(sibling(&path, ".encbak"))?)?;
            } else {
                assert_eq!(left, Vec::<String>::new(), "{done} steps");
            }
        }
    }
    Ok(())
}

#[test]
fn scratch_without_a_marker_is_discarded_and_the_old_database_kept() -> emdb::Result<()> {
    let (_dir, path) = temp_path("s.emdb");
    staged(&path)?;
    verify(&Emdb::open(&path)?)?;
    assert_eq!(leftovers(&path), Vec::<String>::new());
    Ok(())
}

#[test]
fn a_lost_database_with_a_backup_beside_it_is_not_replaced_by_an_empty_one() -> emdb::Result<()> {
    let (_dir, path) = temp_path("s.emdb");
    make(&path, &Access::Plain)?;
    std::fs::rename(&path, sibling(&path, ".encbak"))?;
    std::fs::rename(sibling(&path, ".meta"), sibling(&path, ".encbak.meta"))?;
    assert!(matches!(Emdb::open(&path), Err(Error::InvalidConfig(_))));
    assert!(!path.exists() || std::fs::metadata(&path)?.len() == 0);
    // Restoring it is the user's call: rename it back.
    std::fs::rename(sibling(&path, ".encbak"), &path)?;
    std::fs::rename(sibling(&path, ".encbak.meta"), sibling(&path, ".meta"))?;
    verify(&Emdb::open(&path)?)?;
    Ok(())
}

#[test]
fn a_marker_without_our_header_is_emdb_1s_and_is_finished() -> emdb::Result<()> {
    // emdb 1.0's marker (any text without our header) with nothing left to rename: the
    // open removes it and the database is as it was (tests/encadmin_emdb1.rs covers the
    // interrupted renames).
    let (_dir, path) = temp_path("s.emdb");
    make(&path, &Access::Plain)?;
    std::fs::write(sibling(&path, ".encadmin"), "something else\n")?;
    verify(&Emdb::open(&path)?)?;
    assert!(!sibling(&path, ".encadmin").exists());
    Ok(())
}
