//! `/audit/…`: the evidence log for auditors (role `auditor`, see the
//! access rules). Read-only: checkpoints, entries, proofs, the FHIR view.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use http::{HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};

use super::store_problem;
use crate::edge::{AppState, Problem};
use crate::evidence::{Entry, EntryFilter, audit_event};
use crate::store::Store;

pub(super) fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/audit/checkpoint", get(checkpoint::<S>))
        .route("/audit/entries", get(entries::<S>))
        .route("/audit/entries/{index}", get(entry::<S>))
        .route("/audit/entries/{index}/audit-event", get(audit_event::<S>))
        .route("/audit/proof/inclusion", get(inclusion::<S>))
        .route("/audit/proof/consistency", get(consistency::<S>))
}

#[derive(Deserialize)]
struct CheckpointQuery {
    size: Option<u64>,
}

/// `GET /audit/checkpoint[?size=N]`: the newest signed checkpoint, or the
/// one of exactly `size` entries, with the log's verifier key.
async fn checkpoint<S: Store>(
    State(state): State<AppState<S>>,
    Query(q): Query<CheckpointQuery>,
) -> Response {
    let found = match q.size {
        Some(size) => state.store.checkpoint_of_size(size).await,
        None => state.store.latest_checkpoint().await,
    };
    match found {
        Ok(Some(cp)) => Json(json!({
            "size": cp.size,
            "root": hex::encode(cp.root),
            "note": cp.note,
            "vkey": state.evidence.key.verifier().to_vkey(),
            // RFC 3161 response over SHA-256 of `note`, when a TSA is set.
            "tsa_response": cp.tsa_response.map(|r| base64::engine::general_purpose::STANDARD.encode(r)),
        }))
        .into_response(),
        Ok(None) => Problem::new(StatusCode::NOT_FOUND, "no_checkpoint", "no such checkpoint")
            .into_response(),
        Err(e) => store_problem(&e).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntriesQuery {
    since: Option<String>,
    until: Option<String>,
    agency: Option<String>,
    filing: Option<String>,
    exchange: Option<String>,
    after: Option<u64>,
    limit: Option<u32>,
}

/// `GET /audit/entries?since=&until=&agency=&filing=&exchange=&after=&limit=`.
async fn entries<S: Store>(
    State(state): State<AppState<S>>,
    Query(q): Query<EntriesQuery>,
) -> Response {
    let bound = |name: &'static str, value: Option<String>| match value {
        None => Ok(None),
        Some(text) => crate::evidence::normalise_time(&text)
            .map(Some)
            .ok_or_else(|| {
                Problem::new(StatusCode::BAD_REQUEST, "bad_time", "not an RFC 3339 time").detail(
                    format!("{name} must be an RFC 3339 time such as 2026-11-26T10:00:00Z"),
                )
            }),
    };
    let (since, until) = match (bound("since", q.since), bound("until", q.until)) {
        (Ok(s), Ok(u)) => (s, u),
        (Err(p), _) | (_, Err(p)) => return p.into_response(),
    };
    if let Some(exchange) = &q.exchange
        && exchange.parse::<uuid::Uuid>().is_err()
    {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "bad_exchange_id",
            "not an exchange id",
        )
        .detail("exchange must be a UUID")
        .into_response();
    }
    let filter = EntryFilter {
        since,
        until,
        agency: q.agency,
        filing: q.filing,
        exchange: q.exchange,
        after: q.after,
        limit: q.limit,
    };
    match state.store.evidence_entries(filter).await {
        Ok(list) => {
            let items: Vec<Value> = list.iter().map(entry_json).collect();
            Json(json!({ "entries": items })).into_response()
        }
        Err(e) => store_problem(&e).into_response(),
    }
}

/// `GET /audit/entries/{index}`.
async fn entry<S: Store>(State(state): State<AppState<S>>, Path(index): Path<u64>) -> Response {
    match state.store.evidence_entry(index).await {
        Ok(stored) => Json(entry_json(&stored)).into_response(),
        Err(e) => store_problem(&e).into_response(),
    }
}

/// `GET /audit/entries/{index}/audit-event`: the entry as a FHIR AuditEvent.
async fn audit_event<S: Store>(
    State(state): State<AppState<S>>,
    Path(index): Path<u64>,
) -> Response {
    let stored = match state.store.evidence_entry(index).await {
        Ok(stored) => stored,
        Err(e) => return store_problem(&e).into_response(),
    };
    let Some(entry) = Entry::decode(&stored.entry) else {
        tracing::error!(index, "Stored evidence entry is not canonical.");
        return Problem::internal().into_response();
    };
    let mut response = Json(audit_event::render(&entry, &state.evidence.origin)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    response
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionQuery {
    index: u64,
    size: Option<u64>,
}

/// `GET /audit/proof/inclusion?index=N[&size=M]`: audit path of entry N in
/// the tree of M entries (default: the newest checkpoint's size).
async fn inclusion<S: Store>(
    State(state): State<AppState<S>>,
    Query(q): Query<InclusionQuery>,
) -> Response {
    let size = match q.size {
        Some(size) => size,
        None => match state.store.latest_checkpoint().await {
            Ok(Some(cp)) => cp.size,
            Ok(None) => {
                return Problem::new(StatusCode::NOT_FOUND, "no_checkpoint", "no checkpoint yet")
                    .into_response();
            }
            Err(e) => return store_problem(&e).into_response(),
        },
    };
    let (proof, stored) = match tokio::try_join!(
        state.store.inclusion_proof(q.index, size),
        state.store.evidence_entry(q.index)
    ) {
        Ok(found) => found,
        Err(e) => return store_problem(&e).into_response(),
    };
    let checkpoint = state.store.checkpoint_of_size(size).await.ok().flatten();
    Json(json!({
        "index": q.index,
        "size": size,
        "leaf_hash": hex::encode(stored.leaf_hash),
        "path": proof.iter().map(hex::encode).collect::<Vec<_>>(),
        "checkpoint": checkpoint.map(|c| c.note),
    }))
    .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyQuery {
    first: u64,
    second: u64,
}

/// `GET /audit/proof/consistency?first=M&second=N`.
async fn consistency<S: Store>(
    State(state): State<AppState<S>>,
    Query(q): Query<ConsistencyQuery>,
) -> Response {
    match state.store.consistency_proof(q.first, q.second).await {
        Ok(proof) => Json(json!({
            "first": q.first,
            "second": q.second,
            "path": proof.iter().map(hex::encode).collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(e) => store_problem(&e).into_response(),
    }
}

fn entry_json(stored: &crate::evidence::StoredEntry) -> Value {
    json!({
        "index": stored.index,
        "leaf_hash": hex::encode(stored.leaf_hash),
        // The exact stored bytes, so a client can re-hash them.
        "entry": String::from_utf8_lossy(&stored.entry),
    })
}
