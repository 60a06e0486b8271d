//! Turning tolerant TAP JSON into text: HTML escaping for insights, and plain strings for tables
//! whatever type TAP used for a field this time.

use serde_json::{Map, Value};

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
    use serde_json::json;

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
