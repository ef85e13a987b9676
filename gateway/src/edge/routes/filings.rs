//! `/filings/…`: the filings the pipeline built, for the proximity office
//! (and the evidence bundle with the PEC messages it names, also for
//! auditors; see the access rules).

mod evidence;
mod messages;
#[cfg(test)]
mod tests;

use axum::extract::{Extension, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::{HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde_json::json;

use super::store_problem;
use crate::edge::{AppState, Problem};
use crate::identity::Peer;
use crate::store::{FilingFilter, Store};

pub(super) fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/filings", get(list::<S>))
        .route("/filings/{id}", get(one::<S>))
        .route("/filings/{id}/envelope", get(envelope::<S>))
        .route("/filings/{id}/artefacts/{name}", get(artefact::<S>))
        .route("/filings/{id}/court", post(choose_court::<S>))
        .route("/filings/{id}/evidence", get(evidence::evidence::<S>))
        .route("/filings/{id}/messages/{name}", get(messages::message::<S>))
        .route("/filings/{id}/cancel", post(cancel::<S>))
        .route("/filings/{id}/retry", post(retry::<S>))
        .route("/filings/quarantine", get(quarantine::<S>))
        .route(
            "/filings/quarantine/{message}",
            get(quarantined_message::<S>),
        )
        .route("/filings/quarantine/{message}/dismiss", post(dismiss::<S>))
}

/// `POST /filings/{id}/cancel`: the office stops a deposit not yet sent.
async fn cancel<S: Store>(
    State(state): State<AppState<S>>,
    Extension(peer): Extension<Peer>,
    Path(id): Path<String>,
) -> Response {
    match state
        .store
        .cancel_deposit(id.clone(), peer.agency().to_string())
        .await
    {
        Ok(_) => Json(json!({ "filing": id, "deposit": "cancelled" })).into_response(),
        Err(crate::store::Error::Conflict) => Problem::new(
            StatusCode::CONFLICT,
            "deposit_not_cancellable",
            "only a deposit still queued can be cancelled",
        )
        .into_response(),
        Err(e) => store_problem(&e).into_response(),
    }
}

/// `POST /filings/{id}/retry`: the office sends a failed deposit again
/// (after a PEC outage or a corrected account, say), as a new message with
/// a new Message-ID. Refused while any earlier attempt may still reach the
/// court (docs/deposits.md §2).
async fn retry<S: Store>(
    State(state): State<AppState<S>>,
    Extension(peer): Extension<Peer>,
    Path(id): Path<String>,
) -> Response {
    match state
        .store
        .retry_deposit(
            id.clone(),
            peer.agency().to_string(),
            crate::deposit::new_message_id,
        )
        .await
    {
        Ok((message_id, _)) => (
            StatusCode::ACCEPTED,
            Json(json!({ "filing": id, "deposit": "queued", "message_id": message_id })),
        )
            .into_response(),
        Err(crate::store::Error::Conflict) => Problem::new(
            StatusCode::CONFLICT,
            "deposit_not_retriable",
            "only a failed deposit none of whose attempts may have reached the provider can be sent again",
        )
        .into_response(),
        Err(e) => store_problem(&e).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuarantineQuery {
    limit: Option<u32>,
}

/// `GET /filings/quarantine`: messages read from the PEC box that could
/// not be tied to a deposit or understood, newest first.
async fn quarantine<S: Store>(
    State(state): State<AppState<S>>,
    Query(q): Query<QuarantineQuery>,
) -> Response {
    match state.store.quarantine(q.limit.unwrap_or(100)).await {
        Ok(messages) => Json(json!({ "messages": messages })).into_response(),
        Err(e) => store_problem(&e).into_response(),
    }
}

/// `GET /filings/quarantine/{message}`: the raw message (RFC 5322).
async fn quarantined_message<S: Store>(
    State(state): State<AppState<S>>,
    Path(message): Path<i64>,
) -> Response {
    match state.store.inbound_message(message, true).await {
        Ok((_, raw)) => {
            let mut response = raw.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("message/rfc822"),
            );
            response
        }
        Err(e) => store_problem(&e).into_response(),
    }
}

/// `POST /filings/quarantine/{message}/dismiss`: the office has reviewed a
/// quarantined message and takes it out of the quarantine; its raw bytes
/// are then purged under the retention policy (docs/retention.md).
async fn dismiss<S: Store>(
    State(state): State<AppState<S>>,
    Extension(peer): Extension<Peer>,
    Path(message): Path<i64>,
) -> Response {
    match state
        .store
        .dismiss_message(message, peer.agency().to_string())
        .await
    {
        Ok(_) => Json(json!({ "message": message, "state": "dismissed" })).into_response(),
        Err(crate::store::Error::Conflict) => Problem::new(
            StatusCode::CONFLICT,
            "message_not_quarantined",
            "only a message in quarantine can be dismissed",
        )
        .into_response(),
        Err(e) => store_problem(&e).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    limit: Option<u32>,
}

/// `GET /filings[?status=ready|failed|on-hold][&limit=N]`, newest first.
async fn list<S: Store>(State(state): State<AppState<S>>, Query(q): Query<ListQuery>) -> Response {
    if let Some(status) = &q.status
        && !matches!(status.as_str(), "ready" | "failed" | "on-hold")
    {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_status",
            "status must be ready, failed or on-hold",
        )
        .into_response();
    }
    let filter = FilingFilter {
        status: q.status,
        limit: q.limit.unwrap_or(100).clamp(1, 1000),
    };
    match state.store.filings(filter).await {
        Ok(filings) => Json(json!({ "filings": filings })).into_response(),
        Err(e) => store_problem(&e).into_response(),
    }
}

/// `GET /filings/{id}`: status, court, artefacts (names, digests, sizes),
/// and why it stopped if it did.
async fn one<S: Store>(State(state): State<AppState<S>>, Path(id): Path<String>) -> Response {
    match state.store.filing(id).await {
        Ok(filing) => Json(filing).into_response(),
        Err(e) => store_problem(&e).into_response(),
    }
}

/// `GET /filings/{id}/envelope`: the `Atto.enc` that is (or will be)
/// deposited.
async fn envelope<S: Store>(State(state): State<AppState<S>>, Path(id): Path<String>) -> Response {
    file(&state, id, crate::filing::build::ATTO_ENC.to_owned()).await
}

/// `GET /filings/{id}/artefacts/{name}`: one stored file of the filing
/// (`DatiAtto.xml`, the PDF, `Atto.msg`, …), for the office to review.
async fn artefact<S: Store>(
    State(state): State<AppState<S>>,
    Path((id, name)): Path<(String, String)>,
) -> Response {
    file(&state, id, name).await
}

/// Serves a stored artefact as a download, with the media type it was
/// stored with (see [`download`]).
async fn file<S: Store>(state: &AppState<S>, id: String, name: String) -> Response {
    match state.store.filing_artefact(id, name.clone()).await {
        Ok((content_type, bytes)) => {
            let content_type = HeaderValue::from_str(&content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream"));
            download(bytes, content_type, &name)
        }
        Err(e) => store_problem(&e).into_response(),
    }
}

/// `bytes` as a download named `name`: the media type may be the sender's
/// (attachments keep theirs), so a browser must never sniff or render it
/// inline: `X-Content-Type-Options: nosniff` and `Content-Disposition:
/// attachment`.
fn download(bytes: Vec<u8>, content_type: HeaderValue, name: &str) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CONTENT_DISPOSITION, attachment(name));
    response
}

/// `attachment; filename="…"` with `name` reduced to safe ASCII: letters,
/// digits, `.`, `-` and `_` are kept, anything else (quotes, `;`, `/`,
/// control or non-ASCII characters) becomes `_`, so the header can neither
/// break out of its quotes nor name a path.
fn attachment(name: &str) -> HeaderValue {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = safe.trim_start_matches('.');
    let safe = if safe.is_empty() { "file" } else { safe };
    HeaderValue::from_str(&format!("attachment; filename=\"{safe}\""))
        .unwrap_or(HeaderValue::from_static("attachment"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CourtChoice {
    court: String,
}

/// `POST /filings/{id}/court` `{"court": "<codice ufficio>"}`: the office
/// chooses the competent court of a filing on hold; the filing is built
/// again for that court.
async fn choose_court<S: Store>(
    State(state): State<AppState<S>>,
    Extension(peer): Extension<Peer>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(choice) = serde_json::from_slice::<CourtChoice>(&body) else {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "expected a JSON object {\"court\": \"<10-digit codice ufficio>\"}",
        )
        .into_response();
    };
    let Some(courts) = &state.courts else {
        return Problem::unavailable(
            "registry_unavailable",
            "the court registry is not loaded",
            30,
        )
        .into_response();
    };
    let known = choice
        .court
        .parse::<ponte_registry::CourtCode>()
        .ok()
        .and_then(|code| courts.current().registry.court(&code).map(|_| ()));
    if known.is_none() {
        return Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "court_unknown",
            "the court is not in the court registry",
        )
        .into_response();
    }
    match state
        .store
        .choose_court(id.clone(), choice.court, peer.agency().to_string())
        .await
    {
        Ok(_) => {
            state.pipeline_wake.notify_one();
            (
                StatusCode::ACCEPTED,
                Json(json!({ "filing": id, "status": "queued" })),
            )
                .into_response()
        }
        Err(crate::store::Error::Conflict) => Problem::new(
            StatusCode::CONFLICT,
            "filing_not_on_hold",
            "only a filing on hold can be given a court",
        )
        .into_response(),
        Err(e) => store_problem(&e).into_response(),
    }
}
