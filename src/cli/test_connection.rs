//! `dyngroups test-connection`: domain reachable, credential valid, a verdict per needed permission.

use super::{Exit, Globals};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_g: &Globals, _args: &Args) -> anyhow::Result<Exit> {
    anyhow::bail!("test-connection is being built (issue 5)")
}
