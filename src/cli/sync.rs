//! `dyngroups plan`, `apply` and `sync`: thin wrappers over `reconcile`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::json;

use super::status::thousands;
use super::{Exit, Format, Globals};
use crate::config::model::Config;
use crate::okta::client::OktaClient;
use crate::plan::model::{Action, PLAN_FORMAT_VERSION, Plan};
use crate::reconcile::{self, SyncOptions, SyncReport};

#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  dyngroups plan --out plan.json && dyngroups apply plan.json")]
pub struct PlanArgs {
    /// Where to write the plan (JSON), for `dyngroups apply FILE`.
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
    /// Exit 2 when the plan holds changes (0 when it holds none).
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  dyngroups plan --out plan.json && dyngroups apply plan.json")]
pub struct ApplyArgs {
    /// A plan written by `dyngroups plan --out FILE`.
    pub file: PathBuf,
    /// Let this one run past the failsafe limits (mass removals, many deletes).
    #[arg(long, alias = "allow-unsafe")]
    pub allow_mass_changes: bool,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  dyngroups sync --dry-run --detailed-exitcode\n  dyngroups sync\n  dyngroups sync --allow-mass-changes   # once, after reading why the failsafe stopped"
)]
pub struct SyncArgs {
    /// Plan and show what would change; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Let this one run past the failsafe limits (mass removals, many deletes).
    #[arg(long, alias = "allow-unsafe")]
    pub allow_mass_changes: bool,
    /// With --dry-run: exit 2 when there are changes pending.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Most Okta writes this run (overrides budget.max_writes_per_sync); the rest waits for the next run.
    #[arg(long, value_name = "N")]
    pub max_writes: Option<u64>,
    /// Read the whole org instead of only what changed since the last sync (a full reconcile).
    #[arg(long)]
    pub full: bool,
}

/// The validated config (read off the async runtime: reading git is blocking).
pub(crate) async fn load_config(g: &Globals) -> anyhow::Result<Config> {
    let g2 = g.clone();
    tokio::task::spawn_blocking(move || g2.load_config())
        .await
        .context("reading the config repository stopped unexpectedly")?
}

/// The Okta client for the config's instance (`--okta-url` overrides the domain).
pub(crate) fn okta(g: &Globals, cfg: &Config) -> anyhow::Result<OktaClient> {
    OktaClient::connect(&cfg.instance, g.args.okta_url.as_deref())
        .with_context(|| format!("connecting to Okta for instance {:?}", cfg.instance.name))
}

fn interactive(g: &Globals) -> bool {
    !g.args.quiet && std::io::stderr().is_terminal()
}

fn out(text: &str) -> anyhow::Result<()> {
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(())
}

pub async fn plan(g: &Globals, args: &PlanArgs) -> anyhow::Result<Exit> {
    let cfg = load_config(g).await?;
    let okta = okta(g, &cfg)?;
    let store = g.store(&cfg)?;
    let prepared = reconcile::prepare(&okta, &store, &cfg).await?;
    drop(store);
    let plan = prepared.plan;
    let doc = serde_json::to_string_pretty(&plan)?;
    std::fs::write(&args.out, format!("{doc}\n"))
        .with_context(|| format!("writing the plan to {}", args.out.display()))?;
    match g.format() {
        Format::Json => out(&crate::render::assess::json(&plan))?,
        Format::Markdown => out(&crate::render::assess::markdown(&plan))?,
        Format::Text => out(&crate::render::assess::text(&plan))?,
    }
    eprintln!(
        "plan written to {} ({} change(s)); apply it with `dyngroups apply {}`",
        args.out.display(),
        thousands(plan.actions.iter().map(Action::step_count).sum()),
        args.out.display()
    );
    Ok(if args.detailed_exitcode && !plan.actions.is_empty() {
        Exit::ChangesPending
    } else {
        Exit::Success
    })
}

pub async fn apply(g: &Globals, args: &ApplyArgs) -> anyhow::Result<Exit> {
    let raw = std::fs::read(&args.file)
        .with_context(|| format!("reading the plan {}", args.file.display()))?;
    let saved = read_plan(&raw, &args.file)?;
    let cfg = load_config(g).await?;
    let okta = okta(g, &cfg)?;
    let store = g.store(&cfg)?;
    let opts = SyncOptions {
        allow_mass_changes: args.allow_mass_changes,
        interactive: interactive(g),
        ..Default::default()
    };
    let report = reconcile::apply_saved(&okta, &store, &cfg, saved, &opts)
        .await
        .with_context(|| format!("applying {}", args.file.display()))?;
    show(g, &report, Some(&okta))
}

