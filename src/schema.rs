//! The JSON Schemas of the wire types, as checked in under `schemas/`.

use std::path::{Path, PathBuf};

use schemars::schema_for;
use serde_json::Value;

use crate::actions::Action;
use crate::config::ConfigInput;
use crate::params;
use crate::wire::{Envelope, Request};

/// Every schema, by name: `request`, `result`, `configuration`, then one per action's parameters
/// under the action's canonical name.
pub fn all() -> Vec<(String, Value)> {
    let mut schemas = vec![
        ("request".to_owned(), schema_for!(Request).to_value()),
        ("result".to_owned(), schema_for!(Envelope).to_value()),
        (
            "configuration".to_owned(),
            params::schema_generator()
                .into_root_schema_for::<ConfigInput>()
                .to_value(),
        ),
    ];
    for action in Action::ALL {
        schemas.push((action.info().name.to_owned(), action.params_schema()));
    }
    schemas
}

/// The schema called `name` (an action may be named by any of its names).
pub fn by_name(name: &str) -> Option<Value> {
    let canonical = Action::resolve(name)
        .map(|a| a.info().name.to_owned())
        .unwrap_or_else(|| name.to_ascii_lowercase());
    all()
        .into_iter()
        .find(|(n, _)| *n == canonical)
        .map(|(_, s)| s)
}

/// The file a schema is written to.
pub fn file_name(name: &str) -> String {
    match name {
        "request" | "result" | "configuration" => format!("{name}.schema.json"),
        action => format!("{action}.parameters.schema.json"),
    }
}

/// Pretty JSON with a final newline, as every generated file is written.
pub fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Writes the schemas into `dir`; returns the paths written.
pub fn write(dir: &Path, only: Option<&str>) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, schema) in all() {
        if only.is_some_and(|o| by_name(o).as_ref() != Some(&schema)) {
            continue;
        }
        let path = dir.join(file_name(&name));
        std::fs::write(&path, pretty(&schema))?;
        written.push(path);
    }
    Ok(written)
}
