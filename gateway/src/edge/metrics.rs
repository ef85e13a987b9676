//! Request metrics: counts by route template, method, status and agency, and
//! a latency histogram. Sits outside `rescue` so it sees final statuses.

use std::time::Instant;

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::{AppState, ConnInfo};

/// Label for requests that matched no route: keeps the label set bounded
/// whatever paths clients invent.
const UNMATCHED: &str = "unmatched";

/// Middleware: record the request in metrics.
pub async fn record_metrics<S>(
    State(state): State<AppState<S>>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |p| p.as_str().to_owned());
    let method = req.method().clone();
    let agency = req
        .extensions()
        .get::<Arc<ConnInfo>>()
        .map_or("unknown", |c| c.agency_label())
        .to_owned();
    let response = next.run(req).await;
    let method = method_label(&method);
    state
        .metrics
        .http_duration
        .with_label_values(&[&route, method])
        .observe(started.elapsed().as_secs_f64());
    state
        .metrics
        .http_requests
        .with_label_values(&[&route, method, response.status().as_str(), &agency])
        .inc();
    response
}

/// Methods outside the standard set share one label.
fn method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::HEAD => "HEAD",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        http::Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}
