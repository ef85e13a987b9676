//! Configuration of the filing pipeline: schemas, mappings, registry,
//! signer and the proximity office's own data.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// The PCT filing pipeline.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PctConfig {
    /// Run the pipeline worker that builds filings from accepted
    /// submissions. Off only on a gateway that should accept but not build.
    pub enabled: bool,
    /// Folder of the Ministry's schema package (the one published on the
    /// PST; `Atti/sici/sicid_v7/…`, `DTD_20180328/…`).
    pub schemas: PathBuf,
    /// Folder of the mapping files (`*.toml`, one per act type); changes are
    /// picked up without a restart.
    pub mappings: PathBuf,
    /// Court registry data file used until one is imported with `ponte
    /// registry import` (an imported registry always wins).
    pub registry: PathBuf,
    /// Filings built at once (each build signs twice and encrypts).
    pub workers: usize,
    /// A build not finished in this time is taken up again (e.g. after a
    /// crash); keep it well above the longest build.
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    /// How often an idle worker looks for work (new submissions also wake it).
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// First wait before retrying a build that failed for a passing reason
    /// (signer or schema validator unavailable); doubles per attempt.
    #[serde(with = "humantime_serde")]
    pub retry_backoff: Duration,
    /// Attempts before such a build is marked failed.
    pub max_attempts: u32,
}

impl Default for PctConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            schemas: PathBuf::from("../shared/pct-xsd"),
            mappings: PathBuf::from("mappings/files"),
            registry: PathBuf::from("adapters/registry/data/dev-registry.toml"),
            workers: 1,
            lease: Duration::from_secs(300),
            poll_interval: Duration::from_secs(1),
            retry_backoff: Duration::from_secs(30),
            max_attempts: 5,
        }
    }
}

/// Who signs filings (CAdES-BES): a key file or a PKCS#11 token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignerConfig {
    /// Signer certificate, PEM (chain after the leaf) or DER.
    pub cert: Option<PathBuf>,
    /// Signer private key, PEM or DER.
    pub key: Option<PathBuf>,
    /// A PKCS#12 file holding key and certificate (instead of `cert`/`key`).
    pub pkcs12: Option<PathBuf>,
    /// A `pkcs11:` URI (RFC 7512) naming the token and key, with
    /// `module-path` (instead of files).
    pub pkcs11: Option<String>,
    /// Environment variable holding the PKCS#12 password or the token PIN
    /// (never the secret itself in the file).
    pub secret_env: Option<String>,
}

impl Default for SignerConfig {
    fn default() -> Self {
        Self {
            cert: Some(PathBuf::from("certs/dev/signer.pem")),
            key: Some(PathBuf::from("certs/dev/signer.key")),
            pkcs12: None,
            pkcs11: None,
            secret_env: None,
        }
    }
}
