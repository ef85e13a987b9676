//! Ponte's capacity-report, TSO-proposal and AdS-accounts profiles against the team's
//! fixtures in `tests/fixtures/fhir/` (see its README).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use ponte_fhir::parse::{self, Limits};
use ponte_fhir::profile::{self, CourtCase, Facts, Kind, ProfileLimits, RULES, RequestedAct};
use ponte_fhir::{Format, Issue, Severity, bundle};
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/fhir")
}

fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(fixtures().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    out.sort();
    out
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

fn load(rel: &str) -> Value {
    let bytes = std::fs::read(fixtures().join(rel)).unwrap();
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn errors(issues: &[Issue]) -> Vec<&Issue> {
    issues
        .iter()
        .filter(|i| matches!(i.severity, Severity::Error | Severity::Fatal))
        .collect()
}

fn summary(issues: &[Issue]) -> String {
    issues
        .iter()
        .map(|i| {
            format!(
                "{:?} {} {} at {}",
                i.severity,
                i.rule,
                i.code,
                i.expression.as_deref().unwrap_or("-")
            )
        })
        .collect::<Vec<_>>()
        .join("\n  ")
}

// --------------------------------------------------------------- expected.toml

/// One table of `invalid/expected.toml`.
#[derive(Debug, Default)]
struct Expected {
    status: u16,
    code: String,
    rule: String,
    layer: String,
    note: String,
    generate: Option<String>,
    base: Option<String>,
    content_type: Option<String>,
    xml_status: Option<u16>,
    xml_code: Option<String>,
    xml_rule: Option<String>,
}

/// Reads `expected.toml`: a sequence of `["file"]` tables holding `key = "string"`
/// or `key = integer` lines (all this file uses; ponte-fhir has no TOML dependency).
fn expected() -> BTreeMap<String, Expected> {
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
fn generate(e: &Expected) -> Vec<u8> {
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

const ISSUE_TYPES: &[&str] = &[
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

// ------------------------------------------------------------------ valid

fn facts_of(rel: &str) -> (Facts, Vec<Issue>) {
    let bundle = load(rel);
    let (facts, issues) = profile::check(&bundle, &ProfileLimits::default());
    let facts = facts.unwrap_or_else(|| panic!("{rel} refused:\n  {}", summary(&issues)));
    (facts, issues)
}

/// `(file, kind, act, ISTAT, comune, court, deadline, case (numero, anno))`.
type Case = (
    &'static str,
    Kind,
    RequestedAct,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<(&'static str, &'static str)>,
);

const VALID: &[Case] = &[
    (
        "capacity-genova-parodi.json",
        Kind::CapacityReport,
        RequestedAct::AdsAppointment,
        "010025",
        "Genova",
        None,
        None,
        None,
    ),
    (
        "capacity-savona-ferrando.json",
        Kind::CapacityReport,
        RequestedAct::AdsAppointment,
        "009056",
        "Savona",
        None,
        None,
        None,
    ),
    (
        "capacity-imperia-rebaudo.json",
        Kind::CapacityReport,
        RequestedAct::AdsAppointment,
        "008031",
        "Imperia",
        None,
        None,
        None,
    ),
    (
        "capacity-la-spezia-bertoni.json",
        Kind::CapacityReport,
        RequestedAct::AdsAppointment,
        "011015",
        "La Spezia",
        Some("0110150093"),
        None,
        None,
    ),
    (
        "capacity-varese-ligure-cevasco.json",
        Kind::CapacityReport,
        RequestedAct::AdsAppointment,
        "011029",
        "Varese Ligure",
        None,
        None,
        None,
    ),
    (
        "capacity-ads-report-genova-canepa.json",
        Kind::CapacityReport,
        RequestedAct::AdsReport,
        "010025",
        "Genova",
        Some("0100250093"),
        None,
        Some(("2417", "2023")),
    ),
    (
        "capacity-istanza-albenga-ghiglione.json",
        Kind::CapacityReport,
        RequestedAct::Istanza,
        "009002",
        "Albenga",
        Some("0090560095"),
        None,
        Some(("655", "2025")),
    ),
    (
        "capacity-self-rapallo-oneto.json",
        Kind::CapacityReport,
        RequestedAct::AdsAppointment,
        "010046",
        "Rapallo",
        None,
        None,
        None,
    ),
    (
        "tso-genova-musso.json",
        Kind::TsoProposal,
        RequestedAct::TsoConvalida,
        "010025",
        "Genova",
        None,
        Some("2026-11-26T19:05:00+01:00"),
        None,
    ),
    (
        "tso-la-spezia-baldassini.json",
        Kind::TsoProposal,
        RequestedAct::TsoConvalida,
        "011015",
        "La Spezia",
        Some("0110150093"),
        Some("2026-10-14T23:10:00+02:00"),
        None,
    ),
    (
        "tso-sanremo-lorenzi.json",
        Kind::TsoProposal,
        RequestedAct::TsoConvalida,
        "008055",
        "Sanremo",
        None,
        Some("2026-11-23T09:45:00+01:00"),
        None,
    ),
    (
        "ads-accounts-savona-siccardi.json",
        Kind::AdsAccounts,
        RequestedAct::AdsAccounts,
        "009056",
        "Savona",
        Some("0090560095"),
        None,
        Some(("1187", "2022")),
    ),
];

/// Warnings a valid fixture is meant to raise.
const EXPECTED_WARNINGS: &[(&str, &str)] =
    &[("capacity-self-rapallo-oneto.json", "cf_wrong_system")];

#[test]
fn every_valid_fixture_yields_its_facts() {
    let on_disk: Vec<String> = files("valid", "json").iter().map(|p| name(p)).collect();
    assert!(on_disk.len() >= 8, "valid fixtures: {on_disk:?}");
    for f in &on_disk {
        assert!(
            VALID.iter().any(|c| c.0 == f),
            "{f}: add its expected facts to VALID"
        );
    }
    for &(file, kind, act, istat, comune, court, deadline, case) in VALID {
        let rel = format!("valid/{file}");
        let (facts, issues) = facts_of(&rel);
        assert_eq!(facts.kind, kind, "{file}");
        assert_eq!(facts.act, act, "{file}");
        assert_eq!(facts.comune_istat.as_deref(), Some(istat), "{file}");
        assert_eq!(facts.comune_name.as_deref(), Some(comune), "{file}");
        assert_eq!(facts.competent_court.as_deref(), court, "{file}");
        assert_eq!(facts.tso_deadline.as_deref(), deadline, "{file}");
        let got = facts
            .court_case
            .as_ref()
            .map(|c| (c.number.as_str(), c.year.as_str()));
        assert_eq!(got, case, "{file}");
        assert_eq!(
            facts.court_case.is_some(),
            act.concerns_existing_case(),
            "{file}"
        );

        // The codice fiscale comes back upper case and equal to the Patient's.
        let bundle = load(&rel);
        let patient = bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["resource"]["resourceType"] == "Patient")
            .unwrap();
        assert_eq!(
            facts.subject_cf,
            patient["resource"]["identifier"][0]["value"]
                .as_str()
                .unwrap()
        );
        assert_eq!(facts.subject_cf, facts.subject_cf.to_uppercase());

        let warnings: Vec<&str> = issues.iter().map(|i| i.rule).collect();
        let allowed: Vec<&str> = EXPECTED_WARNINGS
            .iter()
            .filter(|w| w.0 == file)
            .map(|w| w.1)
            .collect();
        assert_eq!(warnings, allowed, "{file}:\n  {}", summary(&issues));
    }
}

#[test]
fn specific_facts() {
    let (facts, _) = facts_of("valid/capacity-genova-parodi.json");
    assert_eq!(
        facts,
        Facts {
            kind: Kind::CapacityReport,
            act: RequestedAct::AdsAppointment,
            subject_cf: "PRDGPP38C54D969G".into(),
            comune_istat: Some("010025".into()),
            comune_name: Some("Genova".into()),
            competent_court: None,
            court_case: None,
            tso_deadline: None,
        }
    );
    let (facts, issues) = facts_of("valid/ads-accounts-savona-siccardi.json");
    assert!(issues.is_empty(), "{}", summary(&issues));
    assert_eq!(
        facts,
        Facts {
            kind: Kind::AdsAccounts,
            act: RequestedAct::AdsAccounts,
            subject_cf: "SCCVCN52C08I480T".into(),
            comune_istat: Some("009056".into()),
            comune_name: Some("Savona".into()),
            competent_court: Some("0090560095".into()),
            court_case: Some(CourtCase {
                number: "1187".into(),
                year: "2022".into(),
            }),
            tso_deadline: None,
        }
    );
    let (facts, issues) = facts_of("valid/capacity-self-rapallo-oneto.json");
    assert_eq!(facts.act, RequestedAct::AdsAppointment);
    let w = &issues[0];
    assert_eq!(
        (w.severity, w.rule, w.code),
        (Severity::Warning, "cf_wrong_system", "value")
    );
    assert_eq!(
        w.expression.as_deref(),
        Some("Bundle.entry[1].resource.identifier[0].system")
    );
}

#[test]
fn a_lower_case_codice_fiscale_is_accepted_and_upper_cased() {
    let mut bundle = load("valid/capacity-savona-ferrando.json");
    let ident = &mut bundle["entry"][1]["resource"]["identifier"][0]["value"];
    let upper = ident.as_str().unwrap().to_owned();
    *ident = Value::String(upper.to_lowercase());
    let (facts, issues) = profile::check(&bundle, &ProfileLimits::default());
    assert!(issues.is_empty(), "{}", summary(&issues));
    assert_eq!(facts.unwrap().subject_cf, upper);
}

#[test]
fn omocodia_is_accepted() {
    // PRDGPP38C54D969G with the last Belfiore digit written as a letter (9 → V),
    // so the check character is recomputed.
    let mut bundle = load("valid/capacity-genova-parodi.json");
    let first15 = "PRDGPP38C54D96V";
    let cf = (b'A'..=b'Z')
        .map(|c| format!("{first15}{}", c as char))
        .find(|cf| {
            bundle["entry"][1]["resource"]["identifier"][0]["value"] = Value::String(cf.clone());
            profile::check(&bundle, &ProfileLimits::default())
                .0
                .is_some()
        })
        .expect("one check character fits");
    assert_eq!(cf.len(), 16);
}

#[test]
fn demographics_in_the_codice_fiscale_are_cross_checked() {
    let mut bundle = load("valid/capacity-genova-parodi.json");
    bundle["entry"][1]["resource"]["birthDate"] = json!("1938-03-15");
    let (facts, issues) = profile::check(&bundle, &ProfileLimits::default());
    assert!(facts.is_some());
    assert_eq!(issues.len(), 1);
    assert_eq!(
        (issues[0].rule, issues[0].severity),
        ("cf_demographics_mismatch", Severity::Warning)
    );
}

#[test]
fn a_message_bundle_is_read_through_its_message_header() {
    let document = load("valid/capacity-la-spezia-bertoni.json");
    let composition_url = document["entry"][0]["fullUrl"].clone();
    let mut entries = vec![json!({
        "fullUrl": "urn:uuid:8d0b6f0e-2f43-4e55-9f3c-5b0f3d9c2a10",
        "resource": {
            "resourceType": "MessageHeader",
            "eventUri": "https://ponte.example/fhir/MessageDefinition/submit-document",
            "source": {"endpoint": "https://fhir.asl5.liguria.example/fhir"},
            "focus": [{"reference": composition_url}]
        }
    })];
    entries.extend(document["entry"].as_array().unwrap().iter().cloned());
    let message = json!({
        "resourceType": "Bundle",
        "type": "message",
        "timestamp": document["timestamp"],
        "entry": entries,
    });
    let (facts, issues) = profile::check(&message, &ProfileLimits::default());
    assert!(issues.is_empty(), "{}", summary(&issues));
    let facts = facts.unwrap();
    assert_eq!(facts.competent_court.as_deref(), Some("0110150093"));
    assert_eq!(facts.comune_istat.as_deref(), Some("011015"));
}

#[test]
fn a_tso_deadline_already_passed_is_a_warning() {
    let mut bundle = load("valid/tso-genova-musso.json");
    bundle["timestamp"] = json!("2026-11-26T20:00:00+01:00");
    let (facts, issues) = profile::check(&bundle, &ProfileLimits::default());
    assert!(facts.is_some());
    assert_eq!(
        issues.iter().map(|i| i.rule).collect::<Vec<_>>(),
        ["tso_deadline_passed"]
    );
}

/// The extension with this url on the first entry's Composition.
fn extension_mut<'a>(bundle: &'a mut Value, url: &str) -> &'a mut Value {
    bundle["entry"][0]["resource"]["extension"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["url"] == url)
        .unwrap()
}

const COURT_CASE: &str = "https://ponte.example/fhir/StructureDefinition/court-case";

#[test]
fn a_court_case_on_a_new_case_is_ignored_with_a_warning() {
    for file in [
        "valid/capacity-la-spezia-bertoni.json",
        "valid/tso-la-spezia-baldassini.json",
    ] {
        let mut bundle = load(file);
        let exts = bundle["entry"][0]["resource"]["extension"]
            .as_array_mut()
            .unwrap();
        exts.push(json!({"url": COURT_CASE,
            "valueIdentifier": {"system": "urn:ponte:numero-ruolo", "value": "not a case"}}));
        let at = format!("Bundle.entry[0].resource.extension[{}]", exts.len() - 1);
        let (facts, issues) = profile::check(&bundle, &ProfileLimits::default());
        let facts = facts.unwrap_or_else(|| panic!("{file}: {}", summary(&issues)));
        assert_eq!(facts.court_case, None, "{file}");
        assert_eq!(issues.len(), 1, "{file}: {}", summary(&issues));
        let w = &issues[0];
        assert_eq!(
            (w.severity, w.rule, w.code, w.expression.as_deref()),
            (
                Severity::Warning,
                "court_case_unexpected",
                "business-rule",
                Some(at.as_str())
            ),
            "{file}"
        );
    }
}

#[test]
fn court_case_values() {
    let cases = [
        ("1/1990", Some(("1", "1990"))),
        ("9999999/2100", Some(("9999999", "2100"))),
        (" 0042/2025 ", Some(("0042", "2025"))),
        ("12345678/2025", None),
        ("0/2025", None),
        ("1234/25", None),
        ("1234/1989", None),
        ("1234/2101", None),
        ("1234 /2025", None),
        ("1234/2025/1", None),
        ("RG 1234/2025", None),
        ("1234", None),
        ("", None),
    ];
    for (value, want) in cases {
        let mut bundle = load("valid/capacity-ads-report-genova-canepa.json");
        extension_mut(&mut bundle, COURT_CASE)["valueIdentifier"]["value"] = json!(value);
        let (facts, issues) = profile::check(&bundle, &ProfileLimits::default());
        match want {
            Some((number, year)) => {
                let facts = facts.unwrap_or_else(|| panic!("{value:?}: {}", summary(&issues)));
                assert_eq!(
                    facts.court_case,
                    Some(CourtCase {
                        number: number.into(),
                        year: year.into()
                    }),
                    "{value:?}"
                );
            }
            None => {
                assert!(facts.is_none(), "{value:?} accepted");
                assert_eq!(
                    errors(&issues).iter().map(|i| i.rule).collect::<Vec<_>>(),
                    ["court_case_format"],
                    "{value:?}"
                );
            }
        }
    }
    // Another system is a format error too.
    let mut bundle = load("valid/capacity-ads-report-genova-canepa.json");
    extension_mut(&mut bundle, COURT_CASE)["valueIdentifier"]["system"] =
        json!("urn:ponte:codice-ufficio");
    let (facts, issues) = profile::check(&bundle, &ProfileLimits::default());
    assert!(facts.is_none());
    assert_eq!(issues[0].rule, "court_case_format");
}

#[test]
fn an_istanza_needs_its_case_and_court() {
    let mut bundle = load("valid/capacity-istanza-albenga-ghiglione.json");
    bundle["entry"][0]["resource"]["extension"]
        .as_array_mut()
        .unwrap()
        .retain(|e| e["url"] == "https://ponte.example/fhir/StructureDefinition/petitioner");
    let (facts, issues) = profile::check(&bundle, &ProfileLimits::default());
    assert!(facts.is_none());
    let mut rules: Vec<&str> = errors(&issues).iter().map(|i| i.rule).collect();
    rules.sort_unstable();
    assert_eq!(rules, ["competent_court_required", "court_case_required"]);
}

#[test]
fn accounts_may_be_authored_by_an_organization_or_a_practitioner_alone() {
    let base = load("valid/ads-accounts-savona-siccardi.json");
    let entry_of = |rtype: &str| {
        base["entry"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["resource"]["resourceType"] == rtype)
            .unwrap()["fullUrl"]
            .clone()
    };
    for rtype in [
        "Organization",
        "PractitionerRole",
        "Practitioner",
        "RelatedPerson",
    ] {
        let mut bundle = base.clone();
        bundle["entry"][0]["resource"]["author"] = json!([{"reference": entry_of(rtype)}]);
        let (facts, issues) = profile::check(&bundle, &ProfileLimits::default());
        assert!(facts.is_some(), "{rtype}: {}", summary(&issues));
        assert!(issues.is_empty(), "{rtype}: {}", summary(&issues));
    }
}

#[test]
fn the_attachment_limit_is_configurable() {
    let bundle = load("valid/capacity-genova-parodi.json");
    let (facts, issues) = profile::check(
        &bundle,
        &ProfileLimits {
            max_attachment_bytes: 100,
        },
    );
    assert!(facts.is_none());
    assert_eq!(
        errors(&issues).iter().map(|i| i.rule).collect::<Vec<_>>(),
        ["attachment_too_large"]
    );
}

#[test]
fn valid_fixtures_are_r4_that_fhir_sdk_reads_without_loss() {
    for path in files("valid", "json") {
        let original: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let parsed: fhir_sdk::r4b::resources::Bundle = serde_json::from_value(original.clone())
            .unwrap_or_else(|e| panic!("{}: {e}", name(&path)));
        let back = serde_json::to_value(&parsed).unwrap();
        assert!(
            normalise(&back) == normalise(&original),
            "{}: elements lost",
            name(&path)
        );
    }
}

/// Numbers compared as f64 (fhir-sdk writes decimals as floats).
fn normalise(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64()),
        Value::Array(a) => Value::Array(a.iter().map(normalise).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), normalise(v))).collect())
        }
        other => other.clone(),
    }
}

