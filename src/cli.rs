//! The command line (SPEC §1): `run` (default), `actions`, `schema`.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::actions::Action;
use crate::logging::LogFormat;
use crate::manifest;
use crate::output;
use crate::schema;
use crate::wire::Envelope;

/// Proofpoint TAP actions for SOAR platforms: one JSON request on stdin, one JSON envelope on stdout.
#[derive(Debug, Parser)]
#[command(name = "proofpoint-tap", version, about, long_about = None)]
pub struct Cli {
    /// What to do; `run` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Indent the JSON written to stdout.
    #[arg(long, global = true)]
    pub pretty: bool,
    /// Format of the log lines on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
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

/// `proofpoint-tap actions [--json]`.
pub fn actions(json: bool, pretty: bool) -> u8 {
    let text = if json {
        let defs: Vec<_> = Action::ALL
            .iter()
            .map(|a| manifest::action_definition(*a))
            .collect();
        to_json(&serde_json::Value::Array(defs), pretty)
    } else {
        let mut text = String::new();
        for a in Action::ALL {
            let i = a.info();
            text.push_str(&format!(
                "{:<18} {:<22} {}\n",
                i.name, i.display_name, i.description
            ));
        }
        text
    };
    print_out(&text)
}

/// `proofpoint-tap schema [NAME] [--write DIR]`.
pub fn schema(name: Option<&str>, write: Option<&std::path::Path>, pretty: bool) -> u8 {
    if let Some(n) = name {
        if schema::by_name(n).is_none() {
            let names: Vec<String> = schema::all().into_iter().map(|(n, _)| n).collect();
            eprintln!(
                "error: unknown schema \"{n}\"; choose one of: {}",
                names.join(", ")
            );
            return 2;
        }
    }
    if let Some(dir) = write {
        return match schema::write(dir, name) {
            Ok(paths) => {
                for p in paths {
                    eprintln!("wrote {}", p.display());
                }
                0
            }
            Err(e) => {
                eprintln!(
                    "error: could not write the schemas into {}: {e}",
                    dir.display()
                );
                1
            }
        };
    }
    let value = match name {
        Some(n) => schema::by_name(n).unwrap_or_default(),
        None => serde_json::Value::Object(schema::all().into_iter().collect()),
    };
    print_out(&to_json(&value, pretty))
}

/// Pipe capacity asked for on stdin and stdout: 1 MiB, Linux's default ceiling for unprivileged
/// processes.
const PIPE_BYTES: usize = 1 << 20;

/// Enlarges stdin and stdout when they are pipes. A bulk request is megabytes each way, and with
/// the default 64 KiB pipe each side wakes the other hundreds of times; with 1 MiB both sides move
/// the data in a few large copies. Best effort: files, terminals and refusals are left as they are.
pub fn widen_pipes() {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsFd;
        // Fails with EBADF/EINVAL when the descriptor is not a pipe, EPERM over the user's pipe quota.
        let _ = rustix::pipe::fcntl_setpipe_size(std::io::stdin().as_fd(), PIPE_BYTES);
        let _ = rustix::pipe::fcntl_setpipe_size(std::io::stdout().as_fd(), PIPE_BYTES);
    }
}

/// JSON text with a final newline.
pub fn to_json<T: serde::Serialize>(value: &T, pretty: bool) -> String {
    let mut text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
    .unwrap_or_else(|e| format!("{{\"error\": \"could not serialize: {e}\"}}"));
    text.push('\n');
    text
}

/// Writes the envelope as JSON to stdout, streaming it rather than building one large string
/// first. A closed stdout (a pipe whose reader left) is exit status 1, not a panic.
pub fn print_envelope(envelope: &Envelope, pretty: bool) -> u8 {
    if pretty {
        return print_out(&to_json(envelope, true));
    }
    let written = match raw_stdout() {
        Some(file) => write_envelope_line(file, envelope),
        None => write_envelope_line(std::io::stdout().lock(), envelope),
    };
    match written {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// Stdout as a plain file. Rust's `Stdout` is line-buffered: every write is searched for its last
/// newline, which for a one-line envelope of megabytes is a scan of all of it for nothing.
#[cfg(unix)]
fn raw_stdout() -> Option<std::fs::File> {
    use std::os::fd::AsFd;
    // Flushed first, so that nothing written through `Stdout` before comes out after.
    std::io::stdout().flush().ok()?;
    let fd = std::io::stdout().as_fd().try_clone_to_owned().ok()?;
    Some(std::fs::File::from(fd))
}

#[cfg(not(unix))]
fn raw_stdout() -> Option<std::fs::File> {
    None
}

fn write_envelope_line(out: impl Write, envelope: &Envelope) -> std::io::Result<()> {
    // Large enough that a bulk envelope crosses the pipe in few writes; more only costs memory.
    let mut out = std::io::BufWriter::with_capacity(OUT_BUFFER, out);
    output::write_envelope(&mut out, envelope)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Bytes the envelope is written in.
const OUT_BUFFER: usize = 256 << 10;

/// Writes to stdout; a closed stdout (a pipe whose reader left) is exit status 1, not a panic.
pub fn print_out(text: &str) -> u8 {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}
