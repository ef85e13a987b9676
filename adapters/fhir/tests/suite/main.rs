//! The FHIR adapter's integration tests, as one test binary: each module
//! would otherwise link its own copy of the fhir-sdk models (about 100 MB
//! per binary, and a minute of linking on a 2-core machine).
//!
//! Run one part with a filter, e.g. `cargo test -p ponte-fhir --test suite xml_fixtures::`.

mod parse;
mod profiles;
mod xml;
mod xml_fixtures;
