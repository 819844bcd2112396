//! What a pull request changes: the plan of the base config compared with the plan of the PR's config,
//! both made against the same observed org. Pure data; the comment and `assess --base` render it.
//!
//! Groups are matched by (rule, name). A group is *appearing* when only the head plan computes it (its head
//! status says whether it would be created, adopted, skipped or is already managed), *disappearing* when only
//! the base plan does, and *changed* when both do with a different outcome. Groups of rules the PR removes
//! show up in `stop_managing` (they stay in Okta untouched).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::config::model::RuleId;
use crate::plan::model::{GroupPlan, GroupStatus, Plan, RulePlan};

use super::escape;

/// The rule-level facts shown for an added or removed rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleLine {
    pub rule: RuleId,
    pub attribute: String,
    pub prefix: String,
    pub enabled: bool,
    pub groups: u64,
    pub adds: u64,
    pub removes: u64,
}

/// A rule both plans have whose outcome differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleChange {
    pub rule: RuleId,
    pub before: RuleLine,
    pub after: RuleLine,
}

/// One group's outcome in one plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupState {
    pub status: GroupStatus,
    pub values: Vec<String>,
    pub members_after: u64,
    pub adds: u64,
    pub removes: u64,
    pub delete: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupChangeKind {
    /// Only the PR's plan computes this group.
    Appears,
    /// Only the base plan computes this group.
    Disappears,
    /// Both do, with a different status or membership outcome.
    Changed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupChange {
    pub rule: RuleId,
    pub name: String,
    pub kind: GroupChangeKind,
    pub before: Option<GroupState>,
    pub after: Option<GroupState>,
}

/// A managed group the PR's plan stops managing (its rule was removed) and the base plan did not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StopManagingLine {
    pub rule: RuleId,
    pub id: String,
    pub name: String,
}

/// Totals, so renderers never recount.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DiffCounts {
    pub rules_added: u64,
    pub rules_removed: u64,
    pub rules_changed: u64,
    /// Appearing groups by their status in the PR's plan.
    pub groups_new: u64,
    pub groups_adopt: u64,
    pub groups_skip: u64,
    pub groups_managed: u64,
    pub groups_disappear: u64,
    pub groups_changed: u64,
    pub stop_managing: u64,
    pub adds_base: u64,
    pub adds_head: u64,
    pub removes_base: u64,
    pub removes_head: u64,
    pub licensed_users_base: u64,
    pub licensed_users_head: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanDiff {
    pub base_commit: Option<String>,
    pub head_commit: Option<String>,
    pub rules_added: Vec<RuleLine>,
    pub rules_removed: Vec<RuleLine>,
    pub rules_changed: Vec<RuleChange>,
    /// Sorted by kind, rule, name.
    pub groups: Vec<GroupChange>,
    pub stop_managing: Vec<StopManagingLine>,
    pub counts: DiffCounts,
    /// Unified diff (similar) of the two plans' group lists, one line per group; empty when they are equal.
    pub group_list_diff: String,
}

impl PlanDiff {
    /// True when the PR changes nothing the plans can see.
    pub fn is_empty(&self) -> bool {
        self.rules_added.is_empty()
            && self.rules_removed.is_empty()
            && self.rules_changed.is_empty()
            && self.groups.is_empty()
            && self.stop_managing.is_empty()
            && self.counts.adds_base == self.counts.adds_head
            && self.counts.removes_base == self.counts.removes_head
    }
}

fn rule_line(r: &RulePlan) -> RuleLine {
    RuleLine {
        rule: r.rule.clone(),
        attribute: r.attribute.clone(),
        prefix: r.prefix.clone(),
        enabled: r.enabled,
        groups: r.groups.len() as u64,
        adds: r.adds,
        removes: r.removes,
    }
}

fn group_state(g: &GroupPlan) -> GroupState {
    GroupState {
        status: g.status,
        values: g.values.clone(),
        members_after: g.members_after,
        adds: g.adds,
        removes: g.removes,
        delete: g.delete,
    }
}

