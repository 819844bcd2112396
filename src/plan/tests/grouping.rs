//! Planner tests of the grouped membership actions: one `AddMembers` / `RemoveMembers` per (group, reason),
//! users sorted by id, in plan order, and steps that are exactly the per-user writes the summary counts.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::super::model::*;
use super::super::plan;
use super::{RULE, active, config, group, managed, policies, scenario, set, state, user};
use crate::config::model::*;
use crate::okta::model::UserStatus;

/// (kind, group, reason, users) of every membership action, in plan order.
fn grouped(p: &Plan) -> Vec<(&'static str, String, Reason, Vec<String>)> {
    p.actions
        .iter()
        .filter_map(|a| match a {
            Action::AddMembers {
                group,
                reason,
                users,
                ..
            } => Some(("add", group.name().to_string(), *reason, ids(users))),
            Action::RemoveMembers {
                group,
                reason,
                users,
                ..
            } => Some(("remove", group.name().to_string(), *reason, ids(users))),
            _ => None,
        })
        .collect()
}

fn ids(users: &IdList) -> Vec<String> {
    users.iter().map(str::to_string).collect()
}

/// Checks what every plan's membership actions must satisfy: adds before removes, one action per
/// (kind, group, reason), users non-empty, sorted and distinct; steps that are one write per user and add up
/// to the summary's and each group's counts.
fn check_grouping(p: &Plan) {
    let kinds: Vec<usize> = p
        .actions
        .iter()
        .map(|a| match a {
            Action::CreateGroup { .. } => 0,
            Action::AdoptGroup { .. } => 1,
            Action::AddMembers { .. } => 2,
            Action::RemoveMembers { .. } => 3,
            Action::DeleteGroup { .. } => 4,
            Action::StopManaging { .. } => 5,
        })
        .collect();
    assert!(kinds.is_sorted(), "apply order: {:?}", p.actions);
    let mut seen = BTreeSet::new();
    for (kind, group, reason, users) in grouped(p) {
        assert!(
            seen.insert((kind, group.clone(), reason)),
            "{kind} {group} {reason:?} twice"
        );
        assert!(!users.is_empty(), "{kind} {group} {reason:?} without users");
        assert!(
            users.is_sorted_by(|a, b| a < b),
            "{kind} {group}: {users:?}"
        );
    }
    let (mut adds, mut removes) = (0u64, 0u64);
    let mut per_group: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for a in &p.actions {
        assert_eq!(a.steps().count() as u64, a.step_count());
        for s in a.steps() {
            match &s {
                Step::AddMember { group, .. } => {
                    adds += 1;
                    per_group.entry(group.name().to_string()).or_default().0 += 1;
                }
                Step::RemoveMember { group, .. } => {
                    removes += 1;
                    per_group.entry(group.name().to_string()).or_default().1 += 1;
                }
                _ => {}
            }
        }
    }
    assert_eq!((adds, removes), (p.summary.adds, p.summary.removes));
    let writes: u64 = p.actions.iter().map(Action::writes).sum();
    assert_eq!(
        writes,
        adds + removes + p.summary.groups_new + p.summary.groups_delete
    );
    for g in p.rules.iter().flat_map(|r| &r.groups) {
        let (a, r) = per_group.get(&g.name).copied().unwrap_or_default();
        assert_eq!((a, r), (g.adds, g.removes), "{}", g.name);
    }
}

#[test]
fn the_scenario_groups_per_group_and_reason_under_every_policy() {
    for policy in [
        MembershipPolicy::Enforce,
        MembershipPolicy::RespectManualPartial,
        MembershipPolicy::RespectManualFull,
    ] {
        check_grouping(&scenario(policy));
    }
    let p = scenario(MembershipPolicy::Enforce);
    let sales = "department_sales".to_string();
    assert_eq!(
        grouped(&p),
        [
            (
                "add",
                sales.clone(),
                Reason::Matches,
                vec!["u5".to_string()]
            ),
            (
                "add",
                sales.clone(),
                Reason::NewlyMatches,
                vec!["u4".to_string()]
            ),
            (
                "add",
                sales.clone(),
                Reason::ManualRemovalUndone,
                vec!["u1".to_string()]
            ),
            (
                "remove",
                "department_eng".to_string(),
                Reason::ValueChanged,
                vec!["u4".to_string()]
            ),
            (
                "remove",
                sales.clone(),
                Reason::NoLongerActive,
                vec!["u3".to_string()]
            ),
            ("remove", sales, Reason::NotMatching, vec!["u9".to_string()]),
        ]
    );
}

