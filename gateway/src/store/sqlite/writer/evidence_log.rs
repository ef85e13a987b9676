//! The evidence log's append point, inside the writer's transaction: the
//! tree's right edge in memory, appending an entry with the nodes it
//! completes, signing a checkpoint.

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::super::{DbNodes, classify};
use crate::evidence::merkle::{self, Frontier};
use crate::evidence::{Checkpoint, Entry, LogKey, Recorded, StoredCheckpoint, entry};
use crate::store::{Error, Result};

#[derive(Clone)]
pub(super) struct LogState {
    /// The committed tree's right edge.
    pub(super) frontier: Frontier,
    /// The newest entry's time: entry times never go backwards.
    pub(super) last_time: OffsetDateTime,
}

/// Entries committed in the database.
pub(super) fn stored_size(conn: &Connection) -> Result<u64> {
    conn.prepare_cached("SELECT COALESCE(MAX(idx) + 1, 0) FROM evidence_entry")
        .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
        .map(|n| n as u64)
        .map_err(classify)
}

/// Reads the committed tree's frontier and newest entry time.
pub(super) fn load_log(conn: &Connection) -> Result<LogState> {
    let (size, last_at): (u64, Option<String>) = conn
        .query_row(
            "SELECT COALESCE(MAX(idx) + 1, 0), (SELECT at FROM evidence_entry ORDER BY idx DESC LIMIT 1) FROM evidence_entry",
            [],
            |row| Ok((row.get::<_, i64>(0)? as u64, row.get(1)?)),
        )
        .map_err(classify)?;
    let frontier = Frontier::load(&mut DbNodes(conn), size)?;
    let last_time = last_at
        .and_then(|t| OffsetDateTime::parse(&t, &Rfc3339).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    Ok(LogState {
        frontier,
        last_time,
    })
}

/// Appends one entry: assigns index and time, writes the entry and the
/// interior nodes it completes, advances the frontier.
pub(super) fn append(
    conn: &Connection,
    log: &mut LogState,
    mut entry: Entry,
    exchange_id: Option<&[u8; 16]>,
) -> Result<Recorded> {
    // Entry times never go backwards, even if the clock does, so that time
    // ranges map to index ranges.
    let now = OffsetDateTime::now_utc().max(log.last_time);
    let time = crate::evidence::format_time(now);
    entry.index = log.frontier.size();
    entry.time = time.clone();
    entry.v = entry::VERSION;
    let bytes = entry.encode();
    let leaf = merkle::leaf_hash(&bytes);
    let index = i64::try_from(entry.index).map_err(|e| Error::Other(Box::new(e)))?;
    conn.prepare_cached(
        "INSERT INTO evidence_entry (idx, exchange_id, at, agency, filing_id, entry, leaf_hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            index,
            exchange_id.map(|id| &id[..]),
            time,
            entry.agency,
            entry.objects.get("filing"),
            bytes,
            &leaf[..],
        ])
    })
    .map_err(classify)?;
    for (level, idx, hash) in log.frontier.push(leaf) {
        conn.prepare_cached("INSERT INTO evidence_node (level, idx, hash) VALUES (?1, ?2, ?3)")
            .and_then(|mut stmt| stmt.execute(params![level, idx as i64, &hash[..]]))
            .map_err(classify)?;
    }
    log.last_time = now;
    Ok(Recorded {
        index: entry.index,
        leaf_hash: leaf,
        time,
    })
}

/// The newest checkpoint if it covers the whole tree, else a new one of
/// the tree as it is, signed with `key` and stored.
pub(super) fn checkpoint(
    conn: &Connection,
    log: &LogState,
    key: &LogKey,
    origin: &str,
) -> Result<StoredCheckpoint> {
    let size = log.frontier.size();
    let latest: Option<StoredCheckpoint> = conn
        .query_row(
            "SELECT id, size, root, note, tsa_response FROM evidence_checkpoint ORDER BY id DESC LIMIT 1",
            [],
            super::super::checkpoint_from_row,
        )
        .optional()
        .map_err(classify)?;
    if let Some(latest) = latest
        && latest.size == size
    {
        return Ok(latest);
    }
    let time = crate::evidence::format_time(OffsetDateTime::now_utc());
    let root = log.frontier.root();
    let note = Checkpoint {
        origin: origin.to_owned(),
        size,
        root,
        time: time.clone(),
    }
    .sign(key);
    conn.prepare_cached(
        "INSERT INTO evidence_checkpoint (size, root, at, note) VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut stmt| stmt.execute(params![size as i64, &root[..], time, note]))
    .map_err(classify)?;
    Ok(StoredCheckpoint {
        id: conn.last_insert_rowid(),
        size,
        root,
        note,
        tsa_response: None,
    })
}
