//! emdb: an embedded key-value database for Rust.
//!
//! emdb keeps a database in one append-only log file and finds values through an
//! in-memory index. Its public API is emdb 1.0's, so that a user of emdb 1.0 switches by
//! changing the version number; where it promises more (crash-atomic transactions, fast
//! reopen, bounded memory per key), the API stays the same and the guarantee is stronger.
//!
//! # Layers
//!
//! | crate | what it is |
//! |---|---|
//! | [`journal`] (`emdb-journal`) | the crash-safe log: frames, ordered writes, group commit, atomic batches, recovery |
//! | `emdb-index` | the sharded fingerprint hash index and the skiplist range index |
//! | `emdb-crypto` | the AEAD envelope and key derivation |
//! | `emdb-core` | the engine composing the three |
//! | `emdb-async` | tokio wrappers and streams |
//!
//! Today the journal is complete and the engine above it is being built; the key-value API
//! (`Emdb`, `Namespace`, `Transaction`, ...) arrives with `emdb-core`. The cargo features
//! `ttl` (default), `nested`, `encrypt` and `async` are declared now so that dependents can
//! name them; they gate the engine's API once it lands.
//!
//! # Example: the journal, the layer everything else is built on
//!
//! ```
//! # fn main() -> Result<(), emdb::journal::Error> {
//! # let dir = tempfile::tempdir()?;
//! let log = emdb::journal::Journal::open(dir.path().join("data.emdb"))?;
//! let lsn = log.append(b"first record")?;
//! log.sync()?;
//! assert_eq!(log.read(lsn)?.payload(), b"first record");
//! # Ok(()) }
//! ```
#![deny(unsafe_code)]

/// The log layer, re-exported: see [`emdb_journal`].
pub use emdb_journal as journal;
