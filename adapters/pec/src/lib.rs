//! PEC (posta elettronica certificata) for Ponte: composing the deposit
//! message, submitting it by SMTP (or writing it to a development outbox),
//! reading the office's box by IMAP, and classifying what comes back
//! (provider receipts and the court's messages).
//!
//! The gateway's outbox worker uses it this way:
//!
//! 1. [`compose`] a [`DepositMessage`] (Message-ID fixed and stored by the
//!    gateway before the first attempt) into a [`ComposedMessage`];
//! 2. hand it to an [`Outbound`] ([`SmtpSubmitter`] or [`DevOutbox`]) and act
//!    on the [`SubmitOutcome`];
//! 3. poll the box with [`ImapMailbox::fetch`], store each raw message,
//!    classify it with [`parse_message`], correlate it by
//!    [`PecReceipt::refers_to`] / [`CourtCorrelation`], check the
//!    provider's signature with [`verify_provider_signature`], then
//!    [`ImapMailbox::mark_processed`].
//!
//! Nothing here logs message content: logs carry Message-IDs, outcome
//! classes and bounded error codes only.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod address;
pub mod compose;
pub mod imap;
pub mod outbox;
pub mod parse;
pub mod signature;
pub mod smtp;
pub mod tls;
pub mod xml;

pub use address::{AddressError, MessageId, PecAddress};
pub use compose::{ComposeError, ComposedMessage, DepositMessage, compose};
pub use imap::{
    FetchBatch, FetchSelector, FetchedMessage, IdleEvent, ImapConfig, ImapError, ImapMailbox,
    ProcessedAction,
};
pub use outbox::{DevOutbox, OutboxDelivery, OutboxError};
pub use parse::{
    CertifiedMessage, CourtContent, CourtCorrelation, CourtMessage, CourtMessageKind, Daticert,
    EsitoAtto, EsitoOutcome, OtherMessage, ParseError, ParsedMessage, PecKind, PecReceipt,
    ReadMessage, TransportKind, parse_message, read_message,
};
pub use signature::{
    ProviderSigner, ProviderTrust, SignatureError, TrustError, verify_provider_signature,
};
pub use smtp::{
    SmtpConfig, SmtpCredentials, SmtpError, SmtpSecurity, SmtpStage, SmtpSubmitter, SmtpTimeouts,
    SubmitOutcome,
};
pub use tls::{CaLoadError, TrustAnchors};

/// A secret string (password) whose `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where composed messages go: a real SMTP server, or (development, no SMTP
/// configured) a folder.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// Submit by SMTP.
    Smtp(Box<SmtpSubmitter>),
    /// Write `<message-id>.eml` files.
    DevOutbox(DevOutbox),
}

impl Outbound {
    /// Sends one message. A dev outbox write is `Accepted` (reply
    /// `outbox <path>`), a conflict is `Permanent` and an I/O error
    /// `Transient`; the SMTP outcomes are described in [`smtp`].
    pub async fn send(&self, message: &ComposedMessage) -> OutboundOutcome {
        match self {
            Self::Smtp(s) => OutboundOutcome::Smtp(s.submit(message).await),
            Self::DevOutbox(o) => OutboundOutcome::Outbox(o.deliver_async(message).await),
        }
    }
}

/// The result of [`Outbound::send`].
#[derive(Debug)]
pub enum OutboundOutcome {
    /// From SMTP.
    Smtp(SubmitOutcome),
    /// From the dev outbox.
    Outbox(Result<OutboxDelivery, OutboxError>),
}

impl OutboundOutcome {
    /// `accepted`, `permanent`, `transient` or `unknown`, the same classes
    /// for both kinds.
    pub fn class(&self) -> &'static str {
        match self {
            Self::Smtp(o) => o.class(),
            Self::Outbox(Ok(_)) => "accepted",
            Self::Outbox(Err(OutboxError::Conflict { .. })) => "permanent",
            Self::Outbox(Err(_)) => "transient",
        }
    }
}
