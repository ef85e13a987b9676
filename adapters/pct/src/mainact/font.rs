//! The embedded faces (DejaVu Serif, regular and bold) and what the layout
//! needs from them: the glyph of a character and its advance width.
//!
//! No shaping: every character maps to its nominal glyph through the font's
//! `cmap` and advances by its `hmtx` width. That is exact for the Latin,
//! Greek and Cyrillic running text of an act (no ligatures are used, so the
//! extracted text is exactly the input), and it keeps line breaking and
//! drawing on the same numbers.

use std::ops::Range;
use std::sync::LazyLock;

use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, MetadataProvider, charmap::Charmap};

use super::RenderError;

/// DejaVu Serif 2.37 without TrueType hinting, made by
/// `scripts/fonts-unhinted.sh` (Bitstream Vera licence, see
/// `assets/fonts/LICENSE-DejaVu.txt`).
static SERIF_REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSerif.ttf");
/// DejaVu Serif Bold 2.37.
static SERIF_BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSerif-Bold.ttf");

/// Which face a line is set in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    Regular,
    Bold,
}

/// One face: the krilla font (embedding, subsetting) and the skrifa tables
/// (cmap, advances) read from the same bytes.
pub(super) struct Face {
    pub(super) font: krilla::text::Font,
    charmap: Charmap<'static>,
    metrics: GlyphMetrics<'static>,
    units_per_em: f32,
}

/// The two faces, parsed once per process.
pub(super) struct Faces {
    regular: Face,
    bold: Face,
}

/// A character drawn as one glyph.
#[derive(Debug, Clone)]
pub(super) struct ShapedGlyph {
    pub(super) glyph_id: u16,
    /// Advance in em (font units divided by units per em).
    pub(super) advance_em: f32,
    /// Byte range of the character in the shaped text.
    pub(super) range: Range<usize>,
    /// Whether the character is a breaking space (stretched when justifying).
    pub(super) is_space: bool,
}

static FACES: LazyLock<Result<Faces, String>> = LazyLock::new(|| {
    Ok(Faces {
        regular: Face::load(SERIF_REGULAR, "DejaVuSerif.ttf")?,
        bold: Face::load(SERIF_BOLD, "DejaVuSerif-Bold.ttf")?,
    })
});

/// The embedded faces; an error only if the vendored font files are broken.
pub(super) fn faces() -> Result<&'static Faces, RenderError> {
    FACES
        .as_ref()
        .map_err(|reason| RenderError::Font(reason.clone()))
}

// === impl Faces ===

impl Faces {
    pub(super) fn get(&self, style: Style) -> &Face {
        match style {
            Style::Regular => &self.regular,
            Style::Bold => &self.bold,
        }
    }

    /// Checks that every character of `text` can be drawn with both faces,
    /// naming `field` and the character's Unicode block otherwise.
    pub(super) fn check(&self, field: &str, text: &str) -> Result<(), RenderError> {
        for ch in text.chars() {
            if is_break_space(ch) {
                continue;
            }
            for face in [&self.regular, &self.bold] {
                if face.glyph(ch).is_none() {
                    return Err(RenderError::unsupported(field, ch));
                }
            }
        }
        Ok(())
    }
}

// === impl Face ===

impl Face {
    fn load(data: &'static [u8], name: &str) -> Result<Self, String> {
        let font_ref = FontRef::new(data).map_err(|e| format!("{name}: {e}"))?;
        let units_per_em = font_ref
            .metrics(Size::unscaled(), LocationRef::default())
            .units_per_em;
        if units_per_em == 0 {
            return Err(format!("{name}: units per em is zero"));
        }
        let font = krilla::text::Font::new(data.into(), 0)
            .ok_or_else(|| format!("{name}: not a usable font"))?;
        Ok(Self {
            font,
            charmap: font_ref.charmap(),
            metrics: font_ref.glyph_metrics(Size::unscaled(), LocationRef::default()),
            units_per_em: f32::from(units_per_em),
        })
    }

    /// The nominal glyph of `ch` and its advance in em, if the face has one.
    /// Breaking spaces are drawn with the space glyph.
    fn glyph(&self, ch: char) -> Option<(u16, f32)> {
        let ch = if is_break_space(ch) { ' ' } else { ch };
        let gid = self.charmap.map(ch)?;
        let gid = u16::try_from(gid.to_u32()).ok().filter(|g| *g != 0)?;
        let advance = self
            .metrics
            .advance_width(skrifa::GlyphId::new(u32::from(gid)))
            .unwrap_or(0.0);
        Some((gid, advance / self.units_per_em))
    }

    /// Width of `text` at `size` points.
    pub(super) fn width(&self, text: &str, size: f32) -> Result<f32, RenderError> {
        let mut em = 0.0;
        for ch in text.chars() {
            let (_, advance) = self
                .glyph(ch)
                .ok_or_else(|| RenderError::unsupported("text", ch))?;
            em += advance;
        }
        Ok(em * size)
    }

    /// One glyph per character of `text`.
    pub(super) fn shape(&self, text: &str) -> Result<Vec<ShapedGlyph>, RenderError> {
        text.char_indices()
            .map(|(i, ch)| {
                let (glyph_id, advance_em) = self
                    .glyph(ch)
                    .ok_or_else(|| RenderError::unsupported("text", ch))?;
                Ok(ShapedGlyph {
                    glyph_id,
                    advance_em,
                    range: i..i + ch.len_utf8(),
                    is_space: is_break_space(ch),
                })
            })
            .collect()
    }
}

/// Whitespace a line may break at. No-break spaces (U+00A0, U+2007, U+202F)
/// are not: they keep "art. 404" or "€ 1.000" on one line.
pub(super) fn is_break_space(ch: char) -> bool {
    ch.is_whitespace() && !matches!(ch, '\u{a0}' | '\u{2007}' | '\u{202f}')
}
