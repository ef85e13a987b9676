//! The evidence log: every exchange in a tamper-evident Merkle log.
//!
//! Each request in, message out, refused handshake and administrative act
//! appends one [`Entry`] in the same transaction that records the exchange
//! (see `store::sqlite::writer`); if the entry cannot be written the
//! exchange fails. Entries are leaves of an RFC 6962 Merkle tree
//! ([`merkle`]); the gateway signs checkpoints of the tree ([`note`]) with its
//! log key ([`key`]) and gives senders signed [`receipt`]s. Inclusion and
//! consistency proofs, offline bundles ([`bundle`]) and a full
//! re-verification ([`verify`]) let anyone check that nothing was rewritten.
//!
//! Entries hold identifiers and digests only, never clinical content. The
//! format, the threat model and how a counterpart verifies a receipt are in
//! `docs/evidence-log.md`.

pub mod audit_event;
pub mod bundle;
pub mod checkpointer;
pub mod entry;
pub mod key;
pub mod merkle;
pub mod note;
pub mod receipt;
pub mod tsa;
pub mod verify;

use serde::Serialize;

pub use entry::Entry;
pub use key::{LogKey, Verifier};
pub use merkle::Hash;
pub use note::Checkpoint;
pub use receipt::Receipt;

/// Now, as the RFC 3339 text used in entries and FHIR resources.
pub fn now_rfc3339() -> String {
    format_time(time::OffsetDateTime::now_utc())
}

/// RFC 3339 in UTC with exactly six fractional digits
/// (`2026-11-26T10:00:00.000000Z`): fixed width, so that text order is
/// time order — entry times are compared and searched as text.
pub fn format_time(t: time::OffsetDateTime) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(FORMAT)
        .unwrap_or_default()
}

/// Reads any RFC 3339 time and writes it as [`format_time`] does, so user
/// supplied bounds compare correctly with stored times.
pub fn normalise_time(text: &str) -> Option<String> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(format_time)
}

/// Evidence-log errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The log key cannot be loaded or parsed (operator).
    #[error("log key: {0}")]
    Key(String),
    /// A checkpoint note is malformed or its signature does not verify
    /// (the note's producer, or tampering).
    #[error("checkpoint: {0}")]
    Checkpoint(String),
}

/// Where an appended entry landed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// Leaf index.
    pub index: u64,
    /// Leaf hash.
    pub leaf_hash: Hash,
    /// Entry time (RFC 3339).
    pub time: String,
}

/// A stored entry.
#[derive(Clone, Debug, Serialize)]
pub struct StoredEntry {
    /// Leaf index.
    pub index: u64,
    /// The canonical bytes, as stored and hashed.
    #[serde(serialize_with = "as_text")]
    pub entry: Vec<u8>,
    /// Leaf hash, hex.
    #[serde(serialize_with = "as_hex")]
    pub leaf_hash: Hash,
}

/// A stored checkpoint.
#[derive(Clone, Debug, Serialize)]
pub struct StoredCheckpoint {
    /// Row id.
    pub id: i64,
    /// Tree size.
    pub size: u64,
    /// Root hash, hex.
    #[serde(serialize_with = "as_hex")]
    pub root: Hash,
    /// The signed note.
    pub note: String,
    /// The TSA's DER time-stamp response over SHA-256 of the note, if any.
    #[serde(skip)]
    pub tsa_response: Option<Vec<u8>>,
}

/// Which entries to list.
#[derive(Clone, Debug, Default)]
pub struct EntryFilter {
    /// Appended at or after (RFC 3339).
    pub since: Option<String>,
    /// Appended before (RFC 3339).
    pub until: Option<String>,
    /// Only this agency's.
    pub agency: Option<String>,
    /// Only entries about this filing.
    pub filing: Option<String>,
    /// Only this exchange's.
    pub exchange: Option<String>,
    /// Start after this index (paging).
    pub after: Option<u64>,
    /// At most this many (default and maximum 1000).
    pub limit: Option<u32>,
}

fn as_hex<S: serde::Serializer>(hash: &Hash, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&hex::encode(hash))
}

fn as_text<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&String::from_utf8_lossy(bytes))
}