// ---------------------------------------------------------------- invalid

#[test]
fn every_profile_fixture_fails_with_its_rule_and_code() {
    let expected = expected();
    let mut checked = 0;
    for (file, e) in expected.iter().filter(|(_, e)| e.layer == "profile") {
        let bundle: Value = match &e.generate {
            Some(_) => serde_json::from_slice(&generate(e)).unwrap(),
            None => load(&format!("invalid/{file}")),
        };
        let (facts, issues) = profile::check(&bundle, &ProfileLimits::default());
        assert!(facts.is_none(), "{file}: accepted");
        let errs = errors(&issues);
        assert!(
            errs.iter()
                .any(|i| i.rule == e.rule && i.code == e.code && i.expression.is_some()),
            "{file}: want {} ({}), got\n  {}",
            e.rule,
            e.code,
            summary(&issues)
        );
        // Each fixture breaks one rule only, so that it tests that rule.
        assert!(
            errs.iter().all(|i| i.rule == e.rule),
            "{file}: other errors too\n  {}",
            summary(&issues)
        );
        assert_eq!(issues[0].rule, e.rule, "{file}: errors come first");
        checked += 1;
    }
    assert!(checked >= 30, "{checked} profile cases");
}

#[test]
fn issues_say_where_and_never_what() {
    let expected = expected();
    for (file, _) in expected
        .iter()
        .filter(|(_, e)| e.layer == "profile" && e.generate.is_none())
    {
        let bundle = load(&format!("invalid/{file}"));
        let (_, issues) = profile::check(&bundle, &ProfileLimits::default());
        for i in &issues {
            // The messages are the fixed texts of the rule: no submitted data.
            let rule = RULES.iter().find(|r| r.rule == i.rule).unwrap();
            assert_eq!(
                (i.en.as_str(), i.it.as_str(), i.code),
                (rule.en, rule.it, rule.code)
            );
            let expr = i.expression.as_deref().unwrap();
            assert!(expr.starts_with("Bundle."), "{file}: {expr}");
            assert!(
                expr.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._[]".contains(c)),
                "{file}: {expr}"
            );
        }
    }
}

