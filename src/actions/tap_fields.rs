//! Turning tolerant TAP JSON into text: HTML escaping for insights, and plain strings for tables
//! whatever type TAP used for a field this time.

use std::fmt;

use serde::de::{Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
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

/// Whether `text` may hold what [`is_control_or_bidi`] refuses: a byte no such character has
/// none of (each starts with one of these in UTF-8), so most text is passed over a byte at a
/// time rather than a character at a time.
fn may_hold_controls(text: &str) -> bool {
    let suspect =
        |b: u8| (b < 0x20 && b != b'\t' && b != b'\n') || b == 0x7f || b == 0xc2 || b == 0xe2;
    // Whole blocks without stopping early, which the compiler turns into vector code.
    text.as_bytes()
        .chunks(32)
        .any(|block| block.iter().fold(false, |seen, &b| seen | suspect(b)))
}

/// Whether `text` holds what [`strip_controls`] removes.
pub(crate) fn has_controls(text: &str) -> bool {
    may_hold_controls(text) && text.chars().any(is_control_or_bidi)
}

/// Removes what [`is_control_or_bidi`] refuses, in place; text without any is left untouched.
pub(crate) fn strip_controls(text: &mut String) {
    if has_controls(text) {
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

/// Appends [`text`] of a member's JSON text to `out`, read without building a tree of values
/// first (a week of events is hundreds of thousands of them); malformed text appends nothing.
pub(crate) fn push_text_of_json(json: &str, out: &mut String) {
    let start = out.len();
    let mut de = serde_json::Deserializer::from_str(json);
    if de.deserialize_any(TextInto(out)).is_err() {
        out.truncate(start);
    }
}

/// Appends each of [`names`] of a member's JSON text to `out`, and where it ends to `ends`.
pub(crate) fn push_names_of_json(json: &str, out: &mut String, ends: &mut Vec<u32>) {
    let (start, count) = (out.len(), ends.len());
    let mut de = serde_json::Deserializer::from_str(json);
    if de.deserialize_any(NamesInto { out, ends }).is_err() {
        out.truncate(start);
        ends.truncate(count);
    }
}

/// Where `out` ends, as kept in a list of ends.
fn end_of(out: &str) -> u32 {
    u32::try_from(out.len()).unwrap_or(u32::MAX)
}

/// [`text`] as a visitor appending to a text.
struct TextInto<'a>(&'a mut String);

impl<'de> DeserializeSeed<'de> for TextInto<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TextInto<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E>(self, b: bool) -> Result<(), E> {
        self.0.push_str(if b { "true" } else { "false" });
        Ok(())
    }
    // Numbers printed as `serde_json` prints them, as `text` does.
    fn visit_i64<E>(self, n: i64) -> Result<(), E> {
        self.0.push_str(&Number::from(n).to_string());
        Ok(())
    }
    fn visit_u64<E>(self, n: u64) -> Result<(), E> {
        self.0.push_str(&Number::from(n).to_string());
        Ok(())
    }
    fn visit_f64<E>(self, n: f64) -> Result<(), E> {
        if let Some(n) = Number::from_f64(n) {
            self.0.push_str(&n.to_string());
        }
        Ok(())
    }
    fn visit_str<E>(self, s: &str) -> Result<(), E> {
        self.0.push_str(s);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // The items that are not empty, joined with ", ".
        let start = self.0.len();
        loop {
            let before = self.0.len();
            if before > start {
                self.0.push_str(", ");
            }
            let mark = self.0.len();
            if seq.next_element_seed(TextInto(self.0))?.is_none() {
                self.0.truncate(before);
                return Ok(());
            }
            if self.0.len() == mark {
                self.0.truncate(before);
            }
        }
    }
    // An object is rare in a field read as text: read as a value, as `text` reads it.
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let value = Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        self.0.push_str(&text(Some(&value)));
        Ok(())
    }
}

/// [`names`] as a visitor appending to a text and a list of ends.
struct NamesInto<'a> {
    out: &'a mut String,
    ends: &'a mut Vec<u32>,
}

impl NamesInto<'_> {
    /// Ends the name just appended, if it is not empty.
    fn one<E>(self, start: usize) -> Result<(), E> {
        if self.out.len() > start {
            self.ends.push(end_of(self.out));
        }
        Ok(())
    }
}

/// The visits of a scalar for [`NamesInto`]: the scalar's text, as one name.
macro_rules! one_name {
    ($($visit:ident($t:ty)),*) => {
        $(fn $visit<E: serde::de::Error>(self, v: $t) -> Result<(), E> {
            let start = self.out.len();
            TextInto(self.out).$visit::<E>(v)?;
            self.one(start)
        })*
    };
}

impl<'de> Visitor<'de> for NamesInto<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    one_name!(
        visit_bool(bool),
        visit_i64(i64),
        visit_u64(u64),
        visit_f64(f64),
        visit_str(&str)
    );
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let start = self.out.len();
            if seq.next_element_seed(TextInto(self.out))?.is_none() {
                return Ok(());
            }
            if self.out.len() > start {
                self.ends.push(end_of(self.out));
            }
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let start = self.out.len();
        TextInto(self.out).visit_map(map)?;
        self.one(start)
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
            let json = serde_json::to_string_pretty(&value).unwrap();
            let parsed: Value = serde_json::from_str(&json).unwrap();
            let mut out = "before".to_owned();
            push_text_of_json(&json, &mut out);
            prop_assert_eq!(&out["before".len()..], text(Some(&parsed)));
            let (mut out, mut ends) = ("x".to_owned(), vec![1]);
            push_names_of_json(&json, &mut out, &mut ends);
            let read: Vec<&str> = ends.windows(2).map(|w| &out[w[0] as usize..w[1] as usize]).collect();
            prop_assert_eq!(read, names(Some(&parsed)));
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
    fn the_byte_check_misses_no_control() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            if is_control_or_bidi(c) {
                assert!(may_hold_controls(c.encode_utf8(&mut [0; 4])), "{c:?}");
            }
        }
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
