//! Unit tests of the failsafe limits.

use std::collections::BTreeMap;

use super::*;
use crate::plan::model::{GroupPlan, GroupRef, PLAN_FORMAT_VERSION, Reason, RulePlan, Summary};

const RULE: &str = "profile.department:department";

fn group(name: &str, members: u64) -> GroupPlan {
    GroupPlan {
        name: name.into(),
        values: vec![name.into()],
        status: GroupStatus::Managed,
        skip_reason: None,
        okta_id: Some(format!("id_{name}")),
        desired_members: members,
        current_members: members,
        members_after: members,
        adds: 0,
        removes: 0,
        delete: false,
    }
}

/// `n` removals from group `name`, split over two actions (two reasons), as the planner groups them.
fn removes(name: &str, n: u64) -> Vec<Action> {
    let half = n / 2;
    [
        (Reason::ValueChanged, 0..half),
        (Reason::NotMatching, half..n),
    ]
    .into_iter()
    .map(|(reason, users)| Action::RemoveMembers {
        rule: RULE.into(),
        group: GroupRef::Existing {
            id: format!("id_{name}"),
            name: name.into(),
        },
        reason,
        users: users.map(|i| format!("00u{i:04}")).collect(),
    })
    .collect()
}

fn plan(groups: Vec<GroupPlan>, actions: Vec<Action>) -> Plan {
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        config_commit: None,
        config_fingerprint: String::new(),
        okta_fingerprint: String::new(),
        rules: vec![RulePlan {
            rule: RULE.into(),
            attribute: "department".into(),
            prefix: "department".into(),
            enabled: true,
            groups,
            rejected_values: vec![],
            users_without_value: 0,
            adds: 0,
            removes: 0,
        }],
        stop_managing: vec![],
        actions,
        warnings: vec![],
        summary: Summary::default(),
        user_groups_after: BTreeMap::new(),
    }
}

#[test]
fn a_large_group_losing_too_many_members_is_blocked() {
    let limits = SafetyLimits::default();
    let mut groups = vec![group("big", 1000)];
    groups.extend((0..20).map(|i| group(&format!("other{i}"), 1000)));
    let p = plan(groups, removes("big", 301));
    let report = check(&p, &limits);
    assert_eq!(report.names(), ["big".to_string()].into());
    assert!(matches!(
        report.blocked[0].reason,
        BlockReason::GroupRemovals { removes: 301, .. }
    ));
    assert!(report.blocked[0].reason.to_string().contains("30.1 %"));
    // At the limit is allowed; a small group may lose everyone.
    let mut groups = vec![group("big", 1000), group("small", 10)];
    groups.extend((0..20).map(|i| group(&format!("other{i}"), 1000)));
    let mut actions = removes("big", 300);
    actions.extend(removes("small", 10));
    assert!(!check(&plan(groups, actions), &limits).is_stop());
}

#[test]
fn too_many_removals_in_total_block_every_group_losing_members() {
    let limits = SafetyLimits::default();
    let groups = vec![group("a", 100), group("b", 100)];
    // Below min_group_size memberships in total, the total limit does not apply.
    let small = vec![group("a", 5), group("b", 5)];
    assert!(!check(&plan(small, removes("a", 3)), &limits).is_stop());
    let mut actions = removes("a", 25);
    actions.extend(removes("b", 20));
    // A group with an empty removal list loses no one: it is not held back.
    actions.extend(removes("c", 0));
    let report = check(&plan(groups, actions), &limits);
    assert_eq!(report.names(), ["a".to_string(), "b".to_string()].into());
    assert!(matches!(
        report.blocked[0].reason,
        BlockReason::TotalRemovals {
            removes: 45,
            memberships: 200,
            ..
        }
    ));
}

#[test]
fn too_many_deletes_block_the_deletes() {
    let limits = SafetyLimits {
        max_group_deletes: 1,
        ..SafetyLimits::default()
    };
    let actions = (0..2)
        .map(|i| Action::DeleteGroup {
            rule: RULE.into(),
            id: format!("g{i}"),
            name: format!("empty{i}"),
        })
        .collect();
    let report = check(&plan(vec![], actions), &limits);
    assert_eq!(report.blocked.len(), 2);
    assert!(matches!(
        report.blocked[0].reason,
        BlockReason::TooManyDeletes {
            deletes: 2,
            limit: 1
        }
    ));
    let one = vec![Action::DeleteGroup {
        rule: RULE.into(),
        id: "g".into(),
        name: "empty".into(),
    }];
    assert!(!check(&plan(vec![], one), &limits).is_stop());
}
