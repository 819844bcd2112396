//! The planner benchmark: a lean synthetic org (only the attributes rules read) of N users, five rules,
//! and one pure `plan::plan` call, timed, with the memory the planner itself added.

use std::collections::BTreeMap;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::Value;

use crate::config::model::{
    Budget, Config, Credential, Instance, Origin, Policies, Rule, SafetyLimits,
};
use crate::okta::model::{GroupType, UserStatus};
use crate::plan::model::{
    GroupStatus, IdList, ManagedGroup, OrgGroup, OrgView, Plan, Remembered, UserTable,
};

use super::memory;

#[derive(Debug, Clone, Serialize)]
pub struct PlannerFigures {
    pub users: usize,
    pub rules: usize,
    pub groups: u64,
    pub adds: u64,
    /// Actions in the plan (0 when nothing changed).
    pub changes: u64,
    pub plan_seconds: f64,
    /// Resident memory before planning (the generated org), bytes.
    pub rss_before: u64,
    /// Peak resident memory while planning, bytes (whole process, including the org).
    pub peak_rss: u64,
}

const DEPARTMENTS: &[&str] = &[
    "Engineering",
    "Sales",
    "Customer Success",
    "Marketing",
    "R&D",
    "Finance",
    "People",
    "Legal",
    "Operations",
    "Security",
    "Product",
    "Design",
    "Support",
    "IT",
    "Data",
];
const CITIES: &[&str] = &[
    "San Francisco",
    "New York",
    "London",
    "Zürich",
    "São Paulo",
    "Kraków",
    "Montréal",
    "Tokyo",
    "Berlin",
    "Bengaluru",
    "Sydney",
    "Paris",
    "Dublin",
    "Toronto",
    "Singapore",
    "Lisbon",
];
const SKILLS: &[&str] = &[
    "rust",
    "go",
    "python",
    "sql",
    "excel",
    "k8s",
    "terraform",
    "figma",
    "java",
    "react",
];
const EMPLOYEE_TYPES: &[&str] = &["Employee", "Contractor", "Intern", "Vendor"];

/// Index skewed towards the front (a few big departments, a long tail).
fn skewed(rng: &mut StdRng, n: usize) -> usize {
    let x: f64 = rng.random::<f64>();
    ((x * x * x) * n as f64) as usize % n
}

/// A lean org of `users` users with department, city, costCenter, skills (array) and userType.
pub fn lean_org(users: usize, seed: u64) -> OrgView {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut table = UserTable::new();
    for i in 0..users {
        let department = Value::from(DEPARTMENTS[skewed(&mut rng, DEPARTMENTS.len())]);
        let city = Value::from(CITIES[skewed(&mut rng, CITIES.len())]);
        let cost_center = Value::from(format!("CC-{:04}", skewed(&mut rng, 400)));
        let n_skills = rng.random_range(0..4);
        let skills: Vec<Value> = (0..n_skills)
            .map(|_| Value::from(SKILLS[rng.random_range(0..SKILLS.len())]))
            .collect();
        let user_type = Value::from(EMPLOYEE_TYPES[skewed(&mut rng, EMPLOYEE_TYPES.len())]);
        let status = if rng.random_range(0..100) < 5 {
            UserStatus::Suspended
        } else {
            UserStatus::Active
        };
        table.push(
            &format!("00u{i:017}"),
            status,
            [
                ("department", department),
                ("city", city),
                ("costCenter", cost_center),
                ("skills", Value::Array(skills)),
                ("userType", user_type),
            ],
        );
    }
    OrgView {
        users: table,
        groups: Vec::new(),
        members: BTreeMap::new(),
    }
}

/// Five rules over the lean org's attributes.
pub fn bench_config() -> Config {
    let rule = |attribute: &str, prefix: &str| Rule {
        attribute: attribute.to_string(),
        prefix: prefix.to_string(),
        description: Some("Members whose {value}".to_string()),
        aliases: BTreeMap::new(),
        enabled: true,
        origin: Origin::default(),
    };
    Config {
        instance: Instance {
            name: "bench".to_string(),
            enabled: true,
            okta_domain: "bench.okta.com".to_string(),
            credential: Credential::default(),
            policies: Policies::default(),
            safety: SafetyLimits::default(),
            budget: Budget::default(),
            full_sync_every_hours: 24,
            history_days: 365,
        },
        rules: vec![
            rule("department", "department"),
            rule("city", "location"),
            rule("costCenter", "costcenter"),
            rule("skills", "skill"),
            rule("userType", "usertype"),
        ],
        commit: None,
    }
}

