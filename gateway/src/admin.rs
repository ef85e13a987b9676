//! The admin listener (plain HTTP, loopback by default): `/metrics`,
//! `/healthz` (the process answers) and `/readyz` (the store can take
//! writes). No client data is reachable here.

use std::future::Future;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;
use tokio::net::TcpListener;

use crate::metrics::Metrics;
use crate::store::Store;

#[derive(Clone)]
struct AdminState<S> {
    store: S,
    metrics: Metrics,
}

/// The admin router.
pub fn router<S: Store>(store: S, metrics: Metrics) -> Router {
    Router::new()
        .route("/metrics", get(metrics_text::<S>))
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(readyz::<S>))
        .with_state(AdminState { store, metrics })
}

/// Serves the admin router until `shutdown` resolves.
pub async fn serve<S: Store>(
    listener: TcpListener,
    store: S,
    metrics: Metrics,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(store, metrics))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn metrics_text<S: Store>(State(state): State<AdminState<S>>) -> Response {
    match state.metrics.render() {
        Ok(body) => {
            let mut response = body.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            response
        }
        Err(error) => {
            tracing::error!(error = %error, "Metrics could not be rendered.");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn readyz<S: Store>(State(state): State<AdminState<S>>) -> Response {
    match state.store.ready().await {
        Ok(()) => Json(json!({"ready": true})).into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"ready": false, "reason": error.code()})),
        )
            .into_response(),
    }
}
