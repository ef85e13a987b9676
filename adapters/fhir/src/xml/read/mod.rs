//! FHIR XML → FHIR JSON: one streaming pass over quick-xml's events, with
//! an explicit stack of open elements and no recursion (step 3 of reading,
//! see the [module documentation](super)).
//!
//! This module opens and closes elements and tracks where they sit in the
//! R4 definitions; [`attributes`] reads `id`, `value` and `url`,
//! [`into_json`] turns a closed element into JSON, [`narrative`] copies the
//! XHTML `div`, and [`refusals`] builds the errors with line, column and
//! FHIRPath.

use serde_json::{Map, Value};

use fhirbolt_shared::{FhirReleases, path::ElementPath};
use quick_xml::{
    XmlVersion,
    events::{BytesStart, Event},
    name::{Namespace, ResolveResult},
    reader::NsReader,
};

use super::{
    chars::{is_blank, is_fhir_name},
    errors::syntax,
};
use crate::{
    Rejection,
    xml::{FHIR_NAMESPACE, MAX_DEPTH, XHTML_NAMESPACE},
};

mod attributes;
mod into_json;
mod narrative;
mod refusals;

use attributes::{AttributeError, Attributes};
use into_json::{Field, Item, Primitive};

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

/// The reader: the XML text, quick-xml on it, the R4 path of the innermost
/// element and the stack of open elements.
pub(super) struct Reader<'a> {
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
    pub(super) fn new(text: &'a str) -> Self {
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

    pub(super) fn read(mut self) -> Result<Value, Rejection> {
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
}
