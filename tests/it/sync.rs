//! Sync end to end against the in-memory emulator: creating and filling groups, moves, manual changes per
//! policy, adoption, empty groups, removed and re-added rules, no-op syncs, the failsafe, the store lock,
//! stale plans, the refusal of an unknown store, and crash recovery from the journal.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use dyngroups::config::model::{
    Budget, CollisionPolicy, Config, Credential, EmptyGroups, Instance, MembershipPolicy, Origin,
    Policies, Rule, SafetyLimits, Separator,
};
use dyngroups::okta::api::{GroupQuery, LogQuery, OktaApi};
use dyngroups::okta::error::OktaError;
use dyngroups::okta::model::{Group, GroupProfile, LogEvent, User, UserSchema};
use dyngroups::plan::model::{Action, Plan, Step};
use dyngroups::reconcile::{self, ReconcileError, SyncOptions, SyncReport};
use dyngroups::sim::Emulator;
use dyngroups::store::{AuditEntry, Store, StoreError, SyncStatus};
use serde_json::json;

use super::support;

const ORG: &str = r#"
users:
  - profile: {login: ana@example.com, email: ana@example.com, firstName: Ana, lastName: Ito, department: Engineering}
  - profile: {login: bo@example.com, email: bo@example.com, firstName: Bo, lastName: Li, department: Sales}
  - profile: {login: cy@example.com, email: cy@example.com, firstName: Cy, lastName: Ng, department: Sales}
  - profile: {login: di@example.com, email: di@example.com, firstName: Di, lastName: Wu, department: Support}
"#;

fn config(membership: MembershipPolicy, collision: CollisionPolicy, empty: EmptyGroups) -> Config {
    Config {
        instance: Instance {
            name: "test".into(),
            enabled: true,
            okta_domain: "example.okta.com".into(),
            credential: Credential::default(),
            policies: Policies {
                separator: Separator::Underscore,
                empty_groups: empty,
                membership,
                collision,
            },
            safety: SafetyLimits::default(),
            budget: Budget::default(),
            full_sync_every_hours: 24,
            history_days: 365,
        },
        rules: vec![rule("department", "department")],
        commit: Some("1111111111111111111111111111111111111111".into()),
    }
}

fn rule(attribute: &str, prefix: &str) -> Rule {
    Rule {
        attribute: attribute.into(),
        prefix: prefix.into(),
        description: Some("People in {value}".into()),
        aliases: BTreeMap::new(),
        enabled: true,
        origin: Origin::default(),
    }
}

fn default_config() -> Config {
    config(
        MembershipPolicy::RespectManualFull,
        CollisionPolicy::Skip,
        EmptyGroups::Keep,
    )
}

fn members(emu: &Emulator, name: &str) -> Vec<String> {
    let g = emu
        .group_by_name(name)
        .unwrap_or_else(|| panic!("no group {name}"));
    emu.member_logins(&g.id)
        .into_iter()
        .map(|l| l.trim_end_matches("@example.com").to_string())
        .collect()
}

fn groups_named(emu: &Emulator, name: &str) -> usize {
    emu.groups()
        .iter()
        .filter(|g| g.profile.name == name)
        .count()
}

fn user_id(emu: &Emulator, login: &str) -> String {
    emu.user(&format!("{login}@example.com")).expect("user").id
}

async fn run(emu: &dyn OktaApi, store: &Store, cfg: &Config) -> SyncReport {
    match reconcile::sync(emu, store, cfg, &SyncOptions::default()).await {
        Ok(r) => r,
        Err(e) => panic!("sync failed: {e}"),
    }
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_instance(dir.path(), "test").expect("store");
    (dir, store)
}

