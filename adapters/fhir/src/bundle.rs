//! Bundle rules that hold whatever the profile: the Bundle type, the R4
//! invariants bdl-7/8/9/10/11/12, and references resolved inside the Bundle.
//!
//! It reads the original JSON of a [`Parsed`] Bundle, so it sees exactly
//! what was sent. It does not check what the resources mean (that is
//! [`crate::profile`]), and it never follows a reference outside the
//! Bundle: a reference that does not resolve inside it is an error.

use std::collections::HashSet;

use serde_json::Value;

use crate::Issue;
use crate::parse::{Parsed, Segment, fhir_path};

/// Checks the Bundle rules; the issues found, errors and warnings (an
/// empty list means the Bundle passes).
///
/// - `bundle_type` (value): `Bundle.type` must be `document` or `message`;
/// - `bdl-7` (duplicate): `fullUrl` unique, unless `meta.versionId` differs;
/// - `bdl-8` (invariant): a `fullUrl` is not version-specific;
/// - `bdl-9`, `bdl-10` (invariant): a document has an identifier with
///   system and value, and a timestamp;
/// - `bdl-11`, `bdl-12` (invariant): a document starts with a Composition,
///   a message with a MessageHeader;
/// - `entry_full_url`, `entry_resource` (required): every entry has both;
///   a `fullUrl` that is not an absolute URI is a warning;
/// - `dangling_reference` (not-found): every `Reference.reference` inside an
///   entry's resource resolves inside the Bundle — an absolute URL
///   (`urn:uuid:`, `urn:oid:`, `http(s):`) to an entry's `fullUrl`, a
///   relative `Type/id` to an entry with that type and id (or whose
///   `fullUrl` ends with `/Type/id`), `#id` to a contained resource;
///   `/_history/…` is ignored when matching.
pub fn check(parsed: &Parsed) -> Vec<Issue> {
    let json = &parsed.json;
    let mut issues = Vec::new();
    let bundle_type = json.get("type").and_then(Value::as_str).unwrap_or_default();
    if !matches!(bundle_type, "document" | "message") {
        issues.push(Issue::error(
            "value",
            "bundle_type",
            "Bundle.type must be document or message",
            "Bundle.type deve essere document o message",
            "Bundle.type".to_owned(),
        ));
    }
    let entries = json
        .get("entry")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    check_entries(entries, bundle_type, &mut issues);
    match bundle_type {
        "document" => check_document(json, entries, &mut issues),
        "message" => check_first(entries, "MessageHeader", &mut issues),
        _ => {}
    }
    let targets = Targets::new(entries);
    for (i, entry) in entries.iter().enumerate() {
        if let Some(resource) = entry.get("resource") {
            let mut path = vec![
                Segment::Key("entry".into()),
                Segment::Index(i),
                Segment::Key("resource".into()),
            ];
            let contained = contained_ids(resource);
            check_references(resource, &targets, &contained, &mut path, &mut issues);
        }
    }
    issues
}

fn entry_path(i: usize, rest: &str) -> String {
    format!("Bundle.entry[{i}]{rest}")
}

fn check_entries(entries: &[Value], bundle_type: &str, issues: &mut Vec<Issue>) {
    let mut seen: HashSet<(&str, Option<&str>)> = HashSet::new();
    for (i, entry) in entries.iter().enumerate() {
        if entry.get("resource").is_none() {
            issues.push(Issue::error(
                "required",
                "entry_resource",
                "the entry has no resource",
                "la entry non contiene una risorsa",
                entry_path(i, ""),
            ));
        }
        let Some(full_url) = entry.get("fullUrl").and_then(Value::as_str) else {
            issues.push(Issue::error(
                "required",
                "entry_full_url",
                "the entry has no fullUrl",
                "la entry non ha fullUrl",
                entry_path(i, ""),
            ));
            continue;
        };
        if full_url.contains("/_history/") {
            issues.push(Issue::error(
                "invariant",
                "bdl-8",
                "fullUrl cannot be a version-specific reference (bdl-8)",
                "fullUrl non può essere un riferimento a una versione specifica (bdl-8)",
                entry_path(i, ".fullUrl"),
            ));
        }
        if !is_absolute(full_url) {
            issues.push(
                Issue::error(
                    "value",
                    "entry_full_url",
                    "fullUrl should be an absolute URI (urn:uuid:, urn:oid: or http(s):)",
                    "fullUrl dovrebbe essere un URI assoluto (urn:uuid:, urn:oid: o http(s):)",
                    entry_path(i, ".fullUrl"),
                )
                .warning(),
            );
        }
        let version = entry
            .pointer("/resource/meta/versionId")
            .and_then(Value::as_str);
        if bundle_type != "history" && !seen.insert((full_url, version)) {
            issues.push(Issue::error(
                "duplicate",
                "bdl-7",
                "fullUrl must be unique in a Bundle unless meta.versionId differs (bdl-7)",
                "fullUrl deve essere unico nel Bundle, salvo meta.versionId diversi (bdl-7)",
                entry_path(i, ".fullUrl"),
            ));
        }
    }
}

