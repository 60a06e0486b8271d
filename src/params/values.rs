//! The value types parameters are declared with: each reads what SOAR platforms send for it — a
//! boolean or `"True"`, a number or `"20"`, a list or a comma-separated string, a choice in any case.

use std::borrow::Cow;
use std::fmt;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, DeserializeOwned, Deserializer, IntoDeserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

/// A boolean that also accepts the strings `"true"` and `"false"` in any case. Defaults to false.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Bool(b) => Ok(Flag(b)),
            Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Ok(Flag(true)),
            Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Ok(Flag(false)),
            other => Err(de::Error::custom(format_args!(
                "expected true or false, got {}",
                short(&other)
            ))),
        }
    }
}

impl Serialize for Flag {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_bool(self.0)
    }
}

impl JsonSchema for Flag {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Flag".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "x-kind": "boolean",
            "anyOf": [
                {"type": "boolean"},
                // `true` or `false` in any case, blanks around: what `deserialize` reads.
                {"type": "string", "pattern": "^\\s*(?:[tT][rR][uU][eE]|[fF][aA][lL][sS][eE])\\s*$"}
            ]
        })
    }
}

/// An integer that also accepts a numeric string. A range is declared with its parameter
/// (`#[param("...", range = 1..=N)]`) and checked when the request is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Integer(pub i64);

impl<'de> Deserialize<'de> for Integer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let parsed = match &value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        parsed.map(Integer).ok_or_else(|| {
            de::Error::custom(format_args!(
                "expected a whole number, got {}",
                short(&value)
            ))
        })
    }
}

impl Serialize for Integer {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

impl JsonSchema for Integer {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Integer".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "x-kind": "integer",
            "anyOf": [
                {"type": "integer"},
                {"type": "string", "pattern": "^\\s*[+-]?[0-9]+\\s*$"}
            ]
        })
    }
}

/// A list: a JSON array of strings, or one string the action splits. Items borrow from the request
/// text where they can (`'a`); a string with JSON escapes is copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum List<'a> {
    /// Given as a JSON array.
    Items(Vec<Cow<'a, str>>),
    /// Given as one string.
    Text(Cow<'a, str>),
}

impl Default for List<'_> {
    fn default() -> Self {
        List::Items(Vec::new())
    }
}

impl<'a> List<'a> {
    /// The items, a string split at commas and newlines; each trimmed, empty ones dropped.
    pub(crate) fn split_commas(&self) -> Vec<String> {
        self.split_with(|text| text.split([',', '\n']).collect())
    }

    /// The items, a string cut into pieces by `split`; each trimmed, empty ones dropped.
    pub(crate) fn split_with(&self, split: impl Fn(&str) -> Vec<&str>) -> Vec<String> {
        self.clone()
            .into_items(split)
            .into_iter()
            .map(Cow::into_owned)
            .collect()
    }