#[tokio::test]
async fn first_sync_creates_and_fills_groups_and_a_second_sync_writes_nothing() {
    let emu = support::emulator(ORG);
    let (_d, store) = store();
    let cfg = default_config();
    let r = run(&emu, &store, &cfg).await;
    assert_eq!(r.status, SyncStatus::Success);
    let applied = r.apply.as_ref().expect("applied");
    assert_eq!(applied.counts.created, 3);
    assert_eq!(applied.counts.added, 4);
    assert_eq!(members(&emu, "department_engineering"), ["ana"]);
    assert_eq!(members(&emu, "department_sales"), ["bo", "cy"]);
    assert_eq!(members(&emu, "department_support"), ["di"]);
    assert_eq!(r.licensed_users, 4);
    assert_eq!(r.managed_groups, 3);
    let groups = store.groups().unwrap();
    assert!(groups.iter().all(|g| g.created_by_us && !g.adopted));
    let sales = groups
        .iter()
        .find(|g| g.name == "department_sales")
        .unwrap();
    assert_eq!(
        (sales.members, sales.values.clone()),
        (2, vec!["Sales".to_string()])
    );
    let last = store.last_sync().unwrap().unwrap();
    assert_eq!(last.status, SyncStatus::Success);
    assert_eq!(last.commit, cfg.commit);
    assert_eq!(
        store.audit(100).unwrap().len(),
        7,
        "every change is in the audit trail"
    );

    let again = run(&emu, &store, &cfg).await;
    assert_eq!(again.api_calls.writes, 0, "nothing changed: no write calls");
    assert!(again.plan.actions.is_empty());
    assert_eq!(again.licensed_users, 4);
}

#[tokio::test]
async fn a_sync_forgets_history_and_audit_older_than_the_instance_keeps() {
    let emu = support::emulator(ORG);
    let (_d, store) = store();
    // Two changes recorded 400 and 10 days ago, before this sync's own.
    let mut w = store.writer();
    for days in [400, 10] {
        w.audit(&AuditEntry {
            at: chrono::Utc::now() - chrono::TimeDelta::days(days),
            commit: Some(format!("{days} days ago")),
            change: "add_member".into(),
            rule: "profile.department:department".into(),
            group_id: Some("00gold".into()),
            group_name: "department_old".into(),
            user: Some("00uold".into()),
            ok: true,
            error: None,
        })
        .unwrap();
    }
    w.commit().unwrap();
    let cfg = default_config();
    assert_eq!(cfg.instance.history_days, 365);
    run(&emu, &store, &cfg).await;
    let commits: Vec<Option<String>> = store
        .audit(100)
        .unwrap()
        .into_iter()
        .map(|a| a.commit)
        .collect();
    assert_eq!(
        commits.len(),
        7 + 1,
        "this sync's 7 changes and the 10-day-old one"
    );
    assert!(commits.contains(&Some("10 days ago".into())));
    assert!(!commits.contains(&Some("400 days ago".into())));
}

#[tokio::test]
async fn a_department_change_moves_the_user() {
    let emu = support::emulator(ORG);
    let (_d, store) = store();
    let cfg = default_config();
    run(&emu, &store, &cfg).await;
    emu.set_attribute("ana@example.com", "department", json!("Sales"))
        .unwrap();
    let r = run(&emu, &store, &cfg).await;
    assert_eq!(r.status, SyncStatus::Success);
    assert_eq!(members(&emu, "department_sales"), ["ana", "bo", "cy"]);
    assert!(members(&emu, "department_engineering").is_empty());
    let stale: Vec<_> = store
        .groups()
        .unwrap()
        .into_iter()
        .filter(|g| g.members == 0)
        .collect();
    assert_eq!(
        stale.len(),
        1,
        "keep policy: the empty group stays and shows as stale"
    );
    assert_eq!(stale[0].name, "department_engineering");
}

/// Manual changes over several syncs: respect_manual_full keeps both, partial undoes removals, enforce undoes both.
#[tokio::test]
async fn manual_changes_follow_the_membership_policy() {
    for (policy, add_kept, removal_kept) in [
        (MembershipPolicy::RespectManualFull, true, true),
        (MembershipPolicy::RespectManualPartial, true, false),
        (MembershipPolicy::Enforce, false, false),
    ] {
        let emu = support::emulator(ORG);
        let (_d, store) = store();
        let cfg = config(policy, CollisionPolicy::Skip, EmptyGroups::Keep);
        run(&emu, &store, &cfg).await;
        let sales = emu.group_by_name("department_sales").unwrap().id;
        emu.add_member(&sales, &user_id(&emu, "di")).await.unwrap();
        emu.remove_member(&sales, &user_id(&emu, "bo"))
            .await
            .unwrap();
        for round in 0..2 {
            run(&emu, &store, &cfg).await;
            let m = members(&emu, "department_sales");
            assert_eq!(
                m.contains(&"di".to_string()),
                add_kept,
                "{policy:?} round {round}: manual add"
            );
            assert_eq!(
                !m.contains(&"bo".to_string()),
                removal_kept,
                "{policy:?} round {round}: manual removal"
            );
            assert!(m.contains(&"cy".to_string()));
        }
    }
}

