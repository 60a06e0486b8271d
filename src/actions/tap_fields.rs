//! Turning tolerant TAP JSON into text: HTML escaping for insights, and plain strings for tables
//! whatever type TAP used for a field this time.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};

/// Escapes the five HTML-significant characters, so that TAP text renders as text.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Whether `c` must not reach the case wall: C0 controls but line breaks and tabs (an ANSI escape
/// starts with one), DEL and C1 controls, and the BiDi embeddings, overrides and isolates that
/// make text read in another order than it is stored.
fn is_control_or_bidi(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Removes what [`is_control_or_bidi`] refuses, in place; text without any is left untouched.
pub(crate) fn strip_controls(text: &mut String) {
    if text.chars().any(is_control_or_bidi) {
        text.retain(|c| !is_control_or_bidi(c));
    }
}

/// A Message-ID header without the angle brackets it is often written with, lower-cased, so that
/// two spellings of one id compare equal.
pub(crate) fn bare_message_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_lowercase()
}

/// A field by its name or one of its drifted spellings; an exact match first, then ignoring case.
pub(crate) fn field<'a>(object: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names
        .iter()
        .find_map(|n| object.get(*n))
        .or_else(|| {
            object
                .iter()
                .find(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
                .map(|(_, v)| v)
        })
        .filter(|v| !v.is_null())
}

/// A value as table text: strings as they are, numbers and booleans printed, lists joined with
/// ", ", objects by their `name` (or as JSON), null as empty.
pub(crate) fn text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| text(Some(v)))
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
        Some(Value::Object(o)) => match o.get("name") {
            Some(name) => text(Some(name)),
            None => Value::Object(o.clone()).to_string(),
        },
    }
}

/// The names in a TAP list such as `families: [{id, name}]` (plain strings accepted too).
pub(crate) fn names(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| text(Some(v)))
            .filter(|s| !s.is_empty())
            .collect(),
        Some(other) => {
            let t = text(Some(other));
            if t.is_empty() {
                Vec::new()
            } else {
                vec![t]
            }
        }
        None => Vec::new(),
    }
}

/// [`text`] of a member's JSON text, read without building a tree of values first (a week of
/// events is hundreds of thousands of them); malformed text reads as empty.
pub(crate) fn text_of_raw(raw: &RawValue) -> String {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    de.deserialize_any(AsText).unwrap_or_default()
}

/// [`names`] of a member's JSON text, read as [`text_of_raw`] reads.
pub(crate) fn names_of_raw(raw: &RawValue) -> Vec<String> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    de.deserialize_any(AsNames).unwrap_or_default()
}

/// [`text`] as a visitor.
struct AsText;

/// One value read by [`AsText`].
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AsText).map(Text)
    }
}

impl<'de> Visitor<'de> for AsText {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<String, E> {
        Ok(String::new())
    }
    fn visit_bool<E>(self, b: bool) -> Result<String, E> {
        Ok(b.to_string())
    }
    // Numbers printed as `serde_json` prints them, as `text` does.
    fn visit_i64<E>(self, n: i64) -> Result<String, E> {
        Ok(Number::from(n).to_string())
    }
    fn visit_u64<E>(self, n: u64) -> Result<String, E> {
        Ok(Number::from(n).to_string())
    }
    fn visit_f64<E>(self, n: f64) -> Result<String, E> {
        Ok(Number::from_f64(n)
            .map(|n| n.to_string())
            .unwrap_or_default())
    }
    fn visit_str<E>(self, s: &str) -> Result<String, E> {
        Ok(s.to_owned())
    }
    fn visit_string<E>(self, s: String) -> Result<String, E> {
        Ok(s)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<String, A::Error> {
        let mut joined = String::new();
        while let Some(Text(item)) = seq.next_element()? {
            if !item.is_empty() {
                if !joined.is_empty() {
                    joined.push_str(", ");
                }
                joined.push_str(&item);
            }
        }
        Ok(joined)
    }
    // An object is rare in a field read as text: read as a value, as `text` reads it.
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<String, A::Error> {
        let value = Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        Ok(text(Some(&value)))
    }
}

/// [`names`] as a visitor.
struct AsNames;

impl AsNames {
    fn one(text: String) -> Vec<String> {
        if text.is_empty() {
            Vec::new()
        } else {
            vec![text]
        }
    }
}

impl<'de> Visitor<'de> for AsNames {
    type Value = Vec<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Vec<String>, E> {
        Ok(Vec::new())
    }
    fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<Vec<String>, E> {
        AsText.visit_bool(b).map(Self::one)
    }
    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Vec<String>, E> {
        AsText.visit_i64(n).map(Self::one)
    }
    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Vec<String>, E> {
        AsText.visit_u64(n).map(Self::one)
    }
    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Vec<String>, E> {
        AsText.visit_f64(n).map(Self::one)
    }
    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Vec<String>, E> {
        AsText.visit_str(s).map(Self::one)
    }
    fn visit_string<E: serde::de::Error>(self, s: String) -> Result<Vec<String>, E> {
        AsText.visit_string(s).map(Self::one)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let mut names = Vec::new();
        while let Some(Text(item)) = seq.next_element()? {
            if !item.is_empty() {
                names.push(item);
            }
        }
        Ok(names)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Vec<String>, A::Error> {
        AsText.visit_map(map).map(Self::one)
    }
}

/// A flag TAP sends as `true`, `1` or `"true"` (and their opposites), as `true`/`false` text;
/// anything else as it came.
pub(crate) fn flag_text(value: Option<&Value>) -> String {
    match value {
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) if n.as_i64() == Some(1) => "true".into(),
        Some(Value::Number(n)) if n.as_i64() == Some(0) => "false".into(),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => "true".into(),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => "false".into(),
        other => text(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// Any JSON value, small.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "[a-z \u{e9}\"\\\\]{0,5}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(("name|id|[a-z]{1,2}", inner), 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn raw_text_reads_as_the_value_reads(value in json_value()) {
            let json = serde_json::to_string(&value).unwrap();
            let raw: Box<RawValue> = serde_json::from_str(&json).unwrap();
            let parsed: Value = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(text_of_raw(&raw), text(Some(&parsed)));
            prop_assert_eq!(names_of_raw(&raw), names(Some(&parsed)));
        }
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            html_escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn controls_and_bidi_overrides_are_removed() {
        let mut t = "a\u{1b}[31mred\u{1b}[0m \u{202e}gnp.exe\u{2069}\u{85}\nnext\tcol".to_owned();
        strip_controls(&mut t);
        assert_eq!(t, "a[31mred[0m gnp.exe\nnext\tcol");
        let mut plain = "Ünïcode — fine ✓".to_owned();
        strip_controls(&mut plain);
        assert_eq!(plain, "Ünïcode — fine ✓");
    }

    #[test]
    fn tolerant_reading() {
        let o =
            json!({"campaignID": "a", "n": 5, "list": [{"id": 1, "name": "x"}, "y"], "nul": null});
        let o = o.as_object().unwrap();
        assert_eq!(text(field(o, &["campaignId"])), "a");
        assert_eq!(text(field(o, &["n"])), "5");
        assert_eq!(names(field(o, &["list"])), ["x", "y"]);
        assert_eq!(field(o, &["nul"]), None);
        assert_eq!(flag_text(Some(&json!(1))), "true");
        assert_eq!(flag_text(Some(&json!("FALSE"))), "false");
        assert_eq!(flag_text(Some(&json!("maybe"))), "maybe");
    }
}
