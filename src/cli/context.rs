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
