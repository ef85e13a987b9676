//! Elements fhir-sdk would drop: keys of the original JSON that the typed
//! Bundle does not write back.
//!
//! The typed Bundle is serialised into [`Compare`], a serde `Serializer`
//! that builds nothing: it walks the original JSON alongside, and at the end
//! of every object reports the original keys the model did not write. This
//! finds exactly what serialising the Bundle into a second
//! `serde_json::Value` and comparing the two trees found (the method until
//! 2026-11; [`reference::compare_by_value`] keeps it for the tests), without
//! building that second tree.
//!
//! A single pass *during* the typed parse (e.g. `serde_ignored`) cannot see
//! these keys: fhir-sdk reads every resource as an internally tagged enum
//! (`resourceType`) and every choice element through `#[serde(flatten)]`,
//! both of which buffer the input in serde's private `Content` and drop
//! unknown keys from that buffer without calling the deserializer again.
//!
//! The comparison looks at object keys only, aligning arrays by index (the
//! models keep `null`s in arrays, so indices stay aligned): values may differ
//! legitimately (decimals become `f64`, base64 is re-encoded, instants are
//! re-formatted). A key whose value is empty (`null`, `[]`, `{}`) is
//! reported as an empty element, not an unknown one: the models skip empty
//! values when writing, whether they know the element or not.
//!
//! Where the original holds a primitive, nothing below it can be lost, so
//! the model's value is not written at all (no base64 re-encoding of an
//! attachment, no date formatting), with one exception kept on purpose:
//! a string of digits and signs only may be a `date` whose year fhir-sdk
//! reads but cannot write back (`"0999"`, `"+0999"`, `"12345-01"`: years
//! outside 1000–9999), and writing it fails; such values are still written,
//! so that they are refused (400 `fhir_structure`) as before.
//!
//! fhir-sdk also drops, silently, an *optional choice element* (`value[x]`,
//! `effective[x]`, …) whose value it cannot read — a `dateTime` without
//! seconds or time zone, an `integer` sent as a string — and the second of
//! two `value[x]`s. Such a key (a lower-case name ending in an R4 data type
//! name, `effectiveDateTime`) is reported as `unreadable_element`, an error
//! even under [`super::UnknownElements::Warn`]: it is invalid content, not
//! an extension of the standard.
//!
//! Issues come in the order of the original document (keys in the order of
//! its objects, depth first), whatever the order the model writes them in.
//!
//! The walk itself, a serde `Serializer`, is in `serializer`; what is
//! reported, and how it is classified, in `issues`.

use fhir_sdk::r4b::resources::Bundle;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{Step, step_path};
use crate::{Issue, Rejection};

mod issues;
#[cfg(test)]
pub(super) mod reference;
mod serializer;

pub(super) use issues::{UNKNOWN_ELEMENT, UNREADABLE_ELEMENT};

use issues::{Kind, empty, is_choice, is_empty, unknown, unreadable};
use serializer::Compare;

/// Unknown and empty elements of `original`, as errors (the caller decides
/// which become warnings).
pub(super) fn compare(original: &Value, bundle: &Bundle) -> Result<Vec<Issue>, Rejection> {
    let mut ctx = Ctx::default();
    bundle
        .serialize(Compare {
            ctx: &mut ctx,
            original: Some(original),
        })
        .map_err(|e| not_representable(&e))?;
    Ok(ctx.into_issues(original))
}

/// The typed Bundle could not be written back (a year fhir-sdk reads but
/// cannot write).
fn not_representable(error: &serde_json::Error) -> Rejection {
    let (en, it) = super::typed::describe(&error.to_string());
    Rejection::one(
        400,
        Issue::error(
            "structure",
            "fhir_structure",
            format!("the Bundle cannot be represented faithfully: {en}"),
            format!("il Bundle non può essere rappresentato fedelmente: {it}"),
            "Bundle".to_owned(),
        ),
    )
}

/// An element found lost, at `path` (its own key included).
struct Found<'a> {
    path: Vec<Step<'a>>,
    kind: Kind,
}

