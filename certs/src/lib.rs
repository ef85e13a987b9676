//! Development PKI for Ponte.
//!
//! `ponte certs dev` and the first `ponte serve` in development mode call
//! [`generate`] to create, in one folder, everything a developer needs to run
//! the gateway and talk to it over mutual TLS:
//!
//! | file | what |
//! |---|---|
//! | `ca.pem`, `ca.key` | the development root CA (ECDSA P-256); issues every certificate below |
//! | `ca.crl.pem` | an empty CRL signed by the CA, so revocation checking is on from day one |
//! | `server.pem`, `server.key` | the gateway's TLS server certificate (`localhost`, `127.0.0.1`, `::1`) |
//! | `client-<agency>.pem`, `client-<agency>.key` | one client certificate per sample agency ([`SAMPLE_AGENCIES`]) |
//! | `court-encryption.pem`, `court-encryption.key` | RSA-2048 pair standing for a court's "certificato di cifratura" |
//! | `signer.pem`, `signer.key` | RSA-2048 pair for CAdES signatures of filings |
//! | `log-key.pem` | Ed25519 key (PKCS#8) that signs evidence-log checkpoints and receipts |
//!
//! TLS keys are ECDSA P-256 because handshakes are the gateway's hot path and
//! P-256 signs an order of magnitude faster than RSA-2048. The court and
//! signer keys are RSA because that is what PCT's CMS envelopes (RSA key
//! transport) and the courts' signature checks expect.
//!
//! What this crate does *not* do: it never runs in production mode (the
//! gateway refuses to call it there), and it never overwrites an existing
//! PKI unless told to. Keys are written with mode 0600 and are git-ignored.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevocationReason, RevokedCertParams, SerialNumber, SubjectPublicKeyInfo,
};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use time::{Duration, OffsetDateTime};

/// A sample agency for which the development PKI issues a client certificate.
#[derive(Debug, Clone, Copy)]
pub struct SampleAgency {
    /// Agency id, also the certificate's common name.
    pub id: &'static str,
    /// Human-readable name, the certificate's organisation.
    pub name: &'static str,
    /// The role the default configuration gives this agency.
    pub role: &'static str,
}

/// The agencies of the development configuration, one per role.
pub const SAMPLE_AGENCIES: [SampleAgency; 4] = [
    SampleAgency {
        id: "asl3-genovese",
        name: "ASL 3 Genovese (sviluppo)",
        role: "health-authority",
    },
    SampleAgency {
        id: "upp-genova",
        name: "Ufficio di Prossimita di Genova (sviluppo)",
        role: "office",
    },
    SampleAgency {
        id: "tribunale-genova",
        name: "Tribunale di Genova (sviluppo)",
        role: "court",
    },
    SampleAgency {
        id: "audit-liguria",
        name: "Regione Liguria - sicurezza (sviluppo)",
        role: "auditor",
    },
];

