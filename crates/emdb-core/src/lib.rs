//! The emdb engine: a journal, a fingerprint hash index and an optional range index per
//! namespace, composed into an embedded key-value store. Users depend on the `emdb`
//! facade, which re-exports this crate's API.
//!
//! This crate owns every type of the public API, the async handles included (feature
//! `async`: `AsyncEmdb`, `AsyncNamespace`, and `EmdbBuilder::build_async` as an
//! inherent method, which only the crate owning `EmdbBuilder` can define). The layers
//! below are the journal (`emdb-journal`), the indexes (`emdb-index`), the AEAD envelope
//! (`emdb-crypto`, feature `encrypt`) and the tokio plumbing (`emdb-async`, feature
//! `async`), none of which knows about the others.
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

#[cfg(feature = "encrypt")]
mod admin;
#[cfg(feature = "async")]
mod async_api;
mod builder;
mod codec;
#[cfg(feature = "encrypt")]
mod crypt;
mod db;
mod engine;
mod error;
mod iter;
mod methods;
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

#[cfg(feature = "encrypt")]
pub use admin::AdminOptions;
#[cfg(feature = "async")]
pub use async_api::{AsyncEmdb, AsyncNamespace, BuildAsync};
pub use builder::EmdbBuilder;
#[cfg(feature = "encrypt")]
pub use crypt::EncryptionInput;
pub use db::Emdb;
#[cfg(feature = "encrypt")]
pub use emdb_crypto::Cipher;
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
