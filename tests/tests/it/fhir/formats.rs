//! Message Bundles through `$process-message`, FHIR XML in and out, and
//! `Prefer: return=OperationOutcome`.

use std::path::PathBuf;

use super::super::client::{self, Identity};
use super::super::harness::{Options, Server};
use super::{count, fixtures, post, rule_of, valid_fixtures};

#[tokio::test]
async fn process_message_takes_message_bundles() {
    let server = Server::start(Options::default());
    let asl = Identity::dev("asl3-genovese");
    let document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&valid_fixtures()[0]).unwrap()).unwrap();
    let composition = document["entry"][0]["fullUrl"].as_str().unwrap().to_owned();
    let mut message = document.clone();
    message["type"] = "message".into();
    message["entry"].as_array_mut().unwrap().insert(
        0,
        serde_json::json!({
            "fullUrl": "urn:uuid:5d3e4a52-8c2f-4a1e-9d0b-3c1f2e4d5a60",
            "resource": {
                "resourceType": "MessageHeader",
                "id": "msg-1",
                "eventCoding": {"system": "https://ponte.example/fhir/CodeSystem/event", "code": "capacity-report"},
                "source": {"endpoint": "urn:asl3-genovese:sistema-certificati"},
                "focus": [{"reference": composition}]
            }
        }),
    );
    let send = |body: serde_json::Value| {
        let addr = server.https;
        let asl = asl.clone();
        async move {
            client::send_with(
                addr,
                Some(&asl),
                "POST",
                "/fhir/$process-message",
                &[("content-type", "application/fhir+json")],
                serde_json::to_vec(&body).unwrap(),
            )
            .await
            .unwrap()
        }
    };
    let answer = send(message).await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let reply = answer.json();
    assert_eq!(reply["type"], "message");
    assert_eq!(reply["entry"][0]["resource"]["response"]["code"], "ok");
    assert_eq!(
        reply["entry"][0]["resource"]["response"]["identifier"],
        "msg-1"
    );
    assert_eq!(reply["entry"][1]["resource"]["resourceType"], "Task");
    assert!(answer.headers.contains_key("ponte-receipt"));
    // A document is not a message.
    let mut document = document;
    document["identifier"]["value"] = "another-document".into();
    let answer = send(document).await;
    assert_eq!(answer.status, 422);
    assert_eq!(rule_of(&answer), "not_a_message");
}

#[tokio::test]
async fn fhir_xml_in_and_out() {
    let server = Server::start(Options::default());
    let asl = Identity::dev("asl3-genovese");
    let xml_twins: Vec<PathBuf> = valid_fixtures()
        .iter()
        .map(|p| p.with_extension("xml"))
        .collect();
    for file in &xml_twins {
        let answer = client::send_with(
            server.https,
            Some(&asl),
            "POST",
            "/fhir/Bundle",
            &[
                ("content-type", "application/fhir+xml"),
                ("accept", "application/fhir+xml"),
            ],
            std::fs::read(file).unwrap(),
        )
        .await
        .unwrap();
        let text = String::from_utf8_lossy(&answer.body).into_owned();
        assert_eq!(answer.status, 201, "{}: {text}", file.display());
        assert_eq!(answer.headers["content-type"], "application/fhir+xml");
        assert!(
            text.contains("<Task xmlns=\"http://hl7.org/fhir\""),
            "{text}"
        );
    }
    assert_eq!(
        count(
            &server,
            "submission WHERE content_type = 'application/fhir+xml'"
        ),
        xml_twins.len() as i64
    );

    // Errors answer in XML too when XML is asked for.
    let hostile = std::fs::read(fixtures("invalid").join("xml-billion-laughs.xml")).unwrap();
    let answer = client::send_with(
        server.https,
        Some(&asl),
        "POST",
        "/fhir/Bundle?_format=xml",
        &[("content-type", "application/fhir+xml")],
        hostile,
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 400);
    assert_eq!(answer.headers["content-type"], "application/fhir+xml");
    let text = String::from_utf8_lossy(&answer.body);
    assert!(
        text.contains("<OperationOutcome") && text.contains("xml_doctype"),
        "{text}"
    );

    let answer = client::send_with(
        server.https,
        Some(&asl),
        "GET",
        "/fhir/metadata",
        &[("accept", "application/fhir+xml")],
        vec![],
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 200);
    assert!(String::from_utf8_lossy(&answer.body).contains("<fhirVersion value=\"4.0.1\"/>"));
    let answer = client::send_with(
        server.https,
        Some(&asl),
        "GET",
        "/fhir/metadata",
        &[("accept", "text/csv")],
        vec![],
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 406);
}

/// Warnings reach the sender when it asks for an OperationOutcome.
#[tokio::test]
async fn prefer_operation_outcome_returns_the_warnings() {
    let server = Server::start(Options::default());
    let asl = Identity::dev("asl3-genovese");
    // This report uses the wrong codice-fiscale OID: accepted with a warning.
    let body = std::fs::read(fixtures("valid").join("capacity-self-rapallo-oneto.json")).unwrap();
    let answer = post(
        &server,
        &asl,
        body,
        &[("prefer", "return=OperationOutcome")],
    )
    .await;
    assert_eq!(
        answer.status,
        201,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert!(
        answer.headers["location"]
            .to_str()
            .unwrap()
            .starts_with("/fhir/Task/")
    );
    let outcome = answer.json();
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let severities: Vec<&str> = outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["severity"].as_str().unwrap())
        .collect();
    assert!(severities.contains(&"warning"), "{outcome}");
    assert!(severities.contains(&"information"), "{outcome}");
}
