//! What the encryption admin tests share: how a database is opened, a data set to fill
//! it with and check, and the admin's scratch files.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::Path;

use emdb::{Emdb, EncryptionInput};

use super::sibling;

pub const OLD: [u8; 32] = [0x01; 32];
pub const NEW: [u8; 32] = [0x02; 32];

/// How a database is opened: without a key, or with one of these inputs.
#[derive(Clone, Debug)]
pub enum Access {
    Plain,
    Input(EncryptionInput),
}

impl Access {
    pub fn key(key: [u8; 32]) -> Access {
        Access::Input(EncryptionInput::Key(key))
    }

    pub fn open(&self, path: &Path) -> emdb::Result<Emdb> {
        match self {
            Access::Plain => Emdb::open(path),
            Access::Input(EncryptionInput::Key(k)) => Emdb::builder().path(path).encryption_key(*k).build(),
            Access::Input(EncryptionInput::Passphrase(p)) => {
                Emdb::builder().path(path).encryption_passphrase(p.as_str()).build()
            }
            Access::Input(_) => unreachable!("no other inputs exist"),
        }
    }
}

pub const RECORDS: usize = 400;

pub fn populate(db: &Emdb) -> emdb::Result<()> {
    db.insert_many((0..RECORDS).map(|i| {
        (
            format!("PLAINKEY-{i:05}"),
            format!("PLAINVALUE-{i:05}-{}", "x".repeat(60)),
        )
    }))?;
    db.namespace("PLAINNS")?.insert("k", "PLAINNSVALUE")?;
    for i in 0..20 {
        db.remove(format!("PLAINKEY-{i:05}"))?;
    }
    db.flush()
}

pub fn verify(db: &Emdb) -> emdb::Result<()> {
    assert_eq!(db.len()?, RECORDS - 20);
    assert_eq!(db.get("PLAINKEY-00019")?, None);
    assert_eq!(
        db.get("PLAINKEY-00020")?,
        Some(format!("PLAINVALUE-00020-{}", "x".repeat(60)).into_bytes())
    );
    assert_eq!(
        db.namespace("PLAINNS")?.get("k")?.as_deref(),
        Some(&b"PLAINNSVALUE"[..])
    );
    Ok(())
}

pub fn make(path: &Path, access: &Access) -> emdb::Result<()> {
    populate(&access.open(path)?)
}

pub fn leftovers(path: &Path) -> Vec<String> {
    [
        ".enc.tmp",
        ".enc.tmp.meta",
        ".encadmin",
        ".encadmin.tmp",
        ".encbak",
        ".encbak.meta",
    ]
    .into_iter()
    .filter(|s| sibling(path, s).exists())
    .map(str::to_owned)
    .collect()
}
