//! The embedded backend: SQLite in WAL mode with synchronous commits.
//!
//! One writer thread owns the only write connection and commits writes in
//! groups (see [`writer`]): a write is durable when its future resolves, and
//! a burst of writers shares one fsync. Reads go to a small pool of
//! read-only connections on blocking threads; WAL lets them run while the
//! writer commits.
//!
//! The database file's identity (device and inode) is checked before every
//! commit and by [`Health::ready`]: if the file is moved or replaced under a
//! running gateway, writes fail (fail-closed) instead of going to an
//! unlinked file that would vanish at exit.

mod deposits;
mod filings;
mod log_file;
mod migrations;
mod registry;
mod retention;
mod submissions;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params_from_iter};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::{mpsc, oneshot};

use super::{
    AdminAction, Direction, Error, EvidenceStore, Exchange, ExchangeFilter, ExchangeId,
    ExchangeStore, Health, NewExchange, Outcome, Result,
};
use crate::evidence::merkle::{self, Hash, NodeSource};
use crate::evidence::{EntryFilter, LogKey, Recorded, StoredCheckpoint, StoredEntry};
pub use log_file::LogFile;
use writer::{FileIdentity, WriteOp, Writer};

/// The SQLite store. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    identity: FileIdentity,
    writes: mpsc::Sender<WriteOp>,
    readers: Mutex<Vec<Connection>>,
    tree_size: Arc<AtomicU64>,
}

// === impl SqliteStore ===

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, applies pending
    /// migrations and starts the writer thread.
    pub fn open(path: &Path, read_connections: usize, max_batch: usize) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(unavailable)?;
        }
        let mut conn = Connection::open(path).map_err(classify)?;
        configure(&conn)?;
        migrations::apply(&mut conn)?;
        let identity = FileIdentity::of(path).map_err(unavailable)?;
        let readers = (0..read_connections)
            .map(|_| open_reader(path))
            .collect::<Result<Vec<_>>>()?;
        let tree_size = Arc::new(AtomicU64::new(0));
        let writes = Writer::spawn(
            conn,
            path.to_path_buf(),
            identity,
            max_batch,
            Arc::clone(&tree_size),
        )?;
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                identity,
                writes,
                readers: Mutex::new(readers),
                tree_size,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    async fn write<T>(&self, op: impl FnOnce(oneshot::Sender<Result<T>>) -> WriteOp) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.inner
            .writes
            .send(op(tx))
            .await
            .map_err(|_| Error::Unavailable(None))?;
        rx.await.map_err(|_| Error::Unavailable(None))?
    }

    /// Runs `work` on the writer thread in its own savepoint of the next
    /// group commit; durable when the future resolves. `work` may append
    /// evidence entries through the [`writer::Appender`].
    async fn run_write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&Connection, &mut writer::Appender<'_>) -> Result<T> + Send + 'static,
    {
        let boxed: writer::RunWork =
            Box::new(move |conn, appender| Ok(Box::new(work(conn, appender)?)));
        let value = self
            .write(|reply| WriteOp::Run { work: boxed, reply })
            .await?;
        value
            .downcast::<T>()
            .map(|v| *v)
            .map_err(|_| Error::Other("write returned an unexpected type".into()))
    }

    /// Runs `f` on a read connection on a blocking thread.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let pooled = inner
                .readers
                .lock()
                .map_err(|_| Error::Unavailable(None))?
                .pop();
            let conn = match pooled {
                Some(conn) => conn,
                None => open_reader(&inner.path)?,
            };
            let result = f(&conn);
            if let Ok(mut pool) = inner.readers.lock() {
                pool.push(conn);
            }
            result
        })
        .await
        .map_err(|e| Error::Other(Box::new(e)))?
    }
}

impl ExchangeStore for SqliteStore {
    async fn record_exchange(&self, exchange: NewExchange) -> Result<Recorded> {
        self.write(|reply| WriteOp::RecordExchange {
            exchange: Box::new(exchange),
            reply,
        })
        .await
    }

