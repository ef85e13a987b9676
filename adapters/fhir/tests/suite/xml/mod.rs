//! FHIR XML ⇄ JSON (`ponte_fhir::xml`): the official R4 examples, hostile
//! bodies, round trips.
//!
//! `cargo test -p ponte-fhir --test suite xml:: -- --nocapture` prints the corpus
//! figures (files converted, agreement with the official JSON twins).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ponte_fhir::{
    Rejection,
    xml::{MAX_DEPTH, json_to_xml, xml_to_json},
};
use quick_xml::{events::Event, reader::Reader};
use serde_json::{Value, json};

fn examples(format: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fhir-examples/r4")
        .join(format)
}

fn files(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/fhir/invalid")
}

/// The rule of the first issue, with the status.
fn refusal(result: Result<Value, Rejection>) -> (u16, &'static str) {
    let rejection = result.expect_err("should be refused");
    (rejection.status, rejection.issues[0].rule)
}

fn first_expression(result: Result<Value, Rejection>) -> Option<String> {
    result.expect_err("should be refused").issues[0]
        .expression
        .clone()
}

mod conversion;
mod hostile;
mod official;
