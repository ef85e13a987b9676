//! What every profile checks on the Composition and what it points to,
//! before the kind-specific checks: the Composition itself, the requested
//! act, the competent court and the existing case, the subject Patient
//! (codice fiscale, name, vital status), the author, the custodian and the
//! entries referenced from the sections.

use serde_json::Value;

use super::common::{self, Cx, Entry, Follow, LOINC, items, text};
use super::rules;
use super::{
    CODICE_UFFICIO_SYSTEM, COMPETENT_COURT_URL, COURT_CASE_URL, CourtCase, Kind,
    NUMERO_RUOLO_SYSTEM, REQUESTED_ACT_SYSTEM, RequestedAct,
};

/// The Composition: first entry of a document Bundle, focus of the
/// MessageHeader of a message Bundle.
pub(super) fn find_composition<'a>(cx: &mut Cx<'a>) -> Option<Entry<'a>> {
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

pub(super) fn requested_act(cx: &mut Cx<'_>, comp: Entry<'_>, kind: Kind) -> RequestedAct {
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
pub(super) fn competent_court(cx: &mut Cx<'_>, comp: Entry<'_>) -> (Option<String>, bool) {
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
pub(super) fn court_case(cx: &mut Cx<'_>, comp: Entry<'_>, act: RequestedAct) -> Option<CourtCase> {
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
pub(super) fn parse_court_case(ident: Option<&Value>) -> Option<CourtCase> {
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

pub(super) fn subject<'a>(cx: &mut Cx<'a>, comp: Entry<'a>) -> Option<Entry<'a>> {
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
pub(super) fn check_patient(cx: &mut Cx<'_>, p: Entry<'_>) -> Option<String> {
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
pub(super) fn demographics(cx: &mut Cx<'_>, p: Entry<'_>, cf: &str, index: usize) {
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
pub(super) fn author<'a>(cx: &mut Cx<'a>, comp: Entry<'a>) -> Option<Entry<'a>> {
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

pub(super) fn custodian<'a>(cx: &mut Cx<'a>, comp: Entry<'a>) {
    let path = comp.at("custodian");
    match cx.follow(comp.resource.get("custodian"), &path) {
        Follow::Found(e) if e.rtype() == "Organization" => {}
        Follow::Unresolved => {}
        _ => cx.push(&rules::CUSTODIAN_REQUIRED, path),
    }
}

/// Entries referenced from the sections (nested sections included); warns on
/// sections without a LOINC code.
pub(super) fn section_entries<'a>(cx: &mut Cx<'a>, comp: Entry<'a>) -> Vec<Entry<'a>> {
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
pub(super) fn entry_subjects(cx: &mut Cx<'_>, subject: Entry<'_>) {
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
