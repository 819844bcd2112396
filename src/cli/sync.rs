//! `dyngroups plan`, `apply` and `sync`: thin wrappers over `reconcile`.

use super::{Exit, Globals};

#[derive(Debug, clap::Args)]
pub struct PlanArgs {}

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {}

#[derive(Debug, clap::Args)]
pub struct SyncArgs {}

pub async fn plan(_g: &Globals, _args: &PlanArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("plan is being built (issue 6)")
}

pub async fn apply(_g: &Globals, _args: &ApplyArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("apply is being built (issue 6)")
}

pub async fn sync(_g: &Globals, _args: &SyncArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("sync is being built (issue 6)")
}
