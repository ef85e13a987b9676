//! Correlation and failure reasons, against a real database.

use rusqlite::{Connection, params};

use crate::deposit::state::{DepositState, Event, FailureKind};
use crate::store::sqlite::SqliteStore;
use crate::store::{AttemptOutcome, DepositStore, InboundMessage, Ingested, NewAttempt};

const COURT_A: &str = "tribunale.a@pec.ponte.test";
const COURT_B: &str = "Tribunale.B@PEC.ponte.test";
const ID_BUSTA: &str = "35508878";
const T0: &str = "2026-01-01T00:00:00Z";

/// A store with nothing in it, and a second connection to seed rows.
struct Fixture {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    seed: Connection,
    next_uid: u32,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = SqliteStore::open(&path, 1, 16).unwrap();
        let seed = Connection::open(&path).unwrap();
        seed.busy_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        // Filings without their submissions: only the deposit path is used.
        seed.pragma_update(None, "foreign_keys", "OFF").unwrap();
        Self {
            _dir: dir,
            store,
            seed,
            next_uid: 1,
        }
    }

    /// A ready filing for `court_pec` and its deposit in `state`, with the
    /// envelope an attempt sends; returns the filing id (also used as
    /// the deposit's Message-ID).
    fn deposit(&self, id: &str, court_pec: &str, state: &str) -> String {
        let task = format!("task-{id}");
        self.seed
            .execute(
                "INSERT INTO task (id, submission_id, agency, status, authored_on, \
                 last_modified) VALUES (?1, ?2, 'asl3', 'in-progress', ?3, ?3)",
                params![task, format!("sub-{id}"), T0],
            )
            .unwrap();
        self.seed
            .execute(
                "INSERT INTO filing (id, task_id, submission_id, agency, act, status, court, \
                 court_pec, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, 'asl3', 'ads-report', 'ready', '0100000000', ?4, ?5, ?5)",
                params![id, task, format!("sub-{id}"), court_pec, T0],
            )
            .unwrap();
        self.seed
            .execute(
                "INSERT INTO filing_artefact (filing_id, name, content_type, sha256, size, body) \
                 VALUES (?1, 'Atto.enc', 'application/octet-stream', x'00', 1, x'00')",
                [id],
            )
            .unwrap();
        self.seed
            .execute(
                "INSERT INTO deposit (filing_id, message_id, state, next_attempt_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?4)",
                params![id, message_id(id), state, T0],
            )
            .unwrap();
        id.to_owned()
    }

    /// Ingests a classified message; each call is a new message in the box.
    async fn ingest(&mut self, message: Message<'_>) -> Ingested {
        let uid = self.next_uid;
        self.next_uid += 1;
        let inbound = InboundMessage {
            mailbox: "INBOX".to_owned(),
            uid_validity: 1,
            uid,
            raw: format!("message {uid}").into_bytes(),
            kind: message.kind.to_owned(),
            refers_to: message.refers_to.map(message_id),
            court_address: message.court.map(str::to_ascii_lowercase),
            event: Some(message.event),
            values: message
                .values
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            problem: None,
        };
        self.store.ingest_message(inbound).await.unwrap()
    }

    async fn state(&self, filing: &str) -> (DepositState, Option<FailureKind>) {
        let d = self
            .store
            .deposit(filing.to_owned())
            .await
            .unwrap()
            .unwrap();
        (d.state, d.failure)
    }

    fn column(&self, filing: &str, column: &str) -> Option<String> {
        self.seed
            .query_row(
                &format!("SELECT {column} FROM deposit WHERE filing_id = ?1"),
                [filing],
                |r| r.get(0),
            )
            .unwrap()
    }

    async fn quarantine_reasons(&self) -> Vec<Option<String>> {
        let listed = self.store.quarantine(100).await.unwrap();
        listed.into_iter().map(|m| m.reason).collect()
    }

    /// Claims the (only) due deposit and records `outcome` for it.
    async fn attempt(&self, filing: &str, outcome: AttemptOutcome) {
        let job = self
            .store
            .claim_deposit(T0.into(), "2026-01-01T00:15:00Z".into(), T0.into())
            .await
            .unwrap()
            .expect("a due deposit");
        assert_eq!(job.filing_id, filing);
        self.store
            .record_attempt(NewAttempt {
                filing_id: job.filing_id,
                lease: job.lease,
                outcome,
                message: b"deposit".to_vec(),
                court: job.court,
                message_id: job.message_id,
            })
            .await
            .unwrap();
    }
}

