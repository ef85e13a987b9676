//! The request path, outermost layer first. Read this file to know what
//! happens to every HTTPS request between the TLS connection and a handler.

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use http::{Request, StatusCode};
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::{BoxError, ServiceBuilder};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use super::{
    AppState, Problem, RequestId, authorize, body_limit, exchange, metrics, request_id, rescue,
};
use crate::store::Store;

/// Wraps `routes` in every layer of the HTTPS stack.
pub fn stack<S: Store>(routes: Router, state: AppState<S>) -> Router {
    let layers = ServiceBuilder::new()
        // Outermost: every later layer and log line can quote the id.
        .layer(from_fn(request_id::request_id))
        // One span per request with ids only, never payloads or queries.
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        // Sees the final status, rescued errors included.
        .layer(from_fn_with_state(state.clone(), metrics::record_metrics))
        // The only place a Problem becomes a body (problem+json or FHIR).
        .layer(from_fn(rescue::rescue))
        // A panicking handler becomes a 500; the process lives on.
        .layer(CatchPanicLayer::custom(rescue::panic_response))
        // Every request, refused ones included, is recorded before its
        // answer leaves; inside `rescue` so a store failure is a 503 problem.
        .layer(from_fn_with_state(
            state.clone(),
            exchange::record_exchange::<S>,
        ))
        // Overload and slowness become answers, not queues:
        // 503 + Retry-After when full, 408 when a request takes too long.
        .layer(HandleErrorLayer::new(overload_response))
        .load_shed()
        // One semaphore for every route (axum layers each route apart).
        .layer(GlobalConcurrencyLimitLayer::new(
            state.server.max_concurrent_requests,
        ))
        .timeout(state.server.request_timeout)
        // 413 before anything reads the body.
        .layer(from_fn_with_state(
            state.clone(),
            body_limit::body_limit::<S>,
        ))
        // Role × route from config; puts the `Peer` in the extensions.
        .layer(from_fn_with_state(state, authorize::authorize::<S>));
    routes
        // body_limit enforces the configured limits; axum's own default
        // (2 MB) would otherwise cut /fhir uploads short.
        .layer(DefaultBodyLimit::disable())
        .layer(layers)
        // Turn handlers into services once, now: otherwise axum re-applies
        // the layers on every request, and limits such as the concurrency
        // semaphore would be per request instead of shared.
        .with_state(())
}

fn request_span<B>(req: &Request<B>) -> tracing::Span {
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map_or("", |r| r.0.as_str());
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |p| p.as_str());
    tracing::debug_span!("request", request_id, method = %req.method(), route)
}

async fn overload_response(error: BoxError) -> Response {
    if error.is::<tower::timeout::error::Elapsed>() {
        Problem::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request took longer than the gateway allows",
        )
        .into_response()
    } else if error.is::<tower::load_shed::error::Overloaded>() {
        Problem::unavailable("overloaded", "the gateway is at capacity; retry later", 1)
            .into_response()
    } else {
        tracing::error!(error = %error, "Unexpected middleware error.");
        Problem::internal().into_response()
    }
}
