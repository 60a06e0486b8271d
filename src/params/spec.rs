//! What each parameter accepts, declared once with its struct by [`parameters!`].
//!
//! The macro writes the struct (deriving `Deserialize` and `JsonSchema`, with the schema extensions
//! `x-display-name` and `x-aliases`) and, from the same tokens, a constant [`ParamSpec`] list that
//! [`super::parse`] matches keys against: nothing is generated at run time to learn the spellings.
//! The JSON Schema stays what `schemas/`, `actions/` and [`describe`] are made from, and a test holds
//! the two to each other.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde::Serialize;
use serde_json::Value;

/// One parameter as its struct declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ParamSpec {
    /// Canonical snake_case key: the field's name.
    pub(crate) key: &'static str,
    /// SOAR display name.
    pub(crate) name: &'static str,
    /// Other accepted spellings.
    pub(crate) aliases: &'static [&'static str],
    /// Whether the action fails without it.
    pub(crate) mandatory: bool,
    /// The whole numbers it accepts, lowest and highest, for a ranged integer: checked when the
    /// request is read, and written into the JSON Schema.
    pub(crate) range: Option<(i64, i64)>,
    /// The field's doc comment, line by line as the compiler hands it over.
    pub(crate) doc: &'static [&'static str],
}

impl ParamSpec {
    /// Whether `given` names this parameter: its key, display name or an alias, compared on letters
    /// and digits alone, ignoring case (`Campaign ID`, `campaign_id` and `CampaignId` meet).
    pub(crate) fn is_named(&self, given: &str) -> bool {
        std::iter::once(self.key)
            .chain(std::iter::once(self.name))
            .chain(self.aliases.iter().copied())
            .any(|name| same_key(name, given))
    }

    /// The doc comment as one paragraph, as the JSON Schema's `description` reads once its line
    /// breaks are spaces.
    pub(crate) fn description(&self) -> String {
        let lines: Vec<&str> = self
            .doc
            .iter()
            .map(|line| line.strip_prefix(' ').unwrap_or(line))
            .collect();
        lines.join(" ")
    }

    /// `"Display Name" (snake_key)`, or just the key when they are the same.
    pub(crate) fn label(&self) -> String {
        if self.name == self.key {
            format!("\"{}\"", self.key)
        } else {
            format!("\"{}\" ({})", self.name, self.key)
        }
    }
}

/// Two keys are the same when their letters and digits are, ignoring case. Compared without
/// building either: every key of every request is compared with every spelling.
fn same_key(a: &str, b: &str) -> bool {
    fn fold(s: &str) -> impl Iterator<Item = u8> + '_ {
        s.bytes()
            .filter(u8::is_ascii_alphanumeric)
            .map(|b| b.to_ascii_lowercase())
    }
    fold(a).eq(fold(b))
}

/// A key as [`same_key`] compares it: letters and digits, lower case.
fn letters(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The spec of `specs` whose name `given` misspells, when one is within two edits of it (as
/// [`same_key`] reads keys): `api_rot` for `api_root`.
pub(crate) fn meant<'s>(given: &str, specs: &'s [ParamSpec]) -> Option<&'s ParamSpec> {
    let given = letters(given);
    specs
        .iter()
        .filter_map(|spec| {
            let names = [spec.key, spec.name]
                .into_iter()
                .chain(spec.aliases.iter().copied());
            let edits = names
                .map(|name| strsim::levenshtein(&letters(name), &given))
                .min()?;
            (edits <= 2).then_some((edits, spec))
        })
        .min_by_key(|(edits, _)| *edits)
        .map(|(_, spec)| spec)
}

/// A parameter struct: what [`super::parse`] needs to know of it. `'de` is the lifetime of the
/// text it is read from. Implemented by [`parameters!`], never by hand.
pub(crate) trait Parameters<'de> {
    /// Its parameters, in declaration order, those of flattened groups in their place. Made of
    /// constants: no schema is generated to learn them.
    fn specs() -> Vec<ParamSpec>;

    /// Why the parameters of its flattened groups do not read, if they do not: serde reads a
    /// flattened group after the rest, where the path of a failure is lost.
    fn explain_groups<V: super::ParamValue<'de>>(
        entries: &[(&'static str, V)],
        section: super::Section,
    ) -> Option<crate::error::Error>;
}

