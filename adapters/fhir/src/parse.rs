//! Bytes → a typed FHIR Bundle, refusing anything that would be read wrongly
//! or lose data.
//!
//! The steps, each with its refusal ([`Rejection`] with one or more
//! [`Issue`]s, messages in English and Italian, FHIRPath of the element):
//!
//! 1. XML is converted to the equivalent JSON by [`crate::xml`] (which
//!    refuses DOCTYPEs, entities and processing instructions first).
//! 2. Invalid UTF-8 → 400 `invalid_utf8` (a leading byte-order mark is
//!    skipped, as RFC 8259 allows).
//! 3. One streaming pass builds the JSON value and refuses, *before* going
//!    deeper, syntax errors and truncation (400 `json_syntax`, with line and
//!    column), duplicate keys (400 `json_duplicate_key`) and nesting beyond
//!    [`Limits::max_depth`] (400 `too_deep`, code `too-costly`): a
//!    100 000-deep document is refused at the limit, never on a stack
//!    overflow.
//! 4. The top level must be an object with `resourceType` `Bundle`
//!    (422 `not_a_bundle`); an entry's resource type must exist in R4B
//!    (422 `unsupported_resource_type` for the R4-only types listed below,
//!    400 `fhir_structure` for types that do not exist at all).
//! 5. Base64 attachments (`data` of Attachment, Binary, Signature) larger
//!    than [`Limits::max_attachment_bytes`] once decoded → 422
//!    `attachment_too_large` (code `too-long`; the body itself passed the
//!    gateway's size limit, so this is a rule, not 413).
//! 6. Typed parsing with fhir-sdk's R4B models; a failure → 400
//!    `fhir_structure` for every failing entry, with the path of the element.
//!    Codes are enums there, so an unknown code is refused here.
//! 7. Elements the models do not know would be dropped silently, so the
//!    typed model is written back into a serializer that walks the original
//!    JSON alongside and builds nothing (`unknown.rs`): every key present
//!    only in the original is an unknown element → 400
//!    `unknown_element` ([`UnknownElements::Refuse`]) or a warning
//!    ([`UnknownElements::Warn`]). An optional choice element fhir-sdk could
//!    not read (it drops those silently too: `effectiveDateTime` without
//!    seconds) → 400 `unreadable_element`, always. Empty values (`null`,
//!    `[]`, `{}`), which FHIR forbids but which carry no data, only give an
//!    `empty_element` warning.
//!
//! This module does no I/O, checks no Bundle rule (see [`crate::bundle`]) and
//! no profile (see [`crate::profile`]); it keeps the original JSON, because
//! the typed model normalises values (decimals become `f64`, `1.50` comes
//! back as `1.5`).
//!
//! # Gaps between R4 (what is sent) and fhir-sdk's R4B models (what reads it)
//!
//! Met on the 639 official R4 examples (`../shared/fhir-examples/r4/json`,
//! each non-Bundle wrapped in a collection Bundle; test `official_examples`
//! in `tests/parse/examples.rs` prints the list with `--nocapture`): 625
//! accepted with no unknown element, 14 refused —
//!
//! - **R4-only resource types**, which R4B dropped: 13 examples
//!   (`EffectEvidenceSynthesis`, `RiskEvidenceSynthesis`,
//!   `SubstanceSpecification` and ten `MedicinalProduct*`), refused with 422
//!   `unsupported_resource_type`. All 18 such types are in
//!   [`R4_ONLY_RESOURCE_TYPES`]; none belongs in a capacity report or a TSO
//!   proposal.
//! - **Resources redesigned in R4B**: `Evidence-example.json` is refused with
//!   400 `fhir_structure` (R4B requires `Evidence.variableDefinition`, which
//!   R4 does not have). The R4 examples of `EvidenceVariable` and
//!   `MedicationKnowledge`, also changed in R4B, are read without loss.
//! - No R4 element unknown to R4B and no R4 code refused by R4B's enums was
//!   met. The resources a capacity report or TSO proposal uses (Composition,
//!   Patient, Practitioner, PractitionerRole, Organization, RelatedPerson,
//!   Observation, Condition, DocumentReference, Binary, Consent,
//!   MessageHeader) were read without loss in every example and in the 11
//!   valid Bundles of `tests/fixtures/fhir/valid`.
//!
//! Behaviours of fhir-sdk (not of R4B) that this module compensates for:
//!
//! - unknown elements are dropped silently → compared and reported;
//! - an optional choice element (`effective[x]`, `value[x]`) with an
//!   unreadable value (`"effectiveDateTime": "2025-03-01T10:00+01:00"`,
//!   `"valueInteger": "5"`, a second `value[x]`) is dropped silently, because
//!   the models read it as a flattened `Option` → `unreadable_element`;
//! - decimals are `f64` (`18.50` comes back as `18.5`, digits beyond ~17 are
//!   lost) → the original JSON is kept in [`Parsed::json`];
//! - cardinalities beyond required elements, and invariants, are not
//!   checked → Bundle rules in [`crate::bundle`], the rest in
//!   [`crate::profile`].

