//! Errors as HTTP answers: RFC 9457 problem+json, or a FHIR OperationOutcome
//! on `/fhir`.
//!
//! Layers and handlers return a [`Problem`]; it travels as a response
//! extension with an empty body until the `rescue` layer renders it in the
//! format the route calls for. That way no inner layer needs to know the
//! route's error format, and there is one place where errors become bodies.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

/// An error answer.
#[derive(Clone, Debug)]
pub struct Problem {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable snake_case code (`role_not_allowed`, `body_too_large`, …).
    pub code: &'static str,
    /// One-line English summary, the same for every occurrence of `code`.
    pub title: &'static str,
    /// Occurrence-specific detail; never personal data or internals.
    pub detail: Option<String>,
    /// Seconds for `Retry-After` on 503.
    pub retry_after: Option<u32>,
    /// A complete FHIR OperationOutcome to answer on `/fhir` instead of the
    /// one built from this problem (validation reports many issues).
    pub outcome: Option<serde_json::Value>,
}

// === impl Problem ===

impl Problem {
    /// A problem with no detail.
    pub fn new(status: StatusCode, code: &'static str, title: &'static str) -> Self {
        Self {
            status,
            code,
            title,
            detail: None,
            retry_after: None,
            outcome: None,
        }
    }

    /// A problem whose `/fhir` answer is the given OperationOutcome.
    pub fn with_outcome(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        outcome: serde_json::Value,
    ) -> Self {
        Self {
            outcome: Some(outcome),
            ..Self::new(status, code, title)
        }
    }

    /// Adds a detail sentence.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// 503 with Retry-After.
    pub fn unavailable(code: &'static str, title: &'static str, retry_after: u32) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, code, title)
        }
    }

    /// 500 that says nothing internal; the request id lets an operator
    /// find the detail in the log.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "internal error; quote the request id to the operator",
        )
    }

    /// The body and content type for a request to `path`.
    pub fn render(&self, path: &str, request_id: Option<&str>) -> Response {
        let (content_type, body) = if path == "/fhir" || path.starts_with("/fhir/") {
            let outcome = match &self.outcome {
                Some(outcome) => {
                    let mut outcome = outcome.clone();
                    if let Some(id) = request_id {
                        outcome["id"] = json!(id);
                    }
                    outcome
                }
                None => self.operation_outcome(request_id),
            };
            ("application/fhir+json", outcome)
        } else {
            ("application/problem+json", self.problem_json(request_id))
        };
        let mut response = Response::new(Body::from(body.to_string()));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }

    fn problem_json(&self, request_id: Option<&str>) -> serde_json::Value {
        let mut body = json!({
            "type": format!("urn:ponte:problem:{}", self.code),
            "title": self.title,
            "status": self.status.as_u16(),
            "code": self.code,
        });
        if let Some(detail) = &self.detail {
            body["detail"] = json!(detail);
        }
        if let Some(id) = request_id {
            body["instance"] = json!(format!("urn:ponte:request:{id}"));
        }
        body
    }

    fn operation_outcome(&self, request_id: Option<&str>) -> serde_json::Value {
        let issue_code = match self.status.as_u16() {
            401 => "login",
            403 => "forbidden",
            404 => "not-found",
            408 => "timeout",
            409 => "conflict",
            413 => "too-long",
            400..=499 => "invalid",
            503 => "transient",
            _ => "exception",
        };
        let mut issue = json!({
            "severity": "error",
            "code": issue_code,
            "details": {
                "coding": [{"system": "urn:ponte:problem", "code": self.code}],
                "text": self.title,
            },
        });
        if let Some(detail) = &self.detail {
            issue["diagnostics"] = json!(detail);
        }
        let mut outcome = json!({"resourceType": "OperationOutcome", "issue": [issue]});
        if let Some(id) = request_id {
            outcome["id"] = json!(id);
        }
        outcome
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = self.status;
        response.extensions_mut().insert(self);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_json(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn renders_problem_json_outside_fhir() {
        let p = Problem::new(StatusCode::FORBIDDEN, "role_not_allowed", "no").detail("d");
        let r = p.render("/audit/checkpoint", Some("rid"));
        assert_eq!(r.status(), 403);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let body = body_json(r).await;
        assert_eq!(body["code"], "role_not_allowed");
        assert_eq!(body["status"], 403);
        assert_eq!(body["instance"], "urn:ponte:request:rid");
    }

    #[tokio::test]
    async fn renders_operation_outcome_on_fhir() {
        let p = Problem::unavailable("store_unavailable", "down", 2);
        let r = p.render("/fhir/Bundle", None);
        assert_eq!(r.headers()["retry-after"], "2");
        assert_eq!(r.headers()["content-type"], "application/fhir+json");
        let body = body_json(r).await;
        assert_eq!(body["resourceType"], "OperationOutcome");
        assert_eq!(body["issue"][0]["code"], "transient");
    }
}