    async fn exchange(&self, id: ExchangeId) -> Result<Exchange> {
        self.read(move |conn| {
            conn.query_row(
                &format!("{SELECT_EXCHANGE} WHERE id = ?1"),
                [id.as_uuid().as_bytes()],
                exchange_from_row,
            )
            .optional()
            .map_err(classify)?
            .ok_or(Error::NotFound)
        })
        .await
    }

    async fn exchanges(&self, filter: ExchangeFilter) -> Result<Vec<Exchange>> {
        self.read(move |conn| {
            let mut sql = format!("{SELECT_EXCHANGE} WHERE 1 = 1");
            let mut args: Vec<String> = Vec::new();
            if let Some(agency) = &filter.agency {
                args.push(agency.to_string());
                sql.push_str(&format!(" AND agency = ?{}", args.len()));
            }
            if let Some(outcome) = filter.outcome {
                args.push(outcome.as_str().to_owned());
                sql.push_str(&format!(" AND outcome = ?{}", args.len()));
            }
            sql.push_str(" ORDER BY seq");
            if let Some(limit) = filter.limit {
                sql.push_str(&format!(" LIMIT {limit}"));
            }
            let mut stmt = conn.prepare_cached(&sql).map_err(classify)?;
            let rows = stmt
                .query_map(params_from_iter(args.iter()), exchange_from_row)
                .map_err(classify)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(classify)
        })
        .await
    }

    async fn exchange_body(&self, id: ExchangeId) -> Result<Option<Vec<u8>>> {
        self.read(move |conn| {
            conn.query_row(
                "SELECT body FROM exchange_body WHERE exchange_id = ?1",
                [id.as_uuid().as_bytes()],
                |row| row.get(0),
            )
            .optional()
            .map_err(classify)
        })
        .await
    }
}

impl EvidenceStore for SqliteStore {
    async fn append_admin(&self, action: AdminAction) -> Result<Recorded> {
        self.write(|reply| WriteOp::Admin {
            action: Box::new(action),
            reply,
        })
        .await
    }

    async fn checkpoint(&self, key: Arc<LogKey>, origin: String) -> Result<StoredCheckpoint> {
        self.write(|reply| WriteOp::Checkpoint { key, origin, reply })
            .await
    }

    async fn attach_timestamp(&self, checkpoint: i64, response: Vec<u8>) -> Result<()> {
        self.write(|reply| WriteOp::Timestamp {
            checkpoint,
            response,
            reply,
        })
        .await
    }

    fn tree_size(&self) -> u64 {
        self.inner.tree_size.load(Ordering::Acquire)
    }

    async fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT id, size, root, note, tsa_response FROM evidence_checkpoint ORDER BY id")
                .map_err(classify)?;
            let rows = stmt.query_map([], checkpoint_from_row).map_err(classify)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(classify)
        })
        .await
    }

    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        self.read(|conn| {
            conn.query_row(
                "SELECT id, size, root, note, tsa_response FROM evidence_checkpoint ORDER BY id DESC LIMIT 1",
                [],
                checkpoint_from_row,
            )
            .optional()
            .map_err(classify)
        })
        .await
    }

    async fn checkpoint_of_size(&self, size: u64) -> Result<Option<StoredCheckpoint>> {
        self.read(move |conn| {
            conn.query_row(
                "SELECT id, size, root, note, tsa_response FROM evidence_checkpoint WHERE size = ?1 \
                 ORDER BY id DESC LIMIT 1",
                [size as i64],
                checkpoint_from_row,
            )
            .optional()
            .map_err(classify)
        })
        .await
    }

    async fn evidence_entry(&self, index: u64) -> Result<StoredEntry> {
        self.read(move |conn| {
            conn.query_row(
                "SELECT idx, entry, leaf_hash FROM evidence_entry WHERE idx = ?1",
                [index as i64],
                entry_from_row,
            )
            .optional()
            .map_err(classify)?
            .ok_or(Error::NotFound)
        })
        .await
    }

    async fn evidence_entries(&self, filter: EntryFilter) -> Result<Vec<StoredEntry>> {
        self.read(move |conn| evidence_query(conn, &filter)).await
    }

    async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        let committed = self.tree_size();
        if index >= size || size > committed {
            return Err(Error::OutOfRange);
        }
        self.read(move |conn| merkle::inclusion_path(&mut DbNodes(conn), index, size))
            .await
    }

    async fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>> {
        if first > second || second > self.tree_size() {
            return Err(Error::OutOfRange);
        }
        self.read(move |conn| merkle::consistency_path(&mut DbNodes(conn), first, second))
            .await
    }
}

