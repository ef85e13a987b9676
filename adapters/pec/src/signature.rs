//! The PEC provider's signature on what arrives in the box.
//!
//! Every message a PEC provider generates (receipts, notices, the transport
//! envelope that carries the court's messages) is S/MIME signed by that
//! provider: `multipart/signed` with a detached `smime.p7s` over the whole
//! `multipart/mixed` part (`../shared/pec/README.md` §2). The receipt is what
//! proves a deposit was made and when, so a message whose signature does
//! not verify against a trusted provider must not move a deposit: anyone
//! who can drop a message in the box could otherwise forge a court's
//! acceptance.
//!
//! [`ProviderTrust`] holds the CAs of the accredited PEC providers (in
//! production, the certificates of AgID's list of PEC providers);
//! [`verify_provider_signature`] checks one raw message against them with
//! OpenSSL (`SMIME_read_PKCS7`, `PKCS7_verify`: the signed content's
//! digest, the signature, and the signer's chain to a trusted CA with the
//! S/MIME signing purpose, at the current time). Revocation is not checked:
//! the providers' CRLs are not fetched.

use std::path::Path;

use mail_parser::{MessageParser, MimeHeaders as _};
use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
use openssl::stack::Stack;
use openssl::x509::X509;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use sha2::{Digest, Sha256};

/// The trusted CAs of PEC providers' signing certificates.
pub struct ProviderTrust {
    store: X509Store,
    count: usize,
}

impl std::fmt::Debug for ProviderTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderTrust")
            .field("certificates", &self.count)
            .finish()
    }
}

/// Why trust anchors could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not PEM certificates.
    #[error("not PEM certificates: {0}")]
    Pem(String),
    /// No certificate at all.
    #[error("no certificate found")]
    Empty,
}

impl ProviderTrust {
    /// Trusts every certificate of a PEM bundle.
    pub fn from_pem(pem: &[u8]) -> Result<Self, TrustError> {
        let certs = X509::stack_from_pem(pem).map_err(|e| TrustError::Pem(e.to_string()))?;
        if certs.is_empty() {
            return Err(TrustError::Empty);
        }
        let mut builder = X509StoreBuilder::new().map_err(|e| TrustError::Pem(e.to_string()))?;
        for cert in &certs {
            builder
                .add_cert(cert.clone())
                .map_err(|e| TrustError::Pem(e.to_string()))?;
        }
        Ok(Self {
            store: builder.build(),
            count: certs.len(),
        })
    }

    /// Trusts every certificate of the PEM file at `path`.
    pub fn from_file(path: &Path) -> Result<Self, TrustError> {
        let pem = std::fs::read(path).map_err(|source| TrustError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_pem(&pem)
    }

    /// How many certificates are trusted.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether nothing is trusted (never, once built).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// Who signed a message whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderSigner {
    /// The signing certificate's subject, one line (`CN=…, O=…`).
    pub subject: String,
    /// SHA-256 of the signing certificate (DER), lowercase hex.
    pub fingerprint: String,
}

/// Why a message's provider signature is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The message is not `multipart/signed`.
    #[error("the message is not S/MIME signed (multipart/signed)")]
    Missing,
    /// `multipart/signed`, but its structure or its `smime.p7s` cannot be
    /// read as a PKCS#7 signature.
    #[error("the S/MIME signature cannot be read: {0}")]
    Malformed(String),
    /// The signature does not match the signed content (altered after
    /// signing), or is not a valid signature.
    #[error("the signature does not verify: {0}")]
    Invalid(String),
    /// The signature is intact, but its certificate does not chain to a
    /// trusted PEC provider CA (or is expired, or not for S/MIME signing).
    #[error("the signer is not a trusted PEC provider: {0}")]
    Untrusted(String),
}

impl SignatureError {
    /// A bounded snake_case code for logs, metrics and quarantine.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "provider_signature_missing",
            Self::Malformed(_) => "provider_signature_malformed",
            Self::Invalid(_) => "provider_signature_invalid",
            Self::Untrusted(_) => "provider_signer_untrusted",
        }
    }
}

/// Verifies the provider's S/MIME signature on a raw message (as read from
/// the box, CRLF line ends) against `trust`.
pub fn verify_provider_signature(
    raw: &[u8],
    trust: &ProviderTrust,
) -> Result<ProviderSigner, SignatureError> {
    if !is_multipart_signed(raw) {
        return Err(SignatureError::Missing);
    }
    let (pkcs7, content) =
        Pkcs7::from_smime(raw).map_err(|e| SignatureError::Malformed(reasons(&e)))?;
    // A multipart/signed always carries its content apart; without it there
    // is nothing the signature could be about.
    let content = content.ok_or_else(|| {
        SignatureError::Malformed("multipart/signed without a signed part".to_owned())
    })?;
    let no_extra_certs =
        Stack::<X509>::new().map_err(|e| SignatureError::Malformed(reasons(&e)))?;
    // BINARY: the signed part is compared byte for byte, as read (mail
    // read over IMAP is already in canonical CRLF form).
    pkcs7
        .verify(
            &no_extra_certs,
            &trust.store,
            Some(&content),
            None,
            Pkcs7Flags::BINARY,
        )
        .map_err(|e| {
            let why = reasons(&e);
            if why.contains("certificate verify error") {
                SignatureError::Untrusted(why)
            } else {
                SignatureError::Invalid(why)
            }
        })?;
    let signers = pkcs7
        .signers(&no_extra_certs, Pkcs7Flags::empty())
        .map_err(|e| SignatureError::Malformed(reasons(&e)))?;
    let cert = signers
        .iter()
        .next()
        .ok_or_else(|| SignatureError::Malformed("no signer certificate".to_owned()))?;
    let der = cert
        .to_der()
        .map_err(|e| SignatureError::Malformed(reasons(&e)))?;
    Ok(ProviderSigner {
        subject: one_line(cert.subject_name()),
        fingerprint: hex::encode(Sha256::digest(&der)),
    })
}

/// Whether the top-level Content-Type is `multipart/signed` (headers only).
fn is_multipart_signed(raw: &[u8]) -> bool {
    MessageParser::new()
        .parse_headers(raw)
        .and_then(|m| {
            m.content_type().map(|ct| {
                ct.ctype().eq_ignore_ascii_case("multipart")
                    && ct
                        .subtype()
                        .is_some_and(|s| s.eq_ignore_ascii_case("signed"))
            })
        })
        .unwrap_or(false)
}

/// OpenSSL's reasons, without file names and line numbers.
fn reasons(errors: &openssl::error::ErrorStack) -> String {
    let all: Vec<String> = errors
        .errors()
        .iter()
        .map(|e| e.reason().unwrap_or("unknown").to_owned())
        .collect();
    if all.is_empty() {
        "unknown".to_owned()
    } else {
        all.join("; ")
    }
}

fn one_line(name: &openssl::x509::X509NameRef) -> String {
    name.entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let value = e.data().to_string().unwrap_or_default();
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}
