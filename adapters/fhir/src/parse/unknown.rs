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

use fhir_sdk::r4b::resources::Bundle;
use serde::Serialize;
use serde::ser;
use serde_json::value::Serializer as JsonSerializer;
use serde_json::{Map, Value};

use super::{Step, step_path};
use crate::{Issue, Rejection};

/// Rule of an unknown element.
pub(super) const UNKNOWN_ELEMENT: &str = "unknown_element";

/// Rule of an empty element (always a warning).
const EMPTY_ELEMENT: &str = "empty_element";

/// Rule of a choice element the models could not read (always an error).
pub(super) const UNREADABLE_ELEMENT: &str = "unreadable_element";

/// R4 data type names, as they end the JSON name of a choice element.
const DATA_TYPES: &[&str] = &[
    "Base64Binary",
    "Boolean",
    "Canonical",
    "Code",
    "Date",
    "DateTime",
    "Decimal",
    "Id",
    "Instant",
    "Integer",
    "Markdown",
    "Oid",
    "PositiveInt",
    "String",
    "Time",
    "UnsignedInt",
    "Uri",
    "Url",
    "Uuid",
    "Address",
    "Age",
    "Annotation",
    "Attachment",
    "CodeableConcept",
    "Coding",
    "ContactPoint",
    "Count",
    "Distance",
    "Duration",
    "HumanName",
    "Identifier",
    "Money",
    "Period",
    "Quantity",
    "Range",
    "Ratio",
    "Reference",
    "SampledData",
    "Signature",
    "Timing",
    "ContactDetail",
    "Contributor",
    "DataRequirement",
    "Expression",
    "ParameterDefinition",
    "RelatedArtifact",
    "TriggerDefinition",
    "UsageContext",
    "Dosage",
    "Meta",
];

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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Unknown,
    Unreadable,
    Empty,
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

/// A serde `Serializer` that compares what it is given with the original
/// value at the same place and builds nothing. Its error is serde_json's,
/// as `serde_json::to_value` would have returned.
struct Compare<'a, 'c> {
    ctx: &'c mut Ctx<'a>,
    /// The original value at the place being written; `None` if the
    /// original has nothing there.
    original: Option<&'a Value>,
}

impl Compare<'_, '_> {
    /// The model wrote a primitive here.
    fn primitive(self) -> Result<(), serde_json::Error> {
        if let Some(Value::Object(object)) = self.original {
            self.ctx.lost_all(object);
        }
        Ok(())
    }

    /// serde_json wrote `again` here (a variant): compared with the original
    /// as two trees.
    fn written(self, again: &Value) -> Result<(), serde_json::Error> {
        if let Some(original) = self.original {
            self.ctx.walk(original, again);
        }
        Ok(())
    }
}

/// The model wrote an array: compared item by item.
struct Seq<'a, 'c> {
    ctx: &'c mut Ctx<'a>,
    items: Option<&'a [Value]>,
    next: usize,
}

/// The model wrote an object: each key it writes is looked up in the
/// original object; the rest of the original's keys are reported at the
/// end.
struct Obj<'a, 'c> {
    ctx: &'c mut Ctx<'a>,
    object: Option<&'a Map<String, Value>>,
    /// Where this object's part of [`Ctx::seen`] starts.
    seen_from: usize,
    /// The original key and value for the value of `serialize_key`.
    pending: Option<(&'a String, &'a Value)>,
}

/// What `serde_json::to_value` writes as an object with the variant's name
/// as key, converted by serde_json and compared as two trees.
struct Variant<'a, 'c, S> {
    /// Where the variant is written.
    at: Compare<'a, 'c>,
    /// serde_json's serializer for the variant.
    inner: S,
}

impl<'a, 'c> ser::Serializer for Compare<'a, 'c> {
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = Seq<'a, 'c>;
    type SerializeTuple = Seq<'a, 'c>;
    type SerializeTupleStruct = Seq<'a, 'c>;
    type SerializeTupleVariant =
        Variant<'a, 'c, <JsonSerializer as ser::Serializer>::SerializeTupleVariant>;
    type SerializeMap = Obj<'a, 'c>;
    type SerializeStruct = Obj<'a, 'c>;
    type SerializeStructVariant =
        Variant<'a, 'c, <JsonSerializer as ser::Serializer>::SerializeStructVariant>;

    fn serialize_bool(self, _: bool) -> Result<(), Self::Error> {
        self.primitive()
    }

    fn serialize_i8(self, _: i8) -> Result<(), Self::Error> {
        self.primitive()
    }

