//! `Debug` never shows a secret: the builder shows an unset key or passphrase as `None`
//! and a set one as `Some(<redacted>)` (as emdb 1.0.3 does), and nothing that holds a key
//! or passphrase (builder, `EncryptionInput`, `AdminOptions`, an open handle, a namespace,
//! a transaction, the errors of a refused open) prints its bytes in any form.
#![cfg(feature = "encrypt")]

mod common;

use common::temp_path;
use emdb::{AdminOptions, Cipher, Emdb, EncryptionInput};
use emdb_v1 as v1;

/// A key whose bytes are easy to spot however they are printed.
const KEY: [u8; 32] = *b"KEYBYTES-must-never-be-printed!!";
const OTHER: [u8; 32] = *b"OTHERKEY-must-never-be-printed!!";
const PASSPHRASE: &str = "correct horse battery staple";

/// Panics if `shown` holds any rendering of `KEY`, `OTHER` or `PASSPHRASE`: as text,
/// as decimal bytes (`75, 69, 89`), or as hex (`4b4559`, `0x4b, 0x45`, `4b, 45`).
fn assert_no_secret(what: &str, shown: &str) {
    // Whitespace dropped, so that pretty (`{:#?}`) lists match as well.
    let lower: String = shown.to_lowercase().chars().filter(|c| !c.is_whitespace()).collect();
    for key in [KEY, OTHER] {
        let text = String::from_utf8_lossy(&key[..8]).to_lowercase();
        let decimal = key[..3].iter().map(u8::to_string).collect::<Vec<_>>().join(",");
        let hex: String = key[..3].iter().map(|b| format!("{b:02x}")).collect();
        let hex_list = key[..3]
            .iter()
            .map(|b| format!("{b:#04x}"))
            .collect::<Vec<_>>()
            .join(",");
        let bare_hex_list = key[..3]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(",");
        for needle in [text, decimal, hex, hex_list, bare_hex_list] {
            assert!(!lower.contains(&needle), "{what} shows {needle:?}: {shown}");
        }
    }
    assert!(!lower.contains("correcthorse"), "{what} shows the passphrase: {shown}");
}

/// The checker itself catches each rendering of a secret (so a pass above means something).
#[test]
fn the_checker_catches_every_rendering() {
    let renderings = [
        format!("{KEY:?}"),
        format!("{KEY:x?}"),
        format!("{:#04x?}", &KEY[..3]),
        String::from_utf8_lossy(&KEY).into_owned(),
        format!("{:?}", String::from_utf8_lossy(&OTHER)),
        PASSPHRASE.to_owned(),
    ];
    for shown in renderings {
        let caught = std::panic::catch_unwind(|| assert_no_secret("probe", &shown));
        assert!(caught.is_err(), "missed: {shown}");
    }
}

#[test]
fn the_builder_shows_none_or_redacted_as_v1_does() {
    let unset = format!("{:?}", Emdb::builder().path("x.emdb"));
    assert!(unset.contains("encryption_key: None"), "{unset}");
    assert!(unset.contains("encryption_passphrase: None"), "{unset}");
    assert!(unset.contains("x.emdb"), "{unset}");

    let keyed = format!("{:?}", Emdb::builder().encryption_key(KEY));
    assert!(keyed.contains("encryption_key: Some(<redacted>)"), "{keyed}");
    assert!(keyed.contains("encryption_passphrase: None"), "{keyed}");
    assert_no_secret("keyed builder", &keyed);

    let pass = format!("{:?}", Emdb::builder().encryption_passphrase(PASSPHRASE));
    assert!(pass.contains("encryption_passphrase: Some(<redacted>)"), "{pass}");
    assert!(pass.contains("encryption_key: None"), "{pass}");
    assert_no_secret("passphrase builder", &pass);

    // emdb 1.0.3 renders the same fields the same way.
    let old_unset = format!("{:?}", v1::Emdb::builder().path("x.emdb"));
    assert!(old_unset.contains("encryption_key: None"), "{old_unset}");
    let old_keyed = format!("{:?}", v1::Emdb::builder().encryption_key(KEY));
    assert!(old_keyed.contains("encryption_key: Some(<redacted>)"), "{old_keyed}");

    let both = format!(
        "{:#?}",
        Emdb::builder()
            .encryption_key(KEY)
            .encryption_passphrase(PASSPHRASE)
            .cipher(Cipher::ChaCha20Poly1305)
    );
    assert_no_secret("pretty builder", &both);
}

#[test]
fn inputs_options_handles_and_errors_never_show_a_secret() -> emdb::Result<()> {
    assert_eq!(format!("{:?}", EncryptionInput::Key(KEY)), "Key(<redacted>)");
    assert_eq!(
        format!("{:?}", EncryptionInput::Passphrase(PASSPHRASE.into())),
        "Passphrase(<redacted>)"
    );
    assert_no_secret("input", &format!("{:#?}", EncryptionInput::Key(KEY)));
    assert_no_secret(
        "options",
        &format!("{:?}", AdminOptions::new().keep_backup(true).cipher(Cipher::Aes256Gcm)),
    );

    let (_dir, path) = temp_path("secret.emdb");
    let db = Emdb::builder().path(&path).encryption_key(KEY).build()?;
    db.insert("k", "v")?;
    assert_no_secret("handle", &format!("{db:?} {db:#?}"));
    let ns = db.namespace("ns")?;
    assert_no_secret("namespace", &format!("{ns:?}"));
    let in_tx = db.transaction(|tx| {
        tx.insert("t", "v")?;
        Ok(format!("{tx:?}"))
    })?;
    assert_no_secret("transaction", &in_tx);
    drop(ns);
    drop(db);

    // A refused open's error names the problem, not the key that was tried.
    let wrong = Emdb::builder().path(&path).encryption_key(OTHER).build();
    let err = wrong.expect_err("the wrong key is refused");
    assert_no_secret("wrong-key error", &format!("{err:?} {err}"));
    let wrong_pass = Emdb::builder().path(&path).encryption_passphrase(PASSPHRASE).build();
    let err = wrong_pass.expect_err("a passphrase for a keyed database is refused");
    assert_no_secret("passphrase error", &format!("{err:?} {err}"));
    Ok(())
}
