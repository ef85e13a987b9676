use super::*;

// ---------------------------------------------------------------------------
// Conversion details

#[test]
fn primitives_lists_extensions_and_resources() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<Bundle xmlns="http://hl7.org/fhir" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://hl7.org/fhir bundle.xsd">
  <!-- a comment -->
  <id value="b1"/>
  <type value="collection"/>
  <entry>
    <fullUrl value="urn:uuid:1"/>
    <resource>
      <Patient>
        <id value="p1"/>
        <text>
          <status value="generated"/>
          <div xmlns="http://www.w3.org/1999/xhtml"><p>Mario &amp; <b>Rossi</b>&#160;</p></div>
        </text>
        <active value="true"/>
        <name id="n1">
          <given value="Mario"/>
          <given>
            <extension url="http://example.org/x">
              <valueString value="second"/>
            </extension>
          </given>
          <given id="g3" value="Luigi"/>
        </name>
        <birthDate value="1950-01-01">
          <extension url="http://hl7.org/fhir/StructureDefinition/patient-birthTime">
            <valueDateTime value="1950-01-01T10:00:00+01:00"/>
          </extension>
        </birthDate>
        <multipleBirthInteger value="2"/>
      </Patient>
    </resource>
  </entry>
  <entry>
    <resource>
      <Observation>
        <contained>
          <Device><id value="d"/></Device>
        </contained>
        <status value="final"/>
        <code><text value="weight"/></code>
        <valueQuantity><value value="72.50"/><unit value="kg"/></valueQuantity>
      </Observation>
    </resource>
  </entry>
