//! Where a database lives (docs/COMPATIBILITY.md §2, §11 "Data-dir resolution"): `data_root` /
//! `app_name` / `database_name` resolution and defaults, name checks, the exclusive
//! `path`, symlinks, and `Emdb::path()` returning the path as given.

mod common;

use std::path::Path;

use common::{is_invalid_config, temp_path};
use emdb::{Emdb, EmdbBuilder, Error};

/// The names below `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Opens the database `database_name` of `app_name` under the data root `root`.
fn open_in(root: &Path, app_name: &str, database_name: &str) -> Result<Emdb, Error> {
    Emdb::builder()
        .data_root(root)
        .app_name(app_name)
        .database_name(database_name)
        .build()
}

#[test]
fn data_root_app_and_database_name_resolve_to_one_file() -> Result<(), Error> {
    let root = tempfile::tempdir()?;
    let db = open_in(root.path(), "my-app", "x.emdb")?;
    let expected = root.path().join("my-app").join("x.emdb");
    assert_eq!(db.path(), expected);
    db.insert("k", "v")?;
    db.flush()?;
    assert!(expected.is_file(), "the database file is at <root>/<app>/<db>");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let app_mode = std::fs::metadata(root.path().join("my-app"))?.permissions().mode();
        assert_eq!(app_mode & 0o777, 0o700, "the app directory is owner-only");
        let file_mode = std::fs::metadata(&expected)?.permissions().mode();
        assert_eq!(file_mode & 0o077, 0, "the data file is owner-only");
    }
    drop(db);
    let db = Emdb::open(&expected)?;
    assert_eq!(
        db.get("k")?,
        Some(b"v".to_vec()),
        "the same database by its explicit path"
    );
    Ok(())
}

#[test]
fn a_missing_data_root_is_created() -> Result<(), Error> {
    let base = tempfile::tempdir()?;
    let root = base.path().join("not").join("there");
    let db = Emdb::builder().data_root(&root).app_name("a").build()?;
    assert_eq!(db.path(), root.join("a").join("emdb-default.emdb"));
    Ok(())
}

#[test]
fn defaults_apply_when_only_the_data_root_is_given() -> Result<(), Error> {
    let root = tempfile::tempdir()?;
    let db = Emdb::builder().data_root(root.path()).build()?;
    assert_eq!(db.path(), root.path().join("emdb").join("emdb-default.emdb"));
    drop(db);
    // Empty and blank names mean the defaults too.
    let db = open_in(root.path(), "", "   ")?;
    assert_eq!(db.path(), root.path().join("emdb").join("emdb-default.emdb"));
    drop(db);
    let db = Emdb::builder()
        .data_root(root.path())
        .database_name("other.db")
        .build()?;
    assert_eq!(
        db.path(),
        root.path().join("emdb").join("other.db"),
        "no extension is added"
    );
    Ok(())
}

/// Leading blanks only: a trailing space is one of the refused endings (see `REJECTED`).
#[test]
fn names_are_trimmed() -> Result<(), Error> {
    let root = tempfile::tempdir()?;
    let db = open_in(root.path(), "  my-app", " x.emdb")?;
    assert_eq!(db.path(), root.path().join("my-app").join("x.emdb"));
    assert_eq!(listing(root.path()), vec!["my-app".to_string()]);
    Ok(())
}

const REJECTED: &[&str] = &[
    "a/b",
    "a\\b",
    "c:",
    "a:b",
    "..",
    ".",
    "...",
    "name.",
    "name. ",
    "CON",
    "con",
    "nul.txt",
    "COM1",
    "com9.log",
    "LPT9.db",
    "PRN",
    "AUX",
    "a\tb",
    "a\nb",
    "bell\u{7}",
    "del\u{7f}",
    "/abs",
];

