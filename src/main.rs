//! The `proofpoint-tap` binary: logs to stderr, one request from stdin, one envelope to stdout.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use proofpoint_tap::cli::{self, Cli, Command};
use proofpoint_tap::{logging, request, runner};

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    let status = match cli.command.unwrap_or(Command::Run { action: None }) {
        Command::Run { action } => {
            cli::widen_pipes();
            if std::io::stdin().is_terminal() {
                eprintln!("proofpoint-tap: reading one JSON request from stdin (end with Ctrl-D)");
            }
            let envelope =
                runner::catching(|| match request::read_input(std::io::stdin().lock()) {
                    Ok(input) => {
                        runner::execute(input, action.as_deref(), &|k| std::env::var(k).ok())
                    }
                    Err(e) => runner::rejected(e),
                });
            let written = cli::print_envelope(&envelope, cli.pretty);
            let status = written.max(runner::exit_code(&envelope));
            // The process ends now: freeing a large envelope would only cost time.
            std::mem::forget(envelope);
            status
        }
        Command::Actions { json } => cli::actions(json, cli.pretty),
        Command::Schema { name, write } => {
            cli::schema(name.as_deref(), write.as_deref(), cli.pretty)
        }
    };
    ExitCode::from(status)
}
