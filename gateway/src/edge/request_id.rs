//! `X-Request-Id`: keep a well-formed one from the client, else make one.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;

const HEADER: &str = "x-request-id";

/// The request id, in request extensions for every inner layer.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Middleware: ensure a request id and echo it on the response.
///
/// A client-supplied id is kept only if it is 1-64 characters of
/// `[A-Za-z0-9._-]`: it goes into logs and records, so nothing else is let
/// through.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let supplied = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| well_formed(v))
        .map(str::to_owned);
    let id = supplied.unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(req).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

fn well_formed(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_tame_ids_are_kept() {
        assert!(super::well_formed("abc-123_x.y"));
        assert!(!super::well_formed(""));
        assert!(!super::well_formed("a b"));
        assert!(!super::well_formed("<script>"));
        assert!(!super::well_formed(&"a".repeat(65)));
    }
}
