//! `parse` and `bundle::check` from the outside: one small inline Bundle per
//! rule, a realistic capacity report, and a sweep of the official R4
//! examples (no panic, every refusal a 400/413/415/422 Rejection).

use ponte_fhir::parse::{self, Limits, Parsed, UnknownElements};
use ponte_fhir::{Format, Issue, Rejection, Severity, bundle};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Helpers

fn parse_value(value: &Value) -> Result<Parsed, Rejection> {
    parse_bytes(&serde_json::to_vec(value).expect("serialises"))
}

fn parse_bytes(body: &[u8]) -> Result<Parsed, Rejection> {
    parse::parse(body, Format::Json, &Limits::default())
}

fn refused(value: &Value) -> Rejection {
    parse_value(value).expect_err("refused")
}

fn refused_bytes(body: &[u8]) -> Rejection {
    parse_bytes(body).expect_err("refused")
}

/// (rule, expression) of each issue.
fn rules(issues: &[Issue]) -> Vec<(&'static str, String)> {
    issues
        .iter()
        .map(|i| (i.rule, i.expression.clone().unwrap_or_default()))
        .collect()
}

fn errors(parsed: &Parsed) -> Vec<(&'static str, String)> {
    let issues: Vec<Issue> = bundle::check(parsed)
        .into_iter()
        .filter(Issue::is_error)
        .collect();
    rules(&issues)
}

fn assert_bilingual(issues: &[Issue]) {
    for issue in issues {
        assert!(!issue.en.is_empty() && !issue.it.is_empty(), "{issue:?}");
        assert_ne!(issue.en, issue.it, "{issue:?}");
    }
}

const PATIENT: &str = "urn:uuid:6a0c1c52-6a3f-4a0e-9d0e-2d7c1f0b9a01";
const AUTHOR: &str = "urn:uuid:6a0c1c52-6a3f-4a0e-9d0e-2d7c1f0b9a02";
const ORG: &str = "urn:uuid:6a0c1c52-6a3f-4a0e-9d0e-2d7c1f0b9a03";
const FINDING: &str = "urn:uuid:6a0c1c52-6a3f-4a0e-9d0e-2d7c1f0b9a04";
const CERT: &str = "urn:uuid:6a0c1c52-6a3f-4a0e-9d0e-2d7c1f0b9a05";

