//! A thin layer over quick-xml's writer: elements by qualified name, text
//! checked before it is written, every error mapped to [`crate::Error`].

use quick_xml::Writer;
use quick_xml::escape::partial_escape;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::check;
use crate::Error;

/// An XML document being written into memory, indented by two spaces.
pub(super) struct Xml {
    writer: Writer<Vec<u8>>,
}

impl Xml {
    /// A document that starts with `<?xml version="1.0" encoding="UTF-8"?>`.
    pub(super) fn new() -> Result<Self, Error> {
        let mut xml = Self {
            writer: Writer::new_with_indent(Vec::new(), b' ', 2),
        };
        xml.event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        Ok(xml)
    }

    /// `<!DOCTYPE …>`; `content` is written as it is.
    pub(super) fn doctype(&mut self, content: &str) -> Result<(), Error> {
        self.event(Event::DocType(BytesText::from_escaped(content)))
    }

    /// An opening tag. Attribute values are escaped.
    pub(super) fn start(&mut self, name: &str, attributes: &[(&str, &str)]) -> Result<(), Error> {
        let tag = BytesStart::new(name).with_attributes(attributes.iter().copied());
        self.event(Event::Start(tag))
    }

    /// A closing tag.
    pub(super) fn end(&mut self, name: &str) -> Result<(), Error> {
        self.event(Event::End(BytesEnd::new(name)))
    }

    /// An element without content.
    pub(super) fn empty(&mut self, name: &str, attributes: &[(&str, &str)]) -> Result<(), Error> {
        let tag = BytesStart::new(name).with_attributes(attributes.iter().copied());
        self.event(Event::Empty(tag))
    }

    /// `<name>value</name>` for a required value: refused when blank.
    pub(super) fn required(
        &mut self,
        name: &str,
        value: &str,
        field: &'static str,
    ) -> Result<(), Error> {
        let value = check::required(value, field)?;
        self.leaf(name, value)
    }

    /// `<name>value</name>` when there is a value; nothing otherwise. A blank
    /// value is treated as absent.
    pub(super) fn optional(
        &mut self,
        name: &str,
        value: Option<&String>,
        field: &'static str,
    ) -> Result<(), Error> {
        match value {
            Some(value) if !value.trim().is_empty() => {
                let value = check::chars(value, field)?;
                self.leaf(name, value)
            }
            _ => Ok(()),
        }
    }

    /// `<name>true|false</name>`.
    pub(super) fn boolean(&mut self, name: &str, value: bool) -> Result<(), Error> {
        self.leaf(name, if value { "true" } else { "false" })
    }

    /// The bytes written.
    pub(super) fn finish(self) -> Vec<u8> {
        let mut bytes = self.writer.into_inner();
        bytes.push(b'\n');
        bytes
    }

    fn leaf(&mut self, name: &str, value: &str) -> Result<(), Error> {
        self.start(name, &[])?;
        // `'` and `"` need no escaping in text; Italian text is full of `'`.
        self.event(Event::Text(BytesText::from_escaped(partial_escape(value))))?;
        self.end(name)
    }

    fn event(&mut self, event: Event<'_>) -> Result<(), Error> {
        self.writer.write_event(event).map_err(Error::XmlWrite)
    }
}
