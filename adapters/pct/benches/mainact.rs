//! Main act rendering: time of [`render_pdf`] for a two-page ricorso
//! (layout, font subsetting of two faces, compression, PDF/A-2b validation).
//!
//! `cargo bench -p ponte-pct --bench mainact`
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ponte_pct::mainact::{Block, DocumentMetadata, MainActDocument, render_pdf};

fn two_page_act() -> MainActDocument {
    let fact = "il beneficiario, signor Ștefan Łukasiewicz-Doğan, è titolare di una pensione \
                di vecchiaia erogata dall'INPS e di un conto corrente presso un istituto di \
                credito genovese, sul quale confluiscono le entrate e dal quale vengono pagati \
                il canone di locazione, le utenze domestiche e le spese per l'assistenza \
                domiciliare; non è proprietario di beni immobili";
    let mut blocks = vec![Block::Heading("PREMESSO CHE".into())];
    blocks.extend((1..=7).map(|i| Block::Paragraph(format!("({i}) {fact};"))));
    blocks.push(Block::Heading("CHIEDE".into()));
    blocks.extend((1..=4).map(|i| Block::Item(format!("richiesta numero {i}: {fact}."))));
    MainActDocument {
        addressee: vec![
            "AL TRIBUNALE ORDINARIO DI GENOVA".into(),
            "Ufficio del Giudice tutelare".into(),
        ],
        title: "Ricorso per la nomina di un amministratore di sostegno (artt. 404 e segg. c.c.)"
            .into(),
        blocks,
        place_and_date: Some("Genova, 26 novembre 2026".into()),
        signatures: vec!["La ricorrente, Anna Parodi".into()],
        metadata: DocumentMetadata {
            title: "Ricorso per la nomina di un amministratore di sostegno".into(),
            author: Some("Anna Parodi".into()),
            subject: Some("Volontaria giurisdizione — amministrazione di sostegno".into()),
            created: Some("2026-11-26T10:15:00+01:00".into()),
        },
    }
}

fn bench(c: &mut Criterion) {
    let doc = two_page_act();
    let pdf = render_pdf(&doc).unwrap();
    eprintln!("mainact bench: {} bytes", pdf.len());
    c.bench_function("mainact_render_2_pages", |b| {
        b.iter(|| render_pdf(black_box(&doc)).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
