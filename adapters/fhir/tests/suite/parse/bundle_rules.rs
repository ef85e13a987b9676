//! `bundle::check`: one inline Bundle per rule, built from the realistic
//! capacity report of the parent module.

use ponte_fhir::bundle;
use serde_json::{Value, json};

use super::{PATIENT, assert_bilingual, errors, parse_value, report};

fn checked(value: &Value) -> Vec<(&'static str, String)> {
    errors(&parse_value(value).expect("parses"))
}

#[test]
fn bundle_type_must_be_document_or_message() {
    let mut b = report();
    b["type"] = json!("collection");
    assert_eq!(checked(&b), [("bundle_type", "Bundle.type".to_owned())]);
    let issues = bundle::check(&parse_value(&b).expect("parses"));
    assert_eq!(issues[0].code, "value");
    assert_bilingual(&issues);
}

#[test]
fn bdl_7_full_url_unique_unless_version_differs() {
    let mut b = report();
    b["entry"][5]["fullUrl"] = json!(PATIENT);
    assert_eq!(
        checked(&b),
        [("bdl-7", "Bundle.entry[5].fullUrl".to_owned())]
    );
    let issues = bundle::check(&parse_value(&b).expect("parses"));
    assert_eq!(issues[0].code, "duplicate");

    b["entry"][1]["resource"]["meta"] = json!({ "versionId": "1" });
    b["entry"][5]["resource"]["meta"] = json!({ "versionId": "2" });
    assert_eq!(checked(&b), []);
}

#[test]
fn bdl_8_full_url_not_version_specific() {
    let mut b = report();
    b["entry"][5]["fullUrl"] = json!("https://asl.example/fhir/Patient/p-1/_history/2");
    assert_eq!(
        checked(&b),
        [("bdl-8", "Bundle.entry[5].fullUrl".to_owned())]
    );
}

#[test]
fn document_rules_bdl_9_10_11() {
    let mut b = report();
    b["identifier"] = json!({ "value": "x" });
    b.as_object_mut().expect("object").remove("timestamp");
    let first = b["entry"][0].clone();
    let entries = b["entry"].as_array_mut().expect("array");
    entries.remove(0);
    entries.push(first);
    assert_eq!(
        checked(&b),
        [
            ("bdl-9", "Bundle.identifier".to_owned()),
            ("bdl-10", "Bundle.timestamp".to_owned()),
            ("bdl-11", "Bundle.entry[0].resource".to_owned()),
        ]
    );
    let b = json!({ "resourceType": "Bundle", "type": "document", "timestamp": "2025-03-01T10:00:00Z",
        "identifier": { "system": "urn:ietf:rfc:3986", "value": "urn:uuid:1" } });
    assert_eq!(checked(&b), [("bdl-11", "Bundle.entry".to_owned())]);
}

#[test]
fn message_rule_bdl_12() {
    let header = json!({ "resourceType": "MessageHeader",
        "eventCoding": { "system": "urn:ponte", "code": "tso" },
        "source": { "endpoint": "https://asl.example" },
        "focus": [{ "reference": PATIENT }] });
    let patient = json!({ "resourceType": "Patient" });
    let message = |entries: Vec<Value>| json!({ "resourceType": "Bundle", "type": "message", "entry": entries });
    let ok = message(vec![
        json!({ "fullUrl": "urn:uuid:aa", "resource": header }),
        json!({ "fullUrl": PATIENT, "resource": patient }),
    ]);
    assert_eq!(checked(&ok), []);
    let bad = message(vec![
        json!({ "fullUrl": PATIENT, "resource": patient }),
        json!({ "fullUrl": "urn:uuid:aa", "resource": header }),
    ]);
    assert_eq!(
        checked(&bad),
        [("bdl-12", "Bundle.entry[0].resource".to_owned())]
    );
}

#[test]
fn entries_need_full_url_and_resource() {
    let mut b = report();
    b["entry"][3]
        .as_object_mut()
        .expect("object")
        .remove("fullUrl");
    b["entry"]
        .as_array_mut()
        .expect("array")
        .push(json!({ "fullUrl": "urn:uuid:empty" }));
    let found = checked(&b);
    assert!(
        found.contains(&("entry_full_url", "Bundle.entry[3]".to_owned())),
        "{found:?}"
    );
    assert!(
        found.contains(&("entry_resource", "Bundle.entry[7]".to_owned())),
        "{found:?}"
    );
    // The organisation is still reachable as Organization/asl, not by fullUrl.
    assert!(found.contains(&(
        "dangling_reference",
        "Bundle.entry[0].resource.custodian".to_owned()
    )));

    let mut b = report();
    b["entry"][3]["fullUrl"] = json!("Organization/asl");
    let issues = bundle::check(&parse_value(&b).expect("parses"));
    let warnings: Vec<_> = issues
        .iter()
        .filter(|i| !i.is_error())
        .map(|i| i.rule)
        .collect();
    assert_eq!(warnings, ["entry_full_url"]);
}

#[test]
fn references_resolve_inside_the_bundle() {
    let mut b = report();
    // Absolute: urn:uuid, http(s), version-specific.
    b["entry"][0]["resource"]["subject"] =
        json!({ "reference": "urn:uuid:6a0c1c52-0000-0000-0000-000000000000" });
    b["entry"][0]["resource"]["section"][0]["entry"][0] =
        json!({ "reference": "https://asl.example/fhir/Patient/p-1/_history/3" });
    b["entry"][0]["resource"]["attester"][0]["party"] =
        json!({ "reference": "https://other.example/fhir/Practitioner/1" });
    // Relative: by type and id, by fullUrl suffix, and unknown.
    b["entry"][4]["resource"]["subject"] = json!({ "reference": "Patient/p-1/_history/1" });
    b["entry"][4]["resource"]["performer"] =
        json!([{ "reference": "Organization/asl" }, { "reference": "Organization/nope" }]);
    // Local: to a contained resource, to the container, to nothing.
    b["entry"][2]["resource"]["contained"][0]["extension"] =
        json!([{ "url": "http://x", "valueReference": { "reference": "#" } }]);
    b["entry"][2]["resource"]["location"] = json!([{ "reference": "#nope" }]);
    // Logical references (identifier only) need no resolving.
    b["entry"][2]["resource"]["healthcareService"] = json!([{ "identifier": { "value": "1" } }]);
    let found = checked(&b);
    assert_eq!(
        found,
        [
            (
                "dangling_reference",
                "Bundle.entry[0].resource.attester[0].party".to_owned()
            ),
            (
                "dangling_reference",
                "Bundle.entry[0].resource.subject".to_owned()
            ),
            (
                "dangling_reference",
                "Bundle.entry[2].resource.location[0]".to_owned()
            ),
            (
                "dangling_reference",
                "Bundle.entry[4].resource.performer[1]".to_owned()
            ),
        ]
    );
    let issues = bundle::check(&parse_value(&b).expect("parses"));
    assert!(issues.iter().all(|i| i.code == "not-found"));
    assert_bilingual(&issues);
}
