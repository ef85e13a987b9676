//! Character and name rules shared by reading and writing FHIR XML.

/// FHIR element and resource names: an ASCII letter, then letters and
/// digits (and `_`, which some extensions of the format use).
pub(super) fn is_fhir_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether XML 1.0 can carry the character.
pub(super) fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Whether XML text is only XML whitespace.
pub(super) fn is_blank(text: &str) -> bool {
    text.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
}

/// Whether an entity or character reference may stand in XHTML narrative:
/// a character reference to an XML character, or one of the five entities
/// XML predefines (no others can be declared: DOCTYPEs are refused).
pub(super) fn is_allowed_reference(reference: &quick_xml::events::BytesRef<'_>) -> bool {
    if reference.is_char_ref() {
        reference
            .resolve_char_ref()
            .ok()
            .flatten()
            .is_some_and(xml_char)
    } else {
        matches!(&**reference, "lt" | "gt" | "amp" | "apos" | "quot")
    }
}
