//! Parameter values as a request carries them: parsed JSON (the configuration) or the raw JSON text
//! of one value, read straight from the request so that large lists are not copied.

use serde::de::{self, Deserializer, IntoDeserializer};
use serde_json::value::RawValue;
use serde_json::Value;

/// A parameter value as a request carries it: parsed JSON (the configuration), or the raw JSON
/// text of one (action parameters, read straight from the request so large lists are not copied).
pub(crate) trait ParamValue<'de>: Clone {
    /// What the value is read through.
    type Reader: IntoDeserializer<'de, serde_json::Error>;
    /// The value, ready to be read into its parameter's type.
    fn reader(self) -> Self::Reader;
    /// Whether the value counts as "not given": null, an empty or blank string, an empty list.
    fn is_empty(&self) -> bool;
    /// The value as parsed JSON, to compare two spellings of one parameter.
    fn to_value(&self) -> Value;
}

impl ParamValue<'_> for Value {
    type Reader = Value;

    fn reader(self) -> Value {
        self
    }

    fn is_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::String(s) => s.trim().is_empty(),
            Value::Array(a) => a.is_empty(),
            _ => false,
        }
    }

    fn to_value(&self) -> Value {
        self.clone()
    }
}

impl<'de> ParamValue<'de> for &'de RawValue {
    type Reader = RawParam<'de>;

    fn reader(self) -> RawParam<'de> {
        RawParam(self)
    }

    fn is_empty(&self) -> bool {
        let text = self.get();
        match text.as_bytes().first() {
            Some(b'n') => true, // the only valid JSON starting with 'n' is null
            Some(b'[') => text[1..].trim_start().starts_with(']'),
            // Without escapes the text between the quotes is the string itself.
            Some(b'"') if !text.contains('\\') => text[1..text.len() - 1].trim().is_empty(),
            Some(b'"') => serde_json::from_str::<String>(text).is_ok_and(|s| s.trim().is_empty()),
            _ => false,
        }
    }

    fn to_value(&self) -> Value {
        serde_json::from_str(self.get()).unwrap_or(Value::Null)
    }
}

/// One parameter's raw JSON text, read through serde_json, except that a JSON array has its items
/// handed over one at a time by [`Items`]: a list of fifty thousand URLs is searched quote to quote
/// with `memchr` rather than scanned byte by byte a second time (the request was already checked to
/// be valid JSON when it was read).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawParam<'de>(&'de RawValue);

impl<'de> IntoDeserializer<'de, serde_json::Error> for RawParam<'de> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> RawParam<'de> {
    /// What follows the `[` of an array.
    fn array_body(&self) -> Option<&'de str> {
        self.0
            .get()
            .trim_start_matches(JSON_SPACE)
            .strip_prefix('[')
    }

    fn visit_array<V: de::Visitor<'de>>(
        body: &'de str,
        visitor: V,
    ) -> std::result::Result<V::Value, serde_json::Error> {
        let mut items = Items {
            rest: body,
            started: false,
        };
        let value = visitor.visit_seq(&mut items)?;
        // As serde_json does: a reader that stops early leaves the rest unread, an error.
        if items.rest.trim_start_matches(JSON_SPACE).starts_with(']') {
            Ok(value)
        } else {
            Err(de::Error::custom("trailing items in the list"))
        }
    }
}

const JSON_SPACE: [char; 4] = [' ', '\t', '\n', '\r'];

/// Passes each way of reading on to serde_json's reader of the same text.
macro_rules! read_by_serde_json {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method<V: de::Visitor<'de>>(
            self,
            $($arg: $ty,)*
            visitor: V,
        ) -> std::result::Result<V::Value, serde_json::Error> {
            self.0.$method($($arg,)* visitor)
        }
    )*};
}

