//! Adapter for the pct boundary of Ponte: what a filing to the Italian Processo
//! Civile Telematico looks like, from the typed DatiAtto model to the encrypted
//! envelope.
//!
//! - [`datiatto`]: the DatiAtto model of each act Ponte files, and its writers
//!   (`DatiAtto.xml`, `IndiceBusta.xml`). Pure: no I/O.
//! - [`xsd`]: the Ministry's schemas, compiled once from a configurable folder,
//!   and validation against them (libxml2, on a thread of its own).
//!
//! Place in the flow: `mappings` builds a [`datiatto::DatiAtto`]; this crate
//! renders, validates, signs and envelopes it; `pec` delivers it. No network
//! I/O; the only file reads are the schema folder's, at load time.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod datiatto;
pub mod envelope;
pub mod mainact;
pub mod sign;
pub mod xsd;

use std::path::PathBuf;

/// Errors of [`datiatto`] and [`xsd`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The court code is not ten digits. The caller's fault (the registry or
    /// the mapping gave a wrong code).
    #[error("court code is not ten digits")]
    InvalidCourtCode,
    /// A value the act requires is empty. The caller's fault: the report lacks
    /// it, or the mapping did not fill it.
    #[error("required value {field} is empty")]
    MissingValue {
        /// The model field, e.g. `beneficiary.surname`.
        field: &'static str,
    },
    /// A value holds characters that XML 1.0 cannot carry (control
    /// characters). The caller's fault.
    #[error("value {field} holds characters not allowed in xml")]
    InvalidCharacters {
        /// The model field.
        field: &'static str,
    },
    /// A codice fiscale is malformed or its check character is wrong. The
    /// caller's fault.
    #[error("codice fiscale {field} is not valid")]
    InvalidCodiceFiscale {
        /// The model field.
        field: &'static str,
    },
    /// The attachments cannot form an `IndiceBusta`. The caller's fault.
    #[error("attachment index: {0}")]
    AttachmentIndex(datiatto::IndexProblem),
    /// Writing XML into memory failed. Does not happen in practice; internal.
    #[error("writing xml failed")]
    XmlWrite(#[source] std::io::Error),
    /// A schema file cannot be read or compiled. The operator's fault: the
    /// configured schema folder is wrong or incomplete.
    #[error("cannot load pct schema {}: {reason}", path.display())]
    SchemaLoad {
        /// The file.
        path: PathBuf,
        /// What went wrong (libxml2's first message, or why the file is refused).
        reason: String,
    },
    /// The document does not match its schema. The caller's fault (or a bug of
    /// the writer, if the document came from [`datiatto::to_xml`]).
    #[error("document does not match the pct schema ({} problems)", .0.len())]
    XsdInvalid(Vec<xsd::XsdError>),
    /// The validator thread has stopped after a panic; a new
    /// [`xsd::SchemaSet`] must be loaded. Internal.
    #[error("schema validator is not running")]
    ValidatorStopped,
}

// === impl Error ===

impl Error {
    /// A bounded snake_case code for logs, metrics and problem documents.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidCourtCode => "court_code_invalid",
            Self::MissingValue { .. } => "value_missing",
            Self::InvalidCharacters { .. } => "value_characters_invalid",
            Self::InvalidCodiceFiscale { .. } => "codice_fiscale_invalid",
            Self::AttachmentIndex(_) => "attachment_index_invalid",
            Self::XmlWrite(_) => "xml_write_failed",
            Self::SchemaLoad { .. } => "schema_load_failed",
            Self::XsdInvalid(_) => "xsd_invalid",
            Self::ValidatorStopped => "validator_stopped",
        }
    }
}
