//! The AdS-accounts profile: the rendiconto that an amministratore di
//! sostegno files in an existing case. No clinical content; the accounts
//! themselves are a PDF.

use super::capacity::{petitioners, residence};
use super::common::{Cx, Entry, Follow, items};
use super::documents::require_certificate;
use super::rules;
use super::{ADS_ACCOUNTS_CODE, DOCUMENT_TYPE_SYSTEM, Doc, Outcome};

pub(super) fn check<'a>(cx: &mut Cx<'a>, doc: &Doc<'a>) -> Outcome {
    require_certificate(cx, DOCUMENT_TYPE_SYSTEM, ADS_ACCOUNTS_CODE);
    petitioners(cx, doc);
    // The competent court is required for this act, so the residence only
    // gives the comune, when the sender has it.
    let (comune_istat, comune_name) = residence(cx, doc, false);
    Outcome {
        comune_istat,
        comune_name,
        tso_deadline: None,
    }
}

/// Who drew up the accounts: the amministratore (RelatedPerson), a social
/// worker or other professional (PractitionerRole, Practitioner) or the body
/// the amministratore works for (Organization). At least one; the
/// Practitioners are checked as elsewhere.
pub(super) fn author<'a>(cx: &mut Cx<'a>, comp: Entry<'a>) {
    let mut found = false;
    for (i, a) in items(comp.resource, "author").iter().enumerate() {
        let Follow::Found(e) = cx.follow(Some(a), &comp.at(&format!("author[{i}]"))) else {
            continue;
        };
        match e.rtype() {
            "PractitionerRole" | "Practitioner" => {
                cx.practitioner(e);
                found = true;
            }
            "RelatedPerson" | "Organization" => found = true,
            _ => {}
        }
    }
    if !found {
        cx.push(&rules::ACCOUNTS_AUTHOR_REQUIRED, comp.at("author"));
    }
}
