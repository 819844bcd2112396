//! Integration tests: planner. Property tests against the in-memory emulator: for any org, rules and
//! policies, sync (observe -> plan -> apply), change the org like HR and admins do, sync again, and a third
//! plan is empty (convergence); and the plan does not depend on the order of its inputs.

use std::collections::{BTreeMap, BTreeSet};

use dyngroups::config::model::*;
use dyngroups::okta::api::OktaApi;
use dyngroups::okta::model::{GroupProfile, GroupType, UserStatus};
use dyngroups::okta::observe::observe;
use dyngroups::plan::model::*;
use dyngroups::plan::plan;
use dyngroups::sim::Emulator;
use proptest::prelude::*;
use serde_json::{Value, json};

const DEPTS: &[&str] = &["Sales", "sales", "R&D", "R-D", "Eng", "Zürich", "!!!", ""];
const SKILLS: &[&str] = &["rust", "go", "Go"];
const GROUP_NAMES: &[&str] = &[
    "department_sales",
    "department_eng",
    "skills_rust",
    "Department_R_D",
    "other",
];

fn config(policies: Policies) -> Config {
    let rule = |attribute: &str, prefix: &str| Rule {
        attribute: attribute.into(),
        prefix: prefix.into(),
        description: None,
        aliases: BTreeMap::new(),
        enabled: true,
        origin: Origin::default(),
    };
    Config {
        instance: Instance {
            name: "prop".into(),
            enabled: true,
            okta_domain: "example.okta.com".into(),
            credential: Credential::default(),
            policies,
            safety: SafetyLimits::default(),
            budget: Budget::default(),
            full_sync_every_hours: 24,
            history_days: 365,
        },
        rules: vec![rule("department", "department"), rule("skills", "skills")],
        commit: None,
    }
}

#[derive(Debug, Clone)]
struct GenUser {
    status: UserStatus,
    dept: Option<&'static str>,
    skills: Option<Vec<&'static str>>,
}

#[derive(Debug, Clone)]
struct GenGroup {
    name: &'static str,
    app: bool,
    members: Vec<usize>,
}

#[derive(Debug, Clone)]
enum Change {
    Dept(usize, Option<&'static str>),
    Status(usize, UserStatus),
    ManualAdd(usize, &'static str),
    ManualRemove(usize, &'static str),
}

fn status() -> impl Strategy<Value = UserStatus> {
    prop_oneof![
        6 => Just(UserStatus::Active),
        1 => Just(UserStatus::Suspended),
        1 => Just(UserStatus::Deprovisioned),
        1 => Just(UserStatus::Staged),
    ]
}

fn gen_user() -> impl Strategy<Value = GenUser> {
    (
        status(),
        proptest::option::of(proptest::sample::select(DEPTS)),
        proptest::option::of(proptest::sample::subsequence(SKILLS, 0..=3)),
    )
        .prop_map(|(status, dept, skills)| GenUser {
            status,
            dept,
            skills,
        })
}

fn gen_group() -> impl Strategy<Value = GenGroup> {
    (
        proptest::sample::select(GROUP_NAMES),
        proptest::bool::weighted(0.25),
        proptest::collection::vec(0usize..20, 0..6),
    )
        .prop_map(|(name, app, members)| GenGroup { name, app, members })
}

fn gen_change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (
            0usize..20,
            proptest::option::of(proptest::sample::select(DEPTS))
        )
            .prop_map(|(u, d)| Change::Dept(u, d)),
        (0usize..20, status()).prop_map(|(u, s)| Change::Status(u, s)),
        (0usize..20, proptest::sample::select(GROUP_NAMES))
            .prop_map(|(u, g)| Change::ManualAdd(u, g)),
        (0usize..20, proptest::sample::select(GROUP_NAMES))
            .prop_map(|(u, g)| Change::ManualRemove(u, g)),
    ]
}

fn policies() -> impl Strategy<Value = Policies> {
    (
        prop_oneof![
            Just(MembershipPolicy::Enforce),
            Just(MembershipPolicy::RespectManualFull),
            Just(MembershipPolicy::RespectManualPartial)
        ],
        prop_oneof![Just(CollisionPolicy::Skip), Just(CollisionPolicy::Adopt)],
        prop_oneof![Just(EmptyGroups::Keep), Just(EmptyGroups::Delete)],
    )
        .prop_map(|(membership, collision, empty_groups)| Policies {
            separator: Separator::Underscore,
            membership,
            collision,
            empty_groups,
        })
}

fn login(i: usize) -> String {
    format!("user{i}@example.com")
}

fn seed(users: &[GenUser], groups: &[GenGroup]) -> Value {
    let users: Vec<Value> = users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let mut profile = json!({"login": login(i), "email": login(i), "firstName": "U", "lastName": format!("{i}")});
            if let Some(d) = u.dept {
                profile["department"] = json!(d);
            }
            if let Some(s) = &u.skills {
                profile["skills"] = json!(s);
            }
            json!({"status": u.status.as_str(), "profile": profile})
        })
        .collect();
    let n = users.len();
    // Okta keeps OKTA_GROUP names unique; only APP_GROUPs may share a name.
    let mut taken = std::collections::BTreeSet::new();
    let groups: Vec<Value> = groups
        .iter()
        .filter(|g| g.app || taken.insert(g.name.to_lowercase()))
        .map(|g| {
            let members: Vec<String> = g.members.iter().filter(|m| **m < n).map(|m| login(*m)).collect();
            json!({"type": if g.app { "APP_GROUP" } else { "OKTA_GROUP" }, "profile": {"name": g.name}, "members": members})
        })
        .collect();
    json!({"users": users, "groups": groups,
           "schema": {"custom": {"skills": {"type": "array", "items": {"type": "string"}}}}})
}

