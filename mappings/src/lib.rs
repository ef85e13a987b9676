//! Mapping engine: turns a FHIR Bundle plus registry facts into a PCT filing model.
//!
//! Reserved: delivered by its own issue. The crate already declares the only
//! dependencies it is allowed (`ponte-fhir`, `ponte-pct`, `ponte-registry`), so
//! the layering test in `tests/` guards it from the start.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