/// A first sync of two rules, users given in no particular order: one `AddMembers` per group (all for
/// `matches`), groups in plan order, users sorted; the plan's JSON reads back the same.
#[test]
fn a_first_sync_adds_each_group_in_one_action_with_sorted_users() {
    let depts = ["Sales", "Eng", "Ops"];
    let cities = ["Berlin", "Paris"];
    let mut users: Vec<OrgUser> = (0..60)
        .map(|i| {
            let mut u = active(&format!("00u{:03}", (i * 37) % 60), depts[i % 3]);
            u.attributes.insert("city".into(), json!(cities[i % 2]));
            u
        })
        .collect();
    users.push(user("00u999", UserStatus::Suspended, Some(json!("Sales"))));
    let org = OrgView {
        users: users.into(),
        ..OrgView::default()
    };
    let c = config(
        policies(MembershipPolicy::Enforce),
        &[("department", "department"), ("city", "city")],
    );
    let p = plan(&c, &org, &Remembered::default());
    check_grouping(&p);
    let g = grouped(&p);
    let names: Vec<&str> = g.iter().map(|(_, name, ..)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "city_berlin",
            "city_paris",
            "department_eng",
            "department_ops",
            "department_sales"
        ]
    );
    assert!(
        g.iter()
            .all(|(kind, _, reason, _)| *kind == "add" && *reason == Reason::Matches)
    );
    assert_eq!(
        p.summary.adds, 120,
        "every active user in one group per rule"
    );
    assert_eq!(g[0].3.len(), 30);
    assert!(
        !g[4].3.contains(&"00u999".to_string()),
        "suspended users are not added"
    );
    let back: Plan = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(back, p);
}

/// Members Okta lists but does not return as users are removed with the deactivated ones: one
/// `no_longer_active` list, merged into id order.
#[test]
fn unknown_and_deactivated_members_are_removed_in_one_sorted_list() {
    let org = OrgView {
        users: vec![
            active("u1", "Sales"),
            user("u5", UserStatus::Deprovisioned, Some(json!("Sales"))),
            active("u7", "Eng"),
        ]
        .into(),
        groups: vec![group("g1", "department_sales")],
        members: BTreeMap::from([(
            "g1".to_string(),
            set(&["u0-gone", "u1", "u5", "u7", "u9-gone"])
                .iter()
                .collect::<IdList>(),
        )]),
    };
    let remembered = Remembered {
        groups: BTreeMap::from([("g1".to_string(), managed("g1", "department_sales", true))]),
        user_groups: BTreeMap::from([(
            RULE.to_string(),
            state(BTreeMap::from([(
                "u7".to_string(),
                set(&["department_sales"]),
            )])),
        )]),
        added_by_us: BTreeMap::new(),
    };
    let p = plan(
        &config(
            policies(MembershipPolicy::RespectManualFull),
            &[("department", "department")],
        ),
        &org,
        &remembered,
    );
    check_grouping(&p);
    let removes: Vec<_> = grouped(&p)
        .into_iter()
        .filter(|(kind, ..)| *kind == "remove")
        .collect();
    assert_eq!(
        removes,
        [
            (
                "remove",
                "department_sales".to_string(),
                Reason::ValueChanged,
                vec!["u7".to_string()]
            ),
            (
                "remove",
                "department_sales".to_string(),
                Reason::NoLongerActive,
                vec![
                    "u0-gone".to_string(),
                    "u5".to_string(),
                    "u9-gone".to_string()
                ]
            ),
        ]
    );
}
