//! Writing the laid-out pages as a PDF with krilla: embedded subset fonts
//! with ToUnicode maps, document information and XMP, PDF/A-2b when the
//! caller gives a creation time.

use krilla::configure::{Archival, ConfigurationBuilder, PdfVersion};
use krilla::error::KrillaError;
use krilla::geom::Point;
use krilla::metadata::{DateTime, Metadata};
use krilla::page::PageSettings;
use krilla::surface::Surface;
use krilla::text::{GlyphId, KrillaGlyph};
use krilla::{Document, SerializeSettings};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::font::{self, Face, Faces, Style};
use super::layout::{self, FOOTER_BASELINE, FOOTER_SIZE, PAGE_HEIGHT, PAGE_WIDTH, PlacedLine};
use super::{Block, MainActDocument};

/// The Producer written into every main act.
const PRODUCER: &str = "Ponte";

/// Why a main act cannot be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// A value the act requires is empty (the title). The caller's fault.
    #[error("required value {field} is empty")]
    MissingValue {
        /// The model field, e.g. `title`.
        field: &'static str,
    },
    /// A character has no glyph in the embedded font, so it cannot be drawn
    /// (it is never dropped or replaced). The caller's fault, or a font too
    /// small for the document's script.
    #[error(
        "{field} holds U+{:04X} (Unicode block {block}), which the embedded font cannot draw",
        u32::from(*character)
    )]
    UnsupportedCharacter {
        /// Where: `title`, `addressee[0]`, `blocks[3]`, `place_and_date`,
        /// `signatures[1]`.
        field: String,
        /// The character.
        character: char,
        /// Its Unicode block, e.g. "Private Use Area", "Emoticons"
        /// ("unassigned" outside every block).
        block: &'static str,
    },
    /// `metadata.created` is not an RFC 3339 date-time. The caller's fault.
    #[error("metadata.created is not an RFC 3339 date-time: {value:?}")]
    InvalidCreated {
        /// The value given.
        value: String,
    },
    /// The embedded font cannot be read. A build defect (the vendored font
    /// file is broken); internal.
    #[error("embedded font cannot be loaded: {0}")]
    Font(String),
    /// The PDF writer refused the document (including a failed PDF/A
    /// validation). A bug of the renderer; internal.
    #[error("writing the pdf failed: {0}")]
    Pdf(String),
}

// === impl RenderError ===

impl RenderError {
    /// A bounded snake_case code for logs, metrics and problem documents.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingValue { .. } => "value_missing",
            Self::UnsupportedCharacter { .. } => "character_unsupported",
            Self::InvalidCreated { .. } => "created_invalid",
            Self::Font(_) => "font_unavailable",
            Self::Pdf(_) => "pdf_write_failed",
        }
    }

    pub(super) fn unsupported(field: &str, character: char) -> Self {
        Self::UnsupportedCharacter {
            field: field.to_owned(),
            character,
            block: unicode_blocks::find_unicode_block(character).map_or("unassigned", |b| b.name()),
        }
    }
}

/// Renders `doc` as the PDF of a main act: A4, DejaVu Serif 12 pt, embedded
/// and subset, text extractable, "Pagina N di M" in the footer.
///
/// The same document always gives the same bytes. With
/// `metadata.created` set the file is PDF/A-2b, checked by krilla's
/// validator while writing; without it, PDF 1.7 (PDF/A needs a date).
///
/// # Errors
/// [`RenderError::MissingValue`] for an empty title,
/// [`RenderError::UnsupportedCharacter`] for a character the font lacks,
/// [`RenderError::InvalidCreated`] for a malformed creation time; the other
/// variants are internal.
pub fn render_pdf(doc: &MainActDocument) -> Result<Vec<u8>, RenderError> {
    if doc.title.trim().is_empty() {
        return Err(RenderError::MissingValue { field: "title" });
    }
    let created = doc
        .metadata
        .created
        .as_deref()
        .map(parse_created)
        .transpose()?;
    let faces = font::faces()?;
    check_characters(faces, doc)?;
    let pages = layout::layout(faces, doc)?;

    let mut configuration = ConfigurationBuilder::new().with_version(PdfVersion::Pdf17);
    if created.is_some() {
        configuration = configuration.with_archival_validator(Archival::A2_B);
    }
    let configuration = configuration
        .finish()
        .map_err(|e| RenderError::Pdf(format!("configuration: {e:?}")))?;
    let settings = SerializeSettings {
        configuration,
        enable_tagging: false,
        ..SerializeSettings::default()
    };
    let mut document = Document::new_with(settings);
    let page_settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
        .ok_or_else(|| RenderError::Pdf("page size".to_owned()))?;
    let total = pages.len();
    for (index, lines) in pages.iter().enumerate() {
        let mut page = document.start_page_with(page_settings.clone());
        let mut surface = page.surface();
        for line in lines {
            draw_line(&mut surface, faces, line)?;
        }
        let footer = format!("Pagina {} di {}", index + 1, total);
        let face = faces.get(Style::Regular);
        let width = face.width(&footer, FOOTER_SIZE)?;
        draw_text(
            &mut surface,
            face,
            Point::from_xy((PAGE_WIDTH - width) / 2.0, FOOTER_BASELINE),
            &footer,
            FOOTER_SIZE,
            0.0,
        )?;
        surface.finish();
        page.finish();
    }
    document.set_metadata(metadata(doc, created));
    document.finish().map_err(describe)
}

