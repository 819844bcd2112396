//! Planner unit tests: a table per membership policy (new user, value change, manual add, manual removal,
//! deactivated user, adopted group with extra members, removed rule), collisions, empty groups, statuses.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::model::*;
use super::plan;
use crate::config::model::*;
use crate::okta::model::{GroupType, UserStatus};

mod grouping;

pub(crate) fn config(policies: Policies, rules: &[(&str, &str)]) -> Config {
    Config {
        instance: Instance {
            name: "test".into(),
            enabled: true,
            okta_domain: "example.okta.com".into(),
            credential: Credential::default(),
            policies,
            safety: SafetyLimits::default(),
            budget: Budget::default(),
            full_sync_every_hours: 24,
            history_days: 365,
        },
        rules: rules
            .iter()
            .map(|(attribute, prefix)| Rule {
                attribute: attribute.to_string(),
                prefix: prefix.to_string(),
                description: Some("People in {value}".into()),
                aliases: BTreeMap::new(),
                enabled: true,
                origin: Origin::default(),
            })
            .collect(),
        commit: Some("abc123".into()),
    }
}

fn policies(membership: MembershipPolicy) -> Policies {
    Policies {
        membership,
        ..Policies::default()
    }
}

pub(crate) fn user(id: &str, status: UserStatus, dept: Option<Value>) -> OrgUser {
    OrgUser {
        id: id.into(),
        status,
        attributes: dept
            .map(|v| BTreeMap::from([("department".to_string(), v)]))
            .unwrap_or_default(),
    }
}

fn active(id: &str, dept: &str) -> OrgUser {
    user(id, UserStatus::Active, Some(json!(dept)))
}

fn group(id: &str, name: &str) -> OrgGroup {
    OrgGroup {
        id: id.into(),
        name: name.into(),
        group_type: GroupType::OktaGroup,
        description: None,
    }
}

const RULE: &str = "profile.department:department";

