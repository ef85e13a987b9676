//! FHIR R4 XML ⇄ FHIR JSON: [`xml_to_json`] turns an `application/fhir+xml`
//! body into the FHIR JSON of the same resource, so that the JSON pipeline
//! ([`crate::parse`], [`crate::bundle`], [`crate::profile`]) runs on it
//! unchanged; [`json_to_xml`] writes FHIR XML, for answering in
//! `application/fhir+xml`.
//!
//! # Reading, in order
//!
//! 1. A byte scan, before any XML parser sees the body (every refusal is a
//!    400 with one [`Issue`] per kind found, line and column in the
//!    message):
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

use serde_json::{Map, Number, Value};

use fhirbolt_shared::{FhirReleases, path::ElementPath};
use quick_xml::{
    XmlVersion,
    events::{BytesStart, Event},
    name::{Namespace, QName, ResolveResult},
    reader::NsReader,
};

use crate::{Issue, Rejection};

/// Deepest element nesting accepted in an XML body (the root is at depth
/// 1). Real FHIR documents stay well below it.
pub const MAX_DEPTH: usize = 64;

/// Deepest JSON nesting [`json_to_xml`] writes.
pub const MAX_JSON_DEPTH: usize = 128;

/// Namespace of FHIR XML elements.
pub const FHIR_NAMESPACE: &str = "http://hl7.org/fhir";

/// Namespace of the narrative (`Narrative.div`).
pub const XHTML_NAMESPACE: &str = "http://www.w3.org/1999/xhtml";

/// Namespace of `xsi:schemaLocation`, which examples carry and which is
/// ignored.
const XSI_NAMESPACE: &str = "http://www.w3.org/2001/XMLSchema-instance";

const XML_DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

const BOM: &[u8] = b"\xEF\xBB\xBF";

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
    let Some(object) = value.as_object() else {
        return Err(write_error(
            "the value is not a JSON object",
            "il valore non è un oggetto JSON",
            "",
        ));
    };
    let Some(resource_type) = object.get("resourceType").and_then(Value::as_str) else {
        return Err(write_error(
            "the value has no resourceType",
            "il valore non ha resourceType",
            "",
        ));
    };
    let mut writer = Writer {
        out: String::from(XML_DECLARATION),
        path: ElementPath::new(FhirReleases::R4),
        depth: 0,
    };
    writer.resource(resource_type, object, true, "")?;
    Ok(writer.out)
}

// ---------------------------------------------------------------------------
// Byte scan and character checks

fn screen(body: &[u8]) -> Result<(), Rejection> {
    let start = if body.starts_with(BOM) { BOM.len() } else { 0 };
    let (mut doctype, mut entity, mut instruction) = (None, None, None);
    for (at, _) in body.iter().enumerate().filter(|(_, byte)| **byte == b'<') {
        let rest = &body[at + 1..];
        if let Some(declaration) = rest.strip_prefix(b"!") {
            if starts_with_ignore_case(declaration, b"DOCTYPE") {
                doctype.get_or_insert(at);
            } else if starts_with_ignore_case(declaration, b"ENTITY") {
                entity.get_or_insert(at);
            }
        } else if let Some(target) = rest.strip_prefix(b"?") {
            let is_declaration = at == start
                && target.starts_with(b"xml")
                && target
                    .get(3)
                    .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
            if !is_declaration {
                instruction.get_or_insert(at);
            }
        }
    }
    let mut issues = Vec::new();
    if let Some(at) = doctype {
        let (line, column) = line_column(body, at);
        issues.push(Issue::error(
            "security",
            "xml_doctype",
            format!(
                "XML with a document type declaration (<!DOCTYPE) at line {line}, column {column}: \
                 FHIR XML never has one, and it can hide external entities or entity expansion"
            ),
            format!(
                "XML con una dichiarazione del tipo di documento (<!DOCTYPE) alla riga {line}, \
                 colonna {column}: FHIR XML non ne ha mai, e può nascondere entità esterne o \
                 espansioni di entità"
            ),
            None,
        ));
    }
    if let Some(at) = entity {
        let (line, column) = line_column(body, at);
        issues.push(Issue::error(
            "security",
            "xml_entity",
            format!("XML entity declaration (<!ENTITY) at line {line}, column {column}: not allowed in FHIR XML"),
            format!("dichiarazione di entità XML (<!ENTITY) alla riga {line}, colonna {column}: non ammessa in FHIR XML"),
            None,
        ));
    }
    if let Some(at) = instruction {
        let (line, column) = line_column(body, at);
        issues.push(Issue::error(
            "structure",
            "xml_processing_instruction",
            format!(
                "XML processing instruction at line {line}, column {column}: FHIR XML allows only \
                 the XML declaration, at the very start"
            ),
            format!(
                "istruzione di elaborazione XML alla riga {line}, colonna {column}: FHIR XML ammette \
                 solo la dichiarazione XML, all'inizio del documento"
            ),
            None,
        ));
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(Rejection {
            status: 400,
            issues,
        })
    }
}

fn starts_with_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.len() >= needle.len() && haystack[..needle.len()].eq_ignore_ascii_case(needle)
}

/// Line and column (both from 1, the column in bytes) of a byte offset.
fn line_column(text: &[u8], at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    (line, column)
}

fn invalid_utf8(body: &[u8], at: usize) -> Rejection {
    let (line, column) = line_column(body, at);
    Rejection::one(
        400,
        Issue::error(
            "structure",
            "invalid_utf8",
            format!(
                "the body is not valid UTF-8 (line {line}, column {column}); FHIR XML is UTF-8"
            ),
            format!(
                "il corpo non è UTF-8 valido (riga {line}, colonna {column}); FHIR XML è in UTF-8"
            ),
            None,
        ),
    )
}

