//! Integration tests: incremental sync gives the same result as a full sync on a changing org.
//!
//! Two emulators start from one generated org; every round applies the same random HR changes (departments,
//! cities, skills, status changes, new users), manual membership changes, a group created by hand with a
//! computed name and a managed group deleted behind our back, to both. One store syncs incrementally, the
//! other always fully; Okta's memberships and the two stores must be identical after every round, and the
//! incremental plan must equal the plan of a full observation (`reconcile::prepare`) of the same org.

use std::collections::{BTreeMap, BTreeSet};

use chrono::TimeDelta;
use dyngroups::config::model::{
    Budget, CollisionPolicy, Config, Credential, EmptyGroups, Instance, MembershipPolicy, Origin,
    Policies, Rule, SafetyLimits, Separator,
};
use dyngroups::okta::api::OktaApi;
use dyngroups::okta::model::{GroupProfile, GroupType, UserStatus};
use dyngroups::reconcile::{self, SyncOptions, SyncReport};
use dyngroups::sim::Emulator;
use dyngroups::store::Store;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

const DEPARTMENTS: &[&str] = &[
    "Engineering",
    "Sales & Marketing",
    "R&D",
    "Finance",
    "Legal",
    "Quantum Lab",
];
const CITIES: &[&str] = &["New York", "London", "Zürich", "Kraków", "Atlantis"];
const SKILLS: &[&str] = &["rust", "go", "excel", "sql"];

fn rule(attribute: &str, prefix: &str) -> Rule {
    Rule {
        attribute: attribute.into(),
        prefix: prefix.into(),
        description: Some("People with {value}".into()),
        aliases: BTreeMap::new(),
        enabled: true,
        origin: Origin::default(),
    }
}

fn config(membership: MembershipPolicy, empty: EmptyGroups) -> Config {
    Config {
        instance: Instance {
            name: "incremental".into(),
            enabled: true,
            okta_domain: "example.okta.com".into(),
            credential: Credential::default(),
            policies: Policies {
                separator: Separator::Underscore,
                empty_groups: empty,
                membership,
                collision: CollisionPolicy::Adopt,
            },
            safety: SafetyLimits {
                max_group_removal_percent: 100.0,
                max_total_removal_percent: 100.0,
                max_group_deletes: 1000,
                ..SafetyLimits::default()
            },
            budget: Budget::default(),
            full_sync_every_hours: 24,
            history_days: 365,
        },
        rules: vec![
            rule("department", "department"),
            rule("city", "location"),
            rule("skills", "skill"),
        ],
        commit: None,
    }
}

struct Side {
    emu: Emulator,
    _dir: tempfile::TempDir,
    store: Store,
}

async fn side(seed: &dyngroups::sim::Seed, cfg: &Config) -> Side {
    let emu = Emulator::from_seed(seed.clone()).expect("generated seed");
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("store");
    // The generated org already holds a group with a computed name: initialise the store explicitly.
    reconcile::reinit(&emu, &store, cfg, false, false)
        .await
        .expect("reinit");
    Side {
        emu,
        _dir: dir,
        store,
    }
}

fn logins(emu: &Emulator) -> BTreeMap<String, String> {
    emu.users()
        .into_iter()
        .map(|u| (u.id.clone(), u.login().unwrap_or_default().to_string()))
        .collect()
}

/// OKTA_GROUP name -> member logins.
fn okta_state(emu: &Emulator) -> BTreeMap<String, BTreeSet<String>> {
    emu.groups()
        .into_iter()
        .filter(|g| g.group_type == GroupType::OktaGroup)
        .map(|g| {
            let m = emu.member_logins(&g.id).into_iter().collect();
            (g.profile.name, m)
        })
        .collect()
}

