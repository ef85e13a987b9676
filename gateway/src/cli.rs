//! The command line of `ponte`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::telemetry::LogFormat;

/// Ponte: mutual-TLS gateway between health authorities (FHIR R4) and the
/// courts' Processo Civile Telematico.
#[derive(Debug, Parser)]
#[command(name = "ponte", version, about)]
pub struct Cli {
    /// Log format.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Log level or filter directive (RUST_LOG overrides it).
    #[arg(long, global = true, default_value = "info")]
    pub log_level: String,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway.
    Serve {
        /// Configuration file; when it does not exist, the embedded
        /// development configuration is used.
        #[arg(long, default_value = "config/ponte.toml")]
        config: PathBuf,
        /// Only validate the configuration, explain every error, and exit
        /// (0 valid, 2 invalid).
        #[arg(long)]
        check_config: bool,
    },
    /// The evidence log.
    Audit {
        /// Configuration file (for the store, the log key and its name).
        #[arg(long, global = true, default_value = "config/ponte.toml")]
        config: PathBuf,
        /// What to do.
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The court registry.
    Registry {
        /// Configuration file (for the store).
        #[arg(long, global = true, default_value = "config/ponte.toml")]
        config: PathBuf,
        /// What to do.
        #[command(subcommand)]
        command: RegistryCommand,
    },
    /// Offline: turn a FHIR Bundle into the filing's files (DatiAtto.xml,
    /// PDF, attachments, signatures, IndiceBusta.xml, Atto.msg and, when the
    /// court's certificate is known, Atto.enc), for mapping authors.
    Map {
        /// The Bundle, JSON or XML (by extension).
        bundle: PathBuf,
        /// Output folder.
        #[arg(long, default_value = "filing-out")]
        out: PathBuf,
        /// Configuration file (mappings, schemas, signer, office).
        #[arg(long, default_value = "config/ponte.toml")]
        config: PathBuf,
        /// Registry data file instead of the configured one.
        #[arg(long)]
        registry: Option<PathBuf>,
        /// Court (codice ufficio) to use where competence is unknown.
        #[arg(long)]
        court: Option<String>,
    },
    /// Envelopes (Atto.enc).
    Envelope {
        /// What to do.
        #[command(subcommand)]
        command: EnvelopeCommand,
    },
    /// Development certificates.
    Certs {
        /// Which certificates.
        #[command(subcommand)]
        command: CertsCommand,
    },
}

/// `ponte audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the whole log from the store and check every checkpoint;
    /// exit 1 naming the first bad entry on any tampering.
    Verify {
        /// Check signatures with this verifier key (`name+keyid+base64`)
        /// instead of the private key named in the configuration.
        #[arg(long)]
        vkey: Option<String>,
    },
    /// Sign a checkpoint of the whole log now and print it.
    Checkpoint,
    /// Write an offline evidence bundle (entries, inclusion proofs, signed
    /// checkpoint, public key) for an entry index, exchange id or filing id.
    Prove {
        /// Entry index, exchange id (UUID) or filing id.
        id: String,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify an evidence bundle offline, with no access to the store.
    CheckBundle {
        /// The bundle.
        file: PathBuf,
        /// The log's verifier key to trust (`name+keyid+base64`), obtained
        /// from the log operator out of band.
        #[arg(long)]
        vkey: Option<String>,
    },
}

/// `ponte registry …`.
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Check a registry data file and the certificates it names, and make it
    /// the registry in force (recorded in the evidence log).
    Import {
        /// The data file (format in docs/registry.md).
        file: PathBuf,
    },
}

/// `ponte envelope …`.
#[derive(Debug, Subcommand)]
pub enum EnvelopeCommand {
    /// Open an envelope as the court would: decrypt, list the parts, verify
    /// every signature, validate DatiAtto.xml and IndiceBusta.xml. Exit 1 if
    /// any check fails.
    Inspect {
        /// The envelope.
        envelope: PathBuf,
        /// The court's private key (PEM or DER).
        #[arg(long)]
        key: PathBuf,
        /// The court's encryption certificate (PEM or DER).
        #[arg(long)]
        cert: PathBuf,
        /// CA certificate(s) the signers must chain to.
        #[arg(long, default_value = "certs/dev/ca.pem")]
        ca: PathBuf,
        /// The Ministry's schema folder.
        #[arg(long, default_value = "../shared/pct-xsd")]
        schemas: PathBuf,
    },
}

/// `ponte certs …`.
#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Create a development PKI: root CA and CRL, gateway server
    /// certificate, client certificates for a sample ASL, office, court and
    /// auditor, a court encryption key pair and a signing key.
    Dev {
        /// Output folder.
        #[arg(long, default_value = "certs/dev")]
        out: PathBuf,
        /// Replace an existing PKI (every issued certificate stops working).
        #[arg(long)]
        force: bool,
    },
}
