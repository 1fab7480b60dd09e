//! emdb: an embedded key-value database for Rust.
//!
//! emdb keeps a database in one append-only log file, finds values through an in-memory
//! index that stores no keys (about 21 bytes of RAM per key, whatever the key's length),
//! and reads values straight out of a memory map. Its API is emdb 1.0's: a user of emdb
//! 1.0 switches by changing the version number. Where it promises more, the API is the
//! same and the guarantee stronger:
//!
//! * `transaction`, `insert_many`, `clear` and `drop_namespace` are **crash-atomic** (one
//!   journal frame each) and become visible to readers all at once;
//! * `flush()` returning `Ok` means every earlier write through any handle survives a
//!   crash; concurrent flushes share one device sync, and a lone flush never waits for
//!   company (emdb 1.0 waited 500 µs);
//! * recovery never guesses: a torn tail is cut, damage followed by valid records is a
//!   `Corrupted` error with the file untouched.
//!
//! # Example
//!
//! ```
//! # fn main() -> Result<(), emdb::Error> {
//! # let dir = tempfile::tempdir()?;
//! use emdb::Emdb;
//! let db = Emdb::open(dir.path().join("app.emdb"))?;
//! db.insert("user:1", "alice")?;
//! db.transaction(|tx| {
//!     tx.insert("user:2", "bob")?;
//!     tx.insert("users", "2")
//! })?;
//! db.flush()?;
//! assert_eq!(db.get("user:1")?.as_deref(), Some(&b"alice"[..]));
//! # Ok(()) }
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `ttl` | yes | per-record expiry: `insert_with_ttl`, `expires_at`, `ttl`, `persist`, `sweep_expired`, `EmdbBuilder::default_ttl` |
//! | `nested` | no | dotted-prefix groups and `Focus` handles |
//! | `encrypt` | no | encryption at rest (AES-256-GCM / ChaCha20-Poly1305) |
//! | `async` | no | tokio wrappers and streams: `AsyncEmdb`, `AsyncNamespace`, and `EmdbBuilder::build_async` (inherent, as in 1.0; `BuildAsync` is kept for code that imports it) |
//!
//! # Layers
//!
//! | crate | what it is |
//! |---|---|
//! | `emdb-journal` | the crash-safe log: frames, ordered writes, group commit, atomic batches, recovery |
//! | `emdb-index` | the sharded fingerprint hash index and the skiplist range index |
//! | `emdb-crypto` | the AEAD envelope and key derivation |
//! | `emdb-async` | engine-independent tokio plumbing: blocking calls, backpressured streams (`async`) |
//! | `emdb-core` | the engine composing them, and this API (the async handles included) |
//!
//! This crate re-exports `emdb-core`'s API and nothing of the layers below it: their own
//! APIs (the journal's frames, the indexes, the envelope, the plumbing) are theirs,
//! versioned on their own and outside emdb's compatibility promise; depend on those crates
//! directly to build on them.
#![deny(unsafe_code)]

pub use emdb_core::{
    Emdb, EmdbBuilder, EmdbIter, EmdbKeyIter, EmdbRangeIter, EmdbStats, Error, FlushPolicy, LockHolder, Namespace,
    NamespaceIter, NamespaceKeyIter, NamespaceRangeIter, Result, Transaction, TryIter, Ttl, ValueRef,
};

#[cfg(feature = "nested")]
pub use emdb_core::Focus;
#[cfg(feature = "encrypt")]
pub use emdb_core::{AdminOptions, Cipher, EncryptionInput};

#[cfg(feature = "async")]
pub use emdb_core::{AsyncEmdb, AsyncNamespace, BuildAsync};

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
