//! The R4 Task through which a health authority follows the filing of a
//! Bundle it submitted, and the searchset Bundle of a Task search.
//!
//! The gateway owns the filing's state; this module only renders a view of
//! it as FHIR JSON. It does not store, search or authorise anything.

use serde_json::{Value, json};

/// Identifier system of the agency (health authority) that submitted.
pub const AGENCY_SYSTEM: &str = "urn:ponte:agency";

/// What a Task shows of a filing. All strings are rendered as given.
#[derive(Clone, Copy, Debug)]
pub struct TaskView<'a> {
    /// Logical id of the Task.
    pub id: &'a str,
    /// R4 TaskStatus code: `received`, `accepted`, `in-progress`,
    /// `completed`, `failed`, `cancelled` or `rejected`.
    pub status: &'a str,
    /// Ponte's finer stage (e.g. the court's esito), shown as text.
    pub business_status: Option<&'a str>,
    /// Reference to the submitted Bundle, e.g. `Bundle/<id>`.
    pub focus: &'a str,
    /// Business identifier `(system, value)`, e.g. the Bundle's identifier.
    pub identifier: Option<(&'a str, &'a str)>,
    /// Id of the agency that submitted, as configured.
    pub requester: &'a str,
    /// When the submission was received (R4 `dateTime`).
    pub authored_on: &'a str,
    /// When the filing last changed (R4 `dateTime`).
    pub last_modified: &'a str,
    /// Outputs as `(type text, valueString)`, e.g. the court's receipt ids.
    pub outputs: &'a [(&'a str, &'a str)],
}

/// The R4 Task for `view`: intent `order`, code text "Deposito PCT", the
/// requester as an agency identifier.
pub fn task_resource(view: &TaskView<'_>) -> Value {
    let mut task = json!({
        "resourceType": "Task",
        "id": view.id,
        "status": view.status,
        "intent": "order",
        "code": { "text": "Deposito PCT" },
        "focus": { "reference": view.focus },
        "authoredOn": view.authored_on,
        "lastModified": view.last_modified,
        "requester": {
            "identifier": { "system": AGENCY_SYSTEM, "value": view.requester },
        },
    });
    let Some(object) = task.as_object_mut() else {
        return task;
    };
    if let Some((system, value)) = view.identifier {
        object.insert(
            "identifier".into(),
            json!([{ "system": system, "value": value }]),
        );
    }
    if let Some(text) = view.business_status {
        object.insert("businessStatus".into(), json!({ "text": text }));
    }
    if !view.outputs.is_empty() {
        let outputs: Vec<Value> = view
            .outputs
            .iter()
            .map(|(kind, value)| json!({ "type": { "text": kind }, "valueString": value }))
            .collect();
        object.insert("output".into(), Value::Array(outputs));
    }
    task
}

/// A searchset Bundle of `tasks` (as made by [`task_resource`]): `total`,
/// a `self` link, and one entry per Task with fullUrl `Task/<id>` and
/// search mode `match`.
pub fn searchset(tasks: Vec<Value>, self_link: &str) -> Value {
    let total = tasks.len();
    let entries: Vec<Value> = tasks
        .into_iter()
        .map(|task| {
            let id = task.get("id").and_then(Value::as_str).unwrap_or_default();
            json!({
                "fullUrl": format!("Task/{id}"),
                "resource": task,
                "search": { "mode": "match" },
            })
        })
        .collect();
    let mut bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": [{ "relation": "self", "url": self_link }],
    });
    if let (false, Some(object)) = (entries.is_empty(), bundle.as_object_mut()) {
        object.insert("entry".into(), Value::Array(entries));
    }
    bundle
}

#[cfg(test)]
mod tests {
    use fhir_sdk::r4b::resources::{Bundle, CapabilityStatement, OperationOutcome, Task};

    use super::*;
    use crate::{Issue, capability::capability_statement, outcome};

    fn view<'a>(outputs: &'a [(&'a str, &'a str)]) -> TaskView<'a> {
        TaskView {
            id: "01J0TASK",
            status: "in-progress",
            business_status: Some("depositato"),
            focus: "Bundle/01J0BUNDLE",
            identifier: Some((
                "urn:ietf:rfc:3986",
                "urn:uuid:5d2b2a8e-1b1a-4e8f-9b0a-1d3c2f4e5a6b",
            )),
            requester: "asl-roma-1",
            authored_on: "2025-03-01T10:00:00+01:00",
            last_modified: "2025-03-01T10:05:00+01:00",
            outputs,
        }
    }

    #[test]
    fn task_fields() {
        let outputs = [("RdAC", "msg-123@pec.it")];
        let task = task_resource(&view(&outputs));
        assert_eq!(task["intent"], "order");
        assert_eq!(task["code"]["text"], "Deposito PCT");
        assert_eq!(task["requester"]["identifier"]["system"], AGENCY_SYSTEM);
        assert_eq!(task["requester"]["identifier"]["value"], "asl-roma-1");
        assert_eq!(task["output"][0]["type"]["text"], "RdAC");
        assert_eq!(task["output"][0]["valueString"], "msg-123@pec.it");
        assert_eq!(task["businessStatus"]["text"], "depositato");
        let bare = task_resource(&TaskView {
            business_status: None,
            identifier: None,
            ..view(&[])
        });
        assert!(bare.get("output").is_none());
        assert!(bare.get("identifier").is_none());
        assert!(bare.get("businessStatus").is_none());
    }

    #[test]
    fn searchset_entries() {
        let a = task_resource(&view(&[]));
        let set = searchset(
            vec![a],
            "https://ponte.example/fhir/Task?status=in-progress",
        );
        assert_eq!(set["total"], 1);
        assert_eq!(set["entry"][0]["fullUrl"], "Task/01J0TASK");
        assert_eq!(set["entry"][0]["search"]["mode"], "match");
        let empty = searchset(Vec::new(), "https://ponte.example/fhir/Task");
        assert_eq!(empty["total"], 0);
        assert!(empty.get("entry").is_none());
    }

    /// Structural self-check: what Ponte writes is read by fhir-sdk's
    /// models, with no element dropped.
    #[test]
    fn outputs_parse_with_fhir_sdk() {
        fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(value: &Value) {
            let typed: T = serde_json::from_value(value.clone()).expect("parses");
            let again = serde_json::to_value(&typed).expect("serialises");
            assert_eq!(&again, value, "no element lost");
        }
        let outputs = [("RdAC", "msg-123@pec.it"), ("esito", "accettato")];
        let task = task_resource(&view(&outputs));
        round_trip::<Task>(&task);
        round_trip::<Bundle>(&searchset(vec![task], "https://ponte.example/fhir/Task"));
        round_trip::<CapabilityStatement>(&capability_statement("0.1.0", "2025-01-01", true));
        let issues = [Issue::error(
            "value",
            "bundle_type",
            "Bundle.type must be document or message",
            "Bundle.type deve essere document o message",
            "Bundle.type".to_owned(),
        )];
        round_trip::<OperationOutcome>(&outcome::operation_outcome(&issues));
        round_trip::<OperationOutcome>(&outcome::operation_outcome(&[]));
        round_trip::<OperationOutcome>(&outcome::single("not-found", "x", "en", "it"));
    }
}
