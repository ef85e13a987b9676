//! The provider's S/MIME signature: messages signed here with OpenSSL by a
//! test "PEC provider" certificate, then verified, tampered with, signed by
//! a stranger, left unsigned; and the public samples, whose signatures are
//! placeholders.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
use openssl::pkey::PKey;
use openssl::stack::Stack;
use openssl::x509::X509;
use ponte_pec::signature::{ProviderTrust, SignatureError, verify_provider_signature};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

/// A CA and one S/MIME signing certificate it issued.
struct Provider {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

fn provider(name: &str, not_after: OffsetDateTime) -> Provider {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::default();
    ca.distinguished_name = dn(&format!("{name} CA"));
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::from_ca_cert_pem(&ca_cert.pem(), &ca_key).unwrap();

    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::default();
    leaf.distinguished_name = dn(&format!("{name} firma ricevute"));
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
    ];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::EmailProtection];
    leaf.not_before = OffsetDateTime::now_utc() - Duration::days(30);
    leaf.not_after = not_after;
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    Provider {
        ca_pem: ca_cert.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

fn dn(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "IT");
    dn.push(DnType::OrganizationName, "Gestore PEC di prova S.p.A.");
    dn.push(DnType::CommonName, common_name);
    dn
}

fn valid_provider() -> Provider {
    provider(
        "Gestore di prova",
        OffsetDateTime::now_utc() + Duration::days(365),
    )
}

const SIGNED_START: &[u8] = b"------SIGNED0001\r\n";
const SIGNED_NEXT: &[u8] = b"\r\n------SIGNED0001\r\n";

/// Replaces the placeholder `smime.p7s` of a `common::provider_message` by a
/// real detached signature over its `multipart/mixed` part.
fn sign(unsigned: &[u8], by: &Provider) -> Vec<u8> {
    let start = find(unsigned, SIGNED_START) + SIGNED_START.len();
    let end = start + find(&unsigned[start..], SIGNED_NEXT);
    let content = &unsigned[start..end];
    let cert = X509::from_pem(by.cert_pem.as_bytes()).unwrap();
    let key = PKey::private_key_from_pem(by.key_pem.as_bytes()).unwrap();
    let p7 = Pkcs7::sign(
        &cert,
        &key,
        &Stack::new().unwrap(),
        content,
        Pkcs7Flags::DETACHED | Pkcs7Flags::BINARY,
    )
    .unwrap();
    let der = p7.to_der().unwrap();
    let mut out = unsigned[..end].to_vec();
    out.extend_from_slice(
        b"\r\n------SIGNED0001\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n",
    );
    out.extend_from_slice(common::b64(&der).as_bytes());
    out.extend_from_slice(b"\r\n------SIGNED0001--\r\n");
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("marker present")
}

fn rda() -> Vec<u8> {
    common::receipt(
        "accettazione",
        "deposito-1@ponte.test",
        "opec1.20250304102031.1.1.1.1@pec.ponte.test",
        "DEPOSITO RICORSO",
        None,
    )
}

fn trust(p: &Provider) -> ProviderTrust {
    ProviderTrust::from_pem(p.ca_pem.as_bytes()).unwrap()
}

#[test]
fn a_receipt_signed_by_a_trusted_provider_verifies_and_names_its_signer() {
    let p = valid_provider();
    let signed = sign(&rda(), &p);
    let signer = verify_provider_signature(&signed, &trust(&p)).unwrap();
    assert!(
        signer
            .subject
            .contains("CN=Gestore di prova firma ricevute"),
        "{}",
        signer.subject
    );
    let der = X509::from_pem(p.cert_pem.as_bytes())
        .unwrap()
        .to_der()
        .unwrap();
    assert_eq!(signer.fingerprint, hex::encode(Sha256::digest(der)));
    // The message still parses as the receipt it is.
    assert!(matches!(
        ponte_pec::parse_message(&signed).unwrap(),
        ponte_pec::ParsedMessage::Receipt(_)
    ));
}

#[test]
fn a_court_envelope_with_the_original_inside_verifies() {
    let p = valid_provider();
    let inner = common::court_inner(
        "Esito controlli",
        "Esito dei controlli automatici",
        "EsitoAtto.xml",
        "<EsitoAtto/>",
    );
    let envelope = common::court_envelope("Esito controlli", &inner);
    let signed = sign(&envelope, &p);
    verify_provider_signature(&signed, &trust(&p)).unwrap();
}

#[test]
fn one_byte_changed_after_signing_is_invalid() {
    let p = valid_provider();
    let signed = sign(&rda(), &p);
    // The human-readable text says accettazione; make it say something else.
    let at = find(&signed, b"Ricevuta di accettazione");
    let mut tampered = signed.clone();
    tampered[at] = b'r';
    let err = verify_provider_signature(&tampered, &trust(&p)).unwrap_err();
    assert!(matches!(err, SignatureError::Invalid(_)), "{err:?}");
    assert_eq!(err.code(), "provider_signature_invalid");

    // Swapping in another receipt's content under the same signature too.
    let other = sign(
        &common::receipt(
            "avvenuta-consegna",
            "deposito-1@ponte.test",
            "opec1.20250304102031.1.1.1.1@pec.ponte.test",
            "DEPOSITO RICORSO",
            None,
        ),
        &p,
    );
    let sig_at = find(&signed, b"name=\"smime.p7s\"");
    let other_sig_at = find(&other, b"name=\"smime.p7s\"");
    let mut swapped = signed[..sig_at].to_vec();
    swapped.extend_from_slice(&other[other_sig_at..]);
    let err = verify_provider_signature(&swapped, &trust(&p)).unwrap_err();
    assert!(matches!(err, SignatureError::Invalid(_)), "{err:?}");
}

