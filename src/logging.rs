//! Logs on stderr through `tracing`: filter from `PROOFPOINT_TAP_LOG`, else `RUST_LOG`, else `warn`;
//! text or JSON lines. A bare level in `PROOFPOINT_TAP_LOG` is this program's: the HTTP stack's own
//! events show only at `trace`. Every line of a run carries its span (`run{action=.. case_id=..}`).

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

/// The filter a `PROOFPOINT_TAP_LOG` value stands for: `debug` or `info` means this program at
/// that level and its dependencies at `warn` (they are noise to a person reading why an action
/// failed); `trace` means everything; directives (`hyper_util=debug,info`) are taken as written.
fn own_filter(spec: &str) -> String {
    match spec.trim().to_ascii_lowercase().as_str() {
        level @ ("debug" | "info") => format!("warn,proofpoint_tap={level}"),
        _ => spec.trim().to_owned(),
    }
}

/// Installs the subscriber. A filter that does not parse falls back to `warn`, with a warning.
pub(crate) fn init(format: LogFormat) {
    let spec = std::env::var(ENV_LOG)
        .ok()
        .filter(|s| !s.trim().is_empty())
        .map(|s| own_filter(&s))
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
        .with_target(true)
        .with_file(false)
        .with_line_number(false);
    // `set_global_default` rather than `try_init`, which would also forward the `log` crate's
    // records: those carry the build machine's source paths (`log.file`), and only repeat what the
    // HTTP stack says through `tracing`.
    let installed = match format {
        LogFormat::Text => {
            tracing::subscriber::set_global_default(builder.with_ansi(false).finish())
        }
        LogFormat::Json => tracing::subscriber::set_global_default(builder.json().finish()),
    };
    if installed.is_ok() {
        if let Some(e) = bad {
            tracing::warn!("ignoring the log filter in {ENV_LOG}/RUST_LOG ({e}); using warn");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::own_filter;

    #[test]
    fn a_bare_level_is_this_programs() {
        assert_eq!(own_filter("debug"), "warn,proofpoint_tap=debug");
        assert_eq!(own_filter(" INFO "), "warn,proofpoint_tap=info");
        assert_eq!(own_filter("trace"), "trace");
        assert_eq!(own_filter("warn"), "warn");
        assert_eq!(own_filter("hyper_util=debug,info"), "hyper_util=debug,info");
    }
}
