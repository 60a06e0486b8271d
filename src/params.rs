//! Shared parameter parsing for every action and for the configuration.
//!
//! SOAR platforms send parameters under their snake_case keys, their display names (`"Campaign ID"`)
//! or older spellings (`encoded_ur_ls`); booleans as JSON or as `"true"`/`"False"`; numbers as JSON
//! or as strings; lists as arrays or comma-separated strings. Each action declares its parameters
//! once, as a struct deriving `Deserialize + JsonSchema` with the wrapper types below and the schema
//! extensions `x-display-name` / `x-aliases`. [`parse`] reads the accepted spellings from that
//! schema, so the struct is the single source of truth for the binary, `schemas/` and `actions/`.

use std::borrow::Cow;
use std::fmt;

use schemars::generate::SchemaSettings;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, DeserializeOwned, Deserializer, IntoDeserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::{Error, Result};

/// What one parameter accepts, read from its struct's JSON Schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamInfo {
    /// Canonical snake_case key.
    pub key: String,
    /// SOAR display name.
    pub name: String,
    /// Other accepted spellings.
    pub aliases: Vec<String>,
    /// `boolean`, `integer`, `list`, `choice`, `string` or `password`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Default value, if the parameter has one.
    pub default_value: Option<Value>,
    /// Whether the action fails without it.
    pub is_mandatory: bool,
    /// Accepted values of a `choice`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_values: Vec<String>,
    /// What it does.
    pub description: String,
}

/// The generator every parameter schema is made with: subschemas inlined so that each property
/// carries its own type, values and extensions.
pub fn schema_generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator()
}

/// The parameters `T` accepts, in declaration order.
pub fn describe<T: JsonSchema>() -> Vec<ParamInfo> {
    let schema = schema_generator().into_root_schema_for::<T>();
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(key, prop)| {
            let text = |k: &str| prop.get(k).and_then(Value::as_str).map(str::to_owned);
            let strings = |k: &str| -> Vec<String> {
                prop.get(k)
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default()
            };
            // A unit enum is `enum: [...]`, or `oneOf: [{const}]` when its variants carry docs.
            let mut allowed = strings("enum");
            if allowed.is_empty() {
                allowed = strings("x-allowed-values");
            }
            if allowed.is_empty() {
                allowed = prop
                    .get("oneOf")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.get("const")?.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
            }
            // An `Option<T>` wraps T's schema in `anyOf: [T, null]`; look inside for the kind.
            let kind = text("x-kind").or_else(|| {
                prop.get("anyOf")?
                    .as_array()?
                    .iter()
                    .find_map(|s| s.get("x-kind")?.as_str().map(str::to_owned))
            });
            ParamInfo {
                key: key.clone(),
                name: text("x-display-name").unwrap_or_else(|| key.clone()),
                aliases: strings("x-aliases"),
                kind: kind.unwrap_or_else(|| {
                    if allowed.is_empty() {
                        "string"
                    } else {
                        "choice"
                    }
                    .to_owned()
                }),
                default_value: prop.get("default").cloned(),
                is_mandatory: required.contains(&key.as_str()),
                allowed_values: allowed,
                // Doc comments wrap lines; a description is one paragraph.
                description: text("description").unwrap_or_default().replace('\n', " "),
            }
        })
        .collect()
}

/// A key reduced to lower-case letters and digits, so that `Campaign ID`, `campaign_id` and
/// `CampaignId` meet.
fn fold_key(key: &str) -> String {
    key.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A parameter value as a request carries it: parsed JSON (the configuration), or the raw JSON
/// text of one (action parameters, read straight from the request so large lists are not copied).
pub trait ParamValue<'de>: Clone {
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
pub struct RawParam<'de>(&'de RawValue);

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

/// The message of a JSON error without the " at line L column C" that errors read from raw text
/// carry: the position within one parameter's value means nothing to the person who sent it.
pub fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    match text.strip_suffix(&position) {
        Some(message) => message.to_owned(),
        None => text,
    }
}