fn groups_by_key(plan: &Plan) -> BTreeMap<(RuleId, String), &GroupPlan> {
    plan.rules
        .iter()
        .flat_map(|r| {
            r.groups
                .iter()
                .map(move |g| ((r.rule.clone(), g.name.clone()), g))
        })
        .collect()
}

/// Compares the base plan with the PR's (head) plan. Pure and deterministic.
pub fn diff_plans(base: &Plan, head: &Plan) -> PlanDiff {
    let base_rules: BTreeMap<&str, &RulePlan> =
        base.rules.iter().map(|r| (r.rule.as_str(), r)).collect();
    let head_rules: BTreeMap<&str, &RulePlan> =
        head.rules.iter().map(|r| (r.rule.as_str(), r)).collect();

    let rules_added: Vec<RuleLine> = head_rules
        .iter()
        .filter(|(id, _)| !base_rules.contains_key(*id))
        .map(|(_, r)| rule_line(r))
        .collect();
    let rules_removed: Vec<RuleLine> = base_rules
        .iter()
        .filter(|(id, _)| !head_rules.contains_key(*id))
        .map(|(_, r)| rule_line(r))
        .collect();
    let rules_changed: Vec<RuleChange> = head_rules
        .iter()
        .filter_map(|(id, h)| {
            let b = base_rules.get(id)?;
            (b != h).then(|| RuleChange {
                rule: id.to_string(),
                before: rule_line(b),
                after: rule_line(h),
            })
        })
        .collect();

    let base_groups = groups_by_key(base);
    let head_groups = groups_by_key(head);
    let keys: BTreeSet<&(RuleId, String)> = base_groups.keys().chain(head_groups.keys()).collect();
    let mut groups = Vec::new();
    for key in keys {
        let before = base_groups.get(key).map(|g| group_state(g));
        let after = head_groups.get(key).map(|g| group_state(g));
        let kind = match (&before, &after) {
            (None, Some(_)) => GroupChangeKind::Appears,
            (Some(_), None) => GroupChangeKind::Disappears,
            (Some(b), Some(a)) if b != a => GroupChangeKind::Changed,
            _ => continue,
        };
        groups.push(GroupChange {
            rule: key.0.clone(),
            name: key.1.clone(),
            kind,
            before,
            after,
        });
    }
    groups.sort_by(|a, b| (a.kind, &a.rule, &a.name).cmp(&(b.kind, &b.rule, &b.name)));

    let base_stopped: BTreeSet<&str> = base.stop_managing.iter().map(|g| g.id.as_str()).collect();
    let stop_managing: Vec<StopManagingLine> = head
        .stop_managing
        .iter()
        .filter(|g| !base_stopped.contains(g.id.as_str()))
        .map(|g| StopManagingLine {
            rule: g.rule.clone(),
            id: g.id.clone(),
            name: g.name.clone(),
        })
        .collect();

    let appearing = |status: GroupStatus| {
        groups
            .iter()
            .filter(|g| {
                g.kind == GroupChangeKind::Appears
                    && g.after.as_ref().is_some_and(|a| a.status == status)
            })
            .count() as u64
    };
    let counts = DiffCounts {
        rules_added: rules_added.len() as u64,
        rules_removed: rules_removed.len() as u64,
        rules_changed: rules_changed.len() as u64,
        groups_new: appearing(GroupStatus::New),
        groups_adopt: appearing(GroupStatus::Adopt),
        groups_skip: appearing(GroupStatus::Skip),
        groups_managed: appearing(GroupStatus::Managed),
        groups_disappear: groups
            .iter()
            .filter(|g| g.kind == GroupChangeKind::Disappears)
            .count() as u64,
        groups_changed: groups
            .iter()
            .filter(|g| g.kind == GroupChangeKind::Changed)
            .count() as u64,
        stop_managing: stop_managing.len() as u64,
        adds_base: base.summary.adds,
        adds_head: head.summary.adds,
        removes_base: base.summary.removes,
        removes_head: head.summary.removes,
        licensed_users_base: base.summary.licensed_users_after,
        licensed_users_head: head.summary.licensed_users_after,
    };

    PlanDiff {
        base_commit: base.config_commit.clone(),
        head_commit: head.config_commit.clone(),
        rules_added,
        rules_removed,
        rules_changed,
        groups,
        stop_managing,
        counts,
        group_list_diff: group_list_diff(base, head),
    }
}