#[tokio::test]
async fn a_new_store_refuses_groups_with_our_names_until_reinitialised_then_adopts() {
    let seed = format!(
        "{ORG}groups:\n  - profile: {{name: department_sales, description: made by hand}}\n    members: [bo@example.com, di@example.com]\n"
    );
    let emu = support::emulator(&seed);
    let (_d, store) = store();
    let cfg = config(
        MembershipPolicy::Enforce,
        CollisionPolicy::Adopt,
        EmptyGroups::Delete,
    );
    let err = reconcile::sync(&emu, &store, &cfg, &SyncOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ReconcileError::UnknownGroups { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("department_sales")
            && msg.contains("state import")
            && msg.contains("reinit --adopt")
    );
    assert_eq!(
        groups_named(&emu, "department_engineering"),
        0,
        "nothing was changed"
    );

    // Explicit re-initialisation without --adopt: the collision policy (adopt) decides.
    reconcile::reinit(&emu, &store, &cfg, false, false)
        .await
        .unwrap();
    let r = run(&emu, &store, &cfg).await;
    assert_eq!(r.apply.as_ref().unwrap().counts.adopted, 1);
    let sales = store
        .groups()
        .unwrap()
        .into_iter()
        .find(|g| g.name == "department_sales")
        .unwrap();
    assert!(sales.adopted && !sales.created_by_us);
    assert_eq!(
        members(&emu, "department_sales"),
        ["bo", "cy"],
        "enforce: the adopted group's stray member goes"
    );
    // Adopted groups are never deleted, even when empty under the delete policy.
    for login in ["bo", "cy"] {
        emu.set_attribute(
            &format!("{login}@example.com"),
            "department",
            json!("Support"),
        )
        .unwrap();
    }
    run(&emu, &store, &cfg).await;
    assert_eq!(groups_named(&emu, "department_sales"), 1);
    assert!(members(&emu, "department_sales").is_empty());
}

#[tokio::test]
async fn reinit_adopt_reclaims_our_groups_after_a_lost_store() {
    let emu = support::emulator(ORG);
    let cfg = default_config();
    {
        let (_d, store) = store();
        run(&emu, &store, &cfg).await;
    } // the store is lost
    let (_d, store) = store();
    let err = reconcile::sync(&emu, &store, &cfg, &SyncOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ReconcileError::UnknownGroups { ref names, .. } if names.len() == 3),
        "{err}"
    );
    let rep = reconcile::reinit(&emu, &store, &cfg, true, false)
        .await
        .unwrap();
    assert_eq!(rep.reclaimed.len(), 3);
    let r = run(&emu, &store, &cfg).await;
    assert_eq!(
        r.api_calls.writes, 0,
        "reclaimed groups are ours and already right"
    );
    assert_eq!(r.managed_groups, 3);
    assert!(
        store
            .groups()
            .unwrap()
            .iter()
            .all(|g| g.created_by_us && !g.adopted)
    );
    assert_eq!(store.licensed_users().unwrap(), 4);
}

#[tokio::test]
async fn an_empty_group_is_deleted_under_the_delete_policy() {
    let emu = support::emulator(ORG);
    let (_d, store) = store();
    let cfg = config(
        MembershipPolicy::RespectManualFull,
        CollisionPolicy::Skip,
        EmptyGroups::Delete,
    );
    run(&emu, &store, &cfg).await;
    emu.set_attribute("di@example.com", "department", json!("Sales"))
        .unwrap();
    let r = run(&emu, &store, &cfg).await;
    assert_eq!(r.apply.as_ref().unwrap().counts.deleted, 1);
    assert_eq!(groups_named(&emu, "department_support"), 0);
    assert!(
        store
            .groups()
            .unwrap()
            .iter()
            .all(|g| g.name != "department_support")
    );
    assert_eq!(members(&emu, "department_sales"), ["bo", "cy", "di"]);
}

