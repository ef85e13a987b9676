//! FHIR R4 for Ponte: what health authorities send, checked in layers.
//!
//! 1. [`parse`]: bytes → JSON with hostile-input limits (size, depth,
//!    duplicate keys, invalid UTF-8), then typed parsing with fhir-sdk's
//!    R4B models (R4 content; gaps documented in `docs/fhir-intake.md`),
//!    refusing elements the models would drop silently.
//! 2. [`bundle`]: Bundle invariants bdl-7/9/10/11/12 and reference
//!    resolution inside the Bundle.
//! 3. [`profile`]: Ponte's capacity-report, TSO-proposal and AdS-accounts
//!    profiles, which also say what act the sender asks for and, for an
//!    existing case, which one.
//!
//! Every problem is an [`Issue`] carrying severity, an R4 issue-type code,
//! a message in English and Italian and the FHIRPath of the element;
//! [`outcome`] turns them into an OperationOutcome. This crate does no I/O
//! and depends on no other workspace crate.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bundle;
pub mod capability;
pub mod codice_fiscale;
pub mod format;
pub mod outcome;
pub mod parse;
pub mod profile;
pub mod task;
pub mod xml;

use serde::Serialize;

/// How bad an issue is (FHIR `IssueSeverity`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The submission cannot be processed at all.
    Fatal,
    /// The submission is refused.
    Error,
    /// Accepted, but the sender should look.
    Warning,
    /// For information.
    Information,
}

/// One problem found in a submission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// Severity.
    pub severity: Severity,
    /// R4 issue-type code (`structure`, `required`, `value`, `invariant`,
    /// `not-found`, `duplicate`, `too-long`, `business-rule`, …).
    pub code: &'static str,
    /// Stable Ponte code for the rule (`cf_check_character`, `bdl-7`, …).
    pub rule: &'static str,
    /// Message in English.
    pub en: String,
    /// Message in Italian.
    pub it: String,
    /// FHIRPath of the offending element, e.g. `Bundle.entry[1].resource.identifier[0].value`.
    pub expression: Option<String>,
}

impl Issue {
    /// An error.
    pub fn error(
        code: &'static str,
        rule: &'static str,
        en: impl Into<String>,
        it: impl Into<String>,
        expression: impl Into<Option<String>>,
    ) -> Self {
        Self {
            severity: Severity::Error,
            code,
            rule,
            en: en.into(),
            it: it.into(),
            expression: expression.into(),
        }
    }

    /// The same issue as a warning.
    pub fn warning(self) -> Self {
        Self {
            severity: Severity::Warning,
            ..self
        }
    }

    /// The same issue as information.
    pub fn information(self) -> Self {
        Self {
            severity: Severity::Information,
            ..self
        }
    }

    /// Whether the issue refuses the submission (fatal or error).
    pub fn is_error(&self) -> bool {
        matches!(self.severity, Severity::Fatal | Severity::Error)
    }
}

/// A refused submission: the HTTP status to answer and every issue found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// 400 (cannot be parsed), 406 (no acceptable response format), 413
    /// (too large), 415 (unsupported body format), 422 (parsed but breaks a
    /// rule or profile).
    pub status: u16,
    /// The issues, errors first.
    pub issues: Vec<Issue>,
}

// === impl Rejection ===

impl Rejection {
    /// A refusal with a single issue.
    pub fn one(status: u16, issue: Issue) -> Self {
        Self {
            status,
            issues: vec![issue],
        }
    }
}

/// Wire format of a FHIR body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `application/fhir+json`.
    Json,
    /// `application/fhir+xml`.
    Xml,
}
