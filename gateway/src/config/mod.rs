//! Gateway configuration: one TOML file plus `PONTE_…` environment overrides.
//!
//! Load order: built-in defaults → the TOML file → environment variables
//! (`PONTE_SERVER__LISTEN=0.0.0.0:9443` sets `server.listen`; `__` separates
//! levels). When the file named by `--config` does not exist, the embedded
//! development configuration (a copy of `config/ponte.toml` compiled into the
//! binary) is used, so `ponte serve` works on a fresh machine.
//!
//! Loading is pure: it reads files but opens no socket. Every problem found
//! is collected and reported together, each with its key, what is wrong and
//! what is expected. The doc comment of each field is the operator reference;
//! `config/ponte.example.toml` repeats it with examples.

mod access;
mod load;
mod pct;
mod pec;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bytesize::ByteSize;
use serde::Deserialize;

pub use access::{AccessRule, Method, RoutePattern};
pub use load::{ConfigError, ConfigErrors, EMBEDDED_DEFAULT, Source, load};
pub use pct::{PctConfig, SignerConfig};
pub use pec::{ImapServer, PecConfig, SignaturePolicy, SmtpServer, TlsMode};

use crate::identity::{AgencyId, CertFingerprint, Role};

/// The whole gateway configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `development` allows the development shortcuts (automatic PKI
    /// creation); `production` refuses them.
    #[serde(default)]
    pub mode: Mode,
    /// The HTTPS (mutual TLS) listener.
    #[serde(default)]
    pub server: ServerConfig,
    /// TLS material of the HTTPS listener and the CAs trusted for clients.
    pub tls: TlsConfig,
    /// The plain-HTTP admin listener (metrics, health).
    #[serde(default)]
    pub admin: AdminConfig,
    /// The store.
    #[serde(default)]
    pub store: StoreConfig,
    /// Development PKI (development mode only).
    #[serde(default)]
    pub dev_pki: DevPkiConfig,
    /// The evidence log.
    #[serde(default)]
    pub evidence: EvidenceConfig,
    /// FHIR intake.
    #[serde(default)]
    pub fhir: FhirConfig,
    /// The PCT filing pipeline.
    #[serde(default)]
    pub pct: PctConfig,
    /// Who signs filings.
    #[serde(default)]
    pub signer: SignerConfig,
    /// PEC deposits and receipts.
    #[serde(default)]
    pub pec: PecConfig,
    /// How long the content in clear of a finished case is kept.
    #[serde(default)]
    pub retention: RetentionConfig,
    /// The proximity office filing on the citizens' behalf (its name, codice
    /// fiscale, address, officers, PEC address). Filings cannot be built
    /// without it.
    #[serde(default)]
    pub office: Option<ponte_mappings::OfficeProfile>,
    /// The agencies allowed to connect.
    #[serde(default)]
    pub agencies: Vec<AgencyConfig>,
    /// Which roles may call which routes; the first matching rule decides and
    /// a request that matches none is refused.
    #[serde(default)]
    pub access: Vec<AccessRule>,
    /// The effective configuration (file plus environment) as TOML text; its
    /// digest goes into the evidence log at every start.
    #[serde(skip)]
    pub effective: String,
}

/// Deployment mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Development shortcuts allowed.
    #[default]
    Development,
    /// No development shortcut runs.
    Production,
}

/// The HTTPS listener and its protections.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port of the mutual-TLS listener.
    pub listen: SocketAddr,
    /// Longest time a client may take to complete the TLS handshake.
    #[serde(with = "humantime_serde")]
    pub handshake_timeout: Duration,
    /// Longest time a client may take to send a request's headers
    /// (protects against slowloris).
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// Longest time a whole request may take, body and handling included.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Requests handled at once; further requests get 503 with Retry-After
    /// instead of queueing without bound.
    pub max_concurrent_requests: usize,
    /// Largest request body on routes other than `/fhir`.
    pub body_limit: ByteSize,
    /// Largest request body on `/fhir` (capacity reports carry PDFs).
    pub fhir_body_limit: ByteSize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8443)),
            // A legitimate client finishes a handshake in milliseconds; 10 s
            // leaves room for slow links without letting idle sockets pile up.
            handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
            // Uploading 64 MiB at 20 Mbit/s takes about 27 s.
            request_timeout: Duration::from_secs(60),
            // Each request holds at most one store write; 1024 keeps memory
            // bounded (64 MiB bodies are streamed, not held per slot).
            max_concurrent_requests: 1024,
            body_limit: ByteSize::mib(1),
            fhir_body_limit: ByteSize::mib(64),
        }
    }
}

