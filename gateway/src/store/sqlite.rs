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

mod migrations;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params_from_iter};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::{mpsc, oneshot};

use super::{
    Direction, Error, Exchange, ExchangeFilter, ExchangeId, ExchangeStore, Health, NewExchange,
    Outcome, Result,
};
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
        let writes = Writer::spawn(conn, path.to_path_buf(), identity, max_batch)?;
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                identity,
                writes,
                readers: Mutex::new(readers),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    async fn write(&self, op: impl FnOnce(oneshot::Sender<Result<()>>) -> WriteOp) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.inner
            .writes
            .send(op(tx))
            .await
            .map_err(|_| Error::Unavailable(None))?;
        rx.await.map_err(|_| Error::Unavailable(None))?
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
    async fn record_exchange(&self, exchange: NewExchange) -> Result<()> {
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
/// power loss, not only a process crash.
fn configure(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(classify)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(classify)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(classify)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(classify)?;
    Ok(())
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
