//! The sections of the assess comment (per-rule tables, the PR's changes, stop-managing, warnings), each
//! rendered at a given level of detail and counting what it left out, so `comment` can shrink the whole to
//! GitHub's size limit and say exactly what is missing. Every untrusted string goes through `escape`.

use std::fmt::Write as _;

use crate::plan::model::{
    GroupPlan, GroupStatus, Plan, RejectReason, RulePlan, SkipReason, Warning,
};

use super::diff::{GroupChange, GroupChangeKind, GroupState, PlanDiff};
use super::escape;

/// How much of each long part to show. `usize::MAX` = everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detail {
    /// Group rows per rule table.
    pub rows_per_rule: usize,
    /// Lines of the unified group-list diff.
    pub diff_lines: usize,
    /// Rows of the group-changes table.
    pub group_changes: usize,
    /// Rules with a section of their own.
    pub rules: usize,
    /// Rejected values, stop-managing rows and warnings per list.
    pub list_items: usize,
}

impl Detail {
    pub const FULL: Detail = Detail {
        rows_per_rule: usize::MAX,
        diff_lines: usize::MAX,
        group_changes: usize::MAX,
        rules: usize::MAX,
        list_items: usize::MAX,
    };

    /// From everything down to the summary alone; `comment` takes the first that fits.
    pub const LEVELS: [Detail; 7] = [
        Detail::FULL,
        Detail {
            rows_per_rule: 200,
            diff_lines: 1000,
            group_changes: 200,
            rules: usize::MAX,
            list_items: 100,
        },
        Detail {
            rows_per_rule: 50,
            diff_lines: 300,
            group_changes: 50,
            rules: usize::MAX,
            list_items: 30,
        },
        Detail {
            rows_per_rule: 10,
            diff_lines: 100,
            group_changes: 10,
            rules: usize::MAX,
            list_items: 10,
        },
        Detail {
            rows_per_rule: 0,
            diff_lines: 0,
            group_changes: 0,
            rules: usize::MAX,
            list_items: 5,
        },
        Detail {
            rows_per_rule: 0,
            diff_lines: 0,
            group_changes: 0,
            rules: 50,
            list_items: 0,
        },
        Detail {
            rows_per_rule: 0,
            diff_lines: 0,
            group_changes: 0,
            rules: 0,
            list_items: 0,
        },
    ];
}

/// What a rendering left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Omitted {
    pub group_rows: usize,
    pub diff_lines: usize,
    pub group_changes: usize,
    pub rules: usize,
    pub list_items: usize,
}

impl Omitted {
    pub fn any(&self) -> bool {
        *self != Omitted::default()
    }

    /// "12 group rows, 300 diff lines" (only the non-zero parts).
    pub fn describe(&self) -> String {
        let parts: Vec<String> = [
            (self.rules, "rule sections"),
            (self.group_rows, "group rows"),
            (self.group_changes, "group changes"),
            (self.diff_lines, "lines of the group-list diff"),
            (
                self.list_items,
                "list entries (rejected values, warnings, groups no longer managed)",
            ),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        parts.join(", ")
    }
}

/// Rows shown at the top of a table before the rest folds into `<details>`.
const VISIBLE_ROWS: usize = 10;

pub fn status_text(g: &GroupPlan) -> String {
    let base = match (g.status, &g.skip_reason) {
        (GroupStatus::New, _) => "new".to_string(),
        (GroupStatus::Adopt, _) => "adopt".to_string(),
        (GroupStatus::Managed, _) => "managed".to_string(),
        (GroupStatus::Skip, Some(SkipReason::CollisionPolicySkip { .. })) => {
            "skip: an unmanaged group has this name".to_string()
        }
        (GroupStatus::Skip, Some(SkipReason::NotModifiable { group_type, .. })) => {
            format!("skip: {} cannot be changed", group_type.as_str())
        }
        (GroupStatus::Skip, Some(SkipReason::Ambiguous { group_ids })) => {
            format!("skip: {} groups have this name", group_ids.len())
        }
        (GroupStatus::Skip, None) => "skip".to_string(),
    };
    if g.delete {
        format!("{base}, delete (empty)")
    } else {
        base
    }
}

fn values_cell(values: &[String]) -> String {
    let mut shown: Vec<String> = values.iter().take(3).map(|v| escape::cell(v)).collect();
    if values.len() > 3 {
        shown.push(format!("+{} more", values.len() - 3));
    }
    shown.join(", ")
}

fn group_row(g: &GroupPlan) -> String {
    format!(
        "| {} | {} | {} | {} | {} | +{} | −{} |\n",
        escape::cell(&g.name),
        values_cell(&g.values),
        status_text(g),
        g.current_members,
        g.members_after,
        g.adds,
        g.removes
    )
}

const GROUP_HEADER: &str = "| Group | Value(s) | Status | Members now | After | Adds | Removes |\n|---|---|---|--:|--:|--:|--:|\n";

/// A table whose first rows show and whose rest folds into `<details>`; at most `limit` rows in all.
fn folded_table(
    out: &mut String,
    header: &str,
    rows: &[String],
    limit: usize,
    what: &str,
) -> usize {
    let shown = rows.len().min(limit);
    if shown == 0 {
        return rows.len();
    }
    let visible = shown.min(VISIBLE_ROWS);
    out.push_str(header);
    for r in &rows[..visible] {
        out.push_str(r);
    }
    if shown > visible {
        let _ = write!(
            out,
            "\n<details><summary>{} more {what}</summary>\n\n{header}",
            shown - visible
        );
        for r in &rows[visible..shown] {
            out.push_str(r);
        }
        out.push_str("\n</details>\n");
    }
    if rows.len() > shown {
        let _ = writeln!(
            out,
            "\n*… and {} more {what} not shown (comment size limit).*",
            rows.len() - shown
        );
    }
    rows.len() - shown
}

fn rule_heading(r: &RulePlan) -> String {
    let mut counts = [0u64; 4];
    for g in &r.groups {
        counts[match g.status {
            GroupStatus::New => 0,
            GroupStatus::Adopt => 1,
            GroupStatus::Skip => 2,
            GroupStatus::Managed => 3,
        }] += 1;
    }
    format!(
        "### Rule {} → prefix {}{}\n\n{} groups ({} new, {} adopt, {} skip, {} managed) · +{} / −{} memberships · {} users without a value\n\n",
        escape::inline(&format!("profile.{}", r.attribute)),
        escape::inline(&r.prefix),
        if r.enabled {
            ""
        } else {
            " (disabled: planned, never applied)"
        },
        r.groups.len(),
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        r.adds,
        r.removes,
        r.users_without_value
    )
}

fn reject_text(r: RejectReason) -> &'static str {
    match r {
        RejectReason::NormalizesToNothing => "nothing left after normalization",
        RejectReason::NameTooLong => "group name would exceed 255 characters",
        RejectReason::InvalidCharacters => "characters Okta cannot store",
        RejectReason::UnsupportedType => "not a string, number or list",
    }
}

