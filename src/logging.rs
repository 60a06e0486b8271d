//! Logs on stderr through `tracing`: filter from `PROOFPOINT_TAP_LOG`, else `RUST_LOG`, else `warn`;
//! text or JSON lines.

use tracing_subscriber::EnvFilter;

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Environment variable holding the log filter (`info`, `proofpoint_tap=debug`, ...).
pub(crate) const ENV_LOG: &str = "PROOFPOINT_TAP_LOG";

/// Installs the subscriber. A filter that does not parse falls back to `warn`, with a warning.
pub(crate) fn init(format: LogFormat) {
    let spec = std::env::var(ENV_LOG)
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .filter(|s| !s.trim().is_empty());
    let (filter, bad) = match spec.as_deref().map(EnvFilter::try_new) {
        None => (EnvFilter::new("warn"), None),
        Some(Ok(filter)) => (filter, None),
        Some(Err(e)) => (EnvFilter::new("warn"), Some(e)),
    };
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(true);
    let installed = match format {
        LogFormat::Text => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    if installed.is_ok() {
        if let Some(e) = bad {
            tracing::warn!("ignoring the log filter in {ENV_LOG}/RUST_LOG ({e}); using warn");
        }
    }
}
