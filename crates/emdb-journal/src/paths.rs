//! Where the journal's files live: the data file and its siblings.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// `<path><suffix>`, e.g. `db.emdb` + `.meta` = `db.emdb.meta`.
pub(crate) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The path every sibling is derived from: symlinks resolved, so that every name of the
/// same file shares one lock. A path that does not exist yet resolves its parent
/// directory; a dangling symlink is refused.
pub(crate) fn resolve(path: &Path) -> Result<PathBuf> {
    let invalid = |reason| Error::InvalidPath {
        path: path.to_path_buf(),
        reason,
    };
    match std::fs::symlink_metadata(path) {
        Ok(meta) => match std::fs::canonicalize(path) {
            Ok(resolved) => {
                if std::fs::metadata(&resolved).is_ok_and(|m| m.is_dir()) {
                    return Err(invalid("it is a directory"));
                }
                Ok(resolved)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && meta.file_type().is_symlink() => {
                Err(invalid("it is a symlink to a file that does not exist"))
            }
            Err(e) => Err(Error::Io(e)),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let name = path.file_name().ok_or_else(|| invalid("it has no file name"))?;
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let parent = std::fs::canonicalize(parent)?;
            Ok(parent.join(name))
        }
        Err(e) => Err(Error::Io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sibling_appends_to_the_file_name() {
        assert_eq!(sibling(Path::new("/a/b.db"), ".meta"), PathBuf::from("/a/b.db.meta"));
    }

    #[test]
    fn resolve_handles_new_existing_and_dangling_paths() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let root = std::fs::canonicalize(dir.path())?;
        let new = dir.path().join("new.db");
        assert_eq!(resolve(&new)?, root.join("new.db"));
        std::fs::write(&new, b"")?;
        assert_eq!(resolve(&new)?, root.join("new.db"));
        assert!(matches!(resolve(dir.path()), Err(Error::InvalidPath { .. })));
        #[cfg(unix)]
        {
            let link = dir.path().join("link.db");
            std::os::unix::fs::symlink(&new, &link)?;
            assert_eq!(resolve(&link)?, root.join("new.db"));
            let dangling = dir.path().join("dangling.db");
            std::os::unix::fs::symlink(dir.path().join("missing.db"), &dangling)?;
            assert!(matches!(resolve(&dangling), Err(Error::InvalidPath { .. })));
        }
        Ok(())
    }
}