mod scan;
mod typed;
mod unknown;

use std::fmt::Write as _;

use fhir_sdk::r4b::resources::Bundle;
use serde_json::Value;

use crate::{Format, Issue, Rejection};

pub use typed::R4_ONLY_RESOURCE_TYPES;

/// What to do with elements fhir-sdk's models do not know (and would drop).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnknownElements {
    /// Refuse the submission (400 `unknown_element`): nothing sent is lost.
    #[default]
    Refuse,
    /// Accept it with an `unknown_element` warning per element; the
    /// original JSON in [`Parsed::json`] still holds them.
    Warn,
}

/// Limits on hostile input. The body size limit sits in the gateway, before
/// this crate sees any byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of JSON objects and arrays accepted (the top-level
    /// object is level 1). Default 64: real FHIR content rarely passes 15
    /// (a Questionnaire nesting items reaches ~30), and 64 keeps the
    /// recursive typed parse far from serde_json's own limit of 128.
    pub max_depth: usize,
    /// Largest base64 attachment accepted, in decoded bytes. Default 20 MiB:
    /// a scanned signed certificate is a few MiB; more points to a mistake.
    pub max_attachment_bytes: usize,
    /// What to do with unknown elements. Default [`UnknownElements::Refuse`]:
    /// a court filing must not lose what the sender wrote.
    pub unknown_elements: UnknownElements,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 64,
            max_attachment_bytes: 20 * 1024 * 1024,
            unknown_elements: UnknownElements::Refuse,
        }
    }
}

/// A Bundle that passed [`parse`].
#[derive(Clone, Debug)]
pub struct Parsed {
    /// The JSON exactly as sent (values not normalised): the source of
    /// truth for anything stored, hashed or mapped.
    pub json: Value,
    /// The same Bundle read by fhir-sdk's R4B models.
    pub bundle: Bundle,
    /// Warnings: unknown elements under [`UnknownElements::Warn`], empty
    /// elements.
    pub warnings: Vec<Issue>,
}

/// Parses a request body into a typed Bundle, or says why not (see the
/// module documentation for each step and its status).
pub fn parse(body: &[u8], format: Format, limits: &Limits) -> Result<Parsed, Rejection> {
    // XML is converted to the equivalent JSON (after its own hostile-input
    // checks), then follows exactly the JSON path below.
    let converted;
    let body = match format {
        Format::Json => body,
        Format::Xml => {
            let value = crate::xml::xml_to_json(body)?;
            converted = serde_json::to_vec(&value).map_err(|_| {
                Rejection::one(
                    400,
                    Issue::error(
                        "structure",
                        "fhir_structure",
                        "the XML document cannot be represented as FHIR JSON",
                        "il documento XML non è rappresentabile come FHIR JSON",
                        None,
                    ),
                )
            })?;
            &converted[..]
        }
    };
    let text = utf8(body)?;
    let json = scan::scan(text, limits.max_depth)?;
    check_bundle_type(&json)?;
    typed::check_resource_types(&json)?;
    check_attachments(&json, limits.max_attachment_bytes)?;
    let bundle = typed::bundle(&json)?;
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    for issue in unknown::compare(&json, &bundle)? {
        let refuse = match issue.rule {
            unknown::UNREADABLE_ELEMENT => true,
            unknown::UNKNOWN_ELEMENT => limits.unknown_elements == UnknownElements::Refuse,
            _ => false,
        };
        if refuse {
            errors.push(issue);
        } else {
            warnings.push(issue.warning());
        }
    }
    if !errors.is_empty() {
        return Err(Rejection {
            status: 400,
            issues: errors,
        });
    }
    Ok(Parsed {
        json,
        bundle,
        warnings,
    })
}

fn utf8(body: &[u8]) -> Result<&str, Rejection> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    std::str::from_utf8(body).map_err(|e| {
        let at = e.valid_up_to();
        Rejection::one(
            400,
            Issue::error(
                "structure",
                "invalid_utf8",
                format!("the body is not valid UTF-8 (byte {at})"),
                format!("il contenuto non è UTF-8 valido (byte {at})"),
                None,
            ),
        )
    })
}

