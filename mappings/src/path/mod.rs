//! The path language of mapping files: a small FHIRPath subset evaluated over
//! the JSON form of a Bundle (`serde_json::Value`).
//!
//! ```text
//! path      := '%' name step*
//! step      := '.' name                       field (arrays are flattened)
//!            | '.' function '(' args ')'
//!            | '[' digits ']'                 the n-th item (0-based)
//! function  := first() | last() | count() | exists() | empty() | not()
//!            | resolve() | extension('url') | ofType(Type) | join('sep')
//!            | where(cond)
//! cond      := and ('or' and)*
//! and       := atom ('and' atom)*
//! atom      := '(' cond ')' | rel (('=' | '!=') literal)?
//! rel       := ('$this' | name | function) step*     evaluated on the item
//! literal   := 'text' | true | false | number
//! ```
//!
//! Semantics follow FHIRPath where it matters for mapping: every step maps a
//! collection to a collection; fields of arrays are flattened; a missing field
//! is an empty collection, never an error. Deviations, documented in
//! `docs/mappings.md`: `a = 'x'` is true when **any** item of `a` equals `x`
//! (FHIRPath would answer empty for several items), `a != 'x'` is its
//! negation, and a bare `rel` condition is true when its result is non-empty
//! and holds no `false`.
//!
//! Primitive extensions: FHIR JSON puts a primitive's extensions in `_name`
//! (`"_city": {"extension": [...]}`). Taking the field `city` keeps `_city`
//! beside the value, so `city.extension('url')` works as in FHIRPath; `_city`
//! can also be named directly.

mod eval;
mod parser;

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::Value;

pub(crate) use eval::{resolve, scalar};
pub(crate) use parser::parse;

/// A parsed path. `text` is the path as written (for error messages).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Path {
    /// The starting point, without `%`.
    pub(crate) root: String,
    steps: Vec<Step>,
    /// The path as written in the mapping file.
    pub(crate) text: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
    First,
    Last,
    Count,
    Exists,
    Empty,
    Not,
    Resolve,
    Extension(String),
    OfType(String),
    Join(String),
    Where(Cond),
}

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    Or(Vec<Cond>),
    And(Vec<Cond>),
    Test(Vec<Step>),
    Eq(Vec<Step>, Literal),
    Ne(Vec<Step>, Literal),
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Text(String),
    Bool(bool),
    Number(String),
}

/// One item of a collection: a JSON value (borrowed from the Bundle, or made
/// by a function such as `exists()`), with the primitive's `_name` element
/// when it came from a field that has one.
#[derive(Debug, Clone)]
pub(crate) struct Item<'a> {
    pub(crate) value: Cow<'a, Value>,
    ext: Option<&'a Value>,
}

impl<'a> Item<'a> {
    /// An item borrowed from a document.
    pub(crate) fn node(value: &'a Value) -> Self {
        Self {
            value: Cow::Borrowed(value),
            ext: None,
        }
    }

    fn owned(value: Value) -> Self {
        Self {
            value: Cow::Owned(value),
            ext: None,
        }
    }

    /// The borrowed value, when the item is part of a document.
    pub(crate) fn borrowed(&self) -> Option<&'a Value> {
        match &self.value {
            Cow::Borrowed(v) => Some(v),
            Cow::Owned(_) => None,
        }
    }
}

/// What a path is evaluated against: the Bundle (for `resolve()`) and the
/// named starting points.
pub(crate) struct Scope<'a> {
    pub(crate) bundle: &'a Value,
    pub(crate) roots: HashMap<String, Vec<Item<'a>>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(path: &str, doc: &Value) -> Vec<Value> {
        let p = parse(path).unwrap();
        let scope = Scope {
            bundle: doc,
            roots: HashMap::from([("bundle".to_owned(), vec![Item::node(doc)])]),
        };
        p.eval(&scope)
            .into_iter()
            .map(|i| i.value.into_owned())
            .collect()
    }

    fn doc() -> Value {
        json!({"resourceType": "Bundle", "entry": [
            {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient", "id": "p",
              "name": [{"family": "Rossi", "given": ["Anna", "Maria"]}],
              "address": [{"use": "old", "city": "Roma"}, {"use": "home", "city": "Genova",
                "_city": {"extension": [{"url": "u", "valueCoding": {"code": "010025"}}]}}]}},
            {"fullUrl": "urn:uuid:2", "resource": {"resourceType": "Observation", "id": "o",
              "subject": {"reference": "Patient/p"}, "valueInteger": 3}}
        ]})
    }

    #[test]
    fn fields_where_first_join() {
        let d = doc();
        assert_eq!(
            eval(
                "%bundle.entry.resource.ofType(Patient).name.given.join(' ')",
                &d
            ),
            [json!("Anna Maria")]
        );
        assert_eq!(
            eval(
                "%bundle.entry.resource.where(resourceType = 'Patient').address.where(use = 'home').city",
                &d
            ),
            [json!("Genova")]
        );
        assert_eq!(
            eval("%bundle.entry[1].resource.valueInteger", &d),
            [json!(3)]
        );
        assert_eq!(
            eval("%bundle.entry.resource.name.given.first()", &d),
            [json!("Anna")]
        );
        assert_eq!(
            eval("%bundle.entry.resource.nothing.exists()", &d),
            [json!(false)]
        );
    }

    #[test]
    fn primitive_extensions_and_resolve() {
        let d = doc();
        assert_eq!(
            eval(
                "%bundle.entry.resource.address.city.extension('u').valueCoding.code",
                &d
            ),
            [json!("010025")]
        );
        assert_eq!(
            eval(
                "%bundle.entry.resource.address._city.extension('u').valueCoding.code",
                &d
            ),
            [json!("010025")]
        );
        assert_eq!(
            eval(
                "%bundle.entry.resource.ofType(Observation).subject.resolve().id",
                &d
            ),
            [json!("p")]
        );
        assert_eq!(
            eval(
                "%bundle.entry.resource.where(address.where(use = 'home' and city.exists()).exists() or id = 'zz').id",
                &d
            ),
            [json!("p")]
        );
        assert_eq!(
            eval("%bundle.entry.resource.where(id != 'p').id", &d),
            [json!("o")]
        );
    }

    #[test]
    fn parse_errors_say_where() {
        assert!(parse("subject.name").is_err());
        assert!(
            parse("%subject.name.frist()")
                .unwrap_err()
                .message
                .contains("frist")
        );
        assert!(parse("%subject.where(a = )").is_err());
        assert!(parse("%subject.name[x]").is_err());
        assert!(parse("%subject.extension(url)").is_err());
        assert!(parse("%subject.name extra").is_err());
    }
}
