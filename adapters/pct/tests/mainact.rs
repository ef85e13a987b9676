//! The main act's PDF, checked with tools that share no code with the
//! renderer: poppler's `pdftotext`, `pdfinfo`, `pdffonts` and `qpdf`
//! (Debian: poppler-utils, qpdf; `scripts/install-deps.sh test`). A missing
//! tool fails the test.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

use ponte_pct::mainact::{Block, DocumentMetadata, MainActDocument, RenderError, render_pdf};

const TITLE: &str =
    "Ricorso per la nomina di un amministratore di sostegno (artt. 404 e segg. c.c.)";
const BENEFICIARY: &str = "Ștefan Łukasiewicz-Doğan";
const ACCENTED: &str = "la beneficiaria è affetta da una patologia che non le consente più di provvedere da sé ai propri interessi";

/// A ricorso as the mapping would fill it: long enough for three pages.
fn ricorso() -> MainActDocument {
    let mut blocks = vec![
        Block::Paragraph(
            "La sottoscritta Anna Parodi, nata a Genova il 12 marzo 1968, codice fiscale \
             PRDNNA68C52D969X, residente a Genova in via Giuseppe Garibaldi 7/3, nella sua \
             qualità di figlia convivente, elettivamente domiciliata presso lo Sportello di \
             prossimità di Genova Sampierdarena,"
                .into(),
        ),
        Block::Heading("PREMESSO CHE".into()),
        Block::Paragraph(format!(
            "il signor {BENEFICIARY}, nato a Brașov (Romania) il 3 giugno 1941, codice fiscale \
             LKSSFN41H03Z129K, residente a Genova in corso Sardegna 41, è padre della ricorrente \
             e vive con lei dal 2019; la moglie, signora Çağla Núñez Ibáñez, è deceduta nel 2021;"
        )),
        Block::Paragraph(format!(
            "come risulta dalla relazione del medico curante, {ACCENTED}, né di comprendere \
             appieno il significato degli atti di amministrazione ordinaria e straordinaria \
             del patrimonio;"
        )),
    ];
    let facts = [
        "nel corso dell'ultimo anno le condizioni del beneficiario sono progressivamente \
         peggiorate, con episodi di disorientamento spazio-temporale documentati dal \
         Dipartimento di salute mentale dell'ASL 3 Genovese, che lo ha in carico dal mese di \
         gennaio; la terapia prescritta richiede una supervisione quotidiana che la \
         ricorrente assicura personalmente",
        "il beneficiario è titolare di una pensione di vecchiaia erogata dall'INPS e di un \
         conto corrente presso un istituto di credito genovese, sul quale confluiscono le \
         entrate e dal quale vengono pagati il canone di locazione, le utenze domestiche e \
         le spese per l'assistenza domiciliare; non è proprietario di beni immobili",
        "occorre compiere a breve atti che il beneficiario non è in grado di compiere da sé: \
         la domanda di accertamento dell'invalidità civile e dell'indennità di \
         accompagnamento, la scelta di una struttura residenziale adeguata qualora \
         l'assistenza domiciliare non fosse più sufficiente, la gestione ordinaria del conto \
         corrente e dei rapporti con gli enti previdenziali",
        "la misura dell'amministrazione di sostegno appare la più idonea a tutelare il \
         beneficiario con la minore limitazione possibile della sua capacità di agire, \
         secondo il principio affermato dalla Corte di cassazione, poiché egli conserva la \
         capacità di esprimere le proprie preferenze nella vita quotidiana e le relazioni \
         affettive con i familiari",
        "il beneficiario, sentito dalla ricorrente alla presenza dell'assistente sociale, \
         ha manifestato il desiderio che sia la figlia a occuparsi dei suoi interessi, e \
         non vi sono altri parenti entro il quarto grado che abbiano manifestato \
         un'opinione contraria; il fratello, signor Mihail Łukasiewicz, residente a Kraków, \
         è stato informato del presente ricorso",
    ];
    for (i, fact) in facts.iter().cycle().take(15).enumerate() {
        blocks.push(Block::Paragraph(format!("({}) {fact};", i + 1)));
    }
    blocks.push(Block::Heading("CHIEDE".into()));
    blocks.push(Block::Paragraph(
        "che l'Ill.mo Giudice tutelare, sentito il beneficiario ai sensi dell'art. 407 c.c., \
         voglia:"
            .into(),
    ));
    for item in [
        "nominare amministratore di sostegno del signor Ștefan Łukasiewicz-Doğan la \
         ricorrente, signora Anna Parodi, o in subordine la persona che il Giudice riterrà \
         più idonea;",
        "attribuire all'amministratore di sostegno il potere di compiere in nome e per conto \
         del beneficiario gli atti di ordinaria amministrazione, la riscossione della \
         pensione e la gestione del conto corrente, con obbligo di rendiconto annuale;",
        "autorizzare l'amministratore a presentare la domanda di invalidità civile e di \
         indennità di accompagnamento e a prestare il consenso informato ai trattamenti \
         sanitari quando il beneficiario non sia in grado di esprimerlo;",
        "adottare, ove ritenuto necessario, i provvedimenti urgenti previsti dall'art. 405, \
         quarto comma, c.c.",
    ] {
        blocks.push(Block::Item(item.into()));
    }
    blocks.push(Block::Heading("SI ALLEGANO".into()));
    for item in [
        "certificato del medico curante del 14 novembre 2026;",
        "relazione del Dipartimento di salute mentale;",
        "stato di famiglia e certificato di residenza;",
        "estratto del conto corrente IT60X0542811101000000123456 e documentazione INPS.",
    ] {
        blocks.push(Block::Item(item.into()));
    }
    MainActDocument {
        addressee: vec![
            "AL TRIBUNALE ORDINARIO DI GENOVA".into(),
            "Ufficio del Giudice tutelare".into(),
        ],
        title: TITLE.into(),
        blocks,
        place_and_date: Some("Genova, 26 novembre 2026".into()),
        signatures: vec!["La ricorrente, Anna Parodi".into()],
        metadata: DocumentMetadata {
            title: TITLE.into(),
            author: Some("Anna Parodi".into()),
            subject: Some("Volontaria giurisdizione — amministrazione di sostegno".into()),
            created: Some("2026-11-26T10:15:00+01:00".into()),
        },
    }
}

