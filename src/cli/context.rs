//! What every command shares: the global options, and the ways to get the config, Okta and the store from them.
//! Commands call these instead of building things themselves, so that errors read the same everywhere.

use std::io::IsTerminal;

use super::{ColorChoice, Format, GlobalArgs};

#[derive(Debug, Clone)]
pub struct Globals {
    pub args: GlobalArgs,
}

impl Globals {
    pub fn new(args: GlobalArgs) -> Globals {
        Globals { args }
    }

    pub fn format(&self) -> Format {
        self.args.format
    }

    /// Colours on stdout.
    pub fn color(&self) -> bool {
        use_color(self.args.color, true)
    }
}

/// Colours only on a terminal, never with `NO_COLOR` set (https://no-color.org), unless forced.
pub fn use_color(choice: ColorChoice, stdout: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let tty = if stdout {
                std::io::stdout().is_terminal()
            } else {
                std::io::stderr().is_terminal()
            };
            tty && !no_color
        }
    }
}

// ---- the store (helper E) ------------------------------------------------------------------------------

impl Globals {
    /// The store folder: `--state`/`DYNGROUPS_STATE`, else a per-instance folder under the user's data
    /// directory (`$XDG_DATA_HOME/dyngroups/<instance>`, or `~/.local/share/dyngroups/<instance>`).
    pub fn state_dir(&self, instance: &str) -> anyhow::Result<std::path::PathBuf> {
        if let Some(dir) = &self.args.state {
            return Ok(dir.clone());
        }
        let safe: String = instance
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
            .collect();
        let safe = if safe.is_empty() || safe.starts_with('.') { format!("_{safe}") } else { safe };
        let base = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            Some(d) => std::path::PathBuf::from(d),
            None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
                Some(h) => std::path::PathBuf::from(h).join(".local").join("share"),
                None => anyhow::bail!(
                    "no folder for the store: set --state DIR (or DYNGROUPS_STATE), XDG_DATA_HOME or HOME"
                ),
            },
        };
        Ok(base.join("dyngroups").join(safe))
    }

    /// Opens this instance's store (taking its lock for as long as the `Store` lives).
    pub fn store(&self, cfg: &crate::config::model::Config) -> anyhow::Result<crate::store::Store> {
        let dir = self.state_dir(&cfg.instance.name)?;
        Ok(crate::store::Store::open_instance(&dir, &cfg.instance.name)?)
    }
}
