//! The daemon's real tick: re-read the config repository (a URL is fetched again), then the same
//! `reconcile::sync` as `dyngroups sync`. The store is opened for the run and dropped after it, so
//! `dyngroups status` and a manual sync can use it between ticks.

use anyhow::Context as _;
use async_trait::async_trait;

use super::{Tick, TickReport};
use crate::cli::Globals;
use crate::config::model::Config;
use crate::okta::client::OktaClient;
use crate::reconcile::{SyncOptions, SyncReport};

/// Builds the Okta client for a tick's config (tests hand in a token without touching the environment).
pub type Connect = Box<dyn Fn(&Config) -> anyhow::Result<OktaClient> + Send + Sync>;

pub struct SyncTick {
    pub globals: Globals,
    pub options: SyncOptions,
    /// `None`: `Globals::okta` (the credential from the environment variable the instance names).
    pub connect: Option<Connect>,
}

impl SyncTick {
    pub fn new(globals: Globals, options: SyncOptions) -> SyncTick {
        SyncTick {
            globals,
            options,
            connect: None,
        }
    }
}

impl SyncTick {
    /// One full run; also returns the report (tests compare its plan with `assess`).
    pub async fn run(&self) -> anyhow::Result<(SyncReport, TickReport)> {
        let g = self.globals.clone();
        // Reading git is blocking (and fetches a URL): off the async runtime.
        let cfg = tokio::task::spawn_blocking(move || g.load_config())
            .await
            .context("reading the config repository stopped unexpectedly")??;
        let okta = match &self.connect {
            Some(connect) => connect(&cfg)?,
            None => self.globals.okta(&cfg)?,
        };
        let report = {
            let store = self.globals.store(&cfg)?;
            crate::reconcile::sync(&okta, &store, &cfg, &self.options)
                .await
                .with_context(|| format!("syncing instance {}", cfg.instance.name))?
        };
        let stats = okta.stats();
        let tick = TickReport {
            status: report.status.as_str().to_string(),
            commit: report.commit.clone(),
            managed_groups: report.managed_groups,
            licensed_users: report.licensed_users,
            api_calls: stats.total_calls,
            rate_limited: stats.rate_limited + stats.concurrency_limited,
            changes: report.plan.actions.iter().map(|a| a.step_count()).sum(),
        };
        Ok((report, tick))
    }
}

#[async_trait]
impl Tick for SyncTick {
    async fn tick(&self) -> anyhow::Result<TickReport> {
        Ok(self.run().await?.1)
    }
}
