//! The integration's description for a SOAR platform: `integration.json` and one definition per
//! action under `actions/`, generated from the code so the two cannot disagree.

use serde_json::{json, Map, Value};

use crate::actions::Action;
use crate::config::ConfigInput;
use crate::params;
use crate::schema::pretty;

/// The integration identifier SOAR knows this integration by.
pub const INTEGRATION_IDENTIFIER: &str = "ProofPointTAP";
/// The integration's display name.
pub const INTEGRATION_DISPLAY_NAME: &str = "Proofpoint TAP";

/// `integration.json`.
pub fn integration() -> Value {
    let configuration: Vec<Value> = params::describe::<ConfigInput>()
        .into_iter()
        .map(|p| {
            let mut v = serde_json::to_value(&p).unwrap_or_default();
            if let Some(env) = env_of(&p.key) {
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

fn env_of(key: &str) -> Option<&'static str> {
    use crate::config::*;
    match key {
        "api_root" => Some(ENV_API_ROOT),
        "username" => Some(ENV_PRINCIPAL),
        "password" => Some(ENV_SECRET),
        "verify_ssl" => Some(ENV_VERIFY_SSL),
        _ => None,
    }
}

/// `actions/{name}.json`: one action's definition, with an example request.
pub fn action_definition(action: Action) -> Value {
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
    for (name, schema) in crate::schema::all() {
        files.push((
            format!("schemas/{}", crate::schema::file_name(&name)),
            pretty(&schema),
        ));
    }
    files
}
