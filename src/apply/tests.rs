//! Unit tests of apply and journal recovery against a small in-memory fake of Okta's group endpoints.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use async_trait::async_trait;

use super::*;
use crate::okta::api::{GroupQuery, LogQuery};
use crate::okta::model::{Group, GroupProfile, GroupType, LogEvent, User, UserSchema};
use crate::plan::model::{
    Action, GroupRef, IdList, OrgGroup, PLAN_FORMAT_VERSION, Reason, Summary,
};
use crate::plan::state;

const RULE: &str = "profile.department:department";

#[derive(Default)]
struct Fake {
    groups: Mutex<BTreeMap<String, String>>, // id -> name
    members: Mutex<BTreeMap<String, BTreeSet<String>>>,
    writes: Mutex<u64>,
    fail_add_for: Option<String>,
    /// Create the group, then answer with a transport error (a lost answer / a crash right after).
    lose_create_answer: bool,
}

fn api_error(status: u16, code: &str) -> OktaError {
    OktaError::Api {
        method: "X".into(),
        path: "/".into(),
        status,
        code: code.into(),
        summary: "fake".into(),
        error_id: "e".into(),
        causes: vec![],
    }
}

fn group_json(id: &str, name: &str) -> Group {
    serde_json::from_value(serde_json::json!({
        "id": id, "type": "OKTA_GROUP", "profile": {"name": name, "description": null}
    }))
    .unwrap()
}

#[async_trait]
impl OktaApi for Fake {
    async fn list_users(&self, _s: Option<&str>) -> Result<Vec<User>, OktaError> {
        Ok(vec![])
    }
    async fn list_groups(&self, q: &GroupQuery) -> Result<Vec<Group>, OktaError> {
        let groups = self.groups.lock().unwrap();
        Ok(groups
            .iter()
            .filter(|(_, n)| q.q.as_ref().is_none_or(|p| n.starts_with(p.as_str())))
            .map(|(id, n)| group_json(id, n))
            .collect())
    }
    async fn get_group(&self, id: &str) -> Result<Group, OktaError> {
        let groups = self.groups.lock().unwrap();
        groups
            .get(id)
            .map(|n| group_json(id, n))
            .ok_or_else(|| api_error(404, "E0000007"))
    }
    async fn list_group_members(&self, _id: &str) -> Result<Vec<User>, OktaError> {
        Ok(vec![])
    }
    async fn create_group(&self, p: &GroupProfile) -> Result<Group, OktaError> {
        *self.writes.lock().unwrap() += 1;
        let mut groups = self.groups.lock().unwrap();
        if groups.values().any(|n| *n == p.name) {
            return Err(api_error(400, "E0000001"));
        }
        let id = format!("00g{}", groups.len() + 1);
        groups.insert(id.clone(), p.name.clone());
        if self.lose_create_answer {
            return Err(OktaError::Transport {
                method: "POST".into(),
                url: "/api/v1/groups".into(),
                detail: "connection reset".into(),
            });
        }
        Ok(group_json(&id, &p.name))
    }
    async fn update_group(&self, _id: &str, _p: &GroupProfile) -> Result<Group, OktaError> {
        unimplemented!()
    }
    async fn delete_group(&self, id: &str) -> Result<(), OktaError> {
        *self.writes.lock().unwrap() += 1;
        self.groups.lock().unwrap().remove(id);
        Ok(())
    }
    async fn add_member(&self, g: &str, u: &str) -> Result<(), OktaError> {
        *self.writes.lock().unwrap() += 1;
        if self.fail_add_for.as_deref() == Some(u) {
            return Err(api_error(404, "E0000007"));
        }
        self.members
            .lock()
            .unwrap()
            .entry(g.into())
            .or_default()
            .insert(u.into());
        Ok(())
    }
    async fn remove_member(&self, g: &str, u: &str) -> Result<(), OktaError> {
        if super::preflight::is_probe(g, u) {
            // The permission probe before the first write: allowed, changes nothing, not a write.
            return Ok(());
        }
        *self.writes.lock().unwrap() += 1;
        self.members
            .lock()
            .unwrap()
            .entry(g.into())
            .or_default()
            .remove(u);
        Ok(())
    }
    async fn user_schema(&self) -> Result<UserSchema, OktaError> {
        unimplemented!()
    }
    async fn list_logs(&self, _q: &LogQuery) -> Result<Vec<LogEvent>, OktaError> {
        Ok(vec![])
    }
}