/// Just the version of a saved plan: read before the rest, whose shape depends on it.
#[derive(serde::Deserialize)]
struct PlanVersion {
    format_version: u32,
}

/// Parses a plan written by `dyngroups plan --out`, refusing one of another format version (an older
/// dyngroups wrote it; its actions may not mean what this version's do).
pub(crate) fn read_plan(raw: &[u8], file: &Path) -> anyhow::Result<Plan> {
    let version: PlanVersion = serde_json::from_slice(raw)
        .with_context(|| format!("{} is not a dyngroups plan", file.display()))?;
    if version.format_version != PLAN_FORMAT_VERSION {
        anyhow::bail!(
            "{} is a plan of format version {}, but this dyngroups applies only version {}: re-run \
             `dyngroups plan --out {}` with this version, then apply the new plan",
            file.display(),
            version.format_version,
            PLAN_FORMAT_VERSION,
            file.display()
        );
    }
    serde_json::from_slice(raw)
        .with_context(|| format!("{} is not a dyngroups plan", file.display()))
}

pub async fn sync(g: &Globals, args: &SyncArgs) -> anyhow::Result<Exit> {
    let cfg = load_config(g).await?;
    let okta = okta(g, &cfg)?;
    let store = g.store(&cfg)?;
    let opts = SyncOptions {
        dry_run: args.dry_run,
        allow_mass_changes: args.allow_mass_changes,
        interactive: interactive(g),
        max_writes: args.max_writes,
        full: args.full,
    };
    let report = reconcile::sync(&okta, &store, &cfg, &opts).await?;
    let exit = show(g, &report, Some(&okta))?;
    Ok(
        if args.dry_run && args.detailed_exitcode && report.has_changes() && exit == Exit::Success {
            Exit::ChangesPending
        } else {
            exit
        },
    )
}

/// Prints a run's report and picks the exit code.
fn show(g: &Globals, report: &SyncReport, okta: Option<&OktaClient>) -> anyhow::Result<Exit> {
    match g.format() {
        Format::Json => {
            let mut doc = serde_json::to_value(report)?;
            doc["summary"] = serde_json::to_value(&report.plan.summary)?;
            if let Some(c) = okta {
                doc["client"] = serde_json::to_value(c.stats())?;
            }
            out(&format!("{doc:#}\n"))?;
        }
        // -q: only errors (the failures are still reported below).
        Format::Text | Format::Markdown if g.args.quiet => {}
        Format::Text | Format::Markdown => out(&report_text(report))?,
    }
    let failed = report
        .apply
        .as_ref()
        .is_some_and(|a| a.counts.failed > 0 || a.halted.is_some());
    if failed {
        eprintln!("{}", failure_message(report));
        return Ok(Exit::Failure);
    }
    if report.safety.is_stop() {
        eprintln!(
            "stopped by a safety limit: {} group(s) left unchanged; review them, then run once with --allow-mass-changes",
            report.safety.blocked.len()
        );
        return Ok(Exit::SafetyStop);
    }
    Ok(Exit::Success)
}

/// What went wrong in a run that did not apply everything, and what to do about it.
fn failure_message(report: &SyncReport) -> String {
    let Some(apply) = &report.apply else {
        return "error: the sync did not complete; run it again".to_string();
    };
    let refused = apply
        .failures
        .iter()
        .filter(|f| f.error.contains(" 403 ") || f.error.contains("E0000006"))
        .count();
    let halted = apply.halted.as_deref().unwrap_or("");
    if refused > 0 || halted.contains("403") || halted.contains("E0000006") {
        return format!(
            "error: Okta refused {} change(s) with 403: the credential can read but not manage groups. Grant the \
             \"Manage groups\" permission to its admin role (OAuth: the okta.groups.manage scope), check with \
             `dyngroups test-connection`, then sync again",
            refused.max(1)
        );
    }
    format!(
        "error: {} change(s) were not applied{}; the next sync retries them (run with -v for details)",
        apply.failures.len().max(1),
        if halted.is_empty() {
            String::new()
        } else {
            format!(" ({halted})")
        }
    )
}

