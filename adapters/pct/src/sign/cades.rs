//! The CAdES-BES `SignedData` writer shared by every signing backend.
//!
//! A backend only supplies the private-key operation (RSA PKCS#1 v1.5 or
//! ECDSA over SHA-256 of the DER signed attributes); the structure is built
//! here, once, with RustCrypto's `cms` types.
//!
//! Why not OpenSSL's `CMS_sign` (`-cades`): OpenSSL 3.0 writes the
//! SignerInfo's signatureAlgorithm as `rsaEncryption`, while the PCT profile
//! names `sha256WithRSAEncryption`, and a token key (PKCS#11) cannot be
//! handed to it through the `openssl` crate anyway.

use std::time::{SystemTime, UNIX_EPOCH};

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedAttributes, SignedData, SignerIdentifier,
    SignerInfo, SignerInfos,
};
use der::asn1::{GeneralizedTime, OctetString, SetOfVec, UtcTime};
use der::{Any, Decode, Encode};
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_cert::time::Time;

use super::SignError;
use super::asn1::{
    ECDSA_WITH_SHA256, EssCertIdV2, ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SHA256,
    ID_SIGNED_DATA, ID_SIGNING_CERTIFICATE_V2, ID_SIGNING_TIME, IssuerSerial, SHA256_WITH_RSA,
    SigningCertificateV2,
};

/// The signature scheme of the signer's key, always over SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (`sha256WithRSAEncryption`).
    RsaPkcs1Sha256,
    /// ECDSA with SHA-256; the signature is a DER `Ecdsa-Sig-Value`.
    EcdsaSha256,
}

/// What a backend provides to the writer.
pub(crate) struct CadesSigner<'a> {
    /// The signer's certificate, DER.
    pub cert_der: &'a [u8],
    /// Intermediate certificates to embed, DER.
    pub chain: &'a [Vec<u8>],
    /// The key's signature scheme.
    pub scheme: Scheme,
}

/// Builds a DER CAdES-BES `ContentInfo`/`SignedData` with `content`
/// attached. `raw_sign` receives the DER of the signed attributes (the SET
/// OF, tag 0x31, as RFC 5652 §5.4 requires) and returns the signature value
/// for `scheme`: it hashes with SHA-256 itself.
pub(crate) fn sign_attached<F>(
    content: &[u8],
    signer: &CadesSigner<'_>,
    signing_time: SystemTime,
    raw_sign: F,
) -> Result<Vec<u8>, SignError>
where
    F: FnOnce(&[u8]) -> Result<Vec<u8>, SignError>,
{
    let cert = Certificate::from_der(signer.cert_der).map_err(SignError::Encoding)?;
    let issuer = cert.tbs_certificate.issuer.clone();
    let serial = cert.tbs_certificate.serial_number.clone();

    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            // DEFAULT id-sha256: DER leaves it out.
            hash_algorithm: None,
            cert_hash: OctetString::new(openssl::sha::sha256(signer.cert_der).to_vec())
                .map_err(SignError::Encoding)?,
            issuer_serial: Some(
                Any::encode_from(&IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(issuer.clone())],
                    serial_number: serial.clone(),
                })
                .map_err(SignError::Encoding)?,
            ),
        }],
        policies: None,
    };
    let digest =
        OctetString::new(openssl::sha::sha256(content).to_vec()).map_err(SignError::Encoding)?;
    let attrs = vec![
        attribute(ID_CONTENT_TYPE, &ID_DATA)?,
        attribute(ID_SIGNING_TIME, &signing_time_value(signing_time)?)?,
        attribute(ID_MESSAGE_DIGEST, &digest)?,
        attribute(ID_SIGNING_CERTIFICATE_V2, &ess)?,
    ];
    // try_from sorts into DER SET OF order.
    let signed_attrs: SignedAttributes = SetOfVec::try_from(attrs).map_err(SignError::Encoding)?;
    let to_be_signed = signed_attrs.to_der().map_err(SignError::Encoding)?;
    let signature = raw_sign(&to_be_signed)?;

    let sha256 = AlgorithmIdentifierOwned {
        oid: ID_SHA256,
        // RFC 5754 §2: parameters absent for SHA-2 digest identifiers.
        parameters: None,
    };
    let signature_algorithm = match signer.scheme {
        Scheme::RsaPkcs1Sha256 => AlgorithmIdentifierOwned {
            oid: SHA256_WITH_RSA,
            // RFC 4055 §5: NULL parameters.
            parameters: Some(Any::null()),
        },
        Scheme::EcdsaSha256 => AlgorithmIdentifierOwned {
            oid: ECDSA_WITH_SHA256,
            parameters: None,
        },
    };
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer,
            serial_number: serial,
        }),
        digest_alg: sha256.clone(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm,
        signature: OctetString::new(signature).map_err(SignError::Encoding)?,
        unsigned_attrs: None,
    };

    let mut certs = vec![CertificateChoices::Certificate(cert)];
    for der in signer.chain {
        let extra = Certificate::from_der(der).map_err(SignError::Encoding)?;
        certs.push(CertificateChoices::Certificate(extra));
    }
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![sha256]).map_err(SignError::Encoding)?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: Some(
                Any::encode_from(&OctetString::new(content).map_err(SignError::Encoding)?)
                    .map_err(SignError::Encoding)?,
            ),
        },
        certificates: Some(CertificateSet(
            SetOfVec::try_from(certs).map_err(SignError::Encoding)?,
        )),
        // CAdES-BES for PCT: revocation data must not be embedded.
        crls: None,
        signer_infos: SignerInfos(
            SetOfVec::try_from(vec![signer_info]).map_err(SignError::Encoding)?,
        ),
    };
    ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data).map_err(SignError::Encoding)?,
    }
    .to_der()
    .map_err(SignError::Encoding)
}

fn attribute<T: Encode>(
    oid: der::asn1::ObjectIdentifier,
    value: &T,
) -> Result<Attribute, SignError> {
    let der = value.to_der().map_err(SignError::Encoding)?;
    let value = Any::from_der(&der).map_err(SignError::Encoding)?;
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value]).map_err(SignError::Encoding)?,
    })
}

/// RFC 5652 §11.3: UTCTime for 1950–2049, GeneralizedTime otherwise; whole
/// seconds.
fn signing_time_value(now: SystemTime) -> Result<Time, SignError> {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let whole = std::time::Duration::from_secs(since_epoch.as_secs());
    match UtcTime::from_unix_duration(whole) {
        Ok(utc) => Ok(Time::UtcTime(utc)),
        Err(_) => GeneralizedTime::from_unix_duration(whole)
            .map(Time::GeneralTime)
            .map_err(SignError::Encoding),
    }
}