#[tokio::test]
async fn a_removed_rule_stops_being_managed_and_comes_back_by_the_collision_policy() {
    let emu = support::emulator(ORG);
    let (_d, store) = store();
    let mut cfg = config(
        MembershipPolicy::RespectManualFull,
        CollisionPolicy::Skip,
        EmptyGroups::Delete,
    );
    cfg.rules.push(rule("city", "city"));
    run(&emu, &store, &cfg).await;
    let without = config(
        MembershipPolicy::RespectManualFull,
        CollisionPolicy::Skip,
        EmptyGroups::Delete,
    );
    let mut without = Config {
        rules: vec![rule("city", "city")],
        ..without
    };
    without.commit = Some("2222222222222222222222222222222222222222".into());
    let r = run(&emu, &store, &without).await;
    assert_eq!(r.apply.as_ref().unwrap().counts.stopped_managing, 3);
    assert_eq!(
        r.api_calls.writes, 0,
        "a removed rule's groups stay in Okta untouched"
    );
    assert_eq!(groups_named(&emu, "department_sales"), 1);
    assert_eq!(members(&emu, "department_sales"), ["bo", "cy"]);
    assert_eq!(r.managed_groups, 0);
    assert_eq!(r.licensed_users, 0, "no longer counted for licensing");
    assert!(
        store.remembered().unwrap().user_groups.is_empty(),
        "the rule's user state is dropped"
    );

    // Back with collision skip: the groups are someone else's now, left alone and reported.
    let r = run(&emu, &store, &cfg).await;
    assert_eq!(r.api_calls.writes, 0);
    assert_eq!(r.managed_groups, 0);
    // Back with collision adopt: re-adopted.
    let adopt = Config {
        instance: Instance {
            policies: Policies {
                collision: CollisionPolicy::Adopt,
                ..cfg.instance.policies
            },
            ..cfg.instance.clone()
        },
        ..cfg.clone()
    };
    let r = run(&emu, &store, &adopt).await;
    assert_eq!(r.apply.as_ref().unwrap().counts.adopted, 3);
    assert_eq!(r.licensed_users, 4);
    assert_eq!(
        groups_named(&emu, "department_sales"),
        1,
        "never a duplicate"
    );
}

#[tokio::test]
async fn the_failsafe_stops_a_mass_removal_and_the_override_lets_it_through() {
    let emu = support::emulator(ORG);
    let (_d, store) = store();
    let mut cfg = default_config();
    cfg.instance.safety = SafetyLimits {
        max_group_removal_percent: 30.0,
        min_group_size: 2,
        max_total_removal_percent: 100.0,
        max_group_deletes: 5,
    };
    run(&emu, &store, &cfg).await;
    for login in ["bo", "cy"] {
        emu.set_attribute(
            &format!("{login}@example.com"),
            "department",
            json!("Support"),
        )
        .unwrap();
    }
    let r = run(&emu, &store, &cfg).await;
    assert_eq!(r.status, SyncStatus::SafetyStop);
    assert_eq!(r.safety.names(), ["department_sales".to_string()].into());
    assert_eq!(
        members(&emu, "department_sales"),
        ["bo", "cy"],
        "nothing applied to the affected group"
    );
    assert_eq!(
        members(&emu, "department_support"),
        ["bo", "cy", "di"],
        "other groups go ahead"
    );
    assert_eq!(
        store.last_sync().unwrap().unwrap().status,
        SyncStatus::SafetyStop
    );

    let allow = SyncOptions {
        allow_mass_changes: true,
        ..Default::default()
    };
    let r = reconcile::sync(&emu, &store, &cfg, &allow).await.unwrap();
    assert_eq!(r.status, SyncStatus::Success);
    assert!(members(&emu, "department_sales").is_empty());
}

#[tokio::test]
async fn a_second_sync_on_the_same_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Store::open_instance(dir.path(), "test").unwrap();
    let err = Store::open_instance(dir.path(), "test").unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }));
    assert!(err.to_string().contains("another dyngroups"), "{err}");
}

