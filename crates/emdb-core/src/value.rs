//! Zero-copy values.

use std::fmt;
use std::ops::Deref;

/// A value borrowed straight from the database's memory map, without a copy (or, in an
/// encrypted database, the decrypted plaintext, owned).
///
/// It keeps the map it came from alive, so it stays valid after later writes, file growth
/// and compaction (which replaces the file; the old mapping lives on until the last
/// `ValueRef` of it is dropped).
#[derive(Clone)]
pub struct ValueRef {
    bytes: Repr,
}

#[derive(Clone)]
enum Repr {
    Mapped(emdb_journal::Bytes),
    Owned(std::sync::Arc<Vec<u8>>),
}

impl Deref for Repr {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Repr::Mapped(b) => b,
            Repr::Owned(v) => v,
        }
    }
}

impl ValueRef {
    pub(crate) fn mapped(bytes: emdb_journal::Bytes) -> ValueRef {
        ValueRef {
            bytes: Repr::Mapped(bytes),
        }
    }

    pub(crate) fn owned(bytes: Vec<u8>) -> ValueRef {
        ValueRef {
            bytes: Repr::Owned(std::sync::Arc::new(bytes)),
        }
    }

    /// Length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the value is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The bytes.
    #[must_use]
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes
    }

    /// A copy of the bytes.
    #[must_use]
    pub fn into_vec(self) -> Vec<u8> {
        self.bytes.to_vec()
    }
}

impl Deref for ValueRef {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl AsRef<[u8]> for ValueRef {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Debug for ValueRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValueRef").field("len", &self.len()).finish()
    }
}

impl PartialEq for ValueRef {
    fn eq(&self, other: &ValueRef) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for ValueRef {}

impl PartialEq<[u8]> for ValueRef {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq<&[u8]> for ValueRef {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_slice() == *other
    }
}

impl PartialEq<Vec<u8>> for ValueRef {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.as_slice() == other.as_slice()
    }
}
