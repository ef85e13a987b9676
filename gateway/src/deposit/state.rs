//! The life of a deposit, as a pure state machine: which event moves it
//! where, and what the sender's Task shows at each state.
//!
//! Receipts may arrive out of order (an RdAC before its RdA) or twice; a
//! state only ever moves forward, so late or repeated events change
//! nothing. Terminal states take no event except the clerk's decision
//! after failed automatic checks (the clerk may still accept), and a late
//! receipt for a deposit that failed without a definitive refusal (see
//! [`FailureKind::may_be_revived`]).

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
    /// failed, or the attempts ran out ([`FailureKind`] says which).
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

/// Why a deposit is [`DepositState::Failed`]: whether a late receipt may
/// still move it on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// Transient errors until `max_attempts` ran out.
    Exhausted,
    /// A permanent sending error after an earlier attempt whose outcome was
    /// unknown: that attempt may have reached the provider.
    OutcomeUnknown,
    /// A permanent sending error (5xx, authentication, TLS, a message that
    /// cannot be composed), no earlier attempt having possibly reached the
    /// provider.
    Permanent,
    /// The provider refused the message (avviso di non accettazione).
    NotAccepted,
    /// The provider could not deliver it to the court (avviso di mancata
    /// consegna).
    NotDelivered,
}

impl FailureKind {
    /// Every kind, for parsing.
    pub const ALL: [FailureKind; 5] = [
        Self::Exhausted,
        Self::OutcomeUnknown,
        Self::Permanent,
        Self::NotAccepted,
        Self::NotDelivered,
    ];

    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exhausted => "exhausted",
            Self::OutcomeUnknown => "outcome-unknown",
            Self::Permanent => "permanent",
            Self::NotAccepted => "not-accepted",
            Self::NotDelivered => "not-delivered",
        }
    }

    /// From the stored code.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == code)
    }

    /// Whether a late receipt may still move the deposit on: only when no
    /// one definitively refused it (the attempts ran out, or an attempt's
    /// outcome was unknown and it may have reached the provider after all).
    pub fn may_be_revived(self) -> bool {
        matches!(self, Self::Exhausted | Self::OutcomeUnknown)
    }
}

/// Where a deposit is and, when it failed, why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// The state.
    pub state: DepositState,
    /// Why it failed; `None` unless `state` is [`DepositState::Failed`].
    /// A failed deposit whose reason is not known (stored by older code)
    /// is treated as revivable, as before reasons were stored.
    pub failure: Option<FailureKind>,
}

impl Position {
    /// At `state`, with no failure reason (for every state but `failed`).
    pub fn at(state: DepositState) -> Self {
        Self {
            state,
            failure: None,
        }
    }

    /// Failed, because of `kind`.
    pub fn failed(kind: FailureKind) -> Self {
        Self {
            state: DepositState::Failed,
            failure: Some(kind),
        }
    }

    /// Whether a late receipt may move a failed deposit on.
    fn may_be_revived(self) -> bool {
        self.state == DepositState::Failed && self.failure.is_none_or(FailureKind::may_be_revived)
    }

