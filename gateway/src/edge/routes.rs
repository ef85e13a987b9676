//! The routes. Handlers stay thin: extract, call one service, answer.

use axum::extract::Extension;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::StatusCode;
use serde_json::json;

use super::Problem;
use crate::identity::Peer;

/// Every route of the HTTPS listener, without layers.
pub fn routes() -> Router {
    Router::new()
        .route("/whoami", get(whoami))
        .fallback(not_found)
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