/// The per-rule sections.
pub fn rules(out: &mut String, plan: &Plan, d: Detail, om: &mut Omitted) {
    let shown = plan.rules.len().min(d.rules);
    om.rules += plan.rules.len() - shown;
    for r in &plan.rules[..shown] {
        out.push_str(&rule_heading(r));
        // Changes first, then the rest, each by name: reviewers look for what moves.
        let mut groups: Vec<&GroupPlan> = r.groups.iter().collect();
        groups.sort_by_key(|g| {
            let quiet =
                g.status == GroupStatus::Managed && g.adds == 0 && g.removes == 0 && !g.delete;
            (quiet, g.name.clone())
        });
        let rows: Vec<String> = groups.iter().map(|g| group_row(g)).collect();
        om.group_rows += folded_table(out, GROUP_HEADER, &rows, d.rows_per_rule, "groups");
        if !r.rejected_values.is_empty() {
            let n = r.rejected_values.len().min(d.list_items);
            om.list_items += r.rejected_values.len() - n;
            if n > 0 {
                let _ = write!(
                    out,
                    "\n<details><summary>{} values produce no group</summary>\n\n| Value | Users | Why |\n|---|--:|---|\n",
                    r.rejected_values.len()
                );
                for v in &r.rejected_values[..n] {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} |",
                        escape::cell(&v.value),
                        v.users,
                        reject_text(v.reason)
                    );
                }
                out.push_str("\n</details>\n");
            }
        }
        out.push('\n');
    }
}

pub fn stop_managing(out: &mut String, plan: &Plan, d: Detail, om: &mut Omitted) {
    if plan.stop_managing.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "### {} groups stop being managed\n\nTheir rule was removed: dyngroups forgets them and leaves them in Okta untouched.\n\n",
        plan.stop_managing.len()
    );
    let n = plan.stop_managing.len().min(d.list_items);
    om.list_items += plan.stop_managing.len() - n;
    if n > 0 {
        out.push_str("| Group | Rule |\n|---|---|\n");
        for g in &plan.stop_managing[..n] {
            let _ = writeln!(
                out,
                "| {} | {} |",
                escape::cell(&g.name),
                escape::cell(&g.rule)
            );
        }
        out.push('\n');
    }
}

fn warning_text(w: &Warning) -> String {
    match w {
        Warning::HighCardinality {
            rule,
            groups,
            small_groups,
        } => format!(
            "{}: {groups} groups, {small_groups} of them with one or two members — is this a title or manager attribute?",
            escape::inline(rule)
        ),
        Warning::GithubSlugClash { slug, names } => format!(
            "{} names become the same GitHub team slug {}",
            names.len(),
            escape::inline(slug)
        ),
        Warning::SlackHandleTooLong { name, limit } => {
            format!(
                "{} is longer than Slack's {limit}-character handle limit",
                escape::inline(name)
            )
        }
        Warning::TooManyGroups { users, limit } => {
            format!(
                "{users} users would be in more than {limit} groups (Okta drops groups from tokens past that)"
            )
        }
        Warning::Disabled { what } => format!(
            "{} is disabled: planned for review, never applied",
            escape::inline(what)
        ),
    }
}

