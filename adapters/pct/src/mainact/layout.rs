//! Page geometry, line breaking and pagination: from a [`MainActDocument`]
//! to positioned lines, page by page. Nothing here writes PDF.
//!
//! Coordinates are PDF points (1/72 in) from the top-left corner of the page,
//! y growing downwards (krilla's convention).

use super::font::{Faces, Style, is_break_space};
use super::{Block, MainActDocument, RenderError};

/// A4 width in points (210 mm).
pub(super) const PAGE_WIDTH: f32 = 595.276;
/// A4 height in points (297 mm).
pub(super) const PAGE_HEIGHT: f32 = 841.89;
/// 2.5 cm on every side.
const MARGIN: f32 = 70.866;
const TEXT_LEFT: f32 = MARGIN;
const TEXT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;
const BODY_TOP: f32 = MARGIN;
const BODY_BOTTOM: f32 = PAGE_HEIGHT - MARGIN;
/// Baseline of "Pagina N di M", centred, inside the bottom margin.
pub(super) const FOOTER_BASELINE: f32 = PAGE_HEIGHT - 36.0;
/// Footer font size.
pub(super) const FOOTER_SIZE: f32 = 9.0;

/// Body text size: 12 pt, line spacing 1.4.
const BODY_SIZE: f32 = 12.0;
const LINE_SPACING: f32 = 1.4;
const LEADING: f32 = BODY_SIZE * LINE_SPACING;
const TITLE_SIZE: f32 = 14.0;
/// The addressee block is set flush right, every line on its own.
const ADDRESSEE_WIDTH: f32 = TEXT_WIDTH;
/// List items: the dash at `ITEM_MARKER`, the text (every line) at `ITEM_INDENT`.
const ITEM_MARKER: f32 = 12.0;
const ITEM_INDENT: f32 = 28.0;
const ITEM_MARKER_TEXT: &str = "\u{2013}";
/// Signatures: centred in the right half of the text column.
const SIGNATURE_LEFT: f32 = TEXT_LEFT + TEXT_WIDTH * 0.5;
const SIGNATURE_WIDTH: f32 = TEXT_WIDTH * 0.5;

/// One line, positioned on its page.
#[derive(Debug, Clone)]
pub(super) struct PlacedLine {
    pub(super) style: Style,
    pub(super) size: f32,
    pub(super) x: f32,
    pub(super) baseline: f32,
    pub(super) text: String,
    /// Points added to every breaking space (justification).
    pub(super) extra_space: f32,
    /// A list marker drawn on the same baseline at this x.
    pub(super) marker: Option<(f32, &'static str)>,
}

/// The lines of every page, in order.
pub(super) type Pages = Vec<Vec<PlacedLine>>;

/// Lays the whole document out. Every character has been checked against
/// the font before (see [`Faces::check`]).
pub(super) fn layout(faces: &Faces, doc: &MainActDocument) -> Result<Pages, RenderError> {
    let chunks = chunks(faces, doc)?;
    let mut flow = Flow::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let next_min = chunks.get(i + 1).map(Chunk::min_height).unwrap_or(0.0);
        flow.place(chunk, next_min);
    }
    Ok(flow.pages)
}

/// A line before it is placed on a page.
#[derive(Debug, Clone)]
struct LineSpec {
    style: Style,
    size: f32,
    leading: f32,
    /// Vertical space before the line (dropped at the top of a page).
    gap_before: f32,
    x: f32,
    text: String,
    extra_space: f32,
    marker: Option<(f32, &'static str)>,
}

/// A run of lines placed together: a title, a heading, a paragraph, an item,
/// the closing block.
#[derive(Debug, Default)]
struct Chunk {
    lines: Vec<LineSpec>,
    /// Never split across pages (unless it is taller than a page).
    keep_together: bool,
    /// Starts a new page rather than ending one without the first lines of
    /// the next chunk (headings, the title).
    keep_with_next: bool,
}

impl Chunk {
    fn height(lines: &[LineSpec]) -> f32 {
        lines.iter().map(|l| l.gap_before + l.leading).sum()
    }

