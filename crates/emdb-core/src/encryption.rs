//! What a user encrypts with (feature `encrypt`): a raw key or a passphrase. The sealing
//! itself is the engine's (`engine/crypt.rs`).

use std::fmt;

use crate::error::{Error, Result};

/// The key material a user gives: a raw 256-bit key or a passphrase (stretched with
/// Argon2id, using the salt and parameters stored in the sidecar).
///
/// `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncryptionInput {
    /// A raw 32-byte key, used as it is.
    Key([u8; 32]),
    /// A passphrase; the key is derived from it.
    Passphrase(String),
}

impl fmt::Debug for EncryptionInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncryptionInput::Key(_) => f.write_str("Key(<redacted>)"),
            EncryptionInput::Passphrase(_) => f.write_str("Passphrase(<redacted>)"),
        }
    }
}

impl EncryptionInput {
    /// Refuses an empty passphrase (it would protect nothing).
    pub(crate) fn check(&self) -> Result<()> {
        match self {
            EncryptionInput::Passphrase(p) if p.is_empty() => {
                Err(Error::InvalidConfig("the encryption passphrase is empty"))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_hide_their_secret() {
        assert_eq!(format!("{:?}", EncryptionInput::Key([9; 32])), "Key(<redacted>)");
        assert_eq!(
            format!("{:?}", EncryptionInput::Passphrase("hunter2".into())),
            "Passphrase(<redacted>)"
        );
        assert!(EncryptionInput::Passphrase(String::new()).check().is_err());
    }
}