/// Which kind of map is being read, for messages.
#[derive(Debug, Clone, Copy)]
pub enum Noun {
    /// Action parameters.
    Parameter,
    /// Integration configuration.
    Configuration,
}

impl Noun {
    fn word(self) -> &'static str {
        match self {
            Noun::Parameter => "parameter",
            Noun::Configuration => "configuration key",
        }
    }
}

/// Reads `raw` into `T`: every accepted key spelling is mapped to its canonical key, empty values
/// are dropped (so they take the default), and a value of the wrong kind or an unknown key becomes
/// an `invalid_parameter` error naming the parameter and what it accepts.
pub fn parse<'de, T, V>(raw: impl IntoIterator<Item = (String, V)>, noun: Noun) -> Result<T>
where
    T: Deserialize<'de> + JsonSchema,
    V: ParamValue<'de>,
{
    let infos = describe::<T>();
    // (canonical key, value, key as given), in request order.
    let mut canonical: Vec<(String, V, String)> = Vec::new();
    for (key, value) in raw {
        let folded = fold_key(&key);
        let info = infos.iter().find(|p| {
            fold_key(&p.key) == folded
                || fold_key(&p.name) == folded
                || p.aliases.iter().any(|a| fold_key(a) == folded)
        });
        let Some(info) = info else {
            return Err(unknown_key(&key, &infos, noun));
        };
        if value.is_empty() {
            continue;
        }
        if let Some((_, previous, first)) = canonical.iter().find(|(k, ..)| *k == info.key) {
            if previous.to_value() != value.to_value() {
                return Err(Error::invalid_parameter(format!(
                    "The {} {} was given twice with different values, as \"{first}\" and \"{key}\". Give it once.",
                    noun.word(),
                    label(info)
                )));
            }
            continue;
        }
        canonical.push((info.key.clone(), value, key));
    }
    for info in infos.iter().filter(|p| p.is_mandatory) {
        if !canonical.iter().any(|(k, ..)| *k == info.key) {
            return Err(Error::invalid_parameter(format!(
                "The {} {} is mandatory and was not given ({}).",
                noun.word(),
                label(info),
                info.description.trim_end_matches('.')
            )));
        }
    }
    let entries: Vec<(String, V)> = canonical
        .into_iter()
        .map(|(key, value, _)| (key, value))
        .collect();
    // Untracked first: tracking the path costs a little on every item of a list of thousands,
    // and is only needed to word an error, so a failure is read again with it.
    let readers = |entries: Vec<(String, V)>| entries.into_iter().map(|(k, v)| (k, v.reader()));
    let map = de::value::MapDeserializer::<_, serde_json::Error>::new(readers(entries.clone()));
    if let Ok(parsed) = T::deserialize(map) {
        return Ok(parsed);
    }
    let map = de::value::MapDeserializer::<_, serde_json::Error>::new(readers(entries));
    serde_path_to_error::deserialize(map).map_err(|err| {
        let key = err.path().iter().next().map(|s| s.to_string());
        let info = key.and_then(|k| infos.iter().find(|p| p.key == k));
        let reason = without_position(err.inner());
        match info {
            Some(info) => Error::invalid_parameter(format!(
                "Invalid value for the {} {}: {reason}",
                noun.word(),
                label(info),
            )),
            None => Error::invalid_parameter(format!("Invalid {}: {reason}", noun.word())),
        }
    })
}

/// `"Display Name" (snake_key)`, or just the key when they are the same.
pub fn label(info: &ParamInfo) -> String {
    if info.name == info.key {
        format!("\"{}\"", info.key)
    } else {
        format!("\"{}\" ({})", info.name, info.key)
    }
}

fn unknown_key(key: &str, infos: &[ParamInfo], noun: Noun) -> Error {
    if infos.is_empty() {
        return Error::invalid_parameter(format!(
            "Unknown {} \"{key}\": this action takes no parameters. Remove it.",
            noun.word()
        ));
    }
    let accepted: Vec<String> = infos.iter().map(label).collect();
    Error::invalid_parameter(format!(
        "Unknown {} \"{key}\". Accepted: {}.",
        noun.word(),
        accepted.join(", ")
    ))
}

