//! Databases written by emdb 1.0.3 itself (a dev-dependency) open here and read exactly as
//! emdb 1.0.3 reads them: every key, value, namespace and expiry, plain and encrypted,
//! after 1.0's compaction and key rotation, with a torn tail, with a `.corrupt-<offset>`
//! file beside them. Writing continues in our format, after which emdb 1.0.3 refuses the
//! file with its version error.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::sibling;
use emdb_v1 as v1;
use fastrand::Rng;

/// Every live entry of every namespace ("" is the default): key → (value, expiry as
/// `expires_at` reports it).
type Model = BTreeMap<String, BTreeMap<Vec<u8>, (Vec<u8>, Option<u64>)>>;

/// How a fixture is encrypted, in both crates' terms.
#[derive(Clone, Debug)]
enum Key {
    None,
    Raw([u8; 32]),
    Pass(&'static str),
}

impl Key {
    fn v1_builder(&self, path: &Path, chacha: bool) -> v1::EmdbBuilder {
        let b = v1::Emdb::builder().path(path);
        let b = match self {
            Key::None => return b,
            Key::Raw(k) => b.encryption_key(*k),
            Key::Pass(p) => b.encryption_passphrase(*p),
        };
        if chacha {
            b.cipher(v1::Cipher::ChaCha20Poly1305)
        } else {
            b
        }
    }

    fn v1_input(&self) -> v1::EncryptionInput {
        match self {
            Key::None => unreachable!("no input for a plain database"),
            Key::Raw(k) => v1::EncryptionInput::Key(*k),
            Key::Pass(p) => v1::EncryptionInput::Passphrase((*p).to_owned()),
        }
    }

    fn open_ours(&self, path: &Path) -> emdb::Result<emdb::Emdb> {
        let b = emdb::Emdb::builder().path(path);
        match self {
            Key::None => b.build(),
            #[cfg(feature = "encrypt")]
            Key::Raw(k) => b.encryption_key(*k).build(),
            #[cfg(feature = "encrypt")]
            Key::Pass(p) => b.encryption_passphrase(*p).build(),
            #[cfg(not(feature = "encrypt"))]
            _ => unreachable!("encrypted fixtures need the encrypt feature"),
        }
    }
}

/// What a fixture goes through in emdb 1.0.3.
#[derive(Clone, Debug)]
struct Fixture {
    seed: u64,
    key: Key,
    chacha: bool,
    /// Compact halfway through (emdb 1.0's compaction rewrites the file).
    compact: bool,
    /// Rotate to this key afterwards (emdb 1.0's offline admin).
    rotate_to: Option<Key>,
}

impl Fixture {
    fn plain(seed: u64) -> Fixture {
        Fixture {
            seed,
            key: Key::None,
            chacha: false,
            compact: false,
            rotate_to: None,
        }
    }

