//! Why a call handed to tokio's blocking pool gave no result.

use std::fmt;

use tokio::runtime::TryCurrentError;
use tokio::task::JoinError;

/// A call that could not be run on, or brought back from, tokio's blocking pool.
///
/// The tokio error is the [`source`](std::error::Error::source); the message says only
/// which step failed. Converted into an [`std::io::Error`] (kind `Other`, with this error
/// inside, so its `source()` is the tokio error), it keeps the message: this is how the
/// emdb engine reports it, as `Error::Io` whose message starts `async join:`.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// No tokio runtime runs on the calling thread, so there is no blocking pool to use.
    NoRuntime(TryCurrentError),
    /// The blocking task could not be joined: the call panicked, or the runtime shut down
    /// before it ran. Whether it panicked, and with what, is in the [`JoinError`].
    Join(JoinError),
}

/// Shorthand for results whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The join error, when the task ran (or was due to run) and did not finish.
    #[must_use]
    pub fn join_error(&self) -> Option<&JoinError> {
        match self {
            Error::Join(e) => Some(e),
            Error::NoRuntime(_) => None,
        }
    }

    /// Whether the call itself panicked (as opposed to no runtime, or a runtime that shut
    /// down before the call ran).
    #[must_use]
    pub fn is_panic(&self) -> bool {
        self.join_error().is_some_and(JoinError::is_panic)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoRuntime(_) => f.write_str("async runtime: no tokio runtime is running on this thread"),
            Error::Join(_) => f.write_str("async join: the blocking task did not finish"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::NoRuntime(e) => Some(e),
            Error::Join(e) => Some(e),
        }
    }
}

impl From<Error> for std::io::Error {
    /// Kind `Other`, carrying the error: the `io::Error`'s `Display` is this error's
    /// message and its `source()` is the tokio error.
    fn from(e: Error) -> Self {
        std::io::Error::other(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_runtime_keeps_tokios_error_as_the_source() {
        let Err(cause) = tokio::runtime::Handle::try_current() else {
            panic!("a plain test thread has no runtime");
        };
        let e = Error::NoRuntime(cause);
        assert!(e.to_string().starts_with("async runtime:"));
        assert!(!e.is_panic() && e.join_error().is_none());
        let source = std::error::Error::source(&e).map(ToString::to_string);
        assert!(source.is_some_and(|s| !s.is_empty() && !e.to_string().contains(&s)));
    }
}
