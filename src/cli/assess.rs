//! `dyngroups assess`: the plan per rule, read-only, as text, Markdown or JSON. Needs only read permissions
//! (users, groups); never writes to Okta or to the store.

use std::io::Write;

use anyhow::Context;

use super::{Exit, Format, Globals};
use crate::plan::model::Plan;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  dyngroups --config examples/config assess\n  dyngroups assess --rule department --format markdown\n  dyngroups assess --base origin/main --detailed-exitcode"
)]
pub struct Args {
    /// Only the rules with this name prefix.
    #[arg(long, value_name = "PREFIX")]
    pub rule: Option<String>,
    /// Exit 2 when a sync would change something (0 when Okta already matches), like terraform's.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Also show the difference from the plan of this base revision of the config repository
    /// (rules added, removed, changed): what merging a pull request would change.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
}

pub async fn run(g: &Globals, args: &Args) -> anyhow::Result<Exit> {
    if let Some(base) = &args.base {
        return crate::github::base::assess_base_rev(
            g,
            base,
            args.rule.as_deref(),
            args.detailed_exitcode,
        )
        .await;
    }
    let config = g.load_config()?;
    let api = g.okta(&config)?;
    // Read-only: the store's memory when this machine has one, else a first-sync view (a PR runner).
    let remembered = crate::github::base::remembered_if_any(g, &config)?;
    let plan = assess(&api, &config, &remembered, args.rule.as_deref()).await?;
    let out = match g.format() {
        Format::Text => crate::render::assess::text(&plan),
        Format::Markdown => crate::render::assess::markdown(&plan),
        Format::Json => crate::render::assess::json(&plan),
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(if args.detailed_exitcode && plan.summary.has_changes() {
        Exit::ChangesPending
    } else {
        Exit::Success
    })
}

/// Observes the org and plans, optionally for the rules of one prefix only. With a prefix, the other
/// rules' groups are not "removed rules": they are left out of the plan instead of being stopped.
pub async fn assess(
    api: &dyn crate::okta::api::OktaApi,
    config: &crate::config::model::Config,
    remembered: &crate::plan::model::Remembered,
    prefix: Option<&str>,
) -> anyhow::Result<Plan> {
    let mut only = config.clone();
    if let Some(p) = prefix {
        only.rules.retain(|r| r.prefix == p);
        if only.rules.is_empty() {
            let known: Vec<&str> = config.rules.iter().map(|r| r.prefix.as_str()).collect();
            anyhow::bail!(
                "no rule has the prefix {p:?} (prefixes: {})",
                known.join(", ")
            );
        }
    }
    let org = crate::okta::observe::observe(api, &only, remembered)
        .await
        .context("reading users and groups from Okta")?;
    let mut plan = crate::plan::plan(&only, &org, remembered);
    crate::github::base::keep_other_rules(&mut plan, config, &only);
    Ok(plan)
}
