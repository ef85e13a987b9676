//! The PCT filing pipeline: from an accepted submission to the files a
//! court receives.
//!
//! - [`courts`]: the court registry in force (imported, or the data file).
//! - [`build`]: mapped filing → DatiAtto.xml (schema-checked first), main act
//!   PDF, CAdES signatures, IndiceBusta, Atto.msg, Atto.enc. Pure.
//! - [`worker`]: the queue consumer that stores each outcome atomically.
//! - [`problem`]: what a stopped build tells the office and the sender.

pub mod build;
pub mod courts;
pub mod problem;
pub mod signer;
pub mod worker;

pub use courts::{CourtDirectory, Courts};
pub use worker::{Builder, Pipeline};
