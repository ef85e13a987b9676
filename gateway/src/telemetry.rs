//! Logging set-up: `tracing` to stderr, as text or JSON lines.
//!
//! Log lines carry ids, codes and counts only; payloads never reach a span
//! or an event (see STYLE §8).

use tracing_subscriber::EnvFilter;

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Installs the global subscriber. `level` is an `EnvFilter` directive such
/// as `info` or `ponte_gateway=debug`; `RUST_LOG` overrides it.
pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    // A second initialisation (tests) keeps the first subscriber.
    let _ = result;
}
