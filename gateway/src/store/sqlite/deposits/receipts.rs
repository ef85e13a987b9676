//! The receipt side of deposits: storing a message read back, tying it to
//! its deposit (correlation) and applying what it says.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::super::classify;
use super::super::writer::Appender;
use super::{current_position, position, set_state, update_task};
use crate::deposit::state::{self, DepositState, FailureKind, Position};
use crate::evidence::format_time;
use crate::store::{Direction, ExchangeId, InboundMessage, Ingested, NewExchange, Outcome, Result};

/// Notes that `mailbox` was read through at `at` (an unknown outcome waits
/// for a read after its window).
pub(super) fn record_poll(conn: &Connection, mailbox: &str, at: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO mailbox_poll (mailbox, polled_at) VALUES (?1, ?2) \
         ON CONFLICT (mailbox) DO UPDATE SET polled_at = excluded.polled_at",
        params![mailbox, at],
    )
    .map_err(classify)?;
    Ok(())
}

/// Stores a message read back (once: a second copy is a duplicate) and
/// applies it to its deposit, or quarantines it, with its exchange.
pub(super) fn ingest(
    conn: &Connection,
    appender: &mut Appender<'_>,
    m: &InboundMessage,
) -> Result<Ingested> {
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
            // The acceptance shows which message reached the provider. Its
            // attempt usually wrote this output already; not if the gateway
            // stopped before recording that attempt.
            let message_id: String = conn
                .query_row(
                    "SELECT message_id FROM deposit WHERE filing_id = ?1",
                    params![filing_id],
                    |r| r.get(0),
                )
                .map_err(classify)?;
            outputs.push(("deposit-message-id".to_owned(), message_id));
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
