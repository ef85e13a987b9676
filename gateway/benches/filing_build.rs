//! PCT filing build benchmark (issue 5): filings built per second on one
//! core, for a 100 KB and a 10 MB Bundle.
//!
//! Issue 5 set the target: at least 1,000 filings per second of 100 KB on
//! the 2-core reference machine, where two RSA-2048 signatures set a
//! physical limit of about 2,300 filings per second per core.
//!
//! One filing (`filing_build/100KB`, `filing_build/10MB`) is what the
//! pipeline worker's `build_item` does once it has the stored Bundle as a
//! `serde_json::Value`: [`MappingSet::map`] (the mapping file of the
//! requested act, the registry, the office profile), the court's encryption
//! certificate from the registry, then [`build::assemble`]: `DatiAtto.xml`
//! written and checked against the Ministry's XSD, `IndiceBusta.xml` written
//! and checked, the main act rendered as PDF/A, two CAdES-BES signatures
//! (RSA-2048, `FileSigner`), `Atto.msg` and its encryption for the court
//! (`Atto.enc`). Everything is set up as the gateway sets it up: the mapping
//! files of `mappings/files`, the schemas of `../shared/pct-xsd`, the
//! development registry with its courts' certificate pointed at a
//! development PKI made in a temporary directory, the `[office]` of
//! `config/ponte.toml`.
//!
//! The inputs are `tests/fixtures/fhir/valid/capacity-genova-parodi.json`
//! with its certificate PDF (the DocumentReference attachment that carries
//! `data`) replaced by the fixture's own PDF padded with PDF comment lines
//! before `%%EOF`, so that the Bundle, pretty-printed, is about 100 KB and
//! 10 MB. Each variant is checked against Ponte's profile, and mapped and
//! assembled once, before anything is timed; the sizes are printed on
//! stderr.
//!
//! Where the time goes (`filing_stages/<size>/*`): reading the stored JSON
//! (the worker's first step, not part of the filing groups), the mapping,
//! `assemble` alone, and its parts: XML + XSD, PDF rendering, the two
//! signatures, `Atto.msg`, the seal. `filing_floor/two_rsa2048_signatures`
//! times two `sign_cades` on 64 bytes: the floor of any filing.
//!
//! `filing_parallel/100KB_2threads` builds the 100 KB filing on two threads
//! at once, as the pipeline does with `pct.workers` builds on blocking
//! threads: filings per second for the whole 2-core machine.
//!
//! Run with `cargo bench -p ponte-gateway --bench filing_build` (or
//! `bench/filing.sh`); results and their analysis are in
//! `docs/benchmarks.md`. Apart from `filing_parallel`, everything runs on
//! the calling thread: those rates are per core.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use ponte_fhir::profile;
use ponte_gateway::filing::build;
use ponte_gateway::filing::courts::CourtDirectory;
use ponte_mappings::{MapInput, MappedFiling, Mappings, OfficeProfile};
use ponte_pct::datiatto;
use ponte_pct::envelope::{self, CourtRecipientCert, Part};
use ponte_pct::sign::{FileSigner, Signer};
use ponte_pct::xsd::SchemaSet;
use serde_json::Value;

// The allocator of the `ponte` binary, so that the figures are the gateway's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Builds at once in `filing_parallel`: the cores of the reference machine.
const THREADS: u64 = 2;

/// The workspace root.
fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The `[office]` of `config/ponte.toml`.
const OFFICE: &str = r#"
name = "Ufficio di Prossimità di Genova (sviluppo)"
codice_fiscale = "00856930102"
town = "Genova"
pec_address = "ufficioprossimita.genova@pec.ponte.test"
address = { street = "Via Garibaldi", number = "9", postcode = "16124", town = "Genova", province = "GE", country = "IT" }
officers = [
  { surname = "Rossi", given_name = "Maria", codice_fiscale = "RSSMRA80C55D969V" },
]
"#;

/// What a build needs, as `ponte serve` loads it.
struct Setup {
    _pki: tempfile::TempDir,
    mappings: Mappings,
    schemas: SchemaSet,
    signer: Box<dyn Signer>,
    directory: CourtDirectory,
    office: OfficeProfile,
    filed_on: time::Date,
}

