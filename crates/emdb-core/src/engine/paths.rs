//! Where a database lives when the builder is not given a path: the OS data directory, an
//! application folder and a file name, checked to be one plain name each; or a private
//! temporary directory for an ephemeral database.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Default application folder.
pub(crate) const DEFAULT_APP: &str = "emdb";
/// Default database file name.
pub(crate) const DEFAULT_DB: &str = "emdb-default.emdb";

/// The data root: the OS's per-user data directory, by the same rules on every platform
/// family, or the current directory as a last resort.
pub(crate) fn data_root() -> PathBuf {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let home = || env("HOME").or_else(dirs::home_dir);
    let found = if cfg!(windows) {
        env("LOCALAPPDATA")
            .or_else(|| env("APPDATA"))
            .or_else(|| env("USERPROFILE").map(|p| p.join("AppData").join("Local")))
    } else if cfg!(target_vendor = "apple") {
        home().map(|h| h.join("Library").join("Application Support"))
    } else {
        env("XDG_DATA_HOME").or_else(|| home().map(|h| h.join(".local").join("share")))
    };
    found.unwrap_or_else(|| PathBuf::from("."))
}

/// Checks an application or database name, trimmed; an empty one becomes `default`.
/// The same rules on every OS, so a name that works on one works on all. As in emdb 1.0's
/// code, trimming comes first, so surrounding spaces are dropped rather than refused; a
/// name ending in a dot is refused even with spaces after it.
pub(crate) fn checked_name(name: &str, default: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Ok(default.to_owned());
    }
    let bad = |why| Err(Error::InvalidConfig(why));
    if name.contains(['/', '\\']) {
        return bad("a name must not contain a path separator");
    }
    if name.contains(':') {
        return bad("a name must not contain ':'");
    }
    if name.chars().any(char::is_control) {
        return bad("a name must not contain control characters");
    }
    if name.chars().all(|c| c == '.') {
        return bad("a name must not be only dots");
    }
    if name.ends_with('.') || name.ends_with(' ') {
        return bad("a name must not end with '.' or a space");
    }
    let stem = name.split('.').next().unwrap_or(name).trim_end().to_ascii_uppercase();
    let device = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.as_bytes()[3].is_ascii_digit()
            && stem.as_bytes()[3] != b'0');
    if device {
        return bad("a name must not be a Windows device name (CON, NUL, COM1, LPT1, ...)");
    }
    let mut parts = Path::new(name).components();
    match (parts.next(), parts.next()) {
        (Some(std::path::Component::Normal(_)), None) => Ok(name.to_owned()),
        _ => bad("a name must be one plain path component"),
    }
}

/// A private temporary directory for an ephemeral database, removed when dropped.
#[derive(Debug)]
pub(crate) struct MemDir {
    pub(crate) dir: PathBuf,
}

impl MemDir {
    /// Creates `<tmp>/emdb-mem-<pid>-<counter>-<nanos>`, owner-only.
    pub(crate) fn create() -> std::io::Result<MemDir> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("emdb-mem-{}-{n}-{nanos}", std::process::id()));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(&dir)?;
        Ok(MemDir { dir })
    }

    pub(crate) fn file(&self) -> PathBuf {
        self.dir.join("emdb-mem.emdb")
    }
}

impl Drop for MemDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_one_set_of_rules() {
        assert_eq!(checked_name("  ", DEFAULT_APP).ok().as_deref(), Some("emdb"));
        assert_eq!(checked_name(" my-app ", DEFAULT_APP).ok().as_deref(), Some("my-app"));
        assert_eq!(
            checked_name("name ", DEFAULT_DB).ok().as_deref(),
            Some("name"),
            "trimmed, as emdb 1.0 does"
        );
        assert_eq!(
            checked_name("data.v2.emdb", DEFAULT_DB).ok().as_deref(),
            Some("data.v2.emdb")
        );
        for bad in [
            "a/b",
            "a\\b",
            "c:",
            "..",
            ".",
            "name.",
            "name. ",
            "CON",
            "nul.txt",
            "com1",
            "LPT9.db",
            "tab\there",
        ] {
            assert!(
                matches!(checked_name(bad, DEFAULT_DB), Err(Error::InvalidConfig(_))),
                "{bad:?} accepted"
            );
        }
        for fine in ["COM0", "COM10", "console", "lpt", ".hidden"] {
            assert!(checked_name(fine, DEFAULT_DB).is_ok(), "{fine:?} refused");
        }
    }

    #[test]
    fn mem_dirs_are_private_unique_and_removed() -> std::io::Result<()> {
        let a = MemDir::create()?;
        let b = MemDir::create()?;
        assert_ne!(a.dir, b.dir);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&a.dir)?.permissions().mode() & 0o777, 0o700);
        }
        let dir = a.dir.clone();
        drop(a);
        assert!(!dir.exists());
        Ok(())
    }
}