    /// The key the database has at the end.
    fn final_key(&self) -> &Key {
        self.rotate_to.as_ref().unwrap_or(&self.key)
    }
}

const NAMESPACES: [&str; 3] = ["users", "orders", "scratch"];

fn key_of(rng: &mut Rng) -> String {
    format!("key-{:03}", rng.u64(0..120))
}

fn value_of(rng: &mut Rng, i: u64) -> Vec<u8> {
    let len = rng.u64(0..300) as usize;
    let mut v = format!("v{i}:").into_bytes();
    v.extend((0..len).map(|j| (j as u8).wrapping_mul(31) ^ (i as u8)));
    v
}

/// Writes the fixture at `path` with emdb 1.0.3: a seeded mix of every kind of write.
fn write_with_v1(path: &Path, f: &Fixture) {
    let db = f.key.v1_builder(path, f.chacha).build().expect("v1 open");
    let mut rng = Rng::with_seed(f.seed);
    let hour = Duration::from_secs(3600);
    for i in 0..700u64 {
        match rng.u64(0..100) {
            0..=34 => db.insert(key_of(&mut rng), value_of(&mut rng, i)).expect("insert"),
            35..=42 => db
                .insert_with_ttl(key_of(&mut rng), value_of(&mut rng, i), v1::Ttl::After(hour))
                .expect("ttl insert"),
            43..=45 => db
                .insert_with_ttl(
                    key_of(&mut rng),
                    value_of(&mut rng, i),
                    v1::Ttl::After(Duration::from_millis(1)),
                )
                .expect("short ttl insert"),
            46..=54 => {
                db.remove(key_of(&mut rng)).expect("remove");
            }
            55..=56 => {
                db.persist(key_of(&mut rng)).expect("persist");
            }
            57..=72 => {
                let ns = db.namespace(NAMESPACES[rng.u64(0..3) as usize]).expect("namespace");
                match rng.u64(0..4) {
                    0 => {
                        ns.remove(key_of(&mut rng)).expect("ns remove");
                    }
                    1 => ns
                        .insert_with_ttl(key_of(&mut rng), value_of(&mut rng, i), v1::Ttl::After(hour))
                        .expect("ns ttl insert"),
                    _ => ns.insert(key_of(&mut rng), value_of(&mut rng, i)).expect("ns insert"),
                }
            }
            73..=80 => {
                let items: Vec<(String, Vec<u8>)> = (0..rng.u64(1..8))
                    .map(|_| (key_of(&mut rng), value_of(&mut rng, i)))
                    .collect();
                db.insert_many(items).expect("insert_many");
            }
            81..=88 => {
                let (a, b) = (key_of(&mut rng), key_of(&mut rng));
                let (va, vb) = (value_of(&mut rng, i), value_of(&mut rng, i + 1));
                db.transaction(|tx| {
                    tx.insert(a.as_str(), va.clone())?;
                    tx.remove(b.as_str())?;
                    tx.insert(format!("tx-{i}"), vb.clone())
                })
                .expect("transaction");
            }
            89..=90 => {
                db.drop_namespace("scratch").expect("drop namespace");
            }
            91 => db.namespace("orders").expect("ns").clear().expect("ns clear"),
            92..=93 => db.flush().expect("flush"),
            _ => db
                .insert(format!("fixed-{}", i % 7), value_of(&mut rng, i))
                .expect("insert"),
        }
        if f.compact && i == 350 {
            db.compact().expect("v1 compact");
        }
    }
    db.flush().expect("flush");
    drop(db);
    if let Some(to) = &f.rotate_to {
        v1::Emdb::rotate_encryption_key(path, f.key.v1_input(), to.v1_input()).expect("v1 rotate");
    }
}

/// Copies the database at `from` (log, sidecar, and any `.corrupt-*` files) to `to`.
fn copy_db(from: &Path, to: &Path) {
    std::fs::copy(from, to).expect("copy log");
    let meta = sibling(from, ".meta");
    if meta.exists() {
        std::fs::copy(&meta, sibling(to, ".meta")).expect("copy meta");
    }
    let dir = from.parent().expect("dir");
    let name = from.file_name().expect("name").to_string_lossy().into_owned();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let other = entry.file_name().to_string_lossy().into_owned();
        if let Some(suffix) = other.strip_prefix(&name)
            && suffix.starts_with(".corrupt-")
        {
            std::fs::copy(entry.path(), sibling(to, suffix)).expect("copy corrupt file");
        }
    }
}

/// What emdb 1.0.3 reads from (a copy of) the database.
fn read_with_v1(path: &Path, key: &Key, chacha: bool) -> Result<Model, String> {
    let db = key.v1_builder(path, chacha).build().map_err(|e| e.to_string())?;
    let mut model = Model::new();
    for name in db.list_namespaces().map_err(|e| e.to_string())? {
        let mut entries = BTreeMap::new();
        if name.is_empty() {
            for (k, v) in db.iter().map_err(|e| e.to_string())? {
                let exp = db.expires_at(&k).map_err(|e| e.to_string())?;
                entries.insert(k, (v, exp));
            }
        } else {
            let ns = db.namespace(&name).map_err(|e| e.to_string())?;
            for (k, v) in ns.iter().map_err(|e| e.to_string())? {
                let exp = ns.expires_at(&k).map_err(|e| e.to_string())?;
                entries.insert(k, (v, exp));
            }
        }
        model.insert(name, entries);
    }
    Ok(model)
}

