//! [`FileSigner`]: CAdES-BES with a software key; the key operation runs in
//! the system OpenSSL 3.

use std::time::SystemTime;

use openssl::hash::MessageDigest;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{Id, PKey, Private};
use openssl::x509::X509;

use super::cades::{self, CadesSigner, Scheme};
use super::material::{SignerCert, SigningKey};
use super::{Pkcs12Item, SignError, Signer};

/// Signs with a private key and certificate held in memory, read from PEM,
/// DER or PKCS#12 bytes.
///
/// The signature is a DER `SignedData` with the content attached: SHA-256,
/// `sha256WithRSAEncryption` (or `ecdsa-with-SHA256` for an EC key), signed
/// attributes contentType, messageDigest, signingTime and
/// signing-certificate-v2, the signer certificate and any chain certificates
/// given, and no revocation data.
pub struct FileSigner {
    key: PKey<Private>,
    scheme: Scheme,
    cert_der: Vec<u8>,
    chain_der: Vec<Vec<u8>>,
}

// === impl FileSigner ===

impl FileSigner {
    /// Pairs a key with its certificate. `chain` lists intermediate CA
    /// certificates to embed next to the signer's (may be empty).
    ///
    /// Fails if the key does not belong to the certificate.
    pub fn new(
        key: &SigningKey,
        cert: &SignerCert,
        chain: &[SignerCert],
    ) -> Result<Self, SignError> {
        let key = key.to_pkey()?;
        let cert = cert.to_x509()?;
        let chain = chain
            .iter()
            .map(SignerCert::to_x509)
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_parts(key, cert, chain)
    }

    /// Reads a key and a certificate, each PEM or DER. A PEM certificate file
    /// may carry the chain after the signer's own certificate; it is embedded
    /// too.
    pub fn from_key_and_cert(key: &[u8], cert: &[u8]) -> Result<Self, SignError> {
        let key = SigningKey::from_bytes(key)?;
        let mut certs = if super::material::looks_like_pem(cert) {
            SignerCert::all_from_pem(cert)?
        } else {
            vec![SignerCert::from_der(cert)?]
        };
        if certs.is_empty() {
            return Err(SignError::NoCertificate);
        }
        let own = certs.remove(0);
        Self::new(&key, &own, &certs)
    }

    /// Opens a PKCS#12 (`.p12`/`.pfx`) bundle with its password; the CA
    /// certificates in it become the embedded chain.
    pub fn from_pkcs12(der: &[u8], password: &str) -> Result<Self, SignError> {
        let parsed = Pkcs12::from_der(der)
            .and_then(|p12| p12.parse2(password))
            .map_err(SignError::InvalidPkcs12)?;
        let key = parsed
            .pkey
            .ok_or(SignError::Pkcs12Incomplete(Pkcs12Item::PrivateKey))?;
        let cert = parsed
            .cert
            .ok_or(SignError::Pkcs12Incomplete(Pkcs12Item::Certificate))?;
        let chain = parsed
            .ca
            .map(|stack| stack.into_iter().collect())
            .unwrap_or_default();
        // Normalise through SigningKey so the same key types are refused.
        let key = SigningKey::from_pkey(&key)?.to_pkey()?;
        Self::from_parts(key, cert, chain)
    }

    /// The signer certificate, for display or for the DatiAtto model.
    pub fn certificate(&self) -> Result<SignerCert, SignError> {
        SignerCert::from_der(&self.cert_der)
    }

    fn from_parts(key: PKey<Private>, cert: X509, chain: Vec<X509>) -> Result<Self, SignError> {
        let cert_key = cert.public_key().map_err(SignError::InvalidCertificate)?;
        if !cert_key.public_eq(&key) {
            return Err(SignError::KeyCertMismatch);
        }
        let scheme = match key.id() {
            Id::RSA => Scheme::RsaPkcs1Sha256,
            Id::EC => Scheme::EcdsaSha256,
            _ => return Err(SignError::UnsupportedKey),
        };
        let cert_der = cert.to_der().map_err(SignError::InvalidCertificate)?;
        let chain_der = chain
            .iter()
            .map(|c| c.to_der().map_err(SignError::InvalidCertificate))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            key,
            scheme,
            cert_der,
            chain_der,
        })
    }
}

impl Signer for FileSigner {
    fn sign_cades(&self, content: &[u8]) -> Result<Vec<u8>, SignError> {
        let signer = CadesSigner {
            cert_der: &self.cert_der,
            chain: &self.chain_der,
            scheme: self.scheme,
        };
        cades::sign_attached(content, &signer, SystemTime::now(), |to_be_signed| {
            // RSA keys default to PKCS#1 v1.5 padding; EC keys give a DER
            // Ecdsa-Sig-Value, which is what CMS carries.
            let mut op = openssl::sign::Signer::new(MessageDigest::sha256(), &self.key)
                .map_err(SignError::Crypto)?;
            op.sign_oneshot_to_vec(to_be_signed)
                .map_err(SignError::Crypto)
        })
    }
}

impl std::fmt::Debug for FileSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSigner")
            .field("key", &"<redacted>")
            .field("chain", &self.chain_der.len())
            .finish_non_exhaustive()
    }
}