/// The store with ids replaced by group names and logins (the two orgs' ids may differ).
fn store_state(side: &Side) -> String {
    let who = logins(&side.emu);
    let login = |id: &str| who.get(id).cloned().unwrap_or_else(|| format!("?{id}"));
    let groups = side.store.groups().expect("groups");
    let name_of: BTreeMap<String, String> = groups
        .iter()
        .map(|g| (g.id.clone(), g.name.clone()))
        .collect();
    let mut managed = BTreeMap::new();
    for g in &groups {
        let members: BTreeSet<String> = side
            .store
            .members(&g.id)
            .expect("members")
            .iter()
            .map(|u| login(u))
            .collect();
        managed.insert(
            g.name.clone(),
            json!({"rule": g.rule, "values": g.values, "adopted": g.adopted,
                   "created_by_us": g.created_by_us, "members": members, "count": g.members}),
        );
    }
    let mut user_groups: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (rule, users) in side.store.user_groups().expect("user groups") {
        for (u, names) in users {
            user_groups
                .entry(rule.clone())
                .or_default()
                .insert(login(&u), names);
        }
    }
    let added: BTreeSet<(String, String)> = side
        .store
        .added_by_us()
        .expect("added")
        .into_iter()
        .map(|(g, u)| (name_of.get(&g).cloned().unwrap_or(g), login(&u)))
        .collect();
    json!({
        "groups": managed,
        "user_groups": user_groups,
        "added": added,
        "licensed": side.store.licensed_users().expect("licensed"),
    })
    .to_string()
}

/// Both orgs answered a change the same way.
fn same(outcomes: [bool; 2]) {
    assert_eq!(
        outcomes[0], outcomes[1],
        "the two orgs diverged on a change"
    );
}