/// What we read from (a copy of) the database.
fn read_with_ours(db: &emdb::Emdb) -> emdb::Result<Model> {
    let mut model = Model::new();
    for name in db.list_namespaces()? {
        let mut entries = BTreeMap::new();
        if name.is_empty() {
            for (k, v) in db.iter()? {
                let exp = db.expires_at(&k)?;
                entries.insert(k, (v, exp));
            }
        } else {
            let ns = db.namespace(&name)?;
            for (k, v) in ns.iter()? {
                let exp = ns.expires_at(&k)?;
                entries.insert(k, (v, exp));
            }
        }
        model.insert(name, entries);
    }
    Ok(model)
}

fn summary(m: &Model) -> String {
    m.iter()
        .map(|(n, e)| format!("{n:?}: {} keys", e.len()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes `f` with emdb 1.0.3 into `dir`, then checks that we read exactly what emdb 1.0.3
/// reads, that writing goes on, and that emdb 1.0.3 then refuses the file.
fn check_fixture(dir: &Path, f: &Fixture) -> emdb::Result<()> {
    let path = dir.join("v1.emdb");
    write_with_v1(&path, f);
    let key = f.final_key();
    let theirs_path = dir.join("theirs.emdb");
    copy_db(&path, &theirs_path);
    let theirs = read_with_v1(&theirs_path, key, f.chacha).expect("emdb 1.0.3 reads its own file");
    assert!(
        theirs.values().map(BTreeMap::len).sum::<usize>() > 50,
        "the fixture holds data"
    );

    let db = key.open_ours(&path)?;
    let ours = read_with_ours(&db)?;
    assert!(
        ours == theirs,
        "{f:?}: we read {} where emdb 1.0.3 reads {}",
        summary(&ours),
        summary(&theirs)
    );
    // Writing goes on, in our format (batches, a clear), and survives a reopen.
    db.insert_many([("after-1", "a"), ("after-2", "b")])?;
    db.namespace("users")?.insert("after-ns", "c")?;
    db.remove("fixed-3")?;
    db.checkpoint()?;
    drop(db);
    let db = key.open_ours(&path)?;
    let mut expected = theirs;
    let default = expected.entry(String::new()).or_default();
    default.insert(b"after-1".to_vec(), (b"a".to_vec(), Some(0)));
    default.insert(b"after-2".to_vec(), (b"b".to_vec(), Some(0)));
    default.remove(&b"fixed-3"[..]);
    expected
        .entry("users".to_owned())
        .or_default()
        .insert(b"after-ns".to_vec(), (b"c".to_vec(), Some(0)));
    assert!(read_with_ours(&db)? == expected, "{f:?}: writes after the switch");
    drop(db);
    // emdb 1.0.3 now refuses the file with its version error, and reads nothing wrong.
    match f.key.v1_builder(&path, f.chacha).build() {
        Err(e) => assert!(e.to_string().to_lowercase().contains("version"), "{f:?}: {e}"),
        Ok(_) => panic!("{f:?}: emdb 1.0.3 opened a file in our format"),
    }
    Ok(())
}

#[test]
fn plain_databases_read_exactly_as_emdb_1_reads_them() -> emdb::Result<()> {
    for seed in [1u64, 2, 3] {
        let dir = tempfile::tempdir()?;
        check_fixture(dir.path(), &Fixture::plain(seed))?;
    }
    Ok(())
}

#[test]
fn a_database_compacted_by_emdb_1_reads_the_same() -> emdb::Result<()> {
    let dir = tempfile::tempdir()?;
    check_fixture(
        dir.path(),
        &Fixture {
            compact: true,
            ..Fixture::plain(11)
        },
    )
}

#[cfg(feature = "encrypt")]
#[test]
fn encrypted_databases_of_emdb_1_read_the_same() -> emdb::Result<()> {
    let fixtures = [
        Fixture {
            key: Key::Raw([0x11; 32]),
            ..Fixture::plain(21)
        },
        Fixture {
            key: Key::Pass("emdb one passphrase"),
            chacha: true,
            compact: true,
            ..Fixture::plain(22)
        },
        Fixture {
            key: Key::Raw([0x22; 32]),
            rotate_to: Some(Key::Pass("rotated passphrase")),
            ..Fixture::plain(23)
        },
    ];
    for f in &fixtures {
        let dir = tempfile::tempdir()?;
        check_fixture(dir.path(), f)?;
    }
    Ok(())
}

#[cfg(feature = "encrypt")]
#[test]
fn an_emdb_1_encrypted_database_refuses_the_wrong_key_and_a_plain_open() -> emdb::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("v1.emdb");
    let f = Fixture {
        key: Key::Raw([0x33; 32]),
        ..Fixture::plain(31)
    };
    write_with_v1(&path, &f);
    let before = std::fs::read(sibling(&path, ".meta"))?;
    assert!(matches!(
        Key::Raw([0x34; 32]).open_ours(&path),
        Err(emdb::Error::EncryptionKeyMismatch)
    ));
    assert!(matches!(emdb::Emdb::open(&path), Err(emdb::Error::InvalidConfig(_))));
    assert_eq!(
        std::fs::read(sibling(&path, ".meta"))?,
        before,
        "refused opens keep the sidecar"
    );
    Ok(())
}

/// A fixture and a place for the two copies of a damaged version of it.
fn damaged(dir: &Path, seed: u64, damage: impl Fn(&mut Vec<u8>)) -> (PathBuf, PathBuf) {
    let path = dir.join("v1.emdb");
    write_with_v1(&path, &Fixture::plain(seed));
    let mut log = std::fs::read(&path).expect("read log");
    damage(&mut log);
    std::fs::write(&path, &log).expect("write damaged log");
    let (theirs, ours) = (dir.join("theirs.emdb"), dir.join("ours.emdb"));
    copy_db(&path, &theirs);
    copy_db(&path, &ours);
    (theirs, ours)
}

#[test]
fn a_torn_tail_is_cut_as_emdb_1_cuts_it() -> emdb::Result<()> {
    for cut in [1usize, 5, 17] {
        let dir = tempfile::tempdir()?;
        let (theirs, ours) = damaged(dir.path(), 41, |log| {
            let len = log.len();
            log.truncate(len - cut);
        });
        let expected = read_with_v1(&theirs, &Key::None, false).expect("emdb 1.0.3 recovers");
        let db = emdb::Emdb::open(&ours)?;
        assert!(read_with_ours(&db)? == expected, "cut {cut}");
        // Both saved the cut bytes beside the file, under the same name.
        let saved = |p: &Path| {
            std::fs::read_dir(dir.path())
                .expect("dir")
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&*p.file_name().expect("name").to_string_lossy()) && n.contains(".corrupt-"))
                .map(|n| n.split_once(".corrupt-").map(|(_, o)| o.to_owned()).unwrap_or_default())
                .collect::<Vec<_>>()
        };
        assert_eq!(saved(&ours), saved(&theirs), "cut {cut}");
    }
    Ok(())
}

