//! Submissions, Tasks and the filing work queue, as the store sees them.

use serde::Serialize;

use super::NewExchange;

/// An accepted FHIR submission to store, with everything written in the
/// same transaction: the exchange (and original bytes as its body), the
/// evidence entry, the submission, its Task, a work-queue row and, when the
/// sender gave one, the idempotency record.
#[derive(Clone, Debug)]
pub struct NewSubmission {
    /// The exchange that carried it; `body` holds the original bytes.
    pub exchange: NewExchange,
    /// Submission id (also the Bundle id in `Task.focus`).
    pub id: String,
    /// Task id.
    pub task_id: String,
    /// `capacity-report` or `tso-proposal`.
    pub kind: String,
    /// The act requested.
    pub act: String,
    /// Media type it came in.
    pub content_type: String,
    /// The Bundle as parsed (JSON).
    pub parsed: Vec<u8>,
    /// `Bundle.identifier` (system, value), copied to `Task.identifier`.
    pub identifier: Option<(String, String)>,
    /// Idempotency keys it answers to: the `Idempotency-Key` header and
    /// `Bundle.identifier` as `system|value`, when present.
    pub idempotency_keys: Vec<String>,
    /// The answer to replay to retries (the Task as created).
    pub response: Vec<u8>,
    /// HTTP status of that answer.
    pub status: u16,
}

/// A stored Task.
#[derive(Clone, Debug, Serialize)]
pub struct TaskRecord {
    /// Task id.
    pub id: String,
    /// Submission id.
    pub submission_id: String,
    /// The sender.
    pub agency: String,
    /// FHIR Task.status.
    pub status: String,
    /// Task.businessStatus text.
    pub business_status: Option<String>,
    /// Task.identifier system.
    pub identifier_system: Option<String>,
    /// Task.identifier value.
    pub identifier_value: Option<String>,
    /// Created (RFC 3339).
    pub authored_on: String,
    /// Last changed (RFC 3339).
    pub last_modified: String,
    /// Outputs: (type text, value) pairs.
    pub outputs: Vec<(String, String)>,
}

/// Which Tasks to list.
#[derive(Clone, Debug, Default)]
pub struct TaskFilter {
    /// Only this agency's (`None` only for the office role).
    pub agency: Option<String>,
    /// `Task.identifier` value, optionally `system|value`.
    pub identifier: Option<(Option<String>, String)>,
    /// Task.status.
    pub status: Option<String>,
    /// At most this many.
    pub limit: u32,
}

/// A stored first answer to an idempotency key.
#[derive(Clone, Debug)]
pub struct IdempotentAnswer {
    /// SHA-256 of the first request's body.
    pub request_sha256: [u8; 32],
    /// Its Task.
    pub task_id: String,
    /// HTTP status.
    pub status: u16,
    /// Body.
    pub response: Vec<u8>,
    /// The signed receipt.
    pub receipt: String,
}

/// Where an accepted submission landed.
#[derive(Clone, Debug)]
pub struct Accepted {
    /// Evidence entry.
    pub recorded: crate::evidence::Recorded,
    /// The receipt signed for it.
    pub receipt: String,
}
