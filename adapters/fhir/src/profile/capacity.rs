//! The capacity-report profile: the clinical content, the signed
//! certificate, the petitioner and the subject's residence.

use serde_json::Value;

use super::common::{
    Cx, Entry, Follow, LOINC, ROLE_CODE, has_coding, is_postal_address, items, text,
};
use super::documents::{require_certificate, require_diagnosis};
use super::rules;
use super::{Doc, LOINC_CAPACITY_REPORT, Outcome, PETITIONER_URL, RequestedAct};

/// LOINC "Mental status": the capacity finding.
const LOINC_MENTAL_STATUS: &str = "8693-4";

/// v3-RoleCode codes of the people who may petition for an AdS (art. 406 and
/// 417 c.c.: spouse, stable partner, relatives, in-laws, guardian) and the
/// generic family codes. Others are accepted with a warning.
const KNOWN_RELATIONSHIPS: &[&str] = &[
    "CHILD",
    "CHLDADOPT",
    "DAUADOPT",
    "SONADOPT",
    "CHLDFOST",
    "DAUFOST",
    "SONFOST",
    "DAUC",
    "DAU",
    "SONC",
    "SON",
    "STPCHLD",
    "STPDAU",
    "STPSON",
    "NCHILD",
    "SPS",
    "HUSB",
    "WIFE",
    "DOMPART",
    "SIGOTHR",
    "SIB",
    "BRO",
    "SIS",
    "HBRO",
    "HSIS",
    "HSIB",
    "NBRO",
    "NSIS",
    "NSIB",
    "TWIN",
    "TWINBRO",
    "TWINSIS",
    "STPSIB",
    "STPBRO",
    "STPSIS",
    "PRN",
    "FTH",
    "MTH",
    "NPRN",
    "NFTH",
    "NMTH",
    "ADOPTP",
    "ADOPTF",
    "ADOPTM",
    "STPPRN",
    "STPFTH",
    "STPMTH",
    "PRNINLAW",
    "FTHINLAW",
    "MTHINLAW",
    "SIBINLAW",
    "BROINLAW",
    "SISINLAW",
    "CHLDINLAW",
    "DAUINLAW",
    "SONINLAW",
    "GRNDCHILD",
    "GRNDDAU",
    "GRNDSON",
    "GRPRN",
    "GRFTH",
    "GRMTH",
    "NIENEPH",
    "NEPHEW",
    "NIECE",
    "UNCLE",
    "AUNT",
    "COUSN",
    "EXT",
    "FAMMEMB",
    "NOK",
    "GUARD",
    "POWATT",
];

pub(super) fn check<'a>(cx: &mut Cx<'a>, doc: &Doc<'a>) -> Outcome {
    capacity_finding(cx, doc);
    require_diagnosis(cx, doc);
    require_certificate(cx, LOINC, LOINC_CAPACITY_REPORT);
    petitioners(cx, doc);
    let (comune_istat, comune_name) = residence(cx, doc, true);
    Outcome {
        comune_istat,
        comune_name,
        tso_deadline: None,
    }
}

/// An Observation LOINC 8693-4 referenced from a section, final, with a value.
fn capacity_finding(cx: &mut Cx<'_>, doc: &Doc<'_>) {
    let findings: Vec<_> = doc
        .section_entries
        .iter()
        .filter(|e| {
            e.rtype() == "Observation"
                && has_coding(e.resource.get("code"), LOINC, LOINC_MENTAL_STATUS)
        })
        .copied()
        .collect();
    if findings.is_empty() {
        cx.push(
            &rules::CAPACITY_FINDING_REQUIRED,
            doc.composition.at("section"),
        );
    }
    for f in findings {
        if !matches!(
            text(f.resource, "status"),
            Some("final" | "amended" | "corrected")
        ) {
            cx.push(&rules::CAPACITY_FINDING_STATUS, f.at("status"));
        }
        if !super::common::has_value_x(f.resource) {
            cx.push(&rules::CAPACITY_FINDING_VALUE, f.at("value"));
        }
    }
}