fn plan(actions: Vec<Action>, after: &[(&str, &[&str])]) -> Plan {
    let users = state::from_users(after.iter().map(|(u, names)| (*u, names.iter().copied())));
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        config_commit: Some("c0ffee".into()),
        config_fingerprint: "cf".into(),
        okta_fingerprint: "of".into(),
        rules: vec![],
        stop_managing: vec![],
        actions,
        warnings: vec![],
        summary: Summary::default(),
        user_groups_after: BTreeMap::from([(RULE.to_string(), users)]),
    }
}

fn create(name: &str) -> Action {
    Action::CreateGroup {
        rule: RULE.into(),
        name: name.into(),
        description: None,
        values: vec![name.into()],
    }
}

fn add_new(name: &str, users: &[&str]) -> Action {
    Action::AddMembers {
        rule: RULE.into(),
        group: GroupRef::New { name: name.into() },
        reason: Reason::Matches,
        users: users.iter().collect(),
    }
}

/// The one step of a group action.
fn step(action: Action) -> Step {
    let mut steps = action.steps();
    let step = steps.next().expect("one step");
    assert!(steps.next().is_none());
    step
}

fn org_with(
    groups: &BTreeMap<String, String>,
    members: &BTreeMap<String, BTreeSet<String>>,
) -> OrgView {
    OrgView {
        users: vec![].into(),
        groups: groups
            .iter()
            .map(|(id, name)| OrgGroup {
                id: id.clone(),
                name: name.clone(),
                group_type: GroupType::OktaGroup,
                description: None,
            })
            .collect(),
        members: members
            .iter()
            .map(|(g, m)| (g.clone(), m.iter().collect()))
            .collect(),
    }
}

#[tokio::test]
async fn creates_groups_then_adds_members_and_records_everything() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let fake = Fake::default();
    let p = plan(
        vec![
            add_new("department_sales", &["00u1"]),
            create("department_sales"),
            add_new("department_sales", &["00u2"]),
        ],
        &[
            ("00u1", &["department_sales"]),
            ("00u2", &["department_sales"]),
        ],
    );
    let report = apply(
        &fake,
        &store,
        &p,
        &OrgView::default(),
        &ApplyOptions::default(),
    )
    .await
    .unwrap();
    assert!(report.complete(), "{report:?}");
    assert_eq!((report.counts.created, report.counts.added), (1, 2));
    assert_eq!(report.writes, 3);
    let groups = store.groups().unwrap();
    assert_eq!(groups.len(), 1);
    assert!(groups[0].created_by_us && !groups[0].adopted);
    assert_eq!(groups[0].members, 2);
    assert_eq!(store.licensed_users().unwrap(), 2);
    let r = store.remembered().unwrap();
    assert_eq!(state::by_user(&r.user_groups[RULE]).len(), 2);
    assert_eq!(r.added_by_us.values().map(IdList::len).sum::<usize>(), 2);
    assert!(store.pending_intents().unwrap().is_empty());
    assert!(!store.is_dirty().unwrap());
    assert!(store.is_initialized().unwrap());
    let audit = store.audit(10).unwrap();
    assert_eq!(audit.len(), 3);
    assert!(
        audit
            .iter()
            .all(|a| a.commit.as_deref() == Some("c0ffee") && a.ok)
    );
}

