//! The evidence entry and its canonical encoding (version 1).
//!
//! An entry is a JSON object whose keys are in lexicographic order, with no
//! insignificant whitespace, integers only and absent fields omitted; the
//! struct below declares its fields in that order, which serde keeps. The
//! bytes are stored as written and hashed as the Merkle leaf, so verifiers
//! never re-encode anything. `docs/evidence-log.md` is the normative
//! description.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Current encoding version.
pub const VERSION: u32 = 1;

/// One evidence entry. Fields are declared in key order: keep it so.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The agency on the other side.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub agency: Option<String>,
    /// SHA-256 (hex) of each payload, by name (`body`, `config`, …).
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub digests: BTreeMap<String, String>,
    /// `inbound` or `outbound`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub direction: Option<String>,
    /// Exchange id.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exchange: Option<String>,
    /// SHA-256 (hex) of the other side's certificate.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fingerprint: Option<String>,
    /// Leaf index of this entry in the log.
    pub index: u64,
    /// `exchange` or `admin`.
    pub kind: String,
    /// HTTP method or protocol verb.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub method: Option<String>,
    /// Identifiers of objects concerned (`filing`, `task`, …).
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub objects: BTreeMap<String, String>,
    /// What was done, for admin entries (`gateway-start`, …).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub operation: Option<String>,
    /// `ok`, `refused` or `failed`.
    pub outcome: String,
    /// Network address of the other side.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub peer: Option<String>,
    /// Reason code of a refusal or failure.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    /// X-Request-Id.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub request_id: Option<String>,
    /// Route template or exchange kind.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub route: Option<String>,
    /// Payload size in bytes.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub size: Option<u64>,
    /// HTTP status.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status: Option<u16>,
    /// When the entry was appended (RFC 3339, UTC, microseconds).
    pub time: String,
    /// Encoding version.
    pub v: u32,
}

impl Entry {
    /// The canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        // Serializing plain strings, integers and string maps cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses canonical bytes, refusing anything that would not re-encode
    /// to the same bytes.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let entry: Entry = serde_json::from_slice(bytes).ok()?;
        (entry.encode() == bytes).then_some(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_canonical_with_sorted_keys() {
        let mut entry = Entry {
            agency: Some("asl3-genovese".into()),
            index: 7,
            kind: "exchange".into(),
            outcome: "ok".into(),
            status: Some(201),
            time: "2026-11-26T10:00:00.000001Z".into(),
            v: VERSION,
            ..Entry::default()
        };
        entry.digests.insert("body".into(), "ab".into());
        let bytes = entry.encode();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert_eq!(
            text,
            r#"{"agency":"asl3-genovese","digests":{"body":"ab"},"index":7,"kind":"exchange","outcome":"ok","status":201,"time":"2026-11-26T10:00:00.000001Z","v":1}"#
        );
        // Keys appear in sorted order.
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(Entry::decode(&bytes), Some(entry));
        // Whitespace or reordering is not canonical.
        assert_eq!(Entry::decode(text.replace(",", ", ").as_bytes()), None);
    }
}
