//! The TSO-proposal profile: proposing and validating physicians, the
//! mayor's order and the times that start the judge's 48 hours.

use serde_json::Value;
use time::Duration;
use time::format_description::well_known::Rfc3339;

use super::common::{Comune, Cx, Entry, Follow, When, items, text};
use super::documents::{
    check_document_pdfs, documents_of_type, require_certificate, require_diagnosis,
};
use super::rules;
use super::{DOCUMENT_TYPE_SYSTEM, Doc, Outcome, TSO_MAYOR_ORDER_CODE, TSO_PROPOSAL_CODE};

/// The judge must decide within 48 hours of the mayor's order.
const JUDGE_HOURS: i64 = 48;

pub(super) fn check<'a>(cx: &mut Cx<'a>, doc: &Doc<'a>) -> Outcome {
    require_diagnosis(cx, doc);
    require_certificate(cx, DOCUMENT_TYPE_SYSTEM, TSO_PROPOSAL_CODE);
    let validation = validation(cx, doc);
    let order = mayor_order(cx);
    let deadline = order
        .as_ref()
        .and_then(|o| times(cx, doc, validation.as_ref(), o));
    let (comune_istat, comune_name) = order
        .map(|o| (o.comune.istat, o.comune.name))
        .unwrap_or_default();
    Outcome {
        comune_istat,
        comune_name,
        tso_deadline: deadline,
    }
}

/// The medical convalida: the first `Composition.attester` with mode `legal`
/// whose party is a PractitionerRole or Practitioner.
struct Validation {
    time: Option<When>,
    time_path: String,
}

fn validation<'a>(cx: &mut Cx<'a>, doc: &Doc<'a>) -> Option<Validation> {
    let comp = doc.composition;
    let mut chosen = None;
    for (i, att) in items(comp.resource, "attester").iter().enumerate() {
        if text(att, "mode") != Some("legal") {
            continue;
        }
        let path = comp.at(&format!("attester[{i}].party"));
        if let Follow::Found(e) = cx.follow(att.get("party"), &path)
            && matches!(e.rtype(), "PractitionerRole" | "Practitioner")
        {
            chosen = Some((i, att, e, path));
            break;
        }
    }
    let Some((i, att, party, party_path)) = chosen else {
        cx.push(&rules::TSO_VALIDATOR_REQUIRED, comp.at("attester"));
        return None;
    };
    let validator = cx.practitioner(party);
    if let Some(author) = doc.author {
        let proposer = person_of(cx, author);
        let same = party.is(&author)
            || match (validator, proposer) {
                (Some(v), Some(p)) => {
                    v.is(&p) || matches!((cf_of(v), cf_of(p)), (Some(a), Some(b)) if a == b)
                }
                _ => false,
            };
        if same {
            cx.push(&rules::TSO_SAME_PHYSICIAN, party_path);
        }
    }
    let time_path = comp.at(&format!("attester[{i}].time"));
    let time = text(att, "time").and_then(When::parse);
    if time.is_none() {
        cx.push(&rules::TSO_VALIDATION_TIME_REQUIRED, time_path.clone());
    }
    Some(Validation { time, time_path })
}

/// The Practitioner behind a PractitionerRole or Practitioner, without reporting.
fn person_of<'a>(cx: &Cx<'a>, who: Entry<'a>) -> Option<Entry<'a>> {
    match who.rtype() {
        "Practitioner" => Some(who),
        "PractitionerRole" => who
            .resource
            .get("practitioner")
            .and_then(|r| text(r, "reference"))
            .and_then(|r| cx.resolve(r)),
        _ => None,
    }
}

/// The first codice fiscale of a person, upper case, unchecked.
fn cf_of(person: Entry<'_>) -> Option<String> {
    items(person.resource, "identifier")
        .iter()
        .filter(|i| text(i, "system").is_some_and(super::common::is_any_cf_system))
        .find_map(|i| text(i, "value"))
        .map(str::to_ascii_uppercase)
}

