//! FHIR R4 XML ⇄ FHIR JSON: [`xml_to_json`] turns an `application/fhir+xml`
//! body into the FHIR JSON of the same resource, so that the JSON pipeline
//! ([`crate::parse`], [`crate::bundle`], [`crate::profile`]) runs on it
//! unchanged; [`json_to_xml`] writes FHIR XML, for answering in
//! `application/fhir+xml`.
//!
//! # Reading, in order
//!
//! 1. A byte scan, before any XML parser sees the body (every refusal is a
//!    400 with one [`Issue`](crate::Issue) per kind found, line and column
//!    in the message):
//!    - `<!DOCTYPE` anywhere, in any case → `xml_doctype`. FHIR XML never has
//!      a DTD, so this refuses external entities (XXE) and entity-expansion
//!      bombs ("billion laughs") whatever they look like;
//!    - `<!ENTITY` anywhere → `xml_entity`;
//!    - a processing instruction other than the XML declaration at the very
//!      start (after an optional byte-order mark) → `xml_processing_instruction`
//!      (FHIR XML needs none; `<?xml-stylesheet?>` is one, and a misplaced
//!      `<?xml …?>` counts too).
//!
//!    The scan is literal: the strings are refused inside comments too.
//! 2. Invalid UTF-8 → `invalid_utf8`; a character XML 1.0 forbids (C0
//!    controls other than tab, CR and LF, U+FFFE, U+FFFF) → `xml_syntax`.
//! 3. One streaming pass over quick-xml's events, with an explicit stack and
//!    no recursion, builds the JSON:
//!    - nesting deeper than [`MAX_DEPTH`] elements → `too_deep` (code
//!      `too-costly`, as for JSON), refused when the element one level too
//!      deep opens (a 100 000-deep document costs 65 elements of parsing);
//!    - malformed or truncated XML, a declaration other than version 1.0 in
//!      UTF-8, an undefined entity → `xml_syntax`;
//!    - what FHIR XML does not allow → `fhir_structure`, with the FHIRPath
//!      of the element: an element outside the FHIR namespace, text outside
//!      the narrative, an attribute other than `id`, `value` and `url`
//!      (namespace declarations and `xsi:` attributes are ignored), `url`
//!      on anything but an extension, a `value` on a complex element, a child
//!      of a primitive other than `extension`, a resource where the
//!      definitions expect none, an element repeated that is not a list, a
//!      malformed boolean, integer or decimal.
//!
//! # How the XML becomes JSON
//!
//! The FHIR JSON representation needs to know, for every element, whether
//! it is a list, a primitive (and then a boolean, a number or a string) or a
//! resource. That knowledge comes from fhirbolt 0.4.0: the R4 type-hint and
//! element-order tables that fhirbolt generates from the R4
//! StructureDefinitions and its path tracker
//! ([`fhirbolt_shared::path::ElementPath`], the crate `fhirbolt-shared`),
//! which is what fhirbolt's own XML reader uses. The `fhirbolt` crate
//! itself is not used, on purpose: its serde layer switches on serde_json's
//! `arbitrary_precision` and `preserve_order` features, and cargo unifies
//! features, so every number read by [`crate::parse`] would become a
//! one-key object. The XML itself is read by quick-xml (no DTD processing,
//! no entity expansion), and the conversion follows fhirbolt's reader:
//! a primitive's `value` becomes `name`, its `id` and extensions `_name`
//! (lists aligned with `null`), a resource inside `contained`,
//! `Bundle.entry.resource` or `Parameters.parameter.resource` becomes an
//! object with `resourceType`, and the narrative `div` becomes a string.
//!
//! # What it does not do
//!
//! - No I/O; no validation against the definitions beyond the shape needed
//!   to convert: an element unknown to R4 is converted as it stands (a
//!   string if it has a `value`, an object otherwise, a list if repeated) so
//!   that [`crate::parse`] refuses or reports it exactly as in JSON. Codes,
//!   cardinalities and invariants are left to the JSON pipeline.
//! - It does not keep the original bytes (keep them for anything signed):
//!   decimals become serde_json numbers (`1.50` reads as `1.5`, as the typed
//!   models do), comments are dropped, attribute values are normalised as
//!   XML requires (a literal tab or line break becomes a space; `&#10;`
//!   stays a line break), and the narrative XHTML is copied as written,
//!   less comments and with line endings normalised (fhirbolt's reader
//!   also trims its whitespace; this one does not).
//!
//! # Writing
//!
//! [`json_to_xml`] orders each element's children as the R4 definitions do
//! (XML is order-sensitive, JSON is not), writes `id` and an extension's
//! `url` as attributes, merges `name` and `_name`, wraps resources inside
//! `contained`, `resource` and the like, and copies the narrative after
//! checking it is well-formed XHTML. A value it cannot write (no
//! `resourceType`, a key that is not an XML name, a malformed narrative, a
//! value deeper than [`MAX_JSON_DEPTH`]) is a server error: 500
//! `xml_serialization`. Characters XML 1.0 cannot carry become U+FFFD.
//!
//! # Layout
//!
//! `screen` (byte scan, UTF-8 and character checks), `read` (XML → JSON),
//! `write` (JSON → XML), and what they share: `chars` (name and character
//! rules) and `errors` (line and column, `xml_syntax`).

use serde_json::Value;

use crate::Rejection;

mod chars;
mod errors;
mod read;
mod screen;
mod write;

use read::Reader;
use screen::{check_chars, invalid_utf8, screen};

/// Deepest element nesting accepted in an XML body (the root is at depth
/// 1). Real FHIR documents stay well below it.
pub const MAX_DEPTH: usize = 64;

/// Deepest JSON nesting [`json_to_xml`] writes.
pub const MAX_JSON_DEPTH: usize = 128;

/// Namespace of FHIR XML elements.
pub const FHIR_NAMESPACE: &str = "http://hl7.org/fhir";

/// Namespace of the narrative (`Narrative.div`).
pub const XHTML_NAMESPACE: &str = "http://www.w3.org/1999/xhtml";

/// Reads an `application/fhir+xml` body as the FHIR JSON of the same
/// resource.
///
/// Every refusal is a 400 [`Rejection`]: `xml_doctype`, `xml_entity`,
/// `xml_processing_instruction` (found by a byte scan before any parser
/// runs), `invalid_utf8`, `too_deep`, `xml_syntax` or `fhir_structure`;
/// see the [module documentation](self). Never panics.
pub fn xml_to_json(body: &[u8]) -> Result<Value, Rejection> {
    screen(body)?;
    let text = match std::str::from_utf8(body) {
        Ok(text) => text,
        Err(error) => return Err(invalid_utf8(body, error.valid_up_to())),
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    check_chars(text)?;
    Reader::new(text).read()
}

/// Writes FHIR JSON (a resource with `resourceType`) as FHIR XML, with the
/// XML declaration, children in the order of the R4 definitions.
///
/// A value that cannot be written is refused with 500 `xml_serialization`
/// (it is the server's own output that is wrong); see the [module
/// documentation](self). Never panics.
pub fn json_to_xml(value: &Value) -> Result<String, Rejection> {
    write::document(value)
}
