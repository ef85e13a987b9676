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

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde_json::Value;

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

/// Why a path does not parse: position (in characters) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub(crate) at: usize,
    pub(crate) message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.at + 1, self.message)
    }
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

// === parsing ===

/// Parses a path; `%name` must start it.
pub(crate) fn parse(text: &str) -> Result<Path, ParseError> {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
    };
    p.skip_ws();
    if !p.eat('%') {
        return Err(p.error("a path starts with %name, e.g. %subject"));
    }
    let root = p.name().ok_or_else(|| p.error("expected a name after %"))?;
    let steps = p.steps()?;
    p.skip_ws();
    if p.pos < p.chars.len() {
        return Err(p.error("unexpected character"));
    }
    Ok(Path {
        root,
        steps,
        text: text.to_owned(),
    })
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn error(&self, message: &str) -> ParseError {
        ParseError {
            at: self.pos,
            message: message.to_owned(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), ParseError> {
        self.skip_ws();
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error(&format!("expected '{c}'")))
        }
    }

    fn name(&mut self) -> Option<String> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        {
            self.pos += 1;
        }
        (self.pos > start).then(|| self.chars[start..self.pos].iter().collect())
    }

    fn steps(&mut self) -> Result<Vec<Step>, ParseError> {
        let mut steps = Vec::new();
        loop {
            self.skip_ws();
            if self.eat('.') {
                self.skip_ws();
                let name = self.name().ok_or_else(|| self.error("expected a name"))?;
                steps.push(self.member(name)?);
            } else if self.eat('[') {
                self.skip_ws();
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
                let digits: String = self.chars[start..self.pos].iter().collect();
                let n = digits
                    .parse()
                    .map_err(|_| self.error("expected an index [n]"))?;
                self.expect(']')?;
                steps.push(Step::Index(n));
            } else {
                return Ok(steps);
            }
        }
    }

    /// A field, or a function call when `(` follows the name.
    fn member(&mut self, name: String) -> Result<Step, ParseError> {
        self.skip_ws();
        if !self.eat('(') {
            if name.starts_with('$') {
                return Err(self.error("$this only starts a condition"));
            }
            return Ok(Step::Field(name));
        }
        let step = match name.as_str() {
            "first" => Step::First,
            "last" => Step::Last,
            "count" => Step::Count,
            "exists" => Step::Exists,
            "empty" => Step::Empty,
            "not" => Step::Not,
            "resolve" => Step::Resolve,
            "extension" => Step::Extension(self.string()?),
            "join" => Step::Join(self.string()?),
            "ofType" => {
                self.skip_ws();
                Step::OfType(
                    self.name()
                        .ok_or_else(|| self.error("expected a type name"))?,
                )
            }
            "where" => Step::Where(self.cond()?),
            _ => return Err(self.error(&format!("unknown function {name}()"))),
        };
        self.expect(')')?;
        Ok(step)
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.skip_ws();
        if !self.eat('\'') {
            return Err(self.error("expected a 'quoted' string"));
        }
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some('\'') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ ('\'' | '\\')) => out.push(c),
                        _ => return Err(self.error("only \\' and \\\\ are escapes")),
                    }
                    self.pos += 1;
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn keyword(&mut self, word: &str) -> bool {
        self.skip_ws();
        let end = self.pos + word.len();
        if end > self.chars.len() {
            return false;
        }
        let candidate: String = self.chars[self.pos..end].iter().collect();
        let boundary = self
            .chars
            .get(end)
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || *c == '_'));
        if candidate == word && boundary {
            self.pos = end;
            true
        } else {
            false
        }
    }

    fn cond(&mut self) -> Result<Cond, ParseError> {
        let mut any = vec![self.and()?];
        while self.keyword("or") {
            any.push(self.and()?);
        }
        Ok(if any.len() == 1 {
            any.remove(0)
        } else {
            Cond::Or(any)
        })
    }

    fn and(&mut self) -> Result<Cond, ParseError> {
        let mut all = vec![self.atom()?];
        while self.keyword("and") {
            all.push(self.atom()?);
        }
        Ok(if all.len() == 1 {
            all.remove(0)
        } else {
            Cond::And(all)
        })
    }

    fn atom(&mut self) -> Result<Cond, ParseError> {
        self.skip_ws();
        if self.eat('(') {
            let inner = self.cond()?;
            self.expect(')')?;
            return Ok(inner);
        }
        let name = self
            .name()
            .ok_or_else(|| self.error("expected a condition"))?;
        let mut steps = Vec::new();
        if name != "$this" {
            steps.push(self.member(name)?);
        }
        steps.extend(self.steps()?);
        self.skip_ws();
        if self.eat('=') {
            Ok(Cond::Eq(steps, self.literal()?))
        } else if self.eat('!') {
            if !self.eat('=') {
                return Err(self.error("expected '!='"));
            }
            Ok(Cond::Ne(steps, self.literal()?))
        } else {
            Ok(Cond::Test(steps))
        }
    }

    fn literal(&mut self) -> Result<Literal, ParseError> {
        self.skip_ws();
        if self.peek() == Some('\'') {
            return Ok(Literal::Text(self.string()?));
        }
        if self.keyword("true") {
            return Ok(Literal::Bool(true));
        }
        if self.keyword("false") {
            return Ok(Literal::Bool(false));
        }
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || c == '.' || c == '-')
        {
            self.pos += 1;
        }
        if self.pos > start {
            return Ok(Literal::Number(
                self.chars[start..self.pos].iter().collect(),
            ));
        }
        Err(self.error("expected a literal: 'text', true, false or a number"))
    }
}

// === evaluation ===

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
