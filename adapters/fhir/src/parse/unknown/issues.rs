//! What the comparison reports: the rules, how a lost key is classified
//! (unknown, an unreadable choice element, empty) and the issue for each.

use serde_json::Value;

use crate::Issue;

/// Rule of an unknown element.
pub(in crate::parse) const UNKNOWN_ELEMENT: &str = "unknown_element";

/// Rule of an empty element (always a warning).
const EMPTY_ELEMENT: &str = "empty_element";

/// Rule of a choice element the models could not read (always an error).
pub(in crate::parse) const UNREADABLE_ELEMENT: &str = "unreadable_element";

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

/// How a key the model did not write back is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Unknown,
    Unreadable,
    Empty,
}

/// Whether `key` looks like a choice element (`valueString`,
/// `_effectiveDateTime`).
pub(super) fn is_choice(key: &str) -> bool {
    let key = key.strip_prefix('_').unwrap_or(key);
    DATA_TYPES.iter().any(|t| {
        key.strip_suffix(t).is_some_and(|name| {
            name.starts_with(|c: char| c.is_ascii_lowercase())
                && name.bytes().all(|b| b.is_ascii_alphanumeric())
        })
    })
}

pub(super) fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.iter().all(is_empty),
        Value::Object(object) => object.values().all(is_empty),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

pub(super) fn unknown(expression: String) -> Issue {
    Issue::error(
        "structure",
        UNKNOWN_ELEMENT,
        "unknown element: FHIR R4 (as read by this server) does not define it here",
        "elemento sconosciuto: FHIR R4 (come letto da questo server) non lo prevede qui",
        expression,
    )
}

pub(super) fn unreadable(expression: String) -> Issue {
    Issue::error(
        "structure",
        UNREADABLE_ELEMENT,
        "element not readable: an invalid value of a choice element (value[x]: e.g. a dateTime \
         without seconds or time zone), a second value[x], or an unknown element",
        "elemento non leggibile: valore non valido di un elemento a scelta (value[x]: ad es. un \
         dateTime senza secondi o fuso orario), un secondo value[x], o un elemento sconosciuto",
        expression,
    )
}

pub(super) fn empty(expression: String) -> Issue {
    Issue::error(
        "structure",
        EMPTY_ELEMENT,
        "empty element: FHIR does not allow empty values, it was ignored",
        "elemento vuoto: FHIR non ammette valori vuoti, è stato ignorato",
        expression,
    )
    .warning()
}