fn status_word(s: GroupStatus) -> &'static str {
    match s {
        GroupStatus::New => "new",
        GroupStatus::Adopt => "adopt",
        GroupStatus::Skip => "skip",
        GroupStatus::Managed => "managed",
    }
}

/// One line per group: `name [status] N members (rule)`, hidden characters made visible so a value can
/// neither add lines nor reorder text. Sorted by rule then name.
pub fn group_list(plan: &Plan) -> String {
    let mut lines: Vec<(String, String, String)> = Vec::new();
    for r in &plan.rules {
        for g in &r.groups {
            let line = format!(
                "{} [{}{}] {} members ({})",
                escape::visible(&g.name, 300),
                status_word(g.status),
                if g.delete { ", delete" } else { "" },
                g.members_after,
                escape::visible(&r.rule, 300),
            );
            lines.push((r.rule.clone(), g.name.clone(), line));
        }
    }
    for g in &plan.stop_managing {
        let line = format!(
            "{} [stop managing] ({})",
            escape::visible(&g.name, 300),
            escape::visible(&g.rule, 300)
        );
        lines.push((g.rule.clone(), g.name.clone(), line));
    }
    lines.sort();
    let mut out = String::new();
    for (_, _, line) in lines {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn group_list_diff(base: &Plan, head: &Plan) -> String {
    let (old, new) = (group_list(base), group_list(head));
    if old == new {
        return String::new();
    }
    similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header("base", "pull request")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model::{ManagedGroup, PLAN_FORMAT_VERSION, Summary};

    pub(crate) fn group(name: &str, status: GroupStatus, members: u64, adds: u64) -> GroupPlan {
        GroupPlan {
            name: name.into(),
            values: vec![name.rsplit('_').next().unwrap_or(name).into()],
            status,
            skip_reason: None,
            okta_id: None,
            desired_members: members,
            current_members: members - adds,
            members_after: members,
            adds,
            removes: 0,
            delete: false,
        }
    }

    pub(crate) fn rule(attr: &str, groups: Vec<GroupPlan>) -> RulePlan {
        RulePlan {
            rule: format!("profile.{attr}:{attr}"),
            attribute: attr.into(),
            prefix: attr.into(),
            enabled: true,
            adds: groups.iter().map(|g| g.adds).sum(),
            removes: 0,
            groups,
            rejected_values: vec![],
            users_without_value: 0,
        }
    }

    pub(crate) fn plan(rules: Vec<RulePlan>, stop: Vec<ManagedGroup>) -> Plan {
        let adds = rules.iter().map(|r| r.adds).sum();
        Plan {
            format_version: PLAN_FORMAT_VERSION,
            config_commit: None,
            config_fingerprint: "c".into(),
            okta_fingerprint: "o".into(),
            rules,
            stop_managing: stop,
            actions: vec![],
            warnings: vec![],
            summary: Summary {
                adds,
                ..Summary::default()
            },
            user_groups_after: Default::default(),
        }
    }

    #[test]
    fn identical_plans_have_no_diff() {
        let p = plan(
            vec![rule(
                "department",
                vec![group("department_eng", GroupStatus::Managed, 3, 0)],
            )],
            vec![],
        );
        let d = diff_plans(&p, &p);
        assert!(d.is_empty());
        assert_eq!(d.group_list_diff, "");
        assert_eq!(
            d.counts.rules_added
                + d.counts.rules_changed
                + d.counts.groups_new
                + d.counts.groups_changed,
            0
        );
    }

    #[test]
    fn added_rule_and_its_groups_appear() {
        let base = plan(
            vec![rule(
                "department",
                vec![group("department_eng", GroupStatus::Managed, 3, 0)],
            )],
            vec![],
        );
        let head = plan(
            vec![
                rule(
                    "department",
                    vec![group("department_eng", GroupStatus::Managed, 3, 0)],
                ),
                rule(
                    "city",
                    vec![
                        group("city_lisbon", GroupStatus::New, 2, 2),
                        group("city_porto", GroupStatus::Adopt, 4, 1),
                        group("city_x", GroupStatus::Skip, 1, 0),
                    ],
                ),
            ],
            vec![],
        );
        let d = diff_plans(&base, &head);
        assert_eq!(d.rules_added.len(), 1);
        assert_eq!(d.rules_added[0].rule, "profile.city:city");
        assert_eq!(d.rules_added[0].groups, 3);
        assert!(d.rules_removed.is_empty() && d.rules_changed.is_empty());
        assert_eq!(
            (
                d.counts.groups_new,
                d.counts.groups_adopt,
                d.counts.groups_skip
            ),
            (1, 1, 1)
        );
        assert_eq!((d.counts.adds_base, d.counts.adds_head), (0, 3));
        assert!(
            d.groups
                .iter()
                .all(|g| g.kind == GroupChangeKind::Appears && g.before.is_none())
        );
        assert!(
            d.group_list_diff
                .contains("+city_lisbon [new] 2 members (profile.city:city)"),
            "{}",
            d.group_list_diff
        );
        assert!(
            d.group_list_diff
                .contains(" department_eng [managed] 3 members")
        );
        assert!(
            d.group_list_diff
                .starts_with("--- base\n+++ pull request\n")
        );
    }

    #[test]
    fn removed_rule_stops_managing_its_groups() {
        let managed = ManagedGroup {
            id: "00g1".into(),
            name: "city_lisbon".into(),
            rule: "profile.city:city".into(),
            values: vec!["Lisbon".into()],
            adopted: false,
            created_by_us: true,
        };
        let base = plan(
            vec![rule(
                "city",
                vec![group("city_lisbon", GroupStatus::Managed, 2, 0)],
            )],
            vec![],
        );
        let head = plan(vec![], vec![managed]);
        let d = diff_plans(&base, &head);
        assert_eq!(d.rules_removed.len(), 1);
        assert_eq!(d.counts.groups_disappear, 1);
        assert_eq!(d.stop_managing.len(), 1);
        assert_eq!(d.stop_managing[0].name, "city_lisbon");
        assert!(d.group_list_diff.contains("-city_lisbon [managed]"));
        assert!(d.group_list_diff.contains("+city_lisbon [stop managing]"));
        // a stop-managing the base already had is not the PR's doing
        let d2 = diff_plans(&head, &head);
        assert!(d2.stop_managing.is_empty() && d2.is_empty());
    }

    #[test]
    fn changed_rule_and_group_outcome() {
        let base = plan(
            vec![rule(
                "department",
                vec![group("department_eng", GroupStatus::Managed, 3, 0)],
            )],
            vec![],
        );
        let mut g = group("department_eng", GroupStatus::Managed, 5, 2);
        g.values.push("Eng".into());
        let head = plan(
            vec![rule(
                "department",
                vec![g, group("department_ops", GroupStatus::New, 1, 1)],
            )],
            vec![],
        );
        let d = diff_plans(&base, &head);
        assert_eq!(d.rules_changed.len(), 1);
        assert_eq!(d.rules_changed[0].before.groups, 1);
        assert_eq!(d.rules_changed[0].after.groups, 2);
        assert_eq!(d.counts.groups_changed, 1);
        let changed = d
            .groups
            .iter()
            .find(|g| g.kind == GroupChangeKind::Changed)
            .unwrap();
        assert_eq!(changed.before.as_ref().unwrap().members_after, 3);
        assert_eq!(changed.after.as_ref().unwrap().members_after, 5);
        // appearing groups sort before changed ones
        assert_eq!(d.groups[0].kind, GroupChangeKind::Appears);
    }

    #[test]
    fn group_list_lines_cannot_be_split_by_values() {
        let p = plan(
            vec![rule(
                "x",
                vec![group("x_a\nb\u{202E}", GroupStatus::New, 1, 1)],
            )],
            vec![],
        );
        let list = group_list(&p);
        assert_eq!(list.lines().count(), 1);
        assert!(list.contains("x_a\\u{000A}b\\u{202E}"));
    }
}
