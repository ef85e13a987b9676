//! Configuration of PEC deposits and receipts.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// PEC: where deposits go and where receipts are read.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PecConfig {
    /// Deposit ready filings. Off only on a gateway that should build but
    /// not send.
    pub enabled: bool,
    /// Development only: with no `smtp`, each deposit is written as
    /// `<message-id>.eml` (the full message, as it would be sent) into this
    /// folder instead of being sent. Refused in production mode.
    pub outbox_dir: PathBuf,
    /// The PEC provider's SMTP submission server.
    pub smtp: Option<SmtpServer>,
    /// The PEC box's IMAP server, where receipts and the court's messages
    /// arrive. Required with `smtp`: unknown outcomes are settled by
    /// reading it.
    pub imap: Option<ImapServer>,
    /// Deposits sent at once.
    pub workers: usize,
    /// How often an idle outbox looks for due deposits.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// First wait after a transient SMTP failure; doubles per attempt.
    #[serde(with = "humantime_serde")]
    pub retry_backoff: Duration,
    /// Attempts of one deposit before it is marked failed.
    pub max_attempts: u32,
    /// After an attempt with an unknown outcome (connection lost after the
    /// message was sent, or a crash), how long to wait for the provider's
    /// acceptance receipt before sending again. Providers answer within
    /// seconds; a longer window makes a duplicate deposit less likely and a
    /// lost one slower to notice.
    #[serde(with = "humantime_serde")]
    pub reconcile_window: Duration,
    /// Longest time one attempt may hold a deposit.
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
}

impl Default for PecConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            outbox_dir: PathBuf::from("data/outbox"),
            smtp: None,
            imap: None,
            workers: 2,
            poll_interval: Duration::from_secs(1),
            retry_backoff: Duration::from_secs(60),
            max_attempts: 8,
            reconcile_window: Duration::from_secs(900),
            lease: Duration::from_secs(900),
        }
    }
}

/// An SMTP submission server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpServer {
    /// Host name or address.
    pub host: String,
    /// Port (465 implicit TLS, 587 STARTTLS).
    pub port: u16,
    /// `tls` (implicit) or `starttls`.
    pub security: TlsMode,
    /// Name the server certificate must carry, when it differs from `host`.
    #[serde(default)]
    pub tls_name: Option<String>,
    /// PEM file of the CAs to trust; the system store when absent.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Login (usually the PEC address).
    pub username: String,
    /// Environment variable holding the password.
    pub password_env: String,
}

/// An IMAP server (implicit TLS).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapServer {
    /// Host name or address.
    pub host: String,
    /// Port (993).
    pub port: u16,
    /// Name the server certificate must carry, when it differs from `host`.
    #[serde(default)]
    pub tls_name: Option<String>,
    /// PEM file of the CAs to trust; the system store when absent.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Login.
    pub username: String,
    /// Environment variable holding the password.
    pub password_env: String,
    /// Mailbox to read.
    #[serde(default = "inbox")]
    pub mailbox: String,
    /// How often the box is read.
    #[serde(default = "five_seconds", with = "humantime_serde")]
    pub poll_interval: Duration,
    /// PEM file of the CAs that issue the PEC providers' signing
    /// certificates (in production, those of AgID's list of PEC providers):
    /// every message in the box must carry a provider's S/MIME signature
    /// that verifies against them. Required unless `provider_signatures`
    /// is `record`.
    #[serde(default)]
    pub provider_ca_file: Option<PathBuf>,
    /// PEM file of those CAs' CRLs: a signer they revoke does not verify.
    /// With it, every CA must have a current CRL there (fail closed), so
    /// keep it refreshed. Default: revocation is not checked.
    #[serde(default)]
    pub provider_crl_file: Option<PathBuf>,
    /// What an unverified provider signature does: `require` (default) puts
    /// the message in quarantine, never applied to a deposit; `record` only
    /// records the result with the message (a pilot whose trust list is
    /// not loaded yet).
    #[serde(default)]
    pub provider_signatures: SignaturePolicy,
}

/// What a message without a verified provider signature does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignaturePolicy {
    /// Quarantined, never applied.
    #[default]
    Require,
    /// Applied; the result of the check is recorded with the message.
    Record,
}

fn inbox() -> String {
    "INBOX".to_owned()
}

fn five_seconds() -> Duration {
    Duration::from_secs(5)
}

/// TLS on the SMTP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// TLS from the first byte.
    Tls,
    /// STARTTLS, required.
    Starttls,
}
