use serde_json::json;

use super::*;

fn parse_str(s: &str) -> Result<Parsed, Rejection> {
    parse(s.as_bytes(), Format::Json, &Limits::default())
}

fn rejection(s: &str) -> Rejection {
    parse_str(s).expect_err("refused")
}

#[test]
fn paths_read_as_fhirpath() {
    let path = [
        Segment::Key("entry".into()),
        Segment::Index(1),
        Segment::Key("resource".into()),
        Segment::Key("_birthDate".into()),
        Segment::Key("extension".into()),
        Segment::Index(0),
    ];
    assert_eq!(
        fhir_path(&path),
        "Bundle.entry[1].resource.birthDate.extension[0]"
    );
    assert_eq!(fhir_path(&[]), "Bundle");
    assert_eq!(fhir_path(&[Segment::Key("a b`c".into())]), "Bundle.`a b?c`");
    assert_eq!(fhir_path(&[Segment::Key("_".into())]), "Bundle._");
    let long = "x".repeat(100);
    assert_eq!(
        fhir_path(&[Segment::Key(long)]),
        format!("Bundle.`{}`", "x".repeat(32))
    );
}

#[test]
fn base64_decoded_length() {
    assert_eq!(decoded_len(""), 0);
    assert_eq!(decoded_len("YQ=="), 1);
    assert_eq!(decoded_len("YWI="), 2);
    assert_eq!(decoded_len("YWJj"), 3);
    assert_eq!(decoded_len("YWJj\nZGVm"), 6);
}

#[test]
fn messages_never_repeat_values() {
    for message in [
        "Unknown value: Mario Rossi",
        "unknown variant `RSSMRA85T10A562S`, expected one of `a`, `b`",
        "invalid type: string \"RSSMRA85T10A562S\", expected u32",
        "invalid value: string \"RSSMRA85T10A562S\", expected a date",
        "Couldn't parse date: RSSMRA85T10A562S",
        "Invalid symbol 36, offset 5.",
        "something else entirely RSSMRA85T10A562S",
    ] {
        let (en, it) = typed::describe(message);
        assert!(!en.contains("RSSMRA") && !en.contains("Mario"), "{en}");
        assert!(!it.contains("RSSMRA") && !it.contains("Mario"), "{it}");
    }
    let (en, _) = typed::describe("missing field `status`");
    assert_eq!(en, "required element status is missing");
    let (en, _) = typed::describe("invalid type: string \"x\", expected u32");
    assert_eq!(en, "wrong type: string found, expected u32");
}

#[test]
fn depth_limit_counts_containers() {
    let limits = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    // Bundle (1) → entry array (2) → entry object (3): accepted.
    let ok = r#"{"resourceType":"Bundle","type":"collection","entry":[{}]}"#;
    assert!(parse(ok.as_bytes(), Format::Json, &limits).is_ok());
    let deep = r#"{"resourceType":"Bundle","type":"collection","entry":[{"resource":{}}]}"#;
    let r = parse(deep.as_bytes(), Format::Json, &limits).expect_err("depth 4");
    assert_eq!(r.issues[0].rule, "too_deep");
    assert_eq!(
        r.issues[0].expression.as_deref(),
        Some("Bundle.entry[0].resource")
    );
}

#[test]
fn depth_beyond_serde_json_limit_is_too_deep() {
    let limits = Limits {
        max_depth: 1000,
        ..Limits::default()
    };
    let text = format!("{}{}", "[".repeat(500), "]".repeat(500));
    let r = parse(text.as_bytes(), Format::Json, &limits).expect_err("too deep");
    assert_eq!(r.status, 400);
    assert_eq!(r.issues[0].rule, "too_deep");
}

#[test]
fn duplicate_key_path() {
    let r = rejection(
        r#"{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"a","id":"b"}}]}"#,
    );
    assert_eq!(r.issues[0].rule, "json_duplicate_key");
    assert_eq!(
        r.issues[0].expression.as_deref(),
        Some("Bundle.entry[0].resource.id")
    );
    assert!(r.issues[0].en.contains("line 1"), "{}", r.issues[0].en);
}

#[test]
fn byte_order_mark_is_skipped() {
    let body = b"\xEF\xBB\xBF{\"resourceType\":\"Bundle\",\"type\":\"collection\"}";
    assert!(parse(body, Format::Json, &Limits::default()).is_ok());
}