fn check_chars(text: &str) -> Result<(), Rejection> {
    let forbidden = text.char_indices().find(|(_, c)| {
        (*c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    });
    match forbidden {
        None => Ok(()),
        Some((at, c)) => {
            let (line, column) = line_column(text.as_bytes(), at);
            let code = u32::from(c);
            Err(syntax(
                format!(
                    "character U+{code:04X} at line {line}, column {column} is not allowed in XML"
                ),
                format!(
                    "il carattere U+{code:04X} alla riga {line}, colonna {column} non è ammesso in XML"
                ),
            ))
        }
    }
}

fn syntax(en: String, it: String) -> Rejection {
    Rejection::one(400, Issue::error("structure", "xml_syntax", en, it, None))
}

// ---------------------------------------------------------------------------
// XML → JSON

/// JSON type of a primitive's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Primitive {
    String,
    Boolean,
    Integer,
    Decimal,
}

/// What a closed element contributes to its parent.
enum Item {
    /// A primitive: its `value` (typed) and its `_name` object (id,
    /// extensions), either possibly absent.
    Primitive(Option<Value>, Option<Map<String, Value>>),
    /// A complex element or a resource.
    Complex(Map<String, Value>),
}

/// The occurrences of one child name, in document order.
struct Field {
    name: String,
    list: bool,
    items: Vec<Item>,
}

/// An open element.
struct Frame {
    /// Local name.
    name: String,
    /// FHIRPath segment (`name`, `name[2]`); empty for a resource inside its
    /// wrapper element, which the path does not show.
    segment: String,
    /// A resource: the root, or the child of `contained`, `resource`, ….
    resource: bool,
    /// Known to the R4 definitions at this place.
    known: bool,
    /// Some for a primitive.
    primitive: Option<Primitive>,
    /// A list in FHIR JSON.
    list: bool,
    id: Option<String>,
    url: Option<String>,
    value: Option<String>,
    fields: Vec<Field>,
    /// The resource this element wraps (`<resource><Patient>…`).
    wrapped: Option<Map<String, Value>>,
    /// Byte offset of the start tag, for messages.
    at: usize,
}

/// Why the attributes of an element were refused: a ready syntax error, or
/// a structure error (English, Italian) waiting for its FHIRPath.
enum AttributeError {
    Syntax(Rejection),
    Structure(String, String),
}

/// Attributes of a FHIR element.
#[derive(Default)]
struct Attributes {
    id: Option<String>,
    url: Option<String>,
    value: Option<String>,
}

struct Reader<'a> {
    text: &'a str,
    reader: NsReader<&'a [u8]>,
    path: ElementPath,
    stack: Vec<Frame>,
    root: Option<Map<String, Value>>,
    version: XmlVersion,
}

/// Where an event sits in the namespaces that matter.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Space {
    Fhir,
    Xhtml,
    Other,
}

