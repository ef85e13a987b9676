//! The single writer: group commit on a dedicated thread, and the evidence
//! log's append point.
//!
//! Writers queue a [`WriteOp`] and wait for its reply. The thread takes the
//! first queued op, then everything else already queued (up to `max_batch`),
//! applies them all in one transaction, commits once and only then replies
//! to every op. One fsync thus covers a whole burst.
//!
//! An op that fails must not fail its neighbours. Ops almost never fail, so
//! the batch is first applied without savepoints; only if an op fails is the
//! transaction rolled back and the batch applied again with each op in its
//! own savepoint, where a failing op is rolled back alone. (A savepoint per
//! op in every batch made SQLite copy each page an op touched into its
//! sub-journal first: about a sixth of the writer's time.) If the commit
//! itself fails, every op of the batch gets the error: nothing is
//! acknowledged that is not durable.
//!
//! The writer owns the Merkle tree's right edge
//! ([`Frontier`](crate::evidence::merkle::Frontier), appended to in
//! [`evidence_log`]): an exchange and its evidence entry, with the interior
//! nodes the entry completes, are written in the same savepoint, and the
//! in-memory frontier moves only with what was committed.

mod evidence_log;

use std::any::Any;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, params};
use time::format_description::well_known::Rfc3339;
use tokio::sync::{mpsc, oneshot};

use evidence_log::{LogState, append, checkpoint, load_log, stored_size};

use super::classify;
use crate::evidence::{Entry, LogKey, Receipt, Recorded, StoredCheckpoint};
use crate::store::{Accepted, AdminAction, Error, NewExchange, NewSubmission, Result};

/// How many writes may wait for the writer before callers block: enough for
/// every concurrent request, small enough to bound memory.
const QUEUE_DEPTH: usize = 8192;

/// A write waiting for the writer thread.
pub(crate) enum WriteOp {
    /// Record an exchange and its evidence entry.
    RecordExchange {
        exchange: Box<NewExchange>,
        reply: oneshot::Sender<Result<Recorded>>,
    },
    /// Store an accepted submission with its exchange, entry, Task, queue
    /// row and idempotency record; sign its receipt.
    Submission {
        submission: Box<NewSubmission>,
        key: Arc<LogKey>,
        origin: String,
        reply: oneshot::Sender<Result<Accepted>>,
    },
    /// Append an administrative evidence entry.
    Admin {
        action: Box<AdminAction>,
        reply: oneshot::Sender<Result<Recorded>>,
    },
    /// Store a TSA response for a checkpoint.
    Timestamp {
        checkpoint: i64,
        response: Vec<u8>,
        reply: oneshot::Sender<Result<()>>,
    },
    /// Sign and store a checkpoint of the current tree, unless the newest
    /// checkpoint already covers it.
    Checkpoint {
        key: Arc<LogKey>,
        origin: String,
        reply: oneshot::Sender<Result<StoredCheckpoint>>,
    },
    /// A write whose SQL lives next to its store trait (filings, registry):
    /// runs in its own savepoint and may append evidence entries.
    Run {
        work: RunWork,
        reply: oneshot::Sender<Result<Box<dyn Any + Send>>>,
    },
}

/// The body of a [`WriteOp::Run`].
pub(crate) type RunWork =
    Box<dyn Fn(&Connection, &mut Appender<'_>) -> Result<Box<dyn Any + Send>> + Send>;

/// Appends evidence entries from inside a [`WriteOp::Run`], in its savepoint.
pub(crate) struct Appender<'a> {
    conn: &'a Connection,
    log: &'a mut LogState,
}

impl Appender<'_> {
    /// Appends `entry` (index and time are assigned here).
    pub(crate) fn append(&mut self, entry: Entry) -> Result<Recorded> {
        append(self.conn, self.log, entry, None)
    }

    /// Records an exchange (a message out or in) with its entry.
    pub(crate) fn record_exchange(&mut self, exchange: &NewExchange) -> Result<Recorded> {
        append_exchange(self.conn, self.log, exchange)
    }
}

/// Device and inode of the database file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileIdentity {
    dev: u64,
    ino: u64,
}