    /// Height the next chunk needs on this page to keep a heading company:
    /// its first two lines.
    fn min_height(&self) -> f32 {
        Self::height(&self.lines[..self.lines.len().min(2)])
    }
}

#[derive(Debug, Clone, Copy)]
enum Align {
    Left,
    Right,
    Center,
    Justify,
}

/// What a block looks like: face, size, column, alignment, space before.
#[derive(Debug, Clone, Copy)]
struct Setting {
    style: Style,
    size: f32,
    left: f32,
    width: f32,
    align: Align,
    gap_before: f32,
}

fn chunks(faces: &Faces, doc: &MainActDocument) -> Result<Vec<Chunk>, RenderError> {
    let mut out = Vec::new();

    let mut addressee = Chunk {
        keep_together: true,
        ..Chunk::default()
    };
    let setting = Setting {
        style: Style::Bold,
        size: BODY_SIZE,
        left: TEXT_LEFT + TEXT_WIDTH - ADDRESSEE_WIDTH,
        width: ADDRESSEE_WIDTH,
        align: Align::Right,
        gap_before: 0.0,
    };
    for line in &doc.addressee {
        addressee.lines.extend(set(faces, setting, line)?);
    }
    let after_addressee = if addressee.lines.is_empty() {
        0.0
    } else {
        2.0 * LEADING
    };
    out.push(addressee);

    let title = Setting {
        style: Style::Bold,
        size: TITLE_SIZE,
        left: TEXT_LEFT,
        width: TEXT_WIDTH,
        align: Align::Center,
        gap_before: after_addressee,
    };
    out.push(Chunk {
        lines: set(faces, title, &doc.title)?,
        keep_together: true,
        keep_with_next: true,
    });

    let mut first = true;
    for block in &doc.blocks {
        // The first block keeps a wider gap from the title.
        let extra = if first { LEADING } else { 0.0 };
        let (text, setting, marker, keep_with_next) = match block {
            Block::Heading(text) => (
                text,
                Setting {
                    style: Style::Bold,
                    size: BODY_SIZE,
                    left: TEXT_LEFT,
                    width: TEXT_WIDTH,
                    align: Align::Center,
                    gap_before: extra + LEADING * 0.9,
                },
                false,
                true,
            ),
            Block::Paragraph(text) => (
                text,
                Setting {
                    style: Style::Regular,
                    size: BODY_SIZE,
                    left: TEXT_LEFT,
                    width: TEXT_WIDTH,
                    align: Align::Justify,
                    gap_before: extra + LEADING * 0.4,
                },
                false,
                false,
            ),
            Block::Item(text) => (
                text,
                Setting {
                    style: Style::Regular,
                    size: BODY_SIZE,
                    left: TEXT_LEFT + ITEM_INDENT,
                    width: TEXT_WIDTH - ITEM_INDENT,
                    align: Align::Justify,
                    gap_before: extra + LEADING * 0.25,
                },
                true,
                false,
            ),
        };
        let mut lines = set(faces, setting, text)?;
        if lines.is_empty() {
            continue;
        }
        first = false;
        if marker {
            lines[0].marker = Some((TEXT_LEFT + ITEM_MARKER, ITEM_MARKER_TEXT));
        }
        out.push(Chunk {
            lines,
            keep_together: keep_with_next,
            keep_with_next,
        });
    }

    // The closing: place and date on the left, then each signature centred
    // in the right half, kept on one page.
    let mut closing = Chunk {
        keep_together: true,
        ..Chunk::default()
    };
    if let Some(place_and_date) = &doc.place_and_date {
        let setting = Setting {
            style: Style::Regular,
            size: BODY_SIZE,
            left: TEXT_LEFT,
            width: TEXT_WIDTH,
            align: Align::Left,
            gap_before: 2.0 * LEADING,
        };
        closing.lines.extend(set(faces, setting, place_and_date)?);
    }
    for (i, signature) in doc.signatures.iter().enumerate() {
        let gap_before = if i == 0 && closing.lines.is_empty() {
            2.0 * LEADING
        } else {
            1.5 * LEADING
        };
        let setting = Setting {
            style: Style::Regular,
            size: BODY_SIZE,
            left: SIGNATURE_LEFT,
            width: SIGNATURE_WIDTH,
            align: Align::Center,
            gap_before,
        };
        closing.lines.extend(set(faces, setting, signature)?);
    }
    out.push(closing);

    out.retain(|c| !c.lines.is_empty());
    Ok(out)
}

/// Wraps `text` into the column of `setting` and aligns every line. The
/// first line carries the setting's gap.
fn set(faces: &Faces, setting: Setting, text: &str) -> Result<Vec<LineSpec>, RenderError> {
    let face = faces.get(setting.style);
    let wrapped = wrap(face, setting.size, text, setting.width)?;
    let count = wrapped.len();
    Ok(wrapped
        .into_iter()
        .enumerate()
        .map(|(i, line)| {
            let slack = (setting.width - line.width).max(0.0);
            let (x, extra_space) = match setting.align {
                Align::Left => (setting.left, 0.0),
                Align::Right => (setting.left + slack, 0.0),
                Align::Center => (setting.left + slack / 2.0, 0.0),
                Align::Justify if i + 1 < count && !line.hard_break && line.spaces > 0 => {
                    (setting.left, slack / line.spaces as f32)
                }
                Align::Justify => (setting.left, 0.0),
            };
            LineSpec {
                style: setting.style,
                size: setting.size,
                leading: setting.size * LINE_SPACING,
                gap_before: if i == 0 { setting.gap_before } else { 0.0 },
                x,
                text: line.text,
                extra_space,
                marker: None,
            }
        })
        .collect())
}

/// A line after breaking, before alignment.
#[derive(Debug)]
struct Wrapped {
    text: String,
    width: f32,
    spaces: usize,
    /// The line ends inside a word too long for a line.
    hard_break: bool,
}

/// Greedy line breaking at breaking spaces, measured with the face's real
/// advance widths. Runs of whitespace collapse to one space. A word longer
/// than the line is broken between characters.
fn wrap(
    face: &super::font::Face,
    size: f32,
    text: &str,
    width: f32,
) -> Result<Vec<Wrapped>, RenderError> {
    let space = face.width(" ", size)?;
    let mut lines = Vec::new();
    let mut current = Wrapped {
        text: String::new(),
        width: 0.0,
        spaces: 0,
        hard_break: false,
    };
    for word in text.split(is_break_space).filter(|w| !w.is_empty()) {
        let word_width = face.width(word, size)?;
        if !current.text.is_empty() {
            if current.width + space + word_width <= width {
                current.text.push(' ');
                current.text.push_str(word);
                current.width += space + word_width;
                current.spaces += 1;
                continue;
            }
            lines.push(std::mem::replace(
                &mut current,
                Wrapped {
                    text: String::new(),
                    width: 0.0,
                    spaces: 0,
                    hard_break: false,
                },
            ));
        }
        if word_width <= width {
            current.text.push_str(word);
            current.width = word_width;
            continue;
        }
        // A word wider than the line (a long URL, an IBAN without spaces):
        // break it between characters.
        for ch in word.chars() {
            let mut buf = [0u8; 4];
            let ch_width = face.width(ch.encode_utf8(&mut buf), size)?;
            if !current.text.is_empty() && current.width + ch_width > width {
                current.hard_break = true;
                lines.push(std::mem::replace(
                    &mut current,
                    Wrapped {
                        text: String::new(),
                        width: 0.0,
                        spaces: 0,
                        hard_break: false,
                    },
                ));
            }
            current.text.push(ch);
            current.width += ch_width;
        }
    }
    if !current.text.is_empty() {
        lines.push(current);
    }
    Ok(lines)
}

/// Pages being filled.
struct Flow {
    pages: Pages,
    /// Top of the next line on the current page.
    y: f32,
}

impl Flow {
    fn new() -> Self {
        Self {
            pages: vec![Vec::new()],
            y: BODY_TOP,
        }
    }