/// A capacity report as a health authority would send it: every element
/// here is valid R4 and must not be reported as unknown.
fn report() -> Value {
    json!({
        "resourceType": "Bundle",
        "id": "cr-1",
        "meta": { "security": [
            { "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "COGN" },
            { "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R" }
        ]},
        "identifier": { "system": "urn:ietf:rfc:3986", "value": "urn:uuid:0d2f5a80-1111-4c1e-8a9e-000000000001" },
        "type": "document",
        "timestamp": "2025-03-01T10:00:00+01:00",
        "entry": [
            { "fullUrl": "urn:uuid:6a0c1c52-6a3f-4a0e-9d0e-2d7c1f0b9a00", "resource": {
                "resourceType": "Composition",
                "text": { "status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Relazione</div>" },
                "status": "final",
                "type": { "coding": [{ "system": "http://loinc.org", "code": "72267-8" }] },
                "subject": { "reference": PATIENT },
                "date": "2025-03-01T09:30:00+01:00",
                "author": [{ "reference": AUTHOR }],
                "title": "Relazione sulla capacità",
                "custodian": { "reference": ORG },
                "attester": [{ "mode": "legal", "time": "2025-03-01T09:45:00+01:00", "party": { "reference": AUTHOR } }],
                "section": [{
                    "title": "Stato mentale",
                    "code": { "coding": [{ "system": "http://loinc.org", "code": "10190-7" }] },
                    "entry": [{ "reference": FINDING }]
                }]
            }},
            { "fullUrl": PATIENT, "resource": {
                "resourceType": "Patient",
                "extension": [{
                    "url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
                    "valueAddress": { "city": "Roma", "country": "IT" }
                }],
                "identifier": [{ "system": "urn:oid:2.16.840.1.113883.2.9.4.3.2", "value": "RSSMRA85T10A562S" }],
                "name": [{ "family": "Rossi", "given": ["Mario"], "_given": [{ "id": "g1" }] }],
                "gender": "male",
                "birthDate": "1985-12-10"
            }},
            { "fullUrl": AUTHOR, "resource": {
                "resourceType": "PractitionerRole",
                "contained": [{ "resourceType": "Practitioner", "id": "p1",
                    "name": [{ "family": "Bianchi" }] }],
                "practitioner": { "reference": "#p1" },
                "organization": { "reference": ORG }
            }},
            { "fullUrl": ORG, "resource": {
                "resourceType": "Organization", "id": "asl",
                "identifier": [{ "system": "http://hl7.org/sid/fls", "value": "120201" }],
                "name": "ASL Roma 1"
            }},
            { "fullUrl": FINDING, "resource": {
                "resourceType": "Observation",
                "status": "final",
                "code": { "coding": [{ "system": "http://loinc.org", "code": "8693-4" }] },
                "subject": { "reference": "Patient/p-1" },
                "performer": [{ "reference": "Organization/asl" }],
                "valueString": "impossibilità, anche parziale o temporanea, di provvedere ai propri interessi",
                "component": [{
                    "code": { "coding": [{ "system": "http://loinc.org", "code": "72107-6" }] },
                    "valueQuantity": { "value": 18.50, "unit": "{score}" }
                }]
            }},
            { "fullUrl": "https://asl.example/fhir/Patient/p-1", "resource": {
                "resourceType": "Patient", "id": "p-1", "active": true
            }},
            { "fullUrl": CERT, "resource": {
                "resourceType": "DocumentReference",
                "status": "current",
                "subject": { "reference": PATIENT },
                "content": [{ "attachment": { "contentType": "application/pdf", "data": "JVBERi0xLjQK" } }],
                "context": { "related": [{ "reference": "urn:uuid:6a0c1c52-6a3f-4a0e-9d0e-2d7c1f0b9a00" }] }
            }}
        ]
    })
}

fn collection(resources: &[Value]) -> Value {
    let entries: Vec<Value> = resources
        .iter()
        .enumerate()
        .map(|(i, r)| json!({ "fullUrl": format!("urn:uuid:00000000-0000-0000-0000-{i:012}"), "resource": r }))
        .collect();
    json!({ "resourceType": "Bundle", "type": "collection", "entry": entries })
}

// ---------------------------------------------------------------------------
// parse

#[test]
fn realistic_report_is_accepted_without_issues() {
    let parsed = parse_value(&report()).expect("accepted");
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert_eq!(bundle::check(&parsed), Vec::new());
    assert_eq!(parsed.bundle.entry.len(), 7);
    // The original JSON is kept as sent.
    assert_eq!(parsed.json, report());
}

#[test]
fn xml_follows_the_same_path_as_json() {
    let xml = ponte_fhir::xml::json_to_xml(&report()).expect("writes XML");
    let parsed = parse::parse(xml.as_bytes(), Format::Xml, &Limits::default()).expect("accepted");
    assert_eq!(parsed.bundle.entry.len(), 7);
    assert_eq!(bundle::check(&parsed), Vec::new());
    // Hostile XML is refused before any XML parser runs.
    let r = parse::parse(
        b"<?xml version=\"1.0\"?><!DOCTYPE Bundle [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><Bundle xmlns=\"http://hl7.org/fhir\"/>",
        Format::Xml,
        &Limits::default(),
    )
    .expect_err("refused");
    assert_eq!(r.status, 400);
    assert_eq!(r.issues[0].rule, "xml_doctype");
}

#[test]
fn invalid_utf8() {
    let r = refused_bytes(b"{\"resourceType\":\"Bundle\",\"id\":\"\xC3\x28\"}");
    assert_eq!(r.status, 400);
    assert_eq!(r.issues[0].rule, "invalid_utf8");
}

#[test]
fn json_syntax_and_truncation() {
    let r = refused_bytes(b"{\"resourceType\":\"Bundle\",\n \"type\" \"document\"}");
    assert_eq!((r.status, r.issues[0].rule), (400, "json_syntax"));
    assert!(r.issues[0].en.contains("line 2"), "{}", r.issues[0].en);
    assert!(r.issues[0].it.contains("riga 2"), "{}", r.issues[0].it);

    let text = serde_json::to_string(&report()).expect("serialises");
    let r = refused_bytes(&text.as_bytes()[..text.len() / 2]);
    assert_eq!((r.status, r.issues[0].rule), (400, "json_syntax"));
    assert!(
        r.issues[0].en.starts_with("truncated JSON"),
        "{}",
        r.issues[0].en
    );

    for body in [&b""[..], b"   ", b"{} {}", b"{\"a\":1,}", b"nul"] {
        assert_eq!(
            refused_bytes(body).issues[0].rule,
            "json_syntax",
            "{body:?}"
        );
    }
}

#[test]
fn duplicate_keys() {
    let r = refused_bytes(
        br#"{"resourceType":"Bundle","type":"document","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","gender":"male","gender":"female"}}]}"#,
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        rules(&r.issues),
        [(
            "json_duplicate_key",
            "Bundle.entry[0].resource.gender".to_owned()
        )]
    );
}

#[test]
fn hostile_nesting_is_too_deep_not_a_crash() {
    for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
        let text = format!("{}1{}", open.repeat(100_000), close.repeat(100_000));
        let r = refused_bytes(text.as_bytes());
        assert_eq!((r.status, r.issues[0].rule), (400, "too_deep"));
        assert_eq!(r.issues[0].code, "too-costly");
    }
    // Unclosed, too.
    let r = refused_bytes("[".repeat(100_000).as_bytes());
    assert_eq!(r.issues[0].rule, "too_deep");
}

