//! `ponte registry import`, `ponte map` and `ponte envelope inspect`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ponte_fhir::{Format, bundle, parse, profile};
use ponte_pct::envelope::{self, CourtDecryptionKey, CourtRecipientCert};
use ponte_pct::sign::TrustAnchors;
use ponte_pct::xsd::{Root, SchemaSet};

use crate::config::Config;
use crate::filing::courts::{CourtDirectory, Courts, read_certificates};
use crate::filing::{build, worker};
use crate::run::store_path;
use crate::store::{NewRegistryImport, RegistryStore, SqliteStore};

/// `ponte registry import <file>`: checks the data file and the
/// certificates it names, then stores it (with the certificates) as the
/// registry in force and records the import in the evidence log. A running
/// gateway switches to it within a few seconds.
pub async fn registry_import(config: &Config, file: &Path) -> anyhow::Result<String> {
    let registry = ponte_registry::import(file)
        .with_context(|| format!("{} is not a valid registry", file.display()))?;
    let document =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let certificates = read_certificates(&registry);
    let store = SqliteStore::open(&store_path(config), 1, 16).context("opening the store")?;
    let (id, recorded) = store
        .import_registry(NewRegistryImport {
            source: file.display().to_string(),
            document,
            certificates: certificates.clone(),
            agency: None,
        })
        .await
        .context("storing the registry")?;
    let established = registry.competences().filter(|c| c.court.is_some()).count();
    Ok(format!(
        "imported registry #{id} from {}: {} courts ({} with an encryption certificate), {} comuni ({} with established competence); evidence entry {}",
        file.display(),
        registry.courts().len(),
        certificates.len(),
        registry.competences().len(),
        established,
        recorded.index
    ))
}

/// Options of `ponte map`.
#[derive(Debug)]
pub struct MapOptions {
    /// The Bundle (JSON or XML).
    pub bundle: PathBuf,
    /// Output folder.
    pub out: PathBuf,
    /// Registry data file instead of `pct.registry`.
    pub registry: Option<PathBuf>,
    /// Court to use when competence is unknown.
    pub court: Option<String>,
}

/// `ponte map <bundle> --out DIR`: what the pipeline would build, offline.
pub fn map(config: &Config, options: &MapOptions) -> anyhow::Result<String> {
    let body = std::fs::read(&options.bundle)
        .with_context(|| format!("reading {}", options.bundle.display()))?;
    let format = match options.bundle.extension().and_then(|e| e.to_str()) {
        Some("xml") => Format::Xml,
        _ => Format::Json,
    };
    let parsed = parse::parse(&body, format, &parse::Limits::default())
        .map_err(|r| anyhow::anyhow!(describe_issues(&r.issues)))
        .context("the Bundle does not parse")?;
    let issues = bundle::check(&parsed);
    if issues.iter().any(|i| i.is_error()) {
        bail!(
            "the Bundle breaks the Bundle rules:\n{}",
            describe_issues(&issues)
        );
    }
    let (facts, issues) = profile::check(&parsed.json, &profile::ProfileLimits::default());
    let Some(facts) = facts else {
        bail!(
            "the Bundle does not follow Ponte's profile:\n{}",
            describe_issues(&issues)
        );
    };
    let registry_file = options.registry.as_ref().unwrap_or(&config.pct.registry);
    let directory = CourtDirectory::from_file(registry_file)?;
    let builder = crate::run::builder(config, Courts::from_directory(directory))?;
    let directory = builder.courts.current();
    let mappings = builder.mappings.current();
    let mapped = mappings
        .map(&ponte_mappings::MapInput {
            bundle: &parsed.json,
            requested_act: facts.act.code(),
            registry: &directory.registry,
            office: &builder.office,
            court_override: options.court.as_deref(),
            filed_on: worker::filing_date(),
        })
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("mapping failed")?;
    let cert = directory.court_cert(&mapped.court.code);
    let assembled = build::assemble(
        &mapped,
        &builder.schemas(),
        builder.signer().as_ref(),
        cert.as_ref(),
    )?;
    std::fs::create_dir_all(&options.out)
        .with_context(|| format!("creating {}", options.out.display()))?;
    let mut report = format!(
        "{} → {} ({}), mapping {}\n",
        options.bundle.display(),
        mapped.court.name,
        mapped.court.code,
        mapped.mapping_file.display()
    );
    for artefact in &assembled.artefacts {
        let path = options.out.join(&artefact.name);
        std::fs::write(&path, &artefact.bytes)
            .with_context(|| format!("writing {}", path.display()))?;
        let _ = writeln!(
            report,
            "  {:<32} {:>9} bytes",
            artefact.name,
            artefact.bytes.len()
        );
    }
    if !assembled.sealed {
        report.push_str("  (no encryption certificate for this court: Atto.enc not written)\n");
    }
    Ok(report)
}

