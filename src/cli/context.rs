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
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let safe = if safe.is_empty() || safe.starts_with('.') {
            format!("_{safe}")
        } else {
            safe
        };
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
        Ok(crate::store::Store::open_instance(
            &dir,
            &cfg.instance.name,
        )?)
    }
}

// ---- the config repository (helper C) ------------------------------------------------------------------

impl Globals {
    /// Where clones of a config repository given as a URL are kept: `--cache-dir` (DYNGROUPS_CACHE_DIR), else
    /// `$XDG_CACHE_HOME/dyngroups/repos` or `~/.cache/dyngroups/repos`, else a folder under the system's
    /// temporary directory.
    pub fn config_cache_dir(&self) -> std::path::PathBuf {
        if let Some(dir) = &self.args.cache_dir {
            return dir.clone();
        }
        crate::source::default_cache_dir()
            .unwrap_or_else(|| std::env::temp_dir().join("dyngroups-config-cache"))
    }

    /// The files of the config repository named by `--config`/`--rev` (a folder on disk, or git via gix).
    /// Blocking; the git work runs on its own OS thread (outside any async runtime), so this is safe to call
    /// from async commands too.
    pub fn config_tree(&self) -> anyhow::Result<crate::source::ConfigTree> {
        let spec = self.args.config.clone();
        let rev = self.args.rev.clone();
        let cache = self.config_cache_dir();
        let shown = crate::source::redact(&spec);
        let result = std::thread::scope(|s| {
            s.spawn(|| crate::source::read(&spec, rev.as_deref(), Some(&cache)))
                .join()
        });
        let tree = match result {
            Ok(r) => r,
            Err(_) => anyhow::bail!("reading the config repository {shown} failed unexpectedly"),
        };
        let what = match &self.args.rev {
            Some(r) => format!("reading the config repository {shown} at {r}"),
            None => format!("reading the config repository {shown}"),
        };
        anyhow::Context::context(tree, what)
    }

    /// The validated config. When it does not validate, prints every problem (`file:line:col: message`) on
    /// stderr and fails, so that nothing else runs on a config that does not validate.
    pub fn load_config(&self) -> anyhow::Result<crate::config::model::Config> {
        let tree = self.config_tree()?;
        match crate::config::load(&tree) {
            Ok(cfg) => Ok(cfg),
            Err(diags) => {
                eprintln!("{diags}");
                anyhow::bail!(
                    "the config repository {} does not validate ({} problem{} listed above); fix them, checking with `dyngroups validate`",
                    tree.origin,
                    diags.len(),
                    if diags.len() == 1 { "" } else { "s" }
                )
            }
        }
    }
}

// ---- Okta (helper B) ----
impl Globals {
    /// The Okta client for the configured instance: `--okta-url` / `DYNGROUPS_OKTA_URL` overrides
    /// `https://{okta_domain}`; the credential comes from the environment variable the instance names.
    /// Errors say which variable is missing and how to set it, or what is wrong with the domain.
    pub fn okta(
        &self,
        cfg: &crate::config::model::Config,
    ) -> anyhow::Result<crate::okta::client::OktaClient> {
        crate::tls::install_crypto_provider();
        let instance = &cfg.instance;
        let url = self
            .args
            .okta_url
            .as_deref()
            .filter(|u| !u.trim().is_empty());
        let source = match url {
            Some(u) => format!("--okta-url / DYNGROUPS_OKTA_URL ({u})"),
            None => format!(
                "okta_domain {:?} of instance {}",
                instance.okta_domain, instance.name
            ),
        };
        crate::okta::client::OktaClient::connect(instance, url).map_err(|e| {
            anyhow::Error::new(e).context(format!("setting up the Okta connection from {source}"))
        })
    }
}