fn managed(id: &str, name: &str, created: bool) -> ManagedGroup {
    ManagedGroup {
        id: id.into(),
        name: name.into(),
        rule: RULE.into(),
        values: vec![],
        adopted: !created,
        created_by_us: created,
    }
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn ids(ids: &[&str]) -> IdList {
    set(ids).iter().collect()
}

/// A rule's recorded state from per-user entries (the store's shape).
fn state(users: BTreeMap<String, BTreeSet<String>>) -> RuleState {
    crate::plan::state::from_users(
        users
            .iter()
            .map(|(u, names)| (u.as_str(), names.iter().map(String::as_str))),
    )
}

/// A rule's state per user, for comparing with per-user expectations.
fn per_user(state: &RuleState) -> BTreeMap<String, BTreeSet<String>> {
    crate::plan::state::by_user(state)
        .into_iter()
        .map(|(u, names)| (u.to_string(), names.iter().map(|n| n.to_string()).collect()))
        .collect()
}

/// Adds and removes of a plan, one per user, as `+group:user:reason` / `-group:user:reason`.
fn changes(p: &Plan) -> Vec<String> {
    let r = |r: &Reason| {
        serde_json::to_value(r)
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    };
    p.actions
        .iter()
        .flat_map(Action::steps)
        .filter_map(|a| match a {
            Step::AddMember {
                group,
                user,
                reason,
                ..
            } => Some(format!("+{}:{user}:{}", group.name(), r(&reason))),
            Step::RemoveMember {
                group,
                user,
                reason,
                ..
            } => Some(format!("-{}:{user}:{}", group.name(), r(&reason))),
            _ => None,
        })
        .collect()
}

/// The shared scenario: after a sync where u1, u2, u3 (Sales) and u4 (Eng) were placed:
/// - u5 is a new Sales user; u4 moved Eng -> Sales; u1 was removed from Sales by hand;
/// - u9 (Eng) was added to Sales by hand; u3 was deactivated; u6 (Sales) is suspended and a member.
fn scenario(policy: MembershipPolicy) -> Plan {
    let org = OrgView {
        users: vec![
            active("u1", "Sales"),
            active("u2", "Sales"),
            user("u3", UserStatus::Deprovisioned, Some(json!("Sales"))),
            active("u4", "Sales"),
            active("u5", "Sales"),
            user("u6", UserStatus::Suspended, Some(json!("Sales"))),
            active("u9", "Eng"),
        ]
        .into(),
        groups: vec![
            group("g1", "department_sales"),
            group("g2", "department_eng"),
        ],
        members: BTreeMap::from([
            ("g1".to_string(), ids(&["u2", "u3", "u6", "u9"])),
            ("g2".to_string(), ids(&["u4", "u9"])),
        ]),
    };
    let sales = set(&["department_sales"]);
    let eng = set(&["department_eng"]);
    let remembered = Remembered {
        groups: BTreeMap::from([
            ("g1".to_string(), managed("g1", "department_sales", true)),
            ("g2".to_string(), managed("g2", "department_eng", true)),
        ]),
        user_groups: BTreeMap::from([(
            RULE.to_string(),
            state(BTreeMap::from([
                ("u1".to_string(), sales.clone()),
                ("u2".to_string(), sales.clone()),
                ("u3".to_string(), sales.clone()),
                ("u4".to_string(), eng.clone()),
                ("u6".to_string(), sales.clone()),
                ("u9".to_string(), eng.clone()),
            ])),
        )]),
        added_by_us: BTreeMap::new(),
    };
    plan(
        &config(policies(policy), &[("department", "department")]),
        &org,
        &remembered,
    )
}

// The tables list changes in plan order: per group, adds by reason (in `Reason` order), users by id.
#[test]
fn enforce_table() {
    assert_eq!(
        changes(&scenario(MembershipPolicy::Enforce)),
        [
            "+department_sales:u5:matches",
            "+department_sales:u4:newly_matches",
            "+department_sales:u1:manual_removal_undone",
            "-department_eng:u4:value_changed",
            "-department_sales:u3:no_longer_active",
            "-department_sales:u9:not_matching",
        ]
    );
}

#[test]
fn respect_manual_partial_table() {
    assert_eq!(
        changes(&scenario(MembershipPolicy::RespectManualPartial)),
        [
            "+department_sales:u5:matches",
            "+department_sales:u4:newly_matches",
            "+department_sales:u1:manual_removal_undone",
            "-department_eng:u4:value_changed",
            "-department_sales:u3:no_longer_active",
        ]
    );
}

#[test]
fn respect_manual_full_table() {
    assert_eq!(
        changes(&scenario(MembershipPolicy::RespectManualFull)),
        [
            "+department_sales:u5:matches",
            "+department_sales:u4:newly_matches",
            "-department_eng:u4:value_changed",
            "-department_sales:u3:no_longer_active",
        ]
    );
}

#[test]
fn user_state_of_a_changed_rule_is_written_in_full() {
    let p = scenario(MembershipPolicy::Enforce);
    let after = per_user(&p.user_groups_after[RULE]);
    // u1, u2 unchanged; u3 (gone) forgotten (in no list); u4 moved; u5 new; u6 (suspended) kept; u9
    // unchanged: the rule changed, so its whole state is listed.
    assert_eq!(
        after,
        BTreeMap::from([
            ("u1".to_string(), set(&["department_sales"])),
            ("u2".to_string(), set(&["department_sales"])),
            ("u4".to_string(), set(&["department_sales"])),
            ("u5".to_string(), set(&["department_sales"])),
            ("u6".to_string(), set(&["department_sales"])),
            ("u9".to_string(), set(&["department_eng"])),
        ])
    );
    assert_eq!(
        p.summary.licensed_users_after, 5,
        "u1 u2 u4 u5 u9 (u6 is suspended, u3 gone)"
    );
}

#[test]
fn adopted_group_with_extra_members_per_policy() {
    let org = OrgView {
        users: vec![active("u1", "Sales"), active("u2", "Eng")].into(),
        groups: vec![group("g1", "department_sales")],
        members: BTreeMap::from([("g1".to_string(), ids(&["u2"]))]),
    };
    for (policy, expect) in [
        (
            MembershipPolicy::Enforce,
            vec![
                "+department_eng:u2:matches",
                "+department_sales:u1:matches",
                "-department_sales:u2:not_matching",
            ],
        ),
        (
            MembershipPolicy::RespectManualPartial,
            vec!["+department_eng:u2:matches", "+department_sales:u1:matches"],
        ),
        (
            MembershipPolicy::RespectManualFull,
            vec!["+department_eng:u2:matches", "+department_sales:u1:matches"],
        ),
    ] {
        let mut pol = policies(policy);
        pol.collision = CollisionPolicy::Adopt;
        let p = plan(
            &config(pol, &[("department", "department")]),
            &org,
            &Remembered::default(),
        );
        let sales = p.rules[0]
            .groups
            .iter()
            .find(|g| g.name == "department_sales")
            .unwrap();
        assert_eq!(sales.status, GroupStatus::Adopt, "{policy:?}");
        assert!(
            matches!(&p.actions[1], Action::AdoptGroup { id, .. } if id == "g1"),
            "{:?}",
            p.actions
        );
        assert_eq!(changes(&p), expect, "{policy:?}");
        assert_eq!(
            sales.removes,
            expect.len() as u64 - 2,
            "assess says how many existing members go"
        );
    }
}

#[test]
fn removed_rule_stops_managing_and_never_deletes() {
    for policy in [
        MembershipPolicy::Enforce,
        MembershipPolicy::RespectManualFull,
        MembershipPolicy::RespectManualPartial,
    ] {
        let org = OrgView {
            users: vec![active("u1", "Sales")].into(),
            groups: vec![group("g1", "department_sales")],
            members: BTreeMap::from([("g1".to_string(), ids(&["u1"]))]),
        };
        let remembered = Remembered {
            groups: BTreeMap::from([("g1".to_string(), managed("g1", "department_sales", true))]),
            user_groups: BTreeMap::from([(
                RULE.to_string(),
                state(BTreeMap::from([(
                    "u1".to_string(),
                    set(&["department_sales"]),
                )])),
            )]),
            added_by_us: BTreeMap::from([("g1".to_string(), ids(&["u1"]))]),
        };
        let mut pol = policies(policy);
        pol.empty_groups = EmptyGroups::Delete;
        let p = plan(&config(pol, &[("city", "city")]), &org, &remembered);
        assert_eq!(
            p.actions,
            [Action::StopManaging {
                rule: RULE.into(),
                id: "g1".into(),
                name: "department_sales".into()
            }]
        );
        assert_eq!(p.stop_managing.len(), 1);
        assert_eq!(p.summary.groups_stop_managing, 1);
        assert_eq!(
            p.summary.licensed_users_after, 0,
            "groups of a removed rule no longer count"
        );
        assert!(p.user_groups_after.is_empty());
    }
}

#[test]
fn collisions_skip_adopt_and_never_adopt_app_or_ambiguous() {
    let org = OrgView {
        users: vec![
            active("u1", "Sales"),
            active("u2", "Ops"),
            active("u3", "HR"),
            active("u4", "IT"),
        ]
        .into(),
        groups: vec![
            group("g1", "department_sales"),
            OrgGroup {
                group_type: GroupType::AppGroup,
                ..group("g2", "department_ops")
            },
            group("g3", "department_hr"),
            OrgGroup {
                group_type: GroupType::AppGroup,
                ..group("g4", "Department_HR")
            },
        ],
        members: BTreeMap::new(),
    };
    for collision in [CollisionPolicy::Skip, CollisionPolicy::Adopt] {
        let pol = Policies {
            collision,
            ..Policies::default()
        };
        let p = plan(
            &config(pol, &[("department", "department")]),
            &org,
            &Remembered::default(),
        );
        let by: BTreeMap<&str, &GroupPlan> = p.rules[0]
            .groups
            .iter()
            .map(|g| (g.name.as_str(), g))
            .collect();
        assert_eq!(by["department_it"].status, GroupStatus::New);
        assert_eq!(by["department_ops"].status, GroupStatus::Skip);
        assert!(matches!(
            by["department_ops"].skip_reason,
            Some(SkipReason::NotModifiable { .. })
        ));
        assert!(
            matches!(&by["department_hr"].skip_reason, Some(SkipReason::Ambiguous { group_ids }) if group_ids.len() == 2)
        );
        let sales = by["department_sales"];
        if collision == CollisionPolicy::Adopt {
            assert_eq!(sales.status, GroupStatus::Adopt);
        } else {
            assert!(matches!(
                sales.skip_reason,
                Some(SkipReason::CollisionPolicySkip { .. })
            ));
        }
        // skipped groups get no membership changes
        assert!(
            changes(&p)
                .iter()
                .all(|c| !c.contains("_ops") && !c.contains("_hr"))
        );
    }
}

#[test]
fn empty_groups_delete_only_what_we_created() {
    let org = OrgView {
        users: vec![active("u1", "Eng")].into(),
        groups: vec![
            group("g1", "department_sales"),
            group("g2", "department_ops"),
        ],
        members: BTreeMap::from([("g1".to_string(), ids(&["u1"]))]),
    };
    let remembered = Remembered {
        groups: BTreeMap::from([
            ("g1".to_string(), managed("g1", "department_sales", true)),
            ("g2".to_string(), managed("g2", "department_ops", false)),
        ]),
        user_groups: BTreeMap::from([(
            RULE.to_string(),
            state(BTreeMap::from([(
                "u1".to_string(),
                set(&["department_sales"]),
            )])),
        )]),
        added_by_us: BTreeMap::new(),
    };
    for (empty, deletes) in [(EmptyGroups::Delete, 1), (EmptyGroups::Keep, 0)] {
        let pol = Policies {
            empty_groups: empty,
            ..Policies::default()
        };
        let p = plan(
            &config(pol, &[("department", "department")]),
            &org,
            &remembered,
        );
        let dels: Vec<_> = p
            .actions
            .iter()
            .filter(|a| matches!(a, Action::DeleteGroup { .. }))
            .collect();
        assert_eq!(dels.len(), deletes, "{empty:?}: {:?}", p.actions);
        if deletes == 1 {
            assert!(
                matches!(dels[0], Action::DeleteGroup { id, .. } if id == "g1"),
                "the adopted g2 is never deleted"
            );
        }
    }
}

#[test]
fn merged_rejected_arrays_and_missing_values() {
    let org = OrgView {
        users: vec![
            user("u1", UserStatus::Active, Some(json!("R&D"))),
            user("u2", UserStatus::Active, Some(json!("R-D"))),
            user(
                "u3",
                UserStatus::Active,
                Some(json!(["Rust", "go", "rust"])),
            ),
            user("u4", UserStatus::Active, Some(json!("!!!"))),
            user("u5", UserStatus::Active, None),
            user("u6", UserStatus::Active, Some(json!(null))),
            user("u7", UserStatus::Active, Some(json!(""))),
            user("u8", UserStatus::Active, Some(json!({"a": 1}))),
            user("u9", UserStatus::Staged, Some(json!("Staged"))),
        ]
        .into(),
        ..OrgView::default()
    };
    let p = plan(
        &config(Policies::default(), &[("department", "d")]),
        &org,
        &Remembered::default(),
    );
    let r = &p.rules[0];
    let names: Vec<(&str, Vec<String>, u64)> = r
        .groups
        .iter()
        .map(|g| (g.name.as_str(), g.values.clone(), g.desired_members))
        .collect();
    assert_eq!(
        names,
        [
            ("d_go", vec!["go".to_string()], 1),
            ("d_r_d", vec!["R&D".to_string(), "R-D".to_string()], 2),
            ("d_rust", vec!["Rust".to_string(), "rust".to_string()], 1),
        ]
    );
    assert_eq!(r.users_without_value, 3);
    assert_eq!(r.rejected_values.len(), 2);
    assert!(
        r.rejected_values
            .iter()
            .any(|v| v.value == "!!!" && v.reason == RejectReason::NormalizesToNothing)
    );
    assert!(
        r.rejected_values
            .iter()
            .any(|v| v.reason == RejectReason::UnsupportedType)
    );
}

#[test]
fn aliases_apply_before_normalization() {
    let mut c = config(Policies::default(), &[("department", "department")]);
    c.rules[0].aliases = BTreeMap::from([(
        "Engineering".to_string(),
        vec!["Eng".to_string(), "ENG".to_string()],
    )]);
    let org = OrgView {
        users: vec![
            active("u1", "Eng"),
            active("u2", "ENG"),
            active("u3", "Engineering"),
        ]
        .into(),
        ..OrgView::default()
    };
    let p = plan(&c, &org, &Remembered::default());
    assert_eq!(p.rules[0].groups.len(), 1);
    assert_eq!(p.rules[0].groups[0].name, "department_engineering");
    assert_eq!(p.rules[0].groups[0].values, ["ENG", "Eng", "Engineering"]);
    assert_eq!(p.rules[0].groups[0].desired_members, 3);
}

#[test]
fn disabled_rule_and_instance_are_planned_but_produce_no_actions() {
    let org = OrgView {
        users: vec![active("u1", "Sales")].into(),
        ..OrgView::default()
    };
    let mut c = config(Policies::default(), &[("department", "department")]);
    c.rules[0].enabled = false;
    let p = plan(&c, &org, &Remembered::default());
    assert!(p.actions.is_empty());
    assert_eq!(p.rules[0].groups[0].status, GroupStatus::New);
    assert_eq!(p.rules[0].adds, 1, "assess shows what the rule would do");
    assert!(!p.summary.has_changes());
    assert!(
        p.warnings
            .iter()
            .any(|w| matches!(w, Warning::Disabled { .. }))
    );

    let mut c = config(Policies::default(), &[("department", "department")]);
    c.instance.enabled = false;
    let p = plan(&c, &org, &Remembered::default());
    assert!(p.actions.is_empty() && p.user_groups_after.is_empty());
    assert!(
        p.warnings
            .iter()
            .any(|w| matches!(w, Warning::Disabled { what } if what.starts_with("instance")))
    );
}

#[test]
fn frozen_statuses_are_neither_added_nor_removed() {
    for status in [
        UserStatus::Suspended,
        UserStatus::LockedOut,
        UserStatus::PasswordExpired,
        UserStatus::Staged,
    ] {
        let org = OrgView {
            users: vec![
                user("u1", status, Some(json!("Eng"))),
                user("u2", status, Some(json!("Sales"))),
            ]
            .into(),
            groups: vec![group("g1", "department_sales")],
            members: BTreeMap::from([("g1".to_string(), ids(&["u1"]))]),
        };
        let remembered = Remembered {
            groups: BTreeMap::from([("g1".to_string(), managed("g1", "department_sales", true))]),
            ..Remembered::default()
        };
        let pol = policies(MembershipPolicy::Enforce);
        let p = plan(
            &config(pol, &[("department", "department")]),
            &org,
            &remembered,
        );
        assert!(changes(&p).is_empty(), "{status:?}: {:?}", p.actions);
    }
}

#[test]
fn downstream_warnings() {
    let org = OrgView {
        users: (0..30)
            .map(|i| active(&format!("u{i:02}"), &format!("Title number {i}")))
            .collect(),
        ..OrgView::default()
    };
    let c = config(
        Policies::default(),
        &[("department", "team-a"), ("department", "team_a")],
    );
    let p = plan(&c, &org, &Remembered::default());
    assert!(p.warnings.iter().any(|w| matches!(
        w,
        Warning::HighCardinality {
            groups: 30,
            small_groups: 30,
            ..
        }
    )));
    assert!(p.warnings.iter().any(
        |w| matches!(w, Warning::GithubSlugClash { slug, .. } if slug == "team-a-title-number-0")
    ));
    assert!(
        p.warnings
            .iter()
            .any(|w| matches!(w, Warning::SlackHandleTooLong { limit: 21, .. }))
    );
}

#[test]
fn fingerprints_track_inputs() {
    let org = OrgView {
        users: vec![active("u1", "Sales")].into(),
        ..OrgView::default()
    };
    let c = config(Policies::default(), &[("department", "department")]);
    let a = plan(&c, &org, &Remembered::default());
    let org2 = OrgView {
        users: vec![active("u1", "Eng")].into(),
        ..OrgView::default()
    };
    let b = plan(&c, &org2, &Remembered::default());
    assert_ne!(a.okta_fingerprint, b.okta_fingerprint);
    assert_eq!(a.config_fingerprint, b.config_fingerprint);
    let mut row = active("u1", "Sales");
    row.attributes.insert("unread".into(), json!("x"));
    let org3 = OrgView {
        users: vec![row].into(),
        ..OrgView::default()
    };
    assert_eq!(
        a.okta_fingerprint,
        plan(&c, &org3, &Remembered::default()).okta_fingerprint,
        "unread attributes do not matter"
    );
    let mut c2 = c.clone();
    c2.instance.policies.membership = MembershipPolicy::Enforce;
    assert_ne!(
        a.config_fingerprint,
        plan(&c2, &org, &Remembered::default()).config_fingerprint
    );
    assert!(a.okta_fingerprint.starts_with("sha256:"));
}

#[test]
fn a_user_listed_twice_counts_once_with_the_active_then_fuller_record() {
    let c = config(Policies::default(), &[("department", "department")]);
    let dup = OrgView {
        users: vec![
            active("u2", "Sales"),
            user("u1", UserStatus::Active, None),
            user("u2", UserStatus::Suspended, Some(json!("Eng"))),
            active("u1", "Eng"),
            active("u3", "Eng"),
        ]
        .into(),
        ..OrgView::default()
    };
    let clean = OrgView {
        users: vec![
            active("u1", "Eng"),
            active("u2", "Sales"),
            active("u3", "Eng"),
        ]
        .into(),
        ..OrgView::default()
    };
    let a = plan(&c, &dup, &Remembered::default());
    let b = plan(&c, &clean, &Remembered::default());
    assert_eq!(a.rules, b.rules);
    assert_eq!(a.actions, b.actions);
    assert_eq!(a.user_groups_after, b.user_groups_after);
    assert_eq!(a.summary.adds, 3);
}
