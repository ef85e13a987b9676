//! Trust anchors for the SMTP and IMAP servers' certificates.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::{CertificateDer, pem::PemObject as _};

/// Where the trusted CAs come from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TrustAnchors {
    /// The operating system's store (Debian: `ca-certificates`).
    #[default]
    System,
    /// Only the certificates in this PEM file (one or more CAs); the system
    /// store is not used.
    CaFile(PathBuf),
}

/// The CA file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot load CA certificates from {}: {reason}", path.display())]
pub struct CaLoadError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub reason: String,
}

pub(crate) fn load_pem(path: &Path) -> Result<Vec<u8>, CaLoadError> {
    let bytes = std::fs::read(path).map_err(|e| CaLoadError {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let certs = parse_certs(path, &bytes)?;
    if certs.is_empty() {
        return Err(CaLoadError {
            path: path.to_owned(),
            reason: "no certificate in the file".into(),
        });
    }
    Ok(bytes)
}

fn parse_certs(path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, CaLoadError> {
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CaLoadError {
            path: path.to_owned(),
            reason: e.to_string(),
        })
}

/// A rustls client configuration (ring provider, TLS 1.2 and 1.3) trusting
/// `anchors`.
pub(crate) fn client_config(
    anchors: &TrustAnchors,
) -> Result<Arc<rustls::ClientConfig>, CaLoadError> {
    let mut roots = rustls::RootCertStore::empty();
    match anchors {
        TrustAnchors::System => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
        }
        TrustAnchors::CaFile(path) => {
            let pem = load_pem(path)?;
            for cert in parse_certs(path, &pem)? {
                roots.add(cert).map_err(|e| CaLoadError {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| CaLoadError {
            path: PathBuf::new(),
            reason: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The `rustls::Error` inside an I/O error chain, if any.
pub(crate) fn find_rustls_error<'a>(
    mut err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    loop {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(tls) = inner.downcast_ref::<rustls::Error>()
        {
            return Some(tls);
        }
        err = err.source()?;
    }
}
