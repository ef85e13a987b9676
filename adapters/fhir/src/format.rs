//! Content negotiation for the FHIR endpoints: which [`Format`] a request
//! body is in (`Content-Type`) and which one the answer should be in
//! (`_format`, then `Accept`).
//!
//! This module only reads header and query values already extracted by the
//! caller; it does not read bodies, and it does not know whether XML can be
//! produced yet: [`response_format`] may answer [`Format::Xml`], and a caller
//! that cannot write XML answers 406 itself (see [`not_acceptable`]).

use crate::{Format, Issue, Rejection};

/// The format of a request body, from its `Content-Type`.
///
/// `application/fhir+json` and `application/json` are JSON;
/// `application/fhir+xml` and `application/xml` are XML. Parameters are
/// allowed, but a `charset` must be UTF-8 (the only encoding FHIR allows)
/// and a `fhirVersion` must be 4.0 (R4). Anything else, or no
/// `Content-Type` at all, is refused with 415.
pub fn request_format(content_type: Option<&str>) -> Result<Format, Rejection> {
    let Some(content_type) = content_type.filter(|c| !c.trim().is_empty()) else {
        return Err(unsupported(
            "missing Content-Type: send application/fhir+json",
            "Content-Type mancante: inviare application/fhir+json",
        ));
    };
    let media = MediaType::parse(content_type);
    let format = match media.essence.as_str() {
        "application/fhir+json" | "application/json" => Format::Json,
        "application/fhir+xml" | "application/xml" => Format::Xml,
        _ => {
            return Err(unsupported(
                "unsupported Content-Type: send application/fhir+json",
                "Content-Type non supportato: inviare application/fhir+json",
            ));
        }
    };
    for (name, value) in &media.params {
        match name.as_str() {
            "charset"
                if !value.eq_ignore_ascii_case("utf-8") && !value.eq_ignore_ascii_case("utf8") =>
            {
                return Err(unsupported(
                    "unsupported charset: FHIR bodies must be UTF-8",
                    "charset non supportato: i contenuti FHIR devono essere in UTF-8",
                ));
            }
            "fhirversion" if !is_r4(value) => {
                return Err(unsupported(
                    "unsupported fhirVersion: this server speaks FHIR R4 (4.0)",
                    "fhirVersion non supportata: questo server usa FHIR R4 (4.0)",
                ));
            }
            _ => {}
        }
    }
    Ok(format)
}

/// The format of the response: the `_format` query parameter if present,
/// otherwise the best match in `Accept`.
///
/// `_format` may be `json`, `xml` or a media type (`application/fhir+json`,
/// `application/json`, `application/fhir+xml`, `application/xml`,
/// `text/xml`); an unknown value is refused with 406. `Accept` is read with
/// its q-values (the most specific range decides each format's weight,
/// `q=0` excludes); `*/*`, `application/*`, an absent or empty `Accept` give
/// JSON, and JSON wins ties. If neither format is acceptable: 406.
pub fn response_format(
    accept: Option<&str>,
    format_param: Option<&str>,
) -> Result<Format, Rejection> {
    if let Some(param) = format_param.map(str::trim).filter(|p| !p.is_empty()) {
        // A `+` in a query string is often decoded to a space.
        let param = param.replace(' ', "+");
        let media = MediaType::parse(&param);
        return match media.essence.as_str() {
            "json" | "application/fhir+json" | "application/json" => Ok(Format::Json),
            "xml" | "application/fhir+xml" | "application/xml" | "text/xml" => Ok(Format::Xml),
            _ => Err(not_acceptable()),
        };
    }
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(Format::Json);
    };
    let json = weight(accept, Format::Json);
    let xml = weight(accept, Format::Xml);
    if json <= 0.0 && xml <= 0.0 {
        Err(not_acceptable())
    } else if json >= xml {
        Ok(Format::Json)
    } else {
        Ok(Format::Xml)
    }
}

/// The 406 refusal: no format the client accepts can be produced.
pub fn not_acceptable() -> Rejection {
    Rejection::one(
        406,
        Issue::error(
            "not-supported",
            "not_acceptable",
            "no acceptable response format: this server answers application/fhir+json",
            "nessun formato di risposta accettabile: questo server risponde application/fhir+json",
            None,
        ),
    )
}

fn unsupported(en: &str, it: &str) -> Rejection {
    Rejection::one(
        415,
        Issue::error("not-supported", "unsupported_media_type", en, it, None),
    )
}

fn is_r4(version: &str) -> bool {
    version == "4.0" || version.starts_with("4.0.")
}

/// The weight (q-value) `accept` gives `format`: that of the most specific
/// matching media range, 0 if none matches.
fn weight(accept: &str, format: Format) -> f32 {
    let names: &[&str] = match format {
        Format::Json => &["application/fhir+json", "application/json"],
        Format::Xml => &["application/fhir+xml", "application/xml", "text/xml"],
    };
    // (specificity, q): exact = 2, `type/*` = 1, `*/*` = 0.
    let mut best: Option<(u8, f32)> = None;
    for range in accept.split(',') {
        let media = MediaType::parse(range);
        let Some(q) = media.quality() else {
            continue; // A malformed q-value makes the range void.
        };
        let specificity = if names.contains(&media.essence.as_str()) {
            2
        } else if media.essence == "*/*" {
            0
        } else if let Some(kind) = media.essence.strip_suffix("/*") {
            if names.iter().any(|n| n.split('/').next() == Some(kind)) {
                1
            } else {
                continue;
            }
        } else {
            continue;
        };
        let better = match best {
            None => true,
            Some((s, q0)) => specificity > s || (specificity == s && q > q0),
        };
        if better {
            best = Some((specificity, q));
        }
    }
    best.map_or(0.0, |(_, q)| q)
}