impl<'de> Deserializer<'de> for RawParam<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: de::Visitor<'de>>(
        self,
        visitor: V,
    ) -> std::result::Result<V::Value, serde_json::Error> {
        match self.array_body() {
            Some(body) => Self::visit_array(body, visitor),
            None => self.0.deserialize_any(visitor),
        }
    }

    fn deserialize_seq<V: de::Visitor<'de>>(
        self,
        visitor: V,
    ) -> std::result::Result<V::Value, serde_json::Error> {
        match self.array_body() {
            Some(body) => Self::visit_array(body, visitor),
            None => self.0.deserialize_seq(visitor),
        }
    }

    read_by_serde_json! {
        deserialize_bool(); deserialize_i8(); deserialize_i16(); deserialize_i32();
        deserialize_i64(); deserialize_i128(); deserialize_u8(); deserialize_u16();
        deserialize_u32(); deserialize_u64(); deserialize_u128(); deserialize_f32();
        deserialize_f64(); deserialize_char(); deserialize_str(); deserialize_string();
        deserialize_bytes(); deserialize_byte_buf(); deserialize_option(); deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier(); deserialize_ignored_any();
    }
}

/// The items of a JSON array, from just after its `[`. A string without escapes is found by
/// searching for its closing quote and handed over borrowed; anything else (a string with escapes,
/// a number, an object ...) is read by serde_json, so it reads and fails as it always did.
struct Items<'de> {
    rest: &'de str,
    started: bool,
}

impl<'de> de::SeqAccess<'de> for Items<'de> {
    type Error = serde_json::Error;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> std::result::Result<Option<T::Value>, serde_json::Error> {
        let mut rest = self.rest.trim_start_matches(JSON_SPACE);
        if self.started {
            // The text is valid JSON: after an item comes ',' or the closing ']'.
            match rest.strip_prefix(',') {
                Some(after) => rest = after.trim_start_matches(JSON_SPACE),
                None => return Ok(None),
            }
        } else if rest.starts_with(']') {
            return Ok(None);
        }
        self.started = true;
        if let Some(body) = rest.strip_prefix('"') {
            // No control character can be inside: the text is valid JSON.
            if let Some(end) = memchr::memchr2(b'"', b'\\', body.as_bytes()) {
                if body.as_bytes()[end] == b'"' {
                    self.rest = &body[end + 1..];
                    let item = de::value::BorrowedStrDeserializer::new(&body[..end]);
                    return seed.deserialize(item).map(Some);
                }
            }
        }
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<&'de RawValue>();
        let item = values
            .next()
            .unwrap_or_else(|| Err(de::Error::custom("a list item is missing")))?;
        self.rest = &rest[values.byte_offset()..];
        seed.deserialize(item).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use serde::Deserialize;

    use super::*;

    #[test]
    fn raw_values_count_as_empty_like_parsed_ones() {
        for (raw, empty) in [
            ("null", true),
            ("[ ]", true),
            (r#""  ""#, true),
            (r#"" \t\n ""#, true),
            (r#""\u0020""#, true),
            (r#""x""#, false),
            ("[\"\"]", false),
            ("0", false),
            ("false", false),
            ("{}", false),
        ] {
            let value: &RawValue = serde_json::from_str(raw).unwrap();
            assert_eq!(value.is_empty(), empty, "{raw}");
            assert_eq!(value.to_value().is_empty(), empty, "{raw} parsed");
        }
    }

    #[test]
    fn raw_lists_read_partly_are_an_error() {
        /// Reads the first item of a list and stops.
        #[derive(Debug)]
        struct First;
        impl<'de> Deserialize<'de> for First {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                struct V;
                impl<'de> de::Visitor<'de> for V {
                    type Value = First;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a list")
                    }
                    fn visit_seq<A: de::SeqAccess<'de>>(
                        self,
                        mut seq: A,
                    ) -> std::result::Result<First, A::Error> {
                        seq.next_element::<String>()?;
                        Ok(First)
                    }
                }
                d.deserialize_seq(V)
            }
        }
        let raw: &RawValue = serde_json::from_str(r#"["a"]"#).unwrap();
        assert!(First::deserialize(RawParam(raw)).is_ok());
        let raw: &RawValue = serde_json::from_str(r#"["a", "b"]"#).unwrap();
        assert!(First::deserialize(RawParam(raw)).is_err());
    }
}