/// The comune of the subject's current home address. Without one, the
/// sender must name the competent court (when `required`).
pub(super) fn residence(
    cx: &mut Cx<'_>,
    doc: &Doc<'_>,
    required: bool,
) -> (Option<String>, Option<String>) {
    let Some(p) = doc.subject else {
        return (None, None);
    };
    let homes: Vec<(usize, &Value)> = items(p.resource, "address")
        .iter()
        .enumerate()
        .filter(|(_, a)| text(a, "use") == Some("home"))
        .collect();
    let current = homes
        .iter()
        .find(|(_, a)| a.get("period").and_then(|x| x.get("end")).is_none())
        .or(homes.first())
        .copied();
    let Some((i, address)) = current else {
        if required && doc.competent_court.is_none() {
            cx.push(&rules::RESIDENCE_REQUIRED, p.at("address"));
        }
        return (None, None);
    };
    let path = p.at(&format!("address[{i}]"));
    let comune = cx.comune(address, &path);
    if required && comune.name.is_none() && doc.competent_court.is_none() {
        cx.push(&rules::RESIDENCE_REQUIRED, format!("{path}.city"));
    }
    (comune.istat, comune.name)
}

/// Whether the act is filed by the amministratore (relationship GUARD).
fn by_guardian(act: RequestedAct) -> bool {
    matches!(act, RequestedAct::AdsReport | RequestedAct::AdsAccounts)
}

pub(super) fn petitioners<'a>(cx: &mut Cx<'a>, doc: &Doc<'a>) {
    let comp = doc.composition;
    let exts: Vec<(usize, &Value)> = items(comp.resource, "extension")
        .iter()
        .enumerate()
        .filter(|(_, e)| text(e, "url") == Some(PETITIONER_URL))
        .collect();
    if exts.is_empty() {
        cx.push(&rules::PETITIONER_REQUIRED, comp.at("extension"));
    }
    for (i, ext) in exts {
        let path = comp.at(&format!("extension[{i}].valueReference"));
        match cx.follow(ext.get("valueReference"), &path) {
            Follow::Absent => cx.push(&rules::PETITIONER_REQUIRED, path),
            Follow::Unresolved => {}
            Follow::Found(e) if e.rtype() == "Patient" => self_petition(cx, doc, e, &path),
            Follow::Found(e) if e.rtype() == "RelatedPerson" => related_person(cx, doc, e),
            Follow::Found(_) => cx.push(&rules::PETITIONER_TYPE, path),
        }
    }
}

/// The beneficiary petitions for themself (art. 406 c.c.).
fn self_petition(cx: &mut Cx<'_>, doc: &Doc<'_>, p: Entry<'_>, path: &str) {
    let Some(subject) = doc.subject else {
        return;
    };
    if !p.is(&subject) {
        cx.push(&rules::PETITIONER_PATIENT, path.to_owned());
        return;
    }
    if by_guardian(doc.act) {
        cx.push(&rules::PETITIONER_NOT_GUARDIAN, path.to_owned());
    }
    if !items(p.resource, "address").iter().any(is_postal_address) {
        cx.push(&rules::PETITIONER_ADDRESS_REQUIRED, p.at("address"));
    }
}

fn related_person<'a>(cx: &mut Cx<'a>, doc: &Doc<'a>, rp: Entry<'a>) {
    if let Some(subject) = doc.subject {
        let path = rp.at("patient");
        match cx.follow(rp.resource.get("patient"), &path) {
            Follow::Found(p) if p.is(&subject) => {}
            Follow::Unresolved => {}
            _ => cx.push(&rules::PETITIONER_PATIENT, path),
        }
    }

    let mut codes = Vec::new();
    for (i, rel) in items(rp.resource, "relationship").iter().enumerate() {
        for (k, coding) in items(rel, "coding").iter().enumerate() {
            if text(coding, "system") != Some(ROLE_CODE) {
                continue;
            }
            let Some(code) = text(coding, "code") else {
                continue;
            };
            if !KNOWN_RELATIONSHIPS.contains(&code) {
                cx.push(
                    &rules::PETITIONER_RELATIONSHIP_UNKNOWN,
                    rp.at(&format!("relationship[{i}].coding[{k}].code")),
                );
            }
            codes.push(code);
        }
    }
    if codes.is_empty() {
        cx.push(&rules::PETITIONER_RELATIONSHIP, rp.at("relationship"));
    } else if by_guardian(doc.act) && !codes.contains(&"GUARD") {
        cx.push(&rules::PETITIONER_NOT_GUARDIAN, rp.at("relationship"));
    }

    if !items(rp.resource, "name")
        .iter()
        .any(|n| text(n, "family").is_some())
    {
        cx.push(&rules::PETITIONER_NAME_REQUIRED, rp.at("name"));
    }
    if cx.check_cf_identifiers(rp).count == 0 {
        cx.push(&rules::PETITIONER_CF_REQUIRED, rp.at("identifier"));
    }
    if !items(rp.resource, "address").iter().any(is_postal_address) {
        cx.push(&rules::PETITIONER_ADDRESS_REQUIRED, rp.at("address"));
    }
}
