//! FHIR intake benchmarks (issue 4): parse and validate one submission, and
//! parse the official R4 examples.
//!
//! **Submissions** (`capacity_report/*`) time what the gateway does with a
//! body before storing it: [`parse::parse`] (hostile-input checks, fhir-sdk
//! R4B typed parse, unknown-element detection), [`bundle::check`] and
//! [`profile::check`], with the default limits. Two capacity reports, each
//! as JSON and as XML:
//!
//! - `json_20k`: `tests/fixtures/fhir/valid/capacity-genova-parodi.json`
//!   (19,081 bytes as committed) with one more paragraph of clinical text
//!   ([`PADDING`]) in the narrative of the Composition's first section,
//!   inserted into the bytes as sent (pretty-printed JSON), which brings it
//!   to about 20 KB. `bench/intake.sh` builds its load body the same way.
//! - `json_2m`: the same report with the signed certificate
//!   (DocumentReference LOINC 72267-8) replaced by a 1.5 MiB PDF
//!   (`%PDF-1.4`, pseudo-random bytes standing for compressed streams,
//!   `%%EOF`): 2 MiB of base64, `size` set to the decoded length, the whole
//!   re-serialised pretty-printed by serde_json.
//! - `xml_20k`, `xml_2m`: the same two Bundles written as FHIR XML by
//!   [`xml::json_to_xml`], parsed with [`Format::Xml`] (XML → JSON
//!   conversion and its hostile-input scan included).
//!
//! Each body is checked once before timing: accepted, no error, the profile
//! yields its facts. The exact sizes and SHA-256 digests are printed on
//! stderr (`bench/intake.sh` keeps its body beside its results: the digests
//! of `json_20k` and of its `document` body must match). Throughput is in
//! bytes of body.
//!
//! **Corpus** (`corpus/*`) parses every JSON file of the official R4
//! examples (`../shared/fhir-examples/r4/json` beside the repository, or
//! `PONTE_FHIR_EXAMPLES`), one pass over all of them per iteration, on one
//! thread: a Bundle as it is, any other resource wrapped in a `collection`
//! Bundle with one `urn:uuid:` fullUrl (as the test `official_examples`
//! does; the wrapping is done before timing). `corpus/parse` calls
//! [`parse::parse`] only, the counterpart of `bench/fhir_corpus.py`, which
//! times Python's `fhir.resources` on the same files; `corpus/parse_bundle`
//! adds [`bundle::check`] on each accepted Bundle. Two references time
//! what is not Ponte's code on the same bodies: `corpus/serde_json_value`
//! (each body read as a `serde_json::Value`, the floor) and
//! `corpus/fhir_sdk_typed` (each body read by fhir-sdk's R4B `Bundle` model
//! alone: no hostile-input check, no unknown-element comparison); the
//! `capacity_report_stages` group has the same two for the reports. Refused examples (14 of
//! 639: R4-only resource types, the R4 `Evidence`) are timed like the rest,
//! up to their refusal; the counts are printed on stderr.
//!
//! Run with `cargo bench -p ponte-fhir --bench fhir_parse`; results are in
//! `docs/benchmarks.md`. In Criterion's test mode (`cargo test --benches`)
//! each benchmark runs once.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use fhir_sdk::r4b::resources::Bundle;
use ponte_fhir::{Format, bundle, parse, profile, xml};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The report padded to about 20 KB.
const BASE_FIXTURE: &str = "capacity-genova-parodi.json";

/// One more paragraph for the narrative of the first section (mental
/// status), as a doctor would write it. Keep in step with `PADDING` in
/// `bench/intake.sh`, which builds the same body.
const PADDING: &str = "Anamnesi: vedova dal 2019, vive sola in un appartamento al terzo piano \
senza ascensore; la figlia, che abita nello stesso quartiere, la assiste ogni giorno. \
Scolarità: licenza elementare. In trattamento con donepezil 10 mg/die dal 2023, con iniziale \
stabilizzazione e successivo peggioramento nell'ultimo anno. La figlia riferisce episodi di \
smarrimento fuori casa (due nel mese di settembre), bollette non pagate e ripetuti acquisti non \
necessari; in un'occasione ha consegnato una somma di denaro a sconosciuti presentatisi come \
tecnici del gas. Nessun disturbo del comportamento di rilievo; sonno frammentato. All'esame: \
orientata nella persona, non nel tempo; eloquio fluente con frequenti anomie; comprensione \
conservata per ordini semplici. Non deficit motori focali. Pressione arteriosa 135/80 mmHg, \
frequenza cardiaca 72/min, ritmica. Test dell'orologio patologico; GDS 3/15. La paziente è \
consapevole solo in parte delle proprie difficoltà e accetta l'aiuto della figlia, che si è \
resa disponibile all'incarico. Si ritiene opportuno un sostegno per la gestione del \
patrimonio, il pagamento delle utenze, i rapporti con la banca e con l'ente previdenziale e \
l'espressione del consenso informato ai trattamenti sanitari.";

