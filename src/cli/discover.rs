//! `dyngroups discover`: the user profile attributes Okta knows, with type, base/custom and self-editable.

use super::{Exit, Globals};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_g: &Globals, _args: &Args) -> anyhow::Result<Exit> {
    anyhow::bail!("discover is being built (issue 5)")
}
