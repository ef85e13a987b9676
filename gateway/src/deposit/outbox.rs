//! The outbox: sends each ready filing to its court by PEC, once.
//!
//! The Message-ID is fixed when the filing becomes ready. A claim marks the
//! deposit `sending`, durably, before a byte leaves; the outcome is then
//! recorded with the outbound exchange. What happens to each outcome:
//!
//! - accepted → `sent`; receipts take it further;
//! - transient (nothing accepted: refused before the message text, or 4xx)
//!   → `queued` again after `retry_backoff × 2^(attempt−1)`, until
//!   `max_attempts`, then `failed`;
//! - permanent (5xx, authentication, TLS) → `failed` at once;
//! - unknown (the connection broke after the message text was sent), or a
//!   crash while `sending` → `unknown`: the deposit is sent again only if
//!   no acceptance receipt (RdA) for its Message-ID has been read by the end
//!   of `reconcile_window`, the box having been read after that moment.

use std::sync::Arc;

use ponte_pec::{
    ComposedMessage, DepositMessage, MessageId, Outbound, OutboundOutcome, PecAddress,
    SubmitOutcome, compose,
};
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::config::PecConfig;
use crate::evidence::format_time;
use crate::metrics::Metrics;
use crate::store::{AttemptOutcome, DepositJob, DepositStore, NewAttempt};
use crate::workers::backoff;

/// The outbox worker(s).
pub struct Outbox<S> {
    /// The store.
    pub store: S,
    /// Where messages go.
    pub outbound: Outbound,
    /// The office's PEC address (the sender).
    pub from: PecAddress,
    /// Timing and limits.
    pub config: PecConfig,
    /// Notified when a filing becomes ready.
    pub wake: Arc<Notify>,
    /// Counters.
    pub metrics: Metrics,
}

impl<S: DepositStore + Clone> Outbox<S> {
    /// Runs until `shutdown`; an attempt in progress is finished first.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        let window = format_time(OffsetDateTime::now_utc() + self.config.reconcile_window);
        match self.store.recover_deposits(window).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                deposits = n,
                "Outbox: deposits interrupted while sending wait for their acceptance receipt."
            ),
            Err(e) => tracing::error!(error = %e, "Outbox: cannot recover interrupted deposits."),
        }
        crate::workers::run_pool(
            self.config.workers,
            &self.wake,
            self.config.poll_interval,
            shutdown,
            || self.step(),
        )
        .await;
        tracing::info!("Outbox stopped.");
    }

    async fn step(&self) -> bool {
        let now = OffsetDateTime::now_utc();
        let claimed = self
            .store
            .claim_deposit(
                format_time(now),
                format_time(now + self.config.lease),
                format_time(now + self.config.reconcile_window),
            )
            .await;
        match claimed {
            Ok(Some(job)) => {
                self.attempt(job).await;
                true
            }
            Ok(None) => false,
            Err(e) => {
                tracing::error!(error = %e, "Outbox: cannot claim a deposit.");
                false
            }
        }
    }

    async fn attempt(&self, job: DepositJob) {
        let (message, outcome) = match self.compose(&job) {
            Ok(message) => {
                let sent = self.outbound.send(&message).await;
                (message.into_bytes(), self.outcome(&job, &sent))
            }
            Err(code) => (
                Vec::new(),
                AttemptOutcome::Permanent {
                    code: code.to_owned(),
                },
            ),
        };
        let class = match &outcome {
            AttemptOutcome::Accepted { .. } => "accepted",
            AttemptOutcome::Transient {
                retry_at: Some(_), ..
            } => "transient",
            AttemptOutcome::Transient { retry_at: None, .. } => "exhausted",
            AttemptOutcome::Permanent { .. } => "permanent",
            AttemptOutcome::Unknown { .. } => "unknown",
        };
        self.metrics
            .deposit_attempts
            .with_label_values(&[class])
            .inc();
        tracing::info!(
            filing = %job.filing_id,
            message_id = %job.message_id,
            attempt = job.attempts,
            outcome = class,
            "Outbox: deposit attempt."
        );
        let recorded = self
            .store
            .record_attempt(NewAttempt {
                filing_id: job.filing_id.clone(),
                lease: job.lease.clone(),
                outcome,
                message,
                court: job.court.clone(),
                message_id: job.message_id.clone(),
            })
            .await;
        if let Err(e) = recorded {
            // The deposit stays `sending`; after a restart it is treated as
            // an unknown outcome and reconciled, never blindly resent.
            tracing::error!(filing = %job.filing_id, error = %e, "Outbox: cannot record the attempt.");
        }
    }

    fn compose(&self, job: &DepositJob) -> Result<ComposedMessage, &'static str> {
        let to = PecAddress::parse(&job.to).map_err(|_| "court_address_invalid")?;
        let message_id = MessageId::parse(&job.message_id).map_err(|_| "message_id_invalid")?;
        compose(&DepositMessage {
            from: self.from.clone(),
            to,
            description: job.description.clone(),
            message_id,
            date: OffsetDateTime::now_utc(),
            atto_enc: job.atto_enc.clone(),
        })
        .map_err(|e| e.code())
    }

    fn outcome(&self, job: &DepositJob, sent: &OutboundOutcome) -> AttemptOutcome {
        let now = OffsetDateTime::now_utc();
        let retry = |code: String| AttemptOutcome::Transient {
            code,
            retry_at: (job.attempts < self.config.max_attempts)
                .then(|| format_time(now + backoff(self.config.retry_backoff, job.attempts))),
        };
        match sent {
            OutboundOutcome::Smtp(SubmitOutcome::Accepted { reply }) => AttemptOutcome::Accepted {
                reply: reply.clone(),
            },
            OutboundOutcome::Smtp(SubmitOutcome::Transient(e)) => retry(e.code().to_owned()),
            OutboundOutcome::Smtp(SubmitOutcome::Permanent(e)) => AttemptOutcome::Permanent {
                code: e.code().to_owned(),
            },
            OutboundOutcome::Smtp(SubmitOutcome::Unknown(e)) => AttemptOutcome::Unknown {
                code: e.code().to_owned(),
                reconcile_until: format_time(now + self.config.reconcile_window),
            },
            OutboundOutcome::Outbox(Ok(delivery)) => AttemptOutcome::Accepted {
                reply: format!("outbox {}", delivery.path.display()),
            },
            OutboundOutcome::Outbox(Err(e)) => match sent.class() {
                "permanent" => AttemptOutcome::Permanent {
                    code: e.code().to_owned(),
                },
                _ => retry(e.code().to_owned()),
            },
        }
    }
}
