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