    fn page_is_empty(&self) -> bool {
        self.pages.last().is_none_or(Vec::is_empty)
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = BODY_TOP;
    }

    /// Height left on the current page, counting the gap of `line` only if
    /// the page already has something on it.
    fn fits(&self, lines: &[LineSpec]) -> usize {
        let mut y = self.y;
        let mut empty = self.page_is_empty();
        let mut n = 0;
        for line in lines {
            let gap = if empty { 0.0 } else { line.gap_before };
            if y + gap + line.leading > BODY_BOTTOM + 0.01 {
                break;
            }
            y += gap + line.leading;
            empty = false;
            n += 1;
        }
        n
    }

    fn put(&mut self, line: &LineSpec) {
        if !self.page_is_empty() {
            self.y += line.gap_before;
        }
        // Baseline: the line box is `leading` tall, the text sits in it with
        // the extra spacing split above and below.
        let baseline = self.y + (line.leading - line.size) / 2.0 + line.size * 0.8;
        let placed = PlacedLine {
            style: line.style,
            size: line.size,
            x: line.x,
            baseline,
            text: line.text.clone(),
            extra_space: line.extra_space,
            marker: line.marker,
        };
        if let Some(page) = self.pages.last_mut() {
            page.push(placed);
        }
        self.y += line.leading;
    }

