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

/// Serves a stored artefact as a download: the media type is the sender's
/// (attachments keep theirs), so a browser must never sniff or render it
/// inline: `X-Content-Type-Options: nosniff` and `Content-Disposition:
/// attachment`.
async fn file<S: Store>(state: &AppState<S>, id: String, name: String) -> Response {
    match state.store.filing_artefact(id, name.clone()).await {
        Ok((content_type, bytes)) => {
            let mut response = bytes.into_response();
            let headers = response.headers_mut();
            let content_type = HeaderValue::from_str(&content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream"));
            headers.insert(header::CONTENT_TYPE, content_type);
            headers.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            headers.insert(header::CONTENT_DISPOSITION, attachment(&name));
            response
        }
        Err(e) => store_problem(&e).into_response(),
    }
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

/// How many bytes of files, in total, `GET /filings/{id}/evidence` carries
/// inline (base64 makes the body about 4/3 of that). An envelope may reach
/// 60 MiB and every deposit attempt carries it again, so inlining all of
/// them could make one answer of hundreds of MiB, held in memory at once.
/// Files past the cap are listed by name, size and SHA-256 (still bound to
/// the log by the digest), with where to fetch them when a route serves
/// them.
pub const EVIDENCE_INLINE_BYTES: usize = 8 * 1024 * 1024;

/// A bundle file with its content inline if it fits in what is left of
/// `budget` (then reduced), else by reference: size, digest and `href`.
fn bundle_file(
    name: String,
    bytes: &[u8],
    href: Option<String>,
    budget: &mut usize,
) -> crate::evidence::bundle::BundleFile {
    use base64::Engine as _;
    use sha2::Digest as _;
    let sha256 = hex::encode(sha2::Sha256::digest(bytes));
    if let Some(left) = budget.checked_sub(bytes.len()) {
        *budget = left;
        return crate::evidence::bundle::BundleFile {
            name,
            sha256,
            content: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
            size: None,
            href: None,
        };
    }
    crate::evidence::bundle::BundleFile {
        name,
        sha256,
        content: None,
        size: Some(bytes.len() as u64),
        href,
    }
}

/// The files a filing's evidence speaks of: the envelope, every deposit
/// message sent and every message read back about it; inline up to
/// [`EVIDENCE_INLINE_BYTES`] in all.
async fn bundle_files<S: Store>(
    state: &AppState<S>,
    id: &str,
    entries: &[crate::evidence::StoredEntry],
) -> Result<Vec<crate::evidence::bundle::BundleFile>, crate::store::Error> {
    let mut budget = EVIDENCE_INLINE_BYTES;
    let mut file = |name: String, bytes: &[u8], href| bundle_file(name, bytes, href, &mut budget);
    let mut files = Vec::new();
    let envelope = crate::filing::build::ATTO_ENC;
    match state
        .store
        .filing_artefact(id.to_owned(), envelope.to_owned())
        .await
    {
        Ok((_, bytes)) => files.push(file(
            envelope.to_owned(),
            &bytes,
            Some(format!("/filings/{id}/artefacts/{envelope}")),
        )),
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
            files.push(file(format!("deposit-{}.eml", stored.index), &body, None));
        }
    }
    if let Some(deposit) = state.store.deposit(id.to_owned()).await? {
        for message in &deposit.messages {
            let (_, raw) = state.store.inbound_message(message.id, false).await?;
            files.push(file(
                format!("received-{}-{}.eml", message.id, message.kind),
                &raw,
                None,
            ));
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_inline_until_the_budget_is_spent_then_by_reference() {
        let mut budget = 10;
        let a = bundle_file("a".into(), b"123456", None, &mut budget);
        let big = bundle_file("big".into(), b"12345", Some("/x".into()), &mut budget);
        let c = bundle_file("c".into(), b"1234", None, &mut budget);
        assert_eq!(budget, 0);
        assert_eq!(a.content.as_deref(), Some("MTIzNDU2"));
        assert_eq!((a.size, c.size), (None, None));
        assert!(
            c.content.is_some(),
            "a later file that fits is still inline"
        );
        assert_eq!(big.content, None);
        assert_eq!(big.size, Some(5));
        assert_eq!(big.href.as_deref(), Some("/x"));
        assert_eq!(
            big.sha256,
            "5994471abb01112afcc18159f6cc74b4f511b99806da59b3caf5a9c173cacfc5"
        );
    }

    #[test]
    fn attachment_names_are_reduced_to_safe_ascii() {
        assert_eq!(
            attachment("Ricorso.pdf"),
            "attachment; filename=\"Ricorso.pdf\""
        );
        assert_eq!(
            attachment("a\"b;c/../d\u{e8}.pdf"),
            "attachment; filename=\"a_b_c_.._d_.pdf\""
        );
        assert_eq!(attachment("..."), "attachment; filename=\"file\"");
    }
}