fn check_bundle_type(json: &Value) -> Result<(), Rejection> {
    let refuse = |en: String, it: String| {
        Rejection::one(
            422,
            Issue::error("structure", "not_a_bundle", en, it, "Bundle".to_owned()),
        )
    };
    let Some(object) = json.as_object() else {
        return Err(refuse(
            "expected a FHIR Bundle: the body is not a JSON object".into(),
            "atteso un Bundle FHIR: il contenuto non è un oggetto JSON".into(),
        ));
    };
    match object.get("resourceType") {
        Some(Value::String(t)) if t == "Bundle" => Ok(()),
        Some(Value::String(t)) if is_name(t) => Err(refuse(
            format!("expected a FHIR Bundle, got a {t}"),
            format!("atteso un Bundle FHIR, ricevuto un {t}"),
        )),
        Some(_) => Err(refuse(
            "expected a FHIR Bundle: resourceType is not a resource type name".into(),
            "atteso un Bundle FHIR: resourceType non è il nome di un tipo di risorsa".into(),
        )),
        None => Err(refuse(
            "expected a FHIR Bundle: resourceType is missing".into(),
            "atteso un Bundle FHIR: manca resourceType".into(),
        )),
    }
}

/// Whether `s` looks like a resource type name, safe to repeat in a message.
pub(crate) fn is_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Refuses base64 `data` larger than `max` bytes once decoded, without
/// decoding it. `SampledData.data` is not base64 and is recognised by its
/// sibling `dimensions`.
fn check_attachments(json: &Value, max: usize) -> Result<(), Rejection> {
    let mut path = Vec::new();
    let mut found = Vec::new();
    find_large_data(json, max, &mut path, &mut found);
    if found.is_empty() {
        return Ok(());
    }
    let mib = max / (1024 * 1024);
    let issues = found
        .into_iter()
        .map(|p| {
            Issue::error(
                "too-long",
                "attachment_too_large",
                format!("attachment larger than {mib} MiB ({max} bytes) once decoded"),
                format!("allegato più grande di {mib} MiB ({max} byte) una volta decodificato"),
                p,
            )
        })
        .collect();
    Err(Rejection {
        status: 422,
        issues,
    })
}

fn find_large_data<'a>(
    value: &'a Value,
    max: usize,
    path: &mut Vec<Step<'a>>,
    found: &mut Vec<String>,
) {
    match value {
        Value::Object(object) => {
            if let Some(Value::String(data)) = object.get("data")
                && !object.contains_key("dimensions")
                && decoded_len(data) > max
            {
                path.push(Step::Key("data"));
                found.push(step_path(path));
                path.pop();
            }
            for (key, child) in object {
                // Only objects and arrays can hold `data`.
                if child.is_object() || child.is_array() {
                    path.push(Step::Key(key));
                    find_large_data(child, max, path, found);
                    path.pop();
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                if child.is_object() || child.is_array() {
                    path.push(Step::Index(i));
                    find_large_data(child, max, path, found);
                    path.pop();
                }
            }
        }
        _ => {}
    }
}

/// Decoded length of base64 text, ignoring whitespace and padding.
fn decoded_len(base64: &str) -> usize {
    let symbols = base64
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
        .count();
    symbols / 4 * 3 + (symbols % 4 * 3) / 4
}

/// One step of a JSON path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    /// An object key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// One step of a JSON path that borrows its key from the JSON being walked
/// (a path is made of [`Segment`]s only when an issue is reported).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Step<'a> {
    /// An object key.
    Key(&'a str),
    /// An array index.
    Index(usize),
}

/// [`fhir_path`] of a borrowed path.
pub(crate) fn step_path(path: &[Step<'_>]) -> String {
    let owned: Vec<Segment> = path
        .iter()
        .map(|step| match *step {
            Step::Key(key) => Segment::Key(key.to_owned()),
            Step::Index(i) => Segment::Index(i),
        })
        .collect();
    fhir_path(&owned)
}

/// A JSON path inside the Bundle as a FHIRPath-like expression:
/// `Bundle.entry[1].resource.name[0].given`. A primitive's extension
/// (`_given`) is the element itself in FHIRPath (`given`); a key that is
/// not a plain name is quoted (`` `a key` ``) and shortened.
pub(crate) fn fhir_path(path: &[Segment]) -> String {
    let mut out = String::from("Bundle");
    for segment in path {
        match segment {
            Segment::Key(key) => {
                let key = key
                    .strip_prefix('_')
                    .filter(|k| !k.is_empty())
                    .unwrap_or(key);
                out.push('.');
                if !key.is_empty()
                    && key.len() <= 64
                    && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    out.push_str(key);
                } else {
                    let shown: String = key
                        .chars()
                        .take(32)
                        .map(|c| if c == '`' || c.is_control() { '?' } else { c })
                        .collect();
                    let _ = write!(out, "`{shown}`");
                }
            }
            Segment::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
