//! Ponte's own profiles for what health authorities send: the capacity
//! report (certificate for an amministratore di sostegno, LOINC 72267-8),
//! the TSO proposal and the AdS accounts (Ponte-defined document types). No
//! Italian IG covers them, so Ponte defines them; `docs/fhir-profiles.md` is the reference,
//! with full examples and every rule.
//!
//! [`check`] works on the JSON of a Bundle that already parsed (fhir-sdk) and
//! passed the Bundle rules; it says which act the sender asks for
//! ([`Facts`]) and lists every problem as an [`Issue`]. Messages never carry
//! data from the submission, only the FHIRPath of the offending element.
//!
//! `composition` holds the checks every profile makes; `capacity`, `tso`
//! and `accounts` the kind-specific ones, with `documents` for the signed
//! PDFs and the diagnosis they require; `common` the shared helpers and
//! `rules` the catalogue of rules.

mod accounts;
mod capacity;
mod common;
mod composition;
mod documents;
mod rules;
mod tso;

use serde_json::Value;

use self::common::{Cx, Entry, LOINC, has_coding, text};
use self::composition::{
    author, check_patient, competent_court, court_case, custodian, entry_subjects,
    find_composition, requested_act, section_entries, subject,
};
use crate::{Issue, Severity};

pub use self::rules::{RULES, Rule};

/// Base of every canonical URL Ponte defines.
pub const PONTE_FHIR_BASE: &str = "https://ponte.example/fhir";
/// Ponte's document types: `tso-proposal`, `tso-mayor-order`, `ads-accounts`.
pub const DOCUMENT_TYPE_SYSTEM: &str = "https://ponte.example/fhir/CodeSystem/document-type";
/// Ponte's requested acts, carried in `Composition.category`.
pub const REQUESTED_ACT_SYSTEM: &str = "https://ponte.example/fhir/CodeSystem/requested-act";
/// Extension on Composition: the competent court (`valueIdentifier`).
pub const COMPETENT_COURT_URL: &str =
    "https://ponte.example/fhir/StructureDefinition/competent-court";
/// Extension on Composition: the petitioner (`valueReference`).
pub const PETITIONER_URL: &str = "https://ponte.example/fhir/StructureDefinition/petitioner";
/// Identifier system of a court's codice ufficio (10 digits).
pub const CODICE_UFFICIO_SYSTEM: &str = "urn:ponte:codice-ufficio";
/// Extension on Composition: the existing case (`valueIdentifier`).
pub const COURT_CASE_URL: &str = "https://ponte.example/fhir/StructureDefinition/court-case";
/// Identifier system of a case number in a court's register, written
/// `<numero>/<anno>` (e.g. `1234/2025`); the court is the competent court.
/// Named after `NumeroRuolo`, the element in which the court's registry
/// returns the number it assigned (EsitoAtto).
pub const NUMERO_RUOLO_SYSTEM: &str = "urn:ponte:numero-ruolo";
/// LOINC code of a capacity report: "Evaluation of mental and physical
/// incapacity certificate Document".
pub const LOINC_CAPACITY_REPORT: &str = "72267-8";
/// Ponte code of a TSO proposal in [`DOCUMENT_TYPE_SYSTEM`].
pub const TSO_PROPOSAL_CODE: &str = "tso-proposal";
/// Ponte code of the mayor's TSO order in [`DOCUMENT_TYPE_SYSTEM`].
pub const TSO_MAYOR_ORDER_CODE: &str = "tso-mayor-order";
/// Ponte code of the accounts of an amministratore di sostegno (rendiconto)
/// in [`DOCUMENT_TYPE_SYSTEM`].
pub const ADS_ACCOUNTS_CODE: &str = "ads-accounts";

/// The act the sender asks the court for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestedAct {
    /// Ricorso per la nomina di un amministratore di sostegno (new case).
    AdsAppointment,
    /// Relazione periodica of an existing amministrazione di sostegno.
    AdsReport,
    /// Convalida of a trattamento sanitario obbligatorio.
    TsoConvalida,
    /// Istanza al giudice tutelare in an existing case (authorisations, …).
    Istanza,
    /// Rendiconto (periodic accounts) of an existing amministrazione di
    /// sostegno.
    AdsAccounts,
}

impl RequestedAct {
    /// All acts.
    pub const ALL: [RequestedAct; 5] = [
        RequestedAct::AdsAppointment,
        RequestedAct::AdsReport,
        RequestedAct::TsoConvalida,
        RequestedAct::Istanza,
        RequestedAct::AdsAccounts,
    ];

    /// The code in [`REQUESTED_ACT_SYSTEM`].
    pub fn code(&self) -> &'static str {
        match self {
            RequestedAct::AdsAppointment => "ads-appointment",
            RequestedAct::AdsReport => "ads-report",
            RequestedAct::TsoConvalida => "tso-convalida",
            RequestedAct::Istanza => "istanza",
            RequestedAct::AdsAccounts => "ads-accounts",
        }
    }

    /// Whether the act is filed in a case the court already has: it then
    /// needs the case number ([`COURT_CASE_URL`]) and the competent court.
    pub fn concerns_existing_case(&self) -> bool {
        matches!(
            self,
            RequestedAct::AdsReport | RequestedAct::Istanza | RequestedAct::AdsAccounts
        )
    }

    /// The act with this code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.code() == code)
    }
}

/// Which Ponte profile a document follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Capacity report: Composition.type LOINC 72267-8.
    CapacityReport,
    /// TSO proposal: Composition.type Ponte document-type `tso-proposal`.
    TsoProposal,
    /// Accounts (rendiconto) of an amministratore di sostegno:
    /// Composition.type Ponte document-type `ads-accounts`.
    AdsAccounts,
}

