//! Assess as GitHub Markdown: group names, values and counts only (never logins, emails or names), every
//! untrusted string through `markdown_inline`.

use std::fmt::Write;

use super::{SAMPLE_GROUPS, by_size, deletes, members, skip_reason, status_label, warning};
use crate::plan::model::{GroupStatus, Plan};
use crate::render::escape::markdown_inline as md;

pub fn markdown(plan: &Plan) -> String {
    let mut o = String::new();
    let s = &plan.summary;
    let _ = writeln!(o, "### dyngroups assess\n");
    let _ = writeln!(
        o,
        "**{}** rules, **{}** groups ({} new, {} adopt, {} skip, {} managed); **+{}** / **-{}** memberships; {} to delete, {} to stop managing; {} licensed users after.\n",
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
        let _ = writeln!(o, "No changes: Okta already matches the rules.\n");
    }
    for r in &plan.rules {
        let disabled = if r.enabled { "" } else { " (disabled)" };
        let _ = writeln!(
            o,
            "#### profile.{} → {}\\*{disabled}\n",
            md(&r.attribute),
            md(&r.prefix)
        );
        let count = |st: GroupStatus| r.groups.iter().filter(|g| g.status == st).count();
        let _ = writeln!(
            o,
            "{} groups: {} new, {} adopt, {} skip, {} managed; +{} / -{} memberships.\n",
            r.groups.len(),
            count(GroupStatus::New),
            count(GroupStatus::Adopt),
            count(GroupStatus::Skip),
            count(GroupStatus::Managed),
            r.adds,
            r.removes
        );
        let sorted = by_size(r);
        if !sorted.is_empty() {
            let _ = writeln!(o, "| group | values | members | status | + | - |");
            let _ = writeln!(o, "|---|---|---:|---|---:|---:|");
            for g in sorted.iter().take(SAMPLE_GROUPS) {
                let values: Vec<String> = g.values.iter().take(5).map(|v| md(v)).collect();
                let more = if g.values.len() > 5 { ", …" } else { "" };
                let status = if g.delete {
                    format!("{} (delete)", status_label(g.status))
                } else {
                    status_label(g.status).to_string()
                };
                let _ = writeln!(
                    o,
                    "| {} | {}{more} | {} | {status} | {} | {} |",
                    md(&g.name),
                    values.join(", "),
                    members(g),
                    g.adds,
                    g.removes
                );
            }
            if sorted.len() > SAMPLE_GROUPS {
                let _ = writeln!(o, "\n…and {} more groups.", sorted.len() - SAMPLE_GROUPS);
            }
            let _ = writeln!(o);
        }
        for g in r.groups.iter().filter(|g| g.status == GroupStatus::Skip) {
            if let Some(reason) = &g.skip_reason {
                let _ = writeln!(o, "- skip {}: {}", md(&g.name), md(&skip_reason(reason)));
            }
        }
        for v in &r.rejected_values {
            let _ = writeln!(o, "- rejected value {} ({} users)", md(&v.value), v.users);
        }
        if r.users_without_value > 0 {
            let _ = writeln!(o, "- {} active users have no value", r.users_without_value);
        }
        let _ = writeln!(o);
    }
    let deleting: Vec<_> = deletes(plan).collect();
    if !deleting.is_empty() {
        let _ = writeln!(
            o,
            "**Delete** (empty, created by dyngroups): {}\n",
            list(deleting.iter().map(|g| g.name.as_str()))
        );
    }
    if !plan.stop_managing.is_empty() {
        let _ = writeln!(
            o,
            "**Stop managing** (rule removed; the groups stay in Okta): {}\n",
            list(plan.stop_managing.iter().map(|m| m.name.as_str()))
        );
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(o, "**Warnings**\n");
        for w in &plan.warnings {
            let _ = writeln!(o, "- {}", warning(w, &|s| md(s)));
        }
    }
    o
}

fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.map(md).collect::<Vec<_>>().join(", ")
}
