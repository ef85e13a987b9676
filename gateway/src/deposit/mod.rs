//! PEC deposits: the outbox that sends ready filings to their court once,
//! and the reader that applies the receipts and the court's answers.
//!
//! - [`state`]: the deposit's states and what moves them (pure).
//! - [`classify`]: what a message from the PEC box means (pure).
//! - [`outbox`]: sending, retries, reconciliation of unknown outcomes.
//! - [`receipts`]: reading the box, exactly-once application.
//!
//! The guarantee and its limits are documented in `docs/deposits.md`.

pub mod classify;
pub mod outbox;
pub mod receipts;
pub mod state;

pub use classify::SignatureCheck;
pub use outbox::Outbox;
pub use receipts::Receipts;

/// A new Message-ID for a deposit, unique, in the domain of `address` (the
/// office's PEC address, or the deposit's previous Message-ID). The deposit
/// carries it in every attempt; the receipts refer to it.
pub fn new_message_id(address: &str) -> String {
    let domain = address
        .rsplit_once('@')
        .map_or("ponte.localhost", |(_, d)| d);
    match ponte_pec::MessageId::generate(domain) {
        Ok(id) => id.as_str().to_owned(),
        Err(_) => format!("{}@ponte.localhost", uuid::Uuid::now_v7()),
    }
}
