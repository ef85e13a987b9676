//! Signed receipts: what a sender keeps to hold Ponte to an accepted
//! request.
//!
//! A receipt is a compact JWS (RFC 7515) signed with the log key using
//! EdDSA (RFC 8037), so any JOSE library can check it. Its payload names
//! the log, the entry index, the exchange, the SHA-256 of the request body,
//! the entry's leaf hash and the time. With it, the sender can later ask
//! for the inclusion proof of that index against any checkpoint and show a
//! third party that Ponte logged exactly that request.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::key::{LogKey, Verifier};

/// The signed content of a receipt. Fields in key order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Exchange id.
    pub exchange: String,
    /// Entry index in the evidence log.
    pub index: u64,
    /// Leaf hash of the entry (hex).
    pub leaf_hash: String,
    /// Log origin.
    pub log: String,
    /// SHA-256 of the request body (hex).
    pub request_sha256: String,
    /// When the entry was appended (RFC 3339).
    pub time: String,
    /// Receipt format version.
    pub v: u32,
}

impl Receipt {
    /// The compact JWS.
    pub fn sign(&self, key: &LogKey) -> String {
        let header = serde_json::json!({
            "alg": "EdDSA",
            "kid": hex::encode(key.verifier().key_id()),
            "typ": "ponte-receipt",
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
        );
        let sig = key.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    /// Checks a compact JWS receipt and returns its content.
    pub fn open(jws: &str, verifier: &Verifier) -> Option<Self> {
        let (signing_input, sig) = jws.rsplit_once('.')?;
        let (header, payload) = signing_input.split_once('.')?;
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        if header["alg"] != "EdDSA" {
            return None;
        }
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        if !verifier.verify(signing_input.as_bytes(), &sig) {
            return None;
        }
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
    }
}
