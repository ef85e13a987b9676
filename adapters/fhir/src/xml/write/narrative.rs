//! The narrative on the way out: checked to be one well-formed XHTML
//! `<div>` before it is copied into the XML.

use quick_xml::{
    events::Event,
    name::{Namespace, QName, ResolveResult},
    reader::NsReader,
};

use crate::xml::{XHTML_NAMESPACE, chars::is_allowed_reference, chars::is_blank, chars::xml_char};

/// The narrative, if it is one well-formed XHTML `<div>`, with the XHTML
/// namespace declared on it.
pub(super) fn checked_xhtml(xhtml: &str) -> Option<String> {
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
                if !is_allowed_reference(&reference) || depth == 0 {
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