fn message_id(filing: &str) -> String {
    format!("{filing}@office.ponte.test")
}

/// A classified message, as `classify` would give it.
struct Message<'a> {
    kind: &'a str,
    refers_to: Option<&'a str>,
    court: Option<&'a str>,
    event: Event,
    values: &'a [(&'a str, &'a str)],
}

/// The court's message that first gives the IDBUSTA, citing the deposit's
/// Message-ID.
fn checks_passed<'a>(filing: &'a str, court: &'a str) -> Message<'a> {
    Message {
        kind: "esito-controlli",
        refers_to: Some(filing),
        court: Some(court),
        event: Event::ChecksPassed,
        values: &[("id-busta", ID_BUSTA), ("esito-code", "1")],
    }
}

/// The clerk's decision citing only the IDBUSTA.
fn clerk_accepted(court: Option<&str>) -> Message<'_> {
    Message {
        kind: "esito-cancelleria",
        refers_to: None,
        court,
        event: Event::ClerkAccepted,
        values: &[("id-busta", ID_BUSTA), ("case-number", "123/2026")],
    }
}

fn accettazione(filing: &str) -> Message<'_> {
    Message {
        kind: "accettazione",
        refers_to: Some(filing),
        court: None,
        event: Event::Accepted,
        values: &[("provider-id", "opec.1@pec.ponte.test")],
    }
}

fn non_accettazione(filing: &str) -> Message<'_> {
    Message {
        kind: "non-accettazione",
        refers_to: Some(filing),
        court: None,
        event: Event::NotAccepted,
        values: &[],
    }
}

#[tokio::test]
async fn an_id_busta_moves_only_the_deposit_at_the_court_that_sent_it() {
    let mut f = Fixture::new();
    let a = f.deposit("filing-a", COURT_A, "delivered");
    let b = f.deposit("filing-b", COURT_B, "delivered");
    // Both courts happen to give the same IDBUSTA.
    f.ingest(checks_passed(&a, COURT_A)).await;
    f.ingest(checks_passed(&b, COURT_B)).await;
    assert_eq!(f.column(&a, "id_busta").as_deref(), Some(ID_BUSTA));
    assert_eq!(f.column(&b, "id_busta").as_deref(), Some(ID_BUSTA));
    assert_eq!(
        f.column(&b, "id_busta_court").as_deref(),
        Some("tribunale.b@pec.ponte.test")
    );

    let got = f.ingest(clerk_accepted(Some(COURT_A))).await;
    assert_eq!(
        got,
        Ingested::Applied {
            filing_id: a.clone(),
            state: Some(DepositState::AcceptedByClerk)
        }
    );
    assert_eq!(f.state(&a).await.0, DepositState::AcceptedByClerk);
    assert_eq!(f.state(&b).await.0, DepositState::ChecksPassed);

    // Court B's own message (its address in another case) moves B's.
    let got = f.ingest(clerk_accepted(Some(COURT_B))).await;
    assert!(
        matches!(&got, Ingested::Applied { filing_id, .. } if *filing_id == b),
        "{got:?}"
    );
    assert_eq!(f.state(&b).await.0, DepositState::AcceptedByClerk);
}

#[tokio::test]
async fn an_id_busta_from_an_unknown_or_other_court_is_quarantined() {
    let mut f = Fixture::new();
    let a = f.deposit("filing-a", COURT_A, "delivered");
    f.ingest(checks_passed(&a, COURT_A)).await;

    assert_eq!(f.ingest(clerk_accepted(None)).await, Ingested::Quarantined);
    assert_eq!(
        f.ingest(clerk_accepted(Some("tribunale.c@pec.ponte.test")))
            .await,
        Ingested::Quarantined
    );
    assert_eq!(f.state(&a).await.0, DepositState::ChecksPassed);
    assert_eq!(f.column(&a, "case_number"), None);
    assert_eq!(
        f.quarantine_reasons().await,
        [
            Some("no_reference".to_owned()),
            Some("id_busta_without_court".to_owned())
        ]
    );
}

