//! `/filings/…`: the filings the pipeline built, for the proximity office
//! (and the evidence bundle, also for auditors; see the access rules).

use axum::extract::{Extension, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::{HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde_json::json;

use super::store_problem;
use crate::edge::{AppState, Problem};
use crate::evidence::EntryFilter;
use crate::identity::Peer;
use crate::store::{FilingFilter, Store};

pub(super) fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/filings", get(list::<S>))
        .route("/filings/{id}", get(one::<S>))
        .route("/filings/{id}/envelope", get(envelope::<S>))
        .route("/filings/{id}/artefacts/{name}", get(artefact::<S>))
        .route("/filings/{id}/court", post(choose_court::<S>))
        .route("/filings/{id}/evidence", get(evidence::<S>))
        .route("/filings/{id}/cancel", post(cancel::<S>))
        .route("/filings/quarantine", get(quarantine::<S>))
        .route(
            "/filings/quarantine/{message}",
            get(quarantined_message::<S>),
        )
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

async fn file<S: Store>(state: &AppState<S>, id: String, name: String) -> Response {
    match state.store.filing_artefact(id, name.clone()).await {
        Ok((content_type, bytes)) => {
            let mut response = bytes.into_response();
            let headers = response.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&content_type) {
                headers.insert(header::CONTENT_TYPE, v);
            }
            // Names are ASCII file names chosen by the mapping files.
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
                headers.insert(header::CONTENT_DISPOSITION, v);
            }
            response
        }
        Err(e) => store_problem(&e).into_response(),
    }
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

/// `GET /filings/{id}/evidence`: an offline evidence bundle of every entry
/// about the filing, proved against a checkpoint signed now (check it with
/// `ponte audit check-bundle`).
async fn evidence<S: Store>(State(state): State<AppState<S>>, Path(id): Path<String>) -> Response {
    if let Err(e) = state.store.filing(id.clone()).await {
        return store_problem(&e).into_response();
    }
    let entries = match state
        .store
        .evidence_entries(EntryFilter {
            filing: Some(id.clone()),
            ..EntryFilter::default()
        })
        .await
    {
        Ok(entries) => entries,
        Err(e) => return store_problem(&e).into_response(),
    };
    let mut bundle = match crate::evidence::bundle::prove(
        &state.store,
        &state.evidence.key,
        &state.evidence.origin,
        &entries,
    )
    .await
    {
        Ok(bundle) => bundle,
        Err(e) => return store_problem(&e).into_response(),
    };
    match bundle_files(&state, &id, &entries).await {
        Ok(files) => bundle.files = files,
        Err(e) => return store_problem(&e).into_response(),
    }
    Json(bundle).into_response()
}

/// The files a filing's evidence speaks of: the envelope, every deposit
/// message sent and every message read back about it.
async fn bundle_files<S: Store>(
    state: &AppState<S>,
    id: &str,
    entries: &[crate::evidence::StoredEntry],
) -> Result<Vec<crate::evidence::bundle::BundleFile>, crate::store::Error> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let file = |name: String, bytes: &[u8]| crate::evidence::bundle::BundleFile {
        name,
        sha256: hex::encode(sha2::Sha256::digest(bytes)),
        content: base64::engine::general_purpose::STANDARD.encode(bytes),
    };
    let mut files = Vec::new();
    match state
        .store
        .filing_artefact(id.to_owned(), crate::filing::build::ATTO_ENC.to_owned())
        .await
    {
        Ok((_, bytes)) => files.push(file(crate::filing::build::ATTO_ENC.to_owned(), &bytes)),
        Err(crate::store::Error::NotFound) => {}
        Err(e) => return Err(e),
    }
    for stored in entries {
        let Some(entry) = crate::evidence::Entry::decode(&stored.entry) else {
            continue;
        };
        if entry.route.as_deref() != Some("pec:deposit") {
            continue;
        }
        let Some(exchange) = entry.exchange.and_then(|e| e.parse::<uuid::Uuid>().ok()) else {
            continue;
        };
        let exchange = crate::store::ExchangeId::from_uuid(exchange);
        if let Some(body) = state.store.exchange_body(exchange).await?
            && !body.is_empty()
        {
            files.push(file(format!("deposit-{}.eml", stored.index), &body));
        }
    }
    if let Some(deposit) = state.store.deposit(id.to_owned()).await? {
        for message in &deposit.messages {
            let (_, raw) = state.store.inbound_message(message.id, false).await?;
            files.push(file(
                format!("received-{}-{}.eml", message.id, message.kind),
                &raw,
            ));
        }
    }
    Ok(files)
}