fn pick<'a>(rng: &mut StdRng, items: &'a [&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// One random change, made identically in both orgs.
async fn change(rng: &mut StdRng, a: &Side, b: &Side, round: usize, step: usize) {
    let users: Vec<String> = logins(&a.emu).into_values().collect();
    let user = users[rng.random_range(0..users.len())].clone();
    let managed: Vec<String> = a
        .store
        .groups()
        .expect("groups")
        .into_iter()
        .map(|g| g.name)
        .collect();
    let op = rng.random_range(0..10);
    match op {
        0 | 1 => {
            let v = pick(rng, DEPARTMENTS);
            same([a, b].map(|s| {
                s.emu
                    .set_attribute(&user, "department", Value::from(v))
                    .is_ok()
            }));
        }
        2 => {
            let v = pick(rng, CITIES);
            same([a, b].map(|s| s.emu.set_attribute(&user, "city", Value::from(v)).is_ok()));
        }
        3 => {
            let v: Vec<Value> = SKILLS
                .iter()
                .filter(|_| rng.random_bool(0.4))
                .map(|s| Value::from(*s))
                .collect();
            same([a, b].map(|s| {
                s.emu
                    .set_attribute(&user, "skills", Value::Array(v.clone()))
                    .is_ok()
            }));
        }
        4 => {
            let now = a.emu.user(&user).map(|u| u.status);
            let to = match (now, rng.random_range(0..3)) {
                (Some(UserStatus::Active), 0) => UserStatus::Suspended,
                (Some(UserStatus::Active), _) => UserStatus::Deprovisioned,
                _ => UserStatus::Active,
            };
            same([a, b].map(|s| s.emu.set_status(&user, to).is_ok()));
        }
        5 => {
            let login = format!("new{round}x{step}@example.com");
            let mut p = Map::new();
            p.insert("login".into(), Value::from(login.clone()));
            p.insert("email".into(), Value::from(login));
            p.insert("firstName".into(), Value::from("New"));
            p.insert("lastName".into(), Value::from(format!("Hire{round}{step}")));
            p.insert("department".into(), Value::from(pick(rng, DEPARTMENTS)));
            p.insert("city".into(), Value::from(pick(rng, CITIES)));
            for s in [a, b] {
                s.emu.create_user(p.clone(), true).expect("create user");
            }
        }
        6 if !managed.is_empty() => {
            let g = managed[rng.random_range(0..managed.len())].clone();
            let mut ok = Vec::new();
            for s in [a, b] {
                let (Some(grp), Some(u)) = (s.emu.group_by_name(&g), s.emu.user(&user)) else {
                    ok.push(false);
                    continue;
                };
                ok.push(s.emu.add_member(&grp.id, &u.id).await.is_ok());
            }
            same([ok[0], ok[1]]);
        }
        7 if !managed.is_empty() => {
            let g = managed[rng.random_range(0..managed.len())].clone();
            let gid = a.emu.group_by_name(&g).expect("managed group").id;
            let members = a.emu.member_logins(&gid);
            if !members.is_empty() {
                let m = members[rng.random_range(0..members.len())].clone();
                for s in [a, b] {
                    let gid = s.emu.group_by_name(&g).expect("managed group").id;
                    let uid = s.emu.user(&m).expect("member").id;
                    s.emu
                        .remove_member(&gid, &uid)
                        .await
                        .expect("remove member");
                }
            }
        }
        8 => {
            // Someone makes a group by hand with a name a rule computes (or will compute).
            let name = pick(rng, &["department_quantum_lab", "location_atlantis"]);
            if a.emu.group_by_name(name).is_none() {
                for s in [a, b] {
                    let p = GroupProfile {
                        name: name.to_string(),
                        description: Some("by hand".into()),
                        extra: Default::default(),
                    };
                    s.emu.create_group(&p).await.expect("create group");
                }
            }
        }
        9 if !managed.is_empty() && rng.random_bool(0.3) => {
            // A managed group deleted behind our back.
            let g = managed[rng.random_range(0..managed.len())].clone();
            for s in [a, b] {
                if let Some(grp) = s.emu.group_by_name(&g) {
                    s.emu.delete_group(&grp.id).await.expect("delete group");
                }
            }
        }
        _ => {}
    }
}

fn mode(r: &SyncReport) -> &str {
    r.observe.as_ref().map_or("-", |o| o.mode.as_str())
}

async fn rounds(
    membership: MembershipPolicy,
    empty: EmptyGroups,
    rng_seed: u64,
    budget: Option<u64>,
) {
    let cfg = config(membership, empty);
    let seed = dyngroups::sim::generate::generate(60, rng_seed);
    let a = side(&seed, &cfg).await;
    let b = side(&seed, &cfg).await;
    let mut rng = StdRng::seed_from_u64(rng_seed);
    let incremental = SyncOptions {
        max_writes: budget,
        ..SyncOptions::default()
    };
    let full = SyncOptions {
        full: true,
        ..SyncOptions::default()
    };
    for round in 0..8 {
        for s in [&a, &b] {
            s.emu.advance(TimeDelta::hours(1));
        }
        if round > 0 {
            for step in 0..rng.random_range(3..10) {
                change(&mut rng, &a, &b, round, step).await;
            }
        }
        // With a budget, the incremental side may need several runs to catch up; each must plan exactly
        // what a full observation plans.
        for _ in 0..50 {
            let full_plan = reconcile::prepare(&a.emu, &a.store, &cfg)
                .await
                .expect("prepare")
                .plan;
            let ra = reconcile::sync(&a.emu, &a.store, &cfg, &incremental)
                .await
                .expect("incremental sync");
            if round > 0 {
                assert_eq!(mode(&ra), "incremental", "round {round}: {:?}", ra.observe);
            }
            assert_eq!(
                ra.plan, full_plan,
                "round {round}: incremental plan differs"
            );
            if !ra.has_changes() {
                break;
            }
            if budget.is_none() {
                break;
            }
        }
        let rb = reconcile::sync(&b.emu, &b.store, &cfg, &full)
            .await
            .expect("full sync");
        assert_eq!(mode(&rb), "full");
        assert_eq!(
            okta_state(&a.emu),
            okta_state(&b.emu),
            "round {round}: Okta differs"
        );
        assert_eq!(
            store_state(&a),
            store_state(&b),
            "round {round}: stores differ"
        );
    }
    // Nothing changes: the incremental sync reads the changed users and the groups, and lists no members.
    for s in [&a, &b] {
        s.emu.advance(TimeDelta::hours(1));
    }
    let quiet = reconcile::sync(&a.emu, &a.store, &cfg, &incremental)
        .await
        .expect("quiet sync");
    let info = quiet.observe.clone().expect("observe info");
    assert_eq!(info.mode, "incremental");
    assert_eq!(info.member_listings, 0, "{info:?}");
    // Only users changed around the last round are read again, not the org.
    let users = a.emu.users().len() as u64;
    assert!(
        info.changed_users.is_some_and(|n| n < users / 3),
        "{info:?} of {users} users"
    );
    assert!(!quiet.has_changes());
    assert_eq!(quiet.api_calls.reads, 2, "{:?}", quiet.api_calls);
    assert_eq!(quiet.api_calls.writes, 0);
}

#[tokio::test]
async fn incremental_equals_full_under_respect_manual_full() {
    rounds(
        MembershipPolicy::RespectManualFull,
        EmptyGroups::Keep,
        11,
        None,
    )
    .await;
}

#[tokio::test]
async fn incremental_equals_full_under_enforce_with_deletes() {
    rounds(MembershipPolicy::Enforce, EmptyGroups::Delete, 23, None).await;
}

#[tokio::test]
async fn incremental_equals_full_under_respect_manual_partial() {
    rounds(
        MembershipPolicy::RespectManualPartial,
        EmptyGroups::Keep,
        37,
        None,
    )
    .await;
}

#[tokio::test]
async fn a_budgeted_incremental_sync_catches_up_to_the_full_result() {
    rounds(MembershipPolicy::Enforce, EmptyGroups::Keep, 41, Some(7)).await;
}

#[tokio::test]
async fn a_full_sync_runs_when_asked_when_rules_change_and_after_an_interrupted_apply() {
    let mut cfg = config(MembershipPolicy::RespectManualFull, EmptyGroups::Keep);
    let seed = dyngroups::sim::generate::generate(30, 5);
    let s = side(&seed, &cfg).await;
    let run = |opts: SyncOptions, cfg: Config| {
        let s = &s;
        async move {
            reconcile::sync(&s.emu, &s.store, &cfg, &opts)
                .await
                .expect("sync")
        }
    };
    let first = run(SyncOptions::default(), cfg.clone()).await;
    assert_eq!(mode(&first), "full");
    let second = run(SyncOptions::default(), cfg.clone()).await;
    assert_eq!(mode(&second), "incremental");
    let forced = run(
        SyncOptions {
            full: true,
            ..SyncOptions::default()
        },
        cfg.clone(),
    )
    .await;
    let info = forced.observe.clone().expect("info");
    assert_eq!(info.label(), "full (requested)");
    // The history says which kind ran.
    let last = s.store.last_sync().expect("history").expect("a record");
    assert_eq!(last.observe.as_deref(), Some("full (requested)"));

    cfg.rules.push(rule("costCenter", "cc"));
    let changed = run(SyncOptions::default(), cfg.clone()).await;
    let info = changed.observe.clone().expect("info");
    assert_eq!(
        info.reason.as_deref(),
        Some("the rules or policies changed")
    );
    assert_eq!(
        mode(&run(SyncOptions::default(), cfg.clone()).await),
        "incremental"
    );

    // An apply that did not finish (the dirty mark stays when the process dies).
    let mut w = s.store.writer();
    w.set_dirty(true);
    w.commit().expect("commit");
    let after_crash = run(SyncOptions::default(), cfg.clone()).await;
    assert_eq!(
        after_crash.observe.clone().expect("info").reason.as_deref(),
        Some("the last apply was interrupted")
    );

    // The schedule: a last full observation older than full_sync_every_hours.
    let old = s.store.snapshot().expect("snapshot");
    let mut aged = old.clone();
    if let Some(m) = aged.meta.as_mut() {
        m.last_full -= TimeDelta::hours(25);
    }
    let mut w = s.store.writer();
    w.replace_snapshot(&aged).expect("age the snapshot");
    w.commit().expect("commit");
    let scheduled = run(SyncOptions::default(), cfg.clone()).await;
    assert_eq!(
        scheduled.observe.clone().expect("info").reason.as_deref(),
        Some("scheduled (every 24 h)")
    );
    assert_eq!(
        mode(&run(SyncOptions::default(), cfg.clone()).await),
        "incremental"
    );
}

const SMALL: &str = r#"
users:
  - profile: {login: ana@example.com, email: ana@example.com, firstName: Ana, lastName: Ito, department: Engineering}
  - profile: {login: bo@example.com, email: bo@example.com, firstName: Bo, lastName: Li, department: Sales}
  - profile: {login: cy@example.com, email: cy@example.com, firstName: Cy, lastName: Ng, department: Sales}
"#;

#[tokio::test]
async fn a_write_budget_never_leaves_a_moved_user_in_both_groups_and_the_backlog_follows() {
    let mut cfg = config(MembershipPolicy::Enforce, EmptyGroups::Keep);
    cfg.rules.truncate(1);
    let emu = Emulator::from_yaml(SMALL).expect("seed");
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("store");
    let first = reconcile::sync(&emu, &store, &cfg, &SyncOptions::default())
        .await
        .expect("first sync");
    assert!(first.apply.expect("applied").complete());
    let members = |name: &str| {
        let g = emu.group_by_name(name).expect("group");
        emu.member_logins(&g.id)
    };
    // Ana moves; another user joins Engineering: three writes, a budget of one per run.
    emu.set_attribute("ana@example.com", "department", Value::from("Sales"))
        .expect("move");
    emu.set_attribute("bo@example.com", "department", Value::from("Engineering"))
        .expect("move");
    let budget = SyncOptions {
        max_writes: Some(1),
        ..SyncOptions::default()
    };
    let mut runs = 0;
    loop {
        let r = reconcile::sync(&emu, &store, &cfg, &budget)
            .await
            .expect("budgeted sync");
        runs += 1;
        let eng = members("department_engineering");
        let sales = members("department_sales");
        for u in ["ana@example.com", "bo@example.com"] {
            assert!(
                !(eng.contains(&u.to_string()) && sales.contains(&u.to_string())),
                "run {runs}: {u} is in both groups"
            );
        }
        let status = dyngroups::store::views::status_json(&store, 1).expect("status");
        let applied = r.apply.expect("applied");
        assert_eq!(
            status["backlog"].as_u64(),
            Some(applied.counts.deferred),
            "run {runs}"
        );
        if applied.counts.deferred == 0 {
            break;
        }
        assert!(runs < 10, "the backlog does not shrink");
    }
    assert_eq!(runs, 4, "four writes at one per run");
    assert_eq!(
        members("department_sales"),
        vec!["ana@example.com", "cy@example.com"]
    );
    assert_eq!(members("department_engineering"), vec!["bo@example.com"]);
}

/// Okta calls (pages) of an hourly sync with nothing changed, after a first full sync and one hourly sync
/// of a generated org: the first syncs run in memory, the measured one through the HTTP client.
/// `teams` > 0 adds a rule on `title`, set to one of that many values (more groups).
async fn quiet_hourly_calls(users: usize, teams: usize) -> (u64, BTreeMap<String, u64>, usize) {
    let mut cfg = dyngroups::bench::planner::bench_config();
    cfg.rules.retain(|r| r.attribute != "userType");
    let emu = Emulator::from_seed(dyngroups::sim::generate::generate(users, 1)).expect("seed");
    if teams > 0 {
        cfg.rules.push(rule("title", "team"));
        for (i, u) in emu.users().iter().enumerate() {
            // DEPROVISIONED users cannot be updated: they keep no title.
            let _ = emu.set_attribute(&u.id, "title", Value::from(format!("t{}", i % teams)));
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path()).expect("store");
    reconcile::reinit(&emu, &store, &cfg, false, false)
        .await
        .expect("reinit");
    for _ in 0..2 {
        emu.advance(TimeDelta::hours(1));
        reconcile::sync(&emu, &store, &cfg, &SyncOptions::default())
            .await
            .expect("sync in memory");
    }
    emu.advance(TimeDelta::hours(1));
    let srv = super::support::serve(&emu).await;
    let client = dyngroups::okta::client::OktaClient::with_token(
        &srv.base_url,
        dyngroups::secret::Secret::new("emulator-token"),
    )
    .expect("client");
    srv.reset_counters();
    let r = reconcile::sync(&client, &store, &cfg, &SyncOptions::default())
        .await
        .expect("quiet sync");
    assert_eq!(mode(&r), "incremental");
    assert!(!r.has_changes());
    let by_bucket = srv.counters().by_bucket;
    (
        by_bucket.values().sum(),
        by_bucket,
        store.groups().expect("groups").len(),
    )
}

#[tokio::test]
async fn an_hourly_sync_with_nothing_changed_makes_at_most_ten_calls() {
    let (calls, by_bucket, groups) = quiet_hourly_calls(2_000, 0).await;
    println!("2,000 users, {groups} managed groups: {calls} calls {by_bucket:?}");
    assert!(calls <= 10, "{calls} calls: {by_bucket:?}");
}

/// `cargo test --test it incremental::measure -- --ignored --nocapture` (DYNGROUPS_USERS=100000,
/// DYNGROUPS_TEAMS=2000 for about 2,000 managed groups).
#[tokio::test]
#[ignore = "measurement at scale, slow in a debug build"]
async fn measure_quiet_hourly_sync_at_scale() {
    let users = std::env::var("DYNGROUPS_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let teams = std::env::var("DYNGROUPS_TEAMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let (calls, by_bucket, groups) = quiet_hourly_calls(users, teams).await;
    println!("{users} users, {groups} managed groups: {calls} calls {by_bucket:?}");
    assert!(calls <= 10, "{calls} calls: {by_bucket:?}");
}