#[test]
fn a_database_emdb_1_already_cut_opens_with_its_corrupt_file_beside_it() -> emdb::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("v1.emdb");
    write_with_v1(&path, &Fixture::plain(51));
    let mut log = std::fs::read(&path)?;
    log.extend_from_slice(b"\x46\x53\x59\x01 a torn frame emdb 1.0 will cut");
    std::fs::write(&path, &log)?;
    // emdb 1.0.3 opens it: cuts the tail and saves it as <path>.corrupt-<offset>.
    drop(v1::Emdb::open(&path).expect("v1 recovers"));
    let corrupt: Vec<_> = std::fs::read_dir(dir.path())?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
        .map(|e| e.path())
        .collect();
    assert_eq!(corrupt.len(), 1, "emdb 1.0.3 saved the cut tail");
    let saved = std::fs::read(&corrupt[0])?;
    let theirs = dir.path().join("theirs.emdb");
    copy_db(&path, &theirs);
    let expected = read_with_v1(&theirs, &Key::None, false).expect("v1 reads");
    let db = emdb::Emdb::open(&path)?;
    assert!(read_with_ours(&db)? == expected);
    assert_eq!(std::fs::read(&corrupt[0])?, saved, "the saved tail is left alone");
    Ok(())
}

#[test]
fn damage_inside_an_emdb_1_log_is_refused_like_our_own() -> emdb::Result<()> {
    let dir = tempfile::tempdir()?;
    let (theirs, ours) = damaged(dir.path(), 61, |log| {
        let frames = common::forge::frames(log);
        let mid = &frames[frames.len() / 2];
        log[mid.payload.start + 3] ^= 0x5A;
    });
    assert!(
        read_with_v1(&theirs, &Key::None, false).is_err(),
        "emdb 1.0.3 refuses it too"
    );
    let log_before = std::fs::read(&ours)?;
    assert!(matches!(emdb::Emdb::open(&ours), Err(emdb::Error::Corrupted { .. })));
    assert!(std::fs::read(&ours)? == log_before, "the file is left untouched");
    Ok(())
}

