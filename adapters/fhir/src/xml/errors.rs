//! What the byte scan and the reader both need to refuse a body: the line
//! and column of a byte offset, and the plain `xml_syntax` refusal.

use crate::{Issue, Rejection};

/// Line and column (both from 1, the column in bytes) of a byte offset.
pub(super) fn line_column(text: &[u8], at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    (line, column)
}

/// A 400 `xml_syntax` refusal, without a FHIRPath.
pub(super) fn syntax(en: String, it: String) -> Rejection {
    Rejection::one(400, Issue::error("structure", "xml_syntax", en, it, None))
}