/// Runs one of the independent checkers; a missing tool fails the test.
fn tool(program: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run {program} ({e}): install poppler-utils and qpdf (scripts/install-deps.sh test)")
    });
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write_pdf(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn text_of(path: &Path) -> String {
    let (ok, out, err) = tool("pdftotext", &["-enc", "UTF-8", path.to_str().unwrap(), "-"]);
    assert!(ok, "pdftotext failed: {err}");
    out
}

/// Collapses every run of whitespace (line ends included) to one space.
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn pdfinfo(path: &Path, extra: &[&str]) -> String {
    let mut args = extra.to_vec();
    args.push(path.to_str().unwrap());
    let (ok, out, err) = tool("pdfinfo", &args);
    assert!(ok, "pdfinfo failed: {err}");
    out
}

fn info_field<'a>(info: &'a str, key: &str) -> Option<&'a str> {
    info.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(str::trim)
}

#[test]
fn text_is_extractable_with_accents_and_foreign_names() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = write_pdf(dir.path(), "Ricorso.pdf", &render_pdf(&ricorso()).unwrap());
    let text = squash(&text_of(&pdf));
    for expected in [
        TITLE,
        ACCENTED,
        BENEFICIARY,
        "Çağla Núñez Ibáñez",
        "Brașov",
        "Kraków",
        "AL TRIBUNALE ORDINARIO DI GENOVA",
        "PREMESSO CHE",
        "CHIEDE",
        "Genova, 26 novembre 2026",
        "La ricorrente, Anna Parodi",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} not extracted from:\n{text}"
        );
    }
}

#[test]
fn page_count_matches_footer_and_act_spans_pages() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = write_pdf(dir.path(), "Ricorso.pdf", &render_pdf(&ricorso()).unwrap());
    let info = pdfinfo(&pdf, &[]);
    let pages: usize = info_field(&info, "Pages").unwrap().parse().unwrap();
    assert!(pages >= 3, "expected at least 3 pages, got {pages}");
    assert_eq!(
        info_field(&info, "Page size").unwrap(),
        "595.276 x 841.89 pts (A4)"
    );

    // Page by page: each page's footer names itself and the total.
    for page in 1..=pages {
        let p = page.to_string();
        let (ok, out, err) = tool(
            "pdftotext",
            &[
                "-f",
                &p,
                "-l",
                &p,
                "-enc",
                "UTF-8",
                pdf.to_str().unwrap(),
                "-",
            ],
        );
        assert!(ok, "{err}");
        let out = squash(&out);
        assert!(
            out.contains(&format!("Pagina {page} di {pages}")),
            "page {page} footer wrong: …{}",
            &out[out.len().saturating_sub(80)..]
        );
        assert_eq!(out.matches("Pagina ").count(), 1, "one footer per page");
    }
}