#[tokio::test]
async fn a_saved_plan_applies_exactly_and_a_stale_one_is_refused() {
    let emu = support::emulator(ORG);
    let (_d, store) = store();
    let cfg = default_config();
    let saved = reconcile::prepare(&emu, &store, &cfg).await.unwrap().plan;
    let json = serde_json::to_string(&saved).unwrap();
    let saved: dyngroups::plan::model::Plan = serde_json::from_str(&json).unwrap();

    // Okta changed since: refused, nothing applied.
    emu.set_attribute("ana@example.com", "department", json!("Sales"))
        .unwrap();
    let err = reconcile::apply_saved(&emu, &store, &cfg, saved.clone(), &SyncOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ReconcileError::StalePlan { .. }), "{err}");
    assert_eq!(groups_named(&emu, "department_sales"), 0);

    // The config changed since: refused too.
    emu.set_attribute("ana@example.com", "department", json!("Engineering"))
        .unwrap();
    let other = config(
        MembershipPolicy::Enforce,
        CollisionPolicy::Skip,
        EmptyGroups::Keep,
    );
    let err = reconcile::apply_saved(&emu, &store, &other, saved.clone(), &SyncOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("config"), "{err}");

    let r = reconcile::apply_saved(&emu, &store, &cfg, saved, &SyncOptions::default())
        .await
        .unwrap();
    assert_eq!(r.status, SyncStatus::Success);
    assert_eq!(members(&emu, "department_sales"), ["bo", "cy"]);
    assert_eq!(store.last_sync().unwrap().unwrap().kind, "apply");
}

#[tokio::test]
async fn a_dry_run_changes_nothing() {
    let emu = support::emulator(ORG);
    let (_d, store) = store();
    let cfg = default_config();
    let dry = SyncOptions {
        dry_run: true,
        ..Default::default()
    };
    let r = reconcile::sync(&emu, &store, &cfg, &dry).await.unwrap();
    assert!(r.has_changes());
    assert_eq!(r.api_calls.writes, 0);
    assert!(emu.group_by_name("department_sales").is_none());
    assert!(store.groups().unwrap().is_empty() && store.history(10).unwrap().is_empty());
}

/// Okta creates the group, then the process dies before the store records it (the sync future is dropped
/// while the answer is in flight, exactly as a kill would leave things: the intent is journalled, nothing
/// else). The next run must find the group, call it ours, not create a duplicate, and converge.
#[tokio::test]
async fn a_crash_after_okta_created_a_group_converges_without_duplicate_or_collision() {
    struct DiesAfterCreate {
        inner: Emulator,
        created: Arc<AtomicBool>,
        notify: Arc<tokio::sync::Notify>,
    }
    #[async_trait]
    impl OktaApi for DiesAfterCreate {
        async fn list_users(&self, s: Option<&str>) -> Result<Vec<User>, OktaError> {
            self.inner.list_users(s).await
        }
        async fn list_groups(&self, q: &GroupQuery) -> Result<Vec<Group>, OktaError> {
            self.inner.list_groups(q).await
        }
        async fn get_group(&self, id: &str) -> Result<Group, OktaError> {
            self.inner.get_group(id).await
        }
        async fn list_group_members(&self, id: &str) -> Result<Vec<User>, OktaError> {
            self.inner.list_group_members(id).await
        }
        async fn create_group(&self, p: &GroupProfile) -> Result<Group, OktaError> {
            let g = self.inner.create_group(p).await?;
            self.created.store(true, Ordering::SeqCst);
            self.notify.notify_one();
            // The answer never arrives: the process is "killed" here.
            std::future::pending::<()>().await;
            Ok(g)
        }
        async fn update_group(&self, id: &str, p: &GroupProfile) -> Result<Group, OktaError> {
            self.inner.update_group(id, p).await
        }
        async fn delete_group(&self, id: &str) -> Result<(), OktaError> {
            self.inner.delete_group(id).await
        }
        async fn add_member(&self, g: &str, u: &str) -> Result<(), OktaError> {
            self.inner.add_member(g, u).await
        }
        async fn remove_member(&self, g: &str, u: &str) -> Result<(), OktaError> {
            self.inner.remove_member(g, u).await
        }
        async fn user_schema(&self) -> Result<UserSchema, OktaError> {
            self.inner.user_schema().await
        }
        async fn list_logs(&self, q: &LogQuery) -> Result<Vec<LogEvent>, OktaError> {
            self.inner.list_logs(q).await
        }
    }

    let emu = support::emulator(ORG);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = default_config();
    cfg.instance.budget.max_concurrency = 1;
    {
        let store = Store::open_instance(dir.path(), "test").unwrap();
        let dying = DiesAfterCreate {
            inner: emu.clone(),
            created: Arc::new(AtomicBool::new(false)),
            notify: Arc::new(tokio::sync::Notify::new()),
        };
        let notify = dying.notify.clone();
        let opts = SyncOptions::default();
        let sync = reconcile::sync(&dying, &store, &cfg, &opts);
        tokio::select! {
            _ = sync => panic!("the sync should hang on the lost answer"),
            _ = notify.notified() => {}
        }
        assert!(dying.created.load(Ordering::SeqCst));
        assert!(
            !store.pending_intents().unwrap().is_empty(),
            "the creates are journalled"
        );
        assert!(
            store.groups().unwrap().is_empty(),
            "and nothing else was recorded"
        );
    } // "killed": the store is closed without any further record

    let store = Store::open_instance(dir.path(), "test").unwrap();
    assert!(store.is_dirty().unwrap());
    let r = run(&emu, &store, &cfg).await;
    assert_eq!(r.recovery.groups_recovered.len(), 1);
    assert_eq!(r.status, SyncStatus::Success);
    for name in [
        "department_engineering",
        "department_sales",
        "department_support",
    ] {
        assert_eq!(groups_named(&emu, name), 1, "{name}: no duplicate");
    }
    assert!(
        store
            .groups()
            .unwrap()
            .iter()
            .all(|g| g.created_by_us && !g.adopted),
        "ours, not a collision"
    );
    assert_eq!(members(&emu, "department_sales"), ["bo", "cy"]);
    assert!(store.pending_intents().unwrap().is_empty());
    assert!(!store.is_dirty().unwrap());
    let again = run(&emu, &store, &cfg).await;
    assert_eq!(again.api_calls.writes, 0);
}

