//! The command line (SPEC §1): `run` (the default), `ACTION` as `run ACTION`, `actions`, `schema`,
//! `completions`.

use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser, Subcommand};

use crate::actions::Action;
use crate::logging::{self, LogFormat};
use crate::manifest;
use crate::protocol::write;
use crate::runner::{self, ExitStatus};

/// What `--help` shows after the options: examples, the environment, the exit statuses.
/// (`help_names_every_environment_variable` keeps the list true.)
const AFTER_HELP: &str = "\
Examples:
  proofpoint-tap --pretty < actions/examples/decode_url.json    decode links offline, no credentials
  echo '{\"action\": \"ping\"}' | proofpoint-tap                    check the API root and credentials
  proofpoint-tap get_campaign < request.json                    the action named here, not in the request
  proofpoint-tap actions get_campaign                           one action's parameters, as a table
  proofpoint-tap schema request                                 the JSON Schema of a request
  proofpoint-tap mcp                                            serve every action to AI agents (MCP, stdio)
  proofpoint-tap completions bash > ~/.local/share/bash-completion/completions/proofpoint-tap

Environment (a request's `configuration` wins over the first four):
  PROOFPOINT_TAP_API_ROOT    the TAP API root (default https://tap-api-v2.proofpoint.com)
  PROOFPOINT_TAP_PRINCIPAL   the TAP service principal
  PROOFPOINT_TAP_SECRET      the TAP service secret (never logged, never echoed)
  PROOFPOINT_TAP_VERIFY_SSL  verify TLS certificates: true (default) or false
  PROOFPOINT_TAP_LOG         log filter on stderr: warn (default), info, debug (this program), trace (all)
  PROOFPOINT_TAP_NOW         an RFC 3339 time taken as now by List Campaigns and Search Events
  PROOFPOINT_TAP_MCP_CALL_TIMEOUT_SECONDS  `mcp`: the deadline of one tool call (default 120)

Exit status:
  0  the envelope says completed, or the command did what it was asked
  1  the envelope says failed or timed_out (a bad parameter value included)
  2  the request was unusable (an envelope is still written), or the command line was (no envelope)";

/// Proofpoint TAP actions for SOAR platforms: one JSON request on stdin, one JSON envelope on stdout.
#[derive(Debug, Parser)]
#[command(name = "proofpoint-tap", version, about, long_about = None, after_help = AFTER_HELP)]
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
    /// Read one action request on stdin and write its result envelope on stdout (the default).
    #[command(after_help = "Example:\n  proofpoint-tap run decode_url < request.json")]
    Run {
        /// The action to run, if the request does not name it (any of its names).
        action: Option<String>,
    },
    /// List the actions, or show one action's parameters as a table.
    #[command(
        after_help = "Examples:\n  proofpoint-tap actions\n  proofpoint-tap actions \"Get Campaign\""
    )]
    Actions {
        /// One action (any of its names): its parameters as a table.
        action: Option<String>,
        /// Print the action definitions as JSON (as in actions/*.json).
        #[arg(long)]
        json: bool,
    },
    /// Print the JSON Schemas of the request, the result envelope, the configuration and each
    /// action's parameters.
    #[command(
        after_help = "Examples:\n  proofpoint-tap schema result\n  proofpoint-tap schema --write schemas"
    )]
    Schema {
        /// `request`, `result`, `configuration` or an action; all when omitted.
        name: Option<String>,
        /// Write the schema files into this directory instead of printing.
        #[arg(long, value_name = "DIR")]
        write: Option<PathBuf>,
    },
    /// Serve every action as a tool to AI agents: the Model Context Protocol over stdio.
    #[command(
        after_help = "Configuration comes from the environment (PROOFPOINT_TAP_*) only.\nExample, in an MCP client's configuration:\n  {\"mcpServers\": {\"proofpoint-tap\": {\"command\": \"proofpoint-tap\", \"args\": [\"mcp\"],\n    \"env\": {\"PROOFPOINT_TAP_PRINCIPAL\": \"...\", \"PROOFPOINT_TAP_SECRET\": \"...\"}}}}"
    )]
    Mcp,
    /// Print a shell completion script.
    #[command(
        after_help = "Example:\n  proofpoint-tap completions zsh > ~/.zfunc/_proofpoint-tap"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// `proofpoint-tap ACTION [--pretty]`: the same as `run ACTION`.
    #[command(external_subcommand)]
    Action(Vec<String>),
}

/// The flags that may follow `proofpoint-tap ACTION`.
#[derive(Debug, Parser)]
#[command(no_binary_name = true)]
struct ActionFlags {
    /// Indent the JSON written to stdout.
    #[arg(long)]
    pretty: bool,
    /// Format of the log lines on stderr.
    #[arg(long, value_enum)]
    log_format: Option<LogFormat>,
}

impl Cli {
    /// This process's command line. Without arguments (how a platform runs the binary, once per
    /// playbook step) it means "run the request on stdin" and clap is not asked: building its
    /// parser was a tenth of a start-up's instructions.
    pub fn from_env() -> Cli {
        if std::env::args_os().len() <= 1 {
            return Cli::bare();
        }
        Cli::parse()
    }

    /// What clap makes of a command line without arguments.
    fn bare() -> Cli {
        Cli {
            command: None,
            pretty: false,
            log_format: LogFormat::Text,
        }
    }
}

