//! The life of a deposit, as a pure state machine: which event moves it
//! where, and what the sender's Task shows at each state.
//!
//! Receipts may arrive out of order (an RdAC before its RdA) or twice; a
//! state only ever moves forward, so late or repeated events change
//! nothing. Terminal states take no event except the clerk's decision
//! after failed automatic checks (the clerk may still accept).

use serde::Serialize;

/// Where a deposit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DepositState {
    /// Ready, waiting for an attempt.
    Queued,
    /// An attempt is in flight (after a crash: outcome unknown).
    Sending,
    /// The last attempt's outcome is unknown: waiting for the provider's
    /// acceptance receipt before deciding to send again.
    Unknown,
    /// The SMTP server accepted it.
    Sent,
    /// The sender's PEC provider accepted it (RdA).
    AcceptedByProvider,
    /// Delivered to the court's box (RdAC): the deposit counts as made.
    Delivered,
    /// The court's automatic checks passed.
    ChecksPassed,
    /// The court's automatic checks found anomalies (CodiceEsito -1) that
    /// do not block the deposit (WARN, ERROR): the clerk decides.
    ChecksAnomalies,
    /// The court's automatic checks failed on a blocking error (FATAL).
    ChecksFailed,
    /// The clerk accepted it; the case number is known.
    AcceptedByClerk,
    /// The clerk refused it.
    Refused,
    /// Not deposited: a permanent error, the provider refused it, delivery
    /// failed, or the attempts ran out.
    Failed,
    /// Cancelled by the office before it was sent.
    Cancelled,
}

impl DepositState {
    /// Every state, for parsing.
    pub const ALL: [DepositState; 13] = [
        Self::Queued,
        Self::Sending,
        Self::Unknown,
        Self::Sent,
        Self::AcceptedByProvider,
        Self::Delivered,
        Self::ChecksPassed,
        Self::ChecksAnomalies,
        Self::ChecksFailed,
        Self::AcceptedByClerk,
        Self::Refused,
        Self::Failed,
        Self::Cancelled,
    ];

    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Unknown => "unknown",
            Self::Sent => "sent",
            Self::AcceptedByProvider => "accepted-by-provider",
            Self::Delivered => "delivered",
            Self::ChecksPassed => "checks-passed",
            Self::ChecksAnomalies => "checks-anomalies",
            Self::ChecksFailed => "checks-failed",
            Self::AcceptedByClerk => "accepted-by-clerk",
            Self::Refused => "refused",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// From the stored code.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == code)
    }

    /// How far along the deposit is; events only move it to a higher rank.
    fn rank(self) -> u8 {
        match self {
            Self::Queued => 0,
            Self::Sending | Self::Unknown => 1,
            Self::Sent => 2,
            Self::AcceptedByProvider => 3,
            Self::Delivered => 4,
            Self::ChecksPassed | Self::ChecksAnomalies | Self::ChecksFailed => 5,
            Self::AcceptedByClerk | Self::Refused => 6,
            Self::Failed | Self::Cancelled => 7,
        }
    }

    /// Whether nothing more will happen.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::AcceptedByClerk | Self::Refused | Self::Failed | Self::Cancelled
        )
    }

    /// Whether the message has not left Ponte for sure (the office may
    /// still cancel).
    pub fn is_cancellable(self) -> bool {
        matches!(self, Self::Queued)
    }

    /// What the sender's Task shows: `(Task.status, businessStatus)`.
    pub fn task_view(self) -> (&'static str, &'static str) {
        match self {
            Self::Queued => ("in-progress", "atto pronto per il deposito"),
            Self::Sending | Self::Unknown => ("in-progress", "deposito in corso"),
            Self::Sent => (
                "in-progress",
                "inviato via PEC: in attesa della ricevuta di accettazione",
            ),
            Self::AcceptedByProvider => (
                "in-progress",
                "accettato dal gestore PEC: in attesa della consegna",
            ),
            Self::Delivered => (
                "in-progress",
                "consegnato all'ufficio giudiziario (ricevuta di avvenuta consegna)",
            ),
            Self::ChecksPassed => (
                "in-progress",
                "controlli automatici superati: in attesa della cancelleria",
            ),
            Self::ChecksAnomalies => (
                "in-progress",
                "controlli automatici con anomalie non bloccanti: in attesa della cancelleria",
            ),
            Self::ChecksFailed => (
                "failed",
                "controlli automatici non superati: vedere il codice esito",
            ),
            Self::AcceptedByClerk => ("completed", "accettato dalla cancelleria"),
            Self::Refused => ("failed", "rifiutato dalla cancelleria"),
            Self::Failed => ("failed", "deposito non riuscito"),
            Self::Cancelled => ("cancelled", "deposito annullato dall'ufficio"),
        }
    }
}