    fn serialize_i16(self, _: i16) -> Result<(), Self::Error> {
        self.primitive()
    }

    fn serialize_i32(self, _: i32) -> Result<(), Self::Error> {
        self.primitive()
    }

    fn serialize_i64(self, _: i64) -> Result<(), Self::Error> {
        self.primitive()
    }

    fn serialize_i128(self, _: i128) -> Result<(), Self::Error> {
        self.primitive()
    }

    fn serialize_u8(self, _: u8) -> Result<(), Self::Error> {
        self.primitive()
    }

    fn serialize_u16(self, _: u16) -> Result<(), Self::Error> {
        self.primitive()
    }

    fn serialize_u32(self, _: u32) -> Result<(), Self::Error> {
        self.primitive()
    }

    fn serialize_u64(self, _: u64) -> Result<(), Self::Error> {
        self.primitive()
    }

    fn serialize_u128(self, _: u128) -> Result<(), Self::Error> {
        self.primitive()
    }

    fn serialize_f32(self, _: f32) -> Result<(), Self::Error> {
        self.primitive()
    }

    fn serialize_f64(self, _: f64) -> Result<(), Self::Error> {
        self.primitive()
    }

    fn serialize_char(self, _: char) -> Result<(), Self::Error> {
        self.primitive()
    }

    fn serialize_str(self, _: &str) -> Result<(), Self::Error> {
        self.primitive()
    }

    fn serialize_bytes(self, bytes: &[u8]) -> Result<(), Self::Error> {
        // serde_json writes bytes as an array of numbers.
        let mut seq = self.serialize_seq(Some(bytes.len()))?;
        for byte in bytes {
            ser::SerializeSeq::serialize_element(&mut seq, byte)?;
        }
        ser::SerializeSeq::end(seq)
    }