#[test]
fn numbers_and_empty_values() {
    let parsed = parse_str(
        r#"{"resourceType":"Bundle","type":"collection","entry":[{"resource":{
            "resourceType":"Observation","status":"final","code":{"text":"x"},
            "valueQuantity":{"value":1.50},"note":[],"subject":null}}]}"#,
    )
    .expect("accepted");
    // The original keeps the decimal as sent.
    assert_eq!(
        parsed.json["entry"][0]["resource"]["valueQuantity"]["value"],
        json!(1.50)
    );
    let rules: Vec<_> = parsed.warnings.iter().map(|w| w.rule).collect();
    assert_eq!(rules, ["empty_element", "empty_element"]);
}

#[test]
fn primitive_extensions_are_known() {
    let parsed = parse_str(
        r#"{"resourceType":"Bundle","type":"collection","entry":[{"resource":{
            "resourceType":"Patient",
            "birthDate":"1985-12-10",
            "_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime","valueDateTime":"1985-12-10T10:00:00+01:00"}]},
            "name":[{"given":["Mario","Luigi"],"_given":[null,{"id":"g2"}]}]}}]}"#,
    )
    .expect("accepted");
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
}

#[test]
fn unknown_inside_primitive_extension() {
    let r = rejection(
        r#"{"resourceType":"Bundle","type":"collection","entry":[{"resource":{
            "resourceType":"Patient","birthDate":"1985-12-10","_birthDate":{"foo":1}}}]}"#,
    );
    assert_eq!(r.issues[0].rule, "unknown_element");
    assert_eq!(
        r.issues[0].expression.as_deref(),
        Some("Bundle.entry[0].resource.birthDate.foo")
    );
}

// ---------------------------------------------------------------------------
// The unknown-element comparison against the way it was done before (the
// typed Bundle serialised into a second `Value`, both trees walked).

/// Severity, rule, expression and English message of an issue.
type Summary = (crate::Severity, &'static str, Option<String>, String);

/// [`Summary`] of each issue, in order.
fn summary(issues: &[Issue]) -> Vec<Summary> {
    issues
        .iter()
        .map(|i| (i.severity, i.rule, i.expression.clone(), i.en.clone()))
        .collect()
}

/// Runs both comparisons on `json` if fhir-sdk reads it; whether it did.
fn agrees_with_reference(json: &Value, label: &str) -> bool {
    let Ok(bundle) = typed::bundle(json) else {
        return false;
    };
    let new = unknown::compare(json, &bundle);
    let old = unknown::reference::compare_by_value(json, &bundle);
    match (&new, &old) {
        (Ok(new), Ok(old)) => assert_eq!(summary(new), summary(old), "{label}"),
        (Err(new), Err(old)) => assert_eq!(new, old, "{label}"),
        _ => panic!("{label}: {new:?} against {old:?}"),
    }
    true
}

/// Inserts `key: value` into every object below the top level.
fn insert_everywhere(value: &mut Value, key: &str, added: &Value, depth: usize) {
    match value {
        Value::Object(object) => {
            for child in object.values_mut() {
                insert_everywhere(child, key, added, depth + 1);
            }
            if depth > 0 {
                object.insert(key.to_owned(), added.clone());
            }
        }
        Value::Array(items) => {
            for child in items {
                insert_everywhere(child, key, added, depth);
            }
        }
        _ => {}
    }
}

/// The ways a Bundle is altered to exercise the comparison: unknown keys
/// (sorting before and after the known ones), unknown primitive
/// extensions, unreadable and second choice values, empty values, an
/// object nested in an unknown element.
fn alterations() -> Vec<(&'static str, Value)> {
    vec![
        ("zzUnknown", json!(1)),
        ("aaUnknown", json!({ "x": [1, { "y": 2 }] })),
        ("_zzUnknown", json!({ "extension": [] })),
        ("valueDateTime", json!("2025-03-01T10:00+01:00")),
        ("effectiveString", json!("x")),
        ("valueInteger", json!("5")),
        ("mEmpty", json!({ "a": [null, {}], "b": "" })),
        ("nEmpty", Value::Null),
        ("fhir_comments", json!(["a comment"])),
    ]
}

fn valid_fixtures() -> Vec<(String, Value)> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/fhir/valid");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("fixtures") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read(&path).expect("readable");
            let value: Value = serde_json::from_slice(&text).expect("JSON");
            out.push((path.display().to_string(), value));
        }
    }
    assert!(!out.is_empty());
    out
}

#[test]
fn comparison_agrees_with_reference_on_fixtures() {
    for (name, original) in valid_fixtures() {
        assert!(agrees_with_reference(&original, &name), "{name} not read");
        for (key, added) in alterations() {
            let mut altered = original.clone();
            insert_everywhere(&mut altered, key, &added, 0);
            let label = format!("{name} + {key} everywhere");
            assert!(agrees_with_reference(&altered, &label), "{label} not read");
        }
        // All at once, too: many issues, in document order.
        let mut altered = original.clone();
        for (key, added) in alterations() {
            insert_everywhere(&mut altered, key, &added, 0);
        }
        agrees_with_reference(&altered, &format!("{name} + all"));
    }
}

