//! `dyngroups validate`: check the config repository, listing every problem as `file:line:col: message`.

use super::{Exit, Globals};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_g: &Globals, _args: &Args) -> anyhow::Result<Exit> {
    anyhow::bail!("validate is being built (issue 4)")
}
