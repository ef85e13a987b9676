//! `/fhir/…`: the FHIR R4 surface for health authorities (and the office
//! for Tasks). Answers are `application/fhir+json`; errors are
//! OperationOutcomes (rendered by `rescue`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, MatchedPath, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, StatusCode, Uri};
use serde::Deserialize;
use std::sync::Arc;

use super::store_problem;
use crate::edge::{AppState, ConnInfo, Problem, RequestId, fhir_body};
use crate::identity::{Peer, Role};
use crate::intake;
use crate::store::{Store, TaskFilter, TaskRecord};

pub(super) fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/fhir/metadata", get(metadata))
        .route("/fhir/Bundle", post(submit::<S>))
        .route("/fhir/$process-message", post(submit::<S>))
        .route("/fhir/Task/{id}", get(read_task::<S>))
        .route("/fhir/Task", get(search_tasks::<S>))
}

/// `GET /fhir/metadata`: what this server really supports.
async fn metadata(headers: HeaderMap, uri: Uri) -> Response {
    let now = crate::evidence::now_rfc3339();
    answer(
        &headers,
        &uri,
        ponte_fhir::capability::capability_statement(env!("CARGO_PKG_VERSION"), &now, true),
    )
}

/// `POST /fhir/Bundle` (document or message Bundle) and
/// `POST /fhir/$process-message` (message Bundle): a capacity report or
/// TSO proposal.
#[allow(clippy::too_many_arguments)] // axum extractors, one per argument
async fn submit<S: Store>(
    State(state): State<AppState<S>>,
    Extension(peer): Extension<Peer>,
    Extension(conn): Extension<Arc<ConnInfo>>,
    request_id: Option<Extension<RequestId>>,
    path: MatchedPath,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        // The body_limit layer's Limited body fails the read past the limit.
        Err(_) => {
            return crate::edge::too_large(state.server.fhir_body_limit.as_u64()).into_response();
        }
    };
    let route = if path.as_str() == "/fhir/Bundle" {
        "/fhir/Bundle"
    } else {
        "/fhir/$process-message"
    };
    intake::submit(
        &state,
        intake::Request {
            peer: &peer,
            conn: &conn,
            request_id: request_id.map(|Extension(r)| r.0),
            route,
            headers: &headers,
            uri: &uri,
            body,
        },
    )
    .await
}

/// `GET /fhir/Task/{id}`: the sender sees its own Tasks; the office all.
async fn read_task<S: Store>(
    State(state): State<AppState<S>>,
    Extension(peer): Extension<Peer>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    match state.store.task(id).await {
        Ok(task) if visible(&peer, &task) => answer(&headers, &uri, render(&task)),
        // Someone else's Task does not exist, as far as this caller knows.
        Ok(_) | Err(crate::store::Error::NotFound) => {
            Problem::new(StatusCode::NOT_FOUND, "not_found", "no such Task").into_response()
        }
        Err(e) => store_problem(&e).into_response(),
    }
}

#[derive(Deserialize)]
struct TaskSearch {
    identifier: Option<String>,
    status: Option<String>,
    #[serde(rename = "_count")]
    count: Option<u32>,
    #[serde(rename = "_format")]
    _format: Option<String>,
}

/// `GET /fhir/Task?identifier=[system|]value&status=…`.
async fn search_tasks<S: Store>(
    State(state): State<AppState<S>>,
    Extension(peer): Extension<Peer>,
    Query(q): Query<TaskSearch>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let filter = TaskFilter {
        agency: (!peer.has_role(Role::Office)).then(|| peer.agency().to_string()),
        identifier: q.identifier.map(|i| match i.split_once('|') {
            Some((system, value)) if !system.is_empty() => {
                (Some(system.to_owned()), value.to_owned())
            }
            Some((_, value)) => (None, value.to_owned()),
            None => (None, i),
        }),
        status: q.status,
        limit: q.count.unwrap_or(50).min(200),
    };
    match state.store.tasks(filter).await {
        Ok(tasks) => answer(
            &headers,
            &uri,
            ponte_fhir::task::searchset(tasks.iter().map(render).collect(), "/fhir/Task"),
        ),
        Err(e) => store_problem(&e).into_response(),
    }
}

fn visible(peer: &Peer, task: &TaskRecord) -> bool {
    peer.has_role(Role::Office) || task.agency == peer.agency().as_str()
}

fn render(task: &TaskRecord) -> serde_json::Value {
    let focus = format!("Bundle/{}", task.submission_id);
    let outputs: Vec<(&str, &str)> = task
        .outputs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    ponte_fhir::task::task_resource(&ponte_fhir::task::TaskView {
        id: &task.id,
        status: &task.status,
        business_status: task.business_status.as_deref(),
        focus: &focus,
        identifier: task
            .identifier_system
            .as_deref()
            .zip(task.identifier_value.as_deref()),
        requester: &task.agency,
        authored_on: &task.authored_on,
        last_modified: &task.last_modified,
        outputs: &outputs,
    })
}

/// 200 with `value` in the format asked for, or 406.
fn answer(headers: &HeaderMap, uri: &Uri, value: serde_json::Value) -> Response {
    match fhir_body::wanted(headers, uri) {
        Ok(format) => fhir_body::respond(StatusCode::OK, &value, format),
        Err(rejection) => crate::intake::refuse(rejection),
    }
}