fn space(resolved: &ResolveResult<'_>) -> Space {
    match resolved {
        ResolveResult::Bound(Namespace(ns)) if *ns == FHIR_NAMESPACE => Space::Fhir,
        ResolveResult::Bound(Namespace(ns)) if *ns == XHTML_NAMESPACE => Space::Xhtml,
        _ => Space::Other,
    }
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Self {
        let mut reader = NsReader::from_str(text);
        let config = reader.config_mut();
        config.trim_text(false);
        config.check_end_names = true;
        config.check_comments = true;
        config.expand_empty_elements = false;
        Self {
            text,
            reader,
            path: ElementPath::new(FhirReleases::R4),
            stack: Vec::new(),
            root: None,
            version: XmlVersion::Implicit1_0,
        }
    }

    fn read(mut self) -> Result<Value, Rejection> {
        loop {
            let at = self.position();
            let (resolved, event) = match self.reader.read_resolved_event() {
                Ok(pair) => pair,
                Err(error) => return Err(self.parser_error(&error)),
            };
            let space = space(&resolved);
            match event {
                Event::Decl(declaration) => {
                    let version = declaration.xml_version().ok();
                    if version != Some(XmlVersion::Explicit1_0) {
                        return Err(syntax(
                            "the XML declaration must say version 1.0".into(),
                            "la dichiarazione XML deve indicare la versione 1.0".into(),
                        ));
                    }
                    self.version = XmlVersion::Explicit1_0;
                    if let Some(encoding) = declaration.encoding() {
                        let utf8 = encoding.is_ok_and(|e| e.eq_ignore_ascii_case("UTF-8"));
                        if !utf8 {
                            return Err(syntax(
                                "the XML declaration names an encoding other than UTF-8; FHIR XML is UTF-8".into(),
                                "la dichiarazione XML indica una codifica diversa da UTF-8; FHIR XML è in UTF-8".into(),
                            ));
                        }
                    }
                }
                Event::Start(start) => self.open(&start, space, false, at)?,
                Event::Empty(start) => self.open(&start, space, true, at)?,
                Event::End(_) => self.close()?,
                Event::Text(text) => {
                    let blank = is_blank(&text);
                    if !blank {
                        return Err(self.text_outside(at));
                    }
                }
                Event::CData(data) => {
                    if !is_blank(&data) {
                        return Err(self.text_outside(at));
                    }
                }
                Event::GeneralRef(_) => return Err(self.text_outside(at)),
                Event::Comment(_) => {}
                // The byte scan refused both before the parser ran.
                Event::PI(_) | Event::DocType(_) => {
                    return Err(syntax(
                        "unexpected processing instruction or document type".into(),
                        "istruzione di elaborazione o tipo di documento inattesi".into(),
                    ));
                }
                Event::Eof => return self.finish(),
            }
        }
    }

    fn position(&self) -> usize {
        usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX)
    }

    fn line_column(&self, at: usize) -> (usize, usize) {
        line_column(self.text.as_bytes(), at)
    }

    fn truncated(&self) -> Rejection {
        let (line, column) = self.line_column(self.text.len());
        Rejection::one(
            400,
            Issue::error(
                "structure",
                "xml_syntax",
                format!(
                    "truncated XML: the document ends (line {line}, column {column}) before its elements are closed"
                ),
                format!(
                    "XML troncato: il documento finisce (riga {line}, colonna {column}) prima che i suoi elementi siano chiusi"
                ),
                self.expression(),
            ),
        )
    }

    fn finish(mut self) -> Result<Value, Rejection> {
        if !self.stack.is_empty() {
            return Err(self.truncated());
        }
        match self.root.take() {
            Some(root) => Ok(Value::Object(root)),
            None => Err(syntax(
                "the body has no XML root element".into(),
                "il corpo non ha un elemento XML radice".into(),
            )),
        }
    }

    /// FHIRPath of the innermost open element.
    fn expression(&self) -> Option<String> {
        let segments: Vec<&str> = self
            .stack
            .iter()
            .map(|frame| frame.segment.as_str())
            .filter(|segment| !segment.is_empty())
            .collect();
        (!segments.is_empty()).then(|| segments.join("."))
    }

    /// FHIRPath of a child named `segment` of the innermost open element.
    fn child_expression(&self, segment: &str) -> Option<String> {
        match self.expression() {
            Some(parent) if !segment.is_empty() => Some(format!("{parent}.{segment}")),
            Some(parent) => Some(parent),
            None if !segment.is_empty() => Some(segment.to_owned()),
            None => None,
        }
    }

    fn parser_error(&self, error: &quick_xml::Error) -> Rejection {
        let at = usize::try_from(self.reader.error_position()).unwrap_or(usize::MAX);
        let (line, column) = self.line_column(at);
        Rejection::one(
            400,
            Issue::error(
                "structure",
                "xml_syntax",
                format!("invalid XML at line {line}, column {column}: {error}"),
                format!("XML non valido alla riga {line}, colonna {column} ({error})"),
                self.expression(),
            ),
        )
    }

    fn structure(&self, at: usize, expression: Option<String>, en: &str, it: &str) -> Rejection {
        let (line, column) = self.line_column(at);
        Rejection::one(
            400,
            Issue::error(
                "structure",
                "fhir_structure",
                format!("{en} (line {line}, column {column})"),
                format!("{it} (riga {line}, colonna {column})"),
                expression,
            ),
        )
    }

    fn text_outside(&self, at: usize) -> Rejection {
        if self.stack.is_empty() {
            let (line, column) = self.line_column(at);
            return syntax(
                format!("text outside the root element at line {line}, column {column}"),
                format!("testo fuori dall'elemento radice alla riga {line}, colonna {column}"),
            );
        }
        self.structure(
            at,
            self.expression(),
            "text content is not allowed in FHIR XML outside the narrative (values go in value attributes)",
            "in FHIR XML il testo non è ammesso fuori dalla narrativa (i valori vanno negli attributi value)",
        )
    }

    fn too_deep(&self, segment: &str) -> Rejection {
        Rejection::one(
            400,
            // `too-costly`, as for JSON: refused to protect the server.
            Issue::error(
                "too-costly",
                "too_deep",
                format!("XML nested deeper than {MAX_DEPTH} elements"),
                format!("XML annidato oltre {MAX_DEPTH} elementi"),
                self.child_expression(segment),
            ),
        )
    }

    fn open(
        &mut self,
        start: &BytesStart<'_>,
        space: Space,
        empty: bool,
        at: usize,
    ) -> Result<(), Rejection> {
        let qname = start.name();
        let name = qname.local_name().into_inner().to_owned();
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.too_deep(&name));
        }
        if self.root.is_some() {
            let (line, column) = self.line_column(at);
            return Err(syntax(
                format!("a second root element <{name}> at line {line}, column {column}"),
                format!("un secondo elemento radice <{name}> alla riga {line}, colonna {column}"),
            ));
        }
        if space == Space::Xhtml && name == "div" && !self.stack.is_empty() {
            return self.narrative(start, empty, at);
        }
        if space != Space::Fhir {
            return Err(self.structure(
                at,
                self.child_expression(&name),
                &format!("element <{name}> is not in the FHIR namespace {FHIR_NAMESPACE}"),
                &format!("l'elemento <{name}> non è nel namespace FHIR {FHIR_NAMESPACE}"),
            ));
        }
        if !is_fhir_name(&name) {
            return Err(self.structure(
                at,
                self.expression(),
                &format!("<{name}> is not a FHIR element name"),
                &format!("<{name}> non è un nome di elemento FHIR"),
            ));
        }
        let is_resource_name = name.starts_with(|c: char| c.is_ascii_uppercase());
        let attributes = match self.attributes(start, &name, at) {
            Ok(attributes) => attributes,
            Err(AttributeError::Syntax(rejection)) => return Err(rejection),
            Err(AttributeError::Structure(en, it)) => {
                let expression = if self.stack.is_empty() {
                    Some(name.clone())
                } else if is_resource_name {
                    self.expression()
                } else {
                    let segment = self.segment(&name);
                    self.child_expression(&segment)
                };
                return Err(self.structure(at, expression, &en, &it));
            }
        };

        let frame = if self.stack.is_empty() {
            if !is_resource_name {
                return Err(self.structure(
                    at,
                    None,
                    &format!("the root element <{name}> is not a FHIR resource"),
                    &format!("l'elemento radice <{name}> non è una risorsa FHIR"),
                ));
            }
            self.resource_frame(name.clone(), name, attributes, at)?
        } else if is_resource_name {
            let fits = self.path.current_element_is_resource()
                && self.stack.last().is_some_and(|parent| {
                    !parent.resource
                        && parent.fields.is_empty()
                        && parent.wrapped.is_none()
                        && parent.id.is_none()
                        && parent.url.is_none()
                        && parent.value.is_none()
                });
            if !fits {
                return Err(self.structure(
                    at,
                    self.expression(),
                    &format!("resource <{name}> where none is allowed"),
                    &format!("risorsa <{name}> in una posizione che non la ammette"),
                ));
            }
            self.resource_frame(name, String::new(), attributes, at)?
        } else {
            self.element_frame(name, attributes, at)?
        };
        self.stack.push(frame);
        if empty { self.close() } else { Ok(()) }
    }

    fn resource_frame(
        &mut self,
        name: String,
        segment: String,
        attributes: Attributes,
        at: usize,
    ) -> Result<Frame, Rejection> {
        if attributes.id.is_some() || attributes.url.is_some() || attributes.value.is_some() {
            return Err(self.structure(
                at,
                self.child_expression(&segment),
                &format!("resource <{name}> cannot have id, url or value attributes (its id is an element)"),
                &format!("la risorsa <{name}> non può avere attributi id, url o value (il suo id è un elemento)"),
            ));
        }
        self.path.push(&name);
        Ok(Frame {
            name,
            segment,
            resource: true,
            known: true,
            primitive: None,
            list: false,
            id: None,
            url: None,
            value: None,
            fields: Vec::new(),
            wrapped: None,
            at,
        })
    }

    fn element_frame(
        &mut self,
        name: String,
        attributes: Attributes,
        at: usize,
    ) -> Result<Frame, Rejection> {
        let Some(parent) = self.stack.last() else {
            return Err(syntax(
                "no parent element".into(),
                "nessun elemento padre".into(),
            ));
        };
        if parent.wrapped.is_some() {
            return Err(self.structure(
                at,
                self.child_expression(&name),
                &format!("element <{name}> after the resource its parent wraps"),
                &format!("elemento <{name}> dopo la risorsa contenuta nel suo elemento padre"),
            ));
        }
        if parent.primitive.is_some() && name != "extension" {
            return Err(self.structure(
                at,
                self.child_expression(&name),
                &format!(
                    "primitive element <{}> can contain only extensions, not <{name}>",
                    parent.name
                ),
                &format!(
                    "l'elemento primitivo <{}> può contenere solo estensioni, non <{name}>",
                    parent.name
                ),
            ));
        }
        let parent_list_len = parent
            .fields
            .iter()
            .find(|field| field.name == name)
            .map_or(0, |field| field.items.len());
        let known = self
            .path
            .children()
            .is_some_and(|children| children.contains(name.as_str()))
            || matches!(name.as_str(), "extension" | "modifierExtension");
        self.path.push(&name);
        let list = self.path.current_element_is_sequence();
        let mut primitive = self.path.current_element_is_primitive().then(|| {
            if self.path.current_element_is_boolean() {
                Primitive::Boolean
            } else if self.path.current_element_is_integer()
                || self.path.current_element_is_positive_integer()
                || self.path.current_element_is_unsigned_integer()
            {
                Primitive::Integer
            } else if self.path.current_element_is_decimal() {
                Primitive::Decimal
            } else {
                Primitive::String
            }
        });
        let segment = if list {
            format!("{name}[{parent_list_len}]")
        } else {
            name.clone()
        };
        // Undo the push if refusing below.
        let refuse = |this: &mut Self, en: String, it: String| {
            let expression = this.child_expression(&segment);
            this.path.pop();
            Err(this.structure(at, expression, &en, &it))
        };
        if attributes.value.is_some() && primitive.is_none() {
            if known {
                return refuse(
                    self,
                    format!(
                        "<{name}> is not a primitive element and cannot have a value attribute"
                    ),
                    format!(
                        "<{name}> non è un elemento primitivo e non può avere l'attributo value"
                    ),
                );
            }
            primitive = Some(Primitive::String);
        }
        if attributes.url.is_some() && !matches!(name.as_str(), "extension" | "modifierExtension") {
            return refuse(
                self,
                format!("only extensions have a url attribute, not <{name}>"),
                format!("solo le estensioni hanno l'attributo url, non <{name}>"),
            );
        }
        Ok(Frame {
            name,
            segment,
            resource: false,
            known,
            primitive,
            list,
            id: attributes.id,
            url: attributes.url,
            value: attributes.value,
            fields: Vec::new(),
            wrapped: None,
            at,
        })
    }

    /// The FHIRPath segment a child element `name` of the innermost open
    /// element gets (`name`, or `name[i]` for a list).
    fn segment(&mut self, name: &str) -> String {
        self.path.push(name);
        let list = self.path.current_element_is_sequence();
        self.path.pop();
        if !list {
            return name.to_owned();
        }
        let index = self
            .stack
            .last()
            .and_then(|parent| parent.fields.iter().find(|field| field.name == name))
            .map_or(0, |field| field.items.len());
        format!("{name}[{index}]")
    }

    fn attributes(
        &self,
        start: &BytesStart<'_>,
        name: &str,
        at: usize,
    ) -> Result<Attributes, AttributeError> {
        let mut found = Attributes::default();
        for attribute in start.attributes() {
            let attribute = match attribute {
                Ok(attribute) => attribute,
                Err(error) => {
                    let (line, column) = self.line_column(at);
                    return Err(AttributeError::Syntax(syntax(
                        format!(
                            "invalid attribute in <{name}> at line {line}, column {column}: {error}"
                        ),
                        format!(
                            "attributo non valido in <{name}> alla riga {line}, colonna {column} ({error})"
                        ),
                    )));
                }
            };
            if attribute.key.as_namespace_binding().is_some() {
                continue;
            }
            let (resolved, local) = self.reader.resolver().resolve_attribute(attribute.key);
            let local = local.into_inner().to_owned();
            match resolved {
                ResolveResult::Unbound => {}
                ResolveResult::Bound(Namespace(ns)) if ns == XSI_NAMESPACE => continue,
                _ => {
                    return Err(AttributeError::Structure(
                        format!("attribute {local} of <{name}> is not a FHIR attribute"),
                        format!("l'attributo {local} di <{name}> non è un attributo FHIR"),
                    ));
                }
            }
            let value = match attribute.normalized_value(self.version) {
                Ok(value) => value.into_owned(),
                Err(error) => {
                    let (line, column) = self.line_column(at);
                    return Err(AttributeError::Syntax(syntax(
                        format!(
                            "invalid value of attribute {local} in <{name}> at line {line}, column {column}: {error}"
                        ),
                        format!(
                            "valore non valido dell'attributo {local} in <{name}> alla riga {line}, colonna {column} ({error})"
                        ),
                    )));
                }
            };
            let slot = match local.as_str() {
                "id" => &mut found.id,
                "url" => &mut found.url,
                "value" => &mut found.value,
                _ => {
                    return Err(AttributeError::Structure(
                        format!(
                            "attribute {local} is not allowed on <{name}> (FHIR XML uses id, value and url)"
                        ),
                        format!(
                            "l'attributo {local} non è ammesso su <{name}> (FHIR XML usa id, value e url)"
                        ),
                    ));
                }
            };
            *slot = Some(value);
        }
        Ok(found)
    }

    /// Closes the innermost element and hands what it holds to its parent.
    fn close(&mut self) -> Result<(), Rejection> {
        let Some(frame) = self.stack.pop() else {
            return Err(syntax(
                "unexpected end tag".into(),
                "tag di chiusura inatteso".into(),
            ));
        };
        self.path.pop();
        let expression = self.child_expression(&frame.segment);
        let (at, name, known, list, resource) = (
            frame.at,
            frame.name.clone(),
            frame.known,
            frame.list,
            frame.resource,
        );
        let item = match self.item(frame) {
            Ok(item) => item,
            Err((en, it)) => return Err(self.structure(at, expression, &en, &it)),
        };
        let Some(parent) = self.stack.last_mut() else {
            if let Item::Complex(object) = item {
                self.root = Some(object);
            }
            return Ok(());
        };
        if resource {
            // open() checked that the parent holds nothing else.
            if let Item::Complex(object) = item {
                parent.wrapped = Some(object);
            }
            return Ok(());
        }
        match parent.fields.iter_mut().find(|field| field.name == name) {
            Some(field) if field.list || !known => {
                field.list = true;
                field.items.push(item);
            }
            Some(_) => {
                return Err(self.structure(
                    at,
                    expression,
                    &format!("<{name}> appears more than once but is not a list"),
                    &format!("<{name}> compare più di una volta ma non è una lista"),
                ));
            }
            None => parent.fields.push(Field {
                name,
                list,
                items: vec![item],
            }),
        }
        Ok(())
    }

    /// What a closed element becomes; Err holds the English and Italian
    /// reason.
    fn item(&self, frame: Frame) -> Result<Item, (String, String)> {
        let name = frame.name;
        if frame.resource {
            let mut object = Map::new();
            object.insert("resourceType".into(), Value::String(name.clone()));
            fields_into(frame.fields, &mut object, &name)?;
            return Ok(Item::Complex(object));
        }
        if let Some(resource) = frame.wrapped {
            return Ok(Item::Complex(resource));
        }
        if let Some(primitive) = frame.primitive {
            let value =
                match frame.value {
                    Some(raw) => Some(typed(primitive, raw).map_err(|(en, it)| {
                        (format!("<{name}>: {en}"), format!("<{name}>: {it}"))
                    })?),
                    None => None,
                };
            let mut extra = Map::new();
            if let Some(id) = frame.id {
                extra.insert("id".into(), Value::String(id));
            }
            fields_into(frame.fields, &mut extra, &name)?;
            let extra = (!extra.is_empty() || value.is_none()).then_some(extra);
            return Ok(Item::Primitive(value, extra));
        }
        let mut object = Map::new();
        if let Some(id) = frame.id {
            object.insert("id".into(), Value::String(id));
        }
        if let Some(url) = frame.url {
            object.insert("url".into(), Value::String(url));
        }
        fields_into(frame.fields, &mut object, &name)?;
        Ok(Item::Complex(object))
    }

    /// Copies the narrative `<div>` as a string of XHTML.
    fn narrative(
        &mut self,
        start: &BytesStart<'_>,
        empty: bool,
        at: usize,
    ) -> Result<(), Rejection> {
        let expression = self.child_expression("div");
        if start.name().prefix().is_some() {
            return Err(self.structure(
                at,
                expression,
                "the narrative <div> must use the default XHTML namespace, without a prefix",
                "il <div> della narrativa deve usare il namespace XHTML predefinito, senza prefisso",
            ));
        }
        if self
            .stack
            .last()
            .is_some_and(|parent| parent.primitive.is_some() || parent.resource)
        {
            return Err(self.structure(
                at,
                expression,
                "a narrative <div> belongs in a text element",
                "un <div> di narrativa va in un elemento text",
            ));
        }
        let mut out = String::from("<");
        let raw: &str = start;
        out.push_str(raw);
        if !raw.contains("xmlns=") {
            out.push_str(&format!(" xmlns=\"{XHTML_NAMESPACE}\""));
        }
        let mut depth = 1;
        if empty {
            out.push_str("/>");
            depth = 0;
        } else {
            out.push('>');
        }
        while depth > 0 {
            let at = self.position();
            let (resolved, event) = match self.reader.read_resolved_event() {
                Ok(pair) => pair,
                Err(error) => return Err(self.parser_error(&error)),
            };
            let space = space(&resolved);
            match event {
                Event::Start(inner) | Event::Empty(inner)
                    if space != Space::Xhtml || inner.name().prefix().is_some() =>
                {
                    let name = inner.name().into_inner().to_owned();
                    return Err(self.structure(
                        at,
                        expression,
                        &format!(
                            "<{name}> inside the narrative is not XHTML in the default namespace"
                        ),
                        &format!("<{name}> nella narrativa non è XHTML nel namespace predefinito"),
                    ));
                }
                Event::Start(inner) => {
                    if self.stack.len() + depth >= MAX_DEPTH {
                        return Err(self.too_deep("div"));
                    }
                    depth += 1;
                    out.push('<');
                    push_normalised(&mut out, &inner);
                    out.push('>');
                }
                Event::Empty(inner) => {
                    if self.stack.len() + depth >= MAX_DEPTH {
                        return Err(self.too_deep("div"));
                    }
                    out.push('<');
                    push_normalised(&mut out, &inner);
                    out.push_str("/>");
                }
                Event::End(end) => {
                    depth -= 1;
                    out.push_str("</");
                    out.push_str(end.name().into_inner());
                    out.push('>');
                }
                Event::Text(text) => push_normalised(&mut out, &text),
                Event::CData(data) => push_normalised(&mut out, &escape_text(&data)),
                Event::GeneralRef(reference) => {
                    let name: &str = &reference;
                    let valid = if reference.is_char_ref() {
                        reference
                            .resolve_char_ref()
                            .ok()
                            .flatten()
                            .is_some_and(xml_char)
                    } else {
                        matches!(name, "lt" | "gt" | "amp" | "apos" | "quot")
                    };
                    if !valid {
                        let (line, column) = self.line_column(at);
                        return Err(Rejection::one(
                            400,
                            Issue::error(
                                "structure",
                                "xml_syntax",
                                format!(
                                    "undefined or invalid entity &{name}; at line {line}, column {column} (XML defines only &lt; &gt; &amp; &apos; &quot; and character references)"
                                ),
                                format!(
                                    "entità &{name}; non definita o non valida alla riga {line}, colonna {column} (XML definisce solo &lt; &gt; &amp; &apos; &quot; e i riferimenti a caratteri)"
                                ),
                                expression,
                            ),
                        ));
                    }
                    out.push('&');
                    out.push_str(name);
                    out.push(';');
                }
                Event::Comment(_) => {}
                Event::Eof => return Err(self.truncated()),
                Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {
                    return Err(syntax(
                        "unexpected declaration inside the narrative".into(),
                        "dichiarazione inattesa nella narrativa".into(),
                    ));
                }
            }
        }
        let Some(parent) = self.stack.last_mut() else {
            return Ok(());
        };
        if parent.fields.iter().any(|field| field.name == "div") || parent.wrapped.is_some() {
            return Err(self.structure(
                at,
                expression,
                "more than one narrative <div>",
                "più di un <div> di narrativa",
            ));
        }
        parent.fields.push(Field {
            name: "div".into(),
            list: false,
            items: vec![Item::Primitive(Some(Value::String(out)), None)],
        });
        Ok(())
    }
}

