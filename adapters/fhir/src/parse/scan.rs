//! Text → [`serde_json::Value`] in one pass that refuses duplicate keys and
//! nesting deeper than the limit *while* reading, so a hostile document is
//! refused before it is built and before it can exhaust the stack.
//!
//! serde_json checks the syntax (and positions its errors); the
//! [`DeserializeSeed`] here builds the value like serde_json's own, counting
//! depth and refusing a key already seen in the same object. It does not
//! know FHIR: it only records the JSON path of what it refuses.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::{Segment, fhir_path};
use crate::{Issue, Rejection};

/// serde_json's own recursion limit: a document nested deeper is refused by
/// serde_json before our seed sees the next level.
const SERDE_JSON_RECURSION_LIMIT: usize = 128;

/// Reads `text` as one JSON value: 400 `json_syntax`, `json_duplicate_key`
/// or `too_deep` if it cannot.
pub(super) fn scan(text: &str, max_depth: usize) -> Result<Value, Rejection> {
    let mut state = State {
        max_depth,
        path: Vec::new(),
        failure: None,
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let result = ValueSeed {
        state: &mut state,
        depth: 1,
    }
    .deserialize(&mut de)
    .and_then(|value| de.end().map(|()| value));
    match result {
        Ok(value) => Ok(value),
        Err(error) => Err(Rejection::one(400, issue(&state, &error))),
    }
}

/// Why the seed gave up, with the JSON path of the culprit.
enum Failure {
    Duplicate(Vec<Segment>),
    TooDeep(Vec<Segment>),
}

struct State {
    max_depth: usize,
    /// Path of the value being read.
    path: Vec<Segment>,
    failure: Option<Failure>,
}

fn issue(state: &State, error: &serde_json::Error) -> Issue {
    let (line, column) = (error.line(), error.column());
    match &state.failure {
        Some(Failure::Duplicate(path)) => Issue::error(
            "structure",
            "json_duplicate_key",
            format!("duplicate JSON key at line {line}, column {column}"),
            format!("chiave JSON duplicata alla riga {line}, colonna {column}"),
            fhir_path(path),
        ),
        Some(Failure::TooDeep(path)) => too_deep(state.max_depth, path),
        None if error.to_string().starts_with("recursion limit exceeded") => {
            too_deep(SERDE_JSON_RECURSION_LIMIT.min(state.max_depth), &state.path)
        }
        None if error.is_eof() => Issue::error(
            "structure",
            "json_syntax",
            format!("truncated JSON: unexpected end of input at line {line}, column {column}"),
            format!("JSON troncato: fine inattesa del testo alla riga {line}, colonna {column}"),
            None,
        ),
        None => Issue::error(
            "structure",
            "json_syntax",
            format!("invalid JSON: {error}"),
            format!("JSON non valido alla riga {line}, colonna {column} ({error})"),
            None,
        ),
    }
}

fn too_deep(max_depth: usize, path: &[Segment]) -> Issue {
    // `too-costly`: refused to protect the server, not for being wrong FHIR.
    Issue::error(
        "too-costly",
        "too_deep",
        format!("JSON nested deeper than {max_depth} levels"),
        format!("JSON annidato oltre {max_depth} livelli"),
        fhir_path(path),
    )
}

/// Reads one value whose containers, if any, sit at `depth` (1 = the top).
struct ValueSeed<'s> {
    state: &'s mut State,
    depth: usize,
}

// === impl ValueSeed ===

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Value, A::Error> {
        self.enter::<A::Error>()?;
        let mut items = Vec::new();
        loop {
            self.state.path.push(Segment::Index(items.len()));
            let item = seq.next_element_seed(ValueSeed {
                state: &mut *self.state,
                depth: self.depth + 1,
            })?;
            self.state.path.pop();
            match item {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Value, A::Error> {
        self.enter::<A::Error>()?;
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let duplicate = object.contains_key(&key);
            // The key waits on the path while its value is read, then goes
            // into the object (no copy).
            self.state.path.push(Segment::Key(key));
            if duplicate {
                self.state.failure = Some(Failure::Duplicate(self.state.path.clone()));
                return Err(de::Error::custom("duplicate key"));
            }
            let value = map.next_value_seed(ValueSeed {
                state: &mut *self.state,
                depth: self.depth + 1,
            })?;
            if let Some(Segment::Key(key)) = self.state.path.pop() {
                object.insert(key, value);
            }
        }
        Ok(Value::Object(object))
    }
}

impl ValueSeed<'_> {
    /// Refuses to open a container beyond the depth limit.
    fn enter<E: de::Error>(&mut self) -> Result<(), E> {
        if self.depth > self.state.max_depth {
            self.state.failure = Some(Failure::TooDeep(self.state.path.clone()));
            return Err(E::custom("too deep"));
        }
        Ok(())
    }
}
