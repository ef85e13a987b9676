//! The single writer: group commit on a dedicated thread.
//!
//! Writers queue a [`WriteOp`] and wait for its reply. The thread takes the
//! first queued op, then everything else already queued (up to `max_batch`),
//! applies each inside its own savepoint of one transaction, commits once and
//! only then replies to every op. One fsync thus covers a whole burst, and
//! an op that fails is rolled back alone without failing its neighbours.
//! If the commit itself fails, every op of the batch gets the error: nothing
//! is acknowledged that is not durable.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};
use time::format_description::well_known::Rfc3339;
use tokio::sync::{mpsc, oneshot};

use super::classify;
use crate::store::{Error, NewExchange, Result};

/// How many writes may wait for the writer before callers block: enough for
/// every concurrent request, small enough to bound memory.
const QUEUE_DEPTH: usize = 8192;

/// A write waiting for the writer thread.
pub(crate) enum WriteOp {
    /// Record an exchange.
    RecordExchange {
        exchange: Box<NewExchange>,
        reply: oneshot::Sender<Result<()>>,
    },
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
    ) -> Result<mpsc::Sender<WriteOp>> {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let writer = Writer {
            conn,
            path,
            identity,
            max_batch,
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
        let outcome = self.apply_all(batch);
        match outcome {
            Ok(results) => {
                for (op, result) in batch.drain(..).zip(results) {
                    op.reply(result);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, batch = batch.len(), "Store commit failed.");
                for op in batch.drain(..) {
                    op.reply(Err(Error::Unavailable(None)));
                }
            }
        }
    }

    /// Applies every op in one transaction; per-op results, or the error
    /// that prevented the commit.
    fn apply_all(&mut self, batch: &[WriteOp]) -> Result<Vec<Result<()>>> {
        // Refuse to write into a file that is no longer the database the
        // operator sees at the configured path.
        match FileIdentity::of(&self.path) {
            Ok(id) if id == self.identity => {}
            Ok(_) | Err(_) => return Err(Error::Unavailable(None)),
        }
        let mut tx = self.conn.transaction().map_err(classify)?;
        let mut results = Vec::with_capacity(batch.len());
        for op in batch {
            let sp = tx.savepoint().map_err(classify)?;
            let result = op.apply(&sp);
            if result.is_ok() {
                sp.commit().map_err(classify)?;
            } else {
                // Dropping a savepoint rolls it back.
                drop(sp);
            }
            results.push(result);
        }
        tx.set_drop_behavior(rusqlite::DropBehavior::Rollback);
        tx.commit().map_err(classify)?;
        Ok(results)
    }
}

// === impl WriteOp ===

impl WriteOp {
    fn apply(&self, tx: &Connection) -> Result<()> {
        match self {
            WriteOp::RecordExchange { exchange, .. } => insert_exchange(tx, exchange),
        }
    }

    fn reply(self, result: Result<()>) {
        match self {
            // The caller may have gone away (client disconnected); the
            // write stands either way.
            WriteOp::RecordExchange { reply, .. } => {
                let _ = reply.send(result);
            }
        }
    }
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
