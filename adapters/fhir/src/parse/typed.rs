//! JSON → fhir-sdk's R4B `Bundle`, with refusals that say where and why.
//!
//! fhir-sdk reads `Bundle.entry.resource` as an internally tagged enum,
//! which buffers the resource before reading it, so a path-tracking
//! deserializer stops at `entry[i].resource`. When the Bundle fails, each
//! entry's resource is therefore read again on its own, so that every
//! failing entry is reported, and, for the resource types Ponte's profiles
//! use, as its concrete type, to find the element at fault.
//!
//! serde's messages may repeat the offending value (`Unknown value: …`,
//! `invalid type: string "…"`), which may be personal data: they are
//! rewritten here so that only element names, types and allowed codes
//! remain.

use std::str::FromStr;

use fhir_sdk::r4b::resources::{Bundle, Resource, ResourceType};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Segment, Step, fhir_path, is_name, step_path};
use crate::{Issue, Rejection};

/// Resource types of FHIR R4 (4.0.1) that R4B, and so fhir-sdk, does not
/// have: refused with 422 `unsupported_resource_type`.
pub const R4_ONLY_RESOURCE_TYPES: &[&str] = &[
    "EffectEvidenceSynthesis",
    "MedicinalProduct",
    "MedicinalProductAuthorization",
    "MedicinalProductContraindication",
    "MedicinalProductIndication",
    "MedicinalProductIngredient",
    "MedicinalProductInteraction",
    "MedicinalProductManufactured",
    "MedicinalProductPackaged",
    "MedicinalProductPharmaceutical",
    "MedicinalProductUndesirableEffect",
    "RiskEvidenceSynthesis",
    "SubstanceNucleicAcid",
    "SubstancePolymer",
    "SubstanceProtein",
    "SubstanceReferenceInformation",
    "SubstanceSourceMaterial",
    "SubstanceSpecification",
];

/// Refuses entries (and contained resources) whose `resourceType` R4B
/// cannot read, before the typed parse gives a less helpful message.
pub(super) fn check_resource_types(json: &Value) -> Result<(), Rejection> {
    let mut r4_only = Vec::new();
    let mut unknown = Vec::new();
    let mut path = Vec::new();
    visit_resources(json, &mut path, &mut |path, resource_type| {
        if R4_ONLY_RESOURCE_TYPES.contains(&resource_type) {
            r4_only.push(Issue::error(
                "not-supported",
                "unsupported_resource_type",
                format!("resource type {resource_type} (FHIR R4) is not supported by this server"),
                format!(
                    "il tipo di risorsa {resource_type} (FHIR R4) non è supportato da questo server"
                ),
                step_path(path),
            ));
        } else if ResourceType::from_str(resource_type).is_err() {
            let (en, it) = if is_name(resource_type) {
                (
                    format!("unknown resource type {resource_type}"),
                    format!("tipo di risorsa sconosciuto {resource_type}"),
                )
            } else {
                (
                    "resourceType is not a resource type name".to_owned(),
                    "resourceType non è il nome di un tipo di risorsa".to_owned(),
                )
            };
            unknown.push(Issue::error(
                "structure",
                "fhir_structure",
                en,
                it,
                step_path(path),
            ));
        }
    });
    if !unknown.is_empty() {
        unknown.extend(r4_only);
        return Err(Rejection {
            status: 400,
            issues: unknown,
        });
    }
    if !r4_only.is_empty() {
        return Err(Rejection {
            status: 422,
            issues: r4_only,
        });
    }
    Ok(())
}

