//! The routes. Handlers stay thin: extract, call one service, answer.

mod audit;
mod fhir;
mod filings;
mod registry;

use axum::extract::Extension;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::StatusCode;
use serde_json::json;

use super::{AppState, Problem};
use crate::identity::Peer;
use crate::store::Store;

/// Every route of the HTTPS listener, without the stack's layers.
pub fn routes<S: Store>(state: AppState<S>) -> Router {
    Router::new()
        .route("/whoami", get(whoami))
        .merge(audit::routes())
        .merge(fhir::routes())
        .merge(filings::routes())
        .merge(registry::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// `GET /whoami`: the identity the gateway derived from the client
/// certificate. A probe for clients and operators setting up an agency.
async fn whoami(Extension(peer): Extension<Peer>) -> Response {
    Json(json!({
        "agency": peer.agency(),
        "roles": peer.roles(),
        "fingerprint": peer.fingerprint(),
        "subject": peer.subject(),
    }))
    .into_response()
}

async fn not_found() -> Response {
    Problem::new(StatusCode::NOT_FOUND, "not_found", "no such route").into_response()
}

async fn method_not_allowed() -> Response {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
    .into_response()
}

/// Store errors as answers.
pub(crate) fn store_problem(error: &crate::store::Error) -> Problem {
    use crate::store::Error;
    match error {
        Error::NotFound => Problem::new(StatusCode::NOT_FOUND, error.code(), "no such record"),
        Error::Purged => Problem::new(
            StatusCode::GONE,
            error.code(),
            "the content was purged under the retention policy; its digest and size are kept",
        ),
        Error::OutOfRange => Problem::new(
            StatusCode::BAD_REQUEST,
            error.code(),
            "index or size beyond the log",
        ),
        Error::Conflict => Problem::new(StatusCode::CONFLICT, error.code(), "conflicting record"),
        Error::Unavailable(_) => {
            Problem::unavailable(error.code(), "the store is unavailable right now", 5)
        }
        Error::SchemaTooNew { .. } | Error::Other(_) => {
            tracing::error!(error = %error, "Store failure.");
            Problem::internal()
        }
    }
}