/// Puts the fields of a closed element into its JSON object.
fn fields_into(
    fields: Vec<Field>,
    object: &mut Map<String, Value>,
    parent: &str,
) -> Result<(), (String, String)> {
    for field in fields {
        let primitive = field
            .items
            .iter()
            .any(|item| matches!(item, Item::Primitive(..)));
        let name = field.name;
        let mut insert = |key: String, value: Value| {
            if object.contains_key(&key) {
                return Err((
                    format!("<{parent}> has {key} twice"),
                    format!("<{parent}> ha {key} due volte"),
                ));
            }
            object.insert(key, value);
            Ok(())
        };
        if primitive {
            let mut values = Vec::with_capacity(field.items.len());
            let mut extras = Vec::with_capacity(field.items.len());
            for item in field.items {
                let (value, extra) = match item {
                    Item::Primitive(value, extra) => (value, extra),
                    Item::Complex(object) => (None, Some(object)),
                };
                values.push(value.unwrap_or(Value::Null));
                extras.push(extra.map_or(Value::Null, Value::Object));
            }
            let has_values = values.iter().any(|v| !v.is_null());
            let has_extras = extras.iter().any(|v| !v.is_null());
            if field.list {
                if has_values {
                    insert(name.clone(), Value::Array(values))?;
                }
                if has_extras {
                    insert(format!("_{name}"), Value::Array(extras))?;
                }
            } else {
                if let Some(value) = values.into_iter().next().filter(|v| !v.is_null()) {
                    insert(name.clone(), value)?;
                }
                if let Some(extra) = extras.into_iter().next().filter(|v| !v.is_null()) {
                    insert(format!("_{name}"), extra)?;
                }
            }
        } else {
            let mut objects: Vec<Value> = field
                .items
                .into_iter()
                .map(|item| match item {
                    Item::Complex(object) => Value::Object(object),
                    Item::Primitive(..) => Value::Null,
                })
                .collect();
            if field.list {
                insert(name, Value::Array(objects))?;
            } else if let Some(object) = objects.pop() {
                insert(name, object)?;
            }
        }
    }
    Ok(())
}

