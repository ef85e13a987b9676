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

mod deposit;
mod filing;
mod retention;
mod sqlite;
mod submission;
mod types;

#[cfg(test)]
pub(crate) mod tests;

use std::future::Future;

pub use deposit::{
    AttemptOutcome, DepositJob, DepositRecord, InboundMessage, Ingested, MessageInfo, NewAttempt,
};
pub use filing::{
    ArtefactInfo, CourtRef, FilingFilter, FilingProblem, FilingRecord, FilingState, NewArtefact,
    NewFiling, NewRegistryImport, RegistrySnapshot, SubmissionRecord, WorkItem,
};
pub use retention::{PurgePolicy, PurgedCase, PurgedMessage, RetentionStore};
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
    /// The record exists but its content was purged under the retention
    /// policy (the caller asked for what is no longer kept).
    #[error("content purged under the retention policy")]
    Purged,
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
            Error::Purged => "content_purged",
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
            | Error::Purged
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

/// The filing pipeline's work queue and the filings it builds.
pub trait FilingStore: Send + Sync + 'static {
    /// Makes every row left `running` by a previous process `ready` again
    /// (called once at start, before any worker runs); returns how many.
    fn recover_work(&self) -> impl Future<Output = Result<u64>> + Send;

    /// Claims the oldest ready row whose time has come, or a running row
    /// whose lease has expired: marks it running until `lease_until`
    /// (RFC 3339) and counts the attempt. Durable.
    fn claim_work(
        &self,
        now: String,
        lease_until: String,
    ) -> impl Future<Output = Result<Option<WorkItem>>> + Send;

    /// Gives a claimed row back for a later attempt after a transient
    /// failure (`error` is a bounded code). [`Error::Conflict`] if the claim
    /// (`lease`) was lost.
    fn retry_work(
        &self,
        row: i64,
        lease: String,
        available_at: String,
        error: String,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Writes the end of a build atomically (see [`NewFiling`]) with its
    /// evidence entry.
    fn finish_filing(
        &self,
        filing: NewFiling,
    ) -> impl Future<Output = Result<crate::evidence::Recorded>> + Send;

    /// The office chooses the court of a filing that is on hold: the work
    /// is queued again with that court, the Task goes back to `received`.
    /// [`Error::Conflict`] unless the filing is on hold.
    fn choose_court(
        &self,
        filing_id: String,
        court: String,
        agency: String,
    ) -> impl Future<Output = Result<crate::evidence::Recorded>> + Send;

    /// One filing.
    fn filing(&self, id: String) -> impl Future<Output = Result<FilingRecord>> + Send;

    /// Filings, newest first.
    fn filings(
        &self,
        filter: FilingFilter,
    ) -> impl Future<Output = Result<Vec<FilingRecord>>> + Send;

    /// One artefact's media type and bytes.
    fn filing_artefact(
        &self,
        filing_id: String,
        name: String,
    ) -> impl Future<Output = Result<(String, Vec<u8>)>> + Send;
}

