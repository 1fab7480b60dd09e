//! The emdb engine: the journal, the indexes and the AEAD envelope composed into an
//! embedded key-value store.
//!
//! This crate is a placeholder in the workspace: the engine is built by a later milestone
//! (see `docs/ARCHITECTURE.md`). Today the only working layer is `emdb-journal`.
#![deny(unsafe_code)]
