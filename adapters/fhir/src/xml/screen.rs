//! Checks on the raw body before any XML parser sees it (steps 1 and 2 of
//! reading, see the [module documentation](super)): the literal byte scan
//! that refuses `<!DOCTYPE` (`xml_doctype`, which rules out external
//! entities and entity-expansion bombs), `<!ENTITY` (`xml_entity`) and
//! processing instructions other than the XML declaration
//! (`xml_processing_instruction`); then invalid UTF-8 (`invalid_utf8`) and
//! characters XML 1.0 forbids (`xml_syntax`).

use super::errors::{line_column, syntax};
use crate::{Issue, Rejection};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The byte scan: one issue per kind of declaration found, with the line
/// and column of its first occurrence.
pub(super) fn screen(body: &[u8]) -> Result<(), Rejection> {
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

/// A 400 `invalid_utf8` refusal for a body that stops being UTF-8 at `at`.
pub(super) fn invalid_utf8(body: &[u8], at: usize) -> Rejection {
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

/// Refuses the first character XML 1.0 does not allow (`xml_syntax`).
pub(super) fn check_chars(text: &str) -> Result<(), Rejection> {
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