/// A primitive's `value` attribute as the JSON value of its type.
fn typed(primitive: Primitive, raw: String) -> Result<Value, (String, String)> {
    let number_syntax = |text: &str| {
        !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
    };
    match primitive {
        Primitive::String => Ok(Value::String(raw)),
        Primitive::Boolean => match raw.as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err((
                format!("{raw:?} is not a boolean (true or false)"),
                format!("{raw:?} non è un booleano (true o false)"),
            )),
        },
        Primitive::Integer => {
            let digits = raw.strip_prefix('-').unwrap_or(&raw);
            let number = (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| serde_json::from_str::<Number>(&raw).ok())
                .flatten()
                .filter(|n| n.is_i64() || n.is_u64());
            number.map(Value::Number).ok_or_else(|| {
                (
                    format!("{raw:?} is not an integer"),
                    format!("{raw:?} non è un intero"),
                )
            })
        }
        Primitive::Decimal => {
            let number = number_syntax(&raw)
                .then(|| serde_json::from_str::<Number>(&raw).ok())
                .flatten();
            number.map(Value::Number).ok_or_else(|| {
                (
                    format!("{raw:?} is not a decimal"),
                    format!("{raw:?} non è un decimale"),
                )
            })
        }
    }
}

/// FHIR element and resource names: an ASCII letter, then letters and
/// digits (and `_`, which some extensions of the format use).
fn is_fhir_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether XML 1.0 can carry the character.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Whether XML text is only XML whitespace.
fn is_blank(text: &str) -> bool {
    text.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
}