/// A media type or range: lower-cased `type/subtype` and parameters with
/// lower-cased names and unquoted values.
struct MediaType {
    essence: String,
    params: Vec<(String, String)>,
}

// === impl MediaType ===

impl MediaType {
    fn parse(text: &str) -> Self {
        let mut parts = text.split(';');
        let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let params = parts
            .filter_map(|p| {
                let (name, value) = p.split_once('=')?;
                let value = value.trim().trim_matches('"').to_owned();
                Some((name.trim().to_ascii_lowercase(), value))
            })
            .collect();
        Self { essence, params }
    }

    /// The q-value, 1 when absent, `None` when malformed.
    fn quality(&self) -> Option<f32> {
        match self.params.iter().find(|(n, _)| n == "q") {
            None => Some(1.0),
            Some((_, v)) => v.parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_json() {
        for ct in [
            "application/fhir+json",
            "application/json",
            "Application/FHIR+JSON",
            "application/fhir+json; charset=utf-8",
            "application/fhir+json;charset=UTF-8",
            "application/json; charset=\"utf-8\"",
            "application/fhir+json; fhirVersion=4.0",
            "application/fhir+json; fhirVersion=4.0.1; charset=utf-8",
        ] {
            assert_eq!(request_format(Some(ct)), Ok(Format::Json), "{ct}");
        }
    }

    #[test]
    fn request_xml() {
        for ct in ["application/fhir+xml", "application/xml; charset=utf-8"] {
            assert_eq!(request_format(Some(ct)), Ok(Format::Xml), "{ct}");
        }
    }

    #[test]
    fn request_refused() {
        for ct in [
            None,
            Some(""),
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("text/xml"),
            Some("application/fhir+json; charset=iso-8859-1"),
            Some("application/fhir+json; fhirVersion=4.3"),
            Some("application/fhir+json; fhirVersion=5.0"),
        ] {
            let rejection = request_format(ct).unwrap_err();
            assert_eq!(rejection.status, 415, "{ct:?}");
            assert_eq!(rejection.issues[0].code, "not-supported");
            assert_eq!(rejection.issues[0].rule, "unsupported_media_type");
        }
    }

    #[test]
    fn response_default_is_json() {
        for accept in [
            None,
            Some(""),
            Some("*/*"),
            Some("application/*"),
            Some("application/fhir+json"),
            Some("application/json"),
            Some("text/html, */*;q=0.8"),
            Some("application/fhir+xml;q=0.5, application/fhir+json"),
            Some("application/fhir+xml, application/fhir+json"),
            Some("application/fhir+xml;q=0, */*"),
            Some("*/*;q=0.1, application/fhir+json;q=0.2"),
        ] {
            assert_eq!(
                response_format(accept, None),
                Ok(Format::Json),
                "{accept:?}"
            );
        }
    }

    #[test]
    fn response_xml_when_preferred() {
        for accept in [
            "application/fhir+xml",
            "application/xml",
            "text/xml",
            "application/fhir+json;q=0.5, application/fhir+xml",
            "application/fhir+json;q=0, */*",
            "text/*",
        ] {
            assert_eq!(
                response_format(Some(accept), None),
                Ok(Format::Xml),
                "{accept}"
            );
        }
    }

    #[test]
    fn response_not_acceptable() {
        for accept in [
            "text/html",
            "image/png, text/plain",
            "application/fhir+json;q=0, application/fhir+xml;q=0",
            "*/*;q=0",
            "application/fhir+json;q=abc",
        ] {
            let rejection = response_format(Some(accept), None).unwrap_err();
            assert_eq!(rejection.status, 406, "{accept}");
            assert_eq!(rejection.issues[0].code, "not-supported");
        }
    }

    #[test]
    fn format_param_overrides_accept() {
        let cases = [
            ("json", Format::Json),
            ("JSON", Format::Json),
            ("xml", Format::Xml),
            ("application/fhir+json", Format::Json),
            ("application/fhir json", Format::Json),
            ("application/json", Format::Json),
            ("application/fhir+xml", Format::Xml),
            ("application/xml", Format::Xml),
            ("text/xml", Format::Xml),
        ];
        for (param, expected) in cases {
            assert_eq!(
                response_format(Some("text/html"), Some(param)),
                Ok(expected),
                "{param}"
            );
        }
        assert_eq!(
            response_format(Some("application/fhir+xml"), Some("")),
            Ok(Format::Xml)
        );
        assert_eq!(response_format(None, Some("html")).unwrap_err().status, 406);
        assert_eq!(
            response_format(Some("*/*"), Some("turtle"))
                .unwrap_err()
                .status,
            406
        );
    }
}
