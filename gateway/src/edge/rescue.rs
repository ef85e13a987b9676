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
    let fhir_format =
        super::fhir_body::wanted(req.headers(), req.uri()).unwrap_or(ponte_fhir::Format::Json);
    let request_id = req.extensions().get::<RequestId>().cloned();
    let response = next.run(req).await;
    let response = if is_bare_error(&response) {
        adopt(response).await
    } else {
        response
    };
    match response.extensions().get::<Problem>() {
        Some(problem) => {
            let mut rendered = problem.render(&path, request_id.as_ref().map(|r| r.0.as_str()));
            if fhir_format == ponte_fhir::Format::Xml
                && (path == "/fhir" || path.starts_with("/fhir/"))
            {
                rendered = xml_outcome(rendered).await;
            }
            // Keep the problem visible to outer layers (metrics, logs).
            rendered.extensions_mut().insert(problem.clone());
            rendered
        }
        None => response,
    }
}

/// Re-renders a JSON OperationOutcome answer as FHIR XML.
async fn xml_outcome(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return Response::from_parts(parts, axum::body::Body::empty());
    };
    match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(outcome) => {
            let mut xml =
                super::fhir_body::respond(parts.status, &outcome, ponte_fhir::Format::Xml);
            for (name, value) in &parts.headers {
                if name != http::header::CONTENT_TYPE && name != http::header::CONTENT_LENGTH {
                    xml.headers_mut().insert(name.clone(), value.clone());
                }
            }
            xml
        }
        Err(_) => Response::from_parts(parts, axum::body::Body::from(bytes)),
    }
}

/// An error answer from outside our code (an axum extractor rejecting a
/// malformed query or path, say) that has no problem attached.
fn is_bare_error(response: &Response) -> bool {
    (response.status().is_client_error() || response.status().is_server_error())
        && response.extensions().get::<Problem>().is_none()
}

/// Gives a bare error answer a problem, keeping its text as the detail.
async fn adopt(response: Response) -> Response {
    let status = response.status();
    let (code, title) = match status.as_u16() {
        400 => ("bad_request", "the request is malformed"),
        404 => ("not_found", "no such route"),
        405 => ("method_not_allowed", "this route does not take that method"),
        406 => ("not_acceptable", "no acceptable response format"),
        408 => (
            "request_timeout",
            "the request took longer than the gateway allows",
        ),
        413 => (
            "body_too_large",
            "request body larger than this route accepts",
        ),
        415 => ("unsupported_media_type", "unsupported request body format"),
        422 => (
            "unprocessable",
            "the request is well-formed but cannot be processed",
        ),
        401..=499 => ("bad_request", "the request cannot be served"),
        _ => (
            "internal_error",
            "internal error; quote the request id to the operator",
        ),
    };
    let text = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .map(|b| {
            String::from_utf8_lossy(&b)
                .chars()
                .take(300)
                .collect::<String>()
        })
        .unwrap_or_default();
    let mut problem = Problem::new(status, code, title);
    if status.is_client_error() && !text.is_empty() {
        problem = problem.detail(text);
    }
    axum::response::IntoResponse::into_response(problem)
}

/// Turns a caught panic into an internal problem.
pub fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("Request handler panicked.");
    axum::response::IntoResponse::into_response(Problem::internal())
}
