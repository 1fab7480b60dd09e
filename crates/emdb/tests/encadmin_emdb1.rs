//! An encryption swap emdb 1.0 began and a crash interrupted (its `.encadmin` marker is
//! one line of prose, without our header) is finished by our open as emdb 1.0 finishes it,
//! keeping its `.encbak`; only a marker of a newer format of ours is refused, untouched
//! (docs/FORMAT.md §8e "Encryption admin").
#![cfg(feature = "encrypt")]

mod common;

use std::path::Path;

use common::{sibling, temp_path, v1_encrypted};
use emdb::{Emdb, Error};
use emdb_v1 as v1;

const KEY: [u8; 32] = [0x77; 32];
/// What emdb 1.0.3 writes into its marker.
const V1_MARKER: &[u8] = b"emdb encryption admin: rename <path>.enc.tmp over <path>\n";

/// Where emdb 1.0's `enable_encryption` was interrupted.
#[derive(Clone, Copy, Debug)]
enum Point {
    /// The marker written, no rename done.
    Marker,
    /// `.enc.tmp.meta` renamed over `.meta`.
    MetaRenamed,
    /// `.enc.tmp` renamed over the log too; only the marker is left.
    LogRenamed,
}

/// The files emdb 1.0.3's `enable_encryption` leaves at `point`: the plain original
/// (`"k" = "old"`) kept as `.encbak` (+ `.encbak.meta`, hard links made before the
/// marker), the encrypted rewrite (`"k" = "new"`) in `.enc.tmp` (+ `.enc.tmp.meta`), the
/// marker, and the renames done so far.
fn interrupted(path: &Path, point: Point, marker: &[u8]) {
    {
        let db = v1::Emdb::open(path).expect("emdb 1.0 original");
        db.insert("k", "old").expect("insert");
        db.insert("only-old", "1").expect("insert");
        db.flush().expect("flush");
    }
    let tmp = sibling(path, ".enc.tmp");
    v1_encrypted(&tmp, KEY, &[("k", "new")]);
    // emdb 1.0 opened the rewrite without a lock file of its own.
    for suffix in [".lock", ".lock-meta"] {
        let _ = std::fs::remove_file(sibling(&tmp, suffix));
    }
    std::fs::hard_link(path, sibling(path, ".encbak")).expect("link backup");
    std::fs::hard_link(sibling(path, ".meta"), sibling(path, ".encbak.meta")).expect("link backup meta");
    std::fs::write(sibling(path, ".encadmin"), marker).expect("marker");
    if matches!(point, Point::MetaRenamed | Point::LogRenamed) {
        std::fs::rename(sibling(&tmp, ".meta"), sibling(path, ".meta")).expect("rename meta");
    }
    if matches!(point, Point::LogRenamed) {
        std::fs::rename(&tmp, path).expect("rename log");
    }
}

#[test]
fn an_interrupted_emdb_1_swap_is_finished_and_its_backup_kept() -> emdb::Result<()> {
    for point in [Point::Marker, Point::MetaRenamed, Point::LogRenamed] {
        for marker in [V1_MARKER, b"", b"x"] {
            let (_dir, path) = temp_path("swap.emdb");
            interrupted(&path, point, marker);
            let backup = std::fs::read(sibling(&path, ".encbak"))?;
            {
                let db = Emdb::builder().path(&path).encryption_key(KEY).build()?;
                assert_eq!(db.get("k")?.as_deref(), Some(&b"new"[..]), "{point:?}");
                assert_eq!(db.get("only-old")?, None, "{point:?}");
                assert!(db.stats()?.encrypted);
            }
            for gone in [".encadmin", ".enc.tmp", ".enc.tmp.meta"] {
                assert!(!sibling(&path, gone).exists(), "{point:?}: {gone} left");
            }
            // The backup is emdb 1.0's copy of the original, kept as emdb 1.0 keeps it.
            assert_eq!(std::fs::read(sibling(&path, ".encbak"))?, backup, "{point:?}");
            let old = Emdb::open(sibling(&path, ".encbak"))?;
            assert_eq!(old.get("k")?.as_deref(), Some(&b"old"[..]), "{point:?}");
            // The new database refuses a keyless open: it is the encrypted one.
            assert!(matches!(Emdb::open(&path), Err(Error::InvalidConfig(_))));
        }
    }
    Ok(())
}

#[test]
fn a_marker_of_a_newer_format_of_ours_is_refused_untouched() {
    for marker in [
        &b"emdb-encadmin v2\nkeep_backup=0\n"[..],
        b"emdb-encadmin v9",
        b"emdb-encadmin vX\n",
    ] {
        let (_dir, path) = temp_path("newer.emdb");
        interrupted(&path, Point::Marker, marker);
        let files = |p: &Path| {
            let mut all: Vec<_> = common::forge::all_files(p)
                .into_iter()
                .filter(|(n, _)| !n.ends_with(".lock") && !n.ends_with(".lock-meta"))
                .collect();
            all.sort();
            all
        };
        let before = files(&path);
        for keyed in [true, false] {
            let opened = if keyed {
                Emdb::builder().path(&path).encryption_key(KEY).build()
            } else {
                Emdb::open(&path)
            };
            match opened {
                Err(Error::VersionMismatch { expected: 1, .. }) => {}
                Err(other) => panic!("{marker:?}: expected VersionMismatch, got {other}"),
                Ok(_) => panic!("{marker:?}: opened past a newer marker"),
            }
            assert_eq!(files(&path), before, "{marker:?}: a refused open changed a file");
        }
    }
}
