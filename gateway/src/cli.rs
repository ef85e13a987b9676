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
    /// Development certificates.
    Certs {
        /// Which certificates.
        #[command(subcommand)]
        command: CertsCommand,
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