/// Every text the act draws is checked before layout, so that the error
/// names the field.
fn check_characters(faces: &Faces, doc: &MainActDocument) -> Result<(), RenderError> {
    for (i, line) in doc.addressee.iter().enumerate() {
        faces.check(&format!("addressee[{i}]"), line)?;
    }
    faces.check("title", &doc.title)?;
    for (i, block) in doc.blocks.iter().enumerate() {
        let (Block::Heading(text) | Block::Paragraph(text) | Block::Item(text)) = block;
        faces.check(&format!("blocks[{i}]"), text)?;
    }
    if let Some(place_and_date) = &doc.place_and_date {
        faces.check("place_and_date", place_and_date)?;
    }
    for (i, line) in doc.signatures.iter().enumerate() {
        faces.check(&format!("signatures[{i}]"), line)?;
    }
    Ok(())
}

fn draw_line(
    surface: &mut Surface<'_>,
    faces: &Faces,
    line: &PlacedLine,
) -> Result<(), RenderError> {
    let face = faces.get(line.style);
    draw_text(
        surface,
        face,
        Point::from_xy(line.x, line.baseline),
        &line.text,
        line.size,
        line.extra_space,
    )?;
    if let Some((x, marker)) = line.marker {
        draw_text(
            surface,
            face,
            Point::from_xy(x, line.baseline),
            marker,
            line.size,
            0.0,
        )?;
    }
    Ok(())
}

/// Draws `text` as one run of glyphs, every breaking space widened by
/// `extra_space` points. Each glyph maps back to its character (ToUnicode).
fn draw_text(
    surface: &mut Surface<'_>,
    face: &Face,
    start: Point,
    text: &str,
    size: f32,
    extra_space: f32,
) -> Result<(), RenderError> {
    let extra_em = extra_space / size;
    let glyphs: Vec<KrillaGlyph> = face
        .shape(text)?
        .into_iter()
        .map(|g| {
            let advance = if g.is_space {
                g.advance_em + extra_em
            } else {
                g.advance_em
            };
            KrillaGlyph::new(
                GlyphId::new(u32::from(g.glyph_id)),
                advance,
                0.0,
                0.0,
                0.0,
                g.range,
                None,
            )
        })
        .collect();
    surface.draw_glyphs(start, &glyphs, face.font.clone(), text, size, false);
    Ok(())
}

fn metadata(doc: &MainActDocument, created: Option<DateTime>) -> Metadata {
    let meta = &doc.metadata;
    let title = if meta.title.trim().is_empty() {
        doc.title.clone()
    } else {
        meta.title.clone()
    };
    let mut out = Metadata::new()
        .title(title)
        .producer(PRODUCER.to_owned())
        .language("it".to_owned());
    if let Some(author) = meta.author.as_ref().filter(|a| !a.trim().is_empty()) {
        out = out.authors(vec![author.clone()]);
    }
    if let Some(subject) = meta.subject.as_ref().filter(|s| !s.trim().is_empty()) {
        out = out.description(subject.clone());
    }
    if let Some(created) = created {
        out = out.creation_date(created);
    }
    out
}

fn parse_created(value: &str) -> Result<DateTime, RenderError> {
    let invalid = || RenderError::InvalidCreated {
        value: value.to_owned(),
    };
    let t = OffsetDateTime::parse(value, &Rfc3339).map_err(|_| invalid())?;
    let year = u16::try_from(t.year()).map_err(|_| invalid())?;
    let offset = t.offset();
    let offset_hours = offset.whole_hours();
    let offset_minutes = offset.minutes_past_hour().unsigned_abs();
    Ok(DateTime::new(year)
        .month(u8::from(t.month()))
        .day(t.day())
        .hour(t.hour())
        .minute(t.minute())
        .second(t.second())
        .utc_offset_hour(offset_hours)
        .utc_offset_minute(offset_minutes))
}

fn describe(error: KrillaError) -> RenderError {
    match error {
        KrillaError::Validation(errors) => {
            let list: Vec<String> = errors.iter().map(|(e, _)| format!("{e:?}")).collect();
            RenderError::Pdf(format!("PDF/A validation: {}", list.join("; ")))
        }
        other => RenderError::Pdf(other.to_string()),
    }
}