pub fn warnings(out: &mut String, plan: &Plan, d: Detail, om: &mut Omitted) {
    if plan.warnings.is_empty() {
        return;
    }
    let n = plan.warnings.len().min(d.list_items);
    om.list_items += plan.warnings.len() - n;
    let _ = writeln!(out, "### Warnings ({})\n", plan.warnings.len());
    for w in &plan.warnings[..n] {
        let _ = writeln!(out, "- {}", warning_text(w));
    }
    out.push('\n');
}

fn state_text(s: &Option<GroupState>) -> String {
    match s {
        None => "—".to_string(),
        Some(s) => format!(
            "{:?}{}, {} members (+{} / −{})",
            s.status,
            if s.delete { ", delete" } else { "" },
            s.members_after,
            s.adds,
            s.removes
        )
        .to_lowercase(),
    }
}

fn change_row(c: &GroupChange) -> String {
    let kind = match c.kind {
        GroupChangeKind::Appears => "appears",
        GroupChangeKind::Disappears => "no longer computed",
        GroupChangeKind::Changed => "changed",
    };
    format!(
        "| {} | {} | {kind} | {} | {} |\n",
        escape::cell(&c.name),
        escape::cell(&c.rule),
        state_text(&c.before),
        state_text(&c.after)
    )
}

/// "What this pull request changes": rule and group differences and the unified group-list diff.
pub fn pr_changes(
    out: &mut String,
    diff: &PlanDiff,
    base_label: &str,
    d: Detail,
    om: &mut Omitted,
) {
    let c = &diff.counts;
    let _ = write!(
        out,
        "### What this pull request changes (compared with {})\n\n",
        escape::inline(base_label)
    );
    if diff.is_empty() {
        out.push_str("The plan is the same with and without this pull request.\n\n");
        return;
    }
    let list = |rules: &[super::diff::RuleLine], max: usize| -> String {
        let names: Vec<String> = rules
            .iter()
            .take(max.min(10))
            .map(|r| escape::inline(&r.rule))
            .collect();
        if names.is_empty() {
            String::new()
        } else if rules.len() > names.len() {
            format!(" ({}, …)", names.join(", "))
        } else {
            format!(" ({})", names.join(", "))
        }
    };
    let changed: Vec<super::diff::RuleLine> =
        diff.rules_changed.iter().map(|r| r.after.clone()).collect();
    let _ = writeln!(
        out,
        "- Rules: {} added{}, {} removed{}, {} changed{}",
        c.rules_added,
        list(&diff.rules_added, d.list_items),
        c.rules_removed,
        list(&diff.rules_removed, d.list_items),
        c.rules_changed,
        list(&changed, d.list_items)
    );
    let _ = writeln!(
        out,
        "- Groups: {} appear ({} to create, {} to adopt, {} skipped, {} already managed), {} no longer computed, {} changed, {} stop being managed",
        c.groups_new + c.groups_adopt + c.groups_skip + c.groups_managed,
        c.groups_new,
        c.groups_adopt,
        c.groups_skip,
        c.groups_managed,
        c.groups_disappear,
        c.groups_changed,
        c.stop_managing
    );
    let _ = writeln!(
        out,
        "- Memberships to add: {} → {}; to remove: {} → {}; licensed users after sync: {} → {}\n",
        c.adds_base,
        c.adds_head,
        c.removes_base,
        c.removes_head,
        c.licensed_users_base,
        c.licensed_users_head
    );
    let rows: Vec<String> = diff.groups.iter().map(change_row).collect();
    if !rows.is_empty() {
        let n = rows.len().min(d.group_changes);
        om.group_changes += rows.len() - n;
        if n > 0 {
            let _ = write!(
                out,
                "<details><summary>{} group changes</summary>\n\n| Group | Rule | Change | Base | Pull request |\n|---|---|---|---|---|\n",
                rows.len()
            );
            for r in &rows[..n] {
                out.push_str(r);
            }
            if rows.len() > n {
                let _ = writeln!(
                    out,
                    "\n*… and {} more not shown (comment size limit).*",
                    rows.len() - n
                );
            }
            out.push_str("\n</details>\n\n");
        }
    }
    if !diff.group_list_diff.is_empty() {
        let lines: Vec<&str> = diff.group_list_diff.lines().collect();
        let n = lines.len().min(d.diff_lines);
        om.diff_lines += lines.len() - n;
        if n > 0 {
            let mut text = lines[..n].join("\n");
            if lines.len() > n {
                let _ = write!(
                    text,
                    "\n… {} more lines not shown (comment size limit)",
                    lines.len() - n
                );
            }
            let _ = write!(
                out,
                "<details><summary>Group list diff ({} lines)</summary>\n\n{}\n</details>\n\n",
                lines.len(),
                escape::code_block("diff", &text)
            );
        }
    }
}