#[test]
fn rules_are_unique_and_documented() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/fhir-profiles.md"),
    )
    .unwrap();
    let mut seen = BTreeSet::new();
    for r in RULES {
        assert!(seen.insert(r.rule), "{} twice", r.rule);
        assert!(ISSUE_TYPES.contains(&r.code), "{}: {}", r.rule, r.code);
        assert!(!r.en.is_empty() && !r.it.is_empty());
        let row = format!("| `{}` | `{}` |", r.rule, r.code);
        assert!(
            doc.contains(&row),
            "docs/fhir-profiles.md lacks the row {row}"
        );
        assert!(
            doc.contains(r.en) && doc.contains(r.it),
            "{}: messages not in the docs",
            r.rule
        );
    }
}

#[test]
fn requested_act_codes_round_trip() {
    for act in RequestedAct::ALL {
        assert_eq!(RequestedAct::from_code(act.code()), Some(act));
    }
    assert_eq!(RequestedAct::AdsAppointment.code(), "ads-appointment");
    assert_eq!(RequestedAct::from_code("interdizione"), None);
}

#[test]
fn nothing_in_a_hostile_shape_panics() {
    let limits = ProfileLimits::default();
    let shapes = [
        json!(null),
        json!([]),
        json!({"resourceType": "Bundle"}),
        json!({"resourceType": "Bundle", "type": "document", "entry": [{}]}),
        json!({"resourceType": "Bundle", "type": "document", "entry": [{"resource": {"resourceType": "Composition"}}]}),
        json!({"resourceType": "Bundle", "type": "message", "entry": [{"resource": {"resourceType": "MessageHeader", "focus": [{"reference": "Composition/x"}]}}]}),
        json!({"resourceType": "Bundle", "type": "document", "entry": [{"resource": {
            "resourceType": "Composition", "type": {"coding": [{"system": "http://loinc.org", "code": "72267-8"}]},
            "subject": {"reference": 7}, "author": "x", "section": [{"section": [{"entry": [{"reference": "#"}]}]}],
            "extension": [{"url": "https://ponte.example/fhir/StructureDefinition/petitioner"}]}}]}),
    ];
    for s in shapes {
        let (facts, issues) = profile::check(&s, &limits);
        assert!(facts.is_none());
        assert!(!errors(&issues).is_empty(), "{s}");
    }
}

