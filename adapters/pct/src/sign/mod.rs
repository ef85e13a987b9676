//! CAdES-BES signatures for PCT documents (`DatiAtto.xml.p7m`, `<Atto>.pdf.p7m`).
//!
//! What it does: turns bytes into a DER CMS `SignedData` with the content
//! attached, as the Specifiche tecniche require (CAdES-BES, ETSI EN 319 122-1
//! B-B): digest SHA-256, signature `sha256WithRSAEncryption`, signed attributes
//! contentType, messageDigest, signingTime and ESS signing-certificate-v2
//! (RFC 5035), the signer's certificate embedded and **no** revocation data.
//! It also verifies such signatures ([`verify_cades`]) for the court side and
//! for inspection.
//!
//! What it does not do: no network I/O, no revocation checking (OCSP/CRL), no
//! PAdES, no timestamps (CAdES-T). Where keys come from (files, vault, HSM) is
//! the gateway's decision: constructors take bytes (or a `pkcs11:` URI), never
//! file paths.
//!
//! Place in the flow: `mappings` renders DatiAtto.xml and the PDF, a
//! [`Signer`] turns each into a `.p7m`, and `envelope` packs them into
//! `Atto.msg` / `Atto.enc`.
//!
//! Backends: [`FileSigner`] (key and certificate in software, from PEM, DER or
//! PKCS#12; the key operation in the system OpenSSL 3) and [`Pkcs11Signer`]
//! (the key stays on a smart card or HSM, named by a `pkcs11:` URI). Both
//! share one SignedData writer, so they differ only in where the private-key
//! operation happens.

mod asn1;
mod cades;
mod file;
mod inspect;
mod material;
mod pkcs11;
mod verify;

pub use file::FileSigner;
pub use material::{SignerCert, SigningKey, TrustAnchors};
pub use pkcs11::{Pkcs11Object, Pkcs11Signer, Pkcs11Uri, UriProblem};
pub use verify::{VerifiedSignature, VerifiedSigner, VerifyError, verify_cades};

/// Something that can produce a CAdES-BES signature.
///
/// Implementations must return a DER `ContentInfo` holding an attached
/// `SignedData` with SHA-256, `sha256WithRSAEncryption` (or ECDSA with
/// SHA-256), the signed attributes contentType, messageDigest, signingTime and
/// ESS signing-certificate-v2, the signer certificate, and no revocation data.
/// The result is what goes into a `.p7m` file.
pub trait Signer: Send + Sync {
    /// Signs `content` and returns the DER bytes of the `.p7m`.
    fn sign_cades(&self, content: &[u8]) -> Result<Vec<u8>, SignError>;
}

