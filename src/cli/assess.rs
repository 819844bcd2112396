//! `dyngroups assess`: the plan per rule, read-only, as text, Markdown or JSON.

use super::{Exit, Globals};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_g: &Globals, _args: &Args) -> anyhow::Result<Exit> {
    anyhow::bail!("assess is being built (issue 5)")
}
