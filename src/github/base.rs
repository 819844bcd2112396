//! `assess --base REV` and the comment's data: the plan of the pull request's config and the plan of the base
//! revision's config, both made from ONE observation of the org (so the difference is the config's alone),
//! and their [`PlanDiff`].
//!
//! Trust: the pull request's config is untrusted input. The Okta connection (domain and which environment
//! variable holds the credential) is taken from the BASE revision's instance file, never from the pull
//! request's, so a pull request cannot send the token to another host or read another variable.

use anyhow::Context as _;

use crate::cli::{Exit, Format, Globals};
use crate::config::model::Config;
use crate::okta::api::OktaApi;
use crate::okta::client::OktaClient;
use crate::okta::error::OktaError;
use std::collections::BTreeSet;

use crate::plan::model::{Action, Plan, Remembered};

use super::comment::{CommentInput, Limit, render};
use super::diff::{PlanDiff, diff_plans};

/// The config `observe` needs to see everything either plan reads: the head config with the base's rules
/// that the head no longer has.
pub fn union_config(head: &Config, base: &Config) -> Config {
    let mut union = head.clone();
    for rule in &base.rules {
        if !union.rules.iter().any(|r| r.id() == rule.id()) {
            union.rules.push(rule.clone());
        }
    }
    union
}

/// Observes the org once and plans both configs against it. Returns (base plan, head plan).
pub async fn plan_both(
    api: &dyn OktaApi,
    head: &Config,
    base: &Config,
    remembered: &Remembered,
) -> Result<(Plan, Plan), OktaError> {
    let view = crate::okta::observe::observe(api, &union_config(head, base), remembered).await?;
    let base_plan = crate::plan::plan(base, &view, remembered);
    let head_plan = crate::plan::plan(head, &view, remembered);
    Ok((base_plan, head_plan))
}

/// Keeps only the rules whose prefix is `prefix` (`assess --rule`).
pub fn only_rule(mut config: Config, prefix: Option<&str>) -> Config {
    if let Some(p) = prefix {
        config.rules.retain(|r| r.prefix == p);
    }
    config
}

/// A plan of `only` (the config narrowed by `--rule`) read as a plan of `full`: the rules left out are
/// not removed rules, so the stop-managing of their groups is dropped.
pub fn keep_other_rules(plan: &mut Plan, full: &Config, only: &Config) {
    let kept: BTreeSet<String> = only.rules.iter().map(|r| r.id()).collect();
    let left_out: BTreeSet<String> = full
        .rules
        .iter()
        .map(|r| r.id())
        .filter(|id| !kept.contains(id))
        .collect();
    if left_out.is_empty() {
        return;
    }
    plan.stop_managing.retain(|m| !left_out.contains(&m.rule));
    plan.actions
        .retain(|a| !matches!(a, Action::StopManaging { rule, .. } if left_out.contains(rule)));
    plan.summary.groups_stop_managing = plan
        .actions
        .iter()
        .filter(|a| matches!(a, Action::StopManaging { .. }))
        .count() as u64;
}

/// The config at `rev` of the `--config` repository, validated.
pub fn load_config_at(g: &Globals, rev: &str) -> anyhow::Result<Config> {
    let spec = g.args.config.clone();
    let cache = g.config_cache_dir();
    let shown = crate::source::redact(&spec);
    // gix is blocking; run it on its own OS thread as Globals::config_tree does.
    let tree = std::thread::scope(|s| {
        s.spawn(|| crate::source::read(&spec, Some(rev), Some(&cache)))
            .join()
    })
    .map_err(|_| {
        anyhow::anyhow!("reading the config repository {shown} at {rev} failed unexpectedly")
    })?
    .with_context(|| format!("reading the base config: the config repository {shown} at {rev}"))?;
    match crate::config::load(&tree) {
        Ok(cfg) => Ok(cfg),
        Err(diags) => {
            eprintln!("{diags}");
            anyhow::bail!(
                "the base revision {rev} of the config repository {shown} does not validate ({} problems listed above)",
                diags.len()
            )
        }
    }
}

