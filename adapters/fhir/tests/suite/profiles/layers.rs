use super::*;

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