/// TLS material.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Server certificate chain, PEM (leaf first).
    pub cert: PathBuf,
    /// Server private key, PEM (PKCS#8, SEC1 or PKCS#1).
    pub key: PathBuf,
    /// PEM files of the CAs that issue agency client certificates.
    pub client_cas: Vec<PathBuf>,
    /// PEM CRLs of those CAs; a certificate listed in one is refused.
    #[serde(default)]
    pub crls: Vec<PathBuf>,
}

/// The admin listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Address of the plain-HTTP admin listener. Loopback by default: metrics
    /// are not secret but should not be public.
    pub listen: SocketAddr,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
        }
    }
}

/// The store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `sqlite:PATH` for the embedded database. (`postgres://…` is reserved
    /// for the PostgreSQL backend, not built yet.)
    pub url: String,
    /// Read connections kept open (the single writer is separate).
    pub read_connections: usize,
    /// Most writes committed together in one transaction (group commit).
    pub max_batch: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: "sqlite:data/ponte.db".to_owned(),
            read_connections: 4,
            max_batch: 512,
        }
    }
}

/// The development PKI.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DevPkiConfig {
    /// Folder of the development PKI.
    pub dir: PathBuf,
    /// In development mode, create the PKI in `dir` on start if it is missing.
    pub auto_create: bool,
}

impl Default for DevPkiConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("certs/dev"),
            auto_create: true,
        }
    }
}

/// The evidence log.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvidenceConfig {
    /// The log's name: first line of every checkpoint and the name of its
    /// signing key. Choose one per deployment and never change it, e.g.
    /// `ponte.regione.liguria.it/evidence`.
    pub origin: String,
    /// Ed25519 private key (PKCS#8 PEM) that signs checkpoints and receipts.
    pub key: PathBuf,
    /// Longest time between checkpoints while entries are being appended.
    #[serde(with = "humantime_serde")]
    pub checkpoint_interval: Duration,
    /// Most entries appended between checkpoints.
    pub checkpoint_entries: u64,
    /// RFC 3161 Time-Stamping Authority (`http://host[:port]/path`) that
    /// time-stamps every checkpoint; none by default.
    pub tsa_url: Option<String>,
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        Self {
            origin: "ponte.localhost/evidence".to_owned(),
            key: PathBuf::from("certs/dev/log-key.pem"),
            // A minute bounds how long an entry waits for a signed root a
            // counterpart can hold Ponte to; receipts cover the gap.
            checkpoint_interval: Duration::from_secs(60),
            checkpoint_entries: 10_000,
            tsa_url: None,
        }
    }
}

/// Retention of the content in clear that Ponte keeps for each case: the
/// submission's original bytes and parsed Bundle, and the filing's artefacts
/// other than the court's encrypted envelope (`docs/retention.md`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Whole days a case stays finished (filing failed, or deposit accepted
    /// by the clerk, refused, failed or cancelled) before its content is
    /// purged; 0 purges it at the next pass. Unset: content is kept until
    /// this is set. The period is the data controller's decision, so there
    /// is no default.
    pub content_days: Option<u32>,
    /// How often the purge looks for cases whose period has run out.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            content_days: None,
            // A case's content outlives its period by at most this much.
            interval: Duration::from_secs(3600),
        }
    }
}

/// FHIR intake.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FhirConfig {
    /// Elements the FHIR models do not know: `refuse` (400, nothing sent is
    /// lost) or `warn` (accepted with a warning; the original bytes keep
    /// them).
    pub unknown_elements: UnknownElementsPolicy,
    /// Largest attachment (decoded) in a submission.
    pub max_attachment: ByteSize,
}

/// What to do with unknown FHIR elements.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownElementsPolicy {
    /// Refuse the submission.
    #[default]
    Refuse,
    /// Accept with a warning.
    Warn,
}

impl Default for FhirConfig {
    fn default() -> Self {
        Self {
            unknown_elements: UnknownElementsPolicy::Refuse,
            // A scanned, signed certificate is a few MiB; more is a mistake.
            max_attachment: ByteSize::mib(20),
        }
    }
}

/// One agency allowed to connect.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgencyConfig {
    /// The agency's id (used in logs, metrics and records).
    pub id: AgencyId,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Its roles.
    pub roles: Vec<Role>,
    /// Match certificates whose subject common name is this.
    #[serde(default)]
    pub subject_cn: Option<String>,
    /// Match certificates with one of these SHA-256 fingerprints (hex).
    #[serde(default)]
    pub fingerprints: Vec<CertFingerprint>,
}