#[tokio::test]
async fn status_and_groups_views_read_the_store() {
    let emu = support::emulator(ORG);
    let (_d, store) = store();
    let cfg = default_config();
    run(&emu, &store, &cfg).await;
    let status = dyngroups::cli::status::status_json(&store, 5).unwrap();
    assert_eq!(status["format_version"], 1);
    assert_eq!(status["last_sync"]["status"], "success");
    assert_eq!(status["last_sync"]["managed_groups"], 3);
    assert_eq!(status["last_sync"]["licensed_users"], 4);
    assert_eq!(status["last_sync"]["commit"], json!(cfg.commit));
    assert!(status["last_sync"]["at"].as_str().unwrap().ends_with('Z'));
    let groups = dyngroups::cli::status::groups_json(&store.groups().unwrap());
    assert_eq!(groups["format_version"], 1);
    let first = &groups["groups"][0];
    for key in ["name", "id", "members", "adopted", "values", "rule"] {
        assert!(first.get(key).is_some(), "groups[] lacks {key}");
    }

    // While a sync holds the store (here: this test), the views answer from the snapshot of the last run.
    let out = support::bin()
        .args(["status", "--format", "json", "--state"])
        .arg(store.dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("a sync is using the store"));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["last_sync"]["licensed_users"], 4);
    let out = support::bin()
        .args(["groups", "--stale", "--state"])
        .arg(store.dir())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("No stale groups"));
}

fn config_repo(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::write(
        dir.join("dyngroups.yaml"),
        "name: e2e\nenabled: true\nokta:\n  domain: example.okta.com\n  credential:\n    api_token_env: OKTA_API_TOKEN\n\
         policies:\n  empty_groups: keep\n  membership: respect_manual_full\n  collision: skip\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("rules/people.yaml"),
        "rules:\n  - attribute: profile.department\n    prefix: department\n",
    )
    .unwrap();
}

fn cli(
    args: &[&str],
    config: &std::path::Path,
    state: &std::path::Path,
    url: &str,
) -> assert_cmd::Command {
    let mut cmd = support::bin();
    cmd.args(args)
        .arg("--config")
        .arg(config)
        .arg("--state")
        .arg(state)
        .args(["--okta-url", url])
        .env("OKTA_API_TOKEN", "emulator-token")
        .env_remove("DYNGROUPS_TEST_HOOKS")
        .env_remove("DYNGROUPS_CRASH_AFTER_WRITES");
    cmd
}

