//! Court key material, typed by purpose. Each type wraps DER; constructors
//! also accept PEM, which is converted here and never kept.

use std::fmt;

use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use super::Error;

/// The court's encryption certificate ("certificato di cifratura" of the
/// Ufficio Giudiziario), the only recipient of `Atto.enc`.
///
/// Parsed once, when constructed: OpenSSL 3 decodes the public key while it
/// reads a certificate, which costs more than the whole key transport of a
/// seal, so a value kept for a court serves every filing without a new parse.
/// Cloning shares the parsed certificate. Equality compares the DER bytes.
#[derive(Clone)]
pub struct CourtRecipientCert {
    der: Vec<u8>,
    x509: X509,
}

/// The court's decryption key, for the court side of tests and for
/// inspection tools. PKCS#8 DER inside; `Debug` never shows it.
#[derive(Clone)]
pub struct CourtDecryptionKey {
    pkcs8_der: Vec<u8>,
}

fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes
        .windows(b"-----BEGIN ".len())
        .any(|w| w == b"-----BEGIN ")
}

// === impl CourtRecipientCert ===

impl CourtRecipientCert {
    /// Reads a DER X.509 certificate (as the Ministry's registry serves it).
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        let cert = X509::from_der(der).map_err(Error::InvalidRecipientCert)?;
        Self::from_x509(&cert)
    }

    /// Reads the first certificate of a PEM file.
    pub fn from_pem(pem: &[u8]) -> Result<Self, Error> {
        let cert = X509::from_pem(pem).map_err(Error::InvalidRecipientCert)?;
        Self::from_x509(&cert)
    }

    /// Reads a certificate from PEM or DER, whichever `bytes` hold.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if looks_like_pem(bytes) {
            Self::from_pem(bytes)
        } else {
            Self::from_der(bytes)
        }
    }

    /// The certificate's DER bytes.
    pub fn as_der(&self) -> &[u8] {
        &self.der
    }

    fn from_x509(cert: &X509) -> Result<Self, Error> {
        // The public key must be readable, or encryption fails later with a
        // less helpful error.
        cert.public_key().map_err(Error::InvalidRecipientCert)?;
        let der = cert.to_der().map_err(Error::InvalidRecipientCert)?;
        Ok(Self {
            der,
            x509: cert.clone(),
        })
    }

    /// The parsed certificate (a reference-counted handle, no copy).
    pub(crate) fn x509(&self) -> X509 {
        self.x509.clone()
    }
}

impl PartialEq for CourtRecipientCert {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for CourtRecipientCert {}

impl fmt::Debug for CourtRecipientCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CourtRecipientCert")
            .field("der_len", &self.der.len())
            .finish()
    }
}

// === impl CourtDecryptionKey ===

impl CourtDecryptionKey {
    /// Reads a private key from DER (PKCS#8 or traditional).
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        let pkey = PKey::private_key_from_der(der).map_err(Error::InvalidCourtKey)?;
        Self::from_pkey(&pkey)
    }

    /// Reads an unencrypted private key from PEM.
    pub fn from_pem(pem: &[u8]) -> Result<Self, Error> {
        let pkey = PKey::private_key_from_pem(pem).map_err(Error::InvalidCourtKey)?;
        Self::from_pkey(&pkey)
    }

    /// Reads a private key from PEM or DER, whichever `bytes` hold.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if looks_like_pem(bytes) {
            Self::from_pem(bytes)
        } else {
            Self::from_der(bytes)
        }
    }

    fn from_pkey(pkey: &PKey<Private>) -> Result<Self, Error> {
        let pkcs8_der = pkey
            .private_key_to_pkcs8()
            .map_err(Error::InvalidCourtKey)?;
        Ok(Self { pkcs8_der })
    }

    pub(crate) fn to_pkey(&self) -> Result<PKey<Private>, Error> {
        PKey::private_key_from_pkcs8(&self.pkcs8_der).map_err(Error::InvalidCourtKey)
    }
}

impl fmt::Debug for CourtDecryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CourtDecryptionKey(<redacted>)")
    }
}
