//! Log set-up: tracing to stderr, text or JSON, level from -v/-q or RUST_LOG.

use tracing_subscriber::EnvFilter;

use super::{GlobalArgs, LogFormat};

pub fn init(g: &GlobalArgs) {
    let level = if g.quiet {
        "error"
    } else {
        match g.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    // Our crate at the chosen level; dependencies only warnings unless RUST_LOG says otherwise (at -vv
    // rustls, hyper and gix would drown our own lines).
    let default = format!("warn,dyngroups={level}");
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(super::context::use_color(g.color, false));
    let _ = match g.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