/// The human summary of a run.
pub fn report_text(report: &SyncReport) -> String {
    let mut s = String::new();
    if report.dry_run || report.disabled {
        if report.disabled {
            s.push_str("The instance is disabled (enabled: false): planned, nothing applied.\n\n");
        } else {
            s.push_str("Dry run: nothing was changed. A sync would do this:\n\n");
        }
        s.push_str(&crate::render::assess::text(&report.plan));
    } else {
        let c = report
            .apply
            .as_ref()
            .map(|a| a.counts.clone())
            .unwrap_or_default();
        s.push_str(&format!(
            "{}: {} (commit {})\n",
            report.kind,
            report.status.as_str(),
            report.commit.as_deref().unwrap_or("-")
        ));
        if c.changes() + c.failed + c.blocked + c.deferred == 0 {
            s.push_str("  nothing to change: Okta already matches the config\n");
        }
        s.push_str(&format!(
            "  groups: {} created, {} adopted, {} deleted, {} no longer managed\n",
            thousands(c.created),
            thousands(c.adopted),
            thousands(c.deleted),
            thousands(c.stopped_managing)
        ));
        s.push_str(&format!(
            "  members: {} added, {} removed\n",
            thousands(c.added),
            thousands(c.removed)
        ));
        if c.failed + c.blocked + c.deferred > 0 {
            s.push_str(&format!(
                "  not applied: {} failed, {} held back by the failsafe, {} left for the next run\n",
                thousands(c.failed),
                thousands(c.blocked),
                thousands(c.deferred)
            ));
        }
    }
    if !report.recovery.groups_recovered.is_empty() || report.recovery.pending > 0 {
        s.push_str(&format!(
            "  recovered an interrupted run: {} pending change(s), {} group(s) found and recorded as ours\n",
            thousands(report.recovery.pending),
            thousands(report.recovery.groups_recovered.len() as u64)
        ));
    }
    s.push_str(&format!(
        "  managed groups {}, licensed users {}; {} Okta call(s) ({} read(s), {} write(s)) in {:.1} s\n",
        thousands(report.managed_groups),
        thousands(report.licensed_users),
        thousands(report.api_calls.total()),
        thousands(report.api_calls.reads),
        thousands(report.api_calls.writes),
        report.duration_ms as f64 / 1000.0
    ));
    if !report.safety.blocked.is_empty() {
        s.push_str("\nHeld back by the failsafe (nothing applied to these groups):\n");
        for b in &report.safety.blocked {
            s.push_str(&format!(
                "  {}: {}\n",
                crate::render::escape::terminal(&b.name),
                b.reason
            ));
        }
    }
    if let Some(a) = &report.apply {
        if let Some(h) = &a.halted {
            s.push_str(&format!("\n{h}\n"));
        }
        if !a.failures.is_empty() {
            s.push_str("\nFailed:\n");
            for f in a.failures.iter().take(20) {
                s.push_str(&format!(
                    "  {}: {}\n",
                    crate::render::escape::terminal(&f.change),
                    f.error
                ));
            }
            if a.failures.len() > 20 {
                s.push_str(&format!(
                    "  ... and {} more\n",
                    thousands(a.failures.len() as u64 - 20)
                ));
            }
        }
    }
    s
}

/// `json!` helper kept for the daemon's board: a one-line summary of a report.
pub fn report_summary(report: &SyncReport) -> serde_json::Value {
    json!({
        "status": report.status.as_str(),
        "commit": report.commit,
        "managed_groups": report.managed_groups,
        "licensed_users": report.licensed_users,
        "api_calls": report.api_calls.total(),
        "duration_ms": report.duration_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_of_another_format_version_is_refused_naming_the_file_and_the_fix() {
        let file = Path::new("saved/plan.json");
        // A format 1 plan: one action per membership (this version cannot read those actions at all).
        let old = json!({"format_version": 1, "actions": [{"action": "add_member", "rule": "r",
            "group": {"kind": "new", "name": "department_sales"}, "user": "00u1", "reason": "matches"}]});
        let err = read_plan(old.to_string().as_bytes(), file).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("saved/plan.json"), "{msg}");
        assert!(msg.contains("format version 1"), "{msg}");
        assert!(msg.contains("re-run `dyngroups plan"), "{msg}");

        let err = read_plan(b"{\"actions\": []}", file).unwrap_err();
        assert!(
            format!("{err:#}").contains("saved/plan.json is not a dyngroups plan"),
            "{err:#}"
        );
    }
}
