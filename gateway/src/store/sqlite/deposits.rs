//! [`DepositStore`] on SQLite.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::writer::Appender;
use super::{SqliteStore, classify};
use crate::deposit::state::{self, DepositState, FailureKind, Position};
use crate::evidence::{Entry, Recorded, format_time};
use crate::store::{
    AttemptOutcome, DepositJob, DepositRecord, DepositStore, Direction, Error, ExchangeId,
    InboundMessage, Ingested, MessageInfo, NewAttempt, NewExchange, Outcome, Result,
};

impl DepositStore for SqliteStore {
    async fn recover_deposits(&self, reconcile_until: String) -> Result<u64> {
        self.run_write(move |conn, _| {
            let n = conn
                .execute(
                    "UPDATE deposit SET state = 'unknown', lease_until = NULL, \
                     reconcile_until = ?1, last_error = 'interrupted', outcome_unknown = 1 \
                     WHERE state = 'sending'",
                    [&reconcile_until],
                )
                .map_err(classify)?;
            Ok(n as u64)
        })
        .await
    }

    async fn claim_deposit(
        &self,
        now: String,
        lease: String,
        reconcile_until: String,
    ) -> Result<Option<DepositJob>> {
        self.run_write(move |conn, _| claim(conn, &now, &lease, &reconcile_until))
            .await
    }

    async fn record_attempt(&self, attempt: NewAttempt) -> Result<Recorded> {
        self.run_write(move |conn, appender| record_attempt(conn, appender, &attempt))
            .await
    }

    async fn ingest_message(&self, message: InboundMessage) -> Result<Ingested> {
        self.run_write(move |conn, appender| ingest(conn, appender, &message))
            .await
    }

    async fn record_poll(&self, mailbox: String, at: String) -> Result<()> {
        self.run_write(move |conn, _| {
            conn.execute(
                "INSERT INTO mailbox_poll (mailbox, polled_at) VALUES (?1, ?2) \
                 ON CONFLICT (mailbox) DO UPDATE SET polled_at = excluded.polled_at",
                params![mailbox, at],
            )
            .map_err(classify)?;
            Ok(())
        })
        .await
    }

    async fn cancel_deposit(&self, filing_id: String, agency: String) -> Result<Recorded> {
        self.run_write(move |conn, appender| {
            let current = current_position(conn, &filing_id)?.ok_or(Error::NotFound)?;
            if !current.state.is_cancellable() {
                return Err(Error::Conflict);
            }
            let now = format_time(time::OffsetDateTime::now_utc());
            set_state(
                conn,
                &filing_id,
                Position::at(DepositState::Cancelled),
                &now,
            )?;
            update_task(conn, &filing_id, DepositState::Cancelled, &[], &now)?;
            appender.append(Entry {
                agency: Some(agency.clone()),
                kind: "admin".to_owned(),
                operation: Some("deposit-cancelled".to_owned()),
                objects: BTreeMap::from([("filing".to_owned(), filing_id.clone())]),
                outcome: "ok".to_owned(),
                ..Entry::default()
            })
        })
        .await
    }

    async fn deposit(&self, filing_id: String) -> Result<Option<DepositRecord>> {
        self.read(move |conn| load(conn, &filing_id)).await
    }

    async fn quarantine(&self, limit: u32) -> Result<Vec<MessageInfo>> {
        self.read(move |conn| {
            messages(
                conn,
                "WHERE state = 'quarantined' ORDER BY id DESC LIMIT ?1",
                params![limit.clamp(1, 1000)],
            )
        })
        .await
    }