/// Appends raw XML text with its line endings normalised as XML requires.
fn push_normalised(out: &mut String, raw: &str) {
    if raw.contains('\r') {
        out.push_str(&raw.replace("\r\n", "\n").replace('\r', "\n"));
    } else {
        out.push_str(raw);
    }
}

fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------------------
// JSON → XML

struct Writer {
    out: String,
    path: ElementPath,
    depth: usize,
}

fn write_error(en: &str, it: &str, expression: &str) -> Rejection {
    Rejection::one(
        500,
        Issue::error(
            "exception",
            "xml_serialization",
            format!("cannot write the answer as FHIR XML: {en}"),
            format!("impossibile scrivere la risposta in FHIR XML: {it}"),
            (!expression.is_empty()).then(|| expression.to_owned()),
        ),
    )
}

fn join(parent: &str, segment: &str) -> String {
    if parent.is_empty() {
        segment.to_owned()
    } else {
        format!("{parent}.{segment}")
    }
}

impl Writer {
    fn enter(&mut self, expression: &str) -> Result<(), Rejection> {
        self.depth += 1;
        if self.depth > MAX_JSON_DEPTH {
            return Err(write_error(
                &format!("nested deeper than {MAX_JSON_DEPTH} levels"),
                &format!("annidamento oltre {MAX_JSON_DEPTH} livelli"),
                expression,
            ));
        }
        Ok(())
    }

