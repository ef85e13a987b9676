//! Who is calling: agency identities derived from verified client certificates.
//!
//! The TLS layer has already checked the chain, validity dates and CRLs by the
//! time anything here runs. This module only answers "which configured agency
//! is this certificate, and what may it do?". It does no I/O.
//!
//! A [`Peer`] can only be built by [`AgencyDirectory::resolve`], so a handler
//! that receives one knows it stands for a configured agency.

mod directory;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use directory::{AgencyDirectory, Presented};

/// An agency's configured identifier, e.g. `asl3-genovese`.
///
/// Lowercase ASCII letters, digits and `-`, 2 to 64 characters, starting with
/// a letter: safe as a metric label, a log field and a path segment.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AgencyId(String);

/// Why a string is not an [`AgencyId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an agency id is 2-64 characters of a-z, 0-9 and '-', starting with a letter")]
pub struct InvalidAgencyId;

// === impl AgencyId ===

impl AgencyId {
    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AgencyId {
    type Err = InvalidAgencyId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let valid_len = (2..=64).contains(&s.len());
        let starts_with_letter = s.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
        let charset = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid_len && starts_with_letter && charset {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidAgencyId)
        }
    }
}

impl TryFrom<String> for AgencyId {
    type Error = InvalidAgencyId;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<AgencyId> for String {
    fn from(id: AgencyId) -> Self {
        id.0
    }
}

impl fmt::Display for AgencyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an agency is, which decides the routes it may call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// An ASL, hospital or social service that submits FHIR records.
    HealthAuthority,
    /// A proximity office (Ufficio di Prossimità) that files acts.
    Office,
    /// A court (Tribunale) reading what concerns it.
    Court,
    /// A security team reading the evidence log.
    Auditor,
}

// === impl Role ===

impl Role {
    /// Every role, in a fixed order.
    pub const ALL: [Role; 4] = [
        Role::HealthAuthority,
        Role::Office,
        Role::Court,
        Role::Auditor,
    ];

    /// The role's configuration name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::HealthAuthority => "health-authority",
            Role::Office => "office",
            Role::Court => "court",
            Role::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// SHA-256 of a certificate's DER encoding.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CertFingerprint([u8; 32]);

/// Why a string is not a [`CertFingerprint`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a certificate fingerprint is 64 hex digits (SHA-256), colons allowed")]
pub struct InvalidFingerprint;

// === impl CertFingerprint ===

impl CertFingerprint {
    /// Fingerprint of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> Self {
        use sha2::Digest;
        Self(sha2::Sha256::digest(der).into())
    }

    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl FromStr for CertFingerprint {
    type Err = InvalidFingerprint;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex_digits: String = s.chars().filter(|c| *c != ':').collect();
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_digits, &mut out).map_err(|_| InvalidFingerprint)?;
        Ok(Self(out))
    }
}

impl fmt::Display for CertFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for CertFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertFingerprint({self})")
    }
}

impl<'de> Deserialize<'de> for CertFingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for CertFingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A caller whose certificate was verified and matched a configured agency.
///
/// Fields are private: only [`AgencyDirectory::resolve`] builds one.
#[derive(Clone, Debug)]
pub struct Peer {
    agency: AgencyId,
    roles: Vec<Role>,
    fingerprint: CertFingerprint,
    subject: String,
}

// === impl Peer ===

impl Peer {
    /// The agency this certificate belongs to.
    pub fn agency(&self) -> &AgencyId {
        &self.agency
    }

    /// The agency's roles.
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// True if the agency has `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// SHA-256 of the client certificate.
    pub fn fingerprint(&self) -> CertFingerprint {
        self.fingerprint
    }

    /// The certificate's subject distinguished name (RFC 4514 string).
    pub fn subject(&self) -> &str {
        &self.subject
    }
}

/// Why a caller was refused. The variant names are the bounded `reason`
/// label of refusal metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PeerRejected {
    /// The client presented no certificate.
    NoCertificate,
    /// The certificate chains to no configured agency CA.
    UnknownIssuer,
    /// The certificate is outside its validity period.
    Expired,
    /// The certificate is listed in a configured CRL.
    Revoked,
    /// The certificate is valid but belongs to no configured agency.
    NotConfigured,
    /// The agency's roles do not include one allowed on the route.
    RoleNotAllowed,
}

// === impl PeerRejected ===

impl PeerRejected {
    /// A stable snake_case code for metrics, logs and problem details.
    pub fn code(self) -> &'static str {
        match self {
            PeerRejected::NoCertificate => "no_certificate",
            PeerRejected::UnknownIssuer => "unknown_issuer",
            PeerRejected::Expired => "expired",
            PeerRejected::Revoked => "revoked",
            PeerRejected::NotConfigured => "agency_not_configured",
            PeerRejected::RoleNotAllowed => "role_not_allowed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agency_id_round_trips_and_rejects_bad_input() {
        let id: AgencyId = "asl3-genovese".parse().unwrap();
        assert_eq!(id.to_string(), "asl3-genovese");
        for bad in ["", "a", "ASL3", "3asl", "asl 3", "asl_3", &"a".repeat(65)] {
            assert_eq!(bad.parse::<AgencyId>(), Err(InvalidAgencyId), "{bad:?}");
        }
    }

    #[test]
    fn fingerprint_parses_with_or_without_colons() {
        let fp = CertFingerprint::of_der(b"x");
        let plain = fp.to_string();
        assert_eq!(plain.len(), 64);
        assert_eq!(plain.parse::<CertFingerprint>().unwrap(), fp);
        let colons = plain
            .as_bytes()
            .chunks(2)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(colons.parse::<CertFingerprint>().unwrap(), fp);
        assert!("abc".parse::<CertFingerprint>().is_err());
    }

    #[test]
    fn roles_use_their_configuration_names() {
        for role in Role::ALL {
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
    }
}
