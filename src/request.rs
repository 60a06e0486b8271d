//! Reading the request: size limit, BOM, UTF-8, JSON, object, field types.
//!
//! Every way the bytes on stdin can be unusable becomes an `invalid_request` error whose message
//! says what to fix. What could be read of `case_id` and `alert_group_identifiers` is kept so the
//! failure envelope can still be matched to its case.

use std::io::Read;

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, ErrorCode, Result};
use crate::wire::{CaseId, Request};

/// The largest request accepted.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// Reads stdin (or any reader) up to one byte past the limit, so an oversized request is noticed
/// without reading all of it.
pub fn read_input(reader: impl Read) -> Result<Vec<u8>> {
    // Requests of megabytes (bulk URL lists) are read without repeated regrowth.
    let mut buf = Vec::with_capacity(1 << 20);
    reader
        .take(MAX_REQUEST_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| {
            Error::invalid_request(format!("The request could not be read from stdin: {e}."))
        })?;
    Ok(buf)
}

/// The fields echoed into the envelope, as far as they could be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Echo {
    /// The action as given.
    pub action: Option<String>,
    /// The case id as a string.
    pub case_id: Option<String>,
    /// The alert group identifiers.
    pub alert_group_identifiers: Vec<String>,
}

/// Checks the size and the encoding of the request bytes, and takes them as text.
pub fn text(input: Vec<u8>) -> std::result::Result<String, Box<(Error, Echo)>> {
    let fail = |message: String| Box::new((Error::invalid_request(message), Echo::default()));
    if input.len() > MAX_REQUEST_BYTES {
        return Err(fail(format!(
            "The request is larger than {} MiB ({MAX_REQUEST_BYTES} bytes); send fewer or shorter values.",
            MAX_REQUEST_BYTES / (1024 * 1024)
        )));
    }
    let bom = if input.starts_with(BOM.as_bytes()) {
        BOM.len()
    } else {
        0
    };
    String::from_utf8(input).map_err(|e| {
        fail(format!(
            "The request is not UTF-8 text (invalid byte at offset {}); send it as UTF-8 JSON.",
            e.utf8_error().valid_up_to() - bom
        ))
    })
}

const BOM: &str = "\u{feff}";

/// Parses the request text; parameters stay borrowed from it. On failure, returns the error with
/// whatever could be echoed.
pub fn parse(text: &str) -> std::result::Result<Request<'_>, Box<(Error, Echo)>> {
    let text = text.strip_prefix(BOM).unwrap_or(text);
    if text.trim().is_empty() {
        return Err(Box::new((
            Error::invalid_request(
                "The request is empty: pipe one JSON object on stdin, e.g. {\"action\": \"ping\"}.",
            ),
            Echo::default(),
        )));
    }
    // Straight into the typed request, the fast way for the requests that are fine. A struct also
    // reads from a JSON array (positionally), so only an object is tried. Whatever fails is
    // explained by the slower checks below.
    let mut typed_error = None;
    if text.trim_start().starts_with('{') {
        let mut json = serde_json::Deserializer::from_str(text);
        match Request::deserialize(&mut json) {
            Ok(request) if json.end().is_ok() => return Ok(request),
            Ok(_) => {} // trailing characters: the JSON check below words it
            // Read again tracking the path, which costs a little on every value, to say where.
            Err(_) => {
                let mut json = serde_json::Deserializer::from_str(text);
                typed_error = serde_path_to_error::deserialize::<_, Request>(&mut json).err();
            }
        }
    }
    Err(explain(text, typed_error))
}