/// Generates the org, then times one plan. Run one size per process for honest peak-memory figures.
/// `settled`: plan the org as it is once the first plan has been applied in full (every group exists with
/// the planned members, the store remembers it all): the hourly no-change case, where the planner also
/// reads every member listing and the recorded state.
pub fn run(users: usize, settled: bool) -> PlannerFigures {
    let org = lean_org(users, 42);
    let config = bench_config();
    let (org, remembered) = if settled {
        let first = crate::plan::plan(&config, &org, &Remembered::default());
        let state = settle(org, &first);
        drop(first);
        state
    } else {
        (org, Remembered::default())
    };
    memory::release_freed();
    let rss_before = memory::rss().map(|r| r.0).unwrap_or(0);
    memory::reset_peak();
    let started = Instant::now();
    let plan = crate::plan::plan(&config, &org, &remembered);
    let plan_seconds = started.elapsed().as_secs_f64();
    let peak_rss = memory::rss().map(|r| r.1).unwrap_or(0);
    PlannerFigures {
        users,
        rules: config.rules.len(),
        groups: plan.summary.groups_total,
        adds: plan.summary.adds,
        changes: plan.actions.len() as u64,
        plan_seconds,
        rss_before,
        peak_rss,
    }
}

/// The org and the store's memory after `first` was applied in full: each new group exists (ids `00g…`)
/// with the users the plan recorded for it, every membership added by us.
pub fn settle(mut org: OrgView, first: &Plan) -> (OrgView, Remembered) {
    let mut remembered = Remembered::default();
    let mut n = 0usize;
    for rule in &first.rules {
        let after = first.user_groups_after.get(&rule.rule);
        for g in rule.groups.iter().filter(|g| g.status == GroupStatus::New) {
            n += 1;
            let id = format!("00g{n:017}");
            org.groups.push(OrgGroup {
                id: id.clone(),
                name: g.name.clone(),
                group_type: GroupType::OktaGroup,
                description: None,
            });
            let members: IdList = after
                .and_then(|a| a.get(&g.name))
                .cloned()
                .unwrap_or_default();
            remembered.added_by_us.insert(id.clone(), members.clone());
            org.members.insert(id.clone(), members);
            remembered.groups.insert(
                id.clone(),
                ManagedGroup {
                    id,
                    name: g.name.clone(),
                    rule: rule.rule.clone(),
                    values: g.values.clone(),
                    adopted: false,
                    created_by_us: true,
                },
            );
        }
    }
    remembered.user_groups = first.user_groups_after.clone();
    (org, remembered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lean_org_is_deterministic_and_planned() {
        assert_eq!(lean_org(50, 7), lean_org(50, 7));
        let f = run(500, false);
        assert_eq!(f.rules, 5);
        assert!(
            f.groups > 20,
            "five rules over 500 users give many groups, got {}",
            f.groups
        );
        assert!(
            f.adds >= 4 * 450,
            "every active user joins at least 4 groups, got {}",
            f.adds
        );
        assert!(f.changes > f.groups, "creates and member adds");
    }

    #[test]
    fn a_settled_org_plans_no_change() {
        let f = run(500, true);
        assert_eq!((f.changes, f.adds), (0, 0), "{f:?}");
        assert!(f.groups > 20);
        let org = lean_org(300, 3);
        let config = bench_config();
        let first = crate::plan::plan(&config, &org, &Remembered::default());
        let (org, remembered) = settle(org, &first);
        assert_eq!(remembered.groups.len() as u64, first.summary.groups_new);
        assert_eq!(
            org.members.values().map(|m| m.len() as u64).sum::<u64>(),
            first.summary.adds
        );
        let again = crate::plan::plan(&config, &org, &remembered);
        assert!(again.actions.is_empty() && again.user_groups_after.is_empty());
    }
}