#[test]
fn a_signer_from_an_untrusted_ca_is_refused() {
    let trusted = valid_provider();
    let stranger = provider(
        "Falso gestore",
        OffsetDateTime::now_utc() + Duration::days(365),
    );
    let signed = sign(&rda(), &stranger);
    let err = verify_provider_signature(&signed, &trust(&trusted)).unwrap_err();
    assert!(matches!(err, SignatureError::Untrusted(_)), "{err:?}");
    assert_eq!(err.code(), "provider_signer_untrusted");
    // The same message verifies for whoever trusts that CA.
    verify_provider_signature(&signed, &trust(&stranger)).unwrap();
}

#[test]
fn an_expired_signing_certificate_is_refused() {
    let p = provider(
        "Gestore scaduto",
        OffsetDateTime::now_utc() - Duration::days(1),
    );
    let signed = sign(&rda(), &p);
    let err = verify_provider_signature(&signed, &trust(&p)).unwrap_err();
    assert!(matches!(err, SignatureError::Untrusted(_)), "{err:?}");
}

#[test]
fn unsigned_and_placeholder_signatures_are_refused_with_their_own_codes() {
    let p = valid_provider();
    // The builders' placeholder p7s: multipart/signed, not a signature.
    let err = verify_provider_signature(&rda(), &trust(&p)).unwrap_err();
    assert_eq!(err.code(), "provider_signature_malformed", "{err:?}");
    // A plain message.
    let plain = b"From: a@b.test\r\nTo: c@d.test\r\nSubject: ciao\r\n\r\nciao\r\n";
    let err = verify_provider_signature(plain, &trust(&p)).unwrap_err();
    assert_eq!(err, SignatureError::Missing);
    assert_eq!(err.code(), "provider_signature_missing");
    // Not even a message.
    for junk in [
        &b""[..],
        b"\xff\xfe\x00garbage",
        b"Content-Type: multipart/signed\r\n\r\n",
    ] {
        let err = verify_provider_signature(junk, &trust(&p)).unwrap_err();
        assert!(
            matches!(err, SignatureError::Missing | SignatureError::Malformed(_)),
            "{err:?}"
        );
    }
}

#[test]
fn the_public_samples_placeholder_signatures_never_verify() {
    let p = valid_provider();
    let dir = common::samples().join("eml");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let raw = std::fs::read(&path).unwrap();
        let err = verify_provider_signature(&raw, &trust(&p)).unwrap_err();
        assert!(
            matches!(err, SignatureError::Malformed(_)),
            "{}: {err:?}",
            path.display()
        );
        seen += 1;
    }
    assert_eq!(seen, 4);
}

#[test]
fn trust_anchors_must_be_pem_certificates() {
    assert!(ProviderTrust::from_pem(b"").is_err());
    assert!(ProviderTrust::from_pem(b"not pem").is_err());
    let p = valid_provider();
    let both = format!("{}{}", p.ca_pem, valid_provider().ca_pem);
    assert_eq!(ProviderTrust::from_pem(both.as_bytes()).unwrap().len(), 2);
    let err = ProviderTrust::from_file(std::path::Path::new("/nonexistent/ca.pem")).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/ca.pem"));
}

#[test]
fn with_crls_a_revoked_signer_is_refused_and_the_others_verify() {
    use rcgen::{
        CertificateRevocationListParams, KeyIdMethod, RevocationReason, RevokedCertParams,
        SerialNumber,
    };
    let dir = tempfile::tempdir().unwrap();
    // One CA, two signing certificates (serials 1 and 2); the CRL revokes 2.
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::default();
    ca.distinguished_name = dn("Gestore con CRL CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::from_ca_cert_pem(&ca_cert.pem(), &ca_key).unwrap();
    let signer = |serial: u64| {
        let key = KeyPair::generate().unwrap();
        let mut leaf = CertificateParams::default();
        leaf.distinguished_name = dn(&format!("firma {serial}"));
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::EmailProtection];
        leaf.serial_number = Some(SerialNumber::from(serial));
        Provider {
            ca_pem: ca_cert.pem(),
            cert_pem: leaf.signed_by(&key, &issuer).unwrap().pem(),
            key_pem: key.serialize_pem(),
        }
    };
    let (good, revoked) = (signer(1), signer(2));
    let now = OffsetDateTime::now_utc();
    let crl = CertificateRevocationListParams {
        this_update: now - Duration::minutes(5),
        next_update: now + Duration::days(7),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from(2u64),
            revocation_time: now - Duration::minutes(1),
            reason_code: Some(RevocationReason::KeyCompromise),
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&issuer)
    .unwrap();
    let (cas, crls) = (dir.path().join("cas.pem"), dir.path().join("crls.pem"));
    std::fs::write(&cas, ca_cert.pem()).unwrap();
    std::fs::write(&crls, crl.pem().unwrap()).unwrap();

    let trust = ProviderTrust::from_files(&cas, Some(&crls)).unwrap();
    verify_provider_signature(&sign(&rda(), &good), &trust).unwrap();
    let err = verify_provider_signature(&sign(&rda(), &revoked), &trust).unwrap_err();
    assert!(matches!(err, SignatureError::Untrusted(_)), "{err:?}");
    // Without the CRL the revoked certificate would pass: the check is real.
    let no_crl = ProviderTrust::from_files(&cas, None).unwrap();
    verify_provider_signature(&sign(&rda(), &revoked), &no_crl).unwrap();
    // A CRL file that is not one is refused when the trust is built.
    std::fs::write(&crls, "not a CRL").unwrap();
    assert!(matches!(
        ProviderTrust::from_files(&cas, Some(&crls)),
        Err(ponte_pec::TrustError::Crl { .. })
    ));
}
