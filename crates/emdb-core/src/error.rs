//! The error type users see: emdb 1.0's variants, with the same names and meanings.
//!
//! Causes are kept, never flattened into text: where the variant is emdb 1.0's `Io`, the
//! lower layer's error (a journal or index error, such as `emdb_journal::Error::Poisoned`)
//! is the `io::Error`'s inner error, reachable through `source()` and `io::Error::get_ref`,
//! and an operating-system failure stays the operating system's `io::Error` (kind and code
//! kept). `Display` names what failed, never its cause again, so printing the `source()`
//! chain prints each fact once. The variants whose 1.0 shape holds only a text
//! (`Corrupted`, `InvalidConfig`, `Encryption`) or a path (`LockBusy`) carry what that
//! shape can; `Emdb::lock_holder` tells who holds a busy lock.

use std::fmt;
use std::path::PathBuf;

/// Errors returned by every fallible operation of emdb.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// An I/O failure; the operating system's kind and code are kept. A record larger than
    /// a frame can hold is `InvalidInput`. After a failed write or sync the database is
    /// poisoned: writes fail until it is reopened, which loses nothing acknowledged.
    Io(std::io::Error),
    /// The file at the path is not an emdb database (it was not modified).
    MagicMismatch,
    /// The sidecar `<path>.meta` (or the encryption-admin marker `<path>.encadmin`) has a
    /// format version this build does not know.
    VersionMismatch {
        /// The version found.
        found: u32,
        /// The newest version this build reads.
        expected: u32,
    },
    /// The file needs a feature this build was compiled without (encryption).
    FeatureMismatch {
        /// The file's feature flags.
        file_flags: u32,
        /// The flags this build supports.
        build_flags: u32,
    },
    /// Damage the database will not guess about: damage followed by valid records (the file
    /// is left untouched), a malformed record, a record for a namespace that was never
    /// bound, a malformed lock holder file; in an encrypted database, a record that fails
    /// authentication (damaged, tampered with, moved) or a plaintext record.
    Corrupted {
        /// Byte offset of the damage (0 when it is not in the data file).
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A configuration or argument the database refuses (the message says which).
    InvalidConfig(&'static str),
    /// Another process or handle holds the database's lock file (`path`).
    LockBusy {
        /// The lock file.
        path: PathBuf,
    },
    /// The lock file could not be created, read or locked.
    LockfileError(std::io::Error),
    /// A nested-key operation was given an empty prefix.
    #[cfg(feature = "nested")]
    InvalidPath,
    /// An expiry time that cannot be represented.
    #[cfg(feature = "ttl")]
    TtlOverflow,
    /// The encryption machinery failed: the random generator, a cipher, or the encryption
    /// parameters in the sidecar (damaged or out of range).
    #[cfg(feature = "encrypt")]
    Encryption(&'static str),
    /// The key or passphrase is not this database's: its sidecar's verification block
    /// does not open under it. Nothing was read.
    #[cfg(feature = "encrypt")]
    EncryptionKeyMismatch,
}

/// Shorthand for results whose error is emdb's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("emdb: ")?;
        match self {
            // The cause (the operating system's error, or the layer's error it carries) is
            // the source, not part of this text: see the module docs.
            Error::Io(e) => write!(f, "I/O failed ({})", e.kind()),
            Error::MagicMismatch => f.write_str("the file is not an emdb database"),
            Error::VersionMismatch { found, expected } => {
                write!(
                    f,
                    "metadata format version {found} is not supported (this build reads up to {expected})"
                )
            }
            Error::FeatureMismatch {
                file_flags,
                build_flags,
            } => write!(
                f,
                "the database needs features this build lacks (file flags {file_flags:#x}, build supports {build_flags:#x})"
            ),
            Error::Corrupted { offset, reason } => write!(f, "database is corrupted at offset {offset}: {reason}"),
            Error::InvalidConfig(why) => write!(f, "invalid configuration: {why}"),
            Error::LockBusy { path } => write!(f, "database is locked by another handle: {}", path.display()),
            Error::LockfileError(e) => write!(f, "lock file could not be used ({})", e.kind()),
            #[cfg(feature = "nested")]
            Error::InvalidPath => f.write_str("nested key prefix must not be empty"),
            #[cfg(feature = "ttl")]
            Error::TtlOverflow => f.write_str("expiry time overflows"),
            #[cfg(feature = "encrypt")]
            Error::Encryption(why) => write!(f, "encryption failed: {why}"),
            #[cfg(feature = "encrypt")]
            Error::EncryptionKeyMismatch => {
                f.write_str("the encryption key or passphrase does not match this database")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) | Error::LockfileError(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<emdb_journal::Error> for Error {
    fn from(e: emdb_journal::Error) -> Self {
        use emdb_journal::Error as J;
        match e {
            J::Io(io) => Error::Io(io),
            J::NotAJournal { .. } => Error::MagicMismatch,
            J::Corrupt { offset, reason } => Error::Corrupted { offset, reason },
            J::Busy { path, .. } => Error::LockBusy { path },
            J::Lock { source, .. } => Error::LockfileError(source),
            J::MalformedLockHolder { reason, .. } => Error::Corrupted { offset: 0, reason },
            J::SidecarVersion { found, supported, .. } => Error::VersionMismatch {
                found,
                expected: supported,
            },
            J::InvalidPath { reason, .. } => Error::InvalidConfig(reason),
            J::TooLarge { .. } => Error::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)),
            J::Replay { source, .. } | J::Placed { source } => match source.downcast::<Error>() {
                Ok(ours) => *ours,
                Err(other) => Error::Io(std::io::Error::new(io_kind_in(&*other), other)),
            },
            other => Error::Io(std::io::Error::new(io_kind_in(&other), other)),
        }
    }
}

/// The kind of the operating-system error behind `e` (the first `io::Error` in its
/// `source()` chain, `e` included), or `Other` when none is: so that a failure reported
/// through a lower layer (fsys's atomic replace, for one) keeps the kind 1.0 users match on.
fn io_kind_in(e: &(dyn std::error::Error + 'static)) -> std::io::ErrorKind {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return io.kind();
        }
        next = err.source();
    }
    std::io::ErrorKind::Other
}

impl From<emdb_index::Error> for Error {
    fn from(e: emdb_index::Error) -> Self {
        match e {
            emdb_index::Error::LocationOutOfRange { .. } => {
                Error::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
            }
            emdb_index::Error::Snapshot { reason } => Error::Corrupted { offset: 0, reason },
            other => Error::Io(std::io::Error::other(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::Error;
    use emdb_journal::Error as J;

    /// The journal error an `Io` carries, if any.
    fn carried(e: &Error) -> Option<&J> {
        match e {
            Error::Io(io) => io.get_ref()?.downcast_ref::<J>(),
            _ => None,
        }
    }

    /// Every `source()` step of `e`, outermost first, as text.
    fn chain(e: &Error) -> Vec<String> {
        let mut out = vec![e.to_string()];
        let mut next = e.source();
        while let Some(s) = next {
            out.push(s.to_string());
            next = s.source();
        }
        out
    }

    /// No level of a chain repeats the text of the level below it.
    fn assert_no_repeats(e: &Error) {
        let chain = chain(e);
        for pair in chain.windows(2) {
            assert!(!pair[0].contains(&pair[1]), "{:?} repeats its cause", chain);
        }
    }

    #[test]
    fn journal_states_travel_inside_io_as_the_source() {
        for j in [
            J::Poisoned,
            J::ReadOnly,
            J::InvalidArgument("bad"),
            J::OutOfRange { offset: 1, end: 2 },
        ] {
            let text = j.to_string();
            let e = Error::from(j);
            let inner = carried(&e).expect("the journal error is the io::Error's inner error");
            assert_eq!(inner.to_string(), text);
            assert!(matches!(&e, Error::Io(io) if io.kind() == std::io::ErrorKind::Other));
            assert!(!e.to_string().contains(&text), "Display repeats the cause: {e}");
            assert_eq!(chain(&e).get(1), Some(&text));
            assert_no_repeats(&e);
        }
        assert!(matches!(carried(&Error::from(J::Poisoned)), Some(J::Poisoned)));
        assert!(matches!(carried(&Error::from(J::ReadOnly)), Some(J::ReadOnly)));
    }

    #[test]
    fn an_operating_system_failure_stays_the_operating_systems() {
        let os = std::io::Error::from_raw_os_error(28); // ENOSPC on Linux, some code elsewhere
        let kind = os.kind();
        let e = Error::from(J::Io(os));
        match &e {
            Error::Io(io) => {
                assert_eq!(io.raw_os_error(), Some(28));
                assert_eq!(io.kind(), kind);
            }
            other => panic!("not Io: {other:?}"),
        }
        assert_no_repeats(&e);
        assert!(e.source().is_some());
    }

    #[test]
    fn a_failed_replace_keeps_the_operating_systems_kind() {
        let e = Error::from(J::Fsys(fsys::Error::AtomicReplaceFailed {
            step: "write",
            source: std::io::Error::from(std::io::ErrorKind::StorageFull),
        }));
        assert!(
            matches!(&e, Error::Io(io) if io.kind() == std::io::ErrorKind::StorageFull),
            "{e:?}"
        );
        assert!(matches!(carried(&e), Some(J::Fsys(_))));
        // Our two levels (emdb's, the journal's) each say their own fact; fsys's own text
        // below them is fsys's to choose (it names its cause).
        let chain = chain(&e);
        assert!(chain.len() >= 3, "{chain:?}");
        assert!(
            !chain[0].contains(&chain[1]) && !chain[1].contains(&chain[2]),
            "{chain:?}"
        );
    }

    #[test]
    fn a_record_too_large_is_invalid_input_carrying_the_journals_error() {
        let e = Error::from(J::TooLarge {
            len: 1 << 30,
            max: 1 << 28,
        });
        assert!(matches!(&e, Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidInput));
        assert!(matches!(carried(&e), Some(J::TooLarge { .. })));
        assert_no_repeats(&e);
    }

    #[test]
    fn lock_failures_keep_their_operating_system_error() {
        let e = Error::from(J::Lock {
            path: "db.lock".into(),
            source: std::io::Error::from_raw_os_error(13),
        });
        match &e {
            Error::LockfileError(io) => assert_eq!(io.raw_os_error(), Some(13)),
            other => panic!("not LockfileError: {other:?}"),
        }
        assert_no_repeats(&e);
    }

    #[test]
    fn index_errors_travel_inside_io() {
        let e = Error::from(emdb_index::Error::LocationOutOfRange {
            offset: 1 << 50,
            len: 1,
        });
        assert!(matches!(&e, Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidInput));
        let inner = match &e {
            Error::Io(io) => io.get_ref().and_then(|i| i.downcast_ref::<emdb_index::Error>()),
            _ => None,
        };
        assert!(inner.is_some());
        assert_no_repeats(&e);
    }
}