/// The binary against the emulator over HTTP: a sync killed (SIGKILL) after a few Okta writes, a second run
/// that converges with no duplicate group, then the status and groups views in JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_sync_killed_midway_converges_and_the_views_show_it() {
    let emu = support::emulator(ORG);
    let server = support::serve(&emu).await;
    let url = server.base_url.clone();
    let config = tempfile::tempdir().unwrap();
    config_repo(config.path());
    let state = tempfile::tempdir().unwrap();
    let (c, s) = (config.path().to_path_buf(), state.path().join("store"));
    let outputs = tokio::task::spawn_blocking(move || {
        let killed = cli(&["sync"], &c, &s, &url)
            .env("DYNGROUPS_TEST_HOOKS", "1")
            .env("DYNGROUPS_CRASH_AFTER_WRITES", "2")
            .output()
            .unwrap();
        let killed_before = cli(&["sync"], &c, &s, &url)
            .env("DYNGROUPS_TEST_HOOKS", "1")
            .env("DYNGROUPS_CRASH_BEFORE_WRITE", "2")
            .output()
            .unwrap();
        assert!(
            !killed_before.status.success(),
            "the hook kills the second run before a write"
        );
        let again = cli(&["sync"], &c, &s, &url).output().unwrap();
        let noop = cli(&["sync", "--format", "json"], &c, &s, &url)
            .output()
            .unwrap();
        let status = cli(&["status", "--format", "json"], &c, &s, &url)
            .output()
            .unwrap();
        let groups = cli(&["groups", "--format", "json"], &c, &s, &url)
            .output()
            .unwrap();
        (killed, again, noop, status, groups)
    })
    .await
    .unwrap();
    let (killed, again, noop, status, groups) = outputs;
    assert!(!killed.status.success(), "the hook kills the first run");
    assert!(
        again.status.success(),
        "second run: {}",
        String::from_utf8_lossy(&again.stderr)
    );
    for name in [
        "department_engineering",
        "department_sales",
        "department_support",
    ] {
        assert_eq!(groups_named(&emu, name), 1, "{name}: exactly one group");
    }
    assert_eq!(members(&emu, "department_sales"), ["bo", "cy"]);
    let noop: serde_json::Value = serde_json::from_slice(&noop.stdout).unwrap();
    assert_eq!(noop["api_calls"]["writes"], 0);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["last_sync"]["managed_groups"], 3);
    assert_eq!(status["last_sync"]["licensed_users"], 4);
    let groups: serde_json::Value = serde_json::from_slice(&groups.stdout).unwrap();
    assert_eq!(groups["groups"].as_array().unwrap().len(), 3);
    assert!(
        groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["adopted"] == false)
    );
}