impl Setup {
    fn load() -> Self {
        let root = root();
        let pki = tempfile::tempdir().expect("temporary directory");
        let dev = pki.path().join("dev");
        ponte_certs::generate(&dev, false).expect("development PKI");

        // The development registry, its courts' certificate pointed at this PKI
        // (as tests/tests/it/harness.rs `registry_for_test_pki`).
        let text = std::fs::read_to_string(root.join("adapters/registry/data/dev-registry.toml"))
            .expect("dev registry");
        let cert = dev.join("court-encryption.pem").display().to_string();
        let text = text.replace(
            "\"../../../certs/dev/court-encryption.pem\"",
            &format!("{cert:?}"),
        );
        assert!(text.contains(&cert), "registry certificate path changed");
        let registry = pki.path().join("registry.toml");
        std::fs::write(&registry, text).expect("write registry");
        let directory = CourtDirectory::from_file(&registry).expect("registry");

        let key = std::fs::read(dev.join("signer.key")).expect("signer key");
        let cert = std::fs::read(dev.join("signer.pem")).expect("signer certificate");
        let signer = FileSigner::from_key_and_cert(&key, &cert).expect("signer");

        Self {
            mappings: Mappings::open(&root.join("mappings/files")).expect("mapping files"),
            schemas: SchemaSet::load(root.join("../shared/pct-xsd")).expect("schemas"),
            signer: Box::new(signer),
            directory,
            office: toml::from_str(OFFICE).expect("office profile"),
            filed_on: time::macros::date!(2026 - 11 - 26),
            _pki: pki,
        }
    }

    /// The mapping of `build_item`.
    fn map(&self, bundle: &Value, act: &str) -> MappedFiling {
        let mappings = self.mappings.current();
        mappings
            .map(&MapInput {
                bundle,
                requested_act: act,
                registry: &self.directory.registry,
                office: &self.office,
                court_override: None,
                filed_on: self.filed_on,
            })
            .expect("mapping")
    }

    fn cert(&self, mapped: &MappedFiling) -> CourtRecipientCert {
        self.directory
            .court_cert(&mapped.court.code)
            .expect("court certificate")
    }

    /// What `build_item` does after reading the stored JSON.
    fn build(&self, bundle: &Value, act: &str) -> build::Assembled {
        let mapped = self.map(bundle, act);
        let cert = self.cert(&mapped);
        build::assemble(&mapped, &self.schemas, self.signer.as_ref(), Some(&cert))
            .expect("assemble")
    }
}

/// One input: the Bundle as stored and as the worker reads it.
struct Input {
    label: &'static str,
    stored: Vec<u8>,
    bundle: Value,
    act: &'static str,
}

/// The fixture with its certificate PDF padded so that the pretty-printed
/// Bundle is about `target` bytes.
fn input(setup: &Setup, label: &'static str, target: usize) -> Input {
    let path = root().join("tests/fixtures/fhir/valid/capacity-genova-parodi.json");
    let mut bundle: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("fixture")).expect("fixture JSON");
    let original = pdf_attachment(&mut bundle)
        .get("data")
        .and_then(Value::as_str)
        .map(|d| BASE64.decode(d).expect("fixture PDF base64"))
        .expect("fixture PDF");
    set_pdf(&mut bundle, b"");
    let base = serde_json::to_vec_pretty(&bundle).expect("serialise").len();
    let pdf = padded_pdf(&original, (target.saturating_sub(base)) / 4 * 3);
    set_pdf(&mut bundle, &pdf);
    let stored = serde_json::to_vec_pretty(&bundle).expect("serialise");

    let (facts, issues) = profile::check(&bundle, &profile::ProfileLimits::default());
    let facts = facts.unwrap_or_else(|| panic!("{label}: the profile refuses it: {issues:?}"));
    let act = facts.act.code();
    let mapped = setup.map(&bundle, act);
    let carried = mapped
        .attachments
        .iter()
        .any(|a| a.bytes.len() == pdf.len() && a.bytes == pdf);
    assert!(
        carried,
        "{label}: the padded PDF is not among the attachments"
    );
    let built = setup.build(&bundle, act);
    assert!(built.sealed, "{label}: not sealed");
    let sizes: Vec<String> = built
        .artefacts
        .iter()
        .map(|a| format!("{} {}", a.name, a.bytes.len()))
        .collect();
    eprintln!(
        "filing_build {label}: Bundle {} bytes (PDF {} bytes), act {act}, court {}; artefacts: {}",
        stored.len(),
        pdf.len(),
        mapped.court.code.as_str(),
        sizes.join(", ")
    );
    Input {
        label,
        stored,
        bundle,
        act,
    }
}

