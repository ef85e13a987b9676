//! FHIR intake: from the bytes a health authority POSTs to a durably stored
//! submission, its Task and a work-queue row — or a refusal that stores
//! nothing but the exchange record.
//!
//! Order of checks: media types (415/406) → idempotency (replay, 422 for a
//! reused key, 409 while the first is still being processed) → parsing and
//! structure (400) → Bundle rules and Ponte's profiles (422) → one atomic
//! store write → 201 with the Task, its `Location` and the signed receipt.
//! Nothing is acknowledged before the write is durable.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use ponte_fhir::{Format, Rejection, bundle, format, outcome, parse, profile, task};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::edge::{AppState, ConnInfo, ExchangeRecorded, Problem, RECEIPT_HEADER};
use crate::identity::Peer;
use crate::store::{Direction, Error, ExchangeId, NewExchange, NewSubmission, Outcome, Store};

/// Keys of submissions being processed right now, per agency: a retry that
/// arrives before the first attempt is stored gets 409.
#[derive(Default)]
pub struct InFlight(Mutex<HashSet<(String, String)>>);

/// Removes a key from [`InFlight`] when the attempt ends, however it ends.
struct InFlightGuard<'a> {
    set: &'a InFlight,
    key: (String, String),
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut set) = self.set.0.lock() {
            set.remove(&self.key);
        }
    }
}

impl InFlight {
    fn enter(&self, agency: &str, key: &str) -> Option<InFlightGuard<'_>> {
        let key = (agency.to_owned(), key.to_owned());
        let mut set = self.0.lock().ok()?;
        set.insert(key.clone())
            .then_some(InFlightGuard { set: self, key })
    }
}

/// What the handler passes in.
pub struct Request<'a> {
    /// The caller.
    pub peer: &'a Peer,
    /// Its connection.
    pub conn: &'a ConnInfo,
    /// X-Request-Id.
    pub request_id: Option<String>,
    /// Route template, for the exchange record.
    pub route: &'static str,
    /// Request headers.
    pub headers: &'a HeaderMap,
    /// `_format` query parameter.
    pub format_param: Option<&'a str>,
    /// The body.
    pub body: Bytes,
}

/// Handles a submission end to end.
pub async fn submit<S: Store>(state: &AppState<S>, req: Request<'_>) -> Response {
    let header = |name: header::HeaderName| req.headers.get(name).and_then(|v| v.to_str().ok());
    let request_format = match format::request_format(header(header::CONTENT_TYPE)) {
        Ok(f) => f,
        Err(rejection) => return refuse(rejection),
    };
    match format::response_format(header(header::ACCEPT), req.format_param) {
        Ok(Format::Json) => {}
        Ok(Format::Xml) => {
            return refuse(Rejection {
                status: 406,
                issues: vec![ponte_fhir::Issue::error(
                    "not-supported",
                    "xml_not_supported",
                    "FHIR XML answers are not supported yet; ask for application/fhir+json",
                    "Le risposte FHIR in XML non sono ancora supportate; richiedere application/fhir+json",
                    None,
                )],
            });
        }
        Err(rejection) => return refuse(rejection),
    }
    let digest: [u8; 32] = Sha256::digest(&req.body).into();
    let agency = req.peer.agency().to_string();

    let header_key = req
        .headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(key) = &header_key
        && let Some(replay) = replay_or_refuse(state, &agency, key, &digest).await
    {
        return replay;
    }

    let parsed = match parse::parse(&req.body, request_format, &parse::Limits::default()) {
        Ok(parsed) => parsed,
        Err(rejection) => return refuse(rejection),
    };
    let bundle_identifier = bundle_identifier(&parsed.json);
    let key = header_key.or_else(|| {
        bundle_identifier
            .as_ref()
            .map(|(system, value)| format!("{system}|{value}"))
    });
    if let Some(key) = &key
        && let Some(replay) = replay_or_refuse(state, &agency, key, &digest).await
    {
        return replay;
    }
    let _guard = match &key {
        Some(key) => match state.in_flight.enter(&agency, key) {
            Some(guard) => Some(guard),
            None => {
                return Problem::new(
                    StatusCode::CONFLICT,
                    "idempotency_in_progress",
                    "a submission with this idempotency key is still being processed",
                )
                .into_response();
            }
        },
        None => None,
    };

    let mut issues = parsed.warnings.clone();
    issues.extend(bundle::check(&parsed));
    let (facts, profile_issues) = profile::check(&parsed.json, &profile::ProfileLimits::default());
    issues.extend(profile_issues);
    let facts = match facts {
        Some(facts) if !has_errors(&issues) => facts,
        _ => {
            return refuse(Rejection {
                status: 422,
                issues,
            });
        }
    };

    let submission_id = uuid::Uuid::now_v7().to_string();
    let task_id = uuid::Uuid::now_v7().to_string();
    let now = crate::evidence::now_rfc3339();
    let focus = format!("Bundle/{submission_id}");
    let task_json = task::task_resource(&task::TaskView {
        id: &task_id,
        status: "received",
        business_status: Some("ricevuto"),
        focus: &focus,
        identifier: bundle_identifier
            .as_ref()
            .map(|(s, v)| (s.as_str(), v.as_str())),
        requester: &agency,
        authored_on: &now,
        last_modified: &now,
        outputs: &[],
    });
    let response_body = serde_json::to_vec(&task_json).unwrap_or_default();
    let exchange_id = ExchangeId::new();
    let exchange = NewExchange {
        id: exchange_id,
        at: OffsetDateTime::now_utc(),
        direction: Direction::Inbound,
        agency: Some(req.peer.agency().clone()),
        fingerprint: Some(req.peer.fingerprint()),
        peer_addr: Some(req.conn.peer_addr),
        request_id: req.request_id.clone(),
        method: "POST".to_owned(),
        route: req.route.to_owned(),
        body_sha256: Some(digest),
        body_size: req.body.len() as u64,
        outcome: Outcome::Ok,
        status: Some(201),
        reason: None,
        objects: [
            ("submission".to_owned(), submission_id.clone()),
            ("task".to_owned(), task_id.clone()),
        ]
        .into(),
        body: Some(req.body.to_vec()),
    };
    let submission = NewSubmission {
        exchange,
        id: submission_id,
        task_id: task_id.clone(),
        kind: facts.kind.code().to_owned(),
        act: facts.act.code().to_owned(),
        content_type: "application/fhir+json".to_owned(),
        parsed: serde_json::to_vec(&parsed.json).unwrap_or_default(),
        identifier: bundle_identifier,
        idempotency_key: key.clone(),
        response: response_body.clone(),
        status: 201,
    };
    let accepted = state
        .store
        .accept_submission(
            submission,
            Arc::clone(&state.evidence.key),
            state.evidence.origin.clone(),
        )
        .await;
    match accepted {
        Ok(accepted) => created(&task_id, response_body, &accepted.receipt),
        Err(Error::Conflict) => match key {
            // Lost a race with an identical submission from another
            // connection: answer as a retry would be answered.
            Some(key) => replay_or_refuse(state, &agency, &key, &digest)
                .await
                .unwrap_or_else(|| Problem::internal().into_response()),
            None => Problem::internal().into_response(),
        },
        Err(error) => crate::edge::store_problem(&error).into_response(),
    }
}

