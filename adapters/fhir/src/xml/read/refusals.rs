//! Where the reader is (byte offset, line and column, FHIRPath of the open
//! elements) and the refusals that name it: `xml_syntax`, `fhir_structure`
//! and `too_deep`.

use super::Reader;
use crate::{
    Issue, Rejection,
    xml::{
        MAX_DEPTH,
        errors::{line_column, syntax},
    },
};

impl Reader<'_> {
    pub(super) fn position(&self) -> usize {
        usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX)
    }

    pub(super) fn line_column(&self, at: usize) -> (usize, usize) {
        line_column(self.text.as_bytes(), at)
    }

    pub(super) fn truncated(&self) -> Rejection {
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

    /// FHIRPath of the innermost open element.
    pub(super) fn expression(&self) -> Option<String> {
        let segments: Vec<&str> = self
            .stack
            .iter()
            .map(|frame| frame.segment.as_str())
            .filter(|segment| !segment.is_empty())
            .collect();
        (!segments.is_empty()).then(|| segments.join("."))
    }

    /// FHIRPath of a child named `segment` of the innermost open element.
    pub(super) fn child_expression(&self, segment: &str) -> Option<String> {
        match self.expression() {
            Some(parent) if !segment.is_empty() => Some(format!("{parent}.{segment}")),
            Some(parent) => Some(parent),
            None if !segment.is_empty() => Some(segment.to_owned()),
            None => None,
        }
    }

    pub(super) fn parser_error(&self, error: &quick_xml::Error) -> Rejection {
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

    pub(super) fn structure(
        &self,
        at: usize,
        expression: Option<String>,
        en: &str,
        it: &str,
    ) -> Rejection {
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

    pub(super) fn text_outside(&self, at: usize) -> Rejection {
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

    pub(super) fn too_deep(&self, segment: &str) -> Rejection {
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
}