    fn resource(
        &mut self,
        resource_type: &str,
        object: &Map<String, Value>,
        root: bool,
        expression: &str,
    ) -> Result<(), Rejection> {
        if !is_fhir_name(resource_type)
            || !resource_type.starts_with(|c: char| c.is_ascii_uppercase())
        {
            return Err(write_error(
                &format!("{resource_type:?} is not a resource type"),
                &format!("{resource_type:?} non è un tipo di risorsa"),
                expression,
            ));
        }
        let expression = if expression.is_empty() {
            resource_type.to_owned()
        } else {
            expression.to_owned()
        };
        self.enter(&expression)?;
        self.path.push(resource_type);
        self.out.push('<');
        self.out.push_str(resource_type);
        if root {
            self.out.push_str(&format!(" xmlns=\"{FHIR_NAMESPACE}\""));
        }
        self.out.push('>');
        let result = self.children(object, &["resourceType"], &expression);
        self.path.pop();
        result?;
        self.out.push_str("</");
        self.out.push_str(resource_type);
        self.out.push('>');
        self.depth -= 1;
        Ok(())
    }

    /// Writes the children of the current element, in definition order,
    /// leaving out `skip` (keys written as attributes).
    fn children(
        &mut self,
        object: &Map<String, Value>,
        skip: &[&str],
        expression: &str,
    ) -> Result<(), Rejection> {
        let mut names: Vec<&str> = object
            .keys()
            .map(|key| key.strip_prefix('_').unwrap_or(key))
            .filter(|name| !skip.contains(name))
            .collect();
        names.sort_unstable();
        names.dedup();
        names.sort_by_key(|name| self.path.position_of_child(name));
        for name in names {
            if !is_fhir_name(name) {
                return Err(write_error(
                    &format!("{name:?} is not an element name"),
                    &format!("{name:?} non è un nome di elemento"),
                    expression,
                ));
            }
            let main = object.get(name);
            let extra = object.get(&format!("_{name}"));
            self.path.push(name);
            let result = self.field(name, main, extra, expression);
            self.path.pop();
            result?;
        }
        Ok(())
    }

    fn field(
        &mut self,
        name: &str,
        main: Option<&Value>,
        extra: Option<&Value>,
        parent: &str,
    ) -> Result<(), Rejection> {
        match (main, extra) {
            (Some(Value::Array(values)), Some(Value::Array(extras))) => {
                for index in 0..values.len().max(extras.len()) {
                    let expression = join(parent, &format!("{name}[{index}]"));
                    self.item(name, values.get(index), extras.get(index), &expression)?;
                }
            }
            (Some(Value::Array(values)), None | Some(Value::Null)) => {
                for (index, value) in values.iter().enumerate() {
                    self.item(
                        name,
                        Some(value),
                        None,
                        &join(parent, &format!("{name}[{index}]")),
                    )?;
                }
            }
            (None | Some(Value::Null), Some(Value::Array(extras))) => {
                for (index, extra) in extras.iter().enumerate() {
                    self.item(
                        name,
                        None,
                        Some(extra),
                        &join(parent, &format!("{name}[{index}]")),
                    )?;
                }
            }
            (Some(Value::Array(_)), Some(_)) | (Some(_), Some(Value::Array(_))) => {
                return Err(write_error(
                    &format!("{name} and _{name} are not both lists"),
                    &format!("{name} e _{name} non sono entrambi liste"),
                    &join(parent, name),
                ));
            }
            (main, extra) => self.item(name, main, extra, &join(parent, name))?,
        }
        Ok(())
    }

    fn item(
        &mut self,
        name: &str,
        main: Option<&Value>,
        extra: Option<&Value>,
        expression: &str,
    ) -> Result<(), Rejection> {
        let extra = extra.filter(|e| !e.is_null());
        match main {
            Some(Value::String(xhtml)) if name == "div" && extra.is_none() => {
                let div = checked_xhtml(xhtml).ok_or_else(|| {
                    write_error(
                        "the narrative is not well-formed XHTML in a <div>",
                        "la narrativa non è XHTML ben formato in un <div>",
                        expression,
                    )
                })?;
                self.out.push_str(&div);
                Ok(())
            }
            Some(Value::Object(object)) => {
                if extra.is_some() {
                    return Err(write_error(
                        &format!("{name} is an object and has _{name}"),
                        &format!("{name} è un oggetto e ha _{name}"),
                        expression,
                    ));
                }
                let resource_type = object.get("resourceType").and_then(Value::as_str);
                match resource_type {
                    Some(resource_type) if self.path.current_element_is_resource() => {
                        self.open_tag(name, &[]);
                        self.out.push('>');
                        self.resource(resource_type, object, false, expression)?;
                        self.close_tag(name);
                        Ok(())
                    }
                    _ => self.complex(name, object, expression),
                }
            }
            Some(Value::Array(_)) => Err(write_error(
                &format!("{name} is a list inside a list"),
                &format!("{name} è una lista dentro una lista"),
                expression,
            )),
            Some(Value::Null) | None => match extra {
                None => Ok(()),
                Some(extra) => self.primitive(name, None, extra, expression),
            },
            Some(value) => {
                self.primitive(name, Some(value), extra.unwrap_or(&Value::Null), expression)
            }
        }
    }