/// Lists entries for a filter. Times map to index ranges because entry
/// times never decrease, so time bounds are found by binary search on the
/// primary key instead of an index on time.
fn evidence_query(conn: &Connection, filter: &EntryFilter) -> Result<Vec<StoredEntry>> {
    let size: u64 = conn
        .query_row(
            "SELECT COALESCE(MAX(idx) + 1, 0) FROM evidence_entry",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_err(classify)? as u64;
    let mut low = filter.after.map_or(0, |a| a + 1);
    let mut high = size;
    if let Some(since) = &filter.since {
        low = low.max(first_at_or_after(conn, since, size)?);
    }
    if let Some(until) = &filter.until {
        high = high.min(first_at_or_after(conn, until, size)?);
    }
    let limit = filter.limit.unwrap_or(1000).min(1000);
    let mut sql = String::from(
        "SELECT idx, entry, leaf_hash FROM evidence_entry WHERE idx >= ?1 AND idx < ?2",
    );
    let mut args: Vec<rusqlite::types::Value> = vec![(low as i64).into(), (high as i64).into()];
    if let Some(agency) = &filter.agency {
        args.push(agency.clone().into());
        sql.push_str(&format!(" AND agency = ?{}", args.len()));
    }
    if let Some(filing) = &filter.filing {
        args.push(filing.clone().into());
        sql.push_str(&format!(" AND filing_id = ?{}", args.len()));
    }
    if let Some(exchange) = &filter.exchange {
        let id: ExchangeId = exchange.parse().map_err(|_| Error::NotFound)?;
        args.push(id.as_uuid().as_bytes().to_vec().into());
        sql.push_str(&format!(" AND exchange_id = ?{}", args.len()));
    }
    sql.push_str(&format!(" ORDER BY idx LIMIT {limit}"));
    let mut stmt = conn.prepare_cached(&sql).map_err(classify)?;
    let rows = stmt
        .query_map(params_from_iter(args.iter()), entry_from_row)
        .map_err(classify)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(classify)
}

/// The first index whose time is at or after `time` (or `size`).
fn first_at_or_after(conn: &Connection, time: &str, size: u64) -> Result<u64> {
    let (mut lo, mut hi) = (0u64, size);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let at: String = conn
            .query_row(
                "SELECT at FROM evidence_entry WHERE idx = ?1",
                [mid as i64],
                |r| r.get(0),
            )
            .map_err(classify)?;
        if at.as_str() < time {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

/// Stored Merkle hashes, read through a connection.
pub(crate) struct DbNodes<'a>(pub(crate) &'a Connection);

impl NodeSource for DbNodes<'_> {
    type Error = Error;

    fn leaf(&mut self, index: u64) -> Result<Hash> {
        self.0
            .prepare_cached("SELECT leaf_hash FROM evidence_entry WHERE idx = ?1")
            .and_then(|mut s| s.query_row([index as i64], |r| r.get::<_, [u8; 32]>(0)))
            .map_err(classify)
    }

    fn node(&mut self, level: u32, index: u64) -> Result<Hash> {
        self.0
            .prepare_cached("SELECT hash FROM evidence_node WHERE level = ?1 AND idx = ?2")
            .and_then(|mut s| {
                s.query_row([level as i64, index as i64], |r| r.get::<_, [u8; 32]>(0))
            })
            .map_err(classify)
    }
}

pub(crate) fn checkpoint_from_row(row: &Row<'_>) -> rusqlite::Result<StoredCheckpoint> {
    Ok(StoredCheckpoint {
        id: row.get(0)?,
        size: row.get::<_, i64>(1)? as u64,
        root: row.get(2)?,
        note: row.get(3)?,
        tsa_response: row.get(4)?,
    })
}

fn entry_from_row(row: &Row<'_>) -> rusqlite::Result<StoredEntry> {
    Ok(StoredEntry {
        index: row.get::<_, i64>(0)? as u64,
        entry: row.get(1)?,
        leaf_hash: row.get(2)?,
    })
}

impl Health for SqliteStore {
    async fn ready(&self) -> Result<()> {
        if self.inner.writes.is_closed() {
            return Err(Error::Unavailable(None));
        }
        let path = self.inner.path.clone();
        let expected = self.inner.identity;
        self.read(move |conn| {
            if FileIdentity::of(&path).map_err(unavailable)? != expected {
                return Err(Error::Unavailable(None));
            }
            conn.query_row("SELECT count(*) FROM exchange LIMIT 1", [], |_| Ok(()))
                .map_err(classify)
        })
        .await
    }
}

const SELECT_EXCHANGE: &str = "SELECT id, at, direction, agency, fingerprint, peer_addr, \
     request_id, method, route, body_sha256, body_size, outcome, status, reason FROM exchange";

fn exchange_from_row(row: &Row<'_>) -> rusqlite::Result<Exchange> {
    let bad = |i: usize, what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("bad {what}").into(),
        )
    };
    let id: [u8; 16] = row.get(0)?;
    let hex_of = |i: usize| -> rusqlite::Result<Option<String>> {
        Ok(row.get::<_, Option<Vec<u8>>>(i)?.map(hex::encode))
    };
    let at: String = row.get(1)?;
    let direction: String = row.get(2)?;
    let outcome: String = row.get(11)?;
    Ok(Exchange {
        id: ExchangeId::from_uuid(uuid::Uuid::from_bytes(id)),
        at: OffsetDateTime::parse(&at, &Rfc3339).map_err(|_| bad(1, "time"))?,
        direction: match direction.as_str() {
            "inbound" => Direction::Inbound,
            "outbound" => Direction::Outbound,
            _ => return Err(bad(2, "direction")),
        },
        agency: row.get(3)?,
        fingerprint: hex_of(4)?,
        peer_addr: row.get(5)?,
        request_id: row.get(6)?,
        method: row.get(7)?,
        route: row.get(8)?,
        body_sha256: hex_of(9)?,
        body_size: row
            .get::<_, i64>(10)?
            .try_into()
            .map_err(|_| bad(10, "size"))?,
        outcome: outcome.parse::<Outcome>().map_err(|_| bad(11, "outcome"))?,
        status: row.get(12)?,
        reason: row.get(13)?,
    })
}

