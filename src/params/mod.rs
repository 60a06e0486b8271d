//! Shared parameter parsing for every action and for the configuration.
//!
//! SOAR platforms send parameters under their snake_case keys, their display names (`"Campaign ID"`)
//! or older spellings (`encoded_ur_ls`); booleans as JSON or as `"true"`/`"False"`; numbers as JSON
//! or as strings; lists as arrays or comma-separated strings. Each action declares its parameters
//! once, with [`parameters!`] and the value types of [`values`]; [`parse`] reads a request's map into
//! that struct and words every refusal so that the user knows what to send instead.
//!
//! - [`spec`]: what a parameter accepts, fixed at compile time; the JSON Schema view of it.
//! - [`raw`]: values as the request carries them, read without copies.
//! - [`values`]: `Flag`, `Integer`, `List`, `Choice`.
//! - [`time_window`]: the time parameters the interval-querying actions share.

pub(crate) mod raw;
pub(crate) mod spec;
pub(crate) mod time_window;
pub(crate) mod values;

use serde::de;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
pub(crate) use raw::ParamValue;
pub(crate) use spec::{describe, parameters, schema_for, ParamInfo, ParamSpec, Parameters};
pub(crate) use values::{fold_choice, Choice, Flag, Integer, List};

/// Which map of the request is being read, for messages.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Section {
    /// The action's `parameters`.
    Parameters,
    /// The integration `configuration`.
    Configuration,
}

impl Section {
    /// What one key of the map is called.
    fn word(self) -> &'static str {
        match self {
            Section::Parameters => "parameter",
            Section::Configuration => "configuration key",
        }
    }
}