    /// As [`List::split_with`], consuming the list and keeping items borrowed where they were, so
    /// that large lists are not copied.
    pub(crate) fn into_items(self, split: impl Fn(&str) -> Vec<&str>) -> Vec<Cow<'a, str>> {
        let items = match self {
            List::Items(items) => items,
            List::Text(Cow::Borrowed(text)) => split(text).into_iter().map(Cow::Borrowed).collect(),
            List::Text(Cow::Owned(text)) => split(&text)
                .into_iter()
                .map(|piece| Cow::Owned(piece.to_owned()))
                .collect(),
        };
        items
            .into_iter()
            .filter_map(|item| match item {
                Cow::Borrowed(s) => Some(Cow::Borrowed(s.trim())).filter(|s| !s.is_empty()),
                Cow::Owned(s) => {
                    let trimmed = s.trim();
                    if trimmed.is_empty() {
                        None
                    } else if trimmed.len() == s.len() {
                        Some(Cow::Owned(s))
                    } else {
                        Some(Cow::Owned(trimmed.to_owned()))
                    }
                }
            })
            .collect()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for List<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        // Visitors rather than a detour through `Value`: lists can hold tens of thousands of URLs,
        // and each is borrowed from the request unless it holds escapes.
        struct ListVisitor;
        impl<'de> de::Visitor<'de> for ListVisitor {
            type Value = List<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of strings or a comma-separated string")
            }
            fn visit_borrowed_str<E: de::Error>(
                self,
                v: &'de str,
            ) -> std::result::Result<Self::Value, E> {
                Ok(List::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(List::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Self::Value, E> {
                Ok(List::Text(Cow::Owned(v)))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
                while let Some(Item(item)) = seq.next_element::<Item<'de>>()? {
                    items.push(item);
                }
                Ok(List::Items(items))
            }
        }

        /// One list item: a string, borrowed where possible; anything else is refused by value.
        struct Item<'a>(Cow<'a, str>);
        impl<'de: 'a, 'a> Deserialize<'de> for Item<'a> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                struct ItemVisitor;
                impl<'de> de::Visitor<'de> for ItemVisitor {
                    type Value = Item<'de>;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a string")
                    }
                    fn visit_borrowed_str<E: de::Error>(
                        self,
                        v: &'de str,
                    ) -> std::result::Result<Self::Value, E> {
                        Ok(Item(Cow::Borrowed(v)))
                    }
                    fn visit_str<E: de::Error>(
                        self,
                        v: &str,
                    ) -> std::result::Result<Self::Value, E> {
                        Ok(Item(Cow::Owned(v.to_owned())))
                    }
                    fn visit_string<E: de::Error>(
                        self,
                        v: String,
                    ) -> std::result::Result<Self::Value, E> {
                        Ok(Item(Cow::Owned(v)))
                    }
                    // Anything else is read whole, so that the message can show it.
                    fn visit_bool<E: de::Error>(
                        self,
                        v: bool,
                    ) -> std::result::Result<Self::Value, E> {
                        Err(not_a_string(Value::Bool(v)))
                    }
                    fn visit_i64<E: de::Error>(
                        self,
                        v: i64,
                    ) -> std::result::Result<Self::Value, E> {
                        Err(not_a_string(Value::from(v)))
                    }
                    fn visit_u64<E: de::Error>(
                        self,
                        v: u64,
                    ) -> std::result::Result<Self::Value, E> {
                        Err(not_a_string(Value::from(v)))
                    }
                    fn visit_f64<E: de::Error>(
                        self,
                        v: f64,
                    ) -> std::result::Result<Self::Value, E> {
                        Err(not_a_string(Value::from(v)))
                    }
                    fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
                        Err(not_a_string(Value::Null))
                    }
                    fn visit_seq<A: de::SeqAccess<'de>>(
                        self,
                        mut seq: A,
                    ) -> std::result::Result<Self::Value, A::Error> {
                        let mut items = Vec::new();
                        while let Some(item) = seq.next_element::<Value>()? {
                            items.push(item);
                        }
                        Err(not_a_string(Value::Array(items)))
                    }
                    fn visit_map<A: de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> std::result::Result<Self::Value, A::Error> {
                        let mut object = serde_json::Map::new();
                        while let Some((key, value)) = map.next_entry::<String, Value>()? {
                            object.insert(key, value);
                        }
                        Err(not_a_string(Value::Object(object)))
                    }
                }
                d.deserialize_any(ItemVisitor)
            }
        }

        fn not_a_string<E: de::Error>(item: Value) -> E {
            E::custom(format_args!(
                "expected a list of strings, found the item {}",
                short(&item)
            ))
        }

        d.deserialize_any(ListVisitor)
    }
}

impl Serialize for List<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            List::Items(items) => items.serialize(s),
            List::Text(text) => s.serialize_str(text),
        }
    }
}

impl JsonSchema for List<'_> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "List".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "x-kind": "list",
            "anyOf": [
                {"type": "array", "items": {"type": "string"}},
                {"type": "string"}
            ]
        })
    }
}

/// One of a fixed set of values (a unit enum with snake_case names), matched case-insensitively
/// with spaces and hyphens read as underscores, so `"Auto"` and `"Redirect Chain"` are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Choice<T>(pub T);

impl<T: Default> Default for Choice<T> {
    fn default() -> Self {
        Choice(T::default())
    }
}

/// `"Last 24 Hours"` → `last_24_hours`.
pub(crate) fn fold_choice(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Choice<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let Value::String(s) = &value else {
            return Err(de::Error::custom(format_args!(
                "expected a string, got {}",
                short(&value)
            )));
        };
        let folded = fold_choice(s);
        let inner: de::value::StrDeserializer<'_, de::value::Error> =
            folded.as_str().into_deserializer();
        T::deserialize(inner)
            .map(Choice)
            .map_err(|e| de::Error::custom(e.to_string().replace(&folded, s)))
    }
}

impl<T: Serialize> Serialize for Choice<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<T: JsonSchema> JsonSchema for Choice<T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// A value shown in an error message, cut short.
fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        let cut: String = text.chars().take(57).collect();
        format!("{cut}...")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_splitting() {
        assert_eq!(
            List::Text("a,\n b ,,c".into()).split_commas(),
            vec!["a", "b", "c"]
        );
        assert_eq!(
            List::Items(vec![" a,b ".into(), "".into()]).split_commas(),
            vec!["a,b"]
        );
    }
}
