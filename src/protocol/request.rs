//! The request (SPEC §2) and how it is read: size limit, BOM, UTF-8, JSON, object, field types.
//!
//! Every way the bytes on stdin can be unusable becomes an `invalid_request` error whose message
//! says what to fix. What could be read of `case_id` and `alert_group_identifiers` is kept so the
//! failure envelope can still be matched to its case.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::error::{Error, ErrorCode};

/// One action request, as a SOAR platform sends it. Unknown top-level fields are ignored.
// The parameters stay raw JSON text borrowed from the request (`'a`): each is read into its
// action's typed parameter only once, so a list of fifty thousand URLs is never copied first.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[schemars(title = "proofpoint-tap action request")]
pub(crate) struct Request<'a> {
    /// The action to run: `ping`, `decode_url`, `get_campaign`, or one of their tool, script or
    /// display names (case-insensitive). May be given on the command line instead.
    #[serde(default)]
    pub action: Option<String>,
    /// The SOAR case the action runs for; a string or an integer, echoed back as a string.
    #[serde(default)]
    #[schemars(with = "Option<CaseIdSchema>")]
    pub case_id: Option<CaseId>,
    /// The alert group identifiers of the case, echoed back.
    #[serde(default, deserialize_with = "null_as_default")]
    pub alert_group_identifiers: Vec<String>,
    /// The entities the action runs on, before scope filtering.
    #[serde(default, deserialize_with = "null_as_default")]
    pub target_entities: Vec<TargetEntity>,
    /// Which target entities to use; default `All entities`.
    #[serde(default)]
    pub scope: Option<String>,
    /// The action's parameters, by snake_case key or SOAR display name.
    #[serde(default, borrow)]
    #[schemars(with = "Map<String, Value>")]
    pub parameters: RawParams<'a>,
    /// The integration instance settings; see `integration.json`. Missing values fall back to the
    /// environment.
    #[serde(default, deserialize_with = "configuration_map")]
    pub configuration: Map<String, Value>,
    /// The platform's deadline for the action, in milliseconds since the Unix epoch.
    #[serde(default)]
    pub execution_deadline_unix_time_ms: Option<u64>,
}

/// The request's `parameters` object: each key with the raw JSON text of its value, in request
/// order (a key given twice appears twice). `null` reads as no parameters.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawParams<'a>(pub Vec<(String, &'a RawValue)>);

impl Serialize for RawParams<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawParams<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct RawParamsVisitor;
        impl<'de> Visitor<'de> for RawParamsVisitor {
            type Value = RawParams<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
                Ok(RawParams::default())
            }
            fn visit_none<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
                Ok(RawParams::default())
            }
            fn visit_map<A: de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(RawParams(entries))
            }
        }
        deserializer.deserialize_any(RawParamsVisitor)
    }
}

/// A case id, accepted as a string or an integer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CaseId(pub String);

/// Schema stand-in for [`CaseId`].
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum CaseIdSchema {
    Text(String),
    Number(i64),
}

