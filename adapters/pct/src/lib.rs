//! Adapter for the pct boundary of Ponte.
//!
//! Reserved: the crate exists so that the workspace's dependency rules
//! (adapters are leaves) are enforced from the start. Its capability is
//! delivered by its own issue; nothing here is used yet.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
