//! Errors of loading mapping files ([`LoadError`]) and of mapping a Bundle
//! ([`MapError`]). Neither ever carries data from the Bundle: they name the
//! mapping file, the rule and the path, and say what is wrong.

use std::path::PathBuf;

/// A mapping folder or file that cannot be used. The operator's fault (or
/// the mapping author's): nothing is loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The folder or a file in it cannot be read.
    #[error("cannot read mapping {}: {source}", path.display())]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not TOML, or its top level does not have the mapping file's
    /// shape (unknown or missing key, wrong type, unknown act).
    #[error("mapping file {}: {message}", file.display())]
    Syntax {
        /// The file.
        file: PathBuf,
        /// The TOML reader's message, with line and column.
        message: String,
    },
    /// A rule of a file is wrong: unknown model field, path that does not
    /// parse, template naming no value, unknown transform, …
    #[error("mapping file {}: rule {rule}: {problem}", file.display())]
    Rule {
        /// The file.
        file: PathBuf,
        /// The rule: a model field (`beneficiary.surname`), a value name, or
        /// a part of the file (`court.sender`, `main_act.blocks[3]`,
        /// `attachments[0]`).
        rule: String,
        /// What is wrong.
        problem: String,
    },
    /// Two files serve the same requested act.
    #[error(
        "requested act {requested_act} is served by two mapping files: {} and {}",
        first.display(),
        second.display()
    )]
    Duplicate {
        /// The requested act (`ads-appointment`, …).
        requested_act: String,
        /// The file that claimed it first (in name order).
        first: PathBuf,
        /// The other file.
        second: PathBuf,
    },
}

impl LoadError {
    /// A bounded snake_case code for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "mapping_unreadable",
            Self::Syntax { .. } => "mapping_syntax",
            Self::Rule { .. } => "mapping_rule_invalid",
            Self::Duplicate { .. } => "mapping_duplicate_act",
        }
    }
}

/// What is wrong with the value a rule found (or did not find) in the Bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleProblem {
    /// The rule is required and its path (and default) gave nothing.
    #[error("required value missing")]
    Missing,
    /// The path gave several values where the rule expects one.
    #[error("{count} values where one is expected")]
    Several {
        /// How many.
        count: usize,
    },
    /// The path gave a value of the wrong kind (an object where text is
    /// expected, an attachment that is not an object, …).
    #[error("wrong type: expected {expected}")]
    WrongType {
        /// What the rule expects.
        expected: &'static str,
    },
    /// A transform or the model refused the value's form.
    #[error("bad format: expected {expected}")]
    BadFormat {
        /// The form expected (`a date YYYY-MM-DD`, `<numero>/<anno>`, …).
        expected: &'static str,
    },
    /// Attachment `data` is not valid base64.
    #[error("attachment data is not valid base64")]
    AttachmentBase64,
    /// The attachment has neither `data` nor a `url` naming a Binary with
    /// data.
    #[error("attachment has no content (data, or url naming a Binary in the Bundle)")]
    AttachmentNoContent,
    /// Lists that go together (the officers' surnames, given names and codici
    /// fiscali) have different lengths.
    #[error("lists of different lengths")]
    LengthMismatch,
}

impl RuleProblem {
    /// A bounded snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "value_missing",
            Self::Several { .. } => "value_several",
            Self::WrongType { .. } => "value_wrong_type",
            Self::BadFormat { .. } => "value_bad_format",
            Self::AttachmentBase64 => "attachment_base64",
            Self::AttachmentNoContent => "attachment_no_content",
            Self::LengthMismatch => "value_length_mismatch",
        }
    }
}

/// Why a Bundle cannot be mapped to a filing. `Display` never contains
/// patient data, except [`MapError::Competence`], whose message repeats the
/// comune the sender gave (for the office, see `docs/registry.md` §3; log the
/// [`MapError::code`] only).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MapError {
    /// No mapping file serves the requested act.
    #[error("no mapping file serves the requested act {requested_act}")]
    NoMapping {
        /// The requested act as given.
        requested_act: String,
    },
    /// A rule cannot produce its value from this Bundle.
    #[error(
        "mapping file {}: rule {rule}{}: {problem}",
        file.display(),
        element.as_ref().map(|e| format!(" ({e})")).unwrap_or_default()
    )]
    Rule {
        /// The mapping file.
        file: PathBuf,
        /// The rule: the model field or value name (`beneficiary.surname`),
        /// `court.sender`, `attachments[0]`, …
        rule: String,
        /// The path evaluated, as written in the file (`%subject.name…`),
        /// when the rule has one.
        element: Option<String>,
        /// What is wrong.
        problem: RuleProblem,
    },
    /// The registry cannot name the competent court: the office must choose
    /// one and map again with `court_override`.
    #[error("{0}")]
    Competence(ponte_registry::CompetenceError),
    /// The court named by `court_override` or by the sender (competent-court
    /// extension) is not in the registry.
    #[error("court {code} is not in the court registry")]
    UnknownCourt {
        /// The codice ufficio as given.
        code: String,
    },
    /// The filled model is refused by `ponte_pct::datiatto::to_xml`: the
    /// mapping file fills a value the court's format does not accept.
    #[error("mapping file {}: the filled DatiAtto is refused: {source}", file.display())]
    Model {
        /// The mapping file.
        file: PathBuf,
        /// Why.
        #[source]
        source: ponte_pct::Error,
    },
}

impl MapError {
    /// A bounded snake_case code for metrics and problem documents.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoMapping { .. } => "mapping_missing",
            Self::Rule { problem, .. } => match problem {
                RuleProblem::Missing => "mapping_value_missing",
                RuleProblem::Several { .. } => "mapping_value_several",
                RuleProblem::WrongType { .. } => "mapping_value_wrong_type",
                RuleProblem::BadFormat { .. } => "mapping_value_bad_format",
                RuleProblem::AttachmentBase64 => "mapping_attachment_base64",
                RuleProblem::AttachmentNoContent => "mapping_attachment_no_content",
                RuleProblem::LengthMismatch => "mapping_value_length_mismatch",
            },
            Self::Competence(e) => e.code(),
            Self::UnknownCourt { .. } => "court_unknown",
            Self::Model { .. } => "mapping_model_refused",
        }
    }
}
