//! `dyngroups sim serve` and `dyngroups sim generate`: the Okta emulator from the command line.

use clap::Subcommand;

use super::{Exit, Globals};

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Run the Okta emulator over HTTP.
    Serve {},
    /// Write a realistic synthetic org as a seed file.
    Generate {},
}

pub async fn run(_g: &Globals, _c: SimCommand) -> anyhow::Result<Exit> {
    anyhow::bail!("the emulator is being built (issue 2)")
}
