//! A small mutual-TLS HTTP/1.1 client over rustls, for black-box tests.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use rustls::ClientConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// A client identity: certificate and key, PEM text.
#[derive(Clone)]
pub struct Identity {
    /// Certificate chain, PEM.
    pub cert_pem: String,
    /// Key, PEM.
    pub key_pem: String,
}

impl Identity {
    /// One of the dev PKI's sample agencies.
    pub fn dev(agency: &str) -> Self {
        let dir = super::harness::dev_pki();
        Self::from_files(
            &dir.join(format!("client-{agency}.pem")),
            &dir.join(format!("client-{agency}.key")),
        )
    }

    /// From PEM files.
    pub fn from_files(cert: &Path, key: &Path) -> Self {
        Self {
            cert_pem: std::fs::read_to_string(cert).unwrap(),
            key_pem: std::fs::read_to_string(key).unwrap(),
        }
    }

    /// Issued by the dev CA with a given common name and validity.
    pub fn issued(spec: &ponte_certs::LeafSpec) -> (Self, Vec<u8>) {
        let ca = ponte_certs::Ca::load(super::harness::dev_pki()).unwrap();
        let issued = ca.issue(spec).unwrap();
        (
            Self {
                cert_pem: issued.cert_pem,
                key_pem: issued.key_pem,
            },
            issued.serial,
        )
    }
}

/// rustls client configuration trusting the dev CA, with an optional
/// client certificate.
pub fn config(identity: Option<&Identity>) -> Arc<ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(super::harness::dev_pki().join("ca.pem")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match identity {
        Some(id) => {
            let chain = CertificateDer::pem_slice_iter(id.cert_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_slice(id.key_pem.as_bytes()).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// An answer.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: http::HeaderMap,
    /// Body.
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// Sends one request on a new connection. `Err` carries the TLS or HTTP
/// failure as text (the alert a refused handshake produced).
pub async fn send(
    addr: SocketAddr,
    identity: Option<&Identity>,
    method: &str,
    path: &str,
    body: Vec<u8>,
) -> Result<Answer, String> {
    send_with(addr, identity, method, path, &[], body).await
}

/// [`send`] with extra request headers.
pub async fn send_with(
    addr: SocketAddr,
    identity: Option<&Identity>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<Answer, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let connector = TlsConnector::from(config(identity));
    let name = ServerName::try_from("localhost").unwrap();
    let tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| format!("handshake: {e:?}"))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .map_err(|e| format!("http: {e:?}"))?;
    tokio::spawn(conn);
    let mut request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(Bytes::from(body))).unwrap();
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request: {e:?} / {:?}", std::error::Error::source(&e)))?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| format!("body: {e:?}"))?
        .to_bytes();
    Ok(Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    })
}