#[test]
fn top_level_must_be_a_bundle() {
    for (body, says) in [
        (json!([1, 2]), "not a JSON object"),
        (json!({ "resourceType": "Patient" }), "got a Patient"),
        (json!({ "type": "document" }), "resourceType is missing"),
        (json!({ "resourceType": 7 }), "not a resource type name"),
    ] {
        let r = refused(&body);
        assert_eq!(r.status, 422, "{body}");
        assert_eq!(rules(&r.issues), [("not_a_bundle", "Bundle".to_owned())]);
        assert_eq!(r.issues[0].code, "structure");
        assert!(r.issues[0].en.contains(says), "{}", r.issues[0].en);
    }
}

#[test]
fn resource_types_r4b_cannot_read() {
    let r = refused(&collection(&[
        json!({ "resourceType": "Patient" }),
        json!({ "resourceType": "MedicinalProduct" }),
    ]));
    assert_eq!(r.status, 422);
    assert_eq!(
        rules(&r.issues),
        [(
            "unsupported_resource_type",
            "Bundle.entry[1].resource.resourceType".to_owned()
        )]
    );
    let r = refused(&collection(&[json!({ "resourceType": "Pazienteee" })]));
    assert_eq!((r.status, r.issues[0].rule), (400, "fhir_structure"));
}

#[test]
fn attachment_too_large() {
    let limits = Limits {
        max_attachment_bytes: 8,
        ..Limits::default()
    };
    let body = serde_json::to_vec(&report()).expect("serialises");
    // "JVBERi0xLjQK" is 9 bytes decoded.
    let r = parse::parse(&body, Format::Json, &limits).expect_err("refused");
    assert_eq!(r.status, 422);
    assert_eq!(r.issues[0].code, "too-long");
    assert_eq!(
        rules(&r.issues),
        [(
            "attachment_too_large",
            "Bundle.entry[6].resource.content[0].attachment.data".to_owned()
        )]
    );
    let limits = Limits {
        max_attachment_bytes: 9,
        ..Limits::default()
    };
    assert!(parse::parse(&body, Format::Json, &limits).is_ok());
}