#[tokio::test]
async fn a_deposit_the_provider_refused_is_not_revived_by_a_late_receipt() {
    let mut f = Fixture::new();
    let a = f.deposit("filing-a", COURT_A, "sent");
    f.ingest(non_accettazione(&a)).await;
    assert_eq!(
        f.state(&a).await,
        (DepositState::Failed, Some(FailureKind::NotAccepted))
    );

    let got = f.ingest(accettazione(&a)).await;
    assert_eq!(
        got,
        Ingested::Applied {
            filing_id: a.clone(),
            state: None
        }
    );
    assert_eq!(
        f.state(&a).await,
        (DepositState::Failed, Some(FailureKind::NotAccepted))
    );
    // Without effect: the receipt's values are not taken either.
    assert_eq!(f.column(&a, "accepted_at"), None);
    let deposit = f.store.deposit(a.clone()).await.unwrap().unwrap();
    let states: Vec<_> = deposit.messages.iter().map(|m| m.state.as_str()).collect();
    assert_eq!(states, ["applied", "applied"]);
}

#[tokio::test]
async fn a_deposit_whose_attempts_ran_out_is_revived_by_a_late_receipt() {
    let mut f = Fixture::new();
    let a = f.deposit("filing-a", COURT_A, "queued");
    let exhausted = AttemptOutcome::Transient {
        code: "smtp_connection_failed".into(),
        retry_at: None,
    };
    f.attempt(&a, exhausted).await;
    assert_eq!(
        f.state(&a).await,
        (DepositState::Failed, Some(FailureKind::Exhausted))
    );

    f.ingest(accettazione(&a)).await;
    assert_eq!(f.state(&a).await, (DepositState::AcceptedByProvider, None));
    assert_eq!(f.column(&a, "failure"), None);
}

#[tokio::test]
async fn a_permanent_error_is_definitive_unless_an_earlier_outcome_was_unknown() {
    let mut f = Fixture::new();
    let permanent = || AttemptOutcome::Permanent {
        code: "smtp_auth_rejected".into(),
    };
    let a = f.deposit("filing-a", COURT_A, "queued");
    f.attempt(&a, permanent()).await;
    assert_eq!(
        f.state(&a).await,
        (DepositState::Failed, Some(FailureKind::Permanent))
    );
    f.ingest(accettazione(&a)).await;
    assert_eq!(f.state(&a).await.0, DepositState::Failed);

    let b = f.deposit("filing-b", COURT_B, "queued");
    let unknown = AttemptOutcome::Unknown {
        code: "smtp_connection_lost".into(),
        reconcile_until: T0.into(),
    };
    f.attempt(&b, unknown).await;
    // Its window over with no receipt, it is sent again (claimed as due).
    f.seed
        .execute(
            "UPDATE deposit SET state = 'queued' WHERE filing_id = ?1",
            [&b],
        )
        .unwrap();
    f.attempt(&b, permanent()).await;
    assert_eq!(
        f.state(&b).await,
        (DepositState::Failed, Some(FailureKind::OutcomeUnknown))
    );
    f.ingest(accettazione(&b)).await;
    assert_eq!(f.state(&b).await, (DepositState::AcceptedByProvider, None));
}

#[tokio::test]
async fn a_refused_resend_after_an_unknown_outcome_may_still_be_revived() {
    let mut f = Fixture::new();
    let a = f.deposit("filing-a", COURT_A, "queued");
    let unknown = AttemptOutcome::Unknown {
        code: "smtp_connection_lost".into(),
        reconcile_until: T0.into(),
    };
    f.attempt(&a, unknown).await;
    // Sent again after its window; the provider refuses the resend.
    f.seed
        .execute(
            "UPDATE deposit SET state = 'sent' WHERE filing_id = ?1",
            [&a],
        )
        .unwrap();
    f.ingest(non_accettazione(&a)).await;
    assert_eq!(
        f.state(&a).await,
        (DepositState::Failed, Some(FailureKind::OutcomeUnknown))
    );
    // The first attempt's acceptance arrives late: it did reach the provider.
    f.ingest(accettazione(&a)).await;
    assert_eq!(f.state(&a).await, (DepositState::AcceptedByProvider, None));
}

#[tokio::test]
async fn an_acceptance_names_the_deposit_message_even_if_its_attempt_was_never_recorded() {
    let mut f = Fixture::new();
    // The gateway stopped while sending: no attempt was recorded, so the
    // Task never got the message's id from the outbox.
    let a = f.deposit("filing-a", COURT_A, "sending");
    f.ingest(accettazione(&a)).await;
    assert_eq!(f.state(&a).await, (DepositState::AcceptedByProvider, None));
    let outputs: String = f
        .seed
        .query_row(
            "SELECT t.outputs FROM task t JOIN filing f ON f.task_id = t.id WHERE f.id = ?1",
            [&a],
            |r| r.get(0),
        )
        .unwrap();
    let outputs: Vec<(String, String)> = serde_json::from_str(&outputs).unwrap();
    assert!(
        outputs.contains(&("deposit-message-id".to_owned(), message_id(&a))),
        "{outputs:?}"
    );
}

