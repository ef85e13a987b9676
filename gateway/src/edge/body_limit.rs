//! Body-size limits, enforced before any parsing.
//!
//! A declared `Content-Length` over the limit is refused at once with 413.
//! A body without one (chunked) is wrapped so that reading past the limit
//! fails; handlers turn that failure into the same 413.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};

use super::{AppState, Problem};

/// Middleware: refuse bodies over the route's limit.
pub async fn body_limit<S>(State(state): State<AppState<S>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let limit = if path == "/fhir" || path.starts_with("/fhir/") {
        state.server.fhir_body_limit.as_u64()
    } else {
        state.server.body_limit.as_u64()
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        state
            .metrics
            .http_refusals
            .with_label_values(&["body_too_large"])
            .inc();
        return too_large(limit).into_response();
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let req = req.map(|body| Body::new(http_body_util::Limited::new(body, limit)));
    next.run(req).await
}

/// The 413 answer for a body over `limit` bytes.
pub fn too_large(limit: u64) -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        "request body larger than this route accepts",
    )
    .detail(format!("the limit on this route is {limit} bytes"))
}
