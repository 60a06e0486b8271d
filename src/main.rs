//! The `proofpoint-tap` binary: parse the command line, hand over, exit with the status it ends in.

use std::process::ExitCode;

use proofpoint_tap::cli::{self, Cli};

fn main() -> ExitCode {
    ExitCode::from(cli::run(Cli::from_env()).code())
}