    fn serialize_none(self) -> Result<(), Self::Error> {
        self.primitive()
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Self::Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Self::Error> {
        self.primitive()
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Self::Error> {
        self.primitive()
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), Self::Error> {
        self.primitive()
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        let again = JsonSerializer.serialize_newtype_variant(name, index, variant, value)?;
        self.written(&again)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'a, 'c>, Self::Error> {
        if let Some(Value::Object(object)) = self.original {
            self.ctx.lost_all(object);
        }
        Ok(Seq {
            items: self.original.and_then(Value::as_array).map(Vec::as_slice),
            ctx: self.ctx,
            next: 0,
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Seq<'a, 'c>, Self::Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Seq<'a, 'c>, Self::Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, Self::Error> {
        Ok(Variant {
            inner: JsonSerializer.serialize_tuple_variant(name, index, variant, len)?,
            at: self,
        })
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Obj<'a, 'c>, Self::Error> {
        Ok(Obj {
            object: self.original.and_then(Value::as_object),
            seen_from: self.ctx.seen.len(),
            ctx: self.ctx,
            pending: None,
        })
    }

    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Obj<'a, 'c>, Self::Error> {
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, Self::Error> {
        Ok(Variant {
            inner: JsonSerializer.serialize_struct_variant(name, index, variant, len)?,
            at: self,
        })
    }
}

impl Seq<'_, '_> {
    fn item<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), serde_json::Error> {
        let i = self.next;
        self.next += 1;
        match self.items.and_then(|items| items.get(i)) {
            Some(original) => {
                self.ctx.path.push(Step::Index(i));
                self.ctx.child(Some(original), value)?;
                self.ctx.path.pop();
                Ok(())
            }
            None => self.ctx.child(None, value),
        }
    }
}

/// The three array-like traits differ only in the name of the method that
/// takes an item.
macro_rules! impl_seq {
    ($($trait:ident::$method:ident),+) => {$(
        impl ser::$trait for Seq<'_, '_> {
            type Ok = ();
            type Error = serde_json::Error;

            fn $method<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Self::Error> {
                self.item(value)
            }

            fn end(self) -> Result<(), Self::Error> {
                Ok(())
            }
        }
    )+};
}

impl_seq!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field
);

impl<'a> Obj<'a, '_> {
    /// The original key and value for `key`, which the model writes.
    fn lookup(&mut self, key: &str) -> Option<(&'a String, &'a Value)> {
        let (key, value) = self.object?.get_key_value(key)?;
        let seen = &self.ctx.seen[self.seen_from..];
        if !seen.iter().any(|k| std::ptr::eq(*k, key)) {
            self.ctx.seen.push(key);
        }
        Some((key, value))
    }

    fn value<T: ?Sized + Serialize>(
        &mut self,
        original: Option<(&'a String, &'a Value)>,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        match original {
            Some((key, original)) => {
                self.ctx.path.push(Step::Key(key));
                self.ctx.child(Some(original), value)?;
                self.ctx.path.pop();
                Ok(())
            }
            None => self.ctx.child(None, value),
        }
    }

    fn finish(self) -> Result<(), serde_json::Error> {
        if let Some(object) = self.object
            && self.ctx.seen.len() - self.seen_from < object.len()
        {
            for (key, value) in object {
                let seen = &self.ctx.seen[self.seen_from..];
                if !seen.iter().any(|k| std::ptr::eq(*k, key)) {
                    self.ctx.missing(key, value);
                }
            }
        }
        self.ctx.seen.truncate(self.seen_from);
        Ok(())
    }
}

impl ser::SerializeMap for Obj<'_, '_> {
    type Ok = ();
    type Error = serde_json::Error;

    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Self::Error> {
        // serde_json's own rules for map keys (strings; numbers and
        // booleans as their text; anything else refused).
        let key = match key.serialize(JsonSerializer)? {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return Err(ser::Error::custom("key must be a string")),
        };
        self.pending = self.lookup(&key);
        Ok(())
    }

    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Self::Error> {
        let original = self.pending.take();
        self.value(original, value)
    }

    fn end(self) -> Result<(), Self::Error> {
        self.finish()
    }
}

impl ser::SerializeStruct for Obj<'_, '_> {
    type Ok = ();
    type Error = serde_json::Error;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        let original = self.lookup(key);
        self.value(original, value)
    }

    fn end(self) -> Result<(), Self::Error> {
        self.finish()
    }
}

impl<S> ser::SerializeTupleVariant for Variant<'_, '_, S>
where
    S: ser::SerializeTupleVariant<Ok = Value, Error = serde_json::Error>,
{
    type Ok = ();
    type Error = serde_json::Error;

    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Self::Error> {
        self.inner.serialize_field(value)
    }

    fn end(self) -> Result<(), Self::Error> {
        self.at.written(&self.inner.end()?)
    }
}

impl<S> ser::SerializeStructVariant for Variant<'_, '_, S>
where
    S: ser::SerializeStructVariant<Ok = Value, Error = serde_json::Error>,
{
    type Ok = ();
    type Error = serde_json::Error;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        self.inner.serialize_field(key, value)
    }

    fn end(self) -> Result<(), Self::Error> {
        self.at.written(&self.inner.end()?)
    }
}

/// Whether `key` looks like a choice element (`valueString`,
/// `_effectiveDateTime`).
fn is_choice(key: &str) -> bool {
    let key = key.strip_prefix('_').unwrap_or(key);
    DATA_TYPES.iter().any(|t| {
        key.strip_suffix(t).is_some_and(|name| {
            name.starts_with(|c: char| c.is_ascii_lowercase())
                && name.bytes().all(|b| b.is_ascii_alphanumeric())
        })
    })
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.iter().all(is_empty),
        Value::Object(object) => object.values().all(is_empty),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

fn unknown(expression: String) -> Issue {
    Issue::error(
        "structure",
        UNKNOWN_ELEMENT,
        "unknown element: FHIR R4 (as read by this server) does not define it here",
        "elemento sconosciuto: FHIR R4 (come letto da questo server) non lo prevede qui",
        expression,
    )
}

fn unreadable(expression: String) -> Issue {
    Issue::error(
        "structure",
        UNREADABLE_ELEMENT,
        "element not readable: an invalid value of a choice element (value[x]: e.g. a dateTime \
         without seconds or time zone), a second value[x], or an unknown element",
        "elemento non leggibile: valore non valido di un elemento a scelta (value[x]: ad es. un \
         dateTime senza secondi o fuso orario), un secondo value[x], o un elemento sconosciuto",
        expression,
    )
}

fn empty(expression: String) -> Issue {
    Issue::error(
        "structure",
        EMPTY_ELEMENT,
        "empty element: FHIR does not allow empty values, it was ignored",
        "elemento vuoto: FHIR non ammette valori vuoti, è stato ignorato",
        expression,
    )
    .warning()
}

/// The comparison as it was done until 2026-11: the typed Bundle
/// serialised into a second `serde_json::Value`, both trees walked. Kept as
/// the reference [`compare`] must agree with.
#[cfg(test)]
pub(super) mod reference {
    use fhir_sdk::r4b::resources::Bundle;
    use serde_json::Value;

    use super::super::{Segment, fhir_path};
    use super::{empty, is_choice, is_empty, unknown, unreadable};
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
}
