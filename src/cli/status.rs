//! `dyngroups status` and `dyngroups groups`: views of the store, fast, in text and JSON.

use super::{Exit, Globals};

#[derive(Debug, clap::Args)]
pub struct StatusArgs {}

#[derive(Debug, clap::Args)]
pub struct GroupsArgs {}

pub async fn status(_g: &Globals, _args: &StatusArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("status is being built (issue 6)")
}

pub async fn groups(_g: &Globals, _args: &GroupsArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("groups is being built (issue 6)")
}