/// Word boxes from `pdftotext -bbox`: (page, xmin, ymin, xmax, ymax, word).
fn words(path: &Path) -> Vec<(usize, f32, f32, f32, f32, String)> {
    let (ok, html, err) = tool("pdftotext", &["-bbox", path.to_str().unwrap(), "-"]);
    assert!(ok, "{err}");
    let attr = |tag: &str, name: &str| -> f32 {
        let start = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        tag[start..][..tag[start..].find('"').unwrap()]
            .parse()
            .unwrap()
    };
    let mut page = 0;
    let mut out = Vec::new();
    for line in html.lines() {
        let line = line.trim();
        if line.starts_with("<page ") {
            page += 1;
        } else if let Some(rest) = line.strip_prefix("<word ") {
            let (tag, text) = rest.split_once('>').unwrap();
            let word = text.trim_end_matches("</word>").to_owned();
            out.push((
                page,
                attr(tag, "xMin"),
                attr(tag, "yMin"),
                attr(tag, "xMax"),
                attr(tag, "yMax"),
                word,
            ));
        }
    }
    out
}

#[test]
fn layout_stays_inside_the_margins_with_hanging_indents() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = write_pdf(dir.path(), "Ricorso.pdf", &render_pdf(&ricorso()).unwrap());
    let words = words(&pdf);
    assert!(words.len() > 1000, "{} words", words.len());
    let (left, right, top, bottom) = (70.866, 595.276 - 70.866, 70.866, 841.89 - 70.866);
    for (page, x0, y0, x1, y1, word) in &words {
        let footer = *y0 > bottom;
        assert!(
            *x0 >= left - 0.5,
            "{word:?} on page {page} left of the margin ({x0})"
        );
        assert!(
            *x1 <= right + 0.5,
            "{word:?} on page {page} past the right margin ({x1})"
        );
        assert!(
            *y0 >= top - 1.0,
            "{word:?} on page {page} above the top margin ({y0})"
        );
        if footer {
            assert!(
                ["Pagina", "di"].contains(&word.as_str()) || word.parse::<usize>().is_ok(),
                "{word:?} on page {page} in the bottom margin ({y0}..{y1})"
            );
        }
    }
    // Addressee flush right, on page 1.
    let court = words.iter().find(|w| w.5 == "GENOVA").unwrap();
    assert_eq!(court.0, 1);
    assert!(
        (court.3 - right).abs() < 1.0,
        "addressee not flush right: {}",
        court.3
    );
    // Both title lines centred on the page.
    for first_word in ["Ricorso", "(artt."] {
        let start = words.iter().find(|w| w.5 == first_word).unwrap();
        let line: Vec<_> = words
            .iter()
            .filter(|w| w.0 == start.0 && (w.2 - start.2).abs() < 0.5)
            .collect();
        let x0 = line.iter().map(|w| w.1).fold(f32::MAX, f32::min);
        let x1 = line.iter().map(|w| w.3).fold(f32::MIN, f32::max);
        assert!(
            ((x0 + x1) / 2.0 - 595.276 / 2.0).abs() < 1.0,
            "title line {first_word:?} not centred: {x0}..{x1}"
        );
    }
    // Justified running text: many lines end exactly at the right margin.
    let flush = words.iter().filter(|w| (w.3 - right).abs() < 0.6).count();
    assert!(flush > 60, "only {flush} lines reach the right margin");
    // List items: the dash hangs at +12 pt, every line of text at +28 pt.
    let dashes: Vec<_> = words.iter().filter(|w| w.5 == "\u{2013}").collect();
    assert_eq!(dashes.len(), 8, "one dash per item");
    for dash in dashes {
        assert!((dash.1 - (left + 12.0)).abs() < 1.0, "dash at {}", dash.1);
    }
    let item_second_line = words
        .iter()
        .find(|w| w.5 == "esprimerlo;")
        .expect("second item wraps");
    assert!(
        words
            .iter()
            .filter(|w| w.0 == item_second_line.0 && (w.2 - item_second_line.2).abs() < 0.5)
            .all(|w| w.1 >= left + 27.5),
        "item continuation lines not indented"
    );
    // The signature sits in the right half, below the place and date.
    let date = words.iter().rev().find(|w| w.5 == "Genova,").unwrap();
    let sign = words.iter().rev().find(|w| w.5 == "ricorrente,").unwrap();
    assert!(
        sign.1 > left + (right - left) / 2.0,
        "signature not in the right half"
    );
    assert!(
        sign.2 > date.2 && sign.0 == date.0,
        "signature not below the date"
    );
}

