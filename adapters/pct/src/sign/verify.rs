//! Verification of a CAdES-BES `.p7m` against the PCT profile.

use std::time::SystemTime;

use openssl::cms::{CMSOptions, CmsContentInfo};

use super::inspect::{self, EssState};
use super::material::{SignerCert, TrustAnchors};

/// A `.p7m` whose signatures verified.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifiedSignature {
    /// The signed content (the document inside the `.p7m`).
    pub content: Vec<u8>,
    /// Every signer (PCT allows parallel signatures), in SignerInfo order.
    pub signers: Vec<VerifiedSigner>,
}

/// One signer of a verified `.p7m`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifiedSigner {
    /// The signer certificate's subject, RFC 4514 form (`CN=…,O=…,C=IT`).
    pub subject: String,
    /// The signingTime signed attribute, if present.
    pub signing_time: Option<SystemTime>,
    /// The signer certificate.
    pub certificate: SignerCert,
}

/// Why a `.p7m` does not verify. Each is the signer's (or the sender's)
/// fault, never the verifier's, except [`VerifyError::TrustStore`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The bytes are not a DER CMS SignedData.
    #[error("not a der cms signeddata")]
    Malformed,
    /// A signature, the content digest or the certificate chain does not
    /// check out against the trust anchors (tampered content, unknown CA,
    /// expired certificate, …).
    #[error("signature does not verify")]
    Invalid(#[source] openssl::error::ErrorStack),
    /// The SignedData has no SignerInfo.
    #[error("signeddata has no signer")]
    NoSigner,
    /// A signer's certificate is not embedded, which PCT requires.
    #[error("signer certificate is not embedded")]
    SignerCertificateMissing,
    /// A signer lacks the ESS signing-certificate-v2 signed attribute; the
    /// court reports such deposits as "firma non riconosciuta".
    #[error("signing-certificate-v2 attribute is missing")]
    SigningCertificateV2Missing,
    /// The signing-certificate-v2 attribute does not identify the embedded
    /// signer certificate.
    #[error("signing-certificate-v2 does not match the signer certificate")]
    SigningCertificateV2Mismatch,
    /// Revocation data (CRLs or other revocation info) is embedded, which the
    /// Specifiche tecniche forbid.
    #[error("revocation data is embedded")]
    RevocationDataEmbedded,
    /// The trust anchors could not be loaded into an OpenSSL store (internal
    /// fault).
    #[error("trust store cannot be built")]
    TrustStore(#[source] openssl::error::ErrorStack),
}

/// Verifies a DER CAdES-BES `.p7m` (attached content) against `trust` and
/// the PCT profile: every signature and certificate chain checks out (OpenSSL
/// `CMS_verify`, S/MIME signing purpose, current time), every signer
/// certificate is embedded and bound by ESS signing-certificate-v2, and no
/// revocation data is embedded. Revocation status itself is not checked.
pub fn verify_cades(p7m: &[u8], trust: &TrustAnchors) -> Result<VerifiedSignature, VerifyError> {
    let facts = inspect::inspect(p7m).map_err(|inspect::Malformed| VerifyError::Malformed)?;
    let mut cms = CmsContentInfo::from_der(p7m).map_err(|_| VerifyError::Malformed)?;
    let store = trust.store().map_err(VerifyError::TrustStore)?;
    let mut content = Vec::new();
    cms.verify(
        None,
        Some(&store),
        None,
        Some(&mut content),
        CMSOptions::BINARY,
    )
    .map_err(VerifyError::Invalid)?;

    if facts.signers.is_empty() {
        return Err(VerifyError::NoSigner);
    }
    if facts.revocation_data {
        return Err(VerifyError::RevocationDataEmbedded);
    }
    let signers = facts
        .signers
        .into_iter()
        .map(|signer| {
            let cert = signer
                .certificate
                .ok_or(VerifyError::SignerCertificateMissing)?;
            match signer.ess {
                EssState::Bound => {}
                EssState::Missing => return Err(VerifyError::SigningCertificateV2Missing),
                EssState::Mismatch => return Err(VerifyError::SigningCertificateV2Mismatch),
            }
            Ok(VerifiedSigner {
                subject: cert.subject,
                signing_time: signer.signing_time,
                certificate: SignerCert::from_der(&cert.der)
                    .map_err(|_| VerifyError::SignerCertificateMissing)?,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(VerifiedSignature { content, signers })
}

// === impl VerifyError ===

impl VerifyError {
    /// A bounded, stable code for logs, metrics and problem responses.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed => "p7m_malformed",
            Self::Invalid(_) => "signature_invalid",
            Self::NoSigner => "signature_no_signer",
            Self::SignerCertificateMissing => "signer_certificate_missing",
            Self::SigningCertificateV2Missing => "signing_certificate_v2_missing",
            Self::SigningCertificateV2Mismatch => "signing_certificate_v2_mismatch",
            Self::RevocationDataEmbedded => "revocation_data_embedded",
            Self::TrustStore(_) => "trust_store_invalid",
        }
    }
}
