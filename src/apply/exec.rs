//! The executing half of apply: sends a plan's actions to Okta in the safe order, one step (write) at a time,
//! journalled, concurrently for membership writes, and records each outcome (audit, managed groups, added
//! memberships).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use futures::StreamExt;

use super::hooks::Hooks;
use super::progress::Progress;
use super::{ApplyError, ApplyOptions, ApplyReport, Failure, MemberChanges, describe, is_fatal};
use crate::config::model::RuleId;
use crate::okta::api::OktaApi;
use crate::okta::error::OktaError;
use crate::okta::model::{Group, GroupProfile};
use crate::plan::model::{Action, GroupId, GroupRef, Plan, Step, UserId};
use crate::store::{AuditEntry, Intent, Store, StoredGroup};

/// Intents journalled (and flushed) per round of concurrent writes.
const CHUNK: usize = 256;

pub(super) enum Outcome {
    Done(Option<Box<Group>>),
    Failed(OktaError),
    /// Not sent: the run halted or the write budget is spent.
    Skipped,
}

pub(crate) struct Run<'a> {
    api: &'a dyn OktaApi,
    store: &'a Store,
    plan: &'a Plan,
    opts: &'a ApplyOptions,
    hooks: Hooks,
    progress: Progress,
    writes: AtomicU64,
    halted: Mutex<Option<String>>,
    pub report: ApplyReport,
    /// (rule, user) pairs with a planned change that was not applied.
    pub unsettled: BTreeSet<(RuleId, UserId)>,
    /// group id -> (users added, users removed) in this run.
    pub member_changes: MemberChanges,
    /// Groups created in this run.
    pub created_ids: BTreeSet<GroupId>,
}

pub(super) fn change_name(step: &Step) -> &'static str {
    match step {
        Step::CreateGroup { .. } => "create_group",
        Step::AdoptGroup { .. } => "adopt_group",
        Step::AddMember { .. } => "add_member",
        Step::RemoveMember { .. } => "remove_member",
        Step::DeleteGroup { .. } => "delete_group",
        Step::StopManaging { .. } => "stop_managing",
    }
}

/// Membership writes in the order a write budget is spent: removals of users who gain no group (leavers,
/// non-matching members) first; then users who move, each one's removal right before their addition (a
/// budget that runs out never leaves a moved user in both groups); then additions of users who lose none.
/// Ties keep the plan's order.
pub(super) fn budget_order(adds: Vec<Step>, removes: Vec<Step>) -> Vec<Step> {
    let gaining: BTreeSet<String> = adds
        .iter()
        .filter_map(|a| a.user().map(str::to_string))
        .collect();
    let losing: BTreeSet<String> = removes
        .iter()
        .filter_map(|a| a.user().map(str::to_string))
        .collect();
    let mut all: Vec<(u8, String, u8, Step)> = Vec::with_capacity(adds.len() + removes.len());
    for a in removes {
        let user = a.user().unwrap_or_default().to_string();
        let class = if gaining.contains(&user) { 1 } else { 0 };
        all.push((class, if class == 1 { user } else { String::new() }, 0, a));
    }
    for a in adds {
        let user = a.user().unwrap_or_default().to_string();
        let class = if losing.contains(&user) { 1 } else { 2 };
        all.push((class, if class == 1 { user } else { String::new() }, 1, a));
    }
    all.sort_by(|x, y| (x.0, &x.1, x.2).cmp(&(y.0, &y.1, y.2)));
    all.into_iter().map(|(.., a)| a).collect()
}

pub(super) fn audit_entry(
    step: &Step,
    commit: Option<&str>,
    group_id: Option<&str>,
    error: Option<String>,
) -> AuditEntry {
    AuditEntry {
        at: Utc::now(),
        commit: commit.map(str::to_string),
        change: change_name(step).to_string(),
        rule: step.rule().to_string(),
        group_id: group_id.or(step.group_id()).map(str::to_string),
        group_name: step.group_name().to_string(),
        user: step.user().map(str::to_string),
        ok: error.is_none(),
        error,
    }
}

/// A group creation or deletion whose failure does not prove that Okta did nothing.
fn outcome_unknown(step: &Step, e: &OktaError) -> bool {
    let definitive = match e {
        OktaError::Api { status, code, .. } => {
            (400..500).contains(status)
                && !(matches!(step, Step::CreateGroup { .. }) && code == "E0000001")
        }
        OktaError::OAuth { .. } | OktaError::Setup(_) => true,
        _ => false,
    };
    matches!(step, Step::CreateGroup { .. } | Step::DeleteGroup { .. }) && !definitive
}

