//! What a closed element becomes in FHIR JSON: a primitive's `value` as
//! `name` (typed as boolean, number or string) and its id and extensions as
//! `_name`, lists aligned with `null`, a complex element or a resource as an
//! object.

use serde_json::{Map, Number, Value};

use super::{Frame, Reader};

/// JSON type of a primitive's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Primitive {
    String,
    Boolean,
    Integer,
    Decimal,
}

/// What a closed element contributes to its parent.
pub(super) enum Item {
    /// A primitive: its `value` (typed) and its `_name` object (id,
    /// extensions), either possibly absent.
    Primitive(Option<Value>, Option<Map<String, Value>>),
    /// A complex element or a resource.
    Complex(Map<String, Value>),
}

/// The occurrences of one child name, in document order.
pub(super) struct Field {
    pub(super) name: String,
    pub(super) list: bool,
    pub(super) items: Vec<Item>,
}

impl Reader<'_> {
    /// What a closed element becomes; Err holds the English and Italian
    /// reason.
    pub(super) fn item(&self, frame: Frame) -> Result<Item, (String, String)> {
        let name = frame.name;
        if frame.resource {
            let mut object = Map::new();
            object.insert("resourceType".into(), Value::String(name.clone()));
            fields_into(frame.fields, &mut object, &name)?;
            return Ok(Item::Complex(object));
        }
        if let Some(resource) = frame.wrapped {
            return Ok(Item::Complex(resource));
        }
        if let Some(primitive) = frame.primitive {
            let value =
                match frame.value {
                    Some(raw) => Some(typed(primitive, raw).map_err(|(en, it)| {
                        (format!("<{name}>: {en}"), format!("<{name}>: {it}"))
                    })?),
                    None => None,
                };
            let mut extra = Map::new();
            if let Some(id) = frame.id {
                extra.insert("id".into(), Value::String(id));
            }
            fields_into(frame.fields, &mut extra, &name)?;
            let extra = (!extra.is_empty() || value.is_none()).then_some(extra);
            return Ok(Item::Primitive(value, extra));
        }
        let mut object = Map::new();
        if let Some(id) = frame.id {
            object.insert("id".into(), Value::String(id));
        }
        if let Some(url) = frame.url {
            object.insert("url".into(), Value::String(url));
        }
        fields_into(frame.fields, &mut object, &name)?;
        Ok(Item::Complex(object))
    }
}

/// Puts the fields of a closed element into its JSON object.
fn fields_into(
    fields: Vec<Field>,
    object: &mut Map<String, Value>,
    parent: &str,
) -> Result<(), (String, String)> {
    for field in fields {
        let primitive = field
            .items
            .iter()
            .any(|item| matches!(item, Item::Primitive(..)));
        let name = field.name;
        let mut insert = |key: String, value: Value| {
            if object.contains_key(&key) {
                return Err((
                    format!("<{parent}> has {key} twice"),
                    format!("<{parent}> ha {key} due volte"),
                ));
            }
            object.insert(key, value);
            Ok(())
        };
        if primitive {
            let mut values = Vec::with_capacity(field.items.len());
            let mut extras = Vec::with_capacity(field.items.len());
            for item in field.items {
                let (value, extra) = match item {
                    Item::Primitive(value, extra) => (value, extra),
                    Item::Complex(object) => (None, Some(object)),
                };
                values.push(value.unwrap_or(Value::Null));
                extras.push(extra.map_or(Value::Null, Value::Object));
            }
            let has_values = values.iter().any(|v| !v.is_null());
            let has_extras = extras.iter().any(|v| !v.is_null());
            if field.list {
                if has_values {
                    insert(name.clone(), Value::Array(values))?;
                }
                if has_extras {
                    insert(format!("_{name}"), Value::Array(extras))?;
                }
            } else {
                if let Some(value) = values.into_iter().next().filter(|v| !v.is_null()) {
                    insert(name.clone(), value)?;
                }
                if let Some(extra) = extras.into_iter().next().filter(|v| !v.is_null()) {
                    insert(format!("_{name}"), extra)?;
                }
            }
        } else {
            let mut objects: Vec<Value> = field
                .items
                .into_iter()
                .map(|item| match item {
                    Item::Complex(object) => Value::Object(object),
                    Item::Primitive(..) => Value::Null,
                })
                .collect();
            if field.list {
                insert(name, Value::Array(objects))?;
            } else if let Some(object) = objects.pop() {
                insert(name, object)?;
            }
        }
    }
    Ok(())
}

/// A primitive's `value` attribute as the JSON value of its type.
fn typed(primitive: Primitive, raw: String) -> Result<Value, (String, String)> {
    let number_syntax = |text: &str| {
        !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
    };
    match primitive {
        Primitive::String => Ok(Value::String(raw)),
        Primitive::Boolean => match raw.as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err((
                format!("{raw:?} is not a boolean (true or false)"),
                format!("{raw:?} non è un booleano (true o false)"),
            )),
        },
        Primitive::Integer => {
            let digits = raw.strip_prefix('-').unwrap_or(&raw);
            let number = (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| serde_json::from_str::<Number>(&raw).ok())
                .flatten()
                .filter(|n| n.is_i64() || n.is_u64());
            number.map(Value::Number).ok_or_else(|| {
                (
                    format!("{raw:?} is not an integer"),
                    format!("{raw:?} non è un intero"),
                )
            })
        }
        Primitive::Decimal => {
            let number = number_syntax(&raw)
                .then(|| serde_json::from_str::<Number>(&raw).ok())
                .flatten();
            number.map(Value::Number).ok_or_else(|| {
                (
                    format!("{raw:?} is not a decimal"),
                    format!("{raw:?} non è un decimale"),
                )
            })
        }
    }
}