/// Does what the command line asks.
pub fn run(cli: Cli) -> ExitStatus {
    let Cli {
        command,
        mut pretty,
        mut log_format,
    } = cli;
    let mut named = None;
    if let Some(Command::Action(args)) = &command {
        let (name, rest) = args
            .split_first()
            .expect("clap gives the subcommand's name");
        let Some(action) = Action::resolve(name) else {
            eprintln!("{}", unknown_command(name));
            return ExitStatus::Unusable;
        };
        match ActionFlags::try_parse_from(rest) {
            Ok(flags) => {
                pretty |= flags.pretty;
                log_format = flags.log_format.unwrap_or(log_format);
            }
            Err(e) => {
                let _ = e.print();
                return ExitStatus::Unusable;
            }
        }
        named = Some(action.info().name);
    }
    logging::init(log_format);
    match command.unwrap_or(Command::Run { action: None }) {
        Command::Run { action } => runner::run_stdio(action.as_deref(), pretty),
        Command::Action(_) => runner::run_stdio(named, pretty),
        Command::Actions { action: None, json } => actions(json, pretty),
        Command::Actions {
            action: Some(name),
            json,
        } => match Action::resolve(&name) {
            Some(action) if json => ExitStatus::of_output(write::json_to_stdout(
                &manifest::action_definition(action),
                pretty,
            )),
            Some(action) => ExitStatus::of_output(write::text_to_stdout(&parameter_table(action))),
            None => {
                eprintln!("{}", unknown_command(&name));
                ExitStatus::Unusable
            }
        },
        Command::Schema { name, write } => schema(name.as_deref(), write.as_deref(), pretty),
        Command::Mcp => crate::mcp::serve(),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "proofpoint-tap", &mut out);
            ExitStatus::of_output(write::text_to_stdout(&String::from_utf8_lossy(&out)))
        }
    }
}

/// The usage error for a word that is neither a subcommand nor an action, with the likeliest
/// meant one.
fn unknown_command(given: &str) -> String {
    let actions: Vec<&str> = Action::ALL.iter().map(|a| a.info().name).collect();
    let words = ["run", "actions", "schema", "mcp", "completions"]
        .into_iter()
        .chain(actions.iter().copied());
    let meant = words
        .map(|w| (strsim::levenshtein(w, &given.to_ascii_lowercase()), w))
        .filter(|(edits, _)| *edits <= 2)
        .min()
        .map(|(_, w)| format!("\n\n  tip: a similar one exists: '{w}'"))
        .unwrap_or_default();
    format!(
        "error: '{given}' is neither a subcommand nor an action{meant}\n\n  subcommands: run, actions, schema, mcp, completions\n  actions: {}\n\nFor more information, try '--help'.",
        actions.join(", ")
    )
}

/// `proofpoint-tap actions ACTION`: what the action is, and its parameters as a table.
fn parameter_table(action: Action) -> String {
    let info = action.info();
    let mut text = format!(
        "{} ({}): {}\nResult: {}. Also named {} and {}.\n",
        info.display_name,
        info.name,
        info.description,
        info.result_name,
        info.script_name,
        info.tool_name
    );
    let params = action.params();
    let specs = action.specs();
    if params.is_empty() {
        text.push_str("\nNo parameters.\n");
        return text;
    }
    let rows: Vec<[String; 5]> = params
        .iter()
        .map(|p| {
            let default = match (&p.default_value, p.is_mandatory) {
                (_, true) => "(required)".to_owned(),
                (Some(serde_json::Value::String(s)), _) => s.clone(),
                (Some(serde_json::Value::Array(a)), _) if a.is_empty() => "—".to_owned(),
                (Some(serde_json::Value::Null), _) => "—".to_owned(),
                (Some(v), _) => v.to_string(),
                (None, false) => "—".to_owned(),
            };
            let range = specs.iter().find(|s| s.key == p.key).and_then(|s| s.range);
            let accepted = match range {
                Some((lo, hi)) => format!("{lo} to {hi}"),
                None if p.allowed_values.is_empty() => "—".to_owned(),
                None => p.allowed_values.join(" | "),
            };
            [
                p.key.clone(),
                p.name.clone(),
                p.kind.clone(),
                default,
                accepted,
            ]
        })
        .collect();
    let header = [
        "parameter",
        "display name",
        "type",
        "default",
        "accepted values",
    ]
    .map(String::from);
    let widths: Vec<usize> = (0..5)
        .map(|c| {
            std::iter::once(&header)
                .chain(&rows)
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    text.push('\n');
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell}{}", " ".repeat(w - cell.chars().count())))
            .collect();
        text.push_str(cells.join("  ").trim_end());
        text.push('\n');
    }
    text.push('\n');
    for p in &params {
        text.push_str(&format!("{}: {}\n", p.key, p.description));
    }
    text
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_arguments_mean_what_clap_makes_of_none() {
        let parsed = Cli::try_parse_from(["proofpoint-tap"]).unwrap();
        assert_eq!(format!("{parsed:?}"), format!("{:?}", Cli::bare()));
    }

    #[test]
    fn help_names_every_environment_variable() {
        for var in [
            crate::config::ENV_API_ROOT,
            crate::config::ENV_PRINCIPAL,
            crate::config::ENV_SECRET,
            crate::config::ENV_VERIFY_SSL,
            crate::logging::ENV_LOG,
            crate::params::time_window::ENV_NOW,
            crate::mcp::ENV_CALL_TIMEOUT,
        ] {
            assert!(AFTER_HELP.contains(var), "{var}");
        }
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