/// An existing case in the competent court's register (`procedimento`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CourtCase {
    /// The case number (`numero`): 1 to 7 digits, as sent.
    pub number: String,
    /// The year the case was registered (`anno`): 4 digits.
    pub year: String,
}

/// What the gateway needs to route a valid submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Facts {
    /// The profile the document follows.
    pub kind: Kind,
    /// The act asked for.
    pub act: RequestedAct,
    /// Codice fiscale of the subject, upper case.
    pub subject_cf: String,
    /// ISTAT code (6 digits) of the comune that decides competence: the
    /// subject's residence for a capacity report, the comune whose mayor
    /// signed the order for a TSO proposal.
    pub comune_istat: Option<String>,
    /// Name of that comune, as sent.
    pub comune_name: Option<String>,
    /// Codice ufficio (10 digits) of the competent court, when the sender
    /// named it (always for an act in an existing case).
    pub competent_court: Option<String>,
    /// The existing case, for the acts that concern one
    /// ([`RequestedAct::concerns_existing_case`]); `None` otherwise.
    pub court_case: Option<CourtCase>,
    /// TSO only: the judge's deadline, RFC 3339 in the order's offset: the
    /// time of the mayor's order + 48 hours.
    pub tso_deadline: Option<String>,
}

/// Limits of the profile checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileLimits {
    /// Largest decoded attachment (signed PDF, mayor's order), in bytes.
    pub max_attachment_bytes: usize,
}

impl Default for ProfileLimits {
    fn default() -> Self {
        Self {
            max_attachment_bytes: 20 * 1024 * 1024,
        }
    }
}

/// What the kind-specific checks hand back.
struct Outcome {
    comune_istat: Option<String>,
    comune_name: Option<String>,
    tso_deadline: Option<String>,
}

/// What the common checks found, for the kind-specific ones.
struct Doc<'a> {
    composition: Entry<'a>,
    act: RequestedAct,
    /// The subject Patient, when Composition.subject is one.
    subject: Option<Entry<'a>>,
    /// The first PractitionerRole or Practitioner author.
    author: Option<Entry<'a>>,
    competent_court: Option<String>,
    /// Entries referenced from the sections, with duplicates removed.
    section_entries: Vec<Entry<'a>>,
}

/// Checks a Bundle against Ponte's profiles.
///
/// Works on the JSON of a Bundle already structurally valid (parsed by
/// fhir-sdk) and passing the Bundle rules, but does not rely on it: anything
/// missing is reported, nothing panics. Returns the [`Facts`] only when no
/// issue is an error; the issues come errors first.
pub fn check(bundle: &Value, limits: &ProfileLimits) -> (Option<Facts>, Vec<Issue>) {
    let mut cx = Cx::new(bundle, limits);
    let facts = check_in(&mut cx);
    let mut issues = cx.issues;
    issues.sort_by_key(|i| severity_rank(i.severity));
    let failed = issues.iter().any(Issue::is_error);
    (if failed { None } else { facts }, issues)
}

fn severity_rank(s: Severity) -> u8 {
    match s {
        Severity::Fatal => 0,
        Severity::Error => 1,
        Severity::Warning => 2,
        Severity::Information => 3,
    }
}

fn check_in(cx: &mut Cx<'_>) -> Option<Facts> {
    let composition = find_composition(cx)?;
    let comp = composition.resource;
    let kind = if has_coding(comp.get("type"), LOINC, LOINC_CAPACITY_REPORT) {
        Kind::CapacityReport
    } else if has_coding(comp.get("type"), DOCUMENT_TYPE_SYSTEM, TSO_PROPOSAL_CODE) {
        Kind::TsoProposal
    } else if has_coding(comp.get("type"), DOCUMENT_TYPE_SYSTEM, ADS_ACCOUNTS_CODE) {
        Kind::AdsAccounts
    } else {
        cx.push(&rules::DOCUMENT_TYPE_UNSUPPORTED, composition.at("type"));
        return None;
    };

    if !matches!(text(comp, "status"), Some("final" | "amended")) {
        cx.push(&rules::COMPOSITION_STATUS, composition.at("status"));
    }
    if text(comp, "date").is_none() {
        cx.push(&rules::COMPOSITION_DATE_REQUIRED, composition.at("date"));
    }
    let act = requested_act(cx, composition, kind);
    let (competent_court, court_given) = competent_court(cx, composition);
    if act.concerns_existing_case() && !court_given {
        cx.push(
            &rules::COMPETENT_COURT_REQUIRED,
            composition.at("extension"),
        );
    }
    let court_case = court_case(cx, composition, act);
    let subject = subject(cx, composition);
    let subject_cf = subject.and_then(|p| check_patient(cx, p));
    let author = match kind {
        Kind::AdsAccounts => {
            accounts::author(cx, composition);
            None
        }
        Kind::CapacityReport | Kind::TsoProposal => author(cx, composition),
    };
    custodian(cx, composition);
    let section_entries = section_entries(cx, composition);
    if let Some(p) = subject {
        entry_subjects(cx, p);
    }

    let doc = Doc {
        composition,
        act,
        subject,
        author,
        competent_court,
        section_entries,
    };
    let outcome = match kind {
        Kind::CapacityReport => capacity::check(cx, &doc),
        Kind::TsoProposal => tso::check(cx, &doc),
        Kind::AdsAccounts => accounts::check(cx, &doc),
    };
    Some(Facts {
        kind,
        act,
        subject_cf: subject_cf?,
        comune_istat: outcome.comune_istat,
        comune_name: outcome.comune_name,
        competent_court: doc.competent_court,
        court_case,
        tso_deadline: outcome.tso_deadline,
    })
}