#[test]
fn qpdf_finds_no_errors_and_there_is_no_active_content() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = write_pdf(dir.path(), "Ricorso.pdf", &render_pdf(&ricorso()).unwrap());
    let (ok, out, err) = tool("qpdf", &["--check", pdf.to_str().unwrap()]);
    assert!(ok, "qpdf --check failed:\n{out}\n{err}");
    assert!(
        out.contains("No syntax or stream encoding errors found"),
        "{out}"
    );
    assert!(
        !out.to_lowercase().contains("warning") && err.is_empty(),
        "{out}{err}"
    );

    // Every object written out uncompressed: no JavaScript, forms, actions
    // or links anywhere.
    let qdf = dir.path().join("qdf.pdf");
    let (ok, _, err) = tool(
        "qpdf",
        &[
            "--qdf",
            "--object-streams=disable",
            pdf.to_str().unwrap(),
            qdf.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    let raw = String::from_utf8_lossy(&std::fs::read(&qdf).unwrap()).into_owned();
    for key in [
        "/JavaScript",
        "/JS",
        "/AcroForm",
        "/OpenAction",
        "/AA",
        "/URI",
        "/Launch",
        "/Annots",
        "/EmbeddedFile",
        "/XObject",
    ] {
        assert!(!raw.contains(key), "{key} found in the pdf");
    }

    // Fonts: embedded, subset, with a ToUnicode map.
    let (ok, fonts, err) = tool("pdffonts", &[pdf.to_str().unwrap()]);
    assert!(ok, "{err}");
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert_eq!(rows.len(), 2, "regular and bold:\n{fonts}");
    for row in rows {
        assert!(row.contains("DejaVuSerif"), "{row}");
        let cols: Vec<&str> = row.split_whitespace().collect();
        // name type encoding emb sub uni object ID
        let n = cols.len();
        assert_eq!(&cols[n - 5..n - 2], ["yes", "yes", "yes"], "{row}");
    }
}

#[test]
fn same_document_same_bytes() {
    let doc = ricorso();
    let first = render_pdf(&doc).unwrap();
    let second = render_pdf(&doc.clone()).unwrap();
    assert!(first == second, "two renders differ");
    let mut other = doc;
    other.metadata.created = Some("2026-11-27T09:00:00+01:00".into());
    assert!(render_pdf(&other).unwrap() != first, "the date is written");
}

#[test]
fn metadata_and_pdfa_identification() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = write_pdf(dir.path(), "Ricorso.pdf", &render_pdf(&ricorso()).unwrap());
    let info = pdfinfo(&pdf, &["-isodates"]);
    assert_eq!(info_field(&info, "Title"), Some(TITLE));
    assert_eq!(info_field(&info, "Author"), Some("Anna Parodi"));
    assert_eq!(
        info_field(&info, "Subject"),
        Some("Volontaria giurisdizione — amministrazione di sostegno")
    );
    assert_eq!(info_field(&info, "Producer"), Some("Ponte"));
    assert_eq!(
        info_field(&info, "CreationDate"),
        Some("2026-11-26T10:15:00+01")
    );
    assert_eq!(info_field(&info, "ModDate"), Some("2026-11-26T10:15:00+01"));
    assert_eq!(info_field(&info, "PDF version"), Some("1.7"));
    assert_eq!(info_field(&info, "Encrypted"), Some("no"));
    assert_eq!(info_field(&info, "JavaScript"), Some("no"));
    assert_eq!(info_field(&info, "Form"), Some("none"));

    let xmp = pdfinfo(&pdf, &["-meta"]);
    assert!(xmp.contains("<pdfaid:part>2</pdfaid:part>"), "{xmp}");
    assert!(
        xmp.contains("<pdfaid:conformance>B</pdfaid:conformance>"),
        "{xmp}"
    );
    assert!(xmp.contains("2026-11-26T10:15:00+01:00"), "{xmp}");
    assert!(xmp.contains("Anna Parodi"), "{xmp}");
}