/// A boolean that also accepts the strings `"true"` and `"false"` in any case. Defaults to false.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flag(pub bool);

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
                {"type": "string", "enum": ["true", "false", "True", "False", "TRUE", "FALSE"]}
            ]
        })
    }
}

/// An integer that also accepts a numeric string. Range checks are the action's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Integer(pub i64);

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
pub enum List<'a> {
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
    pub fn split_commas(&self) -> Vec<String> {
        self.split_with(|text| text.split([',', '\n']).collect())
    }

    /// The items, a string cut into pieces by `split`; each trimmed, empty ones dropped.
    pub fn split_with(&self, split: impl Fn(&str) -> Vec<&str>) -> Vec<String> {
        self.clone()
            .into_items(split)
            .into_iter()
            .map(Cow::into_owned)
            .collect()
    }

    /// As [`List::split_with`], consuming the list and keeping items borrowed where they were, so
    /// that large lists are not copied.
    pub fn into_items(self, split: impl Fn(&str) -> Vec<&str>) -> Vec<Cow<'a, str>> {
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
pub struct Choice<T>(pub T);

impl<T: Default> Default for Choice<T> {
    fn default() -> Self {
        Choice(T::default())
    }
}

/// `"Last 24 Hours"` → `last_24_hours`.
pub fn fold_choice(s: &str) -> String {
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

impl fmt::Display for ParamInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&label(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize, JsonSchema, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Auto,
        Local,
        RedirectChain,
    }

    #[derive(Debug, Deserialize, JsonSchema)]
    struct Sample<'a> {
        /// Ids.
        #[schemars(extend("x-display-name" = "Campaign ID", "x-aliases" = ["campaign_ids"]))]
        #[serde(borrow)]
        campaign_id: List<'a>,
        /// A flag.
        #[serde(default = "yes")]
        #[schemars(extend("x-display-name" = "Create Insight"))]
        create_insight: Flag,
        /// A limit.
        #[serde(default)]
        #[schemars(extend("x-display-name" = "Max Forensics Evidence To Return"))]
        max: Option<Integer>,
        /// A mode.
        #[serde(default)]
        #[schemars(extend("x-display-name" = "Decode Mode"))]
        mode: Option<Choice<Mode>>,
    }

    fn yes() -> Flag {
        Flag(true)
    }

    fn parse_sample(v: Value) -> Result<Sample<'static>> {
        parse(v.as_object().unwrap().clone(), Noun::Parameter)
    }

    #[test]
    fn display_names_aliases_and_string_values() {
        let s = parse_sample(json!({
            "Campaign ID": "a, b", "Create Insight": "FALSE",
            "Max Forensics Evidence To Return": " 20 ", "Decode Mode": "Redirect Chain"
        }))
        .unwrap();
        assert_eq!(s.campaign_id.split_commas(), vec!["a", "b"]);
        assert_eq!(s.create_insight, Flag(false));
        assert_eq!(s.max, Some(Integer(20)));
        assert_eq!(s.mode, Some(Choice(Mode::RedirectChain)));
        let s = parse_sample(json!({"campaign_ids": ["x"], "mode": "AUTO"})).unwrap();
        assert_eq!(s.campaign_id, List::Items(vec!["x".into()]));
        assert_eq!(s.mode, Some(Choice(Mode::Auto)));
        assert!(s.create_insight.0, "default applies");
    }

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
    fn empty_values_take_the_default() {
        let s =
            parse_sample(json!({"campaign_id": "a", "create_insight": "", "max": null})).unwrap();
        assert!(s.create_insight.0);
        assert_eq!(s.max, None);
    }

    #[test]
    fn errors_name_the_parameter() {
        let e = parse_sample(json!({"campaign_id": "a", "bogus": 1})).unwrap_err();
        assert!(
            e.message.contains("Unknown parameter \"bogus\""),
            "{}",
            e.message
        );
        assert!(e.message.contains("\"Create Insight\" (create_insight)"));
        let e = parse_sample(json!({"campaign_id": "a", "Create Insight": "yes"})).unwrap_err();
        assert_eq!(
            e.message,
            "Invalid value for the parameter \"Create Insight\" (create_insight): expected true or false, got \"yes\""
        );
        let e = parse_sample(json!({"campaign_id": "a", "mode": "Remote"})).unwrap_err();
        assert!(
            e.message.contains("unknown variant `Remote`"),
            "{}",
            e.message
        );
        assert!(e.message.contains("`auto`, `local`"), "{}", e.message);
        let e = parse_sample(json!({"max": 3})).unwrap_err();
        assert!(e
            .message
            .starts_with("The parameter \"Campaign ID\" (campaign_id) is mandatory"));
        let e = parse_sample(json!({"campaign_id": "a", "Campaign ID": "b"})).unwrap_err();
        assert!(e.message.contains("given twice"), "{}", e.message);
        assert!(parse_sample(json!({"campaign_id": "a", "Campaign ID": "a"})).is_ok());
        let e = parse_sample(json!({"campaign_id": [1]})).unwrap_err();
        assert!(
            e.message.contains("expected a list of strings"),
            "{}",
            e.message
        );
    }

    #[test]
    fn describe_reads_the_schema() {
        let infos = describe::<Sample>();
        let keys: Vec<&str> = infos.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["campaign_id", "create_insight", "max", "mode"]);
        assert!(infos[0].is_mandatory && !infos[1].is_mandatory);
        assert_eq!(infos[0].aliases, ["campaign_ids"]);
        assert_eq!(infos[1].kind, "boolean");
        assert_eq!(infos[1].default_value, Some(json!(true)));
        assert_eq!(infos[2].kind, "integer");
        assert_eq!(infos[3].allowed_values, ["auto", "local", "redirect_chain"]);
    }

    /// Reads `raw` as the parameters of `Sample`, through `RawParam` and through `Value`.
    fn both_ways(raw: &str) -> (Result<Sample<'_>>, Result<Sample<'static>>) {
        let map: std::collections::BTreeMap<String, &RawValue> = serde_json::from_str(raw).unwrap();
        let by_raw = parse(map, Noun::Parameter);
        let by_value = parse_sample(serde_json::from_str(raw).unwrap());
        (by_raw, by_value)
    }

    #[test]
    fn raw_lists_read_as_parsed_ones() {
        for list in [
            r#"["a","b"]"#,
            r#"[ "a" , "b" ]"#,
            "[\n\"a\",\t\"b\"\r\n]",
            "[]",
            r#"["a\"b", "c\\", "\u00e9"]"#,
            r#"["é ", "", " x"]"#,
            r#"["a", 1]"#,
            r#"["a", 1.5e3]"#,
            r#"["a", null]"#,
            r#"["a", true]"#,
            r#"["a", {"x": [1, "]"]}]"#,
            r#"["a", ["b", "c"]]"#,
            r#""a, b""#,
        ] {
            let raw = format!(r#"{{"campaign_id": {list}}}"#);
            match both_ways(&raw) {
                (Ok(by_raw), Ok(by_value)) => {
                    assert_eq!(by_raw.campaign_id, by_value.campaign_id, "{list}")
                }
                (Err(by_raw), Err(by_value)) => assert_eq!(by_raw, by_value, "{list}"),
                other => panic!("{list}: {other:?}"),
            }
        }
        // Items without escapes are not copied.
        let (by_raw, _) = both_ways(r#"{"campaign_id": ["a", "b\"c"]}"#);
        let List::Items(items) = by_raw.unwrap().campaign_id else {
            panic!("a list")
        };
        assert!(matches!(items[0], Cow::Borrowed("a")));
        assert!(matches!(&items[1], Cow::Owned(s) if s == "b\"c"));
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