/// What a message from the PEC box says about a deposit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Ricevuta di accettazione.
    Accepted,
    /// Avviso di non accettazione.
    NotAccepted,
    /// Ricevuta di avvenuta consegna.
    Delivered,
    /// Avviso di mancata consegna.
    DeliveryFailed,
    /// Esito dei controlli automatici, positive.
    ChecksPassed,
    /// Esito dei controlli automatici, negative with anomalies that do not
    /// block the deposit (WARN, ERROR).
    ChecksAnomalies,
    /// Esito dei controlli automatici, negative with a blocking error (FATAL).
    ChecksFailed,
    /// Esito dell'intervento della cancelleria, positive.
    ClerkAccepted,
    /// Esito dell'intervento della cancelleria, negative.
    ClerkRefused,
    /// Anything else that concerns the deposit (a preavviso, a clerk's
    /// communication, an exception): recorded, no state change.
    Note,
}

/// The state after `event`, or `None` when it changes nothing.
pub fn next(state: DepositState, event: &Event) -> Option<DepositState> {
    use DepositState as S;
    let target = match event {
        Event::Accepted => S::AcceptedByProvider,
        Event::Delivered => S::Delivered,
        Event::ChecksPassed => S::ChecksPassed,
        Event::ChecksAnomalies => S::ChecksAnomalies,
        Event::ChecksFailed => S::ChecksFailed,
        Event::ClerkAccepted => S::AcceptedByClerk,
        Event::ClerkRefused => S::Refused,
        Event::NotAccepted | Event::DeliveryFailed => S::Failed,
        Event::Note => return None,
    };
    if matches!(state, S::Cancelled | S::AcceptedByClerk | S::Refused) {
        return None;
    }
    // A failure report for a deposit already delivered is stale (another
    // attempt or a late notice): keep the better state.
    if target == S::Failed && state.rank() >= S::Delivered.rank() {
        return None;
    }
    // A deposit marked failed after attempts ran out may still be accepted
    // by the provider (the last attempt went through after all).
    if state == S::Failed && target == S::Failed {
        return None;
    }
    if state == S::Failed || target.rank() > state.rank() {
        Some(target)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DepositState as S;

    #[test]
    fn the_normal_path_moves_forward_one_receipt_at_a_time() {
        let mut state = S::Sent;
        for (event, want) in [
            (Event::Accepted, S::AcceptedByProvider),
            (Event::Delivered, S::Delivered),
            (Event::ChecksPassed, S::ChecksPassed),
            (Event::ClerkAccepted, S::AcceptedByClerk),
        ] {
            state = next(state, &event).unwrap();
            assert_eq!(state, want);
        }
        assert!(state.is_final());
        assert_eq!(state.task_view().0, "completed");
    }

    #[test]
    fn late_and_repeated_receipts_change_nothing() {
        assert_eq!(next(S::Delivered, &Event::Accepted), None);
        assert_eq!(next(S::Delivered, &Event::Delivered), None);
        assert_eq!(next(S::AcceptedByClerk, &Event::ChecksFailed), None);
        assert_eq!(next(S::Delivered, &Event::DeliveryFailed), None);
        assert_eq!(next(S::Sent, &Event::Note), None);
    }

    #[test]
    fn an_unknown_outcome_is_settled_by_the_acceptance_receipt() {
        assert_eq!(
            next(S::Unknown, &Event::Accepted),
            Some(S::AcceptedByProvider)
        );
        assert_eq!(next(S::Sending, &Event::Delivered), Some(S::Delivered));
        assert_eq!(
            next(S::Queued, &Event::Accepted),
            Some(S::AcceptedByProvider)
        );
    }

    #[test]
    fn refusals_and_checks() {
        assert_eq!(next(S::Sent, &Event::NotAccepted), Some(S::Failed));
        assert_eq!(
            next(S::Delivered, &Event::ChecksFailed),
            Some(S::ChecksFailed)
        );
        // The clerk may still accept after anomalies, even blocking ones.
        assert_eq!(
            next(S::ChecksAnomalies, &Event::ClerkAccepted),
            Some(S::AcceptedByClerk)
        );
        assert_eq!(
            next(S::ChecksFailed, &Event::ClerkAccepted),
            Some(S::AcceptedByClerk)
        );
        assert_eq!(S::ChecksAnomalies.task_view().0, "in-progress");
        assert_eq!(S::ChecksFailed.task_view().0, "failed");
        assert_eq!(
            next(S::ChecksPassed, &Event::ClerkRefused),
            Some(S::Refused)
        );
        assert_eq!(next(S::Cancelled, &Event::Accepted), None);
        // Attempts ran out, yet the provider accepted the last one.
        assert_eq!(
            next(S::Failed, &Event::Accepted),
            Some(S::AcceptedByProvider)
        );
    }

    #[test]
    fn codes_round_trip() {
        for state in DepositState::ALL {
            assert_eq!(DepositState::parse(state.as_str()), Some(state));
        }
    }
}