/// Calls `f` with the path of `resourceType` of every resource nested in
/// `value` (not the top level itself): entries, contained resources,
/// `Parameters.parameter.resource`, Bundles in Bundles.
fn visit_resources<'a>(
    value: &'a Value,
    path: &mut Vec<Step<'a>>,
    f: &mut impl FnMut(&[Step<'_>], &str),
) {
    match value {
        Value::Object(object) => {
            if !path.is_empty()
                && let Some(Value::String(t)) = object.get("resourceType")
            {
                path.push(Step::Key("resourceType"));
                f(path, t);
                path.pop();
            }
            for (key, child) in object {
                // Only objects and arrays can hold a resource.
                if child.is_object() || child.is_array() {
                    path.push(Step::Key(key));
                    visit_resources(child, path, f);
                    path.pop();
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                if child.is_object() || child.is_array() {
                    path.push(Step::Index(i));
                    visit_resources(child, path, f);
                    path.pop();
                }
            }
        }
        _ => {}
    }
}

/// Reads the Bundle; on failure, 400 `fhir_structure` for each failing
/// entry (or for the Bundle's own element).
pub(super) fn bundle(json: &Value) -> Result<Bundle, Rejection> {
    // Paths are tracked only once the Bundle has failed: tracking them on
    // every accepted Bundle costs time, and reading the same `Value` again
    // fails the same way.
    if let Ok(bundle) = Bundle::deserialize(json) {
        return Ok(bundle);
    }
    let error = match serde_path_to_error::deserialize::<_, Bundle>(json) {
        Ok(bundle) => return Ok(bundle),
        Err(error) => error,
    };
    let mut issues = Vec::new();
    if let Some(entries) = json.get("entry").and_then(Value::as_array) {
        for (i, entry) in entries.iter().enumerate() {
            if let Some(resource) = entry.get("resource") {
                let prefix = vec![
                    Segment::Key("entry".into()),
                    Segment::Index(i),
                    Segment::Key("resource".into()),
                ];
                if let Some(issue) = resource_issue(resource, prefix) {
                    issues.push(issue);
                }
            }
        }
    }
    if issues.is_empty() {
        let path = convert(error.path());
        issues.push(structure_issue(error.inner(), &path));
    }
    Err(Rejection {
        status: 400,
        issues,
    })
}

/// The issue, if any, with one resource read on its own.
fn resource_issue(resource: &Value, prefix: Vec<Segment>) -> Option<Issue> {
    let error = Resource::deserialize(resource).err()?;
    let resource_type = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (path, error) = locate(resource_type, resource).unwrap_or((Vec::new(), error));
    let mut full = prefix;
    full.extend(path);
    Some(structure_issue(&error, &full))
}

fn try_as<T: DeserializeOwned>(value: &Value) -> Option<(Vec<Segment>, serde_json::Error)> {
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(_) => None,
        Err(error) => {
            let path = convert(error.path());
            Some((path, error.into_inner()))
        }
    }
}

/// Reads `value` as the R4B resource named `resource_type`; the path inside
/// it and the error if that fails, `None` if it is read or is not one of
/// the types located this way.
///
/// Only the types Ponte's profiles use are listed: each type read through
/// the path-tracking deserializer is compiled once more, and listing all
/// 142 R4B types adds ~25 s to every debug build of this crate. A failing
/// resource of another type is reported at `entry[i].resource`.
fn locate(resource_type: &str, value: &Value) -> Option<(Vec<Segment>, serde_json::Error)> {
    macro_rules! by_type {
        ($($name:ident)*) => {
            match resource_type {
                $(stringify!($name) => try_as::<fhir_sdk::r4b::resources::$name>(value),)*
                _ => None,
            }
        };
    }
    by_type!(
        Binary Composition Condition Consent DocumentReference Encounter Location MessageHeader
        Observation Organization Patient Practitioner PractitionerRole Provenance RelatedPerson
        ServiceRequest
    )
}

fn convert(path: &serde_path_to_error::Path) -> Vec<Segment> {
    use serde_path_to_error::Segment as S;
    path.iter()
        .filter_map(|segment| match segment {
            S::Seq { index } => Some(Segment::Index(*index)),
            S::Map { key } => Some(Segment::Key(key.clone())),
            _ => None,
        })
        .collect()
}

fn structure_issue(error: &serde_json::Error, path: &[Segment]) -> Issue {
    let (en, it) = describe(&error.to_string());
    Issue::error("structure", "fhir_structure", en, it, fhir_path(path))
}

/// Rewrites a serde message so that it names elements, types and allowed
/// codes but never repeats the value sent.
pub(super) fn describe(message: &str) -> (String, String) {
    let backticked = |s: &str| {
        s.split('`')
            .nth(1)
            .filter(|name| is_element_name(name))
            .map(str::to_owned)
    };
    let expected = |s: &str| {
        s.split_once(", expected ")
            .map(|(_, e)| e.chars().take(200).collect::<String>())
            .filter(|e| !e.contains('"'))
    };
    if let Some(rest) = message.strip_prefix("missing field ")
        && let Some(name) = backticked(rest)
    {
        return (
            format!("required element {name} is missing"),
            format!("manca l'elemento obbligatorio {name}"),
        );
    }
    if message.starts_with("Unknown value") || message.starts_with("unknown variant") {
        return (
            "code or value not allowed here".into(),
            "codice o valore non ammesso in questo elemento".into(),
        );
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let kind = rest.split([' ', ',']).next().unwrap_or_default();
            let kind = if is_element_name(kind) { kind } else { "value" };
            return match expected(rest) {
                Some(e) => (
                    format!("wrong type: {kind} found, expected {e}"),
                    format!("tipo errato: trovato {kind}, atteso {e}"),
                ),
                None => (
                    format!("wrong type: {kind} found"),
                    format!("tipo errato: trovato {kind}"),
                ),
            };
        }
    }
    if message.starts_with("invalid length") {
        return (
            message.chars().take(200).collect(),
            format!("lunghezza errata ({message})"),
        );
    }
    if message.starts_with("Couldn't parse")
        || message.starts_with("Invalid month")
        || message.starts_with("Invalid date")
        || message.starts_with("Couldn't split")
        || message.contains("component")
    {
        return (
            "invalid date, time or number format".into(),
            "formato di data, ora o numero non valido".into(),
        );
    }
    if message.starts_with("Invalid symbol")
        || message.starts_with("Invalid padding")
        || message.starts_with("Invalid input length")
        || message.starts_with("Invalid last symbol")
    {
        return (
            "invalid base64 content".into(),
            "contenuto base64 non valido".into(),
        );
    }
    (
        "the element does not match the FHIR R4 structure".into(),
        "l'elemento non rispetta la struttura FHIR R4".into(),
    )
}

fn is_element_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}