/// Reads `raw` into `T`: every accepted key spelling is mapped to its canonical key, empty values
/// are dropped (so they take the default), and a value of the wrong kind or an unknown key becomes
/// an `invalid_parameter` error naming the parameter and what it accepts.
pub(crate) fn parse<'de, T, V>(
    raw: impl IntoIterator<Item = (String, V)>,
    section: Section,
) -> Result<T>
where
    T: Deserialize<'de> + Parameters<'de>,
    V: ParamValue<'de>,
{
    let specs = T::specs();
    // (parameter, value, key as given), in request order.
    let mut canonical: Vec<(&ParamSpec, V, String)> = Vec::new();
    let mut ignored = Vec::new();
    for (key, value) in raw {
        let Some(spec) = specs.iter().find(|p| p.is_named(&key)) else {
            // Platforms add configuration keys of their own (SPEC §2); a near miss of one of ours
            // is a typo that would otherwise be silently lost.
            match (section, spec::meant(&key, &specs)) {
                (Section::Configuration, None) => {
                    ignored.push(key);
                    continue;
                }
                _ => return Err(unknown_key(&key, &specs, section)),
            }
        };
        if value.is_empty() {
            continue;
        }
        if let Some((_, previous, first)) = canonical.iter().find(|(p, ..)| p.key == spec.key) {
            if previous.to_value() != value.to_value() {
                return Err(Error::invalid_parameter(format!(
                    "The {} {} was given twice with different values, as \"{first}\" and \"{key}\". Give it once.",
                    section.word(),
                    spec.label()
                )));
            }
            continue;
        }
        canonical.push((spec, value, key));
    }
    if !ignored.is_empty() {
        tracing::warn!(
            "ignoring unknown {}{} {} (not ours; ours are {})",
            section.word(),
            if ignored.len() == 1 { "" } else { "s" },
            ignored
                .iter()
                .map(|k| format!("\"{k}\""))
                .collect::<Vec<_>>()
                .join(", "),
            specs.iter().map(|s| s.key).collect::<Vec<_>>().join(", ")
        );
    }
    // Only ranged ones are looked at: a value may be a list of thousands.
    for (spec, value, _) in canonical.iter().filter(|(spec, ..)| spec.range.is_some()) {
        if let Some(error) = out_of_range(spec, &value.to_value(), section) {
            return Err(error);
        }
    }
    for spec in specs.iter().filter(|p| p.mandatory) {
        if !canonical.iter().any(|(p, ..)| p.key == spec.key) {
            return Err(Error::invalid_parameter(format!(
                "The {} {} is mandatory and was not given ({}).",
                section.word(),
                spec.label(),
                spec.description().trim_end_matches('.')
            )));
        }
    }
    let entries: Vec<(&'static str, V)> = canonical
        .into_iter()
        .map(|(spec, value, _)| (spec.key, value))
        .collect();
    read(entries, &specs, section)
}

/// Reads entries under their canonical keys into `T`, wording a failure by the parameter it is
/// about.
fn read<'de, T, V>(
    entries: Vec<(&'static str, V)>,
    specs: &[ParamSpec],
    section: Section,
) -> Result<T>
where
    T: Deserialize<'de> + Parameters<'de>,
    V: ParamValue<'de>,
{
    // Untracked first: tracking the path costs a little on every item of a list of thousands,
    // and is only needed to word an error, so a failure is read again with it.
    let readers =
        |entries: Vec<(&'static str, V)>| entries.into_iter().map(|(k, v)| (k, v.reader()));
    let map = de::value::MapDeserializer::<_, serde_json::Error>::new(readers(entries.clone()));
    if let Ok(parsed) = T::deserialize(map) {
        return Ok(parsed);
    }
    let map = de::value::MapDeserializer::<_, serde_json::Error>::new(readers(entries.clone()));
    serde_path_to_error::deserialize(map).map_err(|err| {
        let key = err.path().iter().next().map(|s| s.to_string());
        let spec = key.and_then(|k| specs.iter().find(|p| p.key == k));
        let reason = without_position(err.inner());
        match spec {
            Some(spec) => Error::invalid_parameter(format!(
                "Invalid value for the {} {}: {reason}",
                section.word(),
                spec.label(),
            )),
            None => T::explain_groups(&entries, section).unwrap_or_else(|| {
                Error::invalid_parameter(format!("Invalid {}: {reason}", section.word()))
            }),
        }
    })
}

/// Why the entries that belong to the flattened group `G` do not read as `G`, if they do not.
pub(crate) fn explain_group<'de, G, V>(
    entries: &[(&'static str, V)],
    section: Section,
) -> Option<Error>
where
    G: Deserialize<'de> + Parameters<'de>,
    V: ParamValue<'de>,
{
    let specs = G::specs();
    let own: Vec<(&'static str, V)> = entries
        .iter()
        .filter(|(key, _)| specs.iter().any(|s| s.key == *key))
        .cloned()
        .collect();
    read::<G, V>(own, &specs, section).err()
}

/// The error for a whole number outside the parameter's declared range; `None` when it has none,
/// when the value is in range, or when it is no whole number (reading it then says so).
fn out_of_range(spec: &ParamSpec, value: &Value, section: Section) -> Option<Error> {
    let (lo, hi) = spec.range?;
    let number = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }?;
    (!(lo..=hi).contains(&number)).then(|| {
        Error::invalid_parameter(format!(
            "The {} {} must be between {lo} and {hi}, not {number}.",
            section.word(),
            spec.label()
        ))
    })
}

fn unknown_key(key: &str, specs: &[ParamSpec], section: Section) -> Error {
    if specs.is_empty() {
        return Error::invalid_parameter(format!(
            "Unknown {} \"{key}\": this action takes no parameters. Remove it.",
            section.word()
        ));
    }
    let accepted: Vec<String> = specs.iter().map(ParamSpec::label).collect();
    let meant = spec::meant(key, specs)
        .map(|spec| format!(" Did you mean {}?", spec.label()))
        .unwrap_or_default();
    Error::invalid_parameter(format!(
        "Unknown {} \"{key}\".{meant} Accepted: {}.",
        section.word(),
        accepted.join(", ")
    ))
}

/// The message of a JSON error without the " at line L column C" that errors read from raw text
/// carry: the position within one parameter's value means nothing to the person who sent it.
pub(crate) fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    match text.strip_suffix(&position) {
        Some(message) => message.to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use schemars::JsonSchema;
    use serde_json::value::RawValue;
    use serde_json::{json, Value};

    use super::*;

    #[derive(Debug, Deserialize, JsonSchema, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Auto,
        Local,
        RedirectChain,
    }

    parameters! {
        #[derive(Debug, Deserialize, JsonSchema)]
        pub(crate) struct Sample<'a> {
            /// Ids.
            #[param("Campaign ID", aliases = ["campaign_ids"], mandatory = true)]
            #[serde(borrow)]
            campaign_id: List<'a>,
            /// A flag.
            #[param("Create Insight")]
            #[serde(default = "yes")]
            create_insight: Flag,
            /// A limit.
            #[param("Max Forensics Evidence To Return")]
            #[serde(default)]
            max: Option<Integer>,
            /// A mode.
            #[param("Decode Mode")]
            #[serde(default)]
            mode: Option<Choice<Mode>>,
        }
    }

    fn yes() -> Flag {
        Flag(true)
    }

    parameters! {
        #[derive(Debug, Deserialize, JsonSchema)]
        pub(crate) struct Limits {
            /// A limit.
            #[param("Max Items", aliases = ["max_results"])]
            #[serde(default)]
            max_items: Option<Integer>,
            /// A flag.
            #[param("Verbose")]
            #[serde(default)]
            verbose: Flag,
        }
    }

    parameters! {
        #[derive(Debug, Deserialize, JsonSchema)]
        pub(crate) struct WithGroup<'a> {
            /// Ids.
            #[param("Campaign ID", mandatory = true)]
            #[serde(borrow)]
            campaign_id: List<'a>,
            /// Shared limits.
            #[group]
            limits: Limits,
            /// Last.
            #[param("Create Insight")]
            #[serde(default = "yes")]
            create_insight: Flag,
        }
    }

    #[test]
    fn flattened_groups_read_and_fail_like_own_parameters() {
        let keys: Vec<&str> = WithGroup::specs().iter().map(|s| s.key).collect();
        assert_eq!(
            keys,
            ["campaign_id", "max_items", "verbose", "create_insight"]
        );
        let raw = r#"{"Campaign ID": "a", "Max Results": "7", "Verbose": "TRUE"}"#;
        let map: std::collections::BTreeMap<String, &RawValue> = serde_json::from_str(raw).unwrap();
        let p: WithGroup = parse(map, Section::Parameters).unwrap();
        assert_eq!(p.campaign_id, List::Text("a".into()));
        assert_eq!(p.limits.max_items, Some(Integer(7)));
        assert!(p.limits.verbose.0 && p.create_insight.0);
        // A failure inside the group still names its parameter, read raw or parsed.
        let raw = r#"{"campaign_id": "a", "max_items": "many"}"#;
        let map: std::collections::BTreeMap<String, &RawValue> = serde_json::from_str(raw).unwrap();
        let by_raw = parse::<WithGroup, _>(map, Section::Parameters).unwrap_err();
        let value: Value = serde_json::from_str(raw).unwrap();
        let by_value =
            parse::<WithGroup, _>(value.as_object().unwrap().clone(), Section::Parameters)
                .unwrap_err();
        for e in [by_raw, by_value] {
            assert_eq!(
                e.message,
                "Invalid value for the parameter \"Max Items\" (max_items): expected a whole number, got \"many\""
            );
        }
        let e = parse::<WithGroup, _>(
            json!({"campaign_id": "a", "bogus": 1})
                .as_object()
                .unwrap()
                .clone(),
            Section::Parameters,
        )
        .unwrap_err();
        assert!(
            e.message
                .contains("\"Max Items\" (max_items), \"Verbose\" (verbose)"),
            "{}",
            e.message
        );
    }

    fn parse_sample(v: Value) -> Result<Sample<'static>> {
        parse(v.as_object().unwrap().clone(), Section::Parameters)
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

    /// Reads `raw` as the parameters of `Sample`, through `RawParam` and through `Value`.
    fn both_ways(raw: &str) -> (Result<Sample<'_>>, Result<Sample<'static>>) {
        let map: std::collections::BTreeMap<String, &RawValue> = serde_json::from_str(raw).unwrap();
        let by_raw = parse(map, Section::Parameters);
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
}