/// A minimal applier standing in for `apply` + the store: executes the plan's actions on the emulator and
/// updates what the store would remember.
async fn apply(api: &Emulator, plan: &Plan, rem: &mut Remembered) {
    let mut created: BTreeMap<String, String> = BTreeMap::new();
    // (group, user) pairs added by us, as the store keeps them.
    let mut added: BTreeSet<(String, String)> = rem
        .added_by_us
        .iter()
        .flat_map(|(g, users)| users.iter().map(move |u| (g.clone(), u.to_string())))
        .collect();
    for a in &plan.actions {
        match a {
            Action::CreateGroup {
                rule,
                name,
                description,
                values,
            } => {
                let g = api
                    .create_group(&GroupProfile {
                        name: name.clone(),
                        description: description.clone(),
                        ..Default::default()
                    })
                    .await
                    .expect("create group");
                created.insert(name.clone(), g.id.clone());
                rem.groups.insert(
                    g.id.clone(),
                    ManagedGroup {
                        id: g.id,
                        name: name.clone(),
                        rule: rule.clone(),
                        values: values.clone(),
                        adopted: false,
                        created_by_us: true,
                    },
                );
            }
            Action::AdoptGroup {
                rule,
                id,
                name,
                values,
            } => {
                rem.groups.insert(
                    id.clone(),
                    ManagedGroup {
                        id: id.clone(),
                        name: name.clone(),
                        rule: rule.clone(),
                        values: values.clone(),
                        adopted: true,
                        created_by_us: false,
                    },
                );
            }
            Action::AddMembers { group, users, .. }
            | Action::RemoveMembers { group, users, .. } => {
                let gid = match group {
                    GroupRef::Existing { id, .. } => id.clone(),
                    GroupRef::New { name } => created[name].clone(),
                };
                for user in users {
                    if matches!(a, Action::AddMembers { .. }) {
                        api.add_member(&gid, user).await.expect("add member");
                        added.insert((gid.clone(), user.to_string()));
                    } else {
                        api.remove_member(&gid, user).await.expect("remove member");
                        added.remove(&(gid.clone(), user.to_string()));
                    }
                }
            }
            Action::DeleteGroup { id, .. } => {
                api.delete_group(id).await.expect("delete group");
                rem.groups.remove(id);
                added.retain(|(g, _)| g != id);
            }
            Action::StopManaging { id, .. } => {
                rem.groups.remove(id);
                added.retain(|(g, _)| g != id);
            }
        }
    }
    rem.added_by_us.clear();
    for (g, u) in &added {
        rem.added_by_us.entry(g.clone()).or_default().push(u);
    }
    // A listed rule carries its whole state after the plan.
    for (rule, state) in &plan.user_groups_after {
        rem.user_groups.insert(rule.clone(), state.clone());
    }
    rem.user_groups
        .retain(|r, users| !users.is_empty() && plan.rules.iter().any(|p| &p.rule == r));
}