/// State shared by the whole walk.
#[derive(Default)]
struct Ctx<'a> {
    /// Path of the original value being compared.
    path: Vec<Step<'a>>,
    /// Keys of the original objects being compared that the model wrote:
    /// a stack, each open object owning the part from its start.
    seen: Vec<&'a String>,
    found: Vec<Found<'a>>,
}

impl<'a> Ctx<'a> {
    fn push(&mut self, key: &'a str, kind: Kind) {
        let mut path = Vec::with_capacity(self.path.len() + 1);
        path.extend_from_slice(&self.path);
        path.push(Step::Key(key));
        self.found.push(Found { path, kind });
    }

    /// An original key the model did not write.
    fn missing(&mut self, key: &'a str, value: &Value) {
        let kind = if is_empty(value) {
            Kind::Empty
        } else if is_choice(key) {
            Kind::Unreadable
        } else {
            Kind::Unknown
        };
        self.push(key, kind);
    }

    /// An original object the model kept as something else: all of its
    /// keys are lost.
    fn lost_all(&mut self, object: &'a Map<String, Value>) {
        for key in object.keys() {
            self.push(key, Kind::Unknown);
        }
    }

    /// Compares the model's `value` with `original`, the original value at
    /// the same place (`None`: nothing there).
    fn child<T: ?Sized + Serialize>(
        &mut self,
        original: Option<&'a Value>,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        match original {
            // Nothing can be lost below a primitive, and writing these back
            // cannot fail: skip them (see the module documentation).
            Some(Value::Null | Value::Bool(_) | Value::Number(_)) => Ok(()),
            Some(Value::String(s)) if !may_be_unwritable_year(s) => Ok(()),
            _ => value.serialize(Compare {
                ctx: self,
                original,
            }),
        }
    }

    /// The comparison of two trees, for what the model writes in forms too
    /// rare to compare on the fly (enum variants outside `flatten`).
    fn walk(&mut self, original: &'a Value, again: &Value) {
        match (original, again) {
            (Value::Object(original), Value::Object(again)) => {
                for (key, value) in original {
                    match again.get(key) {
                        Some(other) => {
                            self.path.push(Step::Key(key));
                            self.walk(value, other);
                            self.path.pop();
                        }
                        None => self.missing(key, value),
                    }
                }
            }
            (Value::Array(original), Value::Array(again)) => {
                for (i, (value, other)) in original.iter().zip(again).enumerate() {
                    self.path.push(Step::Index(i));
                    self.walk(value, other);
                    self.path.pop();
                }
            }
            (Value::Object(original), _) => self.lost_all(original),
            _ => {}
        }
    }

    /// The issues, in the order of the original document.
    fn into_issues(mut self, original: &Value) -> Vec<Issue> {
        if self.found.len() > 1 {
            self.found
                .sort_by_cached_key(|found| document_order(original, &found.path));
        }
        self.found
            .into_iter()
            .map(|found| {
                let path = step_path(&found.path);
                match found.kind {
                    Kind::Unknown => unknown(path),
                    Kind::Unreadable => unreadable(path),
                    Kind::Empty => empty(path),
                }
            })
            .collect()
    }
}

/// The position of each step of `path` in `original` (a key's rank in its
/// object, an index): sorting by it gives the order of a depth-first walk
/// of the original.
fn document_order(original: &Value, path: &[Step<'_>]) -> Vec<usize> {
    let mut here = Some(original);
    path.iter()
        .map(|step| match *step {
            Step::Key(key) => {
                let object = here.and_then(Value::as_object);
                here = object.and_then(|o| o.get(key));
                object
                    .and_then(|o| o.keys().position(|k| k == key))
                    .unwrap_or(usize::MAX)
            }
            Step::Index(i) => {
                here = here.and_then(|v| v.get(i));
                i
            }
        })
        .collect()
}

/// Whether `s` may be a `date` (or the date of a `dateTime`) that fhir-sdk
/// reads as a year, or a year and month, but cannot write back: fhir-sdk
/// reads the year with `str::parse::<i32>` and writes only years of four
/// digits, so such a value is made of digits, `+` and `-` only.
fn may_be_unwritable_year(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || b == b'-' || b == b'+')
}