/// `plan --out` then `apply FILE`; `sync --dry-run --detailed-exitcode` says 2 while changes are pending and 0
/// after; a read-only token changes nothing and fails naming Okta's refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_plan_apply_dry_run_exit_codes_and_a_read_only_token() {
    let seed = format!(
        "{ORG}tokens:\n  - token: emulator-token\n    scopes: [okta.users.read, okta.groups.read, okta.groups.manage, okta.schemas.read]\n  - token: read-only-token\n    scopes: [okta.users.read, okta.groups.read, okta.schemas.read]\n"
    );
    let emu = support::emulator(&seed);
    let server = support::serve(&emu).await;
    let url = server.base_url.clone();
    let config = tempfile::tempdir().unwrap();
    config_repo(config.path());
    let state = tempfile::tempdir().unwrap();
    let (c, s) = (config.path().to_path_buf(), state.path().join("store"));
    let plan_file = state
        .path()
        .join("plan.json")
        .to_string_lossy()
        .into_owned();
    let emu2 = emu.clone();
    tokio::task::spawn_blocking(move || {
        let ro = cli(&["sync"], &c, &s, &url)
            .env("OKTA_API_TOKEN", "read-only-token")
            .output()
            .unwrap();
        assert_eq!(ro.status.code(), Some(1));
        let err =
            String::from_utf8_lossy(&ro.stdout).to_string() + &String::from_utf8_lossy(&ro.stderr);
        assert!(err.contains("403"), "{err}");
        assert!(
            emu2.group_by_name("department_sales").is_none(),
            "nothing changed"
        );

        let dry = cli(&["sync", "--dry-run", "--detailed-exitcode"], &c, &s, &url)
            .output()
            .unwrap();
        assert_eq!(
            dry.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&dry.stderr)
        );
        let plan = cli(&["plan", "--out", &plan_file], &c, &s, &url)
            .output()
            .unwrap();
        assert!(
            plan.status.success(),
            "{}",
            String::from_utf8_lossy(&plan.stderr)
        );
        // The same plan as plan format 1 wrote it (one action per membership) is refused, naming the fix.
        let mut old: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&plan_file).unwrap()).unwrap();
        let saved: Plan = serde_json::from_value(old.clone()).unwrap();
        let steps: Vec<Step> = saved.actions.iter().flat_map(Action::steps).collect();
        assert!(steps.iter().any(|s| matches!(s, Step::AddMember { .. })));
        old["format_version"] = json!(1);
        old["actions"] = serde_json::to_value(&steps).unwrap();
        let old_file = format!("{plan_file}.v1");
        std::fs::write(&old_file, old.to_string()).unwrap();
        let refused = cli(&["apply", &old_file], &c, &s, &url).output().unwrap();
        assert_eq!(refused.status.code(), Some(1));
        let err = String::from_utf8_lossy(&refused.stderr);
        assert!(
            err.contains(&old_file) && err.contains("re-run `dyngroups plan"),
            "{err}"
        );
        assert!(
            emu2.group_by_name("department_sales").is_none(),
            "nothing changed"
        );

        let apply = cli(&["apply", &plan_file], &c, &s, &url).output().unwrap();
        assert!(
            apply.status.success(),
            "{}",
            String::from_utf8_lossy(&apply.stderr)
        );
        // Applied once, the same plan is stale now.
        let again = cli(&["apply", &plan_file], &c, &s, &url).output().unwrap();
        assert_eq!(again.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&again.stderr).contains("stale"));
        let dry = cli(&["sync", "--dry-run", "--detailed-exitcode"], &c, &s, &url)
            .output()
            .unwrap();
        assert_eq!(dry.status.code(), Some(0));
        let text = cli(&["status"], &c, &s, &url).output().unwrap();
        let text = String::from_utf8_lossy(&text.stdout).to_string();
        assert!(
            text.contains("Managed groups:  3") && text.contains("Licensed users:  4"),
            "{text}"
        );
    })
    .await
    .unwrap();
    assert_eq!(members(&emu, "department_sales"), ["bo", "cy"]);
}

/// The failsafe through the binary: exit code 3, nothing applied to the group; `--allow-mass-changes` passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_failsafe_exits_3_and_the_override_applies() {
    let emu = support::emulator(ORG);
    let server = support::serve(&emu).await;
    let url = server.base_url.clone();
    let config = tempfile::tempdir().unwrap();
    config_repo(config.path());
    let instance = config.path().join("dyngroups.yaml");
    let text = std::fs::read_to_string(&instance).unwrap();
    std::fs::write(
        &instance,
        format!("{text}safety:\n  max_group_removal_percent: 30\n  min_group_size: 2\n  max_total_removal_percent: 100\n  max_group_deletes: 5\n"),
    )
    .unwrap();
    let state = tempfile::tempdir().unwrap();
    let (c, s) = (config.path().to_path_buf(), state.path().join("store"));
    let emu2 = emu.clone();
    tokio::task::spawn_blocking(move || {
        assert!(
            cli(&["sync"], &c, &s, &url)
                .output()
                .unwrap()
                .status
                .success()
        );
        for login in ["bo", "cy"] {
            emu2.set_attribute(
                &format!("{login}@example.com"),
                "department",
                json!("Support"),
            )
            .unwrap();
        }
        let stopped = cli(&["sync"], &c, &s, &url).output().unwrap();
        assert_eq!(
            stopped.status.code(),
            Some(3),
            "{}",
            String::from_utf8_lossy(&stopped.stderr)
        );
        let out = String::from_utf8_lossy(&stopped.stdout).to_string();
        assert!(
            out.contains("department_sales") && out.contains("failsafe"),
            "{out}"
        );
        assert_eq!(members(&emu2, "department_sales"), ["bo", "cy"]);
        let allowed = cli(&["sync", "--allow-mass-changes"], &c, &s, &url)
            .output()
            .unwrap();
        assert!(
            allowed.status.success(),
            "{}",
            String::from_utf8_lossy(&allowed.stderr)
        );
        assert!(members(&emu2, "department_sales").is_empty());
    })
    .await
    .unwrap();
}
