//! Client-side TLS set-up: trust root, client certificate, protocol versions.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rustls::client::Resumption;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Which TLS protocol versions the client offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TlsVersions {
    /// Offer TLS 1.3 and TLS 1.2; the server picks (normally 1.3).
    Auto,
    /// Offer TLS 1.2 only.
    #[value(name = "1.2")]
    Tls12,
    /// Offer TLS 1.3 only.
    #[value(name = "1.3")]
    Tls13,
}

/// Files that make up the client's TLS identity and trust.
pub struct TlsFiles<'a> {
    /// PEM file with one or more trusted root certificates.
    pub ca: &'a Path,
    /// PEM file with the client certificate, optionally followed by intermediates.
    pub cert: &'a Path,
    /// PEM file with the client private key (PKCS#8, SEC1 or PKCS#1).
    pub key: &'a Path,
}

/// Builds the rustls client configuration used by every connection.
///
/// The `ring` provider is selected explicitly so the numbers do not depend on
/// which provider happens to be the process default. Session resumption is
/// disabled: in handshake mode every iteration must pay for a full handshake
/// with client authentication, which is what the mode exists to measure, and
/// in keep-alive mode each connection handshakes only once anyway.
pub fn client_config(files: &TlsFiles<'_>, versions: TlsVersions) -> Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(files.ca)? {
        roots
            .add(cert)
            .with_context(|| format!("bad trust root in {}", files.ca.display()))?;
    }

    let chain = load_certs(files.cert)?;
    let key = PrivateKeyDer::from_pem_file(files.key)
        .with_context(|| format!("cannot read private key from {}", files.key.display()))?;

    let protocol_versions: &[&'static rustls::SupportedProtocolVersion] = match versions {
        TlsVersions::Auto => &[&rustls::version::TLS13, &rustls::version::TLS12],
        TlsVersions::Tls12 => &[&rustls::version::TLS12],
        TlsVersions::Tls13 => &[&rustls::version::TLS13],
    };

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(protocol_versions)
        .context("the ring provider does not support the requested TLS versions")?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .context("client certificate and key do not form a usable identity")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.resumption = Resumption::disabled();
    Ok(Arc::new(config))
}

/// Reads every certificate in a PEM file, failing if there is none.
fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("cannot open {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("cannot parse PEM certificates in {}", path.display()))?;
    if certs.is_empty() {
        bail!("no certificate found in {}", path.display());
    }
    Ok(certs)
}