/// Errors while creating or loading development PKI material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written (the operator's environment).
    #[error("cannot access {path}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Certificate generation or parsing failed (a bug, or a corrupt CA file).
    #[error("certificate generation failed")]
    Rcgen(#[from] rcgen::Error),
    /// RSA key generation or encoding failed.
    #[error("rsa key generation failed")]
    Rsa(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The output folder already holds a PKI and overwriting was not asked for.
    #[error("{0} already holds a development PKI (use --force to replace it)")]
    AlreadyExists(PathBuf),
}

/// File names inside a development PKI folder.
pub mod files {
    /// Root CA certificate.
    pub const CA_CERT: &str = "ca.pem";
    /// Root CA private key.
    pub const CA_KEY: &str = "ca.key";
    /// CRL issued by the root CA.
    pub const CA_CRL: &str = "ca.crl.pem";
    /// Gateway TLS server certificate.
    pub const SERVER_CERT: &str = "server.pem";
    /// Gateway TLS server key.
    pub const SERVER_KEY: &str = "server.key";
    /// Court encryption certificate.
    pub const COURT_CERT: &str = "court-encryption.pem";
    /// Court encryption key.
    pub const COURT_KEY: &str = "court-encryption.key";
    /// Filing signer certificate.
    pub const SIGNER_CERT: &str = "signer.pem";
    /// Filing signer key.
    pub const SIGNER_KEY: &str = "signer.key";
    /// Evidence-log signing key.
    pub const LOG_KEY: &str = "log-key.pem";

    /// Client certificate file of an agency.
    pub fn client_cert(agency: &str) -> String {
        format!("client-{agency}.pem")
    }

    /// Client key file of an agency.
    pub fn client_key(agency: &str) -> String {
        format!("client-{agency}.key")
    }
}

/// True when `dir` already holds a development CA.
pub fn exists(dir: &Path) -> bool {
    dir.join(files::CA_CERT).is_file() && dir.join(files::CA_KEY).is_file()
}

/// Creates a complete development PKI in `dir` (see the crate docs for the files).
///
/// Refuses to replace an existing PKI unless `force` is set, because every
/// client certificate handed out would silently stop working.
pub fn generate(dir: &Path, force: bool) -> Result<(), Error> {
    if exists(dir) && !force {
        return Err(Error::AlreadyExists(dir.to_path_buf()));
    }
    fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let ca = Ca::create()?;
    write(dir, files::CA_CERT, &ca.cert_pem, false)?;
    write(dir, files::CA_KEY, &ca.key.serialize_pem(), true)?;
    write(dir, files::CA_CRL, &ca.crl(&[])?, false)?;

    let server = ca.issue(&LeafSpec::server())?;
    write(dir, files::SERVER_CERT, &server.cert_pem, false)?;
    write(dir, files::SERVER_KEY, &server.key_pem, true)?;

    for agency in SAMPLE_AGENCIES {
        let client = ca.issue(&LeafSpec::client(agency.id, agency.name))?;
        write(dir, &files::client_cert(agency.id), &client.cert_pem, false)?;
        write(dir, &files::client_key(agency.id), &client.key_pem, true)?;
    }

    let court = ca.issue_rsa(
        "tribunale-genova-cifratura",
        KeyUsagePurpose::KeyEncipherment,
    )?;
    write(dir, files::COURT_CERT, &court.cert_pem, false)?;
    write(dir, files::COURT_KEY, &court.key_pem, true)?;
    let signer = ca.issue_rsa("ponte-firma-sviluppo", KeyUsagePurpose::DigitalSignature)?;
    write(dir, files::SIGNER_CERT, &signer.cert_pem, false)?;
    write(dir, files::SIGNER_KEY, &signer.key_pem, true)?;
    write(dir, files::LOG_KEY, &log_key_pem()?, true)?;
    Ok(())
}

/// A new Ed25519 private key, PKCS#8 v1 PEM: the evidence log's signing
/// key. Version 1 (RFC 8410, seed only) rather than ring's version 2 so that
/// OpenSSL and other tools read it too (`openssl pkey -in log-key.pem`).
pub fn log_key_pem() -> Result<String, Error> {
    use base64::Engine;
    // SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING seed } }
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    let seed: [u8; 32] = rand::random();
    der.extend_from_slice(&seed);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    Ok(pem)
}

/// A certificate and its private key, both PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    /// Certificate, PEM.
    pub cert_pem: String,
    /// Private key, PKCS#8 PEM.
    pub key_pem: String,
    /// Serial number, big-endian bytes (for CRLs).
    pub serial: Vec<u8>,
}

/// What to put in a leaf certificate issued by [`Ca::issue`].
#[derive(Debug, Clone)]
pub struct LeafSpec {
    /// Common name.
    pub common_name: String,
    /// Organisation, if any.
    pub organisation: Option<String>,
    /// DNS names and IP addresses for the subjectAltName.
    pub subject_alt_names: Vec<String>,
    /// Extended key usage: client, server or both.
    pub usages: Vec<ExtendedKeyUsagePurpose>,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
}

impl LeafSpec {
    /// A client certificate for an agency, valid for two years from yesterday.
    pub fn client(common_name: &str, organisation: &str) -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            common_name: common_name.to_owned(),
            organisation: Some(organisation.to_owned()),
            subject_alt_names: Vec::new(),
            usages: vec![ExtendedKeyUsagePurpose::ClientAuth],
            not_before: now - Duration::days(1),
            not_after: now + Duration::days(730),
        }
    }

    /// The gateway's server certificate, for loopback names.
    pub fn server() -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            common_name: "ponte-gateway".to_owned(),
            organisation: Some("Ponte (sviluppo)".to_owned()),
            subject_alt_names: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            usages: vec![ExtendedKeyUsagePurpose::ServerAuth],
            not_before: now - Duration::days(1),
            not_after: now + Duration::days(730),
        }
    }
}

/// A certificate authority whose key is at hand: the development root CA, or
/// one made up by a test.
pub struct Ca {
    cert_pem: String,
    key: KeyPair,
}

// === impl Ca ===

impl Ca {
    /// Creates a new self-signed root CA.
    pub fn create() -> Result<Self, Error> {
        Self::create_named("Ponte Development Root CA")
    }