/// A reservation emdb 1.0 never wrote (its appends reserve offsets without a lock; a kill
/// while several threads append leaves zeros before frames that were written): emdb 1.0
/// cuts everything after the gap; we keep the records after it and pad the gap.
#[test]
fn a_zero_gap_left_by_emdb_1_keeps_the_records_after_it() -> emdb::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("v1.emdb");
    {
        let db = v1::Emdb::open(&path).expect("v1 open");
        for i in 0..10 {
            db.insert(format!("k{i}"), format!("value {i}")).expect("insert");
        }
        db.flush().expect("flush");
    }
    let mut log = std::fs::read(&path)?;
    let frames = common::forge::frames(&log);
    assert_eq!(frames.len(), 10, "emdb 1.0 writes one frame per insert");
    let gap = &frames[5];
    log[gap.start..gap.payload.end + 4].fill(0);
    std::fs::write(&path, &log)?;
    let (theirs, ours) = (dir.path().join("theirs.emdb"), dir.path().join("ours.emdb"));
    copy_db(&path, &theirs);
    copy_db(&path, &ours);

    let theirs = read_with_v1(&theirs, &Key::None, false).expect("emdb 1.0.3 opens it");
    let their_keys: Vec<&[u8]> = theirs[""].keys().map(Vec::as_slice).collect();
    assert_eq!(
        their_keys,
        [&b"k0"[..], b"k1", b"k2", b"k3", b"k4"],
        "emdb 1.0.3 cuts at the gap"
    );

    let db = emdb::Emdb::open(&ours)?;
    let mine = read_with_ours(&db)?;
    let my_keys: Vec<String> = mine[""]
        .keys()
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect();
    assert_eq!(my_keys, ["k0", "k1", "k2", "k3", "k4", "k6", "k7", "k8", "k9"]);
    db.insert("k10", "after")?;
    drop(db);
    let db = emdb::Emdb::open(&ours)?;
    assert_eq!(db.len()?, 10);
    assert_eq!(db.get("k7")?.as_deref(), Some(&b"value 7"[..]));
    Ok(())
}

/// The way to keep a copy emdb 1.0 can still open: its own `backup_to` before switching
/// (or a copy of the two files). The original then moves to our format.
#[test]
fn a_backup_made_by_emdb_1_before_the_switch_stays_an_emdb_1_database() -> emdb::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("v1.emdb");
    let backup = dir.path().join("v1-backup.emdb");
    write_with_v1(&path, &Fixture::plain(71));
    {
        let db = v1::Emdb::open(&path).expect("v1 open");
        db.backup_to(&backup).expect("v1 backup");
    }
    let before = read_with_v1(&backup, &Key::None, false).expect("v1 reads its backup");
    let db = emdb::Emdb::open(&path)?;
    db.insert("new", "write")?;
    drop(db);
    assert!(v1::Emdb::open(&path).is_err(), "the original is ours now");
    assert!(read_with_v1(&backup, &Key::None, false).expect("still an emdb 1.0 database") == before);
    Ok(())
}