/// The DocumentReference attachment that carries `data`.
fn pdf_attachment(bundle: &mut Value) -> &mut Value {
    bundle["entry"]
        .as_array_mut()
        .expect("entries")
        .iter_mut()
        .map(|e| &mut e["resource"])
        .filter(|r| r["resourceType"] == "DocumentReference")
        .flat_map(|r| r["content"].as_array_mut().expect("content").iter_mut())
        .map(|c| &mut c["attachment"])
        .find(|a| a.get("data").is_some())
        .expect("a DocumentReference attachment with data")
}

fn set_pdf(bundle: &mut Value, pdf: &[u8]) {
    let attachment = pdf_attachment(bundle);
    attachment["data"] = Value::String(BASE64.encode(pdf));
    if attachment.get("size").is_some() {
        attachment["size"] = Value::from(pdf.len());
    }
}

/// `original` with comment lines of pseudo-random printable bytes inserted
/// before its last `%%EOF`, `len` bytes in all (at least `original`).
fn padded_pdf(original: &[u8], len: usize) -> Vec<u8> {
    assert!(original.starts_with(b"%PDF-"), "the fixture's PDF");
    let eof = original
        .windows(5)
        .rposition(|w| w == b"%%EOF")
        .expect("%%EOF");
    let mut pdf = original[..eof].to_vec();
    let pad = len.saturating_sub(original.len());
    let mut state: u32 = 0x2545_4f46;
    let mut line = 0;
    for i in 0..pad {
        let last = i + 1 == pad;
        let byte = if line == 0 {
            b'%'
        } else if line == 79 || last {
            b'\n'
        } else {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            b'!' + u8::try_from((state >> 16) % 94).unwrap_or(0)
        };
        pdf.push(byte);
        line = if byte == b'\n' { 0 } else { line + 1 };
    }
    pdf.extend_from_slice(&original[eof..]);
    pdf
}

fn bench(c: &mut Criterion) {
    let setup = Setup::load();
    let inputs = [
        input(&setup, "100KB", 100_000),
        input(&setup, "10MB", 10_000_000),
    ];

    let mut group = c.benchmark_group("filing_build");
    group.throughput(Throughput::Elements(1));
    for input in &inputs {
        if input.label == "10MB" {
            group.sample_size(10).sampling_mode(SamplingMode::Flat);
        }
        group.bench_function(input.label, |b| {
            b.iter(|| setup.build(black_box(&input.bundle), input.act));
        });
    }
    group.finish();

    for input in &inputs {
        stages(c, &setup, input);
    }

    parallel(c, &setup, &inputs[0]);

    let mut group = c.benchmark_group("filing_floor");
    group.throughput(Throughput::Elements(1));
    let small = [0x5a_u8; 64];
    group.bench_function("two_rsa2048_signatures", |b| {
        b.iter(|| {
            let one = setup.signer.sign_cades(black_box(&small)).expect("sign");
            let two = setup.signer.sign_cades(black_box(&small)).expect("sign");
            (one, two)
        });
    });
    group.finish();
}

/// Filings built per second by [`THREADS`] threads at once, as the
/// pipeline runs `pct.workers` builds on blocking threads: the figure for
/// the whole machine. One iteration is one filing; the iterations of a
/// sample are shared between the threads, and the sample's time is the
/// wall-clock time until the last thread is done.
fn parallel(c: &mut Criterion, setup: &Setup, input: &Input) {
    let mut group = c.benchmark_group("filing_parallel");
    group.throughput(Throughput::Elements(1));
    group.bench_function(format!("{}_{THREADS}threads", input.label), |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            std::thread::scope(|scope| {
                for t in 0..THREADS {
                    // Thread t builds iterations t, t + THREADS, …
                    let share = (iters + THREADS - 1 - t) / THREADS;
                    scope.spawn(move || {
                        for _ in 0..share {
                            black_box(setup.build(black_box(&input.bundle), input.act));
                        }
                    });
                }
            });
            start.elapsed()
        });
    });
    group.finish();
}

