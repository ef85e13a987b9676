//! The narrative: `Narrative.div` is copied as a string of XHTML, checked
//! to be in the default XHTML namespace, without comments and with line
//! endings normalised.

use quick_xml::events::{BytesStart, Event};
use serde_json::Value;

use super::{Field, Item, Reader, Space, space};
use crate::{
    Issue, Rejection,
    xml::{MAX_DEPTH, XHTML_NAMESPACE, chars::is_allowed_reference, errors::syntax},
};

impl Reader<'_> {
    /// Copies the narrative `<div>` as a string of XHTML.
    pub(super) fn narrative(
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
                    if !is_allowed_reference(&reference) {
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