/// Decoded size of the PDF of the 2 MB case: 1.5 MiB, so 2 MiB of base64.
const PDF_BYTES: usize = 1536 * 1024;

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The committed fixture with [`PADDING`] inserted, bytes otherwise as
/// committed.
fn report_20k() -> Vec<u8> {
    let path = manifest_dir()
        .join("../../tests/fixtures/fhir/valid")
        .join(BASE_FIXTURE);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let closing = "</div>\"";
    assert!(text.contains(closing), "{BASE_FIXTURE} has no narrative");
    text.replacen(closing, &format!("<p>{PADDING}</p>{closing}"), 1)
        .into_bytes()
}

/// A PDF of exactly [`PDF_BYTES`] bytes: header, pseudo-random body (as
/// compressed streams look), trailer marker.
fn pdf() -> Vec<u8> {
    let head = b"%PDF-1.4\n";
    let tail = b"\n%%EOF\n";
    let mut out = head.to_vec();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    while out.len() < PDF_BYTES - tail.len() {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(PDF_BYTES - tail.len());
    out.extend_from_slice(tail);
    out
}

/// The 20 KB report with a 1.5 MiB certificate PDF.
fn report_2m(report_20k: &[u8]) -> Vec<u8> {
    let mut bundle: Value = serde_json::from_slice(report_20k).expect("fixture is JSON");
    let pdf = pdf();
    let certificate = bundle["entry"]
        .as_array_mut()
        .expect("entries")
        .iter_mut()
        .map(|e| &mut e["resource"])
        .find(|r| {
            r["resourceType"] == "DocumentReference" && r["type"]["coding"][0]["code"] == "72267-8"
        })
        .expect("the fixture has a certificate");
    let attachment = certificate["content"][0]["attachment"]
        .as_object_mut()
        .expect("an attachment");
    attachment.insert(
        "data".into(),
        Value::String(base64::engine::general_purpose::STANDARD.encode(&pdf)),
    );
    attachment.insert("size".into(), json!(pdf.len()));
    serde_json::to_vec_pretty(&bundle).expect("serialises")
}

fn to_xml(json_body: &[u8]) -> Vec<u8> {
    let value: Value = serde_json::from_slice(json_body).expect("JSON");
    xml::json_to_xml(&value).expect("writes XML").into_bytes()
}

/// What the gateway runs on a body before storing it; the number of error
/// issues (0 for an accepted submission).
fn parse_and_validate(body: &[u8], format: Format) -> usize {
    let parsed = match parse::parse(body, format, &parse::Limits::default()) {
        Ok(parsed) => parsed,
        Err(rejection) => return rejection.issues.len().max(1),
    };
    let mut errors = parsed.warnings.iter().filter(|i| i.is_error()).count();
    errors += bundle::check(&parsed)
        .iter()
        .filter(|i| i.is_error())
        .count();
    let (facts, issues) = profile::check(&parsed.json, &profile::ProfileLimits::default());
    errors += issues.iter().filter(|i| i.is_error()).count();
    if facts.is_none() {
        errors += 1;
    }
    errors
}

/// Checks the body is accepted with no error, showing why not.
fn assert_accepted(name: &str, body: &[u8], format: Format) {
    let parsed = parse::parse(body, format, &parse::Limits::default())
        .unwrap_or_else(|r| panic!("{name} refused: {r:?}"));
    let bundle_issues = bundle::check(&parsed);
    assert!(
        bundle_issues.iter().all(|i| !i.is_error()),
        "{name}: {bundle_issues:?}"
    );
    let (facts, issues) = profile::check(&parsed.json, &profile::ProfileLimits::default());
    assert!(
        facts.is_some() && issues.iter().all(|i| !i.is_error()),
        "{name}: {issues:?}"
    );
    assert_eq!(parse_and_validate(body, format), 0, "{name}");
}

fn submissions(c: &mut Criterion) {
    let json_20k = report_20k();
    let json_2m = report_2m(&json_20k);
    let cases = [
        ("json_20k", Format::Json, json_20k.clone()),
        ("xml_20k", Format::Xml, to_xml(&json_20k)),
        ("json_2m", Format::Json, json_2m.clone()),
        ("xml_2m", Format::Xml, to_xml(&json_2m)),
    ];
    for (name, format, body) in &cases {
        assert_accepted(name, body, *format);
        let digest: String = Sha256::digest(body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        eprintln!(
            "capacity_report/{name}: {} bytes, SHA-256 {digest}",
            body.len()
        );
    }

    let mut group = c.benchmark_group("capacity_report");
    for (name, format, body) in &cases {
        if name.ends_with("_2m") {
            // Milliseconds per iteration: fewer, flat samples.
            group
                .sampling_mode(SamplingMode::Flat)
                .sample_size(30)
                .measurement_time(Duration::from_secs(10));
        } else {
            group
                .sampling_mode(SamplingMode::Auto)
                .sample_size(100)
                .measurement_time(Duration::from_secs(5));
        }
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(*name, |b| {
            b.iter(|| parse_and_validate(black_box(body), *format));
        });
    }
    group.finish();

    // Where the time goes, for the JSON cases.
    let mut group = c.benchmark_group("capacity_report_stages");
    for (name, body) in [("json_20k", &json_20k), ("json_2m", &json_2m)] {
        if name.ends_with("_2m") {
            group
                .sampling_mode(SamplingMode::Flat)
                .sample_size(30)
                .measurement_time(Duration::from_secs(10));
        } else {
            group
                .sampling_mode(SamplingMode::Auto)
                .sample_size(100)
                .measurement_time(Duration::from_secs(5));
        }
        group.throughput(Throughput::Bytes(body.len() as u64));
        let parsed = parse::parse(body, Format::Json, &parse::Limits::default()).expect("accepted");
        group.bench_function(format!("{name}/parse"), |b| {
            b.iter(|| parse::parse(black_box(body), Format::Json, &parse::Limits::default()));
        });
        // References, not Ponte's code: the JSON alone, fhir-sdk alone.
        group.bench_function(format!("{name}/serde_json_value"), |b| {
            b.iter(|| serde_json::from_slice::<Value>(black_box(body)).map(|_| ()));
        });
        group.bench_function(format!("{name}/fhir_sdk_typed"), |b| {
            b.iter(|| serde_json::from_slice::<Bundle>(black_box(body)).map(|_| ()));
        });
        group.bench_function(format!("{name}/bundle_check"), |b| {
            b.iter(|| bundle::check(black_box(&parsed)));
        });
        group.bench_function(format!("{name}/profile_check"), |b| {
            b.iter(|| profile::check(black_box(&parsed.json), &profile::ProfileLimits::default()));
        });
    }
    group.finish();
}

fn examples_dir() -> PathBuf {
    std::env::var_os("PONTE_FHIR_EXAMPLES").map_or_else(
        || manifest_dir().join("../../../shared/fhir-examples/r4/json"),
        PathBuf::from,
    )
}

/// Every example as a Bundle body: a Bundle as it is (its bytes as sent),
/// any other resource wrapped in a collection Bundle.
fn corpus_bodies(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = listing
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|file| {
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let bytes = std::fs::read(file).expect("readable");
            let value: Value = serde_json::from_slice(&bytes).expect("examples are JSON");
            let body = if value["resourceType"] == "Bundle" {
                bytes
            } else {
                serde_json::to_vec(&json!({
                    "resourceType": "Bundle",
                    "type": "collection",
                    "entry": [{
                        "fullUrl": "urn:uuid:00000000-0000-0000-0000-000000000000",
                        "resource": value,
                    }],
                }))
                .expect("serialises")
            };
            (name, body)
        })
        .collect()
}

fn corpus(c: &mut Criterion) {
    let dir = examples_dir();
    let bodies = corpus_bodies(&dir);
    if bodies.is_empty() {
        eprintln!("corpus: skipped, no examples at {}", dir.display());
        return;
    }
    let total: usize = bodies.iter().map(|(_, b)| b.len()).sum();
    let accepted = bodies
        .iter()
        .filter(|(_, b)| parse::parse(b, Format::Json, &parse::Limits::default()).is_ok())
        .count();
    eprintln!(
        "corpus: {} files from {}, {total} bytes as Bundles, {accepted} accepted by parse",
        bodies.len(),
        dir.display()
    );

    let mut group = c.benchmark_group("corpus");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::Bytes(total as u64));
    group.bench_function("parse", |b| {
        b.iter(|| {
            let mut ok = 0usize;
            for (_, body) in &bodies {
                if parse::parse(black_box(body), Format::Json, &parse::Limits::default()).is_ok() {
                    ok += 1;
                }
            }
            ok
        });
    });
    // References, not Ponte's code: every body read as a serde_json Value
    // (the floor), and read by fhir-sdk's typed R4B models alone, with no
    // hostile-input check and no unknown-element comparison.
    group.bench_function("serde_json_value", |b| {
        b.iter(|| {
            bodies
                .iter()
                .filter(|(_, body)| serde_json::from_slice::<Value>(black_box(body)).is_ok())
                .count()
        });
    });
    group.bench_function("fhir_sdk_typed", |b| {
        b.iter(|| {
            bodies
                .iter()
                .filter(|(_, body)| serde_json::from_slice::<Bundle>(black_box(body)).is_ok())
                .count()
        });
    });
    group.bench_function("parse_bundle", |b| {
        b.iter(|| {
            let mut issues = 0usize;
            for (_, body) in &bodies {
                if let Ok(parsed) =
                    parse::parse(black_box(body), Format::Json, &parse::Limits::default())
                {
                    issues += bundle::check(&parsed).len();
                }
            }
            issues
        });
    });
    group.finish();
}

criterion_group!(benches, submissions, corpus);
criterion_main!(benches);