/// The mayor's order.
struct Order {
    when: Option<When>,
    date_path: String,
    comune: Comune,
}

fn mayor_order<'a>(cx: &mut Cx<'a>) -> Option<Order> {
    let orders = documents_of_type(cx, DOCUMENT_TYPE_SYSTEM, TSO_MAYOR_ORDER_CODE);
    let Some(order) = orders.first().copied() else {
        cx.push(&rules::TSO_ORDER_REQUIRED, "Bundle.entry");
        return None;
    };
    for o in &orders {
        check_document_pdfs(cx, *o);
    }

    let date_path = order.at("date");
    let when = match text(order.resource, "date") {
        None => {
            cx.push(&rules::TSO_ORDER_TIME_REQUIRED, date_path.clone());
            None
        }
        Some(s) => match When::parse(s) {
            Some(w @ When::Instant(_)) => Some(w),
            _ => {
                cx.push(&rules::TSO_ORDER_TIME_PRECISION, date_path.clone());
                None
            }
        },
    };

    let has_protocol = items(order.resource, "identifier")
        .iter()
        .any(|i| text(i, "value").is_some());
    if !has_protocol {
        cx.push(&rules::TSO_ORDER_PROTOCOL_REQUIRED, order.at("identifier"));
    }

    let comune = order_comune(cx, order);
    Some(Order {
        when,
        date_path,
        comune,
    })
}

/// The Comune that issued the order: the first Organization author, its
/// first address with a city.
fn order_comune<'a>(cx: &mut Cx<'a>, order: Entry<'a>) -> Comune {
    let none = Comune {
        name: None,
        istat: None,
    };
    let mut org = None;
    for (i, a) in items(order.resource, "author").iter().enumerate() {
        if let Follow::Found(e) = cx.follow(Some(a), &order.at(&format!("author[{i}]")))
            && e.rtype() == "Organization"
        {
            org = Some(e);
            break;
        }
    }
    let Some(org) = org else {
        cx.push(&rules::TSO_ORDER_COMUNE_REQUIRED, order.at("author"));
        return none;
    };
    let address: Option<(usize, &Value)> = items(org.resource, "address")
        .iter()
        .enumerate()
        .find(|(_, a)| text(a, "city").is_some());
    match address {
        Some((i, a)) => cx.comune(a, &org.at(&format!("address[{i}]"))),
        None => {
            cx.push(&rules::TSO_ORDER_COMUNE_REQUIRED, org.at("address"));
            none
        }
    }
}

/// Proposal ≤ validation ≤ order ≤ Bundle.timestamp; returns the judge's
/// deadline (order + 48 h).
fn times(
    cx: &mut Cx<'_>,
    doc: &Doc<'_>,
    validation: Option<&Validation>,
    order: &Order,
) -> Option<String> {
    let proposal = text(doc.composition.resource, "date").and_then(When::parse);
    let validated = validation.and_then(|v| v.time);
    if let (Some(p), Some(v), Some(val)) = (proposal, validated, validation)
        && v.before(&p)
    {
        cx.push(&rules::TSO_CHRONOLOGY, val.time_path.clone());
    }
    if let Some(o) = order.when {
        let earlier = validated.or(proposal);
        if earlier.is_some_and(|e| o.before(&e)) {
            cx.push(&rules::TSO_CHRONOLOGY, order.date_path.clone());
        }
    }
    let When::Instant(ordered) = order.when? else {
        return None;
    };
    let deadline = ordered.checked_add(Duration::hours(JUDGE_HOURS))?;
    if let Some(When::Instant(ts)) = text(cx.bundle, "timestamp").and_then(When::parse) {
        if ts < ordered {
            cx.push(&rules::TSO_ORDER_AFTER_SUBMISSION, order.date_path.clone());
        } else if ts > deadline {
            cx.push(&rules::TSO_DEADLINE_PASSED, order.date_path.clone());
        }
    }
    deadline.format(&Rfc3339).ok()
}
