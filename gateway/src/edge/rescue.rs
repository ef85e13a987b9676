//! The only place an error becomes a response body.
//!
//! Inner layers and handlers answer with a [`Problem`] carried as a response
//! extension; this layer renders it as problem+json, or as a FHIR
//! OperationOutcome on `/fhir`. A panic caught inside arrives here as an
//! internal problem, with nothing internal in its body.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use super::{Problem, RequestId};

/// Middleware: render problems for the route's format.
pub async fn rescue(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let request_id = req.extensions().get::<RequestId>().cloned();
    let response = next.run(req).await;
    match response.extensions().get::<Problem>() {
        Some(problem) => {
            let mut rendered = problem.render(&path, request_id.as_ref().map(|r| r.0.as_str()));
            // Keep the problem visible to outer layers (metrics, logs).
            rendered.extensions_mut().insert(problem.clone());
            rendered
        }
        None => response,
    }
}

/// Turns a caught panic into an internal problem.
pub fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("Request handler panicked.");
    axum::response::IntoResponse::into_response(Problem::internal())
}