async fn sync(api: &Emulator, config: &Config, rem: &mut Remembered) -> Plan {
    let org = observe(api, config, rem).await.expect("observe");
    let p = plan(config, &org, rem);
    apply(api, &p, rem).await;
    p
}

async fn change(api: &Emulator, c: &Change, n: usize) {
    let user = |i: usize| login(i % n.max(1));
    match c {
        Change::Dept(u, d) => {
            let _ = api.set_attribute(&user(*u), "department", d.map_or(Value::Null, |d| json!(d)));
        }
        Change::Status(u, s) => {
            let _ = api.set_status(&user(*u), *s);
        }
        Change::ManualAdd(u, g) | Change::ManualRemove(u, g) => {
            let (Some(g), Some(uid)) = (api.group_by_name(g), api.user(&user(*u)).map(|u| u.id))
            else {
                return;
            };
            if g.group_type != GroupType::OktaGroup {
                return;
            }
            if matches!(c, Change::ManualAdd(..)) {
                let _ = api.add_member(&g.id, &uid).await;
            } else {
                let _ = api.remove_member(&g.id, &uid).await;
            }
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Sync, change the org, sync again: the next plan is empty, for every policy combination.
    #[test]
    fn converges_for_every_policy(
        users in proptest::collection::vec(gen_user(), 0..20),
        groups in proptest::collection::vec(gen_group(), 0..4),
        changes in proptest::collection::vec(gen_change(), 0..8),
        policies in policies(),
    ) {
        runtime().block_on(async {
            let api = Emulator::from_yaml(&seed(&users, &groups).to_string()).expect("seed");
            let config = config(policies);
            let mut rem = Remembered::default();
            sync(&api, &config, &mut rem).await;
            let again = plan(&config, &observe(&api, &config, &rem).await.unwrap(), &rem);
            prop_assert!(again.actions.is_empty(), "not converged after the first sync: {:?}", again.actions);
            prop_assert!(again.user_groups_after.is_empty(), "user state drifts: {:?}", again.user_groups_after);
            for c in &changes {
                change(&api, c, users.len()).await;
            }
            sync(&api, &config, &mut rem).await;
            let last = plan(&config, &observe(&api, &config, &rem).await.unwrap(), &rem);
            prop_assert!(last.actions.is_empty(), "not converged after changes {changes:?}: {:?}", last.actions);
            prop_assert!(!last.summary.has_changes());
            Ok(())
        })?;
    }

    /// Shuffling users, groups, member sets and rules changes nothing in the plan.
    #[test]
    fn independent_of_input_order(
        users in proptest::collection::vec(gen_user(), 0..20),
        groups in proptest::collection::vec(gen_group(), 0..4),
        policies in policies(),
        seed_a in any::<u64>(),
    ) {
        let org = OrgView {
            users: users.iter().enumerate().map(|(i, u)| OrgUser {
                id: format!("00u{i:02}"),
                status: u.status,
                attributes: [
                    u.dept.map(|d| ("department".to_string(), json!(d))),
                    u.skills.as_ref().map(|s| ("skills".to_string(), json!(s))),
                ].into_iter().flatten().collect(),
            }).collect(),
            groups: groups.iter().enumerate().map(|(i, g)| OrgGroup {
                id: format!("00g{i:02}"),
                name: g.name.to_string(),
                group_type: if g.app { GroupType::AppGroup } else { GroupType::OktaGroup },
                description: None,
            }).collect(),
            members: groups.iter().enumerate().map(|(i, g)| {
                (format!("00g{i:02}"), g.members.iter().map(|m| format!("00u{m:02}")).collect::<IdList>().sorted())
            }).collect(),
        };
        let config = config(policies);
        let a = plan(&config, &org, &Remembered::default());
        let mut shuffled = org.clone();
        let mut config2 = config.clone();
        let mut rng = seed_a;
        let mut next = || { rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (rng >> 33) as usize };
        let mut rows: Vec<OrgUser> = shuffled.users.rows().collect();
        for i in (1..rows.len()).rev() { let j = next() % (i + 1); rows.swap(i, j); }
        shuffled.users = rows.into();
        for i in (1..shuffled.groups.len()).rev() { let j = next() % (i + 1); shuffled.groups.swap(i, j); }
        config2.rules.reverse();
        let b = plan(&config2, &shuffled, &Remembered::default());
        prop_assert_eq!(a, b);
    }
}

#[tokio::test]
async fn observe_reads_only_what_the_plan_needs() {
    let api = Emulator::from_yaml(
        r#"
users:
  - profile: {login: a@x.com, email: a@x.com, firstName: A, lastName: A, department: Sales, city: Lisbon}
  - status: SUSPENDED
    profile: {login: b@x.com, email: b@x.com, firstName: B, lastName: B, department: Sales}
  - status: DEPROVISIONED
    profile: {login: c@x.com, email: c@x.com, firstName: C, lastName: C, department: Eng}
groups:
  - profile: {name: department_sales}
    members: [a@x.com, b@x.com]
  - profile: {name: unrelated}
    members: [c@x.com]
"#,
    )
    .unwrap();
    let config = config(Policies::default());
    let org = observe(&api, &config, &Remembered::default())
        .await
        .unwrap();
    let sales = org
        .groups
        .iter()
        .find(|g| g.name == "department_sales")
        .unwrap();
    assert_eq!(
        org.members.keys().collect::<Vec<_>>(),
        [&sales.id],
        "members only of groups rules compute"
    );
    assert_eq!(
        org.users.len(),
        2,
        "ACTIVE users plus the suspended member; not the unrelated deprovisioned one"
    );
    let a = org
        .users
        .rows()
        .find(|u| u.status == UserStatus::Active)
        .unwrap();
    assert_eq!(
        a.attributes.keys().collect::<Vec<_>>(),
        ["department"],
        "only attributes rules read"
    );
    assert!(org.users.rows().any(|u| u.status == UserStatus::Suspended));
}

// ---------------------------------------------------------------------------------------------
// Scenario fixtures: tests/fixtures/scenarios/<name>/{seed.yaml, config/}, run end to end through the
// CLI binary against the emulator served over HTTP; text, Markdown and JSON assess output snapshot-tested.

fn scenarios_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scenarios")
}

/// Runs `dyngroups <args>` against the served emulator; returns (exit code, stdout, stderr).
async fn run_cli(
    base_url: &str,
    config: &std::path::Path,
    token: &str,
    args: &[&str],
) -> (i32, String, String) {
    let state = tempfile::tempdir().expect("temp dir");
    let mut cmd = super::support::bin();
    cmd.env_clear()
        .env("OKTA_API_TOKEN", token)
        .env("HOME", state.path())
        .env("NO_COLOR", "1")
        .arg("--config")
        .arg(config)
        .arg("--okta-url")
        .arg(base_url)
        .arg("--state")
        .arg(state.path().join("store"))
        .args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("run dyngroups");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn snapshot_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(scenarios_dir().join("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    s.add_filter(r"sha256:[0-9a-f]{64}", "sha256:[HASH]");
    s.add_filter(r"00g[0-9A-Za-z]{17}", "[GROUP_ID]");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_fixtures_assess_snapshots() {
    let mut names: Vec<String> = std::fs::read_dir(scenarios_dir())
        .expect("scenarios dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("seed.yaml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 2, "scenario fixtures missing: {names:?}");
    for name in names {
        let dir = scenarios_dir().join(&name);
        let emu = Emulator::from_seed_file(&dir.join("seed.yaml")).expect("scenario seed");
        let server = super::support::serve(&emu).await;
        for format in ["text", "markdown", "json"] {
            let (code, stdout, stderr) = run_cli(
                &server.base_url,
                &dir.join("config"),
                "emulator-token",
                &["--format", format, "assess"],
            )
            .await;
            assert_eq!(code, 0, "{name} {format}: {stderr}");
            if format == "json" {
                let v: Value = serde_json::from_str(&stdout).expect("assess JSON");
                assert_eq!(v["format_version"], 1);
                for r in v["rules"].as_array().expect("rules") {
                    for key in [
                        "attribute",
                        "prefix",
                        "groups_total",
                        "groups",
                        "adds",
                        "removes",
                    ] {
                        assert!(r.get(key).is_some(), "{name}: rule without {key}");
                    }
                }
                assert!(v["summary"].is_object());
            }
            if format == "markdown" {
                assert!(
                    !stdout.contains("@example.com"),
                    "{name}: Markdown must not carry logins or emails"
                );
            }
            snapshot_settings()
                .bind(|| insta::assert_snapshot!(format!("{name}-assess-{format}"), stdout));
        }
        // --detailed-exitcode: these scenarios all have changes pending
        let (code, _, _) = run_cli(
            &server.base_url,
            &dir.join("config"),
            "emulator-token",
            &["assess", "--detailed-exitcode"],
        )
        .await;
        assert_eq!(code, 2, "{name}: changes pending");
        // assess is read-only: nothing changed in the org
        assert_eq!(
            emu.to_seed(),
            Emulator::from_seed_file(&dir.join("seed.yaml"))
                .unwrap()
                .to_seed(),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_token_assesses_and_test_connection_names_the_missing_permission() {
    let emu = super::support::emulator(super::support::SMALL_ORG);
    let server = super::support::serve(&emu).await;
    let config = scenarios_dir().join("first-sync/config");
    let (code, stdout, stderr) =
        run_cli(&server.base_url, &config, "read-only-token", &["assess"]).await;
    assert_eq!(code, 0, "assess needs no write permission: {stderr}");
    assert!(stdout.contains("summary:"), "{stdout}");
    let (code, stdout, _) = run_cli(
        &server.base_url,
        &config,
        "read-only-token",
        &["--format", "json", "test-connection"],
    )
    .await;
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&stdout).expect("JSON");
    let verdicts: BTreeMap<String, String> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_string(),
                c["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(verdicts["groups manage"], "missing", "{verdicts:?}");
    for ok in [
        "domain reachable",
        "credential valid",
        "users read",
        "groups read",
        "schemas read",
    ] {
        assert_eq!(verdicts[ok], "ok", "{ok}: {verdicts:?}");
    }
    let (code, _, _) = run_cli(
        &server.base_url,
        &config,
        "wrong-token",
        &["test-connection"],
    )
    .await;
    assert_eq!(code, 1);
    let (code, stdout, stderr) =
        run_cli(&server.base_url, &config, "read-only-token", &["discover"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("profile.department") && stdout.contains("base"),
        "{stdout}"
    );
}

/// The policies end to end on the emulator: a manual removal stays removed under respect_manual_full and is
/// undone under respect_manual_partial; an HR move changes groups under both; a deactivated user leaves.
#[tokio::test]
async fn manual_changes_and_hr_moves_through_the_emulator() {
    for (membership, removal_undone) in [
        (MembershipPolicy::RespectManualFull, false),
        (MembershipPolicy::RespectManualPartial, true),
    ] {
        let api = super::support::emulator(
            r#"
users:
  - profile: {login: ana@x.com, email: ana@x.com, firstName: A, lastName: A, department: Sales}
  - profile: {login: bo@x.com, email: bo@x.com, firstName: B, lastName: B, department: Sales}
  - profile: {login: cy@x.com, email: cy@x.com, firstName: C, lastName: C, department: Eng}
"#,
        );
        let config = config(Policies {
            membership,
            ..Policies::default()
        });
        let mut rem = Remembered::default();
        sync(&api, &config, &mut rem).await;
        let sales = api.group_by_name("department_sales").expect("created").id;
        let eng = api.group_by_name("department_eng").expect("created").id;
        assert_eq!(api.member_logins(&sales), ["ana@x.com", "bo@x.com"]);
        // an admin removes bo by hand; HR moves cy to Sales; ana is deactivated
        let bo = api.user("bo@x.com").unwrap().id;
        api.remove_member(&sales, &bo).await.unwrap();
        api.set_attribute("cy@x.com", "department", json!("Sales"))
            .unwrap();
        api.set_status("ana@x.com", UserStatus::Deprovisioned)
            .unwrap();
        let p = sync(&api, &config, &mut rem).await;
        let mut expect = vec!["cy@x.com"];
        if removal_undone {
            expect.insert(0, "bo@x.com");
        }
        assert_eq!(
            api.member_logins(&sales),
            expect,
            "{membership:?}: {:?}",
            p.actions
        );
        assert!(api.member_logins(&eng).is_empty(), "cy left Eng");
        let again = plan(&config, &observe(&api, &config, &rem).await.unwrap(), &rem);
        assert!(again.actions.is_empty(), "{:?}", again.actions);
    }
}
