//! The examples of `docs/registry.md` §2.5 are valid registry files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use ponte_registry::{CompetenceError, ComuneRef, Registry};

fn toml_blocks() -> Vec<String> {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/registry.md"),
    )
    .unwrap();
    doc.split("```toml\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap().to_owned())
        .collect()
}

#[test]
fn documented_examples_parse() {
    let blocks = toml_blocks();
    assert_eq!(blocks.len(), 2);
    let compact = Registry::from_toml(&blocks[0], "/etc/ponte").unwrap();
    let genova = compact.competent_court(ComuneRef::name("Genova")).unwrap();
    assert_eq!(
        genova.encryption_cert.as_deref(),
        Some(Path::new("/etc/ponte/certs/tribunale-genova.pem"))
    );
    assert!(matches!(
        compact.competent_court(ComuneRef::istat("011009")),
        Err(CompetenceError::CompetenceUnknown { .. })
    ));

    // The table form of the same rows, with the court of the first example.
    let court = &blocks[0][blocks[0].find("[[court]]").unwrap()..];
    let tables = format!("format = 1\n{}\n{court}", blocks[1]);
    let tables = Registry::from_toml(&tables, "/etc/ponte").unwrap();
    let strip = |r: &Registry| {
        r.competences()
            .map(|c| (c.istat.clone(), c.comune.clone(), c.court.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&compact), strip(&tables));
}