</Bundle>"#;
    let value = xml_to_json(xml.as_bytes()).unwrap();
    let expected = json!({
        "resourceType": "Bundle",
        "id": "b1",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:1",
                "resource": {
                    "resourceType": "Patient",
                    "id": "p1",
                    "text": {
                        "status": "generated",
                        "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Mario &amp; <b>Rossi</b>&#160;</p></div>"
                    },
                    "active": true,
                    "name": [{
                        "id": "n1",
                        "given": ["Mario", null, "Luigi"],
                        "_given": [null, {"extension": [{"url": "http://example.org/x", "valueString": "second"}]}, {"id": "g3"}]
                    }],
                    "birthDate": "1950-01-01",
                    "_birthDate": {"extension": [{
                        "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                        "valueDateTime": "1950-01-01T10:00:00+01:00"
                    }]},
                    "multipleBirthInteger": 2
                }
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "contained": [{"resourceType": "Device", "id": "d"}],
                    "status": "final",
                    "code": {"text": "weight"},
                    "valueQuantity": {"value": 72.5, "unit": "kg"}
                }
            }
        ]
    });
    assert_eq!(value, expected);

    // And back: definition order, attributes, wrappers.
    let xml = json_to_xml(&value).unwrap();
    assert!(xml.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?><Bundle xmlns="http://hl7.org/fhir"><id value="b1"/><type value="collection"/><entry><fullUrl value="urn:uuid:1"/><resource><Patient><id value="p1"/><text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">"#), "{xml}");
    assert!(xml.contains(r#"<name id="n1"><given value="Mario"/><given><extension url="http://example.org/x"><valueString value="second"/></extension></given><given id="g3" value="Luigi"/></name>"#), "{xml}");
    assert!(
        xml.contains(
            r#"<contained><Device><id value="d"/></Device></contained><status value="final"/>"#
        ),
        "{xml}"
    );
    assert_eq!(xml_to_json(xml.as_bytes()).unwrap(), value);
}

#[test]
fn attribute_values_are_normalised_and_written_back_exactly() {
    let xml = "<Patient xmlns=\"http://hl7.org/fhir\"><name><text value=\"a&#10;b\tc\r\nd &lt;&quot;&amp;\"/></name></Patient>";
    let value = xml_to_json(xml.as_bytes()).unwrap();
    assert_eq!(value["name"][0]["text"], "a\nb c d <\"&");
    let written =
        json_to_xml(&json!({"resourceType": "Patient", "name": [{"text": "a\nb\tc\r\"<>&\u{1}"}]}))
            .unwrap();
    assert!(
        written.contains(r#"<text value="a&#10;b&#9;c&#13;&quot;&lt;&gt;&amp;�"/>"#),
        "{written}"
    );
    assert_eq!(
        xml_to_json(written.as_bytes()).unwrap()["name"][0]["text"],
        "a\nb\tc\r\"<>&\u{FFFD}"
    );
}

#[test]
fn answers_the_gateway_writes_become_xml() {
    let outcome = json!({
        "resourceType": "OperationOutcome",
        "issue": [{
            "severity": "error",
            "code": "structure",
            "details": {"text": "campo sconosciuto"},
            "diagnostics": "unknown element `foo`",
            "expression": ["Bundle.entry[0].resource.foo"]
        }]
    });
    let xml = json_to_xml(&outcome).unwrap();
    assert_eq!(
        xml,
        r#"<?xml version="1.0" encoding="UTF-8"?><OperationOutcome xmlns="http://hl7.org/fhir"><issue><severity value="error"/><code value="structure"/><details><text value="campo sconosciuto"/></details><diagnostics value="unknown element `foo`"/><expression value="Bundle.entry[0].resource.foo"/></issue></OperationOutcome>"#
    );
    let searchset = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "link": [{"relation": "self", "url": "https://ponte.example/fhir/Task?status=requested"}],
        "entry": [{
            "fullUrl": "https://ponte.example/fhir/Task/1",
            "search": {"mode": "match"},
            "resource": {
                "resourceType": "Task",
                "id": "1",
                "meta": {"versionId": "2", "lastUpdated": "2026-11-26T10:00:00Z"},
                "text": {"status": "generated", "div": "<div>Richiesta &amp; <b>TSO</b></div>"},
                "status": "requested",
                "intent": "order",
                "priority": "urgent",
                "authoredOn": "2026-11-26T09:00:00+01:00",
                "input": [{"type": {"text": "ore"}, "valueInteger": 48}, {"type": {"text": "ok"}, "valueBoolean": false}, {"type": {"text": "d"}, "valueDecimal": 0.5}]
            }
        }]
    });
    let xml = json_to_xml(&searchset).unwrap();
    assert!(
        xml.contains(
            r#"<type value="searchset"/><total value="1"/><link><relation value="self"/>"#
        ),
        "{xml}"
    );
    assert!(xml.contains(r#"<entry><fullUrl value="https://ponte.example/fhir/Task/1"/><resource><Task><id value="1"/><meta><versionId value="2"/>"#), "{xml}");
    assert!(
        xml.contains(r#"</Task></resource><search><mode value="match"/></search></entry>"#),
        "{xml}"
    );
    assert!(
        xml.contains(
            r#"<div xmlns="http://www.w3.org/1999/xhtml">Richiesta &amp; <b>TSO</b></div>"#
        ),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<valueInteger value="48"/>"#)
            && xml.contains(r#"<valueBoolean value="false"/>"#),
        "{xml}"
    );
    let mut expected = searchset.clone();
    expected["entry"][0]["resource"]["text"]["div"] =
        json!("<div xmlns=\"http://www.w3.org/1999/xhtml\">Richiesta &amp; <b>TSO</b></div>");
    assert_eq!(xml_to_json(xml.as_bytes()).unwrap(), expected);

    let capability = json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-26",
        "kind": "instance",
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "application/fhir+xml"],
        "rest": [{"mode": "server", "security": {"service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "Certificates"}]}]}}]
    });
    let xml = json_to_xml(&capability).unwrap();
    assert!(xml.contains(r#"<fhirVersion value="4.0.1"/><format value="application/fhir+json"/><format value="application/fhir+xml"/><rest><mode value="server"/><security><service><coding>"#), "{xml}");
    assert_eq!(xml_to_json(xml.as_bytes()).unwrap(), capability);
}

#[test]
fn values_json_to_xml_cannot_write_are_server_errors() {
    for value in [
        json!([]),
        json!({"id": "x"}),
        json!({"resourceType": "patient"}),
        json!({"resourceType": "Patient", "bad key": "x"}),
        json!({"resourceType": "Patient", "text": {"status": "generated", "div": "<p>not a div</p>"}}),
        json!({"resourceType": "Patient", "text": {"status": "generated", "div": "<div>&nbsp;</div>"}}),
        json!({"resourceType": "Patient", "text": {"status": "generated", "div": "<div><p></div>"}}),
        json!({"resourceType": "Patient", "name": [[{"text": "x"}]]}),
        json!({"resourceType": "Patient", "birthDate": "1950", "_birthDate": {"foo": 1}}),
    ] {
        let rejection = json_to_xml(&value).expect_err(&value.to_string());
        assert_eq!(
            (rejection.status, rejection.issues[0].rule),
            (500, "xml_serialization"),
            "{value}"
        );
    }
    // Deeper than MAX_JSON_DEPTH, shallower than what overflows a test
    // thread's stack when the value is dropped.
    let mut deep = json!({"url": "x"});
    for _ in 0..300 {
        deep = json!({"url": "x", "extension": [deep]});
    }
    let rejection =
        json_to_xml(&json!({"resourceType": "Patient", "extension": [deep]})).unwrap_err();
    assert_eq!(rejection.issues[0].rule, "xml_serialization");
}
