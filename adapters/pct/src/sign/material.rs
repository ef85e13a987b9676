//! Key material for signing and verifying, typed by purpose.
//!
//! Each type wraps DER. Constructors also accept PEM so that the gateway can
//! read whatever file an operator has, but PEM is converted here and never
//! kept or handed on.

use std::fmt;

use openssl::pkey::{Id, PKey, Private};
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::{X509, X509Ref};

use super::SignError;

/// The private key of a signer, as PKCS#8 DER.
///
/// Its `Debug` output never shows the key.
#[derive(Clone)]
pub struct SigningKey {
    pkcs8_der: Vec<u8>,
}

/// An X.509 certificate on the signing side: the signer's own certificate or
/// an intermediate CA certificate that goes into the signature with it.
#[derive(Clone, PartialEq, Eq)]
pub struct SignerCert {
    der: Vec<u8>,
}

/// The CA certificates a verifier trusts (for PCT: the qualified trust
/// service providers' roots and intermediates).
#[derive(Clone)]
pub struct TrustAnchors {
    certs: Vec<X509>,
}

/// Whether `bytes` look like PEM rather than DER. DER starts with a SEQUENCE
/// tag (0x30), which is never the start of PEM text.
pub(crate) fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes
        .windows(b"-----BEGIN ".len())
        .any(|w| w == b"-----BEGIN ")
}

// === impl SigningKey ===

impl SigningKey {
    /// Reads a private key from DER (PKCS#8, or the traditional RSA/EC form).
    pub fn from_der(der: &[u8]) -> Result<Self, SignError> {
        let pkey = PKey::private_key_from_der(der).map_err(SignError::InvalidKey)?;
        Self::from_pkey(&pkey)
    }

    /// Reads an unencrypted private key from PEM (`PRIVATE KEY`,
    /// `RSA PRIVATE KEY` or `EC PRIVATE KEY`).
    pub fn from_pem(pem: &[u8]) -> Result<Self, SignError> {
        let pkey = PKey::private_key_from_pem(pem).map_err(SignError::InvalidKey)?;
        Self::from_pkey(&pkey)
    }

    /// Reads a private key from PEM or DER, whichever `bytes` hold.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SignError> {
        if looks_like_pem(bytes) {
            Self::from_pem(bytes)
        } else {
            Self::from_der(bytes)
        }
    }

    pub(crate) fn from_pkey(pkey: &PKey<Private>) -> Result<Self, SignError> {
        match pkey.id() {
            Id::RSA | Id::EC => {}
            _ => return Err(SignError::UnsupportedKey),
        }
        let pkcs8_der = pkey.private_key_to_pkcs8().map_err(SignError::InvalidKey)?;
        Ok(Self { pkcs8_der })
    }

    pub(crate) fn to_pkey(&self) -> Result<PKey<Private>, SignError> {
        PKey::private_key_from_pkcs8(&self.pkcs8_der).map_err(SignError::InvalidKey)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

// === impl SignerCert ===

impl SignerCert {
    /// Reads a DER X.509 certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, SignError> {
        let cert = X509::from_der(der).map_err(SignError::InvalidCertificate)?;
        Self::from_x509(&cert)
    }

    /// Reads the first certificate of a PEM file.
    pub fn from_pem(pem: &[u8]) -> Result<Self, SignError> {
        let cert = X509::from_pem(pem).map_err(SignError::InvalidCertificate)?;
        Self::from_x509(&cert)
    }

    /// Reads a certificate from PEM or DER, whichever `bytes` hold.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SignError> {
        if looks_like_pem(bytes) {
            Self::from_pem(bytes)
        } else {
            Self::from_der(bytes)
        }
    }

    /// Reads every certificate of a PEM file (for a chain file).
    pub fn all_from_pem(pem: &[u8]) -> Result<Vec<Self>, SignError> {
        X509::stack_from_pem(pem)
            .map_err(SignError::InvalidCertificate)?
            .iter()
            .map(|cert| Self::from_x509(cert))
            .collect()
    }

    /// The certificate's DER bytes.
    pub fn as_der(&self) -> &[u8] {
        &self.der
    }

    pub(crate) fn from_x509(cert: &X509Ref) -> Result<Self, SignError> {
        let der = cert.to_der().map_err(SignError::InvalidCertificate)?;
        Ok(Self { der })
    }

    pub(crate) fn to_x509(&self) -> Result<X509, SignError> {
        X509::from_der(&self.der).map_err(SignError::InvalidCertificate)
    }
}

impl fmt::Debug for SignerCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignerCert")
            .field("der_len", &self.der.len())
            .finish()
    }
}

// === impl TrustAnchors ===

impl TrustAnchors {
    /// Reads every certificate of a PEM bundle (a CA file).
    pub fn from_pem_bundle(pem: &[u8]) -> Result<Self, SignError> {
        let certs = X509::stack_from_pem(pem).map_err(SignError::InvalidCertificate)?;
        Ok(Self { certs })
    }

    /// Takes DER certificates one by one.
    pub fn from_der_certs<'a, I>(ders: I) -> Result<Self, SignError>
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        let certs = ders
            .into_iter()
            .map(|der| X509::from_der(der).map_err(SignError::InvalidCertificate))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { certs })
    }

    /// How many certificates are trusted.
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    /// Whether no certificate is trusted (then nothing verifies).
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    pub(crate) fn store(&self) -> Result<X509Store, openssl::error::ErrorStack> {
        let mut builder = X509StoreBuilder::new()?;
        for cert in &self.certs {
            builder.add_cert(cert.clone())?;
        }
        Ok(builder.build())
    }
}

impl fmt::Debug for TrustAnchors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustAnchors")
            .field("certs", &self.certs.len())
            .finish()
    }
}