/// The stored first answer for `key` (replayed when the payload is the
/// same, 422 when it differs), or `None` when the key is new.
async fn replay_or_refuse<S: Store>(
    state: &AppState<S>,
    agency: &str,
    key: &str,
    digest: &[u8; 32],
) -> Option<Response> {
    match state
        .store
        .idempotent_answer(agency.to_owned(), key.to_owned())
        .await
    {
        Ok(None) => None,
        Ok(Some(first)) if &first.request_sha256 == digest => {
            Some(created(&first.task_id, first.response, &first.receipt))
        }
        Ok(Some(_)) => Some(refuse(Rejection {
            status: 422,
            issues: vec![ponte_fhir::Issue::error(
                "business-rule",
                "idempotency_key_reused",
                "this idempotency key (or Bundle.identifier) was already used for a different payload",
                "questa chiave di idempotenza (o Bundle.identifier) è già stata usata per un contenuto diverso",
                Some("Bundle.identifier".to_owned()),
            )],
        })),
        Err(error) => Some(crate::edge::store_problem(&error).into_response()),
    }
}

fn created(task_id: &str, body: Vec<u8>, receipt: &str) -> Response {
    let mut response = (StatusCode::CREATED, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    if let Ok(location) = HeaderValue::from_str(&format!("/fhir/Task/{task_id}")) {
        headers.insert(header::LOCATION, location);
    }
    if let Ok(receipt) = HeaderValue::from_str(receipt) {
        headers.insert(RECEIPT_HEADER, receipt);
    }
    response.extensions_mut().insert(ExchangeRecorded);
    response
}

/// A refusal: its OperationOutcome, and the first error's rule as the code
/// recorded with the exchange.
fn refuse(rejection: Rejection) -> Response {
    let status = StatusCode::from_u16(rejection.status).unwrap_or(StatusCode::BAD_REQUEST);
    let rule = rejection
        .issues
        .iter()
        .find(|i| {
            matches!(
                i.severity,
                ponte_fhir::Severity::Error | ponte_fhir::Severity::Fatal
            )
        })
        .map_or("invalid", |i| i.rule);
    Problem::with_outcome(
        status,
        rule,
        "the submission was refused",
        outcome::operation_outcome(&rejection.issues),
    )
    .into_response()
}

fn has_errors(issues: &[ponte_fhir::Issue]) -> bool {
    issues.iter().any(|i| {
        matches!(
            i.severity,
            ponte_fhir::Severity::Error | ponte_fhir::Severity::Fatal
        )
    })
}

fn bundle_identifier(json: &serde_json::Value) -> Option<(String, String)> {
    let id = &json["identifier"];
    Some((
        id["system"].as_str()?.to_owned(),
        id["value"].as_str()?.to_owned(),
    ))
}
