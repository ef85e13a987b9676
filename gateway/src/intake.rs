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
        // The lock is released at the end of this statement, before any
        // guard exists: a guard's Drop takes the lock again.
        let inserted = self.0.lock().ok()?.insert(key.clone());
        // Lazily: a guard built for a key that was already in flight would,
        // when dropped, remove the other attempt's key.
        inserted.then(|| InFlightGuard { set: self, key })
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
    /// The request URI (for `_format`).
    pub uri: &'a http::Uri,
    /// The body.
    pub body: Bytes,
}

/// The parser's limits from the configuration.
pub fn limits(config: &crate::config::FhirConfig) -> parse::Limits {
    parse::Limits {
        unknown_elements: match config.unknown_elements {
            crate::config::UnknownElementsPolicy::Refuse => parse::UnknownElements::Refuse,
            crate::config::UnknownElementsPolicy::Warn => parse::UnknownElements::Warn,
        },
        max_attachment_bytes: usize::try_from(config.max_attachment.as_u64()).unwrap_or(usize::MAX),
        ..parse::Limits::default()
    }
}

/// Handles a submission end to end.
pub async fn submit<S: Store>(state: &AppState<S>, req: Request<'_>) -> Response {
    let header = |name: header::HeaderName| req.headers.get(name).and_then(|v| v.to_str().ok());
    let request_format = match format::request_format(header(header::CONTENT_TYPE)) {
        Ok(f) => f,
        Err(rejection) => return refuse(rejection),
    };
    let answer_format = match crate::edge::fhir_body::wanted(req.headers, req.uri) {
        Ok(f) => f,
        Err(rejection) => return refuse(rejection),
    };
    let digest: [u8; 32] = Sha256::digest(&req.body).into();
    let agency = req.peer.agency().to_string();

    let header_key = req
        .headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(key) = &header_key
        && let Some(replay) = replay_or_refuse(state, &agency, key, &digest, answer_format).await
    {
        return replay;
    }

    let parsed = match parse::parse(&req.body, request_format, &state.fhir_limits) {
        Ok(parsed) => parsed,
        Err(rejection) => return refuse(rejection),
    };
    let bundle_identifier = bundle_identifier(&parsed.json);
    // A document is identified by its Bundle.identifier: a retry without
    // the header is still a retry.
    let bundle_key = bundle_identifier
        .as_ref()
        .map(|(system, value)| format!("{system}|{value}"));
    if let Some(key) = &bundle_key
        && let Some(replay) = replay_or_refuse(state, &agency, key, &digest, answer_format).await
    {
        return replay;
    }
    let keys: Vec<String> = header_key.into_iter().chain(bundle_key).collect();
    let key = keys.first().cloned();
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
    let process_message = req.route == "/fhir/$process-message";
    if process_message && parsed.json["type"] != "message" {
        issues.push(ponte_fhir::Issue::error(
            "invariant",
            "not_a_message",
            "$process-message takes a message Bundle (Bundle.type = message)",
            "$process-message accetta un Bundle di tipo messaggio (Bundle.type = message)",
            Some("Bundle.type".to_owned()),
        ));
    }
    issues.extend(bundle::check(&parsed));
    let (facts, profile_issues) = profile::check(
        &parsed.json,
        &profile::ProfileLimits {
            max_attachment_bytes: state.fhir_limits.max_attachment_bytes,
        },
    );
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
    let (status, response_json) = if process_message {
        (200, message_response(&parsed.json, &task_json, &now))
    } else {
        (201, task_json)
    };
    let response_body = serde_json::to_vec(&response_json).unwrap_or_default();
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
        status: Some(status),
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
        kind: match facts.kind {
            profile::Kind::CapacityReport => "capacity-report",
            profile::Kind::TsoProposal => "tso-proposal",
            profile::Kind::AdsAccounts => "ads-accounts",
        }
        .to_owned(),
        act: facts.act.code().to_owned(),
        content_type: match request_format {
            Format::Json => "application/fhir+json",
            Format::Xml => "application/fhir+xml",
        }
        .to_owned(),
        parsed: serde_json::to_vec(&parsed.json).unwrap_or_default(),
        identifier: bundle_identifier,
        idempotency_keys: keys.clone(),
        response: response_body.clone(),
        status,
    };
    let accepted = state
        .store
        .accept_submission(
            submission,
            Arc::clone(&state.evidence.key),
            state.evidence.origin.clone(),
        )
        .await;
    if accepted.is_ok() {
        state.pipeline_wake.notify_one();
    }
    match accepted {
        // `Prefer: return=OperationOutcome` (FHIR RESTful API): the sender
        // gets the warnings (e.g. unknown elements kept under the `warn`
        // policy) instead of the Task; Location still names the Task.
        Ok(accepted) if wants_outcome(req.headers) => {
            let mut notes = issues.clone();
            notes.push(
                ponte_fhir::Issue::error(
                    "informational",
                    "accepted",
                    format!("accepted as Task/{task_id}"),
                    format!("accettato come Task/{task_id}"),
                    None,
                )
                .information(),
            );
            let body = serde_json::to_vec(&outcome::operation_outcome(&notes)).unwrap_or_default();
            created(status, &task_id, &body, &accepted.receipt, answer_format)
        }
        Ok(accepted) => created(
            status,
            &task_id,
            &response_body,
            &accepted.receipt,
            answer_format,
        ),
        Err(Error::Conflict) => {
            // Lost a race with a submission under one of the same keys:
            // answer as a retry would be answered.
            for key in &keys {
                if let Some(answer) =
                    replay_or_refuse(state, &agency, key, &digest, answer_format).await
                {
                    return answer;
                }
            }
            Problem::internal().into_response()
        }
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
    format: Format,
) -> Option<Response> {
    match state
        .store
        .idempotent_answer(agency.to_owned(), key.to_owned())
        .await
    {
        Ok(None) => None,
        // A replay is a new exchange: the layer records it (nothing is
        // stored again; the first answer is given back).
        Ok(Some(first)) if &first.request_sha256 == digest => Some(replayed(created(
            first.status,
            &first.task_id,
            &first.response,
            &first.receipt,
            format,
        ))),
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

fn created(status: u16, task_id: &str, body: &[u8], receipt: &str, format: Format) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED);
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let mut response = crate::edge::fhir_body::respond(status, &value, format);
    let headers = response.headers_mut();
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
pub(crate) fn refuse(rejection: Rejection) -> Response {
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

/// The synchronous answer of `$process-message`: a response message whose
/// MessageHeader acknowledges the request's and points at the new Task.
fn message_response(
    request: &serde_json::Value,
    task: &serde_json::Value,
    now: &str,
) -> serde_json::Value {
    let header = &request["entry"][0]["resource"];
    let task_id = task["id"].as_str().unwrap_or_default();
    serde_json::json!({
        "resourceType": "Bundle",
        "id": uuid::Uuid::now_v7().to_string(),
        "type": "message",
        "timestamp": now,
        "entry": [
            {
                "fullUrl": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
                "resource": {
                    "resourceType": "MessageHeader",
                    "eventCoding": header["eventCoding"],
                    "source": {"name": "Ponte", "endpoint": "urn:ponte:gateway"},
                    "response": {
                        "identifier": header["id"].as_str().unwrap_or_default(),
                        "code": "ok"
                    },
                    "focus": [{"reference": format!("Task/{task_id}")}]
                }
            },
            {"fullUrl": format!("Task/{task_id}"), "resource": task}
        ]
    })
}

/// Lets the exchange layer record a replayed answer like any other request.
fn replayed(mut response: Response) -> Response {
    response.extensions_mut().remove::<ExchangeRecorded>();
    response
}

fn wants_outcome(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(&[',', ';'])
                .any(|p| p.trim() == "return=OperationOutcome")
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_in_flight_is_refused_until_the_first_attempt_ends() {
        let in_flight = InFlight::default();
        let first = in_flight
            .enter("asl3-genovese", "k")
            .expect("first attempt");
        assert!(
            in_flight.enter("asl3-genovese", "k").is_none(),
            "409 while in flight"
        );
        // Another agency's identical key is a different submission.
        assert!(in_flight.enter("asl5-spezzino", "k").is_some());
        drop(first);
        assert!(
            in_flight.enter("asl3-genovese", "k").is_some(),
            "free again"
        );
    }

    #[test]
    fn bundle_identifier_is_system_and_value() {
        let json = serde_json::json!({"identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:1"}});
        assert_eq!(
            bundle_identifier(&json),
            Some(("urn:ietf:rfc:3986".to_owned(), "urn:uuid:1".to_owned()))
        );
        assert_eq!(
            bundle_identifier(&serde_json::json!({"identifier": {"value": "x"}})),
            None
        );
    }
}
