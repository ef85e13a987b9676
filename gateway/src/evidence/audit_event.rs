//! The FHIR view of an entry: an R4 AuditEvent shaped after IHE Basic Audit
//! Log Patterns (BALP), for security tooling that speaks FHIR.
//!
//! The client agent is the agency (with its network address), the server
//! agent is Ponte, the X-Request-Id is a transaction entity, and the entry
//! itself is referenced by its log index so the AuditEvent can be tied back
//! to a proof.

use serde_json::{Value, json};

use super::Entry;

/// Renders `entry` as a FHIR R4 AuditEvent; `origin` names the log.
pub fn render(entry: &Entry, origin: &str) -> Value {
    let (action, subtype) = match entry.method.as_deref() {
        Some("POST") => ("C", "create"),
        Some("PUT" | "PATCH") => ("U", "update"),
        Some("DELETE") => ("D", "delete"),
        Some("GET" | "HEAD") => ("R", "read"),
        _ => ("E", "operation"),
    };
    // 0 success, 4 minor failure (refused), 8 serious failure.
    let outcome = match entry.outcome.as_str() {
        "ok" => "0",
        "refused" => "4",
        _ => "8",
    };
    let inbound = entry.direction.as_deref() != Some("outbound");
    let mut client = json!({
        "type": {"coding": [{
            "system": "http://dicom.nema.org/resources/ontology/DCM",
            "code": "110153", "display": "Source Role ID"}]},
        "who": {"identifier": {
            "system": "urn:ponte:agency",
            "value": entry.agency.clone().unwrap_or_else(|| "unknown".into())}},
        "requestor": inbound,
    });
    if let Some(peer) = &entry.peer {
        let host = peer.rsplit_once(':').map_or(peer.as_str(), |(h, _)| h);
        client["network"] = json!({"address": host.trim_matches(['[', ']']), "type": "2"});
    }
    let server = json!({
        "type": {"coding": [{
            "system": "http://dicom.nema.org/resources/ontology/DCM",
            "code": "110152", "display": "Destination Role ID"}]},
        "who": {"display": "Ponte gateway"},
        "requestor": !inbound,
    });
    let mut entities = vec![json!({
        "what": {"identifier": {"system": format!("urn:ponte:evidence:{origin}"),
                                "value": entry.index.to_string()}},
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                 "code": "2", "display": "System Object"},
        "description": "Ponte evidence-log entry",
    })];
    if let Some(request_id) = &entry.request_id {
        entities.push(json!({
            "what": {"identifier": {"value": request_id}},
            "type": {"system": "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType",
                     "code": "XrequestId"},
        }));
    }
    for (kind, id) in &entry.objects {
        entities.push(json!({
            "what": {"identifier": {"system": format!("urn:ponte:{kind}"), "value": id}},
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                     "code": "2", "display": "System Object"},
        }));
    }
    let mut event = json!({
        "resourceType": "AuditEvent",
        "meta": {"profile": ["https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.Read"]},
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
                 "code": "rest", "display": "Restful Operation"},
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": subtype}],
        "action": action,
        "recorded": entry.time,
        "outcome": outcome,
        "agent": [client, server],
        "source": {
            "observer": {"display": "Ponte gateway"},
            "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                      "code": "4", "display": "Application Server"}],
        },
        "entity": entities,
    });
    if action != "R" {
        event["meta"]["profile"] =
            json!(["https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.Create"]);
    }
    if let Some(reason) = &entry.reason {
        event["outcomeDesc"] = json!(reason);
    }
    if entry.kind == "admin" {
        event["type"] = json!({"system": "http://dicom.nema.org/resources/ontology/DCM",
                               "code": "110100", "display": "Application Activity"});
        event["subtype"] = json!([{"system": "urn:ponte:operation",
                                   "code": entry.operation.clone().unwrap_or_default()}]);
        event["meta"] = json!({});
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_entry_becomes_a_balp_audit_event() {
        let entry = Entry {
            agency: Some("asl3-genovese".into()),
            index: 3,
            kind: "exchange".into(),
            method: Some("POST".into()),
            outcome: "ok".into(),
            peer: Some("10.1.2.3:5555".into()),
            request_id: Some("req-9".into()),
            time: "2026-11-26T10:00:00Z".into(),
            v: 1,
            ..Entry::default()
        };
        let event = render(&entry, "ponte.test/log");
        assert_eq!(event["resourceType"], "AuditEvent");
        assert_eq!(event["action"], "C");
        assert_eq!(event["agent"][0]["network"]["address"], "10.1.2.3");
        assert_eq!(
            event["agent"][0]["who"]["identifier"]["value"],
            "asl3-genovese"
        );
        assert_eq!(event["entity"][1]["what"]["identifier"]["value"], "req-9");
        assert_eq!(event["entity"][1]["type"]["code"], "XrequestId");
    }
}