    /// Creates a new self-signed root CA with the given common name.
    pub fn create_named(common_name: &str) -> Result<Self, Error> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(common_name, Some("Ponte (sviluppo)"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(3650);
        params.serial_number = Some(random_serial());
        let cert = params.self_signed(&key)?;
        Ok(Self {
            cert_pem: cert.pem(),
            key,
        })
    }

    /// Loads the CA of an existing development PKI folder.
    pub fn load(dir: &Path) -> Result<Self, Error> {
        let cert_pem = read(&dir.join(files::CA_CERT))?;
        let key = KeyPair::from_pem(&read(&dir.join(files::CA_KEY))?)?;
        Ok(Self { cert_pem, key })
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Issues an ECDSA P-256 leaf certificate.
    pub fn issue(&self, spec: &LeafSpec) -> Result<Issued, Error> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(spec.subject_alt_names.clone())?;
        params.distinguished_name = dn(&spec.common_name, spec.organisation.as_deref());
        params.extended_key_usages = spec.usages.clone();
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.not_before = spec.not_before;
        params.not_after = spec.not_after;
        let serial = random_serial();
        params.serial_number = Some(serial.clone());
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&key, &self.issuer()?)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            serial: serial.to_bytes(),
        })
    }

    /// Issues an RSA-2048 certificate for document encryption or signature.
    pub fn issue_rsa(&self, common_name: &str, usage: KeyUsagePurpose) -> Result<Issued, Error> {
        let mut rng = rand::thread_rng();
        let private = rsa::RsaPrivateKey::new(&mut rng, 2048).map_err(|e| Error::Rsa(e.into()))?;
        let key_pem = private
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| Error::Rsa(e.into()))?
            .to_string();
        let spki = private
            .to_public_key()
            .to_public_key_der()
            .map_err(|e| Error::Rsa(e.into()))?;
        let public = SubjectPublicKeyInfo::from_der(spki.as_bytes())?;
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(common_name, Some("Ponte (sviluppo)"));
        params.key_usages = vec![usage];
        if usage == KeyUsagePurpose::DigitalSignature {
            params.key_usages.push(KeyUsagePurpose::ContentCommitment);
            params
                .extended_key_usages
                .push(ExtendedKeyUsagePurpose::EmailProtection);
        }
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(730);
        let serial = random_serial();
        params.serial_number = Some(serial.clone());
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&public, &self.issuer()?)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem,
            serial: serial.to_bytes(),
        })
    }

    /// A CRL, valid for a year, listing the given serial numbers as revoked.
    pub fn crl(&self, revoked_serials: &[&[u8]]) -> Result<String, Error> {
        let now = OffsetDateTime::now_utc();
        let params = CertificateRevocationListParams {
            this_update: now - Duration::minutes(5),
            next_update: now + Duration::days(365),
            crl_number: SerialNumber::from(now.unix_timestamp() as u64),
            issuing_distribution_point: None,
            revoked_certs: revoked_serials
                .iter()
                .map(|serial| RevokedCertParams {
                    serial_number: SerialNumber::from_slice(serial),
                    revocation_time: now - Duration::minutes(1),
                    reason_code: Some(RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        Ok(params.signed_by(&self.issuer()?)?.pem()?)
    }

    fn issuer(&self) -> Result<Issuer<'_, &KeyPair>, Error> {
        Ok(Issuer::from_ca_cert_pem(&self.cert_pem, &self.key)?)
    }
}

fn dn(common_name: &str, organisation: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "IT");
    if let Some(org) = organisation {
        dn.push(DnType::OrganizationName, org);
    }
    dn.push(DnType::CommonName, common_name);
    dn
}

/// A positive 16-byte random serial (RFC 5280 allows up to 20 octets).
fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::from_slice(&bytes)
}

fn read(path: &Path) -> Result<String, Error> {
    fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn write(dir: &Path, name: &str, contents: &str, secret: bool) -> Result<(), Error> {
    let path = dir.join(name);
    let io = |source| Error::Io {
        path: path.clone(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    let mut file = options.open(&path).map_err(io)?;
    file.write_all(contents.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_every_file_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), false).unwrap();
        for name in [
            files::CA_CERT,
            files::CA_KEY,
            files::CA_CRL,
            files::SERVER_CERT,
            files::SERVER_KEY,
            files::COURT_CERT,
            files::COURT_KEY,
            files::SIGNER_CERT,
            files::SIGNER_KEY,
            files::LOG_KEY,
        ] {
            assert!(dir.path().join(name).is_file(), "{name} missing");
        }
        for agency in SAMPLE_AGENCIES {
            assert!(dir.path().join(files::client_cert(agency.id)).is_file());
        }
        assert!(matches!(
            generate(dir.path(), false),
            Err(Error::AlreadyExists(_))
        ));
        let ca = Ca::load(dir.path()).unwrap();
        let crl = ca.crl(&[&[1, 2, 3]]).unwrap();
        assert!(crl.starts_with("-----BEGIN X509 CRL-----"));
    }
}
