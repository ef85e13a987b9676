//! [`Issue`]s → an R4 OperationOutcome, the body of every FHIR answer that
//! is not a success.
//!
//! Each issue keeps its R4 issue-type code, its Ponte rule as a coding (so a
//! sender's software can branch on it), its English text with the Italian
//! one as a `translation` extension, and its FHIRPath. This module only
//! builds JSON; it chooses no HTTP status and writes no XML.

use serde_json::{Value, json};

use crate::{Issue, Severity};

/// Code system of Ponte's rule codes (`issue.details.coding.system`).
pub const RULE_SYSTEM: &str = "urn:ponte:fhir-rule";

/// The standard extension carrying a translation of a string.
const TRANSLATION: &str = "http://hl7.org/fhir/StructureDefinition/translation";

/// An R4 OperationOutcome with one `issue` per [`Issue`], in order; with no
/// issues, a single `information` issue saying all is well (R4 requires at
/// least one).
pub fn operation_outcome(issues: &[Issue]) -> Value {
    let issues: Vec<Value> = if issues.is_empty() {
        vec![issue_json(
            Severity::Information,
            "informational",
            "all_ok",
            "all OK",
            "tutto in ordine",
            None,
        )]
    } else {
        issues
            .iter()
            .map(|i| {
                issue_json(
                    i.severity,
                    i.code,
                    i.rule,
                    &i.en,
                    &i.it,
                    i.expression.as_deref(),
                )
            })
            .collect()
    };
    json!({
        "resourceType": "OperationOutcome",
        "issue": issues,
    })
}

/// An OperationOutcome with a single `error` issue, for answers that come
/// from no validation step (404, 409, 503, …). `code` is an R4 issue-type
/// code (`not-found`, `conflict`, `transient`, …), `rule` a stable Ponte
/// code.
pub fn single(code: &str, rule: &str, en: &str, it: &str) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": [issue_json(Severity::Error, code, rule, en, it, None)],
    })
}

fn issue_json(
    severity: Severity,
    code: &str,
    rule: &str,
    en: &str,
    it: &str,
    expression: Option<&str>,
) -> Value {
    let severity = match severity {
        Severity::Fatal => "fatal",
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Information => "information",
    };
    let mut issue = json!({
        "severity": severity,
        "code": code,
        "details": {
            "coding": [{ "system": RULE_SYSTEM, "code": rule }],
            "text": en,
            "_text": {
                "extension": [{
                    "url": TRANSLATION,
                    "extension": [
                        { "url": "lang", "valueCode": "it" },
                        { "url": "content", "valueString": it },
                    ],
                }],
            },
        },
    });
    if let (Some(expression), Some(object)) = (expression, issue.as_object_mut()) {
        object.insert("expression".into(), json!([expression]));
    }
    issue
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_issue_per_issue() {
        let issues = [
            Issue::error(
                "required",
                "bdl-9",
                "a document must have an identifier",
                "un documento deve avere un identifier",
                "Bundle.identifier".to_owned(),
            ),
            Issue::error("value", "w", "look", "guarda", None).warning(),
        ];
        let outcome = operation_outcome(&issues);
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        let first = &outcome["issue"][0];
        assert_eq!(first["severity"], "error");
        assert_eq!(first["code"], "required");
        assert_eq!(first["details"]["coding"][0]["system"], RULE_SYSTEM);
        assert_eq!(first["details"]["coding"][0]["code"], "bdl-9");
        assert_eq!(
            first["details"]["text"],
            "a document must have an identifier"
        );
        let translation = &first["details"]["_text"]["extension"][0];
        assert_eq!(translation["url"], TRANSLATION);
        assert_eq!(translation["extension"][0]["valueCode"], "it");
        assert_eq!(
            translation["extension"][1]["valueString"],
            "un documento deve avere un identifier"
        );
        assert_eq!(first["expression"], json!(["Bundle.identifier"]));
        let second = &outcome["issue"][1];
        assert_eq!(second["severity"], "warning");
        assert!(second.get("expression").is_none());
    }

    #[test]
    fn empty_means_all_ok() {
        let outcome = operation_outcome(&[]);
        assert_eq!(outcome["issue"].as_array().map(Vec::len), Some(1));
        assert_eq!(outcome["issue"][0]["severity"], "information");
        assert_eq!(outcome["issue"][0]["code"], "informational");
    }

    #[test]
    fn single_issue() {
        let outcome = single(
            "not-found",
            "task_unknown",
            "no such task",
            "task inesistente",
        );
        assert_eq!(outcome["issue"][0]["code"], "not-found");
        assert_eq!(
            outcome["issue"][0]["details"]["coding"][0]["code"],
            "task_unknown"
        );
    }
}
