//! The CapabilityStatement served at `GET [base]/metadata`.
//!
//! It lists exactly what Ponte's FHIR endpoint does — no more: creating
//! document Bundles, reading and searching the Tasks that track them, and
//! `$process-message`, over mutual TLS. It is built as JSON here; serving
//! it, and the routes it describes, are the gateway's.

use serde_json::{Value, json};

/// The R4 CapabilityStatement of a Ponte instance. `date` is an R4
/// `dateTime` (e.g. the build or start date); `xml` adds
/// `application/fhir+xml` to the formats, only once XML is really read
/// and written.
pub fn capability_statement(software_version: &str, date: &str, xml: bool) -> Value {
    let mut formats = vec!["application/fhir+json"];
    if xml {
        formats.push("application/fhir+xml");
    }
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": "Ponte",
        "kind": "instance",
        "software": { "name": "Ponte", "version": software_version },
        "implementation": {
            "description": "Ponte: gateway from health authorities (FHIR R4) to the Italian \
                            courts' telematic filing (PCT) for capacity reports and TSO proposals",
        },
        "fhirVersion": "4.0.1",
        "format": formats,
        "rest": [{
            "mode": "server",
            "security": {
                "cors": false,
                "service": [{
                    "coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                        "code": "Certificates",
                    }],
                }],
                "description": "Mutual TLS: every client presents the X.509 certificate issued \
                                to its agency; requests without one are refused during the \
                                handshake.",
            },
            "resource": [
                {
                    "type": "Bundle",
                    "interaction": [{
                        "code": "create",
                        "documentation": "POST /fhir/Bundle with a document Bundle (capacity \
                                          report or TSO proposal); the answer links the Task \
                                          that tracks its filing.",
                    }],
                },
                {
                    "type": "Task",
                    "interaction": [
                        { "code": "read", "documentation": "The filing of a submitted Bundle." },
                        {
                            "code": "search-type",
                            "documentation": "Only the caller's own agency's Tasks.",
                        },
                    ],
                    "searchParam": [
                        { "name": "identifier", "type": "token" },
                        { "name": "status", "type": "token" },
                    ],
                },
            ],
            "operation": [{
                "name": "process-message",
                "definition": "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message",
            }],
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_only_unless_xml() {
        let c = capability_statement("0.1.0", "2025-01-01", false);
        assert_eq!(c["fhirVersion"], "4.0.1");
        assert_eq!(c["format"], json!(["application/fhir+json"]));
        assert_eq!(c["software"]["version"], "0.1.0");
        assert_eq!(
            c["rest"][0]["security"]["service"][0]["coding"][0]["code"],
            "Certificates"
        );
        let c = capability_statement("0.1.0", "2025-01-01", true);
        assert_eq!(
            c["format"],
            json!(["application/fhir+json", "application/fhir+xml"])
        );
    }

    #[test]
    fn lists_exactly_what_works() {
        let c = capability_statement("0.1.0", "2025-01-01", false);
        let resources = c["rest"][0]["resource"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let summary: Vec<(String, Vec<String>)> = resources
            .iter()
            .map(|r| {
                let codes = r["interaction"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|i| i["code"].as_str().unwrap_or_default().to_owned())
                    .collect();
                (r["type"].as_str().unwrap_or_default().to_owned(), codes)
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("Bundle".to_owned(), vec!["create".to_owned()]),
                (
                    "Task".to_owned(),
                    vec!["read".to_owned(), "search-type".to_owned()]
                ),
            ]
        );
        assert_eq!(c["rest"][0]["operation"][0]["name"], "process-message");
    }
}
