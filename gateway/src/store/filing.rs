//! Filings, the pipeline's work and the imported court registry, as the
//! store sees them.

use std::collections::BTreeMap;

use serde::Serialize;

/// A work-queue row claimed by a pipeline worker, with what it needs.
#[derive(Clone, Debug)]
pub struct WorkItem {
    /// Queue row id.
    pub row: i64,
    /// The Task the work is for.
    pub task_id: String,
    /// `build-filing`.
    pub job: String,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// Codice ufficio chosen by the office after competence was unknown.
    pub court_override: Option<String>,
    /// The claim's lease end (RFC 3339); also the claim's token: the
    /// outcome is written only while the row still carries it.
    pub lease_until: String,
    /// The submission behind the Task.
    pub submission: SubmissionRecord,
}

/// A stored submission (the parsed Bundle, not the original bytes).
#[derive(Clone, Debug)]
pub struct SubmissionRecord {
    /// Submission id.
    pub id: String,
    /// The sender.
    pub agency: String,
    /// `capacity-report`, `tso-proposal`, …
    pub kind: String,
    /// The requested act code.
    pub act: String,
    /// When it was received (RFC 3339).
    pub received_at: String,
    /// The Bundle as parsed, JSON.
    pub parsed: Vec<u8>,
}

/// How a build ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FilingState {
    /// Built and ready to deposit.
    Ready,
    /// Stopped: the submission or the mapping cannot give a valid filing.
    Failed,
    /// Stopped until the office decides (e.g. chooses the competent court).
    OnHold,
}

impl FilingState {
    /// The stored code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Failed => "failed",
            Self::OnHold => "on-hold",
        }
    }
}

/// The court a filing goes to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CourtRef {
    /// Codice ufficio.
    pub code: String,
    /// Name.
    pub name: String,
    /// PEC deposit address.
    pub pec: String,
}

/// Why a build stopped: what the office and the sender are told.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FilingProblem {
    /// Bounded code (`competence_unknown`, `mapping_rule`, …).
    pub code: String,
    /// English.
    pub message: String,
    /// Italian.
    pub message_it: String,
    /// The mapping file at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The mapping rule (model field) at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The FHIR element (FHIRPath) at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element: Option<String>,
}

/// One file of a built filing.
#[derive(Clone, Debug)]
pub struct NewArtefact {
    /// File name (`DatiAtto.xml`, `Atto.enc`, …).
    pub name: String,
    /// Media type.
    pub content_type: String,
    /// Content.
    pub bytes: Vec<u8>,
}

/// The end of one build, written atomically: the filing (with its
/// artefacts when ready), the Task's new state, the evidence entry, and the
/// queue row marked done.
#[derive(Clone, Debug)]
pub struct NewFiling {
    /// The claimed queue row.
    pub row: i64,
    /// The claim's lease ([`WorkItem::lease_until`]).
    pub lease: String,
    /// Filing id (kept if the Task already has a filing).
    pub id: String,
    /// Task id.
    pub task_id: String,
    /// Submission id.
    pub submission_id: String,
    /// The sender.
    pub agency: String,
    /// Requested act code.
    pub act: String,
    /// How the build ended.
    pub state: FilingState,
    /// The court, when known.
    pub court: Option<CourtRef>,
    /// The mapping file used.
    pub mapping_file: Option<String>,
    /// Text after `DEPOSITO ` in the PEC subject.
    pub deposit_description: Option<String>,
    /// Why it stopped.
    pub problem: Option<FilingProblem>,
    /// The files, in envelope order (only when ready).
    pub artefacts: Vec<NewArtefact>,
    /// Name of the artefact that is the envelope (`Atto.enc`).
    pub envelope: Option<String>,
    /// When ready: the Message-ID of the deposit, fixed now, before any
    /// attempt.
    pub deposit_message_id: Option<String>,
    /// New Task.status.
    pub task_status: String,
    /// New Task.businessStatus text.
    pub business_status: String,
    /// New Task outputs.
    pub outputs: Vec<(String, String)>,
}

/// A stored filing.
#[derive(Clone, Debug, Serialize)]
pub struct FilingRecord {
    /// Filing id.
    pub id: String,
    /// Task id.
    pub task_id: String,
    /// Submission id.
    pub submission_id: String,
    /// The sender.
    pub agency: String,
    /// Requested act code.
    pub act: String,
    /// `ready`, `failed` or `on-hold`.
    pub status: String,
    /// The court, when known.
    pub court: Option<CourtRef>,
    /// The mapping file used.
    pub mapping_file: Option<String>,
    /// Text after `DEPOSITO ` in the PEC subject.
    pub deposit_description: Option<String>,
    /// Why it stopped.
    pub problem: Option<FilingProblem>,
    /// SHA-256 (hex) of `Atto.enc`.
    pub envelope_sha256: Option<String>,
    /// Size of `Atto.enc`.
    pub envelope_size: Option<u64>,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last changed (RFC 3339).
    pub updated_at: String,
    /// The files (metadata only).
    pub artefacts: Vec<ArtefactInfo>,
    /// The PEC deposit, once the filing is ready.
    pub deposit: Option<super::DepositRecord>,
}

/// An artefact's metadata.
#[derive(Clone, Debug, Serialize)]
pub struct ArtefactInfo {
    /// File name.
    pub name: String,
    /// Media type.
    pub content_type: String,
    /// SHA-256 (hex).
    pub sha256: String,
    /// Bytes.
    pub size: u64,
    /// When its content was purged under the retention policy (RFC 3339);
    /// absent while it is kept. The name, digest and size stay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purged_at: Option<String>,
}

/// Which filings to list.
#[derive(Clone, Debug, Default)]
pub struct FilingFilter {
    /// Only this status.
    pub status: Option<String>,
    /// At most this many (newest first).
    pub limit: u32,
}

/// A registry data file to store as the registry in force.
#[derive(Clone, Debug)]
pub struct NewRegistryImport {
    /// Where it came from (path as given).
    pub source: String,
    /// The data file's text.
    pub document: String,
    /// Encryption certificate (PEM) of each court, by codice ufficio.
    pub certificates: BTreeMap<String, String>,
    /// Who imported it (an agency, or none for the CLI).
    pub agency: Option<String>,
}

/// The registry in force.
#[derive(Clone, Debug)]
pub struct RegistrySnapshot {
    /// Import id (grows with every import).
    pub id: i64,
    /// When.
    pub imported_at: String,
    /// From which file.
    pub source: String,
    /// The data file's text.
    pub document: String,
    /// Encryption certificates (PEM) by codice ufficio.
    pub certificates: BTreeMap<String, String>,
}
