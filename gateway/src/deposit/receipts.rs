//! The receipt reader: reads the office's PEC box, stores every message
//! (raw) with what it means, applies it to its deposit, and only then marks
//! it processed on the server.
//!
//! Exactly once: a message is applied in the same transaction that stores
//! it, and a message already stored (same UID in the same UIDVALIDITY, or
//! the same bytes) is not applied again. A crash between the store and the
//! IMAP flag only means the message is read again and found stored.

use ponte_pec::{FetchSelector, ImapConfig, ImapMailbox};
use time::OffsetDateTime;

use super::classify::{SignatureCheck, classify};
use crate::evidence::format_time;
use crate::metrics::Metrics;
use crate::store::{DepositStore, Ingested};

/// Messages fetched per round.
const BATCH: usize = 50;

/// The reader.
pub struct Receipts<S> {
    /// The store.
    pub store: S,
    /// The box.
    pub imap: ImapConfig,
    /// How often the box is read.
    pub poll_interval: std::time::Duration,
    /// How the provider's signature on each message is checked.
    pub signatures: SignatureCheck,
    /// Counters.
    pub metrics: Metrics,
    /// Woken after messages were applied (the outbox may have work).
    pub applied: std::sync::Arc<tokio::sync::Notify>,
}

impl<S: DepositStore + Clone> Receipts<S> {
    /// Runs until `shutdown`, reconnecting after errors.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut mailbox: Option<ImapMailbox> = None;
        loop {
            if mailbox.is_none() {
                match ImapMailbox::connect(&self.imap).await {
                    Ok(m) => mailbox = Some(m),
                    Err(e) => {
                        self.metrics
                            .receipt_errors
                            .with_label_values(&[e.code()])
                            .inc();
                        tracing::warn!(code = e.code(), "Receipts: cannot open the PEC box.");
                    }
                }
            }
            if let Some(open) = mailbox.as_mut()
                && let Err(code) = self.round(open).await
            {
                self.metrics.receipt_errors.with_label_values(&[code]).inc();
                tracing::warn!(code, "Receipts: reading the PEC box failed; reconnecting.");
                mailbox = None;
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(self.poll_interval) => {}
            }
        }
        if let Some(m) = mailbox {
            m.logout().await;
        }
        tracing::info!("Receipts stopped.");
    }

    /// Reads everything unprocessed, then records the time of the read.
    async fn round(&self, mailbox: &mut ImapMailbox) -> Result<(), &'static str> {
        let started = OffsetDateTime::now_utc();
        loop {
            let batch = mailbox
                .fetch(FetchSelector::Unprocessed, BATCH)
                .await
                .map_err(|e| e.code())?;
            for fetched in &batch.messages {
                // Parsing and the signature check read the whole message
                // (a complete RdAC carries the deposit again): off the
                // runtime's threads.
                let (mailbox_name, signatures) =
                    (self.imap.mailbox.clone(), self.signatures.clone());
                let (uid_validity, uid, raw) =
                    (fetched.uid_validity, fetched.uid, fetched.raw.clone());
                let (message, signature) = tokio::task::spawn_blocking(move || {
                    classify(&mailbox_name, uid_validity, uid, raw, &signatures)
                })
                .await
                .map_err(|_| "classify_panicked")?;
                self.metrics
                    .provider_signatures
                    .with_label_values(&[signature])
                    .inc();
                let kind = message.kind.clone();
                let outcome = self
                    .store
                    .ingest_message(message)
                    .await
                    .map_err(|e| e.code())?;
                let label = match &outcome {
                    Ingested::Applied { .. } => "applied",
                    Ingested::Duplicate => "duplicate",
                    Ingested::Quarantined => "quarantined",
                };
                self.metrics
                    .receipts
                    .with_label_values(&[kind.as_str(), label])
                    .inc();
                mailbox
                    .mark_processed(fetched.uid)
                    .await
                    .map_err(|e| e.code())?;
            }
            // Too large to download: recorded in quarantine (the record
            // names the message; its bytes stay on the server, flagged) so
            // that the office sees it and the next round moves on.
            for (uid, size) in &batch.oversized {
                let record = format!(
                    "Ponte: message UID {uid} (UIDVALIDITY {}) in {} is {size} bytes, over the \
                     download limit; it is left on the server.\r\n",
                    batch.uid_validity, self.imap.mailbox
                );
                let message = crate::store::InboundMessage {
                    mailbox: self.imap.mailbox.clone(),
                    uid_validity: batch.uid_validity,
                    uid: *uid,
                    raw: record.into_bytes(),
                    kind: "oversized".to_owned(),
                    refers_to: None,
                    court_address: None,
                    event: None,
                    values: Vec::new(),
                    problem: Some("message_too_large".to_owned()),
                };
                self.store
                    .ingest_message(message)
                    .await
                    .map_err(|e| e.code())?;
                self.metrics
                    .receipts
                    .with_label_values(&["oversized", "quarantined"])
                    .inc();
                mailbox.mark_processed(*uid).await.map_err(|e| e.code())?;
            }
            if !batch.more {
                break;
            }
        }
        self.store
            .record_poll(self.imap.mailbox.clone(), format_time(started))
            .await
            .map_err(|e| e.code())?;
        // After the poll is recorded: the outbox may now settle deposits
        // waiting for this read (unknown outcomes) as well as new states.
        self.applied.notify_one();
        Ok(())
    }
}