/// The official R4 examples (if present beside the repository), each as is
/// and with every alteration: both comparisons must give the same issues,
/// in the same order.
#[test]
fn comparison_agrees_with_reference_on_official_examples() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fhir-examples/r4/json");
    let Ok(listing) = std::fs::read_dir(&dir) else {
        eprintln!("skipped: no examples at {}", dir.display());
        return;
    };
    let mut compared = 0;
    for entry in listing {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let name = path.display().to_string();
        let resource: Value =
            serde_json::from_slice(&std::fs::read(&path).expect("readable")).expect("JSON");
        let original = if resource["resourceType"] == "Bundle" {
            resource
        } else {
            json!({
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{ "fullUrl": "urn:uuid:00000000-0000-0000-0000-000000000000",
                            "resource": resource }],
            })
        };
        if !agrees_with_reference(&original, &name) {
            continue;
        }
        compared += 1;
        for (key, added) in alterations() {
            let mut altered = original.clone();
            insert_everywhere(&mut altered, key, &added, 0);
            agrees_with_reference(&altered, &format!("{name} + {key} everywhere"));
        }
    }
    assert!(compared > 600, "{compared}");
}

#[test]
fn unwritable_years_are_still_refused() {
    // fhir-sdk reads these years but cannot write them back: the comparison
    // must still write them, and refuse the Bundle as before.
    for date in ["0999", "+0999", "10000-01", "00000000000000000999"] {
        let text = format!(
            r#"{{"resourceType":"Bundle","type":"collection","entry":[{{"resource":{{
                "resourceType":"Patient","birthDate":"{date}"}}}}]}}"#
        );
        let json: Value = serde_json::from_str(&text).expect("JSON");
        assert!(agrees_with_reference(&json, date), "{date} not read");
        let r = rejection(&text);
        assert_eq!(r.status, 400, "{date}");
        assert_eq!(r.issues[0].rule, "fhir_structure", "{date}");
        assert_eq!(r.issues[0].expression.as_deref(), Some("Bundle"), "{date}");
    }
    // Years fhir-sdk writes back as read, or normalised, are accepted.
    for date in ["1985", "1985-12", "1985-12-10", "01985", "+1985"] {
        let text = format!(
            r#"{{"resourceType":"Bundle","type":"collection","entry":[{{"resource":{{
                "resourceType":"Patient","birthDate":"{date}"}}}}]}}"#
        );
        assert!(parse_str(&text).is_ok(), "{date}");
    }
}

#[test]
fn issues_follow_document_order() {
    // The model writes `name` before `_gender`, and an object's known keys
    // before the comparison sees its unknown ones; the issues come in the
    // order of the document (keys sorted here, so that the order is the
    // same whether serde_json keeps objects sorted or as written).
    let r = rejection(
        r#"{"resourceType":"Bundle","type":"collection","entry":[
            {"resource":{"_gender":{"q":1},"aa":{},"name":[{"a":2,"b":1,"family":"R"}],
                         "resourceType":"Patient","zz":1}},
            {"resource":{"resourceType":"Patient","id":"x","contained":[
                {"resourceType":"Organization","y":true}]}}]}"#,
    );
    let found: Vec<_> = r
        .issues
        .iter()
        .map(|i| (i.rule, i.expression.as_deref().unwrap_or_default()))
        .collect();
    assert_eq!(
        found,
        [
            ("unknown_element", "Bundle.entry[0].resource.gender.q"),
            ("unknown_element", "Bundle.entry[0].resource.name[0].a"),
            ("unknown_element", "Bundle.entry[0].resource.name[0].b"),
            ("unknown_element", "Bundle.entry[0].resource.zz"),
            ("unknown_element", "Bundle.entry[1].resource.contained[0].y"),
        ]
    );
    // The empty `aa` is a warning, not among the errors.
}

#[test]
fn fhir_comments_and_kept_as_something_else() {
    // `fhir_comments` (DSTU2 style) is no element of R4: unknown.
    let r = rejection(r#"{"resourceType":"Bundle","type":"collection","fhir_comments":["x"]}"#);
    assert_eq!(r.issues[0].rule, "unknown_element");
    assert_eq!(
        r.issues[0].expression.as_deref(),
        Some("Bundle.fhir_comments")
    );
}
