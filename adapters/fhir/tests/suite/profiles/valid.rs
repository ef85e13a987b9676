use super::*;

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
pub(super) const EXPECTED_WARNINGS: &[(&str, &str)] =
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