/// What the store remembers, for a read-only assessment: the store's content when it exists, else nothing
/// (a pull-request runner has no store; the plan then shows every group as it would look on a first sync).
pub fn remembered_if_any(g: &Globals, cfg: &Config) -> anyhow::Result<Remembered> {
    let dir = g.state_dir(&cfg.instance.name)?;
    if !dir.exists() {
        return Ok(Remembered::default());
    }
    let store = g.store(cfg)?;
    Ok(store.remembered()?)
}

/// Everything `assess --base` and `comment --base` show.
#[derive(Debug, Clone)]
pub struct BaseAssessment {
    pub instance: String,
    pub base_rev: String,
    pub base: Plan,
    pub head: Plan,
    pub diff: PlanDiff,
}

impl BaseAssessment {
    pub fn comment_input(&self) -> CommentInput<'_> {
        CommentInput {
            instance: &self.instance,
            head: &self.head,
            diff: Some(&self.diff),
            base_label: Some(short_rev(&self.base_rev)),
        }
    }
}

/// A full commit id shortened to 12 characters for display; branch and tag names unchanged.
pub fn short_rev(rev: &str) -> &str {
    if rev.len() >= 40 && rev.chars().all(|c| c.is_ascii_hexdigit()) {
        &rev[..12]
    } else {
        rev
    }
}

/// Loads both configs, connects with the BASE instance's settings, observes once and plans both.
pub async fn assess_against(
    g: &Globals,
    base_rev: &str,
    rule: Option<&str>,
) -> anyhow::Result<BaseAssessment> {
    let head_full = g.load_config()?;
    let base_full = load_config_at(g, base_rev)?;
    let head_cfg = only_rule(head_full.clone(), rule);
    let base_cfg = only_rule(base_full.clone(), rule);
    if head_cfg.instance.okta_domain != base_cfg.instance.okta_domain
        || head_cfg.instance.credential != base_cfg.instance.credential
    {
        tracing::warn!(
            "the pull request changes the instance's Okta domain or credential; assessing against the base revision's"
        );
    }
    let api = OktaClient::connect(&base_cfg.instance, g.args.okta_url.as_deref())
        .with_context(|| format!("connecting to Okta for instance {}", base_cfg.instance.name))?;
    let remembered = remembered_if_any(g, &base_cfg)?;
    let (mut base, mut head) = plan_both(&api, &head_cfg, &base_cfg, &remembered)
        .await
        .context("reading the org from Okta")?;
    keep_other_rules(&mut base, &base_full, &base_cfg);
    keep_other_rules(&mut head, &head_full, &head_cfg);
    let diff = diff_plans(&base, &head);
    Ok(BaseAssessment {
        instance: base_cfg.instance.name.clone(),
        base_rev: base_rev.to_string(),
        base,
        head,
        diff,
    })
}

