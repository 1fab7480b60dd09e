//! Sharded fingerprint hash index and skiplist range index for log-structured stores.
//!
//! This crate is a placeholder in the workspace: its index is built by a later milestone
//! (see `docs/ARCHITECTURE.md`). It performs no I/O and holds no unsafe code.
#![deny(unsafe_code)]
