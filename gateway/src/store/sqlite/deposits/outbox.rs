//! The outbox side of deposits: recovery after a restart, claiming a due
//! deposit for an attempt, recording how the attempt ended, cancelling.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::super::classify;
use super::super::writer::Appender;
use super::{current_position, remove_task_outputs, set_state, update_task};
use crate::deposit::state::{DepositState, FailureKind, Position};
use crate::evidence::{Entry, Recorded, format_time};
use crate::store::{
    AttemptOutcome, DepositJob, Direction, Error, ExchangeId, NewAttempt, NewExchange, Outcome,
    Result,
};

/// After a restart: every deposit left `sending` may have reached the
/// provider, so its outcome is unknown until `reconcile_until`.
pub(super) fn recover(conn: &Connection, reconcile_until: &str) -> Result<u64> {
    let n = conn
        .execute(
            "UPDATE deposit SET state = 'unknown', lease_until = NULL, \
             reconcile_until = ?1, last_error = 'interrupted', outcome_unknown = 1 \
             WHERE state = 'sending'",
            [reconcile_until],
        )
        .map_err(classify)?;
    Ok(n as u64)
}

/// The office cancels a deposit not yet sent: [`Error::Conflict`] unless it
/// is still cancellable; the evidence entry says who.
pub(super) fn cancel(
    conn: &Connection,
    appender: &mut Appender<'_>,
    filing_id: &str,
    agency: &str,
) -> Result<Recorded> {
    let current = current_position(conn, filing_id)?.ok_or(Error::NotFound)?;
    if !current.state.is_cancellable() {
        return Err(Error::Conflict);
    }
    let now = format_time(time::OffsetDateTime::now_utc());
    set_state(conn, filing_id, Position::at(DepositState::Cancelled), &now)?;
    update_task(conn, filing_id, DepositState::Cancelled, &[], &now)?;
    appender.append(Entry {
        agency: Some(agency.to_owned()),
        kind: "admin".to_owned(),
        operation: Some("deposit-cancelled".to_owned()),
        objects: BTreeMap::from([("filing".to_owned(), filing_id.to_owned())]),
        outcome: "ok".to_owned(),
        ..Entry::default()
    })
}

/// The office sends a failed deposit again, as a new message whose
/// Message-ID `new_message_id` makes from the previous one:
/// [`Error::Conflict`] unless it is `failed` and no attempt's outcome was
/// ever unknown (then none of them can reach the court late, and the new
/// message cannot make a second deposit). Receipts about the old
/// Message-ID no longer match a deposit and go to quarantine.
pub(super) fn retry(
    conn: &Connection,
    appender: &mut Appender<'_>,
    filing_id: &str,
    agency: &str,
    new_message_id: fn(&str) -> String,
) -> Result<(String, Recorded)> {
    let found: Option<(String, bool, String, Option<String>)> = conn
        .query_row(
            "SELECT state, outcome_unknown, message_id, failure FROM deposit WHERE filing_id = ?1",
            [filing_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .map_err(classify)?;
    let (state, outcome_unknown, previous, failure) = found.ok_or(Error::NotFound)?;
    if state != DepositState::Failed.as_str() || outcome_unknown {
        return Err(Error::Conflict);
    }
    let message_id = &new_message_id(&previous);
    let now = format_time(time::OffsetDateTime::now_utc());
    conn.execute(
        "UPDATE deposit SET message_id = ?2, state = 'queued', failure = NULL, attempts = 0, \
         next_attempt_at = ?3, lease_until = NULL, reconcile_until = NULL, last_error = NULL, \
         sent_at = NULL, accepted_at = NULL, provider_id = NULL, id_busta = NULL, \
         id_busta_court = NULL, delivered_at = NULL, delivery_receipt = NULL, \
         esito_code = NULL, case_number = NULL, updated_at = ?3 WHERE filing_id = ?1",
        params![filing_id, message_id, now],
    )
    .map_err(classify)?;
    update_task(
        conn,
        filing_id,
        DepositState::Queued,
        &[("deposit-message-id".to_owned(), message_id.to_owned())],
        &now,
    )?;
    remove_task_outputs(conn, filing_id, &["deposit-error"])?;
    let mut objects = BTreeMap::from([
        ("filing".to_owned(), filing_id.to_owned()),
        ("message-id".to_owned(), message_id.to_owned()),
        ("previous-message-id".to_owned(), previous),
    ]);
    if let Some(failure) = failure {
        objects.insert("failure".to_owned(), failure);
    }
    let recorded = appender.append(Entry {
        agency: Some(agency.to_owned()),
        kind: "admin".to_owned(),
        operation: Some("deposit-retried".to_owned()),
        objects,
        outcome: "ok".to_owned(),
        ..Entry::default()
    })?;
    Ok((message_id.clone(), recorded))
}

/// Claims the deposit due longest for one attempt under `lease`, if any.
pub(super) fn claim(
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

/// Records how an attempt ended, with its exchange (and the message when
/// it may have reached the provider); [`Error::Conflict`] if the claim's
/// lease is no longer the deposit's.
pub(super) fn record_attempt(
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