impl<'de> Deserialize<'de> for CaseId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct CaseIdVisitor;
        impl Visitor<'_> for CaseIdVisitor {
            type Value = CaseId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<CaseId, E> {
                Ok(CaseId(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<CaseId, E> {
                Ok(CaseId(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<CaseId, E> {
                Ok(CaseId(v.to_string()))
            }
        }
        deserializer.deserialize_any(CaseIdVisitor)
    }
}

/// An entity of the case, as the platform sends it. The PascalCase spellings of the SOAR tools are
/// accepted too.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[schemars(transform = with_pascal_case)]
pub(crate) struct TargetEntity {
    /// The entity's identifier (SOAR upper-cases it).
    #[serde(alias = "Identifier")]
    pub identifier: String,
    /// SOAR entity type: `DestinationURL`, `THREATCAMPAIGN`, `USERUNIQNAME`, `ADDRESS`, `FILEHASH`, ...
    #[serde(alias = "EntityType")]
    pub entity_type: String,
    /// Extra properties; `OriginalIdentifier` holds the identifier as it was before upper-casing.
    #[serde(
        default,
        alias = "AdditionalProperties",
        deserialize_with = "null_as_default"
    )]
    pub additional_properties: Map<String, Value>,
}

/// The entity's schema with the PascalCase spellings serde also reads: each field under either
/// name, never both (serde refuses a field given twice).
fn with_pascal_case(schema: &mut schemars::Schema) {
    const FIELDS: [(&str, &str); 3] = [
        ("identifier", "Identifier"),
        ("entity_type", "EntityType"),
        ("additional_properties", "AdditionalProperties"),
    ];
    let mandatory: Vec<Value> = schema
        .remove("required")
        .and_then(|r| r.as_array().cloned())
        .unwrap_or_default();
    let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    // A null `additional_properties` reads as none.
    if let Some(extra) = properties.get_mut("additional_properties") {
        extra["type"] = serde_json::json!(["object", "null"]);
    }
    let mut rules = Vec::new();
    for (snake, pascal) in FIELDS {
        if let Some(field) = properties.get(snake).cloned() {
            properties.insert(pascal.to_owned(), field);
        }
        rules.push(if mandatory.iter().any(|m| m == snake) {
            serde_json::json!({"oneOf": [{"required": [snake]}, {"required": [pascal]}]})
        } else {
            serde_json::json!({"not": {"required": [snake, pascal]}})
        });
    }
    schema.insert("allOf".into(), rules.into());
}

impl TargetEntity {
    /// The value to act on: `OriginalIdentifier` where the platform kept it, else the identifier.
    pub(crate) fn value(&self) -> &str {
        match self.additional_properties.get("OriginalIdentifier") {
            Some(Value::String(original)) if !original.trim().is_empty() => original,
            _ => &self.identifier,
        }
    }

    /// Whether the entity is of the given SOAR type (compared case-insensitively).
    pub(crate) fn is_type(&self, entity_type: &str) -> bool {
        self.entity_type.eq_ignore_ascii_case(entity_type)
    }
}

/// The `configuration` object, refusing a key given twice (serde_json's map keeps the last one
/// silently, which would let a platform's value and a user's disagree unseen). `null` is empty.
fn configuration_map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Map<String, Value>, D::Error> {
    struct ConfigVisitor;
    impl<'de> Visitor<'de> for ConfigVisitor {
        type Value = Map<String, Value>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
            Ok(Map::new())
        }
        fn visit_none<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
            Ok(Map::new())
        }
        fn visit_map<A: de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut out = Map::new();
            while let Some((key, value)) = map.next_entry::<String, Value>()? {
                if out.contains_key(&key) {
                    return Err(de::Error::custom(format_args!("{TWICE_PREFIX}\"{key}\"")));
                }
                out.insert(key, value);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_any(ConfigVisitor)
}

/// How [`configuration_map`] starts its error, so that [`explain`] can word it.
const TWICE_PREFIX: &str = "twice: ";

fn null_as_default<'de, D, T>(deserializer: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// The largest request accepted.
pub(crate) const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// The fields echoed into the envelope, as far as they could be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Echo {
    /// The action as given.
    pub action: Option<String>,
    /// The case id as a string.
    pub case_id: Option<String>,
    /// The alert group identifiers.
    pub alert_group_identifiers: Vec<String>,
}

/// Checks the size and the encoding of the request bytes, and takes them as text.
pub(crate) fn text(input: Vec<u8>) -> std::result::Result<String, Box<(Error, Echo)>> {
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
pub(crate) fn parse(text: &str) -> std::result::Result<Request<'_>, Box<(Error, Echo)>> {
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
    let inner = typed.inner().to_string();
    let message = if let Some(key) = inner
        .strip_prefix(TWICE_PREFIX)
        .filter(|_| path == "configuration")
    {
        // Only the key is quoted: the values may hold the secret.
        let key = key.split(" at line ").next().unwrap_or(key);
        format!("The request field `configuration` gives the key {key} twice. Give each key once.")
    } else if path == "configuration" || path.starts_with("configuration.") {
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

impl Request<'_> {
    /// The fields echoed into the envelope.
    pub(crate) fn echo(&self) -> Echo {
        Echo {
            action: self.action.clone(),
            case_id: self.case_id.as_ref().map(|CaseId(s)| s.clone()),
            alert_group_identifiers: self.alert_group_identifiers.clone(),
        }
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
    fn a_configuration_key_given_twice_is_refused() {
        let (e, _) =
            *parse(r#"{"configuration": {"password": "a", "password": "hunter2"}}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert_eq!(
            e.message,
            "The request field `configuration` gives the key \"password\" twice. Give each key once."
        );
        assert!(parse(r#"{"configuration": null}"#).is_ok());
    }

    #[test]
    fn configuration_errors_do_not_quote_values() {
        let (e, echo) =
            *parse(r#"{"case_id": "9", "configuration": "password=hunter2"}"#).unwrap_err();
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        assert_eq!(echo.case_id.as_deref(), Some("9"));
    }
}
