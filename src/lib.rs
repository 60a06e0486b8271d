//! `proofpoint-tap`: Proofpoint Targeted Attack Protection actions for SOAR platforms.
//!
//! One JSON action request on stdin, one JSON result envelope on stdout (SPEC §1-§3). The binary
//! (`main.rs`) parses the command line and hands over to [`cli::run`]; `ARCHITECTURE.md` walks
//! through the modules. The public surface is what the binary, the tests, the fuzz targets and
//! the benchmarks need; everything else is private to the crate.

mod actions;
pub mod cli;
mod config;
mod error;
mod input;
mod logging;
pub mod manifest;
mod mcp;
mod params;
mod protocol;
pub mod runner;
mod tap;
pub mod unwrap;

use actions::Action;
pub use manifest::INTEGRATION_IDENTIFIER;
pub use protocol::{Envelope, ExecutionState};

/// Reads `data` the way a run reads a request — size, BOM, UTF-8, JSON, field types, action
/// names, scope, configuration and every action's parameters — without running anything, so that
/// no input can make a network call. The fuzz target's entry point.
pub fn check_request(data: &[u8]) {
    let Ok(text) = protocol::request::text(data.to_vec()) else {
        return;
    };
    let Ok(request) = protocol::request::parse(&text) else {
        return;
    };
    let _ = request.action.as_deref().map(Action::resolve);
    let _ = protocol::scope::apply(request.scope.as_deref(), request.target_entities.clone());
    let _ = config::Config::resolve(&request.configuration, |_| None);
    for action in Action::ALL {
        let _ = action.check_parameters(&request.parameters);
    }
}
