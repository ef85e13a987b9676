//! Access rules: which roles may call which routes.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

use crate::identity::Role;

/// One access rule. The first rule whose path and method match a request
/// decides whether the caller's roles may proceed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRule {
    /// Path pattern: literal segments, `*` for exactly one segment, and a
    /// final `**` for any number of further segments (including none).
    pub path: RoutePattern,
    /// HTTP methods the rule covers; empty means every method.
    #[serde(default)]
    pub methods: Vec<Method>,
    /// Roles allowed through.
    pub roles: Vec<Role>,
}

// === impl AccessRule ===

impl AccessRule {
    /// True if the rule covers this method and path.
    pub fn matches(&self, method: &http::Method, path: &str) -> bool {
        (self.methods.is_empty() || self.methods.iter().any(|m| m.0 == method))
            && self.path.matches(path)
    }

    /// The roles the first matching rule allows, or `None` when no rule
    /// matches (which the gateway treats as "nobody").
    pub fn allowed_roles<'a>(
        rules: &'a [AccessRule],
        method: &http::Method,
        path: &str,
    ) -> Option<&'a [Role]> {
        rules
            .iter()
            .find(|rule| rule.matches(method, path))
            .map(|rule| rule.roles.as_slice())
    }
}

/// An HTTP method in configuration (`"GET"`, `"POST"`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Method(pub http::Method);

impl<'de> Deserialize<'de> for Method {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => {
                Ok(Method(s.parse().map_err(serde::de::Error::custom)?))
            }
            _ => Err(serde::de::Error::custom(format!(
                "unknown method {s:?}, expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
            ))),
        }
    }
}

/// A path pattern such as `/fhir/Task/*` or `/audit/**`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePattern {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    One,
    Rest,
}

/// Why a string is not a [`RoutePattern`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a route pattern starts with '/', has no empty segments, and uses '**' only as its last segment"
)]
pub struct InvalidRoutePattern;

// === impl RoutePattern ===

impl RoutePattern {
    /// True if `path` (no query string) matches.
    pub fn matches(&self, path: &str) -> bool {
        let mut parts = path.strip_prefix('/').unwrap_or(path).split('/');
        for segment in &self.segments {
            match segment {
                Segment::Rest => return true,
                Segment::One => match parts.next() {
                    Some(p) if !p.is_empty() => {}
                    _ => return false,
                },
                Segment::Literal(lit) => match parts.next() {
                    Some(p) if p == lit => {}
                    _ => return false,
                },
            }
        }
        parts.next().is_none()
    }
}

impl FromStr for RoutePattern {
    type Err = InvalidRoutePattern;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let body = text.strip_prefix('/').ok_or(InvalidRoutePattern)?;
        let raw: Vec<&str> = body.split('/').collect();
        let mut segments = Vec::with_capacity(raw.len());
        for (i, part) in raw.iter().enumerate() {
            let segment = match *part {
                "" => return Err(InvalidRoutePattern),
                "**" if i + 1 == raw.len() => Segment::Rest,
                "**" => return Err(InvalidRoutePattern),
                "*" => Segment::One,
                lit => Segment::Literal(lit.to_owned()),
            };
            segments.push(segment);
        }
        Ok(Self {
            text: text.to_owned(),
            segments,
        })
    }
}

impl fmt::Display for RoutePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for RoutePattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(s: &str) -> RoutePattern {
        s.parse().unwrap()
    }

    #[test]
    fn patterns_match_segments() {
        assert!(pattern("/whoami").matches("/whoami"));
        assert!(!pattern("/whoami").matches("/whoami/x"));
        assert!(pattern("/fhir/Task/*").matches("/fhir/Task/123"));
        assert!(!pattern("/fhir/Task/*").matches("/fhir/Task/"));
        assert!(!pattern("/fhir/Task/*").matches("/fhir/Task/1/2"));
        assert!(pattern("/audit/**").matches("/audit"));
        assert!(pattern("/audit/**").matches("/audit/proof/inclusion"));
        assert!(!pattern("/audit/**").matches("/auditor"));
        assert!(pattern("/filings/*/evidence").matches("/filings/abc/evidence"));
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in ["whoami", "/a//b", "/**/x", "/a/"] {
            assert!(bad.parse::<RoutePattern>().is_err(), "{bad}");
        }
    }

    #[test]
    fn first_matching_rule_decides() {
        let rules: Vec<AccessRule> = toml::from_str::<toml::Table>(
            r#"
            [[r]]
            path = "/filings/*/evidence"
            methods = ["GET"]
            roles = ["office", "auditor"]
            [[r]]
            path = "/filings/**"
            roles = ["office"]
            "#,
        )
        .unwrap()["r"]
            .clone()
            .try_into()
            .unwrap();
        let get = http::Method::GET;
        assert_eq!(
            AccessRule::allowed_roles(&rules, &get, "/filings/1/evidence"),
            Some(&[Role::Office, Role::Auditor][..])
        );
        assert_eq!(
            AccessRule::allowed_roles(&rules, &http::Method::POST, "/filings/1/evidence"),
            Some(&[Role::Office][..])
        );
        assert_eq!(AccessRule::allowed_roles(&rules, &get, "/other"), None);
    }
}