/// Why signing, or loading signing material, failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The private key bytes are neither a PEM nor a DER private key
    /// (configuration fault: the operator supplied a wrong file).
    #[error("signing key is not a readable private key")]
    InvalidKey(#[source] openssl::error::ErrorStack),
    /// The certificate bytes are neither a PEM nor a DER X.509 certificate
    /// (configuration fault).
    #[error("signer certificate is not a readable x.509 certificate")]
    InvalidCertificate(#[source] openssl::error::ErrorStack),
    /// The certificate file holds no certificate at all (configuration
    /// fault).
    #[error("signer certificate file holds no certificate")]
    NoCertificate,
    /// The PKCS#12 file cannot be parsed or the password is wrong
    /// (configuration fault).
    #[error("pkcs#12 bundle cannot be opened")]
    InvalidPkcs12(#[source] openssl::error::ErrorStack),
    /// The PKCS#12 file lacks the private key or the certificate
    /// (configuration fault).
    #[error("pkcs#12 bundle lacks the {0}")]
    Pkcs12Incomplete(Pkcs12Item),
    /// The private key does not belong to the certificate (configuration
    /// fault).
    #[error("signing key does not match the signer certificate")]
    KeyCertMismatch,
    /// The key type cannot make a PCT signature: only RSA and EC keys are
    /// accepted (configuration fault).
    #[error("signing key type is not supported, use rsa or ec")]
    UnsupportedKey,
    /// The `pkcs11:` URI is malformed or asks for something unsupported
    /// (configuration fault).
    #[error("pkcs#11 uri: {0}")]
    Pkcs11Uri(UriProblem),
    /// The `pkcs11:` URI has no `module-path` (configuration fault).
    #[error("pkcs#11 uri has no module-path")]
    Pkcs11ModuleMissing,
    /// No token, key or certificate matches the URI (configuration fault, or
    /// the card is not inserted).
    #[error("pkcs#11 {0} not found")]
    Pkcs11NotFound(Pkcs11Object),
    /// More than one token or key matches the URI (configuration fault: make
    /// the URI more specific).
    #[error("more than one pkcs#11 {0} matches")]
    Pkcs11Ambiguous(Pkcs11Object),
    /// Logging in to the token failed: wrong or locked PIN (operator fault).
    #[error("pkcs#11 login failed")]
    Pkcs11Login(#[source] cryptoki::error::Error),
    /// The PKCS#11 module or token failed (module not loadable, card
    /// removed, mechanism refused, …).
    #[error("pkcs#11 operation failed")]
    Pkcs11(#[source] cryptoki::error::Error),
    /// The private-key operation failed in OpenSSL (internal fault).
    #[error("signature operation failed")]
    Crypto(#[source] openssl::error::ErrorStack),
    /// A certificate could not be read as DER, or the SignedData could not be
    /// encoded (internal fault, or a certificate OpenSSL accepts but a strict
    /// DER reader does not).
    #[error("cms encoding failed")]
    Encoding(#[source] der::Error),
}

/// The item a PKCS#12 bundle was expected to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pkcs12Item {
    /// The private key.
    PrivateKey,
    /// The end-entity certificate.
    Certificate,
}

// === impl SignError ===

impl SignError {
    /// A bounded, stable code for logs, metrics and problem responses.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidKey(_) => "signing_key_invalid",
            Self::InvalidCertificate(_) => "signer_certificate_invalid",
            Self::NoCertificate => "signer_certificate_missing",
            Self::InvalidPkcs12(_) => "pkcs12_invalid",
            Self::Pkcs12Incomplete(_) => "pkcs12_incomplete",
            Self::KeyCertMismatch => "signing_key_mismatch",
            Self::UnsupportedKey => "signing_key_unsupported",
            Self::Pkcs11Uri(_) => "pkcs11_uri_invalid",
            Self::Pkcs11ModuleMissing => "pkcs11_module_missing",
            Self::Pkcs11NotFound(_) => "pkcs11_not_found",
            Self::Pkcs11Ambiguous(_) => "pkcs11_ambiguous",
            Self::Pkcs11Login(_) => "pkcs11_login_failed",
            Self::Pkcs11(_) => "pkcs11_failed",
            Self::Crypto(_) => "signature_failed",
            Self::Encoding(_) => "cms_encoding_failed",
        }
    }

    /// Whether trying again with the same signer may help. Software signing
    /// fails the same way every time. A token failure (card removed, session
    /// closed) needs a new [`Pkcs11Signer`], not a retry of this one, so it
    /// is not retriable either; the gateway decides whether to reopen.
    pub fn is_retriable(&self) -> bool {
        match self {
            Self::Pkcs11Uri(_)
            | Self::Pkcs11ModuleMissing
            | Self::Pkcs11NotFound(_)
            | Self::Pkcs11Ambiguous(_)
            | Self::Pkcs11Login(_)
            | Self::Pkcs11(_) => false,
            Self::InvalidKey(_)
            | Self::InvalidCertificate(_)
            | Self::NoCertificate
            | Self::InvalidPkcs12(_)
            | Self::Pkcs12Incomplete(_)
            | Self::KeyCertMismatch
            | Self::UnsupportedKey
            | Self::Crypto(_)
            | Self::Encoding(_) => false,
        }
    }
}

// === impl Pkcs12Item ===

impl std::fmt::Display for Pkcs12Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::PrivateKey => "private key",
            Self::Certificate => "certificate",
        })
    }
}
