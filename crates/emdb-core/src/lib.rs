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
//!
//! # Where things are
//!
//! The crate root holds the public API, one file (or folder) per concept; everything
//! else is internal and lives under `engine/`.
//!
//! * `db.rs` (public): [`Emdb`], the database handle.
//! * `namespace.rs` (public): [`Namespace`], a handle on one named namespace.
//! * `builder.rs` (public): [`EmdbBuilder`], where a database lives and how it behaves.
//! * `txn.rs` (public): [`Transaction`], staged writes applied as one batch.
//! * `iter.rs` (public): the iterators and range cursors.
//! * `value.rs` (public): [`ValueRef`], a value borrowed from the memory map.
//! * `options.rs` (public): [`FlushPolicy`] and [`Ttl`]; the clock expiry is judged by
//!   (`TestClock`, feature `test-clock`, for tests).
//! * `stats.rs` (public): [`EmdbStats`].
//! * `error.rs` (public): [`Error`] and [`Result`].
//! * `nested.rs` (public, feature `nested`): `Focus`, dotted-prefix views.
//! * `encryption.rs` (public, feature `encrypt`): `EncryptionInput`, a key or passphrase.
//! * `admin/` (public, feature `encrypt`): `AdminOptions` and the offline encryption
//!   admin; `admin/swap.rs` (internal) is the crash-safe file swap that ends it.
//! * `async_api/` (public, feature `async`): `AsyncEmdb`, `AsyncNamespace`.
//! * `engine/` (internal): the engine behind every handle; its `mod.rs` maps its files.
//! * `fault.rs` (public with the test-only feature `fault-points`): named points where a
//!   crash test makes compaction and checkpointing die.
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod admin;
#[cfg(feature = "async")]
mod async_api;
mod builder;
mod db;
#[cfg(feature = "encrypt")]
mod encryption;
mod engine;
mod error;
#[cfg(feature = "fault-points")]
pub mod fault;
#[cfg(not(feature = "fault-points"))]
mod fault;
mod iter;
mod methods;
mod namespace;
#[cfg(feature = "nested")]
mod nested;
mod options;
mod stats;
mod txn;
mod value;

#[cfg(feature = "encrypt")]
pub use admin::AdminOptions;
#[cfg(feature = "async")]
pub use async_api::{AsyncEmdb, AsyncNamespace, BuildAsync};
pub use builder::EmdbBuilder;
pub use db::Emdb;
#[cfg(feature = "encrypt")]
pub use emdb_crypto::Cipher;
pub use emdb_journal::LockHolder;
#[cfg(feature = "encrypt")]
pub use encryption::EncryptionInput;
pub use error::{Error, Result};
pub use iter::{EmdbIter, EmdbKeyIter, EmdbRangeIter, NamespaceIter, NamespaceKeyIter, NamespaceRangeIter, TryIter};
pub use namespace::Namespace;
#[cfg(feature = "nested")]
pub use nested::Focus;
#[cfg(feature = "test-clock")]
pub use options::TestClock;
pub use options::{FlushPolicy, Ttl};
pub use stats::EmdbStats;
pub use txn::Transaction;
pub use value::ValueRef;