    /// Places `chunk`, breaking pages as needed. `next_min` is the height the
    /// next chunk needs to keep a heading company.
    fn place(&mut self, chunk: &Chunk, next_min: f32) {
        let lines = &chunk.lines;
        let n = lines.len();
        if chunk.keep_together || chunk.keep_with_next {
            let mut need = Chunk::height(lines);
            if chunk.keep_with_next {
                need += next_min;
            }
            let room = BODY_BOTTOM - self.y;
            if need > room && !self.page_is_empty() && need <= BODY_BOTTOM - BODY_TOP {
                self.new_page();
            }
        }
        let mut i = 0;
        while i < n {
            let fit = self.fits(&lines[i..]);
            if fit >= n - i {
                lines[i..].iter().for_each(|l| self.put(l));
                return;
            }
            let mut k = fit;
            if !chunk.keep_together {
                // No widow: at least two lines go to the next page.
                if n - i - k == 1 {
                    k = if k >= 3 { k - 1 } else { 0 };
                }
                // No orphan: a paragraph does not start with one line at
                // the bottom of a page.
                if i == 0 && k == 1 && n > 1 {
                    k = 0;
                }
            }
            if k == 0 && self.page_is_empty() {
                // Taller than a page even so: take what fits.
                k = fit.max(1);
            }
            lines[i..i + k].iter().for_each(|l| self.put(l));
            i += k;
            self.new_page();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::mainact::DocumentMetadata;
    use crate::mainact::font::faces;

    fn doc(blocks: Vec<Block>) -> MainActDocument {
        MainActDocument {
            addressee: vec!["AL TRIBUNALE".into()],
            title: "Ricorso".into(),
            blocks,
            place_and_date: Some("Genova, 26 novembre 2026".into()),
            signatures: vec!["Il ricorrente".into(), "L'avvocato".into()],
            metadata: DocumentMetadata::default(),
        }
    }

    fn paragraph(words: usize) -> Block {
        Block::Paragraph(vec!["parola"; words].join(" "))
    }

    #[test]
    fn wraps_by_glyph_width_and_justifies_all_but_the_last_line() {
        let faces = faces().unwrap();
        let setting = Setting {
            style: Style::Regular,
            size: BODY_SIZE,
            left: TEXT_LEFT,
            width: TEXT_WIDTH,
            align: Align::Justify,
            gap_before: 0.0,
        };
        let lines = set(faces, setting, &vec!["àèéìòù"; 60].join("  \n ")).unwrap();
        assert!(lines.len() > 2);
        let face = faces.get(Style::Regular);
        let space = face.width(" ", BODY_SIZE).unwrap();
        for (i, line) in lines.iter().enumerate() {
            let natural = face.width(&line.text, BODY_SIZE).unwrap();
            let spaces = line.text.matches(' ').count() as f32;
            assert!(natural <= TEXT_WIDTH);
            if i + 1 < lines.len() {
                let justified = natural + spaces * line.extra_space;
                assert!((justified - TEXT_WIDTH).abs() < 0.01, "{justified}");
                // Greedy: the next word would not have fitted.
                let next = face.width(lines[i + 1].text.split(' ').next().unwrap(), BODY_SIZE);
                assert!(natural + space + next.unwrap() > TEXT_WIDTH);
            } else {
                assert_eq!(line.extra_space, 0.0);
            }
        }
    }

    #[test]
    fn headings_never_end_a_page_and_paragraphs_leave_no_single_lines() {
        let mut blocks = Vec::new();
        for i in 0..40 {
            blocks.push(Block::Heading(format!("SEZIONE {i}")));
            blocks.push(paragraph(20 + (i * 37) % 90));
        }
        let doc = doc(blocks);
        let faces = faces().unwrap();
        let pages = layout(faces, &doc).unwrap();
        assert!(pages.len() > 5);
        for (n, page) in pages.iter().enumerate() {
            for line in page {
                assert!(line.baseline > BODY_TOP && line.baseline < BODY_BOTTOM);
            }
            let last = page.last().unwrap();
            if n + 1 < pages.len() {
                assert!(last.style == Style::Regular, "page {n} ends with a heading");
            }
        }
        // The closing block is together on the last page.
        let last = pages.last().unwrap();
        let texts: Vec<&str> = last.iter().map(|l| l.text.as_str()).collect();
        for expected in ["Genova, 26 novembre 2026", "Il ricorrente", "L'avvocato"] {
            assert!(texts.contains(&expected), "{texts:?}");
        }
        // Every page after the first starts with at least two lines of text
        // of the same paragraph, or a heading (no widows).
        for page in &pages[1..] {
            if page[0].style == Style::Regular && page.len() > 1 {
                assert!((page[1].baseline - page[0].baseline - LEADING).abs() < 0.01);
            }
        }
    }
}