impl FileIdentity {
    /// The identity of the file at `path` now.
    pub(crate) fn of(path: &Path) -> std::io::Result<Self> {
        let meta = std::fs::metadata(path)?;
        Ok(Self {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }
}

/// The writer thread's state.
pub(crate) struct Writer {
    conn: Connection,
    path: PathBuf,
    identity: FileIdentity,
    max_batch: usize,
    log: LogState,
    /// Committed tree size, for readers that only need a number.
    published_size: Arc<AtomicU64>,
}

/// The evidence log's append state.
enum Done {
    Recorded(Recorded),
    Checkpoint(StoredCheckpoint),
    Stamped,
    Accepted(Accepted),
    Ran(Box<dyn Any + Send>),
}

// === impl Writer ===

impl Writer {
    /// Starts the writer thread; the returned sender feeds it. The thread
    /// ends when every sender is dropped.
    pub(crate) fn spawn(
        conn: Connection,
        path: PathBuf,
        identity: FileIdentity,
        max_batch: usize,
        published_size: Arc<AtomicU64>,
    ) -> Result<mpsc::Sender<WriteOp>> {
        let log = load_log(&conn)?;
        published_size.store(log.frontier.size(), Ordering::Release);
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let writer = Writer {
            conn,
            path,
            identity,
            max_batch,
            log,
            published_size,
        };
        std::thread::Builder::new()
            .name("ponte-store-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| Error::Other(Box::new(e)))?;
        Ok(tx)
    }

    fn run(mut self, mut rx: mpsc::Receiver<WriteOp>) {
        let mut batch = Vec::with_capacity(self.max_batch);
        while let Some(first) = rx.blocking_recv() {
            batch.push(first);
            while batch.len() < self.max_batch {
                match rx.try_recv() {
                    Ok(op) => batch.push(op),
                    Err(_) => break,
                }
            }
            self.commit(&mut batch);
        }
        tracing::debug!("Store writer stopped.");
    }

    fn commit(&mut self, batch: &mut Vec<WriteOp>) {
        let before = self.log.clone();
        match self.apply_all(batch) {
            Ok(results) => {
                self.published_size
                    .store(self.log.frontier.size(), Ordering::Release);
                for (op, result) in batch.drain(..).zip(results) {
                    op.reply(result);
                }
            }
            Err(e) => {
                // Nothing of the batch is durable: forget it in memory too.
                self.log = before;
                tracing::error!(error = %e, batch = batch.len(), "Store commit failed.");
                for op in batch.drain(..) {
                    op.reply(Err(Error::Unavailable(None)));
                }
            }
        }
    }

    /// Applies every op in one transaction; per-op results, or the error
    /// that prevented the commit.
    fn apply_all(&mut self, batch: &[WriteOp]) -> Result<Vec<Result<Done>>> {
        // Refuse to write into a file that is no longer the database the
        // operator sees at the configured path.
        match FileIdentity::of(&self.path) {
            Ok(id) if id == self.identity => {}
            Ok(_) | Err(_) => return Err(Error::Unavailable(None)),
        }
        if let Some(results) = self.apply_all_or_none(batch)? {
            return Ok(results);
        }
        self.apply_each(batch)
    }

    /// The usual case: every op succeeds, in one transaction without
    /// savepoints. `None` if an op failed; the transaction is then rolled
    /// back and the frontier restored, for [`Self::apply_each`].
    fn apply_all_or_none(&mut self, batch: &[WriteOp]) -> Result<Option<Vec<Result<Done>>>> {
        let before = self.log.clone();
        let tx = begin(&mut self.conn, &mut self.log)?;
        let mut results = Vec::with_capacity(batch.len());
        for op in batch {
            match op.apply(&tx, &mut self.log) {
                Ok(done) => results.push(Ok(done)),
                Err(_) => {
                    drop(tx);
                    self.log = before;
                    return Ok(None);
                }
            }
        }
        tx.commit().map_err(classify)?;
        Ok(Some(results))
    }

    /// Each op in its own savepoint of one transaction: an op that fails is
    /// rolled back alone.
    fn apply_each(&mut self, batch: &[WriteOp]) -> Result<Vec<Result<Done>>> {
        let mut tx = begin(&mut self.conn, &mut self.log)?;
        let mut results = Vec::with_capacity(batch.len());
        for op in batch {
            let before = self.log.clone();
            let sp = tx.savepoint().map_err(classify)?;
            let result = op.apply(&sp, &mut self.log);
            if result.is_ok() {
                sp.commit().map_err(classify)?;
            } else {
                // Dropping a savepoint rolls it back; so does the frontier.
                drop(sp);
                self.log = before;
            }
            results.push(result);
        }
        tx.commit().map_err(classify)?;
        Ok(results)
    }
}

// === impl WriteOp ===

impl WriteOp {
    fn apply(&self, conn: &Connection, log: &mut LogState) -> Result<Done> {
        match self {
            WriteOp::RecordExchange { exchange, .. } => {
                append_exchange(conn, log, exchange).map(Done::Recorded)
            }
            WriteOp::Submission {
                submission,
                key,
                origin,
                ..
            } => accept_submission(conn, log, submission, key, origin).map(Done::Accepted),
            WriteOp::Admin { action, .. } => {
                let entry = Entry {
                    agency: action.agency.clone(),
                    digests: action.digests.clone(),
                    kind: "admin".to_owned(),
                    objects: action.objects.clone(),
                    operation: Some(action.operation.clone()),
                    outcome: "ok".to_owned(),
                    ..Entry::default()
                };
                append(conn, log, entry, None).map(Done::Recorded)
            }
            WriteOp::Checkpoint { key, origin, .. } => {
                checkpoint(conn, log, key, origin).map(Done::Checkpoint)
            }
            WriteOp::Run { work, .. } => work(conn, &mut Appender { conn, log }).map(Done::Ran),
            WriteOp::Timestamp {
                checkpoint,
                response,
                ..
            } => {
                let changed = conn
                    .prepare_cached(
                        "UPDATE evidence_checkpoint SET tsa_response = ?1 \
                         WHERE id = ?2 AND tsa_response IS NULL",
                    )
                    .and_then(|mut s| s.execute(params![response, checkpoint]))
                    .map_err(classify)?;
                if changed == 1 {
                    Ok(Done::Stamped)
                } else {
                    Err(Error::NotFound)
                }
            }
        }
    }

    fn reply(self, result: Result<Done>) {
        // Callers may have gone away (client disconnected); the write
        // stands either way, so send errors are ignored.
        match self {
            WriteOp::RecordExchange { reply, .. } | WriteOp::Admin { reply, .. } => {
                let _ = reply.send(result.and_then(|done| match done {
                    Done::Recorded(r) => Ok(r),
                    _ => Err(Error::Conflict),
                }));
            }
            WriteOp::Checkpoint { reply, .. } => {
                let _ = reply.send(result.and_then(|done| match done {
                    Done::Checkpoint(c) => Ok(c),
                    _ => Err(Error::Conflict),
                }));
            }
            WriteOp::Submission { reply, .. } => {
                let _ = reply.send(result.and_then(|done| match done {
                    Done::Accepted(a) => Ok(a),
                    _ => Err(Error::Conflict),
                }));
            }
            WriteOp::Timestamp { reply, .. } => {
                let _ = reply.send(result.map(|_| ()));
            }
            WriteOp::Run { reply, .. } => {
                let _ = reply.send(result.and_then(|done| match done {
                    Done::Ran(value) => Ok(value),
                    _ => Err(Error::Conflict),
                }));
            }
        }
    }
}

/// Records an exchange (and its body) with its evidence entry.
fn append_exchange(
    conn: &Connection,
    log: &mut LogState,
    exchange: &NewExchange,
) -> Result<Recorded> {
    insert_exchange(conn, exchange)?;
    let mut entry = Entry {
        agency: exchange.agency.as_ref().map(|a| a.to_string()),
        direction: Some(exchange.direction.as_str().to_owned()),
        exchange: Some(exchange.id.to_string()),
        fingerprint: exchange.fingerprint.map(|f| f.to_string()),
        kind: "exchange".to_owned(),
        method: Some(exchange.method.clone()),
        objects: exchange.objects.clone(),
        outcome: exchange.outcome.as_str().to_owned(),
        peer: exchange.peer_addr.map(|a| a.to_string()),
        reason: exchange.reason.map(str::to_owned),
        request_id: exchange.request_id.clone(),
        route: Some(exchange.route.clone()),
        size: Some(exchange.body_size),
        status: exchange.status,
        ..Entry::default()
    };
    if let Some(digest) = exchange.body_sha256 {
        entry.digests.insert("body".to_owned(), hex::encode(digest));
    }
    append(conn, log, entry, Some(exchange.id.as_uuid().as_bytes()))
}

/// The whole acceptance of a submission, in the caller's savepoint.
fn accept_submission(
    conn: &Connection,
    log: &mut LogState,
    s: &NewSubmission,
    key: &LogKey,
    origin: &str,
) -> Result<Accepted> {
    let recorded = append_exchange(conn, log, &s.exchange)?;
    let receipt = Receipt {
        exchange: s.exchange.id.to_string(),
        index: recorded.index,
        leaf_hash: hex::encode(recorded.leaf_hash),
        log: origin.to_owned(),
        request_sha256: s.exchange.body_sha256.map(hex::encode).unwrap_or_default(),
        time: recorded.time.clone(),
        v: 1,
    }
    .sign(key);
    let agency = s
        .exchange
        .agency
        .as_ref()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let digest = s.exchange.body_sha256.unwrap_or_default();
    let exec = |sql: &str, params: &[&dyn rusqlite::ToSql]| {
        conn.prepare_cached(sql)
            .and_then(|mut stmt| stmt.execute(params))
            .map_err(classify)
    };
    exec(
        "INSERT INTO submission (id, exchange_id, agency, received_at, kind, act, request_sha256, \
         content_type, parsed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            s.id,
            &s.exchange.id.as_uuid().as_bytes()[..],
            agency,
            recorded.time,
            s.kind,
            s.act,
            &digest[..],
            s.content_type,
            s.parsed,
        ],
    )?;
    exec(
        "INSERT INTO task (id, submission_id, agency, status, business_status, identifier_system, \
         identifier_value, authored_on, last_modified) \
         VALUES (?1, ?2, ?3, 'received', 'ricevuto', ?4, ?5, ?6, ?6)",
        params![
            s.task_id,
            s.id,
            agency,
            s.identifier.as_ref().map(|i| &i.0),
            s.identifier.as_ref().map(|i| &i.1),
            recorded.time,
        ],
    )?;
    exec(
        "INSERT INTO work_queue (task_id, job, available_at) VALUES (?1, 'build-filing', ?2)",
        params![s.task_id, recorded.time],
    )?;
    for idempotency_key in &s.idempotency_keys {
        exec(
            "INSERT INTO idempotency (agency, key, request_sha256, task_id, status, response, \
             receipt, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                agency,
                idempotency_key,
                &digest[..],
                s.task_id,
                s.status,
                s.response,
                receipt,
                recorded.time,
            ],
        )?;
    }
    Ok(Accepted { recorded, receipt })
}

/// Begins a batch's transaction and brings the frontier up to date.
fn begin<'c>(conn: &'c mut Connection, log: &mut LogState) -> Result<rusqlite::Transaction<'c>> {
    // IMMEDIATE takes the write lock now, so the tree size read next cannot
    // change under us even if another process (a `ponte` CLI command)
    // appends to the same database.
    let mut tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(classify)?;
    tx.set_drop_behavior(rusqlite::DropBehavior::Rollback);
    if stored_size(&tx)? != log.frontier.size() {
        *log = load_log(&tx)?;
    }
    Ok(tx)
}

fn insert_exchange(tx: &Connection, e: &NewExchange) -> Result<()> {
    let at =
        e.at.format(&Rfc3339)
            .map_err(|err| Error::Other(Box::new(err)))?;
    let id = e.id.as_uuid().as_bytes();
    tx.prepare_cached(
        "INSERT INTO exchange (id, at, direction, agency, fingerprint, peer_addr, request_id, \
         method, route, body_sha256, body_size, outcome, status, reason) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            id,
            at,
            e.direction.as_str(),
            e.agency.as_ref().map(|a| a.as_str()),
            e.fingerprint.as_ref().map(|f| &f.as_bytes()[..]),
            e.peer_addr.map(|a| a.to_string()),
            e.request_id,
            e.method,
            e.route,
            e.body_sha256.as_ref().map(|d| &d[..]),
            i64::try_from(e.body_size).unwrap_or(i64::MAX),
            e.outcome.as_str(),
            e.status,
            e.reason,
        ])
    })
    .map_err(classify)?;
    if let Some(body) = &e.body {
        tx.prepare_cached("INSERT INTO exchange_body (exchange_id, body) VALUES (?1, ?2)")
            .and_then(|mut stmt| stmt.execute(params![id, body]))
            .map_err(classify)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
