//! Matching a verified certificate against the configured agencies.

use std::collections::HashMap;

use x509_parser::prelude::{FromDer, X509Certificate};

use super::{AgencyId, CertFingerprint, Peer, PeerRejected, Role};
use crate::config::AgencyConfig;

/// What a client certificate says about itself, whether or not it matched.
#[derive(Clone, Debug)]
pub struct Presented {
    /// SHA-256 of the leaf certificate.
    pub fingerprint: CertFingerprint,
    /// Subject DN, RFC 4514 form.
    pub subject: String,
}

/// The configured agencies, indexed for lookup by certificate.
///
/// A certificate matches an agency by its SHA-256 fingerprint (pinning, the
/// strongest binding) or, failing that, by its subject common name. Matching
/// by name is only as strong as the CA that issued the certificate, which is
/// why the trusted CAs are configured per deployment and not taken from the
/// system store.
#[derive(Debug, Clone, Default)]
pub struct AgencyDirectory {
    by_fingerprint: HashMap<CertFingerprint, usize>,
    by_common_name: HashMap<String, usize>,
    agencies: Vec<(AgencyId, Vec<Role>)>,
}

// === impl AgencyDirectory ===

impl AgencyDirectory {
    /// Indexes the configured agencies. Configuration validation has already
    /// rejected duplicate ids, names and fingerprints.
    pub fn new(agencies: &[AgencyConfig]) -> Self {
        let mut dir = Self::default();
        for (index, agency) in agencies.iter().enumerate() {
            dir.agencies.push((agency.id.clone(), agency.roles.clone()));
            for fp in &agency.fingerprints {
                dir.by_fingerprint.insert(*fp, index);
            }
            if let Some(cn) = &agency.subject_cn {
                dir.by_common_name.insert(cn.clone(), index);
            }
        }
        dir
    }

    /// Finds the agency of a verified leaf certificate (DER).
    pub fn resolve(&self, leaf_der: &[u8]) -> (Presented, Result<Peer, PeerRejected>) {
        let fingerprint = CertFingerprint::of_der(leaf_der);
        let (subject, common_name) = match X509Certificate::from_der(leaf_der) {
            Ok((_, cert)) => {
                let cn = cert
                    .subject()
                    .iter_common_name()
                    .next()
                    .and_then(|cn| cn.as_str().ok())
                    .map(str::to_owned);
                (cert.subject().to_string(), cn)
            }
            // rustls accepted the chain, so this is unreachable in practice;
            // treat it as an unknown certificate rather than trusting it.
            Err(_) => (String::new(), None),
        };
        let presented = Presented {
            fingerprint,
            subject: subject.clone(),
        };
        let index = self.by_fingerprint.get(&fingerprint).copied().or_else(|| {
            common_name
                .as_ref()
                .and_then(|cn| self.by_common_name.get(cn).copied())
        });
        let peer = match index.and_then(|i| self.agencies.get(i)) {
            Some((agency, roles)) => Ok(Peer {
                agency: agency.clone(),
                roles: roles.clone(),
                fingerprint,
                subject,
            }),
            None => Err(PeerRejected::NotConfigured),
        };
        (presented, peer)
    }

    /// The configured agency ids, for bounded metric labels.
    pub fn ids(&self) -> impl Iterator<Item = &AgencyId> {
        self.agencies.iter().map(|(id, _)| id)
    }
}
