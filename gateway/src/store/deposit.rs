//! PEC deposits and the messages read back, as the store sees them.

use serde::Serialize;

use crate::deposit::state::{DepositState, Event, FailureKind};

/// A deposit claimed for one attempt.
#[derive(Clone, Debug)]
pub struct DepositJob {
    /// The filing.
    pub filing_id: String,
    /// Its Task.
    pub task_id: String,
    /// The Message-ID fixed when the filing became ready.
    pub message_id: String,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// The claim's lease end, also its token.
    pub lease: String,
    /// The state before the claim: `queued`, or `unknown` when the last
    /// outcome was unknown and no acceptance receipt came within the window.
    pub previous: DepositState,
    /// The court's deposit address.
    pub to: String,
    /// The court's code.
    pub court: String,
    /// Text after `DEPOSITO ` in the subject.
    pub description: String,
    /// The envelope.
    pub atto_enc: Vec<u8>,
}

/// How an attempt ended.
#[derive(Clone, Debug)]
pub enum AttemptOutcome {
    /// The SMTP server (or the development outbox) took it.
    Accepted {
        /// The server's final reply.
        reply: String,
    },
    /// Nothing was accepted; try again at `retry_at`, or fail when `None`
    /// (attempts exhausted).
    Transient {
        /// Bounded error code.
        code: String,
        /// When to try again.
        retry_at: Option<String>,
    },
    /// Will not succeed: stop.
    Permanent {
        /// Bounded error code.
        code: String,
    },
    /// Lost after the message was sent: wait for the acceptance receipt
    /// until `reconcile_until` before sending again.
    Unknown {
        /// Bounded error code.
        code: String,
        /// End of the reconciliation window.
        reconcile_until: String,
    },
}

/// One attempt to record, with the message as sent.
#[derive(Clone, Debug)]
pub struct NewAttempt {
    /// The deposit.
    pub filing_id: String,
    /// The claim's lease ([`DepositJob::lease`]).
    pub lease: String,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// The message bytes (kept as the body of the outbound exchange).
    pub message: Vec<u8>,
    /// The court's code (for the evidence entry).
    pub court: String,
    /// The Message-ID.
    pub message_id: String,
}

/// What a message read from the PEC box says, ready to store.
#[derive(Clone, Debug)]
pub struct InboundMessage {
    /// Mailbox name.
    pub mailbox: String,
    /// UIDVALIDITY of the mailbox.
    pub uid_validity: u32,
    /// UID of the message.
    pub uid: u32,
    /// The raw message.
    pub raw: Vec<u8>,
    /// What it is (`accettazione`, `esito-controlli`, …, `unparseable`).
    pub kind: String,
    /// The Message-ID of the deposit it refers to, if it names one.
    pub refers_to: Option<String>,
    /// For a court message, the court's address it came from, lowercase:
    /// the sender certified by the envelope's `daticert.xml`, else the
    /// original message's From. An IDBUSTA is unique only per court, so a
    /// message that cites only an IDBUSTA is matched within this court.
    pub court_address: Option<String>,
    /// What it does to the deposit (`None`: quarantine).
    pub event: Option<Event>,
    /// Values worth keeping: `(name, value)` (`delivery-receipt`,
    /// `esito-code`, `case-number`).
    pub values: Vec<(String, String)>,
    /// Why it cannot be applied, when it cannot (bounded code).
    pub problem: Option<String>,
}

/// What storing an inbound message did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ingested {
    /// Stored and applied to the filing's deposit (state after, if changed).
    Applied {
        /// The filing.
        filing_id: String,
        /// The new state, when it changed.
        state: Option<DepositState>,
    },
    /// Already stored before (same box UID or same bytes): nothing done.
    Duplicate,
    /// Stored in quarantine for the office.
    Quarantined,
}

/// A deposit as the office sees it.
#[derive(Clone, Debug, Serialize)]
pub struct DepositRecord {
    /// State.
    pub state: DepositState,
    /// Why it failed (`failed` only).
    pub failure: Option<FailureKind>,
    /// The Message-ID of every attempt.
    pub message_id: String,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt may run (queued deposits).
    pub next_attempt_at: String,
    /// Last error code.
    pub last_error: Option<String>,
    /// When the SMTP server accepted it.
    pub sent_at: Option<String>,
    /// When the provider's acceptance receipt arrived.
    pub accepted_at: Option<String>,
    /// When the delivery receipt arrived (the deposit counts as made).
    pub delivered_at: Option<String>,
    /// The delivery receipt's identificativo.
    pub delivery_receipt: Option<String>,
    /// CodiceEsito of the automatic checks.
    pub esito_code: Option<String>,
    /// The case number given by the clerk.
    pub case_number: Option<String>,
    /// Last change.
    pub updated_at: String,
    /// Messages read back about it, oldest first.
    pub messages: Vec<MessageInfo>,
}

/// A stored inbound message (metadata).
#[derive(Clone, Debug, Serialize)]
pub struct MessageInfo {
    /// Its id in the store.
    pub id: i64,
    /// What it is.
    pub kind: String,
    /// When Ponte read it.
    pub received_at: String,
    /// SHA-256 of the raw message (hex).
    pub sha256: String,
    /// `applied` or `quarantined`.
    pub state: String,
    /// The Message-ID it refers to.
    pub refers_to: Option<String>,
    /// Why quarantined.
    pub reason: Option<String>,
}
