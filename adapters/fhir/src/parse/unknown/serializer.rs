//! The walk: [`Compare`], a serde `Serializer` that the typed Bundle is
//! serialised into and that builds nothing, comparing what the model writes
//! with the original JSON at the same place and recording, in the shared
//! [`Ctx`], the original keys it did not write.

use serde::Serialize;
use serde::ser;
use serde_json::value::Serializer as JsonSerializer;
use serde_json::{Map, Value};

use super::Ctx;
use crate::parse::Step;

/// A serde `Serializer` that compares what it is given with the original
/// value at the same place and builds nothing. Its error is serde_json's,
/// as `serde_json::to_value` would have returned.
pub(super) struct Compare<'a, 'c> {
    pub(super) ctx: &'c mut Ctx<'a>,
    /// The original value at the place being written; `None` if the
    /// original has nothing there.
    pub(super) original: Option<&'a Value>,
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
pub(super) struct Seq<'a, 'c> {
    ctx: &'c mut Ctx<'a>,
    items: Option<&'a [Value]>,
    next: usize,
}

/// The model wrote an object: each key it writes is looked up in the
/// original object; the rest of the original's keys are reported at the
/// end.
pub(super) struct Obj<'a, 'c> {
    ctx: &'c mut Ctx<'a>,
    object: Option<&'a Map<String, Value>>,
    /// Where this object's part of [`Ctx::seen`] starts.
    seen_from: usize,
    /// The original key and value for the value of `serialize_key`.
    pending: Option<(&'a String, &'a Value)>,
}

/// What `serde_json::to_value` writes as an object with the variant's name
/// as key, converted by serde_json and compared as two trees.
pub(super) struct Variant<'a, 'c, S> {
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
