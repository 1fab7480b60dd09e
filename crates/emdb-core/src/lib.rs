//! The emdb engine: a journal, a fingerprint hash index and an optional range index per
//! namespace, composed into an embedded key-value store. Users depend on the `emdb`
//! facade, which re-exports this crate's API.
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod builder;
mod db;
mod engine;
mod error;
mod iter;
mod namespace;
#[cfg(feature = "nested")]
mod nested;
mod options;
mod paths;
mod record;
mod scope;
mod stats;
mod txn;
mod value;

pub use builder::EmdbBuilder;
pub use db::Emdb;
pub use emdb_journal::LockHolder;
pub use error::{Error, Result};
pub use iter::{EmdbIter, EmdbKeyIter, EmdbRangeIter, NamespaceIter, NamespaceKeyIter, NamespaceRangeIter, TryIter};
pub use namespace::Namespace;
#[cfg(feature = "nested")]
pub use nested::Focus;
pub use options::{FlushPolicy, Ttl};
pub use stats::EmdbStats;
pub use txn::Transaction;
pub use value::ValueRef;
