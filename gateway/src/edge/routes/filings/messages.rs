//! `GET /filings/{id}/messages/{name}`: a PEC message of a filing's deposit,
//! raw, by the name the evidence bundle gives it: the deposit message as
//! sent (`deposit-<entry index>.eml`) or a message read back about it
//! (`received-<id>-<kind>.eml`).

use std::fmt;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::HeaderValue;

use crate::edge::AppState;
use crate::edge::routes::store_problem;
use crate::evidence::{Entry, StoredEntry};
use crate::store::{Error, ExchangeId, Store};

/// The route of the exchanges that send a deposit message.
const DEPOSIT_ROUTE: &str = "pec:deposit";

/// A PEC message of a filing's deposit, named as in the evidence bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum MessageName {
    /// The deposit message as sent by one attempt: `deposit-<entry>.eml`.
    Sent {
        /// The index of the attempt's evidence entry.
        entry: u64,
    },
    /// A message read back about the deposit: `received-<id>-<kind>.eml`.
    Received {
        /// Its id in the store.
        id: i64,
        /// What it is (`accettazione`, `esito-controlli`, …).
        kind: String,
    },
}

// === impl MessageName ===

impl MessageName {
    /// The message `name` designates, if it is one of the two schemes in
    /// its one canonical spelling (no sign, no leading zeros).
    pub(super) fn parse(name: &str) -> Option<Self> {
        let stem = name.strip_suffix(".eml")?;
        let parsed = if let Some(entry) = stem.strip_prefix("deposit-") {
            Self::Sent {
                entry: digits(entry)?,
            }
        } else {
            let (id, kind) = stem.strip_prefix("received-")?.split_once('-')?;
            if kind.is_empty() {
                return None;
            }
            Self::Received {
                id: digits(id)?,
                kind: kind.to_owned(),
            }
        };
        (parsed.to_string() == name).then_some(parsed)
    }

    /// Where filing `filing` serves this message.
    pub(super) fn href(&self, filing: &str) -> String {
        format!("/filings/{filing}/messages/{self}")
    }
}

impl fmt::Display for MessageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sent { entry } => write!(f, "deposit-{entry}.eml"),
            Self::Received { id, kind } => write!(f, "received-{id}-{kind}.eml"),
        }
    }
}

/// A number written in ASCII digits only.
fn digits<T: std::str::FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The exchange of a deposit attempt for `filing`, when `stored` is the
/// evidence entry of one.
pub(super) fn sent_exchange(stored: &StoredEntry, filing: &str) -> Option<ExchangeId> {
    let entry = Entry::decode(&stored.entry)?;
    if entry.route.as_deref() != Some(DEPOSIT_ROUTE)
        || entry.objects.get("filing").map(String::as_str) != Some(filing)
    {
        return None;
    }
    let exchange = entry.exchange?.parse::<uuid::Uuid>().ok()?;
    Some(ExchangeId::from_uuid(exchange))
}

/// The raw bytes of message `name` of filing `filing`: [`Error::NotFound`]
/// when the filing has no such message (or the message was not kept: an
/// attempt refused before reaching the provider keeps only its digest).
pub(super) async fn lookup<S: Store>(
    store: &S,
    filing: &str,
    name: &MessageName,
) -> Result<Vec<u8>, Error> {
    match name {
        MessageName::Sent { entry } => {
            let stored = match store.evidence_entry(*entry).await {
                Ok(stored) => stored,
                Err(Error::OutOfRange) => return Err(Error::NotFound),
                Err(e) => return Err(e),
            };
            let exchange = sent_exchange(&stored, filing).ok_or(Error::NotFound)?;
            store
                .exchange_body(exchange)
                .await?
                .filter(|body| !body.is_empty())
                .ok_or(Error::NotFound)
        }
        MessageName::Received { id, kind } => {
            let deposit = store
                .deposit(filing.to_owned())
                .await?
                .ok_or(Error::NotFound)?;
            if !deposit
                .messages
                .iter()
                .any(|m| m.id == *id && m.kind == *kind)
            {
                return Err(Error::NotFound);
            }
            let (_, raw) = store.inbound_message(*id, false).await?;
            Ok(raw)
        }
    }
}

/// `GET /filings/{id}/messages/{name}`: the message as `message/rfc822`,
/// always as a download; `404 not_found` for an unknown filing or name.
pub(super) async fn message<S: Store>(
    State(state): State<AppState<S>>,
    Path((id, name)): Path<(String, String)>,
) -> Response {
    let Some(parsed) = MessageName::parse(&name) else {
        return store_problem(&Error::NotFound).into_response();
    };
    match lookup(&state.store, &id, &parsed).await {
        Ok(raw) => super::download(raw, HeaderValue::from_static("message/rfc822"), &name),
        Err(e) => store_problem(&e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_both_schemes() {
        let sent = MessageName::parse("deposit-12.eml");
        assert_eq!(sent, Some(MessageName::Sent { entry: 12 }));
        let received = MessageName::parse("received-3-esito-controlli.eml");
        assert_eq!(
            received,
            Some(MessageName::Received {
                id: 3,
                kind: "esito-controlli".to_owned()
            })
        );
        assert_eq!(
            received.map(|n| n.href("f-1")).as_deref(),
            Some("/filings/f-1/messages/received-3-esito-controlli.eml")
        );
    }

    #[test]
    fn other_names_are_refused() {
        for bad in [
            "deposit-12",
            "deposit-.eml",
            "deposit-012.eml",
            "deposit-+12.eml",
            "deposit--1.eml",
            "deposit-1x.eml",
            "received-3.eml",
            "received-3-.eml",
            "received--3-accettazione.eml",
            "received-x-accettazione.eml",
            "Atto.enc",
            "../deposit-1.eml",
        ] {
            assert_eq!(MessageName::parse(bad), None, "{bad}");
        }
    }
}
