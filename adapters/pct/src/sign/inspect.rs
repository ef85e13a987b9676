//! Reads the structure of a DER `SignedData` with RustCrypto's `cms` crate,
//! independently of OpenSSL: the signed attributes (to find ESS
//! signing-certificate-v2 and signingTime), the signer certificates and
//! whether revocation data is embedded. OpenSSL checks the cryptography; this
//! module checks what the PCT profile requires and OpenSSL does not expose.

use std::time::SystemTime;

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::OctetString;
use der::{Decode, Encode};
use openssl::hash::MessageDigest;
use x509_cert::Certificate;
use x509_cert::time::Time;

use super::asn1::{
    ID_SHA256, ID_SHA384, ID_SHA512, ID_SIGNED_DATA, ID_SIGNING_CERTIFICATE_V2, ID_SIGNING_TIME,
    ID_SUBJECT_KEY_IDENTIFIER, SigningCertificateV2,
};

/// What the PCT profile needs to know about a SignedData.
pub(crate) struct SignedDataFacts {
    /// Whether the `crls` field (CRLs or other revocation info) is present.
    pub revocation_data: bool,
    /// One entry per SignerInfo.
    pub signers: Vec<SignerFacts>,
}

/// What the PCT profile needs to know about one signer.
pub(crate) struct SignerFacts {
    /// The signer certificate's subject (RFC 4514), if the certificate is
    /// inside the SignedData.
    pub certificate: Option<SignerCertFacts>,
    /// The signingTime attribute, if present.
    pub signing_time: Option<SystemTime>,
    /// State of the ESS signing-certificate-v2 attribute.
    pub ess: EssState,
}

/// The signer certificate found for a SignerInfo.
pub(crate) struct SignerCertFacts {
    pub subject: String,
    pub der: Vec<u8>,
}

/// The ESS signing-certificate-v2 attribute of one signer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EssState {
    /// Absent from the signed attributes.
    Missing,
    /// Present, but its first ESSCertIDv2 does not hash to the signer
    /// certificate (or the certificate is not embedded, or the hash is not
    /// SHA-2).
    Mismatch,
    /// Present and bound to the embedded signer certificate.
    Bound,
}

/// Why the structure could not be read.
#[derive(Debug)]
pub(crate) struct Malformed;

/// Reads a DER ContentInfo that must hold a SignedData.
pub(crate) fn inspect(der_bytes: &[u8]) -> Result<SignedDataFacts, Malformed> {
    let info = ContentInfo::from_der(der_bytes).map_err(|_| Malformed)?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(Malformed);
    }
    let signed: SignedData = info.content.decode_as().map_err(|_| Malformed)?;
    let certs: Vec<&Certificate> = signed
        .certificates
        .as_ref()
        .map(|set| {
            set.0
                .iter()
                .filter_map(|choice| match choice {
                    CertificateChoices::Certificate(cert) => Some(cert),
                    CertificateChoices::Other(_) => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let signers = signed
        .signer_infos
        .0
        .iter()
        .map(|si| signer_facts(si, &certs))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SignedDataFacts {
        revocation_data: signed.crls.is_some(),
        signers,
    })
}

fn signer_facts(si: &SignerInfo, certs: &[&Certificate]) -> Result<SignerFacts, Malformed> {
    let cert = certs.iter().copied().find(|cert| matches(&si.sid, cert));
    let certificate = match cert {
        Some(cert) => Some(SignerCertFacts {
            subject: cert.tbs_certificate.subject.to_string(),
            der: cert.to_der().map_err(|_| Malformed)?,
        }),
        None => None,
    };
    let mut signing_time = None;
    let mut ess = EssState::Missing;
    for attr in si.signed_attrs.iter().flat_map(|attrs| attrs.iter()) {
        let Some(value) = attr.values.iter().next() else {
            return Err(Malformed);
        };
        if attr.oid == ID_SIGNING_TIME {
            let time =
                Time::from_der(&value.to_der().map_err(|_| Malformed)?).map_err(|_| Malformed)?;
            signing_time = Some(time.to_system_time());
        } else if attr.oid == ID_SIGNING_CERTIFICATE_V2 {
            let v2 = SigningCertificateV2::from_der(&value.to_der().map_err(|_| Malformed)?)
                .map_err(|_| Malformed)?;
            ess = ess_state(&v2, certificate.as_ref());
        }
    }
    Ok(SignerFacts {
        certificate,
        signing_time,
        ess,
    })
}

/// RFC 5035 §3: the first ESSCertIDv2 identifies the signer's certificate.
fn ess_state(v2: &SigningCertificateV2, cert: Option<&SignerCertFacts>) -> EssState {
    let (Some(first), Some(cert)) = (v2.certs.first(), cert) else {
        return EssState::Mismatch;
    };
    let oid = first
        .hash_algorithm
        .as_ref()
        .map_or(ID_SHA256, |alg| alg.oid);
    let md = if oid == ID_SHA256 {
        MessageDigest::sha256()
    } else if oid == ID_SHA384 {
        MessageDigest::sha384()
    } else if oid == ID_SHA512 {
        MessageDigest::sha512()
    } else {
        return EssState::Mismatch;
    };
    match openssl::hash::hash(md, &cert.der) {
        Ok(digest) if digest.as_ref() == first.cert_hash.as_bytes() => EssState::Bound,
        _ => EssState::Mismatch,
    }
}

fn matches(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            ias.issuer == cert.tbs_certificate.issuer
                && ias.serial_number == cert.tbs_certificate.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => cert
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .filter(|ext| ext.extn_id == ID_SUBJECT_KEY_IDENTIFIER)
            .filter_map(|ext| OctetString::from_der(ext.extn_value.as_bytes()).ok())
            .any(|value| value.as_bytes() == ski.0.as_bytes()),
    }
}