/// Why a request did not parse, in the words of the checks in order: JSON, object, field types.
fn explain(
    text: &str,
    typed: Option<serde_path_to_error::Error<serde_json::Error>>,
) -> Box<(Error, Echo)> {
    let fail = |message: String, echo: Echo| Box::new((Error::invalid_request(message), echo));
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(e) => {
            return fail(
                format!("The request is not valid JSON: {e}."),
                Echo::default(),
            )
        }
    };
    if !value.is_object() {
        return fail(
            format!(
                "The request must be a JSON object such as {{\"action\": \"ping\"}}, not {}.",
                kind_of(&value)
            ),
            Echo::default(),
        );
    }
    let echo = echo_of(&value);
    let Some(typed) = typed else {
        return fail(
            "The request could not be read as a JSON object.".into(),
            echo,
        );
    };
    let path = typed.path().to_string();
    // The inner message can quote the offending value; under `configuration` that may be the
    // secret, so only the location is reported there.
    let message = if path == "configuration" || path.starts_with("configuration.") {
        format!("The request field `{path}` has the wrong type: `configuration` must be an object of strings, numbers and booleans.")
    } else if path == "." {
        // The request as a whole, e.g. a field given twice.
        format!(
            "The request is invalid: {}. Give each field once.",
            crate::params::without_position(typed.inner())
        )
    } else {
        format!(
            "The request field `{path}` is invalid: {}.",
            crate::params::without_position(typed.inner())
        )
    };
    Box::new((Error::new(ErrorCode::InvalidRequest, message), echo))
}

/// Best-effort echo fields of a request that did not parse as a whole.
fn echo_of(value: &Value) -> Echo {
    let case_id = match value.get("case_id") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    };
    let alert_group_identifiers = value
        .get("alert_group_identifiers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Echo {
        action: value
            .get("action")
            .and_then(Value::as_str)
            .map(str::to_owned),
        case_id,
        alert_group_identifiers,
    }
}

/// The echo fields of a request that parsed.
pub fn echo_of_request(request: &Request) -> Echo {
    Echo {
        action: request.action.clone(),
        case_id: request.case_id.as_ref().map(|CaseId(s)| s.clone()),
        alert_group_identifiers: request.alert_group_identifiers.clone(),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(input: &[u8]) -> String {
        match text(input.to_vec()) {
            Ok(t) => parse(&t).unwrap_err().0.message,
            Err(e) => e.0.message,
        }
    }

    #[test]
    fn bom_and_aliases_are_accepted() {
        let r = parse("\u{feff}{\"action\":\"ping\",\"case_id\":7,\"target_entities\":[{\"Identifier\":\"A\",\"EntityType\":\"DestinationURL\",\"AdditionalProperties\":{\"OriginalIdentifier\":\"a\"}}],\"platform_extra\":1}").unwrap();
        assert_eq!(r.case_id, Some(CaseId("7".into())));
        assert_eq!(r.target_entities[0].value(), "a");
        let r = parse(r#"{"parameters": null, "target_entities": null}"#).unwrap();
        assert!(r.parameters.0.is_empty() && r.target_entities.is_empty());
        // Parameters stay raw text, in request order, a repeated key kept twice.
        let r = parse(r#"{"parameters": {"b": [1, "x"], "a": null, "b": " "}}"#).unwrap();
        let raw: Vec<(&str, &str)> = r
            .parameters
            .0
            .iter()
            .map(|(k, v)| (k.as_str(), v.get()))
            .collect();
        assert_eq!(raw, [("b", r#"[1, "x"]"#), ("a", "null"), ("b", r#"" ""#)]);
    }

    #[test]
    fn unusable_input_says_what_to_fix() {
        assert_eq!(
            message(br#"{"action": "ping", "action": "decode_url"}"#),
            "The request is invalid: duplicate field `action`. Give each field once."
        );
        assert!(message(b"\xEF\xBB\xBF{\xff}").contains("invalid byte at offset 1"));
        assert!(message(b"{} []").contains("trailing characters"));
        assert!(message(b" \n").starts_with("The request is empty"));
        assert!(message(b"{").starts_with("The request is not valid JSON"));
        assert!(message(b"[1]").contains("not an array"));
        assert!(message(b"\xff{}").contains("not UTF-8"));
        assert_eq!(
            message(br#"{"case_id": true}"#),
            "The request field `case_id` is invalid: invalid type: boolean `true`, expected a string or an integer."
        );
        assert!(message(br#"{"target_entities": [{"identifier": "x"}]}"#)
            .contains("`target_entities[0]`"));
        let oversized = vec![b' '; MAX_REQUEST_BYTES + 1];
        assert!(message(&oversized).contains("larger than 16 MiB"));
    }

    #[test]
    fn configuration_errors_do_not_quote_values() {
        let (e, echo) =
            *parse(r#"{"case_id": "9", "configuration": "password=hunter2"}"#).unwrap_err();
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        assert_eq!(echo.case_id.as_deref(), Some("9"));
    }
}
