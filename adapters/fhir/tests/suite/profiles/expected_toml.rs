use super::*;

// --------------------------------------------------------------- expected.toml

/// One table of `invalid/expected.toml`.
#[derive(Debug, Default)]
pub(super) struct Expected {
    pub(super) status: u16,
    pub(super) code: String,
    pub(super) rule: String,
    pub(super) layer: String,
    pub(super) note: String,
    pub(super) generate: Option<String>,
    pub(super) base: Option<String>,
    pub(super) content_type: Option<String>,
    pub(super) xml_status: Option<u16>,
    pub(super) xml_code: Option<String>,
    pub(super) xml_rule: Option<String>,
}

/// Reads `expected.toml`: a sequence of `["file"]` tables holding `key = "string"`
/// or `key = integer` lines (all this file uses; ponte-fhir has no TOML dependency).
pub(super) fn expected() -> BTreeMap<String, Expected> {
    let text = std::fs::read_to_string(fixtures().join("invalid/expected.toml")).unwrap();
    let mut out = BTreeMap::new();
    let mut current: Option<(String, Expected)> = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(header) = line.strip_prefix("[\"").and_then(|l| l.strip_suffix("\"]")) {
            if let Some((k, v)) = current.take() {
                assert!(out.insert(k.clone(), v).is_none(), "{k} twice");
            }
            current = Some((header.to_owned(), Expected::default()));
            continue;
        }
        let (key, value) = line
            .split_once(" = ")
            .unwrap_or_else(|| panic!("expected.toml line {}: {line}", n + 1));
        let (_, e) = current.as_mut().expect("key before the first table");
        let string = || {
            let s = value.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
            let s = s.unwrap_or_else(|| panic!("line {}: not a string", n + 1));
            assert!(
                !s.contains(['"', '\\']),
                "line {}: escapes are not supported",
                n + 1
            );
            s.to_owned()
        };
        match key {
            "status" => e.status = value.parse().unwrap(),
            "code" => e.code = string(),
            "rule" => e.rule = string(),
            "layer" => e.layer = string(),
            "note" => e.note = string(),
            "generate" => e.generate = Some(string()),
            "base" => e.base = Some(string()),
            "content_type" => e.content_type = Some(string()),
            "xml_status" => e.xml_status = Some(value.parse().unwrap()),
            "xml_code" => e.xml_code = Some(string()),
            "xml_rule" => e.xml_rule = Some(string()),
            other => panic!("expected.toml line {}: unknown key {other}", n + 1),
        }
    }
    if let Some((k, v)) = current {
        assert!(out.insert(k.clone(), v).is_none(), "{k} twice");
    }
    out
}

/// Builds the body of a generated case (documented in the fixtures README).
pub(super) fn generate(e: &Expected) -> Vec<u8> {
    let base = e.base.as_deref().expect("generated case without base");
    match e.generate.as_deref() {
        Some("pad-70MiB") => {
            let mut body = std::fs::read(fixtures().join(base)).unwrap();
            body.resize(body.len() + 70 * 1024 * 1024, b' ');
            body
        }
        Some("attachment-30MiB") => {
            let mut bundle = load(base);
            let mut pdf = b"%PDF-1.4\n".to_vec();
            pdf.resize(pdf.len() + 30 * 1024 * 1024, 0);
            let data = base64::engine::general_purpose::STANDARD.encode(&pdf);
            let doc = bundle["entry"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .map(|e| &mut e["resource"])
                .find(|r| {
                    r["resourceType"] == "DocumentReference"
                        && r["type"]["coding"][0]["code"] == "72267-8"
                })
                .unwrap();
            let att = doc["content"][0]["attachment"].as_object_mut().unwrap();
            att.insert("data".into(), Value::String(data));
            att.remove("size");
            serde_json::to_vec(&bundle).unwrap()
        }
        other => panic!("unknown generator {other:?}"),
    }
}

pub(super) const ISSUE_TYPES: &[&str] = &[
    "invalid",
    "structure",
    "required",
    "value",
    "invariant",
    "security",
    "login",
    "unknown",
    "expired",
    "forbidden",
    "suppressed",
    "processing",
    "not-supported",
    "duplicate",
    "multiple-matches",
    "not-found",
    "deleted",
    "too-long",
    "code-invalid",
    "extension",
    "too-costly",
    "business-rule",
    "conflict",
    "transient",
    "lock-error",
    "no-store",
    "exception",
    "timeout",
    "incomplete",
    "throttled",
    "informational",
];

#[test]
fn expected_toml_covers_every_invalid_file() {
    let expected = expected();
    let on_disk: BTreeSet<String> = std::fs::read_dir(fixtures().join("invalid"))
        .unwrap()
        .map(|e| name(&e.unwrap().path()))
        .filter(|n| n != "expected.toml")
        .collect();
    for f in &on_disk {
        assert!(
            expected.contains_key(f),
            "{f} has no entry in expected.toml"
        );
    }
    for (f, e) in &expected {
        match &e.generate {
            Some(_) => {
                assert!(
                    !on_disk.contains(f),
                    "{f} is generated and must not be committed"
                );
                assert!(
                    fixtures().join(e.base.as_deref().unwrap()).is_file(),
                    "{f}: base"
                );
            }
            None => assert!(on_disk.contains(f), "{f} is listed but missing"),
        }
        assert!(
            [400, 413, 415, 422].contains(&e.status),
            "{f}: status {}",
            e.status
        );
        assert!(
            ["parse", "bundle", "profile", "http"].contains(&e.layer.as_str()),
            "{f}: layer"
        );
        assert!(
            ISSUE_TYPES.contains(&e.code.as_str()),
            "{f}: code {}",
            e.code
        );
        assert!(
            !e.rule.is_empty() && !e.note.is_empty(),
            "{f}: rule and note"
        );
        if f.ends_with(".xml") {
            assert_eq!(
                e.content_type.as_deref(),
                Some("application/fhir+xml"),
                "{f}"
            );
            assert_eq!(e.status, 400, "{f}: hostile XML is refused before parsing");
        }
        if e.layer == "profile" {
            let rule = RULES.iter().find(|r| r.rule == e.rule);
            let rule = rule.unwrap_or_else(|| panic!("{f}: {} is not a profile rule", e.rule));
            assert_eq!(rule.code, e.code, "{f}: code of {}", e.rule);
            assert_eq!(e.status, 422, "{f}: profile errors are 422");
        }
    }
    assert!(
        expected.len() >= 30,
        "at least 30 broken or hostile submissions"
    );
}

#[test]
fn generated_payload_exceeds_the_body_limit() {
    let expected = expected();
    let e = &expected["http-payload-70MiB.json"];
    assert!(generate(e).len() > 64 * 1024 * 1024);
}
