//! The integration's description for a SOAR platform and for people: `integration.json`, one
//! definition per action under `actions/`, and the JSON Schemas under `schemas/` — all generated
//! from the code, so that they cannot disagree with it.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::actions::Action;
use crate::config::{self, ConfigInput};
use crate::params;
use crate::protocol::schema;
use crate::protocol::write::pretty;

/// The integration identifier SOAR knows this integration by.
pub const INTEGRATION_IDENTIFIER: &str = "ProofPointTAP";
/// The integration's display name.
const INTEGRATION_DISPLAY_NAME: &str = "Proofpoint TAP";

/// `integration.json`.
fn integration() -> Value {
    let configuration: Vec<Value> = params::describe::<ConfigInput>()
        .into_iter()
        .map(|p| {
            let mut v = serde_json::to_value(&p).unwrap_or_default();
            if let Some(env) = config::environment_variable(&p.key) {
                v["environment_variable"] = json!(env);
            }
            v
        })
        .collect();
    json!({
        "identifier": INTEGRATION_IDENTIFIER,
        "display_name": INTEGRATION_DISPLAY_NAME,
        "version": env!("CARGO_PKG_VERSION"),
        "description": "Proofpoint Targeted Attack Protection (TAP): connectivity, URL Defense decoding and campaign intelligence, run as one external binary: a JSON request on stdin, a JSON result envelope on stdout.",
        "executable": "proofpoint-tap",
        "configuration": configuration,
        "actions": Action::ALL.iter().map(|a| format!("actions/{}.json", a.info().name)).collect::<Vec<_>>(),
    })
}

/// `actions/{name}.json`: one action's definition, with an example request.
pub(crate) fn action_definition(action: Action) -> Value {
    let info = action.info();
    let mut def = Map::new();
    def.insert("identifier".into(), json!(info.name));
    def.insert("name".into(), json!(info.display_name));
    def.insert("script_name".into(), json!(info.script_name));
    def.insert("tool_name".into(), json!(info.tool_name));
    def.insert(
        "integration_identifier".into(),
        json!(INTEGRATION_IDENTIFIER),
    );
    def.insert("description".into(), json!(info.description));
    def.insert("result_name".into(), json!(info.result_name));
    def.insert(
        "parameters".into(),
        serde_json::to_value(action.params()).unwrap_or_default(),
    );
    def.insert("example_request".into(), action.example());
    Value::Object(def)
}

/// Every schema, by name: `request`, `result`, `configuration`, then one per action's parameters
/// under the action's canonical name.
pub(crate) fn schemas() -> Vec<(String, Value)> {
    let mut schemas: Vec<(String, Value)> = schema::wire()
        .into_iter()
        .map(|(name, schema)| (name.to_owned(), schema))
        .collect();
    schemas.push((
        "configuration".to_owned(),
        params::schema_for::<ConfigInput>(params::Section::Configuration),
    ));
    for action in Action::ALL {
        schemas.push((action.info().name.to_owned(), action.params_schema()));
    }
    schemas
}

/// The schema called `name` (an action may be named by any of its names).
pub(crate) fn schema_by_name(name: &str) -> Option<Value> {
    let canonical = Action::resolve(name)
        .map(|a| a.info().name.to_owned())
        .unwrap_or_else(|| name.to_ascii_lowercase());
    schemas()
        .into_iter()
        .find(|(n, _)| *n == canonical)
        .map(|(_, s)| s)
}

/// The file a schema is written to.
fn schema_file_name(name: &str) -> String {
    match name {
        "request" | "result" | "configuration" => format!("{name}.schema.json"),
        action => format!("{action}.parameters.schema.json"),
    }
}

/// Writes the schemas into `dir`; returns the paths written.
pub(crate) fn write_schemas(dir: &Path, only: Option<&str>) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, schema) in schemas() {
        if only.is_some_and(|o| schema_by_name(o).as_ref() != Some(&schema)) {
            continue;
        }
        let path = dir.join(schema_file_name(&name));
        std::fs::write(&path, pretty(&schema))?;
        written.push(path);
    }
    Ok(written)
}

/// Every generated file, as (path relative to the repository root, contents).
pub fn files() -> Vec<(String, String)> {
    let mut files = vec![("integration.json".to_owned(), pretty(&integration()))];
    for action in Action::ALL {
        let name = action.info().name;
        files.push((
            format!("actions/{name}.json"),
            pretty(&action_definition(*action)),
        ));
        files.push((
            format!("actions/examples/{name}.json"),
            pretty(&action.example()),
        ));
    }
    for (name, schema) in schemas() {
        files.push((
            format!("schemas/{}", schema_file_name(&name)),
            pretty(&schema),
        ));
    }
    files
}