#[test]
fn without_a_date_plain_pdf_without_dates() {
    let mut doc = ricorso();
    doc.metadata.created = None;
    let dir = tempfile::tempdir().unwrap();
    let pdf = write_pdf(dir.path(), "Ricorso.pdf", &render_pdf(&doc).unwrap());
    let info = pdfinfo(&pdf, &[]);
    assert_eq!(info_field(&info, "CreationDate"), None, "{info}");
    assert_eq!(info_field(&info, "Producer"), Some("Ponte"));
    let xmp = pdfinfo(&pdf, &["-meta"]);
    assert!(
        !xmp.contains("pdfaid"),
        "no PDF/A claim without a date: {xmp}"
    );
    let (ok, out, err) = tool("qpdf", &["--check", pdf.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
}

#[test]
fn character_outside_the_font_is_an_error_naming_its_block() {
    let mut doc = ricorso();
    doc.blocks[2] = Block::Paragraph("il signor \u{E000} è nato a Brașov".into());
    let err = render_pdf(&doc).unwrap_err();
    assert_eq!(err.code(), "character_unsupported");
    match &err {
        RenderError::UnsupportedCharacter {
            field,
            character,
            block,
        } => {
            assert_eq!(field, "blocks[2]");
            assert_eq!(*character, '\u{E000}');
            assert_eq!(*block, "Private Use Area");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("U+E000"), "{err}");
    assert!(err.to_string().contains("Private Use Area"), "{err}");

    let mut doc = ricorso();
    doc.signatures = vec!["La ricorrente, Anna Parodi \u{1F600}".into()];
    let err = render_pdf(&doc).unwrap_err();
    assert!(
        matches!(&err, RenderError::UnsupportedCharacter { field, block: "Emoticons", .. } if field == "signatures[0]"),
        "{err:?}"
    );

    let mut doc = ricorso();
    doc.title = "Ricorso \u{4E2D}".into();
    let err = render_pdf(&doc).unwrap_err();
    assert!(
        matches!(&err, RenderError::UnsupportedCharacter { field, block: "CJK Unified Ideographs", .. } if field == "title"),
        "{err:?}"
    );
}

#[test]
fn empty_title_is_an_error() {
    for title in ["", "   "] {
        let mut doc = ricorso();
        doc.title = title.into();
        let err = render_pdf(&doc).unwrap_err();
        assert!(
            matches!(err, RenderError::MissingValue { field: "title" }),
            "{err:?}"
        );
        assert_eq!(err.code(), "value_missing");
    }
}

#[test]
fn malformed_creation_time_is_an_error() {
    let mut doc = ricorso();
    doc.metadata.created = Some("26/11/2026".into());
    let err = render_pdf(&doc).unwrap_err();
    assert!(matches!(err, RenderError::InvalidCreated { .. }), "{err:?}");
    assert_eq!(err.code(), "created_invalid");
}

#[test]
fn short_act_is_one_page_and_long_words_are_broken_not_clipped() {
    let url = "https://www.example.invalid/".to_owned() + &"documento-allegato-".repeat(12);
    let doc = MainActDocument {
        addressee: vec![],
        title: "Istanza".into(),
        blocks: vec![Block::Paragraph(format!("Si veda {url} per i dettagli."))],
        place_and_date: None,
        signatures: vec![],
        metadata: DocumentMetadata::default(),
    };
    let dir = tempfile::tempdir().unwrap();
    let pdf = write_pdf(dir.path(), "Istanza.pdf", &render_pdf(&doc).unwrap());
    let info = pdfinfo(&pdf, &[]);
    assert_eq!(info_field(&info, "Pages"), Some("1"));
    assert_eq!(
        info_field(&info, "Title"),
        Some("Istanza"),
        "falls back to the act's title"
    );
    let right = 595.276 - 70.866;
    for w in words(&pdf) {
        assert!(w.3 <= right + 0.5, "{:?} past the right margin", w.5);
    }
    let text: String = text_of(&pdf).split_whitespace().collect();
    assert!(text.contains(&url), "the long word is all there");
    assert!(text.ends_with("Pagina1di1"), "{text}");
}
