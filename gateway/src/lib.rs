//! Ponte's gateway: the composition root of the workspace.
//!
//! It owns configuration, the mutual-TLS edge and agency identity, the
//! request stack and routes, the store and the admin listener, and wires the
//! adapters (`ponte-fhir`, `ponte-pct`, `ponte-pec`, `ponte-registry`) and
//! the mapping engine together. See `docs/ARCHITECTURE.md` for the path of a
//! capacity report through these modules.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
pub mod audit_cli;
pub mod cli;
pub mod config;
pub mod deposit;
pub mod edge;
pub mod evidence;
pub mod filing;
pub mod identity;
pub mod intake;
pub mod metrics;
pub mod pct_cli;
pub mod retention;
pub mod run;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod workers;