#[tokio::test]
async fn the_office_retries_only_a_failed_deposit_none_of_whose_attempts_may_reach_the_court() {
    use crate::store::{Error, EvidenceStore};
    let mut f = Fixture::new();
    // a: refused on sending (the account's password was wrong): nothing
    // reached the provider.
    let a = f.deposit("filing-a", COURT_A, "queued");
    f.attempt(
        &a,
        AttemptOutcome::Permanent {
            code: "smtp_auth_rejected".into(),
        },
    )
    .await;
    f.seed
        .execute(
            "UPDATE task SET outputs = '[[\"deposit-error\",\"smtp_auth_rejected\"]]' \
             WHERE id = 'task-filing-a'",
            [],
        )
        .unwrap();
    // b: failed after an attempt whose outcome was unknown; c: on its way.
    let b = f.deposit("filing-b", COURT_B, "failed");
    f.seed
        .execute(
            "UPDATE deposit SET outcome_unknown = 1, failure = 'outcome-unknown' \
             WHERE filing_id = ?1",
            [&b],
        )
        .unwrap();
    let c = f.deposit("filing-c", COURT_A, "accepted-by-provider");
    let store = f.store.clone();
    let retry = |filing: &str| {
        store.retry_deposit(filing.to_owned(), "upp-genova".into(), |previous| {
            format!("again-{previous}")
        })
    };
    for filing in [&b, &c] {
        assert!(
            matches!(retry(filing).await, Err(Error::Conflict)),
            "{filing}"
        );
    }
    assert!(matches!(retry("filing-x").await, Err(Error::NotFound)));
    assert_eq!(f.column(&b, "message_id"), Some(message_id(&b)));

    let (fresh, recorded) = retry(&a).await.unwrap();
    assert_eq!(fresh, format!("again-{}", message_id(&a)));
    let fresh = fresh.as_str();
    let deposit = f.store.deposit(a.clone()).await.unwrap().unwrap();
    assert_eq!(
        (deposit.state, deposit.failure),
        (DepositState::Queued, None)
    );
    assert_eq!((deposit.message_id.as_str(), deposit.attempts), (fresh, 0));
    assert_eq!(deposit.last_error, None);
    let (status, outputs): (String, String) = f
        .seed
        .query_row(
            "SELECT status, outputs FROM task WHERE id = 'task-filing-a'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(status, "in-progress");
    let outputs: Vec<(String, String)> = serde_json::from_str(&outputs).unwrap();
    assert_eq!(
        outputs,
        [("deposit-message-id".to_owned(), fresh.to_owned())]
    );
    let entry = f.store.evidence_entry(recorded.index).await.unwrap();
    let entry: serde_json::Value = serde_json::from_slice(&entry.entry).unwrap();
    assert_eq!(entry["operation"], "deposit-retried");
    assert_eq!(entry["agency"], "upp-genova");
    assert_eq!(entry["objects"]["previous-message-id"], message_id(&a));
    assert_eq!(entry["objects"]["message-id"], fresh);
    assert_eq!(entry["objects"]["failure"], "permanent");

    // A late receipt about the old message no longer moves the deposit.
    assert_eq!(f.ingest(accettazione(&a)).await, Ingested::Quarantined);
    assert_eq!(f.state(&a).await.0, DepositState::Queued);
    // The new message goes out (due now; the fixture's clock is T0), and
    // its receipt applies.
    f.seed
        .execute(
            "UPDATE deposit SET next_attempt_at = ?2 WHERE filing_id = ?1",
            [&a, T0],
        )
        .unwrap();
    f.attempt(
        &a,
        AttemptOutcome::Accepted {
            reply: "250 ok".into(),
        },
    )
    .await;
    assert_eq!(f.state(&a).await.0, DepositState::Sent);
    let got = f
        .store
        .ingest_message(InboundMessage {
            mailbox: "INBOX".to_owned(),
            uid_validity: 1,
            uid: 99,
            raw: b"acceptance of the new message".to_vec(),
            kind: "accettazione".to_owned(),
            refers_to: Some(fresh.to_owned()),
            court_address: None,
            event: Some(Event::Accepted),
            values: Vec::new(),
            problem: None,
        })
        .await
        .unwrap();
    assert_eq!(
        got,
        Ingested::Applied {
            filing_id: a.clone(),
            state: Some(DepositState::AcceptedByProvider)
        }
    );
}
