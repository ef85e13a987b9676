//! Evaluating parsed paths over the JSON form of a Bundle.

use std::borrow::Cow;

use serde_json::Value;

use super::{Cond, Item, Literal, Path, Scope, Step};

impl Path {
    /// Evaluates the path. An unknown root is an empty collection (roots are
    /// checked when the mapping file loads).
    pub(crate) fn eval<'a>(&self, scope: &Scope<'a>) -> Vec<Item<'a>> {
        let start = scope.roots.get(&self.root).cloned().unwrap_or_default();
        run(&self.steps, start, scope)
    }
}

fn run<'a>(steps: &[Step], mut items: Vec<Item<'a>>, scope: &Scope<'a>) -> Vec<Item<'a>> {
    for step in steps {
        items = apply(step, items, scope);
    }
    items
}

fn apply<'a>(step: &Step, items: Vec<Item<'a>>, scope: &Scope<'a>) -> Vec<Item<'a>> {
    match step {
        Step::Field(name) => items.iter().flat_map(|i| field(i, name)).collect(),
        Step::Index(n) => items.into_iter().nth(*n).into_iter().collect(),
        Step::First => items.into_iter().take(1).collect(),
        Step::Last => items.into_iter().last().into_iter().collect(),
        Step::Count => vec![Item::owned(Value::from(items.len()))],
        Step::Exists => vec![Item::owned(Value::Bool(!items.is_empty()))],
        Step::Empty => vec![Item::owned(Value::Bool(items.is_empty()))],
        Step::Not => match items.as_slice() {
            [one] => match one.value.as_ref() {
                Value::Bool(b) => vec![Item::owned(Value::Bool(!b))],
                _ => Vec::new(),
            },
            _ => Vec::new(),
        },
        Step::Resolve => items
            .iter()
            .filter_map(|i| {
                let reference = match i.value.as_ref() {
                    Value::Object(o) => o.get("reference")?.as_str()?,
                    Value::String(s) => s.as_str(),
                    _ => return None,
                };
                resolve(scope.bundle, reference).map(Item::node)
            })
            .collect(),
        Step::Extension(url) => items
            .iter()
            .flat_map(|i| field(i, "extension"))
            .filter(|e| e.value.get("url").and_then(Value::as_str) == Some(url.as_str()))
            .collect(),
        Step::OfType(ty) => items.into_iter().filter(|i| of_type(i, ty)).collect(),
        Step::Join(sep) => {
            let parts: Vec<String> = items.iter().filter_map(|i| scalar(&i.value)).collect();
            if parts.is_empty() {
                Vec::new()
            } else {
                vec![Item::owned(Value::String(parts.join(sep)))]
            }
        }
        Step::Where(cond) => items.into_iter().filter(|i| test(cond, i, scope)).collect(),
    }
}

/// The children named `name` of one item, arrays flattened, each with its
/// `_name` primitive extension element.
fn field<'a>(item: &Item<'a>, name: &str) -> Vec<Item<'a>> {
    let Some(node) = item.borrowed() else {
        return match item.value.as_ref() {
            Value::Object(o) => o
                .get(name)
                .map(|v| flatten_owned(v.clone()))
                .unwrap_or_default(),
            _ => Vec::new(),
        };
    };
    match node {
        Value::Object(o) => {
            let ext = o.get(&format!("_{name}"));
            match o.get(name) {
                Some(Value::Array(values)) => values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| Item {
                        value: Cow::Borrowed(v),
                        ext: ext.and_then(|e| e.as_array()).and_then(|e| e.get(k)),
                    })
                    .collect(),
                Some(Value::Null) | None => Vec::new(),
                Some(v) => vec![Item {
                    value: Cow::Borrowed(v),
                    ext,
                }],
            }
        }
        // A primitive: only its extensions (from `_name`) are reachable.
        _ if name == "extension" => item
            .ext
            .and_then(|e| e.get("extension"))
            .and_then(Value::as_array)
            .map(|a| a.iter().map(Item::node).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn flatten_owned<'a>(v: Value) -> Vec<Item<'a>> {
    match v {
        Value::Array(values) => values.into_iter().map(Item::owned).collect(),
        Value::Null => Vec::new(),
        v => vec![Item::owned(v)],
    }
}

fn of_type(item: &Item<'_>, ty: &str) -> bool {
    match (ty, item.value.as_ref()) {
        ("string" | "code" | "uri" | "date" | "dateTime" | "instant", Value::String(_)) => true,
        ("boolean", Value::Bool(_)) => true,
        ("integer" | "decimal", Value::Number(_)) => true,
        (_, Value::Object(o)) => o.get("resourceType").and_then(Value::as_str) == Some(ty),
        _ => false,
    }
}

fn test(cond: &Cond, item: &Item<'_>, scope: &Scope<'_>) -> bool {
    match cond {
        Cond::Or(any) => any.iter().any(|c| test(c, item, scope)),
        Cond::And(all) => all.iter().all(|c| test(c, item, scope)),
        Cond::Test(steps) => {
            let result = run(steps, vec![item.clone()], scope);
            !result.is_empty()
                && result
                    .iter()
                    .all(|i| i.value.as_ref() != &Value::Bool(false))
        }
        Cond::Eq(steps, lit) => equals_any(&run(steps, vec![item.clone()], scope), lit),
        Cond::Ne(steps, lit) => !equals_any(&run(steps, vec![item.clone()], scope), lit),
    }
}

fn equals_any(items: &[Item<'_>], lit: &Literal) -> bool {
    items.iter().any(|i| match (lit, i.value.as_ref()) {
        (Literal::Text(t), Value::String(s)) => s == t,
        (Literal::Bool(b), Value::Bool(v)) => b == v,
        (Literal::Number(n), Value::Number(v)) => {
            v.to_string() == *n || n.parse::<f64>().ok() == v.as_f64()
        }
        _ => false,
    })
}

/// A scalar as text: strings as they are, numbers and booleans as JSON
/// writes them; objects, arrays and null give `None`.
pub(crate) fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The resource an entry of `bundle` holds for `reference`: by `fullUrl`
/// (`urn:uuid:…`, absolute URLs), else by `Type/id` (relative, or the tail of
/// an absolute URL) against `resourceType` and `id`. Contained references
/// (`#id`) are not followed.
pub(crate) fn resolve<'a>(bundle: &'a Value, reference: &str) -> Option<&'a Value> {
    let entries = bundle.get("entry")?.as_array()?;
    let resource = |e: &'a Value| e.get("resource");
    if let Some(found) = entries
        .iter()
        .find(|e| e.get("fullUrl").and_then(Value::as_str) == Some(reference))
    {
        return resource(found);
    }
    let reference = reference.split("/_history/").next().unwrap_or(reference);
    let mut parts = reference.rsplit('/');
    let (id, ty) = (parts.next()?, parts.next()?);
    entries.iter().filter_map(resource).find(|r| {
        r.get("resourceType").and_then(Value::as_str) == Some(ty)
            && r.get("id").and_then(Value::as_str) == Some(id)
    })
}
