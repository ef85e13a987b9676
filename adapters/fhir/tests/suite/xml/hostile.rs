use super::*;

// ---------------------------------------------------------------------------
// Hostile and malformed bodies

const XXE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Patient xmlns="http://hl7.org/fhir"><name><text value="&xxe;"/></name></Patient>"#;

fn billion_laughs() -> String {
    let mut doc =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let previous = if i == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", i - 1)
        };
        doc.push_str(&format!(
            " <!ENTITY lol{i} \"{}\">\n",
            format!("&{previous};").repeat(10)
        ));
    }
    doc.push_str("]>\n<Patient xmlns=\"http://hl7.org/fhir\"><name><text value=\"&lol9;\"/></name></Patient>\n");
    doc
}

fn nested(depth: usize) -> String {
    // The root plus depth - 1 nested extensions.
    let mut doc = String::from(r#"<Patient xmlns="http://hl7.org/fhir">"#);
    for _ in 1..depth {
        doc.push_str(r#"<extension url="http://example.org/x">"#);
    }
    for _ in 1..depth {
        doc.push_str("</extension>");
    }
    doc.push_str("</Patient>");
    doc
}

#[test]
fn doctype_and_entities_are_refused_before_parsing() {
    assert_eq!(refusal(xml_to_json(XXE.as_bytes())), (400, "xml_doctype"));
    let laughs = billion_laughs();
    let rejection = xml_to_json(laughs.as_bytes()).unwrap_err();
    let rules: Vec<&str> = rejection.issues.iter().map(|i| i.rule).collect();
    assert_eq!(rules, ["xml_doctype", "xml_entity"]);
    assert_eq!(rejection.issues[0].code, "security");
    // Any case, anywhere, even without the rest of a DTD.
    assert_eq!(
        refusal(xml_to_json(
            b"<Patient xmlns=\"http://hl7.org/fhir\"/><!doctype x>"
        )),
        (400, "xml_doctype")
    );
    assert_eq!(
        refusal(xml_to_json(
            b"<!-- <!DocType x> --><Patient xmlns=\"http://hl7.org/fhir\"/>"
        )),
        (400, "xml_doctype")
    );
    assert_eq!(
        refusal(xml_to_json(
            b"<Patient xmlns=\"http://hl7.org/fhir\"><!ENTITY x \"y\"></Patient>"
        )),
        (400, "xml_entity")
    );
    // Even when the rest is not UTF-8.
    assert_eq!(
        refusal(xml_to_json(b"\xff\xfe<!DOCTYPE x>")),
        (400, "xml_doctype")
    );
}

#[test]
fn processing_instructions_other_than_the_declaration_are_refused() {
    let fine =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Patient xmlns=\"http://hl7.org/fhir\"/>";
    assert!(xml_to_json(fine.as_bytes()).is_ok());
    let with_bom = format!("\u{feff}{fine}");
    assert!(xml_to_json(with_bom.as_bytes()).is_ok());
    for body in [
        "<?xml version=\"1.0\"?><?xml-stylesheet href=\"x.xsl\" type=\"text/xsl\"?><Patient xmlns=\"http://hl7.org/fhir\"/>",
        "<Patient xmlns=\"http://hl7.org/fhir\"><?php echo 1; ?></Patient>",
        " <?xml version=\"1.0\"?><Patient xmlns=\"http://hl7.org/fhir\"/>",
        "<?xml-stylesheet href=\"x.xsl\"?><Patient xmlns=\"http://hl7.org/fhir\"/>",
    ] {
        assert_eq!(
            refusal(xml_to_json(body.as_bytes())),
            (400, "xml_processing_instruction"),
            "{body}"
        );
    }
}

#[test]
fn deep_nesting_is_refused_at_the_limit() {
    assert!(xml_to_json(nested(MAX_DEPTH).as_bytes()).is_ok());
    assert_eq!(
        refusal(xml_to_json(nested(MAX_DEPTH + 1).as_bytes())),
        (400, "too_deep")
    );
    let started = std::time::Instant::now();
    let deep = nested(100_000);
    assert_eq!(refusal(xml_to_json(deep.as_bytes())), (400, "too_deep"));
    assert!(started.elapsed().as_secs() < 5);
    // Unclosed, so nothing but the depth stops it.
    let unclosed = format!(
        "<Patient xmlns=\"http://hl7.org/fhir\">{}",
        "<a>".repeat(100_000)
    );
    assert_eq!(refusal(xml_to_json(unclosed.as_bytes())), (400, "too_deep"));
    // Inside the narrative too.
    let narrative = format!(
        "<Patient xmlns=\"http://hl7.org/fhir\"><text><status value=\"generated\"/><div xmlns=\"http://www.w3.org/1999/xhtml\">{}</div></text></Patient>",
        "<span>".repeat(100_000)
    );
    assert_eq!(
        refusal(xml_to_json(narrative.as_bytes())),
        (400, "too_deep")
    );
}

#[test]
fn malformed_bodies_are_syntax_errors() {
    let truncated = &XXE.replace(
        "<!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>",
        "",
    )[..90];
    for body in [
        truncated,
        "",
        "   ",
        "not xml",
        "<Patient xmlns=\"http://hl7.org/fhir\">",
        "<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"true\"></Patient>",
        "<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"true/></Patient>",
        "<Patient xmlns=\"http://hl7.org/fhir\"/><Patient xmlns=\"http://hl7.org/fhir\"/>",
        "<Patient xmlns=\"http://hl7.org/fhir\"/>trailing",
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><Patient xmlns=\"http://hl7.org/fhir\"/>",
        "<?xml version=\"1.1\"?><Patient xmlns=\"http://hl7.org/fhir\"/>",
        "<Patient xmlns=\"http://hl7.org/fhir\"><name><text value=\"&nbsp;\"/></name></Patient>",
        "<Patient xmlns=\"http://hl7.org/fhir\"><text><status value=\"generated\"/><div xmlns=\"http://www.w3.org/1999/xhtml\">&nbsp;</div></text></Patient>",
        "<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"true\" value=\"false\"/></Patient>",
        "<Patient xmlns=\"http://hl7.org/fhir\"><name><text value=\"a\u{1}b\"/></name></Patient>",
    ] {
        assert_eq!(
            refusal(xml_to_json(body.as_bytes())),
            (400, "xml_syntax"),
            "{body:?}"
        );
    }
    let rejection = xml_to_json(truncated.as_bytes()).unwrap_err();
    assert!(
        rejection.issues[0].en.contains("truncated") || rejection.issues[0].en.contains("line"),
        "{:?}",
        rejection.issues
    );
    assert!(!rejection.issues[0].it.is_empty());
}

#[test]
fn invalid_utf8_is_refused() {
    let mut body = b"<Patient xmlns=\"http://hl7.org/fhir\"><name><text value=\"".to_vec();
    body.extend_from_slice(b"\xffbad\"/></name></Patient>");
    let rejection = xml_to_json(&body).unwrap_err();
    assert_eq!(
        (rejection.status, rejection.issues[0].rule),
        (400, "invalid_utf8")
    );
    assert!(
        rejection.issues[0].en.contains("line 1, column 57"),
        "{}",
        rejection.issues[0].en
    );
    // UTF-16 with a byte-order mark.
    let utf16: Vec<u8> = "\u{feff}<Patient xmlns=\"http://hl7.org/fhir\"/>"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    assert_eq!(refusal(xml_to_json(&utf16)), (400, "invalid_utf8"));
}

#[test]
fn what_fhir_xml_does_not_allow_is_a_structure_error_with_its_path() {
    let cases = [
        ("<patient xmlns=\"http://hl7.org/fhir\"/>", None),
        ("<Patient/>", Some("Patient")),
        ("<Patient xmlns=\"http://example.org\"/>", Some("Patient")),
        (
            "<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"yes\"/></Patient>",
            Some("Patient.active"),
        ),
        (
            "<Patient xmlns=\"http://hl7.org/fhir\"><multipleBirthInteger value=\"1.5\"/></Patient>",
            Some("Patient.multipleBirthInteger"),
        ),
        (
            "<Observation xmlns=\"http://hl7.org/fhir\"><valueQuantity><value value=\"NaN\"/></valueQuantity></Observation>",
            Some("Observation.valueQuantity.value"),
        ),
        (
            "<Patient xmlns=\"http://hl7.org/fhir\"><name><family value=\"a\"/><family value=\"b\"/></name></Patient>",
            Some("Patient.name[0].family"),
        ),
        (
            "<Patient xmlns=\"http://hl7.org/fhir\"><name>Rossi</name></Patient>",
            Some("Patient.name[0]"),
        ),
        (
            "<Patient xmlns=\"http://hl7.org/fhir\"><name foo=\"x\"/></Patient>",
            Some("Patient.name[0]"),
        ),
        (
            "<Patient xmlns=\"http://hl7.org/fhir\"><name url=\"x\"/></Patient>",
            Some("Patient.name[0]"),
        ),
        (
            "<Patient xmlns=\"http://hl7.org/fhir\"><name value=\"x\"/></Patient>",
            Some("Patient.name[0]"),
        ),
        (
            "<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"true\"><id value=\"x\"/></active></Patient>",
            Some("Patient.active.id"),
        ),
        (
            "<Patient xmlns=\"http://hl7.org/fhir\"><name><Patient/></name></Patient>",
            Some("Patient.name[0]"),
        ),
        (
            "<Patient xmlns=\"http://hl7.org/fhir\" id=\"x\"/>",
            Some("Patient"),
        ),
        (
            "<Patient xmlns=\"http://hl7.org/fhir\" xmlns:x=\"http://example.org\"><x:foo/></Patient>",
            Some("Patient.foo"),
        ),
        (
            "<Bundle xmlns=\"http://hl7.org/fhir\"><entry><resource><Patient/><Patient/></resource></entry></Bundle>",
            Some("Bundle.entry[0].resource"),
        ),
        (
            "<Patient xmlns=\"http://hl7.org/fhir\"><text><div xmlns:h=\"http://www.w3.org/1999/xhtml\" xmlns=\"http://www.w3.org/1999/xhtml\"><h:p/></div></text></Patient>",
            Some("Patient.text.div"),
        ),
    ];
    for (body, expression) in cases {
        let rejection = xml_to_json(body.as_bytes()).unwrap_err();
        let issue = &rejection.issues[0];
        assert_eq!(
            (rejection.status, issue.rule),
            (400, "fhir_structure"),
            "{body}: {}",
            issue.en
        );
        assert_eq!(issue.expression.as_deref(), expression, "{body}");
        assert!(
            issue.en.contains("line") && issue.it.contains("riga"),
            "{body}: {issue:?}"
        );
    }
    assert_eq!(
        first_expression(xml_to_json(
            b"<Bundle xmlns=\"http://hl7.org/fhir\"><entry/><entry><resource><Patient><active value=\"si\"/></Patient></resource></entry></Bundle>"
        )),
        Some("Bundle.entry[1].resource.active".to_owned())
    );
}

#[test]
fn unknown_elements_pass_through_for_the_json_pipeline_to_judge() {
    let body = "<Patient xmlns=\"http://hl7.org/fhir\"><foo value=\"1\"/><foo value=\"2\"/><bar><baz value=\"x\"/></bar></Patient>";
    assert_eq!(
        xml_to_json(body.as_bytes()).unwrap(),
        json!({"resourceType": "Patient", "foo": ["1", "2"], "bar": {"baz": "x"}})
    );
}

/// Cheap deterministic mutations of a real example: truncations and byte
/// changes must give a refusal or a value, never a panic.
#[test]
fn mutated_examples_never_panic() {
    let files = files(&examples("xml"), "xml");
    let sample: Vec<u8> = files
        .iter()
        .find(|f| f.ends_with("Patient-example.xml"))
        .map(|f| std::fs::read(f).unwrap())
        .unwrap_or_else(|| {
            XXE.replace(
                "<!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>",
                "",
            )
            .into_bytes()
        });
    for cut in (0..sample.len()).step_by(7) {
        let _ = xml_to_json(&sample[..cut]);
    }
    let mut seed: u64 = 0x5eed;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let alphabet = b"<>/=\"'&;#!?-[]x \n\xff\xc3";
    for _ in 0..2000 {
        let mut body = sample.clone();
        for _ in 0..1 + next() % 4 {
            let at = next() % body.len();
            match next() % 3 {
                0 => body[at] = alphabet[next() % alphabet.len()],
                1 => {
                    body.remove(at);
                }
                _ => body.insert(at, alphabet[next() % alphabet.len()]),
            }
        }
        if let Ok(value) = xml_to_json(&body) {
            let _ = json_to_xml(&value);
        }
    }
}

// ---------------------------------------------------------------------------
// Fixtures under tests/fixtures/fhir/invalid (expected.toml belongs to the
// fixture suite; these are checked here against the rules they stand for).

#[test]
fn hostile_fixtures() {
    for (file, rule) in [
        ("xml-doctype-external-entity.xml", "xml_doctype"),
        ("xml-billion-laughs.xml", "xml_doctype"),
        (
            "xml-processing-instruction.xml",
            "xml_processing_instruction",
        ),
    ] {
        let body = std::fs::read(fixtures().join(file)).unwrap();
        assert_eq!(refusal(xml_to_json(&body)), (400, rule), "{file}");
    }
}