/// WAL for concurrent readers; `synchronous = FULL` so a commit survives a
/// power loss, not only a process crash; `secure_delete` so that content
/// deleted or overwritten (a purge under the retention policy, a rebuilt
/// filing's artefacts) is overwritten with zeros in the file instead of
/// lingering in free pages.
fn configure(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(classify)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(classify)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(classify)?;
    conn.pragma_update(None, "secure_delete", "ON")
        .map_err(classify)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(classify)?;
    Ok(())
}

/// A stored row's content, or why there is none: [`Error::NotFound`]
/// without the row, [`Error::Purged`] when its `purged_at` is set.
fn unless_purged<T>(found: Option<(T, Option<String>)>) -> Result<T> {
    match found {
        None => Err(Error::NotFound),
        Some((_, Some(_))) => Err(Error::Purged),
        Some((content, None)) => Ok(content),
    }
}

fn open_reader(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(classify)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(classify)?;
    Ok(conn)
}

fn unavailable(e: std::io::Error) -> Error {
    Error::Unavailable(Some(Box::new(e)))
}

/// Maps driver errors to store errors.
fn classify(e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode;
    match &e {
        rusqlite::Error::SqliteFailure(failure, _) => match failure.code {
            ErrorCode::ConstraintViolation => Error::Conflict,
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::CannotOpen
            | ErrorCode::DiskFull
            | ErrorCode::ReadOnly
            | ErrorCode::SystemIoFailure
            | ErrorCode::PermissionDenied => Error::Unavailable(Some(Box::new(e))),
            _ => Error::Other(Box::new(e)),
        },
        rusqlite::Error::QueryReturnedNoRows => Error::NotFound,
        _ => Error::Other(Box::new(e)),
    }
}
