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

mod accounts;
mod capacity;
mod common;
mod rules;
mod tso;

use serde_json::Value;

use self::common::{Cx, Entry, Follow, LOINC, has_coding, items, text};
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

/// The Composition: first entry of a document Bundle, focus of the
/// MessageHeader of a message Bundle.
fn find_composition<'a>(cx: &mut Cx<'a>) -> Option<Entry<'a>> {
    let first = cx.entry(0);
    let found = match text(cx.bundle, "type") {
        Some("document") => first.filter(|e| e.rtype() == "Composition"),
        Some("message") => first
            .filter(|e| e.rtype() == "MessageHeader")
            .and_then(|h| {
                let focus = items(h.resource, "focus").first();
                match cx.follow(focus, &h.at("focus[0]")) {
                    Follow::Found(e) if e.rtype() == "Composition" => Some(e),
                    _ => None,
                }
            }),
        _ => None,
    };
    if found.is_none() {
        let at = match text(cx.bundle, "type") {
            Some("message") => "Bundle.entry[0].resource.focus",
            Some("document") => "Bundle.entry[0].resource",
            _ => "Bundle.type",
        };
        cx.push(&rules::COMPOSITION_REQUIRED, at);
    }
    found
}

fn requested_act(cx: &mut Cx<'_>, comp: Entry<'_>, kind: Kind) -> RequestedAct {
    let mut acts: Vec<(RequestedAct, String)> = Vec::new();
    for (i, cat) in items(comp.resource, "category").iter().enumerate() {
        for (k, coding) in items(cat, "coding").iter().enumerate() {
            if text(coding, "system") != Some(REQUESTED_ACT_SYSTEM) {
                continue;
            }
            let path = comp.at(&format!("category[{i}].coding[{k}].code"));
            match text(coding, "code").and_then(RequestedAct::from_code) {
                Some(act) => {
                    if acts.iter().any(|(a, _)| *a != act) {
                        cx.push(&rules::REQUESTED_ACT_MULTIPLE, path.clone());
                    }
                    acts.push((act, path));
                }
                None => cx.push(&rules::REQUESTED_ACT_UNKNOWN, path),
            }
        }
    }
    let (act, path) = match acts.into_iter().next() {
        Some(found) => found,
        // A capacity report that names no act asks for an AdS appointment;
        // a TSO proposal always asks for the convalida.
        // AdS accounts always ask for the accounts to be filed.
        None => match kind {
            Kind::CapacityReport => (RequestedAct::AdsAppointment, comp.at("category")),
            Kind::TsoProposal => (RequestedAct::TsoConvalida, comp.at("category")),
            Kind::AdsAccounts => (RequestedAct::AdsAccounts, comp.at("category")),
        },
    };
    let fits = match kind {
        Kind::CapacityReport => matches!(
            act,
            RequestedAct::AdsAppointment | RequestedAct::AdsReport | RequestedAct::Istanza
        ),
        Kind::TsoProposal => act == RequestedAct::TsoConvalida,
        Kind::AdsAccounts => act == RequestedAct::AdsAccounts,
    };
    if !fits {
        cx.push(&rules::REQUESTED_ACT_KIND, path);
    }
    act
}

/// The competent court, and whether any competent-court extension was given
/// (well-formed or not).
fn competent_court(cx: &mut Cx<'_>, comp: Entry<'_>) -> (Option<String>, bool) {
    let mut court = None;
    let mut seen = 0;
    for (i, ext) in items(comp.resource, "extension").iter().enumerate() {
        if text(ext, "url") != Some(COMPETENT_COURT_URL) {
            continue;
        }
        seen += 1;
        if seen > 1 {
            cx.push(
                &rules::COMPETENT_COURT_MULTIPLE,
                comp.at(&format!("extension[{i}]")),
            );
            continue;
        }
        let ident = ext.get("valueIdentifier");
        let system = ident.and_then(|v| text(v, "system"));
        let value = ident.and_then(|v| text(v, "value"));
        match value {
            Some(v)
                if system == Some(CODICE_UFFICIO_SYSTEM)
                    && v.len() == 10
                    && v.bytes().all(|b| b.is_ascii_digit()) =>
            {
                court = Some(v.to_owned());
            }
            _ => cx.push(
                &rules::COMPETENT_COURT_FORMAT,
                comp.at(&format!("extension[{i}].valueIdentifier")),
            ),
        }
    }
    (court, seen > 0)
}