#[tokio::test]
async fn a_failed_write_keeps_the_users_old_state_so_the_next_run_retries() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let fake = Fake {
        fail_add_for: Some("00u2".into()),
        ..Default::default()
    };
    let p = plan(
        vec![
            create("department_sales"),
            add_new("department_sales", &["00u1", "00u2"]),
        ],
        &[
            ("00u1", &["department_sales"]),
            ("00u2", &["department_sales"]),
        ],
    );
    let report = apply(
        &fake,
        &store,
        &p,
        &OrgView::default(),
        &ApplyOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.counts.failed, 1);
    assert_eq!(report.failures.len(), 1);
    assert!(!report.complete());
    let r = store.remembered().unwrap();
    let users = state::by_user(&r.user_groups[RULE]);
    assert!(users.contains_key("00u1"));
    assert!(
        !users.contains_key("00u2"),
        "a failed add must not be remembered as done"
    );
    assert!(store.audit(10).unwrap().iter().any(|a| !a.ok));
}

#[tokio::test]
async fn blocked_groups_and_the_write_budget_hold_changes_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let fake = Fake::default();
    let p = plan(
        vec![
            create("department_sales"),
            create("department_ops"),
            add_new("department_sales", &["00u1"]),
            add_new("department_ops", &["00u2", "00u3"]),
        ],
        &[],
    );
    let opts = ApplyOptions {
        blocked: BTreeSet::from(["department_sales".to_string()]),
        max_writes: Some(2),
        concurrency: 1,
        ..Default::default()
    };
    let report = apply(&fake, &store, &p, &OrgView::default(), &opts)
        .await
        .unwrap();
    assert_eq!(report.counts.blocked, 2);
    assert_eq!(report.counts.created, 1);
    assert_eq!(report.counts.added, 1);
    assert_eq!(report.counts.deferred, 1);
    assert_eq!(*fake.writes.lock().unwrap(), 2);
}

#[tokio::test]
async fn a_lost_create_answer_is_recovered_as_our_group_without_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let fake = Fake {
        lose_create_answer: true,
        ..Default::default()
    };
    let p = plan(vec![create("department_sales")], &[]);
    let report = apply(
        &fake,
        &store,
        &p,
        &OrgView::default(),
        &ApplyOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.counts.failed, 1);
    // The answer was lost: the outcome is unknown, so the intent stays for the next run.
    assert_eq!(store.pending_intents().unwrap().len(), 1);
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    let rec = recover_before_observe(&fake, &store).await.unwrap();
    assert_eq!(rec.groups_recovered, vec!["department_sales".to_string()]);
    let groups = store.groups().unwrap();
    assert_eq!(groups.len(), 1);
    assert!(
        groups[0].created_by_us,
        "our half-made group is ours, not a collision"
    );
    assert!(store.pending_intents().unwrap().is_empty());
    assert_eq!(fake.groups.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn recovery_after_observe_settles_creates_and_memberships() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let groups = BTreeMap::from([("00g9".to_string(), "department_ops".to_string())]);
    let members = BTreeMap::from([("00g9".to_string(), BTreeSet::from(["00u1".to_string()]))]);
    store
        .begin_intents(
            None,
            vec![
                step(create("department_ops")),
                Step::AddMember {
                    rule: RULE.into(),
                    group: GroupRef::Existing {
                        id: "00g9".into(),
                        name: "department_ops".into(),
                    },
                    user: "00u1".into(),
                    reason: Reason::Matches,
                },
                step(create("department_never")),
            ],
        )
        .unwrap();
    let rec = recover_after_observe(&store, &org_with(&groups, &members)).unwrap();
    assert_eq!(rec.groups_recovered, vec!["department_ops".to_string()]);
    assert_eq!(rec.memberships_confirmed, 1);
    assert!(store.pending_intents().unwrap().is_empty());
    let r = store.remembered().unwrap();
    assert!(r.groups["00g9"].created_by_us);
    assert!(
        r.added_by_us
            .get("00g9")
            .is_some_and(|l| l.contains("00u1"))
    );
}