fn check_document(json: &Value, entries: &[Value], issues: &mut Vec<Issue>) {
    let has = |pointer: &str| {
        json.pointer(pointer)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty())
    };
    if !(has("/identifier/system") && has("/identifier/value")) {
        issues.push(Issue::error(
            "invariant",
            "bdl-9",
            "a document must have an identifier with a system and a value (bdl-9)",
            "un documento deve avere un identifier con system e value (bdl-9)",
            "Bundle.identifier".to_owned(),
        ));
    }
    if !has("/timestamp") {
        issues.push(Issue::error(
            "invariant",
            "bdl-10",
            "a document must have a timestamp (bdl-10)",
            "un documento deve avere un timestamp (bdl-10)",
            "Bundle.timestamp".to_owned(),
        ));
    }
    check_first(entries, "Composition", issues);
}

/// bdl-11 (`Composition`) or bdl-12 (`MessageHeader`).
fn check_first(entries: &[Value], resource_type: &str, issues: &mut Vec<Issue>) {
    let first = entries
        .first()
        .and_then(|e| e.pointer("/resource/resourceType"))
        .and_then(Value::as_str);
    if first == Some(resource_type) {
        return;
    }
    let (rule, kind, tipo) = if resource_type == "Composition" {
        ("bdl-11", "document", "un documento")
    } else {
        ("bdl-12", "message", "un messaggio")
    };
    issues.push(Issue::error(
        "invariant",
        rule,
        format!("the first entry of a {kind} must be a {resource_type} ({rule})"),
        format!("la prima entry di {tipo} deve essere una risorsa {resource_type} ({rule})"),
        if entries.is_empty() {
            "Bundle.entry".to_owned()
        } else {
            entry_path(0, ".resource")
        },
    ));
}

/// What references may point to: the entries' fullUrls and their
/// resources' `Type/id`.
struct Targets<'a> {
    full_urls: HashSet<&'a str>,
    type_ids: HashSet<(&'a str, &'a str)>,
}

// === impl Targets ===

impl<'a> Targets<'a> {
    fn new(entries: &'a [Value]) -> Self {
        let mut full_urls = HashSet::new();
        let mut type_ids = HashSet::new();
        for entry in entries {
            if let Some(url) = entry.get("fullUrl").and_then(Value::as_str) {
                full_urls.insert(url);
            }
            let resource = entry.get("resource");
            let kind = resource
                .and_then(|r| r.get("resourceType"))
                .and_then(Value::as_str);
            let id = resource.and_then(|r| r.get("id")).and_then(Value::as_str);
            if let (Some(kind), Some(id)) = (kind, id) {
                type_ids.insert((kind, id));
            }
        }
        Self {
            full_urls,
            type_ids,
        }
    }

    fn resolves(&self, reference: &str, contained: &HashSet<&str>) -> bool {
        if let Some(id) = reference.strip_prefix('#') {
            // `#` alone points to the containing resource itself.
            return id.is_empty() || contained.contains(id);
        }
        let reference = without_history(reference);
        if is_absolute(reference) {
            return self.full_urls.contains(reference);
        }
        let mut parts = reference.split('/');
        if let (Some(kind), Some(id), None) = (parts.next(), parts.next(), parts.next())
            && self.type_ids.contains(&(kind, id))
        {
            return true;
        }
        let suffix = format!("/{reference}");
        self.full_urls
            .iter()
            .any(|url| without_history(url).ends_with(&suffix))
    }
}

/// Ids of the resources contained in `resource`.
fn contained_ids(resource: &Value) -> HashSet<&str> {
    resource
        .get("contained")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|r| r.get("id").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

/// Walks `value` for `Reference`s (objects with a string `reference`),
/// without entering Bundles nested in the resource (their references
/// resolve inside them).
fn check_references(
    value: &Value,
    targets: &Targets<'_>,
    contained: &HashSet<&str>,
    path: &mut Vec<Segment>,
    issues: &mut Vec<Issue>,
) {
    match value {
        Value::Object(object) => {
            if path.len() >= 3
                && object.get("resourceType").and_then(Value::as_str) == Some("Bundle")
            {
                return;
            }
            if let Some(Value::String(reference)) = object.get("reference")
                && !targets.resolves(reference, contained)
            {
                issues.push(Issue::error(
                    "not-found",
                    "dangling_reference",
                    "the reference does not resolve to a resource in the Bundle",
                    "il riferimento non corrisponde ad alcuna risorsa del Bundle",
                    fhir_path(path),
                ));
            }
            for (key, child) in object {
                path.push(Segment::Key(key.clone()));
                check_references(child, targets, contained, path, issues);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                path.push(Segment::Index(i));
                check_references(child, targets, contained, path, issues);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Whether `s` starts with a URI scheme (`urn:`, `http:`, …).
fn is_absolute(s: &str) -> bool {
    match s.split_once(':') {
        Some((scheme, _)) => {
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
        }
        None => false,
    }
}

fn without_history(reference: &str) -> &str {
    reference
        .find("/_history/")
        .map_or(reference, |at| &reference[..at])
}