/// The existing case: required, once and well-formed, for the acts that
/// concern one; ignored with a warning on the others.
fn court_case(cx: &mut Cx<'_>, comp: Entry<'_>, act: RequestedAct) -> Option<CourtCase> {
    let exts: Vec<(usize, &Value)> = items(comp.resource, "extension")
        .iter()
        .enumerate()
        .filter(|(_, e)| text(e, "url") == Some(COURT_CASE_URL))
        .collect();
    if !act.concerns_existing_case() {
        for (i, _) in exts {
            cx.push(
                &rules::COURT_CASE_UNEXPECTED,
                comp.at(&format!("extension[{i}]")),
            );
        }
        return None;
    }
    if exts.is_empty() {
        cx.push(&rules::COURT_CASE_REQUIRED, comp.at("extension"));
        return None;
    }
    let mut case = None;
    for (n, (i, ext)) in exts.into_iter().enumerate() {
        if n > 0 {
            cx.push(
                &rules::COURT_CASE_MULTIPLE,
                comp.at(&format!("extension[{i}]")),
            );
            continue;
        }
        case = parse_court_case(ext.get("valueIdentifier"));
        if case.is_none() {
            cx.push(
                &rules::COURT_CASE_FORMAT,
                comp.at(&format!("extension[{i}].valueIdentifier")),
            );
        }
    }
    case
}

/// `{system: urn:ponte:numero-ruolo, value: "<numero>/<anno>"}`: numero 1 to
/// 7 digits and not zero, anno 4 digits from 1990 to 2100.
fn parse_court_case(ident: Option<&Value>) -> Option<CourtCase> {
    let ident = ident?;
    if text(ident, "system") != Some(NUMERO_RUOLO_SYSTEM) {
        return None;
    }
    let (number, year) = text(ident, "value")?.split_once('/')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let number_ok = digits(number) && number.len() <= 7 && number.bytes().any(|b| b != b'0');
    let year_ok = digits(year)
        && year.len() == 4
        && year
            .parse::<u16>()
            .is_ok_and(|y| (1990..=2100).contains(&y));
    (number_ok && year_ok).then(|| CourtCase {
        number: number.to_owned(),
        year: year.to_owned(),
    })
}

fn subject<'a>(cx: &mut Cx<'a>, comp: Entry<'a>) -> Option<Entry<'a>> {
    let path = comp.at("subject");
    match cx.follow(comp.resource.get("subject"), &path) {
        Follow::Absent => {
            cx.push(&rules::SUBJECT_REQUIRED, path);
            None
        }
        Follow::Unresolved => None,
        Follow::Found(e) if e.rtype() == "Patient" => Some(e),
        Follow::Found(_) => {
            cx.push(&rules::SUBJECT_TYPE, path);
            None
        }
    }
}

/// The subject's codice fiscale, name and vital status; returns the codice
/// fiscale when there is exactly one and it is valid.
fn check_patient(cx: &mut Cx<'_>, p: Entry<'_>) -> Option<String> {
    let found = cx.check_cf_identifiers(p);
    if found.count == 0 {
        cx.push(&rules::CF_REQUIRED, p.at("identifier"));
    }
    if let Some(cf) = &found.value {
        demographics(cx, p, cf, found.index);
    }
    let named = items(p.resource, "name").iter().any(|n| {
        text(n, "family").is_some()
            && items(n, "given")
                .iter()
                .any(|g| g.as_str().is_some_and(|g| !g.trim().is_empty()))
    });
    if !named {
        cx.push(&rules::PATIENT_NAME_REQUIRED, p.at("name"));
    }
    let deceased = p.resource.get("deceasedBoolean").and_then(Value::as_bool) == Some(true)
        || p.resource.get("deceasedDateTime").is_some();
    if deceased {
        cx.push(&rules::PATIENT_DECEASED, p.at("deceased"));
    }
    found.value
}

/// Warns when the birth date or sex encoded in the codice fiscale disagree
/// with the Patient's.
fn demographics(cx: &mut Cx<'_>, p: Entry<'_>, cf: &str, index: usize) {
    let Some((yy, month, day, female)) = common::cf_demographics(cf) else {
        return;
    };
    let mut mismatch = false;
    if let Some(common::When::Day(d)) = text(p.resource, "birthDate").and_then(common::When::parse)
    {
        mismatch |= d.year().rem_euclid(100) as u32 != yy
            || u32::from(u8::from(d.month())) != month
            || u32::from(d.day()) != day;
    }
    match text(p.resource, "gender") {
        Some("female") => mismatch |= !female,
        Some("male") => mismatch |= female,
        _ => {}
    }
    if mismatch {
        cx.push(
            &rules::CF_DEMOGRAPHICS_MISMATCH,
            p.at(&format!("identifier[{index}].value")),
        );
    }
}

