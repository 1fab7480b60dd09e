//! Tokio wrappers (`AsyncEmdb`, `AsyncNamespace`) and backpressured streams over the emdb
//! engine.
//!
//! This crate is a placeholder in the workspace: it is built once the engine exists (see
//! `docs/ARCHITECTURE.md`).
#![deny(unsafe_code)]
