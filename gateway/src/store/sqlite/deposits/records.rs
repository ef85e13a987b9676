//! What the office reads of deposits: a filing's deposit with the messages
//! read back about it, the quarantine, one stored message; and the office's
//! review of the quarantine.

use rusqlite::{Connection, OptionalExtension, params};

use super::super::classify;
use crate::deposit::state::{DepositState, FailureKind};
use crate::store::{DepositRecord, Error, MessageInfo, Result};

/// The deposit of a filing, for `/filings/{id}`.
pub(in crate::store::sqlite) fn load(
    conn: &Connection,
    filing_id: &str,
) -> Result<Option<DepositRecord>> {
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

/// Stored messages (metadata) matching `filter` (SQL after `FROM
/// inbound_message`).
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

/// Quarantined messages, newest first, at most `limit` (1–1000).
pub(super) fn quarantine(conn: &Connection, limit: u32) -> Result<Vec<MessageInfo>> {
    messages(
        conn,
        "WHERE state = 'quarantined' ORDER BY id DESC LIMIT ?1",
        params![limit.clamp(1, 1000)],
    )
}

/// One stored message: the filing it was tied to, and its raw bytes; only
/// if quarantined when `quarantined_only`.
pub(super) fn inbound_message(
    conn: &Connection,
    id: i64,
    quarantined_only: bool,
) -> Result<(Option<String>, Vec<u8>)> {
    let found = conn
        .query_row(
            "SELECT filing_id, raw, purged_at FROM inbound_message WHERE id = ?1 \
             AND (?2 = 0 OR state = 'quarantined')",
            params![id, i64::from(quarantined_only)],
            |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)),
        )
        .optional()
        .map_err(classify)?;
    super::super::unless_purged(found)
}

/// The office dismisses quarantined message `id` after reviewing it: it
/// leaves the quarantine, its raw bytes stay until the retention policy
/// purges them. [`Error::Conflict`] unless it is in quarantine.
pub(super) fn dismiss(
    conn: &Connection,
    appender: &mut super::super::writer::Appender<'_>,
    id: i64,
    agency: &str,
) -> Result<crate::evidence::Recorded> {
    let found: Option<(String, Vec<u8>, String)> = conn
        .query_row(
            "SELECT state, sha256, kind FROM inbound_message WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(classify)?;
    let (state, sha256, kind) = found.ok_or(Error::NotFound)?;
    if state != "quarantined" {
        return Err(Error::Conflict);
    }
    let now = crate::evidence::format_time(time::OffsetDateTime::now_utc());
    conn.execute(
        "UPDATE inbound_message SET state = 'dismissed', dismissed_at = ?2, dismissed_by = ?3 \
         WHERE id = ?1",
        params![id, now, agency],
    )
    .map_err(classify)?;
    appender.append(crate::evidence::Entry {
        agency: Some(agency.to_owned()),
        digests: [("message".to_owned(), hex::encode(sha256))].into(),
        kind: "admin".to_owned(),
        operation: Some("message-dismissed".to_owned()),
        objects: [
            ("kind".to_owned(), kind),
            ("message".to_owned(), id.to_string()),
        ]
        .into(),
        outcome: "ok".to_owned(),
        ..crate::evidence::Entry::default()
    })
}