/// The first author that is a PractitionerRole or Practitioner.
fn author<'a>(cx: &mut Cx<'a>, comp: Entry<'a>) -> Option<Entry<'a>> {
    let mut found = None;
    for (i, a) in items(comp.resource, "author").iter().enumerate() {
        if let Follow::Found(e) = cx.follow(Some(a), &comp.at(&format!("author[{i}]")))
            && matches!(e.rtype(), "PractitionerRole" | "Practitioner")
            && found.is_none()
        {
            found = Some(e);
        }
    }
    match found {
        Some(e) => {
            cx.practitioner(e);
        }
        None => cx.push(&rules::AUTHOR_REQUIRED, comp.at("author")),
    }
    found
}

fn custodian<'a>(cx: &mut Cx<'a>, comp: Entry<'a>) {
    let path = comp.at("custodian");
    match cx.follow(comp.resource.get("custodian"), &path) {
        Follow::Found(e) if e.rtype() == "Organization" => {}
        Follow::Unresolved => {}
        _ => cx.push(&rules::CUSTODIAN_REQUIRED, path),
    }
}

/// Entries referenced from the sections (nested sections included); warns on
/// sections without a LOINC code.
fn section_entries<'a>(cx: &mut Cx<'a>, comp: Entry<'a>) -> Vec<Entry<'a>> {
    let mut out: Vec<Entry<'a>> = Vec::new();
    let mut stack: Vec<(&'a Value, String)> = items(comp.resource, "section")
        .iter()
        .enumerate()
        .map(|(i, s)| (s, comp.at(&format!("section[{i}]"))))
        .collect();
    stack.reverse();
    while let Some((section, path)) = stack.pop() {
        let coded = items(section.get("code").unwrap_or(&Value::Null), "coding")
            .iter()
            .any(|c| text(c, "system") == Some(LOINC) && text(c, "code").is_some());
        if !coded {
            cx.push(&rules::SECTION_CODE, format!("{path}.code"));
        }
        for (k, r) in items(section, "entry").iter().enumerate() {
            if let Follow::Found(e) = cx.follow(Some(r), &format!("{path}.entry[{k}]"))
                && !out.iter().any(|o| o.is(&e))
            {
                out.push(e);
            }
        }
        let nested = items(section, "section");
        for (k, s) in nested.iter().enumerate().rev() {
            stack.push((s, format!("{path}.section[{k}]")));
        }
    }
    out
}

/// Clinical resources and documents must be about the subject.
fn entry_subjects(cx: &mut Cx<'_>, subject: Entry<'_>) {
    let candidates: Vec<_> = cx
        .entries
        .iter()
        .filter(|e| matches!(e.rtype(), "Observation" | "Condition" | "DocumentReference"))
        .copied()
        .collect();
    for e in candidates {
        let Some(target) = e.resource.get("subject").and_then(|r| text(r, "reference")) else {
            continue;
        };
        if let Some(found) = cx.resolve(target)
            && !found.is(&subject)
        {
            cx.push(&rules::ENTRY_SUBJECT_MISMATCH, e.at("subject"));
        }
    }
}

/// DocumentReferences whose type has the Composition's type code.
fn documents_of_type<'a>(cx: &Cx<'a>, system: &str, code: &str) -> Vec<Entry<'a>> {
    cx.of_type("DocumentReference")
        .into_iter()
        .filter(|e| has_coding(e.resource.get("type"), system, code))
        .collect()
}

/// Checks every `content.attachment` of a DocumentReference as a PDF.
fn check_document_pdfs<'a>(cx: &mut Cx<'a>, doc: Entry<'a>) {
    let contents = items(doc.resource, "content");
    if contents.is_empty() {
        cx.push(&rules::ATTACHMENT_DATA_REQUIRED, doc.at("content"));
    }
    for (k, content) in contents.iter().enumerate() {
        let path = doc.at(&format!("content[{k}].attachment"));
        match content.get("attachment") {
            Some(att) => cx.check_pdf(att, &path),
            None => cx.push(&rules::ATTACHMENT_DATA_REQUIRED, path),
        }
    }
}

/// At least one Condition referenced from a section.
fn require_diagnosis(cx: &mut Cx<'_>, doc: &Doc<'_>) {
    if !doc.section_entries.iter().any(|e| e.rtype() == "Condition") {
        cx.push(&rules::DIAGNOSIS_REQUIRED, doc.composition.at("section"));
    }
}

/// The signed PDF: DocumentReferences typed like the Composition, each
/// attachment checked.
fn require_certificate(cx: &mut Cx<'_>, system: &str, code: &str) {
    let certificates = documents_of_type(cx, system, code);
    if certificates.is_empty() {
        cx.push(&rules::CERTIFICATE_REQUIRED, "Bundle.entry");
    }
    for c in certificates {
        check_document_pdfs(cx, c);
    }
}
