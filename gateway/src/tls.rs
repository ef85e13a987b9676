//! TLS for the HTTPS edge: the server configuration and what a failed
//! handshake means.
//!
//! Policy, and why:
//! - TLS 1.2 and 1.3 only, with rustls' default suites (AEAD ciphers with
//!   forward secrecy only); older versions and CBC/RSA-kx suites do not exist
//!   in rustls at all.
//! - A client certificate is required and must chain to one of the
//!   configured agency CAs (never the system store: an agency is whoever a
//!   deployment's CAs say it is).
//! - CRLs are checked for the end-entity certificate. A certificate whose
//!   revocation status cannot be determined (no CRL from its issuer while
//!   CRLs are configured) is refused: fail closed.
//! - ALPN offers `h2` and `http/1.1`.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

use crate::config::TlsConfig;
use crate::identity::PeerRejected;

/// Problems with TLS material; each names the file concerned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A PEM file could not be read or holds nothing usable (operator).
    #[error("{path}: {problem}")]
    Material {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// rustls refused the assembled configuration, e.g. a key that does not
    /// match its certificate (operator).
    #[error("tls configuration refused")]
    Rustls(#[from] rustls::Error),
    /// The client verifier could not be built from the CAs and CRLs (operator).
    #[error("client certificate verifier refused")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

/// Builds the server configuration of the HTTPS listener.
pub fn server_config(tls: &TlsConfig) -> Result<Arc<ServerConfig>, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for path in &tls.client_cas {
        for cert in certificates(path)? {
            roots.add(cert).map_err(|e| material(path, e))?;
        }
    }
    let mut crls = Vec::new();
    for path in &tls.crls {
        let found = CertificateRevocationListDer::pem_file_iter(path)
            .map_err(|e| material(path, e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| material(path, e))?;
        if found.is_empty() {
            return Err(material(path, "no CRL found"));
        }
        crls.extend(found);
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .with_crls(crls)
        .only_check_end_entity_revocation()
        .build()?;
    let chain = certificates(&tls.cert)?;
    let key = PrivateKeyDer::from_pem_file(&tls.key).map_err(|e| material(&tls.key, e))?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| material(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| material(path, e))?;
    if certs.is_empty() {
        return Err(material(path, "no certificate found"));
    }
    Ok(certs)
}

fn material(path: &Path, problem: impl ToString) -> Error {
    Error::Material {
        path: path.to_path_buf(),
        problem: problem.to_string(),
    }
}

/// Why a handshake failed, as a bounded label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeFailure {
    /// A certificate problem that identifies the caller's standing.
    Rejected(PeerRejected),
    /// The certificate is unusable for another reason (bad signature,
    /// encoding, unknown revocation status).
    BadCertificate,
    /// The client offered nothing we accept (versions, suites, ALPN).
    Incompatible,
    /// Not TLS, or TLS gone wrong.
    Protocol,
    /// The client gave up or sent an alert.
    ClientAbort,
    /// The handshake took longer than `server.handshake_timeout`.
    Timeout,
}

impl HandshakeFailure {
    /// Classifies the error returned by the TLS acceptor.
    pub fn of(error: &io::Error) -> Self {
        let Some(tls) = error
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
        else {
            return HandshakeFailure::ClientAbort;
        };
        match tls {
            rustls::Error::NoCertificatesPresented => {
                HandshakeFailure::Rejected(PeerRejected::NoCertificate)
            }
            rustls::Error::InvalidCertificate(cert) => match cert {
                CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. } => {
                    HandshakeFailure::Rejected(PeerRejected::Expired)
                }
                CertificateError::UnknownIssuer => {
                    HandshakeFailure::Rejected(PeerRejected::UnknownIssuer)
                }
                CertificateError::Revoked => HandshakeFailure::Rejected(PeerRejected::Revoked),
                _ => HandshakeFailure::BadCertificate,
            },
            rustls::Error::PeerIncompatible(_) | rustls::Error::NoApplicationProtocol => {
                HandshakeFailure::Incompatible
            }
            rustls::Error::AlertReceived(_) => HandshakeFailure::ClientAbort,
            _ => HandshakeFailure::Protocol,
        }
    }

    /// The label value.
    pub fn code(self) -> &'static str {
        match self {
            HandshakeFailure::Rejected(r) => r.code(),
            HandshakeFailure::BadCertificate => "bad_certificate",
            HandshakeFailure::Incompatible => "incompatible",
            HandshakeFailure::Protocol => "protocol",
            HandshakeFailure::ClientAbort => "client_abort",
            HandshakeFailure::Timeout => "timeout",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrap(e: rustls::Error) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }

    #[test]
    fn handshake_errors_map_to_bounded_reasons() {
        let cases = [
            (rustls::Error::NoCertificatesPresented, "no_certificate"),
            (
                rustls::Error::InvalidCertificate(CertificateError::Expired),
                "expired",
            ),
            (
                rustls::Error::InvalidCertificate(CertificateError::Revoked),
                "revoked",
            ),
            (
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
                "unknown_issuer",
            ),
            (
                rustls::Error::InvalidCertificate(CertificateError::BadSignature),
                "bad_certificate",
            ),
            (rustls::Error::NoApplicationProtocol, "incompatible"),
            (rustls::Error::DecryptError, "protocol"),
        ];
        for (error, code) in cases {
            assert_eq!(HandshakeFailure::of(&wrap(error)).code(), code);
        }
        let eof = io::Error::from(io::ErrorKind::UnexpectedEof);
        assert_eq!(HandshakeFailure::of(&eof).code(), "client_abort");
    }

    #[test]
    fn development_pki_builds_a_server_config() {
        let dir = tempfile::tempdir().unwrap();
        ponte_certs::generate(dir.path(), false).unwrap();
        let tls = TlsConfig {
            cert: dir.path().join("server.pem"),
            key: dir.path().join("server.key"),
            client_cas: vec![dir.path().join("ca.pem")],
            crls: vec![dir.path().join("ca.crl.pem")],
        };
        let config = server_config(&tls).unwrap();
        assert_eq!(config.alpn_protocols[0], b"h2");
        let missing = TlsConfig {
            cert: dir.path().join("nope.pem"),
            ..tls
        };
        let err = server_config(&missing).unwrap_err().to_string();
        assert!(err.contains("nope.pem"), "{err}");
    }
}