fn describe_issues(issues: &[ponte_fhir::Issue]) -> String {
    issues
        .iter()
        .map(|i| {
            format!(
                "  {} {}{}",
                i.rule,
                i.en,
                i.expression
                    .as_deref()
                    .map(|e| format!(" (at {e})"))
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Options of `ponte envelope inspect`.
#[derive(Debug)]
pub struct InspectOptions {
    /// `Atto.enc`.
    pub envelope: PathBuf,
    /// The court's decryption key.
    pub key: PathBuf,
    /// The court's encryption certificate.
    pub cert: PathBuf,
    /// CA certificates the signers must chain to.
    pub ca: PathBuf,
    /// The schema folder.
    pub schemas: PathBuf,
}

/// `ponte envelope inspect`: opens an envelope as the court would —
/// decrypts it, lists the parts, verifies every signature and validates
/// DatiAtto.xml and IndiceBusta.xml. Returns the report and whether every
/// check passed.
pub fn inspect(options: &InspectOptions) -> anyhow::Result<(String, bool)> {
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let enc = read(&options.envelope)?;
    let cert = CourtRecipientCert::from_bytes(&read(&options.cert)?)
        .context("--cert is not a certificate")?;
    let key = CourtDecryptionKey::from_bytes(&read(&options.key)?)
        .context("--key is not a private key")?;
    let trust = TrustAnchors::from_pem_bundle(&read(&options.ca)?)
        .context("--ca is not a PEM certificate bundle")?;
    let schemas = SchemaSet::load(&options.schemas)
        .with_context(|| format!("loading schemas from {}", options.schemas.display()))?;
    let opened = envelope::open(&enc, &cert, &key).context("cannot decrypt the envelope")?;
    let mut ok = true;
    let mut report = format!(
        "{}: decrypted, Atto.msg {} bytes, {} parts\n",
        options.envelope.display(),
        opened.atto_msg.len(),
        opened.parts.len()
    );
    for part in &opened.parts {
        let _ = writeln!(
            report,
            "  part {:<32} {:<24} {:>9} bytes",
            part.filename,
            part.content_type,
            part.bytes.len()
        );
    }
    for checked in opened.verify(&trust) {
        match &checked.outcome {
            Ok(signature) => {
                let _ = writeln!(
                    report,
                    "  signature {}: valid, {} signer(s)",
                    checked.filename,
                    signature.signers.len()
                );
                if checked.filename == ponte_pct::datiatto::DATI_ATTO_PART {
                    let root = root_of(&signature.content);
                    match schemas.validate(root, &signature.content) {
                        Ok(()) => {
                            report.push_str("  DatiAtto.xml: valid against the Ministry schema\n")
                        }
                        Err(e) => {
                            ok = false;
                            let _ = writeln!(report, "  DatiAtto.xml: INVALID: {e}");
                        }
                    }
                }
            }
            Err(e) => {
                ok = false;
                let _ = writeln!(report, "  signature {}: INVALID: {e}", checked.filename);
            }
        }
    }
    match opened
        .parts
        .iter()
        .find(|p| p.filename == build::INDICE_BUSTA)
    {
        Some(part) => match schemas.validate_indice_busta(&part.bytes) {
            Ok(()) => report.push_str("  IndiceBusta.xml: valid against IndiceBusta.dtd\n"),
            Err(e) => {
                ok = false;
                let _ = writeln!(report, "  IndiceBusta.xml: INVALID: {e}");
            }
        },
        None => {
            ok = false;
            report.push_str("  IndiceBusta.xml: MISSING\n");
        }
    }
    Ok((report, ok))
}

/// The schema of a DatiAtto by its root element: new-case acts are in
/// `Introduttivi.xsd`, the rest in `Parte.xsd`.
fn root_of(xml: &[u8]) -> Root {
    let head = String::from_utf8_lossy(&xml[..xml.len().min(512)]);
    if head.contains("RicorsoAmministrazioneSostegno")
        || head.contains("TrattamentoSanitarioObbligatorio")
    {
        Root::Introduttivi
    } else {
        Root::Parte
    }
}