#[test]
fn typed_structure_errors_name_the_element_not_the_value() {
    let mut bad = report();
    bad["entry"][1]["resource"]["gender"] = json!("Mario Rossi");
    bad["entry"][4]["resource"]["status"] = json!(7);
    let r = refused(&bad);
    assert_eq!(r.status, 400);
    assert_eq!(
        rules(&r.issues),
        [
            (
                "fhir_structure",
                "Bundle.entry[1].resource.gender".to_owned()
            ),
            (
                "fhir_structure",
                "Bundle.entry[4].resource.status".to_owned()
            ),
        ]
    );
    assert_bilingual(&r.issues);
    for issue in &r.issues {
        assert!(
            !issue.en.contains("Mario") && !issue.it.contains("Mario"),
            "{issue:?}"
        );
    }

    let mut bad = report();
    bad["entry"][4]["resource"]
        .as_object_mut()
        .expect("object")
        .remove("status");
    let r = refused(&bad);
    assert_eq!(r.issues[0].en, "required element status is missing");
    assert_eq!(
        r.issues[0].expression.as_deref(),
        Some("Bundle.entry[4].resource")
    );

    let mut bad = report();
    bad["timestamp"] = json!("yesterday");
    let r = refused(&bad);
    assert_eq!(
        rules(&r.issues),
        [("fhir_structure", "Bundle.timestamp".to_owned())]
    );
}

#[test]
fn unknown_elements_refused_or_warned() {
    let mut odd = report();
    odd["entry"][1]["resource"]["foo"] = json!(1);
    odd["entry"][2]["resource"]["contained"][0]["name"][0]["nickname"] = json!("x");
    odd["entry"][3]["bar"] = json!({ "baz": true });
    odd["meta"]["qux"] = json!("y");
    let expected = vec![
        ("unknown_element", "Bundle.entry[1].resource.foo".to_owned()),
        (
            "unknown_element",
            "Bundle.entry[2].resource.contained[0].name[0].nickname".to_owned(),
        ),
        ("unknown_element", "Bundle.entry[3].bar".to_owned()),
        ("unknown_element", "Bundle.meta.qux".to_owned()),
    ];
    let r = refused(&odd);
    assert_eq!(r.status, 400);
    let mut found = rules(&r.issues);
    found.sort();
    let mut sorted = expected.clone();
    sorted.sort();
    assert_eq!(found, sorted);
    assert_bilingual(&r.issues);

    let limits = Limits {
        unknown_elements: UnknownElements::Warn,
        ..Limits::default()
    };
    let body = serde_json::to_vec(&odd).expect("serialises");
    let parsed = parse::parse(&body, Format::Json, &limits).expect("accepted");
    assert_eq!(parsed.warnings.len(), 4);
    assert!(
        parsed
            .warnings
            .iter()
            .all(|w| w.severity == Severity::Warning)
    );
    // The original still holds them.
    assert_eq!(parsed.json["entry"][1]["resource"]["foo"], 1);
}

#[test]
fn unreadable_choice_values_are_refused_even_when_warning() {
    let mut bad = report();
    bad["entry"][4]["resource"]["effectiveDateTime"] = json!("2025-03-01T10:00+01:00");
    bad["entry"][4]["resource"]["component"][0]["valueInteger"] = json!(12);
    let limits = Limits {
        unknown_elements: UnknownElements::Warn,
        ..Limits::default()
    };
    let body = serde_json::to_vec(&bad).expect("serialises");
    let r = parse::parse(&body, Format::Json, &limits).expect_err("refused");
    assert_eq!(r.status, 400);
    let mut found = rules(&r.issues);
    found.sort();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().all(|(rule, _)| *rule == "unreadable_element"));
    // Of two value[x], the model keeps one: the other is reported.
    assert!(
        found[0]
            .1
            .starts_with("Bundle.entry[4].resource.component[0].value")
    );
    assert_eq!(found[1].1, "Bundle.entry[4].resource.effectiveDateTime");
    assert_bilingual(&r.issues);
}

#[path = "parse/bundle_rules.rs"]
mod bundle_rules;
#[path = "parse/examples.rs"]
mod examples;
