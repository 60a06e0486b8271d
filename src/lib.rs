//! `proofpoint-tap`: Proofpoint Targeted Attack Protection actions for SOAR platforms.
//!
//! One JSON action request on stdin, one JSON result envelope on stdout (see `SPEC` in the
//! README). The binary (`main.rs`) is a thin shell around [`runner::execute`].

pub mod actions;
pub mod cli;
pub mod client;
pub mod config;
pub mod error;
pub mod fasthash;
pub mod logging;
pub mod manifest;
pub mod output;
pub mod params;
pub mod render;
pub mod request;
pub mod runner;
pub mod schema;
pub mod scope;
pub mod timewin;
pub mod urldefense;
pub mod wire;

pub use manifest::INTEGRATION_IDENTIFIER;
