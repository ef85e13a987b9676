use super::*;

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