/// PEC deposits of ready filings and the messages read back.
pub trait DepositStore: Send + Sync + 'static {
    /// At start: every deposit left `sending` by a crash has an unknown
    /// outcome; it waits for the acceptance receipt until `reconcile_until`.
    fn recover_deposits(&self, reconcile_until: String)
    -> impl Future<Output = Result<u64>> + Send;

    /// Claims one deposit due for an attempt: a `queued` one whose time has
    /// come, or an `unknown` one whose window has passed with the box read
    /// after it and no acceptance receipt. Marks it `sending` until `lease`
    /// and sets the window of this attempt (`reconcile_until`), before any
    /// byte is sent. Durable.
    fn claim_deposit(
        &self,
        now: String,
        lease: String,
        reconcile_until: String,
    ) -> impl Future<Output = Result<Option<DepositJob>>> + Send;

    /// Records an attempt's outcome, the outbound exchange and the Task's
    /// new state. [`Error::Conflict`] if the claim was lost.
    fn record_attempt(
        &self,
        attempt: NewAttempt,
    ) -> impl Future<Output = Result<crate::evidence::Recorded>> + Send;

    /// Stores a message read from the PEC box and applies it, atomically,
    /// once: a message already stored (same UID, or same bytes) is a
    /// [`Ingested::Duplicate`].
    fn ingest_message(
        &self,
        message: InboundMessage,
    ) -> impl Future<Output = Result<Ingested>> + Send;

    /// Notes that `mailbox` was read completely at `at`.
    fn record_poll(&self, mailbox: String, at: String) -> impl Future<Output = Result<()>> + Send;

    /// The office cancels a deposit not yet sent. [`Error::Conflict`]
    /// unless it is queued.
    fn cancel_deposit(
        &self,
        filing_id: String,
        agency: String,
    ) -> impl Future<Output = Result<crate::evidence::Recorded>> + Send;

    /// The office sends a failed deposit again as a new message, whose
    /// Message-ID `new_message_id` makes from the previous one: queued at
    /// once, attempts counted afresh, the Task back in progress. Returns the
    /// new Message-ID and the evidence entry. [`Error::Conflict`] unless the
    /// deposit is `failed` and no attempt's outcome was ever unknown.
    fn retry_deposit(
        &self,
        filing_id: String,
        agency: String,
        new_message_id: fn(&str) -> String,
    ) -> impl Future<Output = Result<(String, crate::evidence::Recorded)>> + Send;

    /// The office dismisses a quarantined message after reviewing it: it
    /// leaves the quarantine (state `dismissed`) with an evidence entry; its
    /// raw bytes are purged under the retention policy. [`Error::Conflict`]
    /// unless it is in quarantine.
    fn dismiss_message(
        &self,
        id: i64,
        agency: String,
    ) -> impl Future<Output = Result<crate::evidence::Recorded>> + Send;

    /// The deposit of a filing, with the messages read about it.
    fn deposit(
        &self,
        filing_id: String,
    ) -> impl Future<Output = Result<Option<DepositRecord>>> + Send;

    /// Messages in quarantine, newest first.
    fn quarantine(&self, limit: u32) -> impl Future<Output = Result<Vec<MessageInfo>>> + Send;

    /// One stored inbound message: its filing (if applied) and raw bytes;
    /// with `quarantined_only`, only a message in quarantine.
    fn inbound_message(
        &self,
        id: i64,
        quarantined_only: bool,
    ) -> impl Future<Output = Result<(Option<String>, Vec<u8>)>> + Send;
}

/// The court registry imported with `ponte registry import`.
pub trait RegistryStore: Send + Sync + 'static {
    /// Stores a registry as the one in force, with an evidence entry.
    fn import_registry(
        &self,
        import: NewRegistryImport,
    ) -> impl Future<Output = Result<(i64, crate::evidence::Recorded)>> + Send;

    /// The registry in force, if one was imported.
    fn latest_registry(&self) -> impl Future<Output = Result<Option<RegistrySnapshot>>> + Send;

    /// The id of the registry in force (cheap; to notice a new import).
    fn latest_registry_id(&self) -> impl Future<Output = Result<Option<i64>>> + Send;
}

/// Health of the store, for `/readyz`.
pub trait Health: Send + Sync + 'static {
    /// `Ok` when the store can take writes now.
    fn ready(&self) -> impl Future<Output = Result<()>> + Send;
}

/// Everything the gateway needs from a store.
pub trait Store:
    ExchangeStore
    + EvidenceStore
    + SubmissionStore
    + FilingStore
    + DepositStore
    + RegistryStore
    + RetentionStore
    + Health
    + Clone
{
}

impl<T> Store for T where
    T: ExchangeStore
        + EvidenceStore
        + SubmissionStore
        + FilingStore
        + DepositStore
        + RegistryStore
        + RetentionStore
        + Health
        + Clone
{
}