    async fn inbound_message(
        &self,
        id: i64,
        quarantined_only: bool,
    ) -> Result<(Option<String>, Vec<u8>)> {
        self.read(move |conn| {
            conn.query_row(
                "SELECT filing_id, raw FROM inbound_message WHERE id = ?1 \
                 AND (?2 = 0 OR state = 'quarantined')",
                params![id, i64::from(quarantined_only)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(classify)?
            .ok_or(Error::NotFound)
        })
        .await
    }
}

/// The deposit of a filing, for `/filings/{id}`.
pub(super) fn load(conn: &Connection, filing_id: &str) -> Result<Option<DepositRecord>> {
    let found = conn
        .query_row(
            "SELECT state, message_id, attempts, next_attempt_at, last_error, sent_at, \
             accepted_at, delivered_at, delivery_receipt, esito_code, case_number, updated_at, \
             failure FROM deposit WHERE filing_id = ?1",
            [filing_id],
            |r| {
                let state: String = r.get(0)?;
                Ok(DepositRecord {
                    state: DepositState::parse(&state).unwrap_or(DepositState::Failed),
                    failure: r
                        .get::<_, Option<String>>(12)?
                        .as_deref()
                        .and_then(FailureKind::parse),
                    message_id: r.get(1)?,
                    attempts: r.get(2)?,
                    next_attempt_at: r.get(3)?,
                    last_error: r.get(4)?,
                    sent_at: r.get(5)?,
                    accepted_at: r.get(6)?,
                    delivered_at: r.get(7)?,
                    delivery_receipt: r.get(8)?,
                    esito_code: r.get(9)?,
                    case_number: r.get(10)?,
                    updated_at: r.get(11)?,
                    messages: Vec::new(),
                })
            },
        )
        .optional()
        .map_err(classify)?;
    let Some(mut deposit) = found else {
        return Ok(None);
    };
    deposit.messages = messages(conn, "WHERE filing_id = ?1 ORDER BY id", params![filing_id])?;
    Ok(Some(deposit))
}

fn messages(
    conn: &Connection,
    filter: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<MessageInfo>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT id, kind, received_at, sha256, state, refers_to, reason \
             FROM inbound_message {filter}"
        ))
        .map_err(classify)?;
    let rows = stmt
        .query_map(args, |r| {
            Ok(MessageInfo {
                id: r.get(0)?,
                kind: r.get(1)?,
                received_at: r.get(2)?,
                sha256: hex::encode(r.get::<_, Vec<u8>>(3)?),
                state: r.get(4)?,
                refers_to: r.get(5)?,
                reason: r.get(6)?,
            })
        })
        .map_err(classify)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(classify)
}

fn current_position(conn: &Connection, filing_id: &str) -> Result<Option<Position>> {
    conn.query_row(
        "SELECT state, failure FROM deposit WHERE filing_id = ?1",
        [filing_id],
        |r| Ok(position(&r.get::<_, String>(0)?, r.get(1)?)),
    )
    .optional()
    .map_err(classify)
}

/// A stored `(state, failure)` pair; an unknown state code reads as
/// `queued`, as elsewhere in the receipt path.
fn position(state: &str, failure: Option<String>) -> Position {
    Position {
        state: DepositState::parse(state).unwrap_or(DepositState::Queued),
        failure: failure.as_deref().and_then(FailureKind::parse),
    }
}

/// Moves the deposit to `to`, storing why when it fails (and clearing the
/// reason when it leaves `failed`). The attempt's lease (its token) is left
/// alone: a receipt may arrive while an attempt is in flight, and that
/// attempt must still be able to record what it sent.
fn set_state(conn: &Connection, filing_id: &str, to: Position, now: &str) -> Result<()> {
    conn.execute(
        "UPDATE deposit SET state = ?2, failure = ?3, updated_at = ?4 WHERE filing_id = ?1",
        params![
            filing_id,
            to.state.as_str(),
            to.failure.map(FailureKind::as_str),
            now
        ],
    )
    .map_err(classify)?;
    Ok(())
}

