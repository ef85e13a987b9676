//! The comparison as it was done until 2026-11: the typed Bundle
//! serialised into a second `serde_json::Value`, both trees walked. Kept as
//! the reference [`compare`](super::compare) must agree with.

use fhir_sdk::r4b::resources::Bundle;
use serde_json::Value;

use super::super::{Segment, fhir_path};
use super::issues::{empty, is_choice, is_empty, unknown, unreadable};
use crate::{Issue, Rejection};

/// Unknown and empty elements of `original`, by comparing two trees.
pub(in crate::parse) fn compare_by_value(
    original: &Value,
    bundle: &Bundle,
) -> Result<Vec<Issue>, Rejection> {
    let again = serde_json::to_value(bundle).map_err(|e| super::not_representable(&e))?;
    let mut issues = Vec::new();
    let mut path = Vec::new();
    walk(original, &again, &mut path, &mut issues);
    Ok(issues)
}

fn walk(original: &Value, again: &Value, path: &mut Vec<Segment>, issues: &mut Vec<Issue>) {
    match (original, again) {
        (Value::Object(original), Value::Object(again)) => {
            for (key, value) in original {
                path.push(Segment::Key(key.clone()));
                match again.get(key) {
                    Some(other) => walk(value, other, path, issues),
                    None if is_empty(value) => issues.push(empty(fhir_path(path))),
                    None if is_choice(key) => issues.push(unreadable(fhir_path(path))),
                    None => issues.push(unknown(fhir_path(path))),
                }
                path.pop();
            }
        }
        (Value::Array(original), Value::Array(again)) => {
            for (i, (value, other)) in original.iter().zip(again).enumerate() {
                path.push(Segment::Index(i));
                walk(value, other, path, issues);
                path.pop();
            }
        }
        // An object the model kept as something else (never seen): all of
        // its keys are lost.
        (Value::Object(original), _) => {
            for key in original.keys() {
                path.push(Segment::Key(key.clone()));
                issues.push(unknown(fhir_path(path)));
                path.pop();
            }
        }
        _ => {}
    }
}