    fn complex(
        &mut self,
        name: &str,
        object: &Map<String, Value>,
        expression: &str,
    ) -> Result<(), Rejection> {
        self.enter(expression)?;
        let mut attributes: Vec<(&str, String)> = Vec::new();
        let mut skip: Vec<&str> = Vec::new();
        if let Some(id) = object.get("id") {
            attributes.push(("id", self.attribute_text("id", id, expression)?));
            skip.push("id");
        }
        if let Some(url) = object
            .get("url")
            .filter(|_| self.path.current_element_is_extension())
        {
            attributes.push(("url", self.attribute_text("url", url, expression)?));
            skip.push("url");
        }
        self.open_tag(name, &attributes);
        let empty = object
            .keys()
            .all(|key| skip.contains(&key.strip_prefix('_').unwrap_or(key)));
        if empty {
            self.out.push_str("/>");
        } else {
            self.out.push('>');
            self.children(object, &skip, expression)?;
            self.close_tag(name);
        }
        self.depth -= 1;
        Ok(())
    }

    fn primitive(
        &mut self,
        name: &str,
        value: Option<&Value>,
        extra: &Value,
        expression: &str,
    ) -> Result<(), Rejection> {
        self.enter(expression)?;
        let extra = match extra {
            Value::Null => None,
            Value::Object(object) => Some(object),
            _ => {
                return Err(write_error(
                    &format!("_{name} is not an object"),
                    &format!("_{name} non è un oggetto"),
                    expression,
                ));
            }
        };
        let mut attributes: Vec<(&str, String)> = Vec::new();
        if let Some(id) = extra.and_then(|e| e.get("id")) {
            attributes.push(("id", self.attribute_text("id", id, expression)?));
        }
        if let Some(value) = value {
            attributes.push(("value", self.attribute_text(name, value, expression)?));
        }
        if let Some(key) =
            extra.and_then(|e| e.keys().find(|k| !matches!(k.as_str(), "id" | "extension")))
        {
            return Err(write_error(
                &format!("_{name} has {key:?}; a primitive has only id and extension"),
                &format!("_{name} ha {key:?}; un primitivo ha solo id ed extension"),
                expression,
            ));
        }
        self.open_tag(name, &attributes);
        match extra.and_then(|e| e.get("extension")) {
            None | Some(Value::Null) => self.out.push_str("/>"),
            Some(extensions) => {
                self.out.push('>');
                self.path.push("extension");
                let result = match extensions {
                    Value::Array(extensions) => {
                        extensions
                            .iter()
                            .enumerate()
                            .try_for_each(|(index, extension)| {
                                self.item(
                                    "extension",
                                    Some(extension),
                                    None,
                                    &join(expression, &format!("extension[{index}]")),
                                )
                            })
                    }
                    extension => self.item(
                        "extension",
                        Some(extension),
                        None,
                        &join(expression, "extension"),
                    ),
                };
                self.path.pop();
                result?;
                self.close_tag(name);
            }
        }
        self.depth -= 1;
        Ok(())
    }

    fn attribute_text(
        &self,
        name: &str,
        value: &Value,
        expression: &str,
    ) -> Result<String, Rejection> {
        match value {
            Value::String(text) => Ok(text.clone()),
            Value::Number(number) => Ok(number.to_string()),
            Value::Bool(flag) => Ok(flag.to_string()),
            _ => Err(write_error(
                &format!("{name} is not a string, number or boolean"),
                &format!("{name} non è una stringa, un numero o un booleano"),
                expression,
            )),
        }
    }

    fn open_tag(&mut self, name: &str, attributes: &[(&str, String)]) {
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attributes {
            self.out.push(' ');
            self.out.push_str(key);
            self.out.push_str("=\"");
            escape_attribute_into(&mut self.out, value);
            self.out.push('"');
        }
    }

    fn close_tag(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }
}

/// Escapes an attribute value so that an XML parser gives it back exactly
/// (tabs and line breaks as character references, which attribute-value
/// normalisation keeps); characters XML 1.0 cannot carry become U+FFFD.
fn escape_attribute_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

/// The narrative, if it is one well-formed XHTML `<div>`, with the XHTML
/// namespace declared on it.
fn checked_xhtml(xhtml: &str) -> Option<String> {
    let trimmed = xhtml.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
    if !trimmed.chars().all(xml_char) {
        return None;
    }
    let mut reader = NsReader::from_str(trimmed);
    reader.config_mut().check_end_names = true;
    let mut depth = 0usize;
    let mut roots = 0;
    let mut declared = false;
    loop {
        let (resolved, event) = reader.read_resolved_event().ok()?;
        let namespace_ok = match &resolved {
            ResolveResult::Bound(Namespace(ns)) => *ns == XHTML_NAMESPACE,
            ResolveResult::Unbound => true,
            ResolveResult::Unknown(_) => false,
        };
        match event {
            Event::Start(start) | Event::Empty(start)
                if !namespace_ok || start.name().prefix().is_some() =>
            {
                return None;
            }
            Event::Start(start) | Event::Empty(start)
                if depth == 0 && (start.name() != QName("div") || roots > 0) =>
            {
                return None;
            }
            Event::Start(_) if depth == 0 => {
                roots += 1;
                declared = matches!(resolved, ResolveResult::Bound(_));
                depth += 1;
            }
            Event::Empty(_) if depth == 0 => {
                roots += 1;
                declared = matches!(resolved, ResolveResult::Bound(_));
            }
            Event::Start(_) => depth += 1,
            Event::Empty(_) => {}
            Event::End(_) => depth = depth.checked_sub(1)?,
            Event::Text(text) if depth == 0 => {
                if !is_blank(&text) {
                    return None;
                }
            }
            Event::Text(_) | Event::Comment(_) => {}
            Event::GeneralRef(reference) => {
                let valid = if reference.is_char_ref() {
                    reference
                        .resolve_char_ref()
                        .ok()
                        .flatten()
                        .is_some_and(xml_char)
                } else {
                    matches!(&*reference, "lt" | "gt" | "amp" | "apos" | "quot")
                };
                if !valid || depth == 0 {
                    return None;
                }
            }
            Event::CData(_) if depth > 0 => {}
            Event::CData(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => return None,
            Event::Eof => break,
        }
    }
    if roots != 1 || depth != 0 {
        return None;
    }
    if declared {
        Some(trimmed.to_owned())
    } else {
        trimmed
            .strip_prefix("<div")
            .map(|rest| format!("<div xmlns=\"{XHTML_NAMESPACE}\"{rest}"))
    }
}