// ------------------------------------------------- the three layers together

/// Where a submission stopped: layer, status, issues.
type Refusal = (&'static str, u16, Vec<Issue>);

/// parse → bundle → profile, as the gateway chains them.
fn pipeline(body: &[u8], format: Format) -> Result<(Facts, Vec<Issue>), Refusal> {
    let parsed = parse::parse(body, format, &Limits::default())
        .map_err(|r| ("parse", r.status, r.issues))?;
    let mut issues = parsed.warnings.clone();
    let bundle_issues = bundle::check(&parsed);
    if bundle_issues.iter().any(Issue::is_error) {
        return Err(("bundle", 422, bundle_issues));
    }
    issues.extend(bundle_issues);
    let (facts, profile_issues) = profile::check(&parsed.json, &ProfileLimits::default());
    issues.extend(profile_issues);
    match facts {
        Some(facts) => Ok((facts, issues)),
        None => Err(("profile", 422, issues)),
    }
}

#[test]
fn valid_fixtures_pass_every_layer() {
    for path in files("valid", "json") {
        let file = name(&path);
        let body = std::fs::read(&path).unwrap();
        match pipeline(&body, Format::Json) {
            Ok((_, issues)) => {
                let allowed: Vec<&str> = EXPECTED_WARNINGS
                    .iter()
                    .filter(|w| w.0 == file)
                    .map(|w| w.1)
                    .collect();
                let rules: Vec<&str> = issues.iter().map(|i| i.rule).collect();
                assert_eq!(rules, allowed, "{file}:\n  {}", summary(&issues));
            }
            Err((layer, status, issues)) => {
                panic!(
                    "{file}: refused by {layer} with {status}:\n  {}",
                    summary(&issues)
                )
            }
        }
    }
}

#[test]
fn every_invalid_fixture_stops_in_its_layer() {
    for (file, e) in expected() {
        if e.layer == "http" {
            continue; // content type and body size: the gateway's
        }
        let body = match &e.generate {
            Some(_) => generate(&e),
            None => std::fs::read(fixtures().join("invalid").join(&file)).unwrap(),
        };
        let format = match e.content_type.as_deref() {
            Some("application/fhir+xml") => Format::Xml,
            _ => Format::Json,
        };
        let Err((layer, status, issues)) = pipeline(&body, format) else {
            panic!("{file}: accepted");
        };
        assert_eq!(
            (layer, status),
            (e.layer.as_str(), e.status),
            "{file}:\n  {}",
            summary(&issues)
        );
        let first = issues.iter().find(|i| i.is_error()).unwrap();
        assert!(
            issues
                .iter()
                .any(|i| i.is_error() && i.rule == e.rule && i.code == e.code),
            "{file}: want {} ({}), got\n  {}",
            e.rule,
            e.code,
            summary(&issues)
        );
        if e.layer != "bundle" {
            assert_eq!(
                (first.rule, first.code),
                (e.rule.as_str(), e.code.as_str()),
                "{file}"
            );
        }
    }
}