/// Declares a parameter struct and its [`ParamSpec`]s from one definition. Each field is either
///
/// - a parameter: its doc comment (the description), then
///   `#[param("Display Name", aliases = ["other"], mandatory = true)]` (aliases and mandatory may be
///   left out), then any `serde`/`schemars` attributes; or
/// - a shared group of parameters, itself declared with this macro: its doc comment, `#[group]`,
///   then any further attributes (`#[serde(borrow)]`). It is flattened: its parameters stand
///   among the struct's own.
///
/// The struct's own attributes, derives included, are the caller's. It may have one lifetime or
/// one const parameter.
macro_rules! parameters {
    (
        $(#[$attr:meta])*
        $vis:vis struct $name:ident { $($body:tt)* }
    ) => {
        $crate::params::parameters!(@field [$(#[$attr])* $vis struct $name] [$name] []
            [] [] [] $($body)*);
    };
    (
        $(#[$attr:meta])*
        $vis:vis struct $name:ident <$lt:lifetime> { $($body:tt)* }
    ) => {
        $crate::params::parameters!(@field [$(#[$attr])* $vis struct $name<$lt>] [$name<$lt>]
            [: $lt, $lt] [] [] [] $($body)*);
    };
    (
        $(#[$attr:meta])*
        $vis:vis struct $name:ident <const $c:ident : $cty:ty> { $($body:tt)* }
    ) => {
        $crate::params::parameters!(@field [$(#[$attr])* $vis struct $name<const $c: $cty>]
            [$name<$c>] [, const $c: $cty] [] [] [] $($body)*);
    };
    // A parameter.
    (@field [$($head:tt)*] [$($self_ty:tt)*] [$($generics:tt)*]
        [$($fields:tt)*] [$($specs:tt)*] [$($groups:tt)*]
        $(#[doc = $doc:literal])*
        #[param($display:literal
            $(, aliases = [$($alias:literal),* $(,)?])?
            $(, mandatory = $mandatory:literal)?
            $(, range = $lo:literal ..= $hi:literal)?)]
        $(#[$field_attr:meta])*
        $field_vis:vis $field:ident : $ty:ty
        $(, $($rest:tt)*)?
    ) => {
        $crate::params::parameters!(@field [$($head)*] [$($self_ty)*] [$($generics)*]
            [
                $($fields)*
                $(#[doc = $doc])*
                #[schemars(extend("x-display-name" = $display))]
                $(#[schemars(extend("x-aliases" = [$($alias),*]))])?
                $(#[$field_attr])*
                $field_vis $field: $ty,
            ]
            [
                $($specs)*
                vec![$crate::params::ParamSpec {
                    key: stringify!($field),
                    name: $display,
                    aliases: &[$($($alias),*)?],
                    mandatory: false $(|| $mandatory)?,
                    range: None $(.or(Some(($lo, $hi))))?,
                    doc: &[$($doc),*],
                }],
            ]
            [$($groups)*]
            $($($rest)*)?);
    };
    // A flattened group.
    (@field [$($head:tt)*] [$($self_ty:tt)*] [$($generics:tt)*]
        [$($fields:tt)*] [$($specs:tt)*] [$($groups:tt)*]
        $(#[doc = $doc:literal])*
        #[group]
        $(#[$field_attr:meta])*
        $field_vis:vis $field:ident : $ty:ty
        $(, $($rest:tt)*)?
    ) => {
        $crate::params::parameters!(@field [$($head)*] [$($self_ty)*] [$($generics)*]
            [
                $($fields)*
                $(#[doc = $doc])*
                #[serde(flatten)]
                $(#[$field_attr])*
                $field_vis $field: $ty,
            ]
            [$($specs)* <$ty as $crate::params::Parameters<'_>>::specs(),]
            [$($groups)* $ty,]
            $($($rest)*)?);
    };
    // Every field read: the struct and its implementation.
    (@field [$($head:tt)*] [$($self_ty:tt)*] [$($generics:tt)*]
        [$($fields:tt)*] [$($specs:expr,)*] [$($groups:ty,)*]
    ) => {
        $($head)* { $($fields)* }

        impl<'de $($generics)*> $crate::params::Parameters<'de> for $($self_ty)* {
            fn specs() -> Vec<$crate::params::ParamSpec> {
                let parts: &[Vec<$crate::params::ParamSpec>] = &[$($specs),*];
                parts.concat()
            }

            #[allow(unused_variables)]
            fn explain_groups<V: $crate::params::ParamValue<'de>>(
                entries: &[(&'static str, V)],
                section: $crate::params::Section,
            ) -> Option<$crate::error::Error> {
                $(
                    if let Some(error) = $crate::params::explain_group::<$groups, V>(entries, section) {
                        return Some(error);
                    }
                )*
                None
            }
        }
    };
}
pub(crate) use parameters;

/// What one parameter accepts, read from its struct's JSON Schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ParamInfo {
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
pub(crate) fn schema_generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .with(|s| s.inline_subschemas = true)
        .into_generator()
}

/// The parameters `T` accepts, in declaration order.
pub(crate) fn describe<T: JsonSchema>() -> Vec<ParamInfo> {
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

/// Asserts that a declared parameter and its JSON Schema description agree: the test every
/// parameter struct is held to (see `actions::tests` and `config::tests`).
#[cfg(test)]
pub(crate) fn assert_spec_matches(spec: &ParamSpec, info: &ParamInfo) {
    assert_eq!(spec.key, info.key);
    assert_eq!(spec.name, info.name, "{}", spec.key);
    assert_eq!(spec.aliases, info.aliases, "{}", spec.key);
    assert_eq!(spec.mandatory, info.is_mandatory, "{}", spec.key);
    assert_eq!(spec.description(), info.description, "{}", spec.key);
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;
    use crate::params::{Choice, Flag, Integer, List};

    parameters! {
        #[derive(Debug, Deserialize, JsonSchema)]
        #[allow(dead_code)] // only its declaration is looked at
        pub(crate) struct Sample<'a> {
            /// Ids, as a list or a
            /// comma-separated string.
            #[param("Campaign ID", aliases = ["campaign_ids"], mandatory = true)]
            #[serde(borrow)]
            campaign_id: List<'a>,
            /// A flag.
            #[param("Create Insight")]
            #[serde(default = "yes")]
            create_insight: Flag,
            /// A limit.
            #[param("max")]
            #[serde(default)]
            max: Option<Integer>,
            /// A mode.
            #[param("Decode Mode")]
            #[serde(default)]
            mode: Option<Choice<Mode>>,
        }
    }

    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Auto,
        RedirectChain,
    }

    fn yes() -> Flag {
        Flag(true)
    }

    #[test]
    fn the_declared_spec_is_what_the_schema_says() {
        let infos = describe::<Sample>();
        let specs = Sample::specs();
        assert_eq!(infos.len(), specs.len());
        for (spec, info) in specs.iter().zip(&infos) {
            assert_spec_matches(spec, info);
        }
        assert_eq!(
            infos[0].description,
            "Ids, as a list or a comma-separated string."
        );
        assert_eq!(specs[0].label(), "\"Campaign ID\" (campaign_id)");
        assert_eq!(specs[2].label(), "\"max\"");
        assert!(infos[0].is_mandatory && !infos[1].is_mandatory);
        assert_eq!(infos[1].kind, "boolean");
        assert_eq!(infos[1].default_value, Some(json!(true)));
        assert_eq!(infos[2].kind, "integer");
        assert_eq!(infos[3].kind, "choice");
        assert_eq!(infos[3].allowed_values, ["auto", "redirect_chain"]);
    }

    #[test]
    fn keys_meet_on_letters_and_digits() {
        let spec = &Sample::specs()[0];
        for given in [
            "campaign_id",
            "Campaign ID",
            "CampaignId",
            "CAMPAIGN-ID",
            "campaign_ids",
        ] {
            assert!(spec.is_named(given), "{given}");
        }
        for given in ["campaign", "id", "", "_"] {
            assert!(!spec.is_named(given), "{given}");
        }
    }
}

/// The JSON Schema of parameter struct `T` as [`super::parse`] reads it in `section`: what
/// schemars makes of the struct, then what the parser does beyond serde, written in: declared
/// ranges; choices in any case, with spaces or hyphens for `_`; a value that is not given (null, a
/// blank string, an empty list) for any parameter but a mandatory one; every spelling of every key
/// (letters and digits compared in any case, as [`ParamSpec::is_named`]); and, for parameters,
/// no other key.
pub(crate) fn schema_for<'de, T: JsonSchema + Parameters<'de>>(section: super::Section) -> Value {
    let mut schema = schema_generator().into_root_schema_for::<T>().to_value();
    let specs = T::specs();
    constrain(&mut schema, &specs);
    for spec in &specs {
        let Some(property) = schema.pointer_mut(&format!("/properties/{}", spec.key)) else {
            continue;
        };
        fold_choices(property);
        if !spec.mandatory {
            accept_not_given(property);
        }
    }
    let spellings: serde_json::Map<String, Value> = specs
        .iter()
        .filter(|spec| {
            schema
                .pointer(&format!("/properties/{}", spec.key))
                .is_some()
        })
        .map(|spec| {
            let reference = serde_json::json!({"$ref": format!("#/properties/{}", spec.key)});
            (spelling_pattern(spec), reference)
        })
        .collect();
    if let Some(object) = schema.as_object_mut() {
        object.insert("patternProperties".into(), spellings.into());
        if matches!(section, super::Section::Parameters) {
            object.insert("additionalProperties".into(), false.into());
        }
    }
    schema
}

/// Every `const` string in `schema` (a choice's values) becomes the pattern of the strings
/// [`super::fold_choice`] reads as it.
fn fold_choices(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::String(value)) = map.remove("const") {
                let mut pattern = String::from("^\\s*");
                for c in value.chars() {
                    match c {
                        '_' => pattern.push_str("[ _-]"),
                        c if c.is_ascii_alphabetic() => {
                            pattern.push_str(&format!(
                                "[{}{}]",
                                c.to_ascii_lowercase(),
                                c.to_ascii_uppercase()
                            ));
                        }
                        c if c.is_ascii_alphanumeric() => pattern.push(c),
                        c => pattern.push_str(&format!("\\u{:04x}", c as u32)),
                    }
                }
                pattern.push_str("\\s*$");
                map.insert("pattern".into(), pattern.into());
                map.insert("x-value".into(), value.into());
            }
            map.values_mut().for_each(fold_choices);
        }
        Value::Array(items) => items.iter_mut().for_each(fold_choices),
        _ => {}
    }
}

/// `property` also accepts a value that is not given: null, a blank string, an empty list (the
/// parser then takes the default). Its annotations stay where they are.
fn accept_not_given(property: &mut Value) {
    let Some(map) = property.as_object_mut() else {
        return;
    };
    let annotation =
        |key: &str| matches!(key, "description" | "default" | "title") || key.starts_with("x-");
    let (annotations, validation): (
        serde_json::Map<String, Value>,
        serde_json::Map<String, Value>,
    ) = std::mem::take(map)
        .into_iter()
        .partition(|(k, _)| annotation(k));
    *map = annotations;
    map.insert(
        "anyOf".into(),
        serde_json::json!([
            validation,
            {"type": "null"},
            {"type": "string", "pattern": "^\\s*$"},
            {"type": "array", "maxItems": 0}
        ]),
    );
}

/// The pattern of the keys [`ParamSpec::is_named`] takes for `spec`: one of its spellings'
/// letters and digits, in any case, with anything else around and between them.
fn spelling_pattern(spec: &ParamSpec) -> String {
    const OTHER: &str = "[^A-Za-z0-9]*";
    let mut spellings: Vec<String> = std::iter::once(spec.key)
        .chain(std::iter::once(spec.name))
        .chain(spec.aliases.iter().copied())
        .map(|name| {
            letters(name)
                .chars()
                .map(|c| match c {
                    c if c.is_ascii_alphabetic() => {
                        format!("[{c}{}]", c.to_ascii_uppercase())
                    }
                    c => c.to_string(),
                })
                .collect::<Vec<_>>()
                .join(OTHER)
        })
        .collect();
    spellings.sort();
    spellings.dedup();
    format!("^{OTHER}(?:{}){OTHER}$", spellings.join("|"))
}

/// Writes each ranged parameter's bounds into its JSON Schema (`schema`, an object schema with
/// `properties`): `minimum` and `maximum` on the number, and on the numeric string a pattern that
/// matches exactly the numbers in range, so that the schema refuses what [`super::parse`] refuses.
pub(crate) fn constrain(schema: &mut Value, specs: &[ParamSpec]) {
    for spec in specs {
        let Some((lo, hi)) = spec.range else {
            continue;
        };
        if let Some(property) = schema.pointer_mut(&format!("/properties/{}", spec.key)) {
            bound(property, lo, hi);
        }
    }
}

fn bound(schema: &mut Value, lo: i64, hi: i64) {
    match schema {
        Value::Object(map) => {
            match map.get("type").and_then(Value::as_str) {
                Some("integer") => {
                    map.insert("minimum".into(), lo.into());
                    map.insert("maximum".into(), hi.into());
                }
                Some("string") if map.contains_key("pattern") => {
                    map.insert("pattern".into(), range_pattern(lo, hi).into());
                }
                _ => {}
            }
            map.values_mut().for_each(|v| bound(v, lo, hi));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| bound(v, lo, hi)),
        _ => {}
    }
}

/// A regular expression (ECMA-262, as JSON Schema reads them) for the numeric strings an
/// [`super::Integer`] reads as a number from 1 to `hi`: optional blanks around, an optional `+`,
/// leading zeros. Every declared range starts at 1 (a test holds them to it).
pub(crate) fn range_pattern(lo: i64, hi: i64) -> String {
    assert!(lo == 1 && hi >= 1, "ranges start at 1: {lo}..={hi}");
    let digits: Vec<u8> = hi.to_string().into_bytes();
    let k = digits.len();
    let mut alternatives = Vec::new();
    // Fewer digits than `hi`: any number without a leading zero.
    if k > 1 {
        alternatives.push(format!("[1-9][0-9]{{0,{}}}", k - 2));
    }
    // As many digits: `hi`'s first i digits, then a smaller one, then anything.
    for i in 0..k {
        let low = if i == 0 { b'1' } else { b'0' };
        let high = digits[i] - 1;
        if digits[i] > low {
            let prefix = std::str::from_utf8(&digits[..i]).expect("digits");
            alternatives.push(format!(
                "{prefix}[{}-{}][0-9]{{{}}}",
                low as char,
                high as char,
                k - i - 1
            ));
        }
    }
    alternatives.push(hi.to_string());
    format!("^\\s*\\+?0*(?:{})\\s*$", alternatives.join("|"))
}

#[cfg(test)]
mod range_tests {
    use serde_json::json;

    use super::*;
    use crate::actions::Action;

    /// `params` for `action`: the schema's validator and the parser accept it alike.
    fn agree(action: Action, validator: &jsonschema::Validator, params: serde_json::Value) {
        let text = json!({"action": action.info().name, "parameters": params}).to_string();
        let request = crate::protocol::request::parse(&text).expect("a request");
        let by_parser = action.check_parameters(&request.parameters).is_ok();
        let by_schema = validator.is_valid(&params);
        assert_eq!(
            by_schema,
            by_parser,
            "{} {params}: schema {by_schema}, parser {by_parser}",
            action.info().name
        );
    }

    /// Every declared range, by a real JSON Schema validator and by the parser, on the same
    /// values: both accept or both refuse.
    #[test]
    fn schemas_and_parser_agree_on_every_range() {
        let mut ranged = 0;
        for action in Action::ALL {
            let schema = action.params_schema();
            let validator = jsonschema::validator_for(&schema).expect("a valid schema");
            let specs = action.specs();
            for spec in specs.iter().filter(|s| s.range.is_some()) {
                ranged += 1;
                let (lo, hi) = spec.range.unwrap();
                assert_eq!(lo, 1, "{}", spec.key);
                let values = [
                    json!(0),
                    json!(1),
                    json!(hi),
                    json!(hi + 1),
                    json!(-1),
                    json!("0"),
                    json!("1"),
                    json!(" +007 "),
                    json!(hi.to_string()),
                    json!((hi + 1).to_string()),
                    json!(format!("00{hi}")),
                    json!((hi * 10).to_string()),
                    json!("-5"),
                    json!("12a"),
                ];
                for value in values {
                    agree(*action, &validator, json!({ spec.key: value }));
                }
            }
        }
        assert!(ranged >= 5, "{ranged}");
    }

    /// Every parameter of every action under each of its spellings, with values of its kind and
    /// of others, not given, and unknown keys: a JSON Schema validator on the shipped schema and
    /// the parser give the same answer.
    #[test]
    fn schemas_and_parser_agree_on_keys_and_values() {
        let mut checked = 0;
        for action in Action::ALL {
            let schema = action.params_schema();
            let validator = jsonschema::validator_for(&schema).expect("a valid schema");
            let agree = |params: serde_json::Value| agree(*action, &validator, params);
            agree(json!({}));
            agree(json!({"bogus": 1}));
            agree(json!({"AgentIdentifier": "x"}));
            let infos = action.params();
            for spec in action.specs() {
                let info = infos.iter().find(|i| i.key == spec.key).expect("described");
                let some = |n: i64| spec.range.map_or(n, |(lo, hi)| n.clamp(lo, hi));
                let mut values = vec![
                    json!(null),
                    json!(""),
                    json!("  "),
                    json!([]),
                    json!({"a": 1}),
                    json!(2.5),
                ];
                match info.kind.as_str() {
                    "boolean" => values.extend([
                        json!(true),
                        json!("tRuE"),
                        json!(" false "),
                        json!("maybe"),
                        json!(1),
                    ]),
                    "integer" => values.extend([
                        json!(some(5)),
                        json!(some(7).to_string()),
                        json!("x"),
                        json!(true),
                    ]),
                    "list" => values.extend([json!(["a"]), json!("a, b"), json!(5), json!([1])]),
                    "choice" => {
                        let first = &info.allowed_values[0];
                        values.extend([
                            json!(first),
                            json!(format!(" {} ", first.to_uppercase().replace('_', " "))),
                            json!(first.replace('_', "-")),
                            json!("no such value"),
                            json!(5),
                        ]);
                    }
                    _ => values.extend([json!("x"), json!(5), json!(["x"])]),
                }
                let mut keys = vec![
                    spec.key.to_owned(),
                    spec.name.to_owned(),
                    spec.name.to_uppercase(),
                ];
                keys.extend(spec.aliases.iter().map(|a| a.to_string()));
                for key in &keys {
                    for value in &values {
                        agree(json!({ key.as_str(): value }));
                        checked += 1;
                    }
                }
                // A near spelling is no spelling.
                agree(json!({ format!("{}x", spec.key): values.last() }));
            }
        }
        assert!(checked > 500, "{checked}");
    }

    #[test]
    fn range_patterns_match_exactly_the_range() {
        for hi in [1, 9, 10, 32, 200, 600, 1000, 10000, 10080] {
            let pattern = range_pattern(1, hi);
            let validator =
                jsonschema::validator_for(&json!({"type": "string", "pattern": pattern})).unwrap();
            for n in 0..=(hi + 20) {
                assert_eq!(
                    validator.is_valid(&json!(n.to_string())),
                    (1..=hi).contains(&n),
                    "{hi}: {n} against {pattern}"
                );
            }
        }
    }
}
