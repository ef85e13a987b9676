//! A small, defensive XML reader for daticert.xml and the court's XML files:
//! no DOCTYPE, no entity other than the five predefined ones and character
//! references, bounded size, depth and element count. Namespace prefixes are
//! ignored (the documents have none).

use quick_xml::XmlVersion;
use quick_xml::events::Event;
use quick_xml::reader::Reader;

/// Largest XML document read.
pub const MAX_XML_BYTES: usize = 1024 * 1024;
const MAX_DEPTH: usize = 32;
const MAX_ELEMENTS: usize = 10_000;

/// Why an XML document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Larger than [`MAX_XML_BYTES`].
    #[error("XML document too large")]
    TooLarge,
    /// A DOCTYPE declaration (refused: entity expansion, external fetches).
    #[error("XML document has a DOCTYPE")]
    Doctype,
    /// A reference to an entity other than the predefined ones.
    #[error("XML document references an undeclared entity")]
    Entity,
    /// Too deep or too many elements.
    #[error("XML document too deep or too large")]
    TooComplex,
    /// Not UTF-8 (nor ISO-8859-1 as declared).
    #[error("XML document is not valid UTF-8")]
    Encoding,
    /// Not well-formed.
    #[error("XML document is not well-formed: {0}")]
    Syntax(String),
}

/// An element: local name, attributes, text (concatenated, trimmed) and
/// children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// Local name (prefix dropped).
    pub name: String,
    /// Attributes, local names.
    pub attributes: Vec<(String, String)>,
    /// The text directly inside, trimmed.
    pub text: String,
    /// Child elements in order.
    pub children: Vec<Element>,
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// All children named `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The trimmed text of the first child named `name`, if not empty.
    pub fn child_text(&self, name: &str) -> Option<String> {
        self.child(name)
            .map(|c| c.text.clone())
            .filter(|t| !t.is_empty())
    }

    /// An attribute's value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn local(name: &str) -> String {
    match name.rsplit_once(':') {
        Some((_, l)) => l.to_owned(),
        None => name.to_owned(),
    }
}

/// Decodes the bytes: UTF-8 (BOM allowed), or ISO-8859-1 / windows-1252
/// when the declaration says so (bytes above 0x7F mapped as Latin-1).
fn decode(bytes: &[u8]) -> Result<String, XmlError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let head = &bytes[..bytes.len().min(100)];
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    let latin1 = head.starts_with("<?xml")
        && [
            "iso-8859-1",
            "iso8859-1",
            "latin1",
            "windows-1252",
            "iso-8859-15",
        ]
        .iter()
        .any(|e| head.split("?>").next().unwrap_or("").contains(e));
    if latin1 {
        Ok(bytes.iter().map(|&b| b as char).collect())
    } else {
        String::from_utf8(bytes.to_vec()).map_err(|_| XmlError::Encoding)
    }
}

/// Parses a whole document and returns its root element.
pub fn parse(bytes: &[u8]) -> Result<Element, XmlError> {
    if bytes.len() > MAX_XML_BYTES {
        return Err(XmlError::TooLarge);
    }
    let text = decode(bytes)?;
    let mut reader = Reader::from_str(&text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    let syntax = |e: quick_xml::Error| XmlError::Syntax(e.to_string());
    loop {
        let event = reader.read_event().map_err(syntax)?;
        match event {
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Start(ref start) | Event::Empty(ref start) => {
                count += 1;
                if count > MAX_ELEMENTS || stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooComplex);
                }
                if root.is_some() && stack.is_empty() {
                    return Err(XmlError::Syntax("more than one root element".into()));
                }
                let mut el = Element {
                    name: local(start.name().as_ref()),
                    ..Element::default()
                };
                for attr in start.attributes() {
                    let attr = attr.map_err(|e| XmlError::Syntax(e.to_string()))?;
                    let value = attr
                        .normalized_value(XmlVersion::Implicit1_0)
                        .map_err(|_| XmlError::Entity)?;
                    el.attributes
                        .push((local(attr.key.as_ref()), value.into_owned()));
                }
                if matches!(event, Event::Empty(_)) {
                    close(&mut stack, &mut root, el);
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| XmlError::Syntax("unexpected end tag".into()))?;
                close(&mut stack, &mut root, el);
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml_content(XmlVersion::Implicit1_0));
                } else if !t.xml_content(XmlVersion::Implicit1_0).trim().is_empty() {
                    return Err(XmlError::Syntax("text outside the root element".into()));
                }
            }
            Event::CData(c) => {
                let c = c.into_inner();
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&c),
                    None => return Err(XmlError::Syntax("CDATA outside the root element".into())),
                }
            }
            Event::GeneralRef(r) => {
                let ch = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .ok()
                        .flatten()
                        .ok_or(XmlError::Entity)?
                } else {
                    match &*r.xml_content(XmlVersion::Implicit1_0) {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        _ => return Err(XmlError::Entity),
                    }
                };
                match stack.last_mut() {
                    Some(top) => top.text.push(ch),
                    None => {
                        return Err(XmlError::Syntax(
                            "reference outside the root element".into(),
                        ));
                    }
                }
            }
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Syntax("unexpected end of document".into()));
    }
    root.ok_or_else(|| XmlError::Syntax("no root element".into()))
}

fn close(stack: &mut [Element], root: &mut Option<Element>, mut el: Element) {
    el.text = el.text.trim().to_owned();
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_refuses() {
        let el = parse(br#"<?xml version="1.0"?><a x="1&amp;2"><b>t &lt;&#65;&gt;</b><c/> </a>"#)
            .unwrap();
        assert_eq!(el.name, "a");
        assert_eq!(el.attr("x"), Some("1&2"));
        assert_eq!(el.child_text("b").as_deref(), Some("t <A>"));
        assert!(el.child("c").is_some());
        assert_eq!(
            parse(b"<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>").unwrap_err(),
            XmlError::Doctype
        );
        assert_eq!(parse(b"<a>&x;</a>").unwrap_err(), XmlError::Entity);
        assert_eq!(parse(b"<a y=\"&x;\"/>").unwrap_err(), XmlError::Entity);
        assert!(matches!(
            parse(b"<a><b></a>").unwrap_err(),
            XmlError::Syntax(_)
        ));
        assert!(matches!(
            parse(b"<a/><b/>").unwrap_err(),
            XmlError::Syntax(_)
        ));
        assert!(matches!(parse(b"").unwrap_err(), XmlError::Syntax(_)));
        assert_eq!(
            parse("<a>".repeat(100).as_bytes()).unwrap_err(),
            XmlError::TooComplex
        );
        let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>perch\xE9</a>";
        assert_eq!(parse(latin1).unwrap().text, "perché");
        assert_eq!(parse(b"<a>\xE9</a>").unwrap_err(), XmlError::Encoding);
    }
}
