//! The command line (SPEC §1): `run` (the default), `actions`, `schema`.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::actions::Action;
use crate::logging::{self, LogFormat};
use crate::manifest;
use crate::protocol::write;
use crate::runner::{self, ExitStatus};

/// Proofpoint TAP actions for SOAR platforms: one JSON request on stdin, one JSON envelope on stdout.
#[derive(Debug, Parser)]
#[command(name = "proofpoint-tap", version, about, long_about = None)]
pub struct Cli {
    /// What to do; `run` when omitted.
    #[command(subcommand)]
    command: Option<Command>,
    /// Indent the JSON written to stdout.
    #[arg(long, global = true)]
    pretty: bool,
    /// Format of the log lines on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Read one action request on stdin and write its result envelope on stdout.
    Run {
        /// The action to run, if the request does not name it (any of its names).
        action: Option<String>,
    },
    /// List the actions.
    Actions {
        /// Print the action definitions as JSON (as in actions/*.json).
        #[arg(long)]
        json: bool,
    },
    /// Print the JSON Schemas of the request, the result envelope, the configuration and each
    /// action's parameters.
    Schema {
        /// `request`, `result`, `configuration` or an action; all when omitted.
        name: Option<String>,
        /// Write the schema files into this directory instead of printing.
        #[arg(long, value_name = "DIR")]
        write: Option<PathBuf>,
    },
}

/// Does what the command line asks.
pub fn run(cli: Cli) -> ExitStatus {
    logging::init(cli.log_format);
    match cli.command.unwrap_or(Command::Run { action: None }) {
        Command::Run { action } => runner::run_stdio(action.as_deref(), cli.pretty),
        Command::Actions { json } => actions(json, cli.pretty),
        Command::Schema { name, write } => schema(name.as_deref(), write.as_deref(), cli.pretty),
    }
}

/// `proofpoint-tap actions [--json]`.
fn actions(json: bool, pretty: bool) -> ExitStatus {
    if json {
        let defs: Vec<_> = Action::ALL
            .iter()
            .map(|a| manifest::action_definition(*a))
            .collect();
        return ExitStatus::of_output(write::json_to_stdout(&defs, pretty));
    }
    // Columns as wide as their longest entry.
    let name_width = Action::ALL
        .iter()
        .map(|a| a.info().name.len())
        .max()
        .unwrap_or(0);
    let display_width = Action::ALL
        .iter()
        .map(|a| a.info().display_name.len())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for a in Action::ALL {
        let i = a.info();
        text.push_str(&format!(
            "{:<name_width$} {:<display_width$} {}\n",
            i.name, i.display_name, i.description
        ));
    }
    ExitStatus::of_output(write::text_to_stdout(&text))
}

/// `proofpoint-tap schema [NAME] [--write DIR]`.
fn schema(name: Option<&str>, dir: Option<&Path>, pretty: bool) -> ExitStatus {
    if let Some(n) = name {
        if manifest::schema_by_name(n).is_none() {
            let names: Vec<String> = manifest::schemas().into_iter().map(|(n, _)| n).collect();
            eprintln!(
                "error: unknown schema \"{n}\"; choose one of: {}",
                names.join(", ")
            );
            return ExitStatus::Unusable;
        }
    }
    if let Some(dir) = dir {
        return match manifest::write_schemas(dir, name) {
            Ok(paths) => {
                for p in paths {
                    eprintln!("wrote {}", p.display());
                }
                ExitStatus::Success
            }
            Err(e) => {
                eprintln!(
                    "error: could not write the schemas into {}: {e}",
                    dir.display()
                );
                ExitStatus::Failure
            }
        };
    }
    let value = match name {
        Some(n) => manifest::schema_by_name(n).unwrap_or_default(),
        None => serde_json::Value::Object(manifest::schemas().into_iter().collect()),
    };
    ExitStatus::of_output(write::json_to_stdout(&value, pretty))
}