/// The parts of one filing, each on inputs prepared as `assemble` does.
fn stages(c: &mut Criterion, setup: &Setup, input: &Input) {
    let mapped = setup.map(&input.bundle, input.act);
    let cert = setup.cert(&mapped);
    let dati_xml = datiatto::to_xml(&mapped.datiatto).expect("DatiAtto");
    let indice = datiatto::indice_busta_xml(&mapped.datiatto.attachments).expect("IndiceBusta");
    let pdf = ponte_pct::mainact::render_pdf(&mapped.main_act).expect("PDF");
    let dati_p7m = setup.signer.sign_cades(&dati_xml).expect("sign");
    let pdf_p7m = setup.signer.sign_cades(&pdf).expect("sign");
    let parts = || {
        let main_part = format!("{}.p7m", mapped.main_act_name);
        let mut parts = vec![
            Part {
                id: main_part.clone(),
                filename: main_part,
                content_type: "application/pkcs7-mime".to_owned(),
                bytes: pdf_p7m.clone(),
            },
            Part {
                id: datiatto::DATI_ATTO_PART.to_owned(),
                filename: datiatto::DATI_ATTO_PART.to_owned(),
                content_type: "application/pkcs7-mime".to_owned(),
                bytes: dati_p7m.clone(),
            },
        ];
        parts.extend(mapped.attachments.iter().map(|a| Part {
            id: a.id.clone(),
            filename: a.name.clone(),
            content_type: a.content_type.clone(),
            bytes: a.bytes.clone(),
        }));
        parts.push(Part {
            id: build::INDICE_BUSTA.to_owned(),
            filename: build::INDICE_BUSTA.to_owned(),
            content_type: "text/xml".to_owned(),
            bytes: indice.clone(),
        });
        parts
    };
    let atto_msg = envelope::build_atto_msg(&parts()).expect("Atto.msg");

    let mut group = c.benchmark_group(format!("filing_stages/{}", input.label));
    group.throughput(Throughput::Elements(1));
    if input.label == "10MB" {
        group.sample_size(10).sampling_mode(SamplingMode::Flat);
    }
    group.bench_function("read_stored_json", |b| {
        b.iter(|| serde_json::from_slice::<Value>(black_box(&input.stored)).expect("JSON"));
    });
    group.bench_function("map", |b| {
        b.iter(|| setup.map(black_box(&input.bundle), input.act));
    });
    group.bench_function("assemble", |b| {
        b.iter(|| {
            build::assemble(
                black_box(&mapped),
                &setup.schemas,
                setup.signer.as_ref(),
                Some(&cert),
            )
            .expect("assemble")
        });
    });
    group.bench_function("datiatto_indice_xsd", |b| {
        b.iter(|| {
            let dati = datiatto::to_xml(black_box(&mapped.datiatto)).expect("DatiAtto");
            setup
                .schemas
                .validate(mapped.datiatto.act.root(), &dati)
                .expect("DatiAtto XSD");
            let indice =
                datiatto::indice_busta_xml(&mapped.datiatto.attachments).expect("IndiceBusta");
            setup
                .schemas
                .validate_indice_busta(&indice)
                .expect("IndiceBusta XSD");
            (dati, indice)
        });
    });
    group.bench_function("render_pdf", |b| {
        b.iter(|| ponte_pct::mainact::render_pdf(black_box(&mapped.main_act)).expect("PDF"));
    });
    group.bench_function("sign_two", |b| {
        b.iter(|| {
            let one = setup.signer.sign_cades(black_box(&dati_xml)).expect("sign");
            let two = setup.signer.sign_cades(black_box(&pdf)).expect("sign");
            (one, two)
        });
    });
    group.bench_function("atto_msg", |b| {
        b.iter(|| envelope::build_atto_msg(&parts()).expect("Atto.msg"));
    });
    group.bench_function("seal", |b| {
        b.iter(|| envelope::seal(black_box(&atto_msg), &cert).expect("seal"));
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = bench
}
criterion_main!(benches);
