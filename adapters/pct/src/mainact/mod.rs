//! The main act (atto principale) of a filing as a document: what the
//! mapping fills from a per-act Italian template, and what is rendered as the
//! PDF that is signed as `<name>.pdf.p7m`.
//!
//! The model is deliberately plain — headings, paragraphs, list items and a
//! signature block — because a ricorso or an istanza is running text; the
//! layout is the renderer's business, not the mapping author's.
//!
//! [`render_pdf`] turns a [`MainActDocument`] into the PDF bytes (A4, embedded
//! DejaVu Serif, "Pagina N di M", PDF/A-2b when a creation time is given);
//! see `docs/pct-mainact.md` for the layout rules.

mod font;
mod layout;
mod render;

pub use render::{RenderError, render_pdf};

/// One main act, ready to be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MainActDocument {
    /// Lines at the top, right-aligned or centred by the renderer, e.g.
    /// `["AL TRIBUNALE ORDINARIO DI GENOVA", "Ufficio del Giudice tutelare"]`.
    pub addressee: Vec<String>,
    /// The act's title, e.g. "Ricorso per la nomina di un amministratore di
    /// sostegno (artt. 404 e segg. c.c.)".
    pub title: String,
    /// The body, in order.
    pub blocks: Vec<Block>,
    /// Place and date line before the signatures, e.g. "Genova, 26 novembre 2026".
    pub place_and_date: Option<String>,
    /// One line per signatory, e.g. "Il ricorrente, Anna Parodi".
    pub signatures: Vec<String>,
    /// Document information written into the PDF.
    pub metadata: DocumentMetadata,
}

/// A block of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A section heading, e.g. "PREMESSO CHE" or "CHIEDE".
    Heading(String),
    /// A paragraph of running text, wrapped by the renderer.
    Paragraph(String),
    /// A list item (rendered with a bullet or dash), wrapped with a hanging
    /// indent.
    Item(String),
}

/// The PDF's document information.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocumentMetadata {
    /// Title (usually the act's title).
    pub title: String,
    /// Author: the proximity office or the petitioner.
    pub author: Option<String>,
    /// Subject, e.g. "Volontaria giurisdizione — amministrazione di sostegno".
    pub subject: Option<String>,
    /// Creation time, RFC 3339 (`2026-11-26T10:15:00+01:00`). Given by the
    /// caller so that the same input always renders the same bytes.
    pub created: Option<String>,
}