#[tokio::test]
async fn delete_and_stop_managing_forget_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let fake = Fake::default();
    let first = plan(
        vec![create("department_a"), create("department_b")],
        &[("00u1", &["department_a"])],
    );
    apply(
        &fake,
        &store,
        &first,
        &OrgView::default(),
        &ApplyOptions::default(),
    )
    .await
    .unwrap();
    let ids: BTreeMap<String, String> = store
        .groups()
        .unwrap()
        .into_iter()
        .map(|g| (g.name, g.id))
        .collect();
    let mut second = plan(
        vec![
            Action::DeleteGroup {
                rule: RULE.into(),
                id: ids["department_a"].clone(),
                name: "department_a".into(),
            },
            Action::StopManaging {
                rule: RULE.into(),
                id: ids["department_b"].clone(),
                name: "department_b".into(),
            },
        ],
        &[],
    );
    second.user_groups_after.clear();
    let report = apply(
        &fake,
        &store,
        &second,
        &OrgView::default(),
        &ApplyOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        (report.counts.deleted, report.counts.stopped_managing),
        (1, 1)
    );
    assert!(store.groups().unwrap().is_empty());
    assert!(
        store.remembered().unwrap().user_groups.is_empty(),
        "the removed rule's user state is gone"
    );
    // Stop managing leaves the group in Okta.
    assert_eq!(fake.groups.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_plan_without_okta_writes_is_not_probed_and_a_403_probe_stops_before_the_journal() {
    use crate::okta::error::OktaError;
    struct ReadOnly;
    #[async_trait::async_trait]
    impl crate::okta::api::OktaApi for ReadOnly {
        async fn list_users(
            &self,
            _: Option<&str>,
        ) -> Result<Vec<crate::okta::model::User>, OktaError> {
            Ok(vec![])
        }
        async fn list_groups(
            &self,
            _: &crate::okta::api::GroupQuery,
        ) -> Result<Vec<crate::okta::model::Group>, OktaError> {
            Ok(vec![])
        }
        async fn get_group(&self, _: &str) -> Result<crate::okta::model::Group, OktaError> {
            unreachable!("no read in this test")
        }
        async fn list_group_members(
            &self,
            _: &str,
        ) -> Result<Vec<crate::okta::model::User>, OktaError> {
            Ok(vec![])
        }
        async fn create_group(
            &self,
            _: &crate::okta::model::GroupProfile,
        ) -> Result<crate::okta::model::Group, OktaError> {
            panic!("a write was sent")
        }
        async fn update_group(
            &self,
            _: &str,
            _: &crate::okta::model::GroupProfile,
        ) -> Result<crate::okta::model::Group, OktaError> {
            panic!("a write was sent")
        }
        async fn delete_group(&self, _: &str) -> Result<(), OktaError> {
            panic!("a write was sent")
        }
        async fn add_member(&self, _: &str, _: &str) -> Result<(), OktaError> {
            panic!("a write was sent")
        }
        async fn remove_member(&self, g: &str, u: &str) -> Result<(), OktaError> {
            assert!(super::preflight::is_probe(g, u), "a write was sent");
            Err(OktaError::Api {
                method: "DELETE".into(),
                path: format!("/api/v1/groups/{g}/users/{u}"),
                status: 403,
                code: "E0000006".into(),
                summary: "You do not have permission to perform the requested action".into(),
                error_id: "x".into(),
                causes: vec![],
            })
        }
        async fn user_schema(&self) -> Result<crate::okta::model::UserSchema, OktaError> {
            unreachable!("no read in this test")
        }
        async fn list_logs(
            &self,
            _: &crate::okta::api::LogQuery,
        ) -> Result<Vec<crate::okta::model::LogEvent>, OktaError> {
            Ok(vec![])
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    // Nothing to send: no probe (ReadOnly would refuse it), nothing happens.
    let empty = plan(vec![], &[]);
    apply(
        &ReadOnly,
        &store,
        &empty,
        &OrgView::default(),
        &ApplyOptions::default(),
    )
    .await
    .unwrap();
    let p = plan(vec![create("department_sales")], &[]);
    let err = apply(
        &ReadOnly,
        &store,
        &p,
        &OrgView::default(),
        &ApplyOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("okta.groups.manage"), "{err}");
    assert!(err.to_string().contains("nothing was changed"), "{err}");
    assert!(
        store.pending_intents().unwrap().is_empty(),
        "nothing journalled"
    );
}