    /// Whether the deposit failed for good (refused, not deliverable, or
    /// refused on sending): no message moves it any more.
    pub fn is_refused_for_good(self) -> bool {
        self.state == DepositState::Failed && !self.may_be_revived()
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

impl Event {
    /// Where the event would take a deposit, before looking at where the
    /// deposit is; `None` for an event that never changes the state.
    fn target(&self) -> Option<Position> {
        use DepositState as S;
        Some(match self {
            Self::Accepted => Position::at(S::AcceptedByProvider),
            Self::Delivered => Position::at(S::Delivered),
            Self::ChecksPassed => Position::at(S::ChecksPassed),
            Self::ChecksAnomalies => Position::at(S::ChecksAnomalies),
            Self::ChecksFailed => Position::at(S::ChecksFailed),
            Self::ClerkAccepted => Position::at(S::AcceptedByClerk),
            Self::ClerkRefused => Position::at(S::Refused),
            Self::NotAccepted => Position::failed(FailureKind::NotAccepted),
            Self::DeliveryFailed => Position::failed(FailureKind::NotDelivered),
            Self::Note => return None,
        })
    }
}

/// Where `event` takes a deposit at `current`, or `None` when it changes
/// nothing.
pub fn next(current: Position, event: &Event) -> Option<Position> {
    use DepositState as S;
    let target = event.target()?;
    let state = current.state;
    if matches!(state, S::Cancelled | S::AcceptedByClerk | S::Refused) {
        return None;
    }
    // A failure report for a deposit already delivered is stale (another
    // attempt or a late notice): keep the better state.
    if target.state == S::Failed && state.rank() >= S::Delivered.rank() {
        return None;
    }
    if state == S::Failed {
        // Failed after attempts ran out, or after an unknown outcome: a
        // receipt shows an attempt reached the provider after all. A
        // definitive refusal stays failed, and a second failure notice
        // keeps the first reason.
        return (target.state != S::Failed && current.may_be_revived()).then_some(target);
    }
    (target.state.rank() > state.rank()).then_some(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use DepositState as S;

    /// The state `event` takes a deposit at `state` (not failed) to.
    fn step(state: S, event: Event) -> Option<S> {
        next(Position::at(state), &event).map(|p| p.state)
    }

    #[test]
    fn the_normal_path_moves_forward_one_receipt_at_a_time() {
        let mut position = Position::at(S::Sent);
        for (event, want) in [
            (Event::Accepted, S::AcceptedByProvider),
            (Event::Delivered, S::Delivered),
            (Event::ChecksPassed, S::ChecksPassed),
            (Event::ClerkAccepted, S::AcceptedByClerk),
        ] {
            position = next(position, &event).unwrap();
            assert_eq!(position, Position::at(want));
        }
        assert!(position.state.is_final());
        assert_eq!(position.state.task_view().0, "completed");
    }

    #[test]
    fn late_and_repeated_receipts_change_nothing() {
        assert_eq!(step(S::Delivered, Event::Accepted), None);
        assert_eq!(step(S::Delivered, Event::Delivered), None);
        assert_eq!(step(S::AcceptedByClerk, Event::ChecksFailed), None);
        assert_eq!(step(S::Delivered, Event::DeliveryFailed), None);
        assert_eq!(step(S::Sent, Event::Note), None);
    }

    #[test]
    fn an_unknown_outcome_is_settled_by_the_acceptance_receipt() {
        assert_eq!(
            step(S::Unknown, Event::Accepted),
            Some(S::AcceptedByProvider)
        );
        assert_eq!(step(S::Sending, Event::Delivered), Some(S::Delivered));
        assert_eq!(
            step(S::Queued, Event::Accepted),
            Some(S::AcceptedByProvider)
        );
    }

    #[test]
    fn refusals_and_checks() {
        assert_eq!(step(S::Sent, Event::NotAccepted), Some(S::Failed));
        assert_eq!(
            step(S::Delivered, Event::ChecksFailed),
            Some(S::ChecksFailed)
        );
        // The clerk may still accept after anomalies, even blocking ones.
        assert_eq!(
            step(S::ChecksAnomalies, Event::ClerkAccepted),
            Some(S::AcceptedByClerk)
        );
        assert_eq!(
            step(S::ChecksFailed, Event::ClerkAccepted),
            Some(S::AcceptedByClerk)
        );
        assert_eq!(S::ChecksAnomalies.task_view().0, "in-progress");
        assert_eq!(S::ChecksFailed.task_view().0, "failed");
        assert_eq!(step(S::ChecksPassed, Event::ClerkRefused), Some(S::Refused));
        assert_eq!(step(S::Cancelled, Event::Accepted), None);
    }

    #[test]
    fn failure_notices_carry_their_reason() {
        assert_eq!(
            next(Position::at(S::Sent), &Event::NotAccepted),
            Some(Position::failed(FailureKind::NotAccepted))
        );
        assert_eq!(
            next(Position::at(S::AcceptedByProvider), &Event::DeliveryFailed),
            Some(Position::failed(FailureKind::NotDelivered))
        );
        assert!(Position::failed(FailureKind::NotDelivered).is_refused_for_good());
        assert!(!Position::failed(FailureKind::Exhausted).is_refused_for_good());
        assert!(!Position::at(S::Refused).is_refused_for_good());
        // Leaving `failed` clears the reason.
        assert_eq!(
            next(Position::failed(FailureKind::Exhausted), &Event::Delivered),
            Some(Position::at(S::Delivered))
        );
    }

    #[test]
    fn a_late_receipt_revives_only_a_deposit_no_one_refused() {
        for kind in [FailureKind::Exhausted, FailureKind::OutcomeUnknown] {
            assert_eq!(
                next(Position::failed(kind), &Event::Accepted),
                Some(Position::at(S::AcceptedByProvider)),
                "{kind:?}"
            );
            assert_eq!(
                next(Position::failed(kind), &Event::ClerkAccepted),
                Some(Position::at(S::AcceptedByClerk)),
                "{kind:?}"
            );
        }
        for kind in [
            FailureKind::Permanent,
            FailureKind::NotAccepted,
            FailureKind::NotDelivered,
        ] {
            for event in [
                Event::Accepted,
                Event::Delivered,
                Event::ChecksPassed,
                Event::ClerkAccepted,
            ] {
                assert_eq!(
                    next(Position::failed(kind), &event),
                    None,
                    "{kind:?} {event:?}"
                );
            }
        }
        // Stored by older code, reason unknown: revivable, as before.
        let unexplained = Position {
            state: S::Failed,
            failure: None,
        };
        assert_eq!(
            next(unexplained, &Event::Accepted),
            Some(Position::at(S::AcceptedByProvider))
        );
    }

    #[test]
    fn a_second_failure_notice_keeps_the_first_reason() {
        assert_eq!(
            next(
                Position::failed(FailureKind::Exhausted),
                &Event::NotAccepted
            ),
            None
        );
        assert_eq!(
            next(
                Position::failed(FailureKind::NotAccepted),
                &Event::DeliveryFailed
            ),
            None
        );
    }

    #[test]
    fn codes_round_trip() {
        for state in DepositState::ALL {
            assert_eq!(DepositState::parse(state.as_str()), Some(state));
        }
        for kind in FailureKind::ALL {
            assert_eq!(FailureKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(FailureKind::parse("failed"), None);
    }
}
