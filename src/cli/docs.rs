//! `dyngroups completions <shell>` and `dyngroups man`: shell completions and a man page generated from the
//! same clap definitions as `--help`, so they never drift from the real command line.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::CommandFactory;

use super::{Cli, Exit};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  dyngroups completions bash > ~/.local/share/bash-completion/completions/dyngroups\n  dyngroups completions zsh > ~/.zfunc/_dyngroups"
)]
pub struct CompletionsArgs {
    /// The shell to write completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  dyngroups man > dyngroups.1 && man ./dyngroups.1\n  dyngroups man --out-dir man/   # one page per command"
)]
pub struct ManArgs {
    /// Write dyngroups.1 and one page per command (dyngroups-sync.1, ...) into this folder instead of printing
    /// the main page.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

pub fn completions(args: &CompletionsArgs) -> anyhow::Result<Exit> {
    let mut cmd = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut cmd, "dyngroups", &mut out);
    out.flush().context("writing completions")?;
    Ok(Exit::Success)
}

pub fn man(args: &ManArgs) -> anyhow::Result<Exit> {
    let cmd = Cli::command();
    match &args.out_dir {
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .context("writing the man page")?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(cmd, dir)
                .with_context(|| format!("writing man pages to {}", dir.display()))?;
        }
    }
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn man_page_names_every_command() {
        let mut buf = Vec::new();
        clap_mangen::Man::new(Cli::command())
            .render(&mut buf)
            .unwrap();
        // roff escapes hyphens (`test\-connection`).
        let page = String::from_utf8(buf).unwrap().replace("\\-", "-");
        for sub in Cli::command().get_subcommands() {
            assert!(
                page.contains(sub.get_name()),
                "man page lacks {}",
                sub.get_name()
            );
        }
    }

    #[test]
    fn every_command_has_an_example_in_its_help() {
        fn leaves(cmd: &clap::Command, path: String, missing: &mut Vec<String>) {
            for sub in cmd.get_subcommands() {
                let name = format!("{path} {}", sub.get_name()).trim().to_string();
                if sub.has_subcommands() {
                    leaves(sub, name, missing);
                    continue;
                }
                let help = sub
                    .get_after_help()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                if !help.contains("dyngroups ") {
                    missing.push(name);
                }
            }
        }
        let mut missing = Vec::new();
        leaves(&Cli::command(), String::new(), &mut missing);
        assert!(
            missing.is_empty(),
            "commands without an example in --help: {missing:?}"
        );
    }

    #[test]
    fn bash_completions_list_commands() {
        let mut cmd = Cli::command();
        let mut buf = Vec::new();
        clap_complete::generate(clap_complete::Shell::Bash, &mut cmd, "dyngroups", &mut buf);
        let script = String::from_utf8(buf).unwrap();
        assert!(script.contains("test-connection") && script.contains("assess"));
    }
}
