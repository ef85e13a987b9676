//! The store: what the gateway keeps, behind traits the rest of the code uses.
//!
//! Callers see capability traits ([`ExchangeStore`], …) joined by [`Store`];
//! they never see SQL, connections or transactions. An atomic operation is
//! one method with one transaction inside. The embedded backend is
//! [`SqliteStore`]; a PostgreSQL backend can be added beside it and must pass
//! the same generic suite (`store::tests::suite`).
//!
//! Every write is durable when its future resolves: the caller may then
//! acknowledge. Writes are group-committed (many callers, one fsync).

mod sqlite;
mod submission;
mod types;

#[cfg(test)]
pub(crate) mod tests;

use std::future::Future;

pub use sqlite::{LogFile, SqliteStore};
pub use submission::{Accepted, IdempotentAnswer, NewSubmission, TaskFilter, TaskRecord};
pub use types::{
    AdminAction, Direction, Exchange, ExchangeFilter, ExchangeId, NewExchange, Outcome,
};

use std::sync::Arc;

use crate::evidence::{EntryFilter, Hash, LogKey, Recorded, StoredCheckpoint, StoredEntry};

/// Store errors, mapped from driver errors at the store boundary.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A uniqueness or state rule refused the write (the caller's conflict).
    #[error("conflicting record")]
    Conflict,
    /// The record asked for does not exist (the caller's reference).
    #[error("record not found")]
    NotFound,
    /// A proof or range asked for lies beyond the log (the caller's numbers).
    #[error("index or size beyond the log")]
    OutOfRange,
    /// The database cannot be reached right now: file moved, disk full,
    /// writer stopped (the operator's environment; retriable).
    #[error("store unavailable")]
    Unavailable(#[source] Option<Box<dyn std::error::Error + Send + Sync>>),
    /// The database holds a schema newer than this binary knows (operator).
    #[error("database schema version {found} is newer than this binary supports ({supported})")]
    SchemaTooNew {
        /// Version found in the database.
        found: i64,
        /// Newest version this binary knows.
        supported: i64,
    },
    /// Anything else from the driver (a bug or a corrupt database).
    #[error("store failure")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// A stable code for metrics and problem details.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Conflict => "store_conflict",
            Error::NotFound => "not_found",
            Error::OutOfRange => "out_of_range",
            Error::Unavailable(_) => "store_unavailable",
            Error::SchemaTooNew { .. } => "store_schema_too_new",
            Error::Other(_) => "store_failure",
        }
    }

    /// Whether retrying the same call later may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            Error::Unavailable(_) => true,
            Error::Conflict
            | Error::NotFound
            | Error::OutOfRange
            | Error::SchemaTooNew { .. }
            | Error::Other(_) => false,
        }
    }
}

/// Result of store calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Exchanges: every request in and every message out.
pub trait ExchangeStore: Send + Sync + 'static {
    /// Records one exchange (and its body, kept apart from the metadata)
    /// with its evidence entry, in one transaction. Durable when the future
    /// resolves; says where the entry landed.
    fn record_exchange(
        &self,
        exchange: NewExchange,
    ) -> impl Future<Output = Result<Recorded>> + Send;

    /// One exchange by id.
    fn exchange(&self, id: ExchangeId) -> impl Future<Output = Result<Exchange>> + Send;

    /// Exchanges matching a filter, oldest first.
    fn exchanges(
        &self,
        filter: ExchangeFilter,
    ) -> impl Future<Output = Result<Vec<Exchange>>> + Send;

    /// The stored body of an exchange, if one was kept.
    fn exchange_body(&self, id: ExchangeId)
    -> impl Future<Output = Result<Option<Vec<u8>>>> + Send;
}

/// The evidence log's storage.
pub trait EvidenceStore: Send + Sync + 'static {
    /// Appends an administrative entry. Durable when the future resolves.
    fn append_admin(&self, action: AdminAction) -> impl Future<Output = Result<Recorded>> + Send;

    /// Signs and stores a checkpoint of the whole tree, or returns the
    /// newest one if it already covers every entry.
    fn checkpoint(
        &self,
        key: Arc<LogKey>,
        origin: String,
    ) -> impl Future<Output = Result<StoredCheckpoint>> + Send;

    /// Stores a TSA's time-stamp response for a checkpoint.
    fn attach_timestamp(
        &self,
        checkpoint: i64,
        response: Vec<u8>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Entries committed so far (the tree size), without touching the disk.
    fn tree_size(&self) -> u64;

    /// Checkpoints, oldest first.
    fn checkpoints(&self) -> impl Future<Output = Result<Vec<StoredCheckpoint>>> + Send;

    /// The newest checkpoint, if any.
    fn latest_checkpoint(&self) -> impl Future<Output = Result<Option<StoredCheckpoint>>> + Send;

    /// The checkpoint of exactly `size` entries, if one was signed.
    fn checkpoint_of_size(
        &self,
        size: u64,
    ) -> impl Future<Output = Result<Option<StoredCheckpoint>>> + Send;

    /// One entry.
    fn evidence_entry(&self, index: u64) -> impl Future<Output = Result<StoredEntry>> + Send;

    /// Entries matching a filter, by index.
    fn evidence_entries(
        &self,
        filter: EntryFilter,
    ) -> impl Future<Output = Result<Vec<StoredEntry>>> + Send;

    /// Audit path of entry `index` in the tree of `size` entries.
    fn inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> impl Future<Output = Result<Vec<Hash>>> + Send;

    /// Consistency proof between the trees of `first` and `second` entries.
    fn consistency_proof(
        &self,
        first: u64,
        second: u64,
    ) -> impl Future<Output = Result<Vec<Hash>>> + Send;
}

/// FHIR submissions, their Tasks and the filing work queue.
pub trait SubmissionStore: Send + Sync + 'static {
    /// Stores an accepted submission atomically (see [`NewSubmission`]) and
    /// signs its receipt. Durable when the future resolves. A reused
    /// idempotency key fails with [`Error::Conflict`] and stores nothing.
    fn accept_submission(
        &self,
        submission: NewSubmission,
        key: Arc<LogKey>,
        origin: String,
    ) -> impl Future<Output = Result<Accepted>> + Send;

    /// The first answer given to `key` from `agency`, if any.
    fn idempotent_answer(
        &self,
        agency: String,
        key: String,
    ) -> impl Future<Output = Result<Option<IdempotentAnswer>>> + Send;

    /// One Task.
    fn task(&self, id: String) -> impl Future<Output = Result<TaskRecord>> + Send;

    /// Tasks matching a filter, newest first.
    fn tasks(&self, filter: TaskFilter) -> impl Future<Output = Result<Vec<TaskRecord>>> + Send;

    /// Ready work-queue rows: (row id, task id, job), oldest first.
    fn ready_work(&self) -> impl Future<Output = Result<Vec<(i64, String, String)>>> + Send;
}

/// Health of the store, for `/readyz`.
pub trait Health: Send + Sync + 'static {
    /// `Ok` when the store can take writes now.
    fn ready(&self) -> impl Future<Output = Result<()>> + Send;
}

/// Everything the gateway needs from a store.
pub trait Store: ExchangeStore + EvidenceStore + SubmissionStore + Health + Clone {}

impl<T: ExchangeStore + EvidenceStore + SubmissionStore + Health + Clone> Store for T {}