#[test]
fn bad_names_are_invalid_config_and_create_nothing() -> Result<(), Error> {
    let root = tempfile::tempdir()?;
    let mut accepted = Vec::new();
    for bad in REJECTED {
        let scratch = tempfile::tempdir()?;
        if !is_invalid_config(Emdb::builder().data_root(root.path()).app_name(*bad).build()) {
            accepted.push(format!("app_name {bad:?}"));
        }
        // A wrongly accepted database name must not pollute `root` for the check below.
        if !is_invalid_config(Emdb::builder().data_root(scratch.path()).database_name(*bad).build()) {
            accepted.push(format!("database_name {bad:?}"));
        }
    }
    assert!(accepted.is_empty(), "accepted: {accepted:?}");
    assert!(listing(root.path()).is_empty(), "a refused name creates no directory");
    // Near misses are fine.
    for fine in ["COM0", "COM10", "console", "lpt", ".hidden", "a.b.c", "name-with space"] {
        let db = Emdb::builder().data_root(root.path()).database_name(fine).build();
        assert!(db.is_ok(), "{fine:?} refused");
    }
    Ok(())
}

#[test]
fn an_explicit_path_excludes_the_resolution_fields() -> Result<(), Error> {
    let (dir, path) = temp_path("explicit.emdb");
    let builders: [(&str, EmdbBuilder); 4] = [
        ("app_name", Emdb::builder().path(&path).app_name("a")),
        ("database_name", Emdb::builder().path(&path).database_name("d")),
        ("data_root", Emdb::builder().path(&path).data_root(dir.path())),
        (
            "all three",
            Emdb::builder()
                .data_root(dir.path())
                .app_name("a")
                .database_name("d")
                .path(&path),
        ),
    ];
    for (what, builder) in builders {
        assert!(is_invalid_config(builder.build()), "path + {what} accepted");
    }
    assert!(listing(dir.path()).is_empty(), "nothing was created");
    Ok(())
}

#[cfg(unix)]
#[test]
fn a_dangling_symlink_is_refused() -> Result<(), Error> {
    let (dir, path) = temp_path("target.emdb");
    let link = dir.path().join("dangling.emdb");
    std::os::unix::fs::symlink(&path, &link)?;
    assert!(is_invalid_config(Emdb::open(&link)));
    assert!(!path.exists(), "the symlink's target was not created");
    Ok(())
}

#[cfg(unix)]
#[test]
fn a_symlink_opens_the_same_database_and_shares_its_lock() -> Result<(), Error> {
    let (dir, path) = temp_path("real.emdb");
    let db = Emdb::open(&path)?;
    db.insert("k", "v")?;
    let link = dir.path().join("alias.emdb");
    std::os::unix::fs::symlink(&path, &link)?;
    assert!(
        matches!(Emdb::open(&link), Err(Error::LockBusy { .. })),
        "both names of one file share one lock"
    );
    drop(db);

    let via_link = Emdb::open(&link)?;
    assert_eq!(
        via_link.path().as_os_str(),
        link.as_os_str(),
        "path() is the path as given"
    );
    assert_eq!(via_link.get("k")?, Some(b"v".to_vec()));
    via_link.insert("k2", "through the link")?;
    assert!(matches!(Emdb::open(&path), Err(Error::LockBusy { .. })));
    drop(via_link);
    assert!(
        std::fs::symlink_metadata(&link)?.file_type().is_symlink(),
        "the link is still a link"
    );
    let db = Emdb::open(&path)?;
    assert_eq!(db.get("k2")?, Some(b"through the link".to_vec()));
    Ok(())
}

#[test]
fn path_returns_the_path_as_given() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let given = dir.path().join(".").join("given.emdb");
    let db = Emdb::open(&given)?;
    assert_eq!(db.path().as_os_str(), given.as_os_str(), "not canonicalized");
    assert_eq!(db.clone_handle().path().as_os_str(), given.as_os_str());
    let builder_given = dir.path().join("built.emdb");
    let built = Emdb::builder().path(&builder_given).build()?;
    assert_eq!(built.path().as_os_str(), builder_given.as_os_str());
    Ok(())
}
