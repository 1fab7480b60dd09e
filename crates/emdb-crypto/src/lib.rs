//! AEAD envelope (AES-256-GCM, ChaCha20-Poly1305) and Argon2id key derivation.
//!
//! This crate is a placeholder in the workspace: the envelope is built by a later milestone
//! (see `docs/ARCHITECTURE.md`).
#![deny(unsafe_code)]