impl<'a> Run<'a> {
    pub fn new(
        api: &'a dyn OktaApi,
        store: &'a Store,
        plan: &'a Plan,
        opts: &'a ApplyOptions,
    ) -> Result<Run<'a>, ApplyError> {
        let writes = plan.actions.iter().map(Action::writes).sum();
        Ok(Run {
            api,
            store,
            plan,
            opts,
            hooks: Hooks::from_env(),
            progress: Progress::new(writes, opts.interactive),
            writes: AtomicU64::new(0),
            halted: Mutex::new(None),
            report: ApplyReport::default(),
            unsettled: BTreeSet::new(),
            member_changes: BTreeMap::new(),
            created_ids: BTreeSet::new(),
        })
    }

    fn commit(&self) -> Option<&str> {
        self.plan.config_commit.as_deref()
    }

    pub fn halted(&self) -> Option<String> {
        self.halted.lock().ok().and_then(|h| h.clone())
    }

    fn unsettle(&mut self, step: &Step) {
        if let Some(user) = step.user() {
            self.unsettled
                .insert((step.rule().to_string(), user.to_string()));
        }
    }

    /// Counts the steps of an action the failsafe holds back; their users keep their old state.
    fn block(&mut self, action: &Action) {
        match action {
            Action::AddMembers { rule, users, .. } | Action::RemoveMembers { rule, users, .. } => {
                for user in users {
                    self.unsettled.insert((rule.clone(), user.to_string()));
                }
            }
            _ => {}
        }
        self.report.counts.blocked += action.step_count();
    }

    pub async fn execute(&mut self) -> Result<(), ApplyError> {
        let mut w = self.store.writer();
        w.set_dirty(true);
        w.commit()?;

        let mut adopts = Vec::new();
        let mut creates = Vec::new();
        let mut adds = Vec::new();
        let mut removes = Vec::new();
        let mut deletes = Vec::new();
        let mut stops = Vec::new();
        let plan = self.plan;
        for action in &plan.actions {
            if !matches!(action, Action::StopManaging { .. })
                && self.opts.blocked.contains(action.group_name())
            {
                self.block(action);
                continue;
            }
            let into = match action {
                Action::AdoptGroup { .. } => &mut adopts,
                Action::CreateGroup { .. } => &mut creates,
                Action::AddMembers { .. } => &mut adds,
                Action::RemoveMembers { .. } => &mut removes,
                Action::DeleteGroup { .. } => &mut deletes,
                Action::StopManaging { .. } => &mut stops,
            };
            into.extend(action.steps());
        }
        self.adopt(&adopts)?;
        self.progress.set_stage("creating groups");
        self.write_all(creates).await?;
        if self.opts.max_writes.is_some() {
            // A budget may end the run early: spend it in the order that is safe to stop at.
            self.progress.set_stage("changing members");
            let adds = self.resolve(adds);
            let removes = self.resolve(removes);
            self.write_all(budget_order(adds, removes)).await?;
        } else {
            self.progress.set_stage("adding members");
            let adds = self.resolve(adds);
            self.write_all(adds).await?;
            self.progress.set_stage("removing members");
            let removes = self.resolve(removes);
            self.write_all(removes).await?;
        }
        self.progress.set_stage("deleting groups");
        self.write_all(deletes).await?;
        self.stop_managing(&stops)?;
        self.progress.finish();
        self.report.writes = self.writes.load(Ordering::SeqCst);
        self.report.halted = self.halted();
        Ok(())
    }

    fn adopt(&mut self, adopts: &[Step]) -> Result<(), ApplyError> {
        let mut w = self.store.writer();
        for step in adopts {
            if let Step::AdoptGroup {
                rule,
                id,
                name,
                values,
            } = step
            {
                w.put_group(&StoredGroup {
                    id: id.clone(),
                    name: name.clone(),
                    rule: rule.clone(),
                    values: values.clone(),
                    adopted: true,
                    created_by_us: false,
                    members: 0,
                    since: Utc::now(),
                    commit: self.commit().map(str::to_string),
                })?;
                w.audit(&audit_entry(step, self.commit(), None, None))?;
                self.report.counts.adopted += 1;
            }
        }
        w.commit()?;
        Ok(())
    }

    fn stop_managing(&mut self, stops: &[Step]) -> Result<(), ApplyError> {
        let mut w = self.store.writer();
        for step in stops {
            if let Step::StopManaging { id, .. } = step {
                w.remove_group(id)?;
                w.audit(&audit_entry(step, self.commit(), None, None))?;
                self.report.counts.stopped_managing += 1;
            }
        }
        w.commit()?;
        Ok(())
    }

    /// Replaces `GroupRef::New` by the id of the group created in this run; defers steps whose group was not created.
    fn resolve(&mut self, steps: Vec<Step>) -> Vec<Step> {
        let mut out = Vec::with_capacity(steps.len());
        for mut step in steps {
            let group = match &mut step {
                Step::AddMember { group, .. } | Step::RemoveMember { group, .. } => group,
                _ => {
                    out.push(step);
                    continue;
                }
            };
            if let GroupRef::New { name } = group {
                match self.report.created.get(name.as_str()) {
                    Some(id) => {
                        *group = GroupRef::Existing {
                            id: id.clone(),
                            name: name.clone(),
                        }
                    }
                    None => {
                        self.report.counts.deferred += 1;
                        self.unsettle(&step);
                        continue;
                    }
                }
            }
            out.push(step);
        }
        out
    }

    /// Journals, sends and records a list of Okta writes of one kind, `CHUNK` at a time.
    async fn write_all(&mut self, steps: Vec<Step>) -> Result<(), ApplyError> {
        let mut rest = steps.into_iter().peekable();
        while rest.peek().is_some() {
            // Never more than the budget left, so the cut falls exactly where the order puts it.
            let left = self.opts.max_writes.map_or(CHUNK as u64, |max| {
                max.saturating_sub(self.writes.load(Ordering::SeqCst))
            });
            let take = (left.min(CHUNK as u64) as usize).max(1);
            let chunk: Vec<Step> = rest.by_ref().take(take).collect();
            if self.halted().is_some() || self.budget_spent() {
                for step in &chunk {
                    self.report.counts.deferred += 1;
                    self.unsettle(step);
                }
                continue;
            }
            let intents = self
                .store
                .begin_intents(self.plan.config_commit.as_deref(), chunk)?;
            let results = self.send(intents).await;
            self.record(results)?;
        }
        Ok(())
    }

    fn budget_spent(&self) -> bool {
        self.opts
            .max_writes
            .is_some_and(|max| self.writes.load(Ordering::SeqCst) >= max)
    }

    async fn send(&self, intents: Vec<Intent>) -> Vec<(Intent, Outcome)> {
        let concurrency = self.opts.concurrency.max(1);
        futures::stream::iter(intents.into_iter().map(|intent| async move {
            let outcome = self.send_one(&intent.action).await;
            (intent, outcome)
        }))
        .buffer_unordered(concurrency)
        .collect()
        .await
    }

    async fn send_one(&self, step: &Step) -> Outcome {
        if self.halted().is_some() {
            return Outcome::Skipped;
        }
        let n = self.writes.fetch_add(1, Ordering::SeqCst);
        if self.opts.max_writes.is_some_and(|max| n >= max) {
            self.writes.fetch_sub(1, Ordering::SeqCst);
            return Outcome::Skipped;
        }
        self.hooks.before_write();
        let result = match step {
            Step::CreateGroup {
                name, description, ..
            } => self
                .api
                .create_group(&GroupProfile {
                    name: name.clone(),
                    description: description.clone(),
                    extra: Default::default(),
                })
                .await
                .map(Some),
            Step::AddMember {
                group: GroupRef::Existing { id, .. },
                user,
                ..
            } => self.api.add_member(id, user).await.map(|_| None),
            Step::RemoveMember {
                group: GroupRef::Existing { id, .. },
                user,
                ..
            } => self.api.remove_member(id, user).await.map(|_| None),
            Step::DeleteGroup { id, .. } => match self.api.delete_group(id).await {
                Err(e) if e.is_not_found() => Ok(None),
                other => other.map(|_| None),
            },
            _ => Ok(None),
        };
        self.hooks.after_write();
        self.progress.inc();
        match result {
            Ok(group) => Outcome::Done(group.map(Box::new)),
            Err(e) => {
                if is_fatal(&e)
                    && let Ok(mut h) = self.halted.lock()
                    && h.is_none()
                {
                    *h = Some(format!("stopped sending changes after: {e}"));
                }
                Outcome::Failed(e)
            }
        }
    }

    fn record(&mut self, results: Vec<(Intent, Outcome)>) -> Result<(), ApplyError> {
        let commit = self.plan.config_commit.clone();
        let commit = commit.as_deref();
        let mut w = self.store.writer();
        let mut created_any = false;
        for (intent, outcome) in results {
            let step = &intent.action;
            match outcome {
                Outcome::Skipped => {
                    // Never sent: forget the intent, the next run plans it again.
                    w.clear_intent(intent.seq);
                    self.report.counts.deferred += 1;
                    self.unsettle(step);
                }
                Outcome::Failed(e) => {
                    if outcome_unknown(step, &e) {
                        // Okta may have done it (a lost answer, a retried POST): keep the intent, so that the
                        // next run looks the group up instead of taking it for someone else's.
                        tracing::warn!(
                            "{}: outcome unknown ({e}); the next run checks it",
                            describe(step)
                        );
                    } else {
                        w.clear_intent(intent.seq);
                    }
                    w.audit(&audit_entry(step, commit, None, Some(e.to_string())))?;
                    tracing::warn!("{}: {e}", describe(step));
                    self.report.failures.push(Failure {
                        change: describe(step),
                        error: e.to_string(),
                    });
                    self.report.counts.failed += 1;
                    self.unsettle(step);
                }
                Outcome::Done(group) => {
                    w.clear_intent(intent.seq);
                    match step {
                        Step::CreateGroup {
                            rule, name, values, ..
                        } => {
                            let Some(group) = group else { continue };
                            w.put_group(&StoredGroup {
                                id: group.id.clone(),
                                name: name.clone(),
                                rule: rule.clone(),
                                values: values.clone(),
                                adopted: false,
                                created_by_us: true,
                                members: 0,
                                since: Utc::now(),
                                commit: commit.map(str::to_string),
                            })?;
                            w.audit(&audit_entry(step, commit, Some(&group.id), None))?;
                            self.report.created.insert(name.clone(), group.id.clone());
                            self.created_ids.insert(group.id.clone());
                            self.report.counts.created += 1;
                            created_any = true;
                        }
                        Step::AddMember {
                            group: GroupRef::Existing { id, .. },
                            user,
                            ..
                        } => {
                            w.set_added(id, user, true);
                            w.audit(&audit_entry(step, commit, None, None))?;
                            let entry = self.member_changes.entry(id.clone()).or_default();
                            entry.1.remove(user);
                            entry.0.insert(user.clone());
                            self.report.counts.added += 1;
                        }
                        Step::RemoveMember {
                            group: GroupRef::Existing { id, .. },
                            user,
                            ..
                        } => {
                            w.set_added(id, user, false);
                            w.audit(&audit_entry(step, commit, None, None))?;
                            let entry = self.member_changes.entry(id.clone()).or_default();
                            entry.0.remove(user);
                            entry.1.insert(user.clone());
                            self.report.counts.removed += 1;
                        }
                        Step::DeleteGroup { id, .. } => {
                            w.remove_group(id)?;
                            w.audit(&audit_entry(step, commit, None, None))?;
                            self.report.counts.deleted += 1;
                        }
                        _ => {}
                    }
                }
            }
        }
        w.commit()?;
        if created_any {
            // A created group must never be forgotten: make its record durable now.
            self.store.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod budget_tests {
    use super::*;
    use crate::plan::model::Reason;

    fn member(add: bool, group: &str, user: &str) -> Step {
        let group = GroupRef::Existing {
            id: format!("id-{group}"),
            name: group.to_string(),
        };
        let (rule, user) = (
            "profile.department:department".to_string(),
            user.to_string(),
        );
        if add {
            Step::AddMember {
                rule,
                group,
                user,
                reason: Reason::NewlyMatches,
            }
        } else {
            Step::RemoveMember {
                rule,
                group,
                user,
                reason: Reason::ValueChanged,
            }
        }
    }

    #[test]
    fn a_budget_is_spent_on_leavers_then_moves_in_pairs_then_new_access() {
        let adds = vec![
            member(true, "b", "u-new"),
            member(true, "b", "u2"),
            member(true, "c", "u1"),
        ];
        let removes = vec![
            member(false, "a", "u1"),
            member(false, "a", "u2"),
            member(false, "a", "u-left"),
        ];
        let order: Vec<String> = budget_order(adds, removes)
            .iter()
            .map(|a| describe(a).replace("group ", ""))
            .collect();
        assert_eq!(
            order,
            vec![
                "remove user u-left from \"a\"",
                "remove user u1 from \"a\"",
                "add user u1 to \"c\"",
                "remove user u2 from \"a\"",
                "add user u2 to \"b\"",
                "add user u-new to \"b\"",
            ]
        );
    }
}
