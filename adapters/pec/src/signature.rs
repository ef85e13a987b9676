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
//! [`verify_provider_signature`] checks one raw message against them: the
//! MIME structure is read with mail-parser, the signature with OpenSSL
//! (`PKCS7_verify`: the signed content's digest, the signature, and the
//! signer's chain to a trusted CA with the S/MIME signing purpose, at the
//! current time). Revocation is checked against the CRLs given with the
//! trust anchors ([`ProviderTrust::from_files`]); nothing is fetched.

use std::path::Path;

use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders as _, PartType};
use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
use openssl::ssl::SslFiletype;
use openssl::stack::Stack;
use openssl::x509::X509;
use openssl::x509::store::{X509Lookup, X509Store, X509StoreBuilder};
use openssl::x509::verify::X509VerifyFlags;
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
    /// The CRL file cannot be loaded.
    #[error("CRLs {path}: {reason}")]
    Crl {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

fn read(path: &Path) -> Result<Vec<u8>, TrustError> {
    std::fs::read(path).map_err(|source| TrustError::Read {
        path: path.display().to_string(),
        source,
    })
}

impl ProviderTrust {
    /// Trusts every certificate of a PEM bundle.
    pub fn from_pem(pem: &[u8]) -> Result<Self, TrustError> {
        Self::build(pem, None)
    }

    /// Trusts every certificate of the PEM file at `path`.
    pub fn from_file(path: &Path) -> Result<Self, TrustError> {
        Self::build(&read(path)?, None)
    }

    /// Trusts every certificate of the PEM file `cas`, and checks signers
    /// against the CRLs of the PEM file `crls`. With CRLs, every CA below
    /// the trust anchors must have a current one: a signer whose CRL is
    /// missing or past its next update does not verify (fail closed).
    pub fn from_files(cas: &Path, crls: Option<&Path>) -> Result<Self, TrustError> {
        Self::build(&read(cas)?, crls)
    }

    fn build(pem: &[u8], crls: Option<&Path>) -> Result<Self, TrustError> {
        let pem_error = |e: openssl::error::ErrorStack| TrustError::Pem(reasons(&e));
        let certs = X509::stack_from_pem(pem).map_err(pem_error)?;
        if certs.is_empty() {
            return Err(TrustError::Empty);
        }
        let mut builder = X509StoreBuilder::new().map_err(pem_error)?;
        for cert in &certs {
            builder.add_cert(cert.clone()).map_err(pem_error)?;
        }
        if let Some(path) = crls {
            // `load_crl_file` takes the path as UTF-8.
            let utf8 = path.to_str().ok_or_else(|| TrustError::Crl {
                path: path.display().to_string(),
                reason: "the path is not UTF-8".to_owned(),
            })?;
            let crl_error = |e: openssl::error::ErrorStack| TrustError::Crl {
                path: utf8.to_owned(),
                reason: reasons(&e),
            };
            builder
                .add_lookup(X509Lookup::file())
                .map_err(crl_error)?
                .load_crl_file(utf8, SslFiletype::PEM)
                .map_err(crl_error)?;
            builder
                .set_flags(X509VerifyFlags::CRL_CHECK | X509VerifyFlags::CRL_CHECK_ALL)
                .map_err(crl_error)?;
        }
        Ok(Self {
            store: builder.build(),
            count: certs.len(),
        })
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
    let message = MessageParser::new()
        .parse(raw)
        .ok_or(SignatureError::Missing)?;
    verify_parsed(&message, raw, trust)
}

/// [`verify_provider_signature`] on a message already parsed from `raw`
/// (the box's reader parses each message once, see
/// [`crate::parse::read_message`]).
pub(crate) fn verify_parsed(
    message: &Message<'_>,
    raw: &[u8],
    trust: &ProviderTrust,
) -> Result<ProviderSigner, SignatureError> {
    let (content, signature) = signed_parts(message, raw)?;
    let pkcs7 = Pkcs7::from_der(&signature).map_err(|e| SignatureError::Malformed(reasons(&e)))?;
    let no_extra_certs =
        Stack::<X509>::new().map_err(|e| SignatureError::Malformed(reasons(&e)))?;
    // BINARY: the signed part is compared byte for byte, as read (mail
    // read over IMAP is already in canonical CRLF form).
    pkcs7
        .verify(
            &no_extra_certs,
            &trust.store,
            Some(content),
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

/// The signed part, byte for byte as it travels (from its first header to
/// the CRLF before the next delimiter, which belongs to the delimiter: RFC
/// 1847), and the decoded `smime.p7s`.
///
/// The MIME structure is read by mail-parser, whose part offsets give the
/// exact bytes; OpenSSL's own S/MIME reader (`SMIME_read_PKCS7`) would do
/// the same but reads line by line through BIOs, about 20 MB/s here (0.4 ms
/// for an 8 KB receipt, several ms for a complete RdAC). Should the offsets
/// ever be off, the digest does not match and the message is refused:
/// this can fail closed, never open.
fn signed_parts<'r>(
    message: &Message<'_>,
    raw: &'r [u8],
) -> Result<(&'r [u8], Vec<u8>), SignatureError> {
    let malformed = |why: &str| SignatureError::Malformed(why.to_owned());
    let root = message.root_part();
    if !is_type(root, "multipart", &["signed"]) {
        return Err(SignatureError::Missing);
    }
    let PartType::Multipart(children) = &root.body else {
        return Err(malformed("multipart/signed without parts"));
    };
    let (Some(content), Some(signature)) = (
        children.first().and_then(|&id| message.part(id)),
        children.get(1).and_then(|&id| message.part(id)),
    ) else {
        return Err(malformed("multipart/signed without its two parts"));
    };
    if !is_type(
        signature,
        "application",
        &["pkcs7-signature", "x-pkcs7-signature"],
    ) {
        return Err(malformed(
            "the second part is not application/pkcs7-signature",
        ));
    }
    let signed = raw
        .get(content.offset_header as usize..content.offset_end as usize)
        .ok_or_else(|| malformed("the signed part lies outside the message"))?;
    Ok((signed, signature.contents().to_vec()))
}

fn is_type(part: &MessagePart<'_>, ctype: &str, subtypes: &[&str]) -> bool {
    part.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case(ctype)
            && ct
                .subtype()
                .is_some_and(|s| subtypes.iter().any(|t| s.eq_ignore_ascii_case(t)))
    })
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
