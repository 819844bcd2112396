//! Assess as terminal text.

use std::fmt::Write;

use super::{SAMPLE_GROUPS, by_size, deletes, members, skip_reason, status_label, warning};
use crate::plan::model::{GroupStatus, Plan, RejectReason};
use crate::render::escape::terminal;

pub fn text(plan: &Plan) -> String {
    let mut o = String::new();
    let commit = plan.config_commit.as_deref().unwrap_or("working tree");
    let _ = writeln!(o, "Assess of config {commit}");
    for r in &plan.rules {
        let _ = writeln!(o);
        let disabled = if r.enabled { "" } else { "  [disabled]" };
        let _ = writeln!(
            o,
            "rule profile.{} -> {}*{disabled}",
            terminal(&r.attribute),
            terminal(&r.prefix)
        );
        let count = |s: GroupStatus| r.groups.iter().filter(|g| g.status == s).count();
        let _ = writeln!(
            o,
            "  {} groups: {} new, {} adopt, {} skip, {} managed; {} adds, {} removes",
            r.groups.len(),
            count(GroupStatus::New),
            count(GroupStatus::Adopt),
            count(GroupStatus::Skip),
            count(GroupStatus::Managed),
            r.adds,
            r.removes
        );
        let sorted = by_size(r);
        let width = sorted
            .iter()
            .take(SAMPLE_GROUPS)
            .map(|g| g.name.chars().count())
            .max()
            .unwrap_or(0);
        for g in sorted.iter().take(SAMPLE_GROUPS) {
            let values: Vec<String> = g
                .values
                .iter()
                .map(|v| format!("{:?}", terminal(v)))
                .collect();
            let mut changes = String::new();
            if g.adds + g.removes > 0 {
                changes = format!("  +{} -{}", g.adds, g.removes);
            }
            if g.delete {
                changes.push_str("  delete (empty)");
            }
            let _ = writeln!(
                o,
                "    {:<width$}  {:>6} members  {:<7}  {}{changes}",
                terminal(&g.name),
                members(g),
                status_label(g.status),
                values.join(", "),
            );
        }
        if sorted.len() > SAMPLE_GROUPS {
            let _ = writeln!(
                o,
                "    ... and {} more groups",
                sorted.len() - SAMPLE_GROUPS
            );
        }
        for g in r.groups.iter().filter(|g| g.status == GroupStatus::Skip) {
            if let Some(reason) = &g.skip_reason {
                let _ = writeln!(o, "  skip {}: {}", terminal(&g.name), skip_reason(reason));
            }
        }
        for v in &r.rejected_values {
            let why = match v.reason {
                RejectReason::NormalizesToNothing => "normalizes to nothing",
                RejectReason::NameTooLong => "the group name would exceed 255 characters",
                RejectReason::InvalidCharacters => "holds characters Okta cannot store",
                RejectReason::UnsupportedType => "is not a string, number, boolean or array",
            };
            let _ = writeln!(
                o,
                "  rejected value {:?} ({} users): {why}",
                terminal(&v.value),
                v.users
            );
        }
        if r.users_without_value > 0 {
            let _ = writeln!(o, "  {} active users have no value", r.users_without_value);
        }
    }
    let deleting: Vec<_> = deletes(plan).collect();
    if !deleting.is_empty() {
        let _ = writeln!(o, "\ndelete (empty, created by dyngroups):");
        for g in deleting {
            let _ = writeln!(
                o,
                "  {} ({})",
                terminal(&g.name),
                g.okta_id.as_deref().unwrap_or("?")
            );
        }
    }
    if !plan.stop_managing.is_empty() {
        let _ = writeln!(
            o,
            "\nstop managing (rule removed; the groups stay in Okta):"
        );
        for m in &plan.stop_managing {
            let _ = writeln!(
                o,
                "  {} ({}, rule {})",
                terminal(&m.name),
                m.id,
                terminal(&m.rule)
            );
        }
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(o, "\nwarnings:");
        for w in &plan.warnings {
            let _ = writeln!(o, "  - {}", warning(w, &|s| terminal(s)));
        }
    }
    let s = &plan.summary;
    let _ = writeln!(
        o,
        "\nsummary: {} rules, {} groups ({} new, {} adopt, {} skip, {} managed), {} adds, {} removes, {} deletes, {} stop managing; {} licensed users after",
        s.rules,
        s.groups_total,
        s.groups_new,
        s.groups_adopt,
        s.groups_skip,
        s.groups_managed,
        s.adds,
        s.removes,
        s.groups_delete,
        s.groups_stop_managing,
        s.licensed_users_after
    );
    if !s.has_changes() {
        let _ = writeln!(o, "No changes: Okta already matches the rules.");
    }
    o
}
