//! Records the store keeps, as domain types.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::identity::{AgencyId, CertFingerprint};

/// Identifier of an exchange: a UUIDv7, so ids sort by time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ExchangeId(Uuid);

// === impl ExchangeId ===

impl ExchangeId {
    /// A new id for an exchange happening now.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// An id from its UUID (as read back from storage).
    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    /// The UUID.
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl Default for ExchangeId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ExchangeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for ExchangeId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.parse()?))
    }
}

/// Which way an exchange went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Into Ponte (a request, a receipt).
    Inbound,
    /// Out of Ponte (a deposit, a notification).
    Outbound,
}

impl Direction {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// How an exchange ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Served or accepted.
    Ok,
    /// Refused: handshake, identity, role, limits, bad input.
    Refused,
    /// Failed on Ponte's side.
    Failed,
}

impl Outcome {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
        }
    }

    /// The outcome an HTTP status stands for.
    pub fn of_status(status: u16) -> Self {
        match status {
            0..=399 => Outcome::Ok,
            400..=499 => Outcome::Refused,
            _ => Outcome::Failed,
        }
    }
}

impl FromStr for Outcome {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ok" => Ok(Outcome::Ok),
            "refused" => Ok(Outcome::Refused),
            "failed" => Ok(Outcome::Failed),
            _ => Err(()),
        }
    }
}

/// An exchange to record.
#[derive(Clone, Debug)]
pub struct NewExchange {
    /// Its id.
    pub id: ExchangeId,
    /// When it started.
    pub at: OffsetDateTime,
    /// Which way.
    pub direction: Direction,
    /// The agency on the other side, when known.
    pub agency: Option<AgencyId>,
    /// The other side's certificate, when one was presented.
    pub fingerprint: Option<CertFingerprint>,
    /// The other side's network address.
    pub peer_addr: Option<SocketAddr>,
    /// The request id (X-Request-Id).
    pub request_id: Option<String>,
    /// HTTP method, or the protocol verb of a non-HTTP exchange.
    pub method: String,
    /// Route template (`/fhir/Task/{id}`), or what was exchanged
    /// (`tls-handshake`, `pec:deposit`).
    pub route: String,
    /// SHA-256 of the body, when the body was read.
    pub body_sha256: Option<[u8; 32]>,
    /// Body bytes read.
    pub body_size: u64,
    /// How it ended.
    pub outcome: Outcome,
    /// HTTP status, when there was one.
    pub status: Option<u16>,
    /// Bounded reason code for refusals and failures (`revoked`, …).
    pub reason: Option<&'static str>,
    /// Identifiers of objects concerned (`filing`, `task`, …) for the
    /// evidence entry.
    pub objects: BTreeMap<String, String>,
    /// The body itself, for exchanges whose content must be kept.
    pub body: Option<Vec<u8>>,
}

/// An administrative act for the evidence log (start with a configuration,
/// registry import, …).
#[derive(Clone, Debug, Default)]
pub struct AdminAction {
    /// What was done (`gateway-start`, `registry-import`, …).
    pub operation: String,
    /// Who did it, when an agency did.
    pub agency: Option<String>,
    /// SHA-256 (hex) of each input, by name.
    pub digests: BTreeMap<String, String>,
    /// Identifiers concerned.
    pub objects: BTreeMap<String, String>,
}

/// A recorded exchange (metadata only; the body is fetched apart).
#[derive(Clone, Debug, Serialize)]
pub struct Exchange {
    /// Its id.
    pub id: ExchangeId,
    /// When it started (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Which way.
    pub direction: Direction,
    /// The agency on the other side.
    pub agency: Option<String>,
    /// Certificate fingerprint, hex.
    pub fingerprint: Option<String>,
    /// Network address.
    pub peer_addr: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// Method.
    pub method: String,
    /// Route.
    pub route: String,
    /// Body digest, hex.
    pub body_sha256: Option<String>,
    /// Body size.
    pub body_size: u64,
    /// Outcome.
    pub outcome: Outcome,
    /// HTTP status.
    pub status: Option<u16>,
    /// Reason code.
    pub reason: Option<String>,
}

/// Which exchanges to list.
#[derive(Clone, Debug, Default)]
pub struct ExchangeFilter {
    /// Only this agency's.
    pub agency: Option<AgencyId>,
    /// Only those with this outcome.
    pub outcome: Option<Outcome>,
    /// At most this many (newest are cut).
    pub limit: Option<u32>,
}
