//! FHIR answers in the format the client asked for: `application/fhir+json`
//! or `application/fhir+xml`, chosen by `_format` over `Accept`.

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use ponte_fhir::{Format, Rejection, format, xml};

/// The answer format a `/fhir` request asked for.
pub fn wanted(headers: &HeaderMap, uri: &Uri) -> Result<Format, Rejection> {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let param = uri.query().and_then(|q| {
        q.split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == "_format")
            .map(|(_, v)| {
                v.replace("%2B", "+")
                    .replace("%2b", "+")
                    .replace("%2F", "/")
            })
    });
    format::response_format(accept, param.as_deref())
}

/// A FHIR resource as an answer.
pub fn respond(status: StatusCode, value: &serde_json::Value, format: Format) -> Response {
    let (content_type, body) = match format {
        Format::Json => (
            "application/fhir+json",
            serde_json::to_vec(value).unwrap_or_default(),
        ),
        Format::Xml => match xml::json_to_xml(value) {
            Ok(text) => ("application/fhir+xml", text.into_bytes()),
            Err(_) => {
                // Ponte's own resources always serialise; should one not,
                // answer in JSON rather than not at all.
                tracing::error!("A FHIR answer could not be written as XML.");
                (
                    "application/fhir+json",
                    serde_json::to_vec(value).unwrap_or_default(),
                )
            }
        },
    };
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