/// The sender's Task follows the deposit: status, businessStatus, and the
/// outputs given (replacing earlier outputs of the same name).
fn update_task(
    conn: &Connection,
    filing_id: &str,
    state: DepositState,
    outputs: &[(String, String)],
    now: &str,
) -> Result<()> {
    let (task_id, current): (String, String) = conn
        .query_row(
            "SELECT t.id, t.outputs FROM filing f JOIN task t ON t.id = f.task_id WHERE f.id = ?1",
            [filing_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(classify)?;
    let mut all: Vec<(String, String)> = serde_json::from_str(&current).unwrap_or_default();
    for (name, value) in outputs {
        all.retain(|(n, _)| n != name);
        all.push((name.clone(), value.clone()));
    }
    let (status, business) = state.task_view();
    let all = serde_json::to_string(&all).map_err(|e| Error::Other(Box::new(e)))?;
    conn.execute(
        "UPDATE task SET status = ?2, business_status = ?3, outputs = ?4, last_modified = ?5 \
         WHERE id = ?1",
        params![task_id, status, business, all, now],
    )
    .map_err(classify)?;
    Ok(())
}

fn claim(
    conn: &Connection,
    now: &str,
    lease: &str,
    reconcile_until: &str,
) -> Result<Option<DepositJob>> {
    // Queued and due (by the (state, next_attempt_at) index); else
    // unknown, its window over, the box read after the window (so an
    // acceptance receipt would have been seen), none seen. Two queries, each
    // an index range with LIMIT 1: one OR query made SQLite sort every due
    // row on each claim.
    let pick = |sql: &str| {
        conn.query_row(sql, [now], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()
        .map_err(classify)
    };
    let mut row: Option<(String, String, u32, String)> = pick(
        "SELECT filing_id, message_id, attempts, state FROM deposit \
         WHERE state = 'queued' AND next_attempt_at <= ?1 ORDER BY next_attempt_at LIMIT 1",
    )?;
    // An attempt whose lease ran out without a record (its outcome could not
    // be stored): its outcome is unknown; it waits for the acceptance receipt
    // like a crash would.
    conn.execute(
        "UPDATE deposit SET state = 'unknown', lease_until = NULL, last_error = 'lease_expired', \
         outcome_unknown = 1 WHERE state = 'sending' AND lease_until < ?1",
        [now],
    )
    .map_err(classify)?;
    if row.is_none() {
        row = pick(
            "SELECT filing_id, message_id, attempts, state FROM deposit \
             WHERE state = 'unknown' AND reconcile_until <= ?1 \
               AND reconcile_until <= (SELECT MAX(polled_at) FROM mailbox_poll) \
             ORDER BY reconcile_until LIMIT 1",
        )?;
    }
    let Some((filing_id, message_id, attempts, previous)) = row else {
        return Ok(None);
    };
    conn.execute(
        "UPDATE deposit SET state = 'sending', attempts = attempts + 1, lease_until = ?2, \
         reconcile_until = ?3, updated_at = ?4 WHERE filing_id = ?1",
        params![filing_id, lease, reconcile_until, now],
    )
    .map_err(classify)?;
    let (task_id, court, to, description): (String, String, String, Option<String>) = conn
        .query_row(
            "SELECT task_id, court, court_pec, deposit_description FROM filing WHERE id = ?1",
            [&filing_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .map_err(classify)?;
    let atto_enc: Vec<u8> = conn
        .query_row(
            "SELECT body FROM filing_artefact WHERE filing_id = ?1 AND name = 'Atto.enc'",
            [&filing_id],
            |r| r.get(0),
        )
        .map_err(classify)?;
    update_task(conn, &filing_id, DepositState::Sending, &[], now)?;
    Ok(Some(DepositJob {
        filing_id,
        task_id,
        message_id,
        attempts: attempts + 1,
        lease: lease.to_owned(),
        previous: DepositState::parse(&previous).unwrap_or(DepositState::Queued),
        to,
        court,
        description: description.unwrap_or_default(),
        atto_enc,
    }))
}

fn record_attempt(
    conn: &Connection,
    appender: &mut Appender<'_>,
    a: &NewAttempt,
) -> Result<Recorded> {
    let held: Option<(Option<String>, String, bool)> = conn
        .query_row(
            "SELECT lease_until, state, outcome_unknown FROM deposit WHERE filing_id = ?1",
            [&a.filing_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(classify)?;
    let Some((lease, current, outcome_unknown)) = held else {
        return Err(Error::NotFound);
    };
    if lease.as_deref() != Some(a.lease.as_str()) {
        return Err(Error::Conflict);
    }
    conn.execute(
        "UPDATE deposit SET lease_until = NULL WHERE filing_id = ?1",
        [&a.filing_id],
    )
    .map_err(classify)?;
    // A receipt applied while the attempt was in flight already moved the
    // deposit on: record the attempt (its exchange and bytes), keep the state.
    let moved_on = current != DepositState::Sending.as_str();
    let now = format_time(time::OffsetDateTime::now_utc());
    let (to, outcome, reason) = match &a.outcome {
        AttemptOutcome::Accepted { .. } => {
            conn.execute(
                "UPDATE deposit SET sent_at = ?2, last_error = NULL WHERE filing_id = ?1",
                params![a.filing_id, now],
            )
            .map_err(classify)?;
            (Position::at(DepositState::Sent), Outcome::Ok, None)
        }
        AttemptOutcome::Transient { code, retry_at } => {
            match retry_at {
                Some(at) => conn.execute(
                    "UPDATE deposit SET next_attempt_at = ?2, last_error = ?3 WHERE filing_id = ?1",
                    params![a.filing_id, at, code],
                ),
                None => conn.execute(
                    "UPDATE deposit SET last_error = ?2 WHERE filing_id = ?1",
                    params![a.filing_id, code],
                ),
            }
            .map_err(classify)?;
            let to = if retry_at.is_some() {
                Position::at(DepositState::Queued)
            } else {
                Position::failed(FailureKind::Exhausted)
            };
            (to, Outcome::Failed, Some(code.clone()))
        }
        AttemptOutcome::Permanent { code } => {
            conn.execute(
                "UPDATE deposit SET last_error = ?2 WHERE filing_id = ?1",
                params![a.filing_id, code],
            )
            .map_err(classify)?;
            (
                Position::failed(permanent_failure(outcome_unknown)),
                Outcome::Failed,
                Some(code.clone()),
            )
        }
        AttemptOutcome::Unknown {
            code,
            reconcile_until,
        } => {
            conn.execute(
                "UPDATE deposit SET last_error = ?2, reconcile_until = ?3, outcome_unknown = 1 \
                 WHERE filing_id = ?1",
                params![a.filing_id, code, reconcile_until],
            )
            .map_err(classify)?;
            (
                Position::at(DepositState::Unknown),
                Outcome::Failed,
                Some(code.clone()),
            )
        }
    };
    let state = if moved_on {
        DepositState::parse(&current).unwrap_or(to.state)
    } else {
        set_state(conn, &a.filing_id, to, &now)?;
        to.state
    };
    let mut outputs = vec![("deposit-message-id".to_owned(), a.message_id.clone())];
    if let Some(code) = &reason {
        outputs.push(("deposit-error".to_owned(), code.clone()));
    }
    update_task(conn, &a.filing_id, state, &outputs, &now)?;
    let digest: [u8; 32] = Sha256::digest(&a.message).into();
    appender.record_exchange(&NewExchange {
        id: ExchangeId::new(),
        at: time::OffsetDateTime::now_utc(),
        direction: Direction::Outbound,
        agency: None,
        fingerprint: None,
        peer_addr: None,
        request_id: None,
        method: "SMTP".to_owned(),
        route: "pec:deposit".to_owned(),
        body_sha256: Some(digest),
        body_size: a.message.len() as u64,
        outcome,
        status: None,
        reason: reason.as_deref().map(bounded_reason),
        objects: BTreeMap::from([
            ("court".to_owned(), a.court.clone()),
            ("filing".to_owned(), a.filing_id.clone()),
            ("message-id".to_owned(), a.message_id.clone()),
        ]),
        // The message is kept when it may have reached the provider; an
        // attempt refused before that keeps only its digest.
        body: matches!(
            a.outcome,
            AttemptOutcome::Accepted { .. } | AttemptOutcome::Unknown { .. }
        )
        .then(|| a.message.clone()),
    })
}

/// Why a deposit fails on a permanent sending error: if an earlier
/// attempt's outcome was unknown, that attempt may have reached the provider
/// (a late receipt may still show it did); otherwise nothing ever did.
fn permanent_failure(outcome_unknown: bool) -> FailureKind {
    if outcome_unknown {
        FailureKind::OutcomeUnknown
    } else {
        FailureKind::Permanent
    }
}

/// Reasons are `&'static str` in exchanges: map the adapter's codes onto a
/// fixed set.
fn bounded_reason(code: &str) -> &'static str {
    match code {
        c if c.contains("tls") => "smtp_tls",
        c if c.contains("auth") => "smtp_auth",
        c if c.contains("connect") => "smtp_connect",
        c if c.contains("timeout") => "smtp_timeout",
        c if c.contains("permanent") => "smtp_permanent",
        c if c.contains("transient") => "smtp_transient",
        c if c.contains("outbox") => "outbox_error",
        _ => "smtp_error",
    }
}

fn ingest(conn: &Connection, appender: &mut Appender<'_>, m: &InboundMessage) -> Result<Ingested> {
    let digest: [u8; 32] = Sha256::digest(&m.raw).into();
    let seen: i64 = conn
        .query_row(
            "SELECT count(*) FROM inbound_message WHERE sha256 = ?1 \
             OR (mailbox = ?2 AND uid_validity = ?3 AND uid = ?4)",
            params![&digest[..], m.mailbox, m.uid_validity, m.uid],
            |r| r.get(0),
        )
        .map_err(classify)?;
    if seen > 0 {
        return Ok(Ingested::Duplicate);
    }
    let now = format_time(time::OffsetDateTime::now_utc());
    let (filing_id, result, reason) = match &m.problem {
        Some(problem) => (None, Ingested::Quarantined, Some(problem.clone())),
        None => match correlate(conn, m)? {
            Correlated::Unmatched(reason) => (None, Ingested::Quarantined, Some(reason.to_owned())),
            Correlated::Deposit { filing_id, current } => match &m.event {
                None => (
                    None,
                    Ingested::Quarantined,
                    Some("not_applicable".to_owned()),
                ),
                Some(event) => {
                    let state = apply(conn, &filing_id, current, event, m, &now)?;
                    let result = Ingested::Applied {
                        filing_id: filing_id.clone(),
                        state,
                    };
                    (Some(filing_id), result, None)
                }
            },
        },
    };
    let state = if reason.is_some() {
        "quarantined"
    } else {
        "applied"
    };
    conn.execute(
        "INSERT INTO inbound_message (mailbox, uid_validity, uid, sha256, received_at, kind, \
         refers_to, filing_id, state, reason, raw) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            m.mailbox,
            m.uid_validity,
            m.uid,
            &digest[..],
            now,
            m.kind,
            m.refers_to,
            filing_id,
            state,
            reason,
            m.raw,
        ],
    )
    .map_err(classify)?;
    let mut objects = BTreeMap::from([("kind".to_owned(), m.kind.clone())]);
    if let Some(filing_id) = &filing_id {
        objects.insert("filing".to_owned(), filing_id.clone());
    }
    if let Some(refers_to) = &m.refers_to {
        objects.insert("message-id".to_owned(), refers_to.clone());
    }
    appender.record_exchange(&NewExchange {
        id: ExchangeId::new(),
        at: time::OffsetDateTime::now_utc(),
        direction: Direction::Inbound,
        agency: None,
        fingerprint: None,
        peer_addr: None,
        request_id: None,
        method: "IMAP".to_owned(),
        route: "pec:receipt".to_owned(),
        body_sha256: Some(digest),
        body_size: m.raw.len() as u64,
        outcome: if reason.is_some() {
            Outcome::Refused
        } else {
            Outcome::Ok
        },
        status: None,
        reason: reason.as_ref().map(|_| "quarantined"),
        objects,
        body: None,
    })?;
    Ok(result)
}

/// What an inbound message was matched to.
enum Correlated {
    /// The deposit of `filing_id`, now at `current`.
    Deposit {
        /// The filing.
        filing_id: String,
        /// Its deposit's state and failure reason.
        current: Position,
    },
    /// No deposit: the bounded reason, for the quarantine.
    Unmatched(&'static str),
}

/// The deposit `m` is about: by the Message-ID it refers to, else by the
/// provider's identificativo it cites (learnt from the deposit's RdA), else
/// by the IDBUSTA it cites, within the court it came from (an IDBUSTA is
/// unique only per court). A message citing an IDBUSTA from an unknown
/// court is not matched by the IDBUSTA.
fn correlate(conn: &Connection, m: &InboundMessage) -> Result<Correlated> {
    let value = |name: &str| {
        m.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    if let Some(id) = &m.refers_to
        && let Some(found) = find_deposit(conn, "message_id = ?1", params![id])?
    {
        return Ok(found);
    }
    if let Some(provider_id) = value("provider-ref")
        && let Some(found) = find_deposit(conn, "provider_id = ?1", params![provider_id])?
    {
        return Ok(found);
    }
    match (value("id-busta"), &m.court_address) {
        (Some(id_busta), Some(court)) => {
            if let Some(found) = find_deposit(
                conn,
                "id_busta_court = ?1 AND id_busta = ?2",
                params![court, id_busta],
            )? {
                return Ok(found);
            }
        }
        (Some(_), None) => return Ok(Correlated::Unmatched("id_busta_without_court")),
        (None, _) => {}
    }
    Ok(Correlated::Unmatched(if m.refers_to.is_some() {
        "no_matching_deposit"
    } else {
        "no_reference"
    }))
}

/// The deposit matching `filter` (over `deposit`'s columns), if any.
fn find_deposit(
    conn: &Connection,
    filter: &str,
    args: impl rusqlite::Params,
) -> Result<Option<Correlated>> {
    conn.query_row(
        &format!("SELECT filing_id, state, failure FROM deposit WHERE {filter}"),
        args,
        |r| {
            Ok(Correlated::Deposit {
                filing_id: r.get(0)?,
                current: position(&r.get::<_, String>(1)?, r.get(2)?),
            })
        },
    )
    .optional()
    .map_err(classify)
}

/// Applies `event` (from `m`) to the deposit at `current`; the new state,
/// when it changed. A message about a deposit refused for good is recorded
/// without effect: neither the deposit's state nor its values change.
fn apply(
    conn: &Connection,
    filing_id: &str,
    current: Position,
    event: &state::Event,
    m: &InboundMessage,
    now: &str,
) -> Result<Option<DepositState>> {
    if current.is_refused_for_good() {
        tracing::info!(
            filing = %filing_id,
            kind = %m.kind,
            failure = current.failure.map_or("unknown", FailureKind::as_str),
            "Receipts: a message about a deposit refused for good changes nothing."
        );
        return Ok(None);
    }
    let mut next = state::next(current, event);
    // A refusal of a resend does not show that the earlier attempt, whose
    // outcome was unknown, never arrived: its receipts may still come.
    if let Some(position) = next.as_mut()
        && position.failure == Some(FailureKind::NotAccepted)
        && outcome_was_unknown(conn, filing_id)?
    {
        position.failure = Some(FailureKind::OutcomeUnknown);
    }
    apply_values(conn, filing_id, m, next, now)?;
    Ok(next.map(|p| p.state))
}

/// Whether an attempt of this deposit ever ended with an unknown outcome.
fn outcome_was_unknown(conn: &Connection, filing_id: &str) -> Result<bool> {
    conn.prepare_cached("SELECT outcome_unknown FROM deposit WHERE filing_id = ?1")
        .and_then(|mut s| s.query_row(params![filing_id], |r| r.get::<_, bool>(0)))
        .map_err(classify)
}

/// Applies a message's values and state change to the deposit and Task.
fn apply_values(
    conn: &Connection,
    filing_id: &str,
    m: &InboundMessage,
    next: Option<Position>,
    now: &str,
) -> Result<()> {
    let value = |name: &str| {
        m.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let mut outputs = Vec::new();
    match m.event {
        Some(state::Event::Accepted) => {
            conn.execute(
                "UPDATE deposit SET accepted_at = COALESCE(accepted_at, ?2), \
                 provider_id = COALESCE(provider_id, ?3) WHERE filing_id = ?1",
                params![filing_id, now, value("provider-id")],
            )
            .map_err(classify)?;
        }
        Some(state::Event::Delivered) => {
            let receipt = value("delivery-receipt");
            conn.execute(
                "UPDATE deposit SET delivered_at = COALESCE(delivered_at, ?2), \
                 delivery_receipt = COALESCE(delivery_receipt, ?3) WHERE filing_id = ?1",
                params![
                    filing_id,
                    value("delivered-at").unwrap_or(now.to_owned()),
                    receipt
                ],
            )
            .map_err(classify)?;
            if let Some(receipt) = receipt {
                outputs.push(("rdac".to_owned(), receipt));
            }
            if let Some(at) = value("delivered-at") {
                outputs.push(("deposited-at".to_owned(), at));
            }
        }
        _ => {}
    }
    if let Some(code) = value("esito-code") {
        conn.execute(
            "UPDATE deposit SET esito_code = ?2 WHERE filing_id = ?1",
            params![filing_id, code],
        )
        .map_err(classify)?;
        outputs.push(("esito".to_owned(), code));
    }
    if let Some(id_busta) = value("id-busta") {
        // The IDBUSTA is the court's: kept with the court (the deposit's
        // address, as sent) so that later messages match it within it.
        conn.execute(
            "UPDATE deposit SET id_busta = ?2, id_busta_court = \
             (SELECT lower(trim(court_pec)) FROM filing WHERE id = ?1) \
             WHERE filing_id = ?1 AND id_busta IS NULL",
            params![filing_id, id_busta],
        )
        .map_err(classify)?;
    }
    if let Some(case) = value("case-number") {
        conn.execute(
            "UPDATE deposit SET case_number = ?2 WHERE filing_id = ?1",
            params![filing_id, case],
        )
        .map_err(classify)?;
        outputs.push(("case-number".to_owned(), case));
    }
    match next {
        Some(to) => {
            set_state(conn, filing_id, to, now)?;
            update_task(conn, filing_id, to.state, &outputs, now)?;
        }
        None if !outputs.is_empty() => {
            let current =
                current_position(conn, filing_id)?.map_or(DepositState::Queued, |p| p.state);
            update_task(conn, filing_id, current, &outputs, now)?;
        }
        None => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests;
