//! [`DepositStore`] on SQLite: the outbox side (claims, attempts, recovery,
//! cancelling) in [`outbox`], the receipt side (ingesting, correlating and
//! applying the messages read back) in [`receipts`], what the office reads
//! and its review of the quarantine in [`records`]; here, the state changes
//! both sides make.

mod outbox;
mod receipts;
mod records;

use rusqlite::{Connection, OptionalExtension, params};

use super::{SqliteStore, classify};
use crate::deposit::state::{DepositState, FailureKind, Position};
use crate::evidence::Recorded;
use crate::store::{
    DepositJob, DepositRecord, DepositStore, Error, InboundMessage, Ingested, MessageInfo,
    NewAttempt, Result,
};

pub(super) use records::load;

impl DepositStore for SqliteStore {
    async fn recover_deposits(&self, reconcile_until: String) -> Result<u64> {
        self.run_write(move |conn, _| outbox::recover(conn, &reconcile_until))
            .await
    }

    async fn claim_deposit(
        &self,
        now: String,
        lease: String,
        reconcile_until: String,
    ) -> Result<Option<DepositJob>> {
        self.run_write(move |conn, _| outbox::claim(conn, &now, &lease, &reconcile_until))
            .await
    }

    async fn record_attempt(&self, attempt: NewAttempt) -> Result<Recorded> {
        self.run_write(move |conn, appender| outbox::record_attempt(conn, appender, &attempt))
            .await
    }

    async fn ingest_message(&self, message: InboundMessage) -> Result<Ingested> {
        self.run_write(move |conn, appender| receipts::ingest(conn, appender, &message))
            .await
    }

    async fn record_poll(&self, mailbox: String, at: String) -> Result<()> {
        self.run_write(move |conn, _| receipts::record_poll(conn, &mailbox, &at))
            .await
    }

    async fn cancel_deposit(&self, filing_id: String, agency: String) -> Result<Recorded> {
        self.run_write(move |conn, appender| outbox::cancel(conn, appender, &filing_id, &agency))
            .await
    }

    async fn retry_deposit(
        &self,
        filing_id: String,
        agency: String,
        new_message_id: fn(&str) -> String,
    ) -> Result<(String, Recorded)> {
        self.run_write(move |conn, appender| {
            outbox::retry(conn, appender, &filing_id, &agency, new_message_id)
        })
        .await
    }

    async fn dismiss_message(&self, id: i64, agency: String) -> Result<Recorded> {
        self.run_write(move |conn, appender| records::dismiss(conn, appender, id, &agency))
            .await
    }

    async fn deposit(&self, filing_id: String) -> Result<Option<DepositRecord>> {
        self.read(move |conn| load(conn, &filing_id)).await
    }

    async fn quarantine(&self, limit: u32) -> Result<Vec<MessageInfo>> {
        self.read(move |conn| records::quarantine(conn, limit))
            .await
    }

    async fn inbound_message(
        &self,
        id: i64,
        quarantined_only: bool,
    ) -> Result<(Option<String>, Vec<u8>)> {
        self.read(move |conn| records::inbound_message(conn, id, quarantined_only))
            .await
    }
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
    let (task_id, mut all) = task_outputs(conn, filing_id)?;
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

/// Drops the Task outputs named `names` (what a failed attempt left).
fn remove_task_outputs(conn: &Connection, filing_id: &str, names: &[&str]) -> Result<()> {
    let (task_id, mut outputs) = task_outputs(conn, filing_id)?;
    outputs.retain(|(name, _)| !names.contains(&name.as_str()));
    let outputs = serde_json::to_string(&outputs).map_err(|e| Error::Other(Box::new(e)))?;
    conn.execute(
        "UPDATE task SET outputs = ?2 WHERE id = ?1",
        params![task_id, outputs],
    )
    .map_err(classify)?;
    Ok(())
}

/// The id and outputs of the Task of `filing_id`.
fn task_outputs(conn: &Connection, filing_id: &str) -> Result<(String, Vec<(String, String)>)> {
    let (task_id, current): (String, String) = conn
        .query_row(
            "SELECT t.id, t.outputs FROM filing f JOIN task t ON t.id = f.task_id WHERE f.id = ?1",
            [filing_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(classify)?;
    Ok((task_id, serde_json::from_str(&current).unwrap_or_default()))
}

#[cfg(test)]
mod tests;
