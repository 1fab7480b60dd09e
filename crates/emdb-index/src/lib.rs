//! Indexes for log-structured stores, with no I/O: a sharded fingerprint hash index and a
//! skiplist range index, both mapping keys to [`Location`]s in a log.
//!
//! (Crate documentation is completed with the hash index.)
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod error;
mod hash;
mod location;

pub use error::{Error, Result};
pub use hash::{HashIndex, SeededHasher, default_shards};
pub use location::Location;