/// Text view of the difference (appended to the plan's own text view).
pub fn diff_text(d: &PlanDiff, base_rev: &str) -> String {
    let c = &d.counts;
    let rules = |v: &[super::diff::RuleLine]| -> String {
        v.iter()
            .map(|r| crate::render::escape::terminal(&r.rule))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = format!(
        "\nCompared with the base revision {}:\n",
        crate::render::escape::terminal(base_rev)
    );
    if d.is_empty() {
        out.push_str("  the plan is the same with and without this change\n");
        return out;
    }
    out.push_str(&format!(
        "  rules: {} added [{}], {} removed [{}], {} changed\n",
        c.rules_added,
        rules(&d.rules_added),
        c.rules_removed,
        rules(&d.rules_removed),
        c.rules_changed
    ));
    out.push_str(&format!(
        "  groups: {} to create, {} to adopt, {} skipped, {} already managed appear; {} no longer computed; {} changed; {} stop being managed\n",
        c.groups_new, c.groups_adopt, c.groups_skip, c.groups_managed, c.groups_disappear, c.groups_changed, c.stop_managing
    ));
    out.push_str(&format!(
        "  memberships to add {} -> {}, to remove {} -> {}; licensed users {} -> {}\n",
        c.adds_base,
        c.adds_head,
        c.removes_base,
        c.removes_head,
        c.licensed_users_base,
        c.licensed_users_head
    ));
    if !d.group_list_diff.is_empty() {
        out.push('\n');
        out.push_str(&d.group_list_diff);
    }
    out
}

/// The output of `assess --base`: the head plan's view in `format`, plus the difference from the base.
/// JSON keeps assess's top-level keys and adds `base_diff`.
pub fn render_base(a: &BaseAssessment, format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Text => format!(
            "{}{}",
            crate::render::assess::text(&a.head),
            diff_text(&a.diff, &a.base_rev)
        ),
        Format::Markdown => render(&a.comment_input(), Limit::bytes(usize::MAX)),
        Format::Json => {
            let mut v: serde_json::Value =
                serde_json::from_str(&crate::render::assess::json(&a.head))
                    .context("re-reading the assess JSON")?;
            if let Some(obj) = v.as_object_mut() {
                obj.insert("base_diff".into(), serde_json::to_value(&a.diff)?);
            }
            let mut s = serde_json::to_string_pretty(&v)?;
            s.push('\n');
            s
        }
    })
}

/// `dyngroups assess --base REV [--rule PREFIX]`: prints the plan and its difference from the base revision.
/// Exit: 0, or 2 with `detailed_exitcode` when a sync would change something.
pub async fn assess_base_rev(
    g: &Globals,
    base_rev: &str,
    rule: Option<&str>,
    detailed_exitcode: bool,
) -> anyhow::Result<Exit> {
    let a = assess_against(g, base_rev, rule).await?;
    let text = render_base(&a, g.format())?;
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(if detailed_exitcode && a.head.summary.has_changes() {
        Exit::ChangesPending
    } else {
        Exit::Success
    })
}

/// `assess --base`, taking the assess command's own arguments (`--base`, `--rule`, `--detailed-exitcode`).
pub async fn assess_base(g: &Globals, args: &crate::cli::assess::Args) -> anyhow::Result<Exit> {
    let Some(base) = args.base.as_deref() else {
        anyhow::bail!("assess_base needs --base REV");
    };
    assess_base_rev(g, base, args.rule.as_deref(), args.detailed_exitcode).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::planner::{bench_config, lean_org, settle};

    #[test]
    fn a_plan_narrowed_to_one_rule_stops_managing_no_other_rules_groups() {
        let full = bench_config();
        let org = lean_org(200, 5);
        let first = crate::plan::plan(&full, &org, &Remembered::default());
        let (org, remembered) = settle(org, &first);
        let only = only_rule(full.clone(), Some("department"));
        let mut plan = crate::plan::plan(&only, &org, &remembered);
        assert!(
            plan.summary.groups_stop_managing > 0,
            "planning the narrowed config alone reads the other rules as removed"
        );
        keep_other_rules(&mut plan, &full, &only);
        assert_eq!(plan.summary.groups_stop_managing, 0);
        assert!(plan.stop_managing.is_empty() && plan.actions.is_empty());
        // A rule really removed from the config is still stopped.
        let mut fewer = full.clone();
        fewer.rules.retain(|r| r.prefix != "skill");
        let only = only_rule(fewer.clone(), Some("department"));
        let mut plan = crate::plan::plan(&only, &org, &remembered);
        keep_other_rules(&mut plan, &fewer, &only);
        assert!(plan.summary.groups_stop_managing > 0);
        assert!(plan.stop_managing.iter().all(|m| m.rule.contains("skills")));
    }
}
