//! Elements fhir-sdk would drop: keys of the original JSON that are missing
//! once the typed Bundle is serialised again.
//!
//! The comparison looks at object keys only, aligning arrays by index (the
//! models keep `null`s in arrays, so indices stay aligned): values may differ
//! legitimately (decimals become `f64`, base64 is re-encoded, instants are
//! re-formatted). A key whose value is empty (`null`, `[]`, `{}`) is
//! reported as an empty element, not an unknown one: the models skip empty
//! values when writing, whether they know the element or not.
//!
//! fhir-sdk also drops, silently, an *optional choice element* (`value[x]`,
//! `effective[x]`, …) whose value it cannot read — a `dateTime` without
//! seconds or time zone, an `integer` sent as a string — and the second of
//! two `value[x]`s. Such a key (a lower-case name ending in an R4 data type
//! name, `effectiveDateTime`) is reported as `unreadable_element`, an error
//! even under [`super::UnknownElements::Warn`]: it is invalid content, not
//! an extension of the standard.

use fhir_sdk::r4b::resources::Bundle;
use serde_json::Value;

use super::{Segment, fhir_path};
use crate::{Issue, Rejection};

/// Rule of an unknown element.
pub(super) const UNKNOWN_ELEMENT: &str = "unknown_element";

/// Rule of an empty element (always a warning).
const EMPTY_ELEMENT: &str = "empty_element";

/// Rule of a choice element the models could not read (always an error).
pub(super) const UNREADABLE_ELEMENT: &str = "unreadable_element";

/// R4 data type names, as they end the JSON name of a choice element.
const DATA_TYPES: &[&str] = &[
    "Base64Binary",
    "Boolean",
    "Canonical",
    "Code",
    "Date",
    "DateTime",
    "Decimal",
    "Id",
    "Instant",
    "Integer",
    "Markdown",
    "Oid",
    "PositiveInt",
    "String",
    "Time",
    "UnsignedInt",
    "Uri",
    "Url",
    "Uuid",
    "Address",
    "Age",
    "Annotation",
    "Attachment",
    "CodeableConcept",
    "Coding",
    "ContactPoint",
    "Count",
    "Distance",
    "Duration",
    "HumanName",
    "Identifier",
    "Money",
    "Period",
    "Quantity",
    "Range",
    "Ratio",
    "Reference",
    "SampledData",
    "Signature",
    "Timing",
    "ContactDetail",
    "Contributor",
    "DataRequirement",
    "Expression",
    "ParameterDefinition",
    "RelatedArtifact",
    "TriggerDefinition",
    "UsageContext",
    "Dosage",
    "Meta",
];

/// Unknown and empty elements of `original`, as errors (the caller decides
/// which become warnings).
pub(super) fn compare(original: &Value, bundle: &Bundle) -> Result<Vec<Issue>, Rejection> {
    let again = serde_json::to_value(bundle).map_err(|e| {
        let (en, it) = super::typed::describe(&e.to_string());
        Rejection::one(
            400,
            Issue::error(
                "structure",
                "fhir_structure",
                format!("the Bundle cannot be represented faithfully: {en}"),
                format!("il Bundle non può essere rappresentato fedelmente: {it}"),
                "Bundle".to_owned(),
            ),
        )
    })?;
    let mut issues = Vec::new();
    let mut path = Vec::new();
    walk(original, &again, &mut path, &mut issues);
    Ok(issues)
}

fn walk(original: &Value, again: &Value, path: &mut Vec<Segment>, issues: &mut Vec<Issue>) {
    match (original, again) {
        (Value::Object(original), Value::Object(again)) => {
            for (key, value) in original {
                path.push(Segment::Key(key.clone()));
                match again.get(key) {
                    Some(other) => walk(value, other, path, issues),
                    None if is_empty(value) => issues.push(empty(path)),
                    None if is_choice(key) => issues.push(unreadable(path)),
                    None => issues.push(unknown(path)),
                }
                path.pop();
            }
        }
        (Value::Array(original), Value::Array(again)) => {
            for (i, (value, other)) in original.iter().zip(again).enumerate() {
                path.push(Segment::Index(i));
                walk(value, other, path, issues);
                path.pop();
            }
        }
        // An object the model kept as something else (never seen): all of
        // its keys are lost.
        (Value::Object(original), _) => {
            for key in original.keys() {
                path.push(Segment::Key(key.clone()));
                issues.push(unknown(path));
                path.pop();
            }
        }
        _ => {}
    }
}

/// Whether `key` looks like a choice element (`valueString`,
/// `_effectiveDateTime`).
fn is_choice(key: &str) -> bool {
    let key = key.strip_prefix('_').unwrap_or(key);
    DATA_TYPES.iter().any(|t| {
        key.strip_suffix(t).is_some_and(|name| {
            name.starts_with(|c: char| c.is_ascii_lowercase())
                && name.bytes().all(|b| b.is_ascii_alphanumeric())
        })
    })
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.iter().all(is_empty),
        Value::Object(object) => object.values().all(is_empty),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

fn unknown(path: &[Segment]) -> Issue {
    Issue::error(
        "structure",
        UNKNOWN_ELEMENT,
        "unknown element: FHIR R4 (as read by this server) does not define it here",
        "elemento sconosciuto: FHIR R4 (come letto da questo server) non lo prevede qui",
        fhir_path(path),
    )
}

fn unreadable(path: &[Segment]) -> Issue {
    Issue::error(
        "structure",
        UNREADABLE_ELEMENT,
        "element not readable: an invalid value of a choice element (value[x]: e.g. a dateTime \
         without seconds or time zone), a second value[x], or an unknown element",
        "elemento non leggibile: valore non valido di un elemento a scelta (value[x]: ad es. un \
         dateTime senza secondi o fuso orario), un secondo value[x], o un elemento sconosciuto",
        fhir_path(path),
    )
}

fn empty(path: &[Segment]) -> Issue {
    Issue::error(
        "structure",
        EMPTY_ELEMENT,
        "empty element: FHIR does not allow empty values, it was ignored",
        "elemento vuoto: FHIR non ammette valori vuoti, è stato ignorato",
        fhir_path(path),
    )
    .warning()
}
