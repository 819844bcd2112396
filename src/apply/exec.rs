//! The executing half of apply: sends a plan's actions to Okta in the safe order, one step (write) at a time,
//! journalled, concurrently for membership writes, and records each outcome (audit, managed groups, added
//! memberships).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use futures::StreamExt;

use rustc_hash::{FxHashMap, FxHashSet};

use super::hooks::Hooks;
use super::order::{Item, Key, all_items, budget_order, items};
use super::progress::Progress;
use super::{ApplyError, ApplyOptions, ApplyReport, Failure, MemberChanges, describe, is_fatal};
use crate::okta::api::OktaApi;
use crate::okta::error::OktaError;
use crate::okta::model::{Group, GroupProfile};
use crate::plan::model::{Action, GroupId, GroupRef, Plan, Step};
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
    /// (rule, user) pairs with a planned change that was not applied (borrowed from the plan: a budgeted
    /// first sync defers millions).
    pub unsettled: FxHashSet<Key<'a>>,
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
            unsettled: FxHashSet::default(),
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

    fn unsettle(&mut self, key: Option<Key<'a>>) {
        if let Some(key) = key {
            self.unsettled.insert(key);
        }
    }

    /// Counts the steps of an action the failsafe holds back; their users keep their old state.
    fn block(&mut self, action: &'a Action) {
        for item in items(action) {
            self.unsettle(item.key);
        }
        self.report.counts.blocked += action.step_count();
    }

    pub async fn execute(&mut self) -> Result<(), ApplyError> {
        let mut w = self.store.writer();
        w.set_dirty(true);
        w.commit()?;

        let mut adopts = Vec::new();
        let mut stops = Vec::new();
        let (mut creates, mut adds, mut removes, mut deletes) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let plan = self.plan;
        for action in &plan.actions {
            if !matches!(action, Action::StopManaging { .. })
                && self.opts.blocked.contains(action.group_name())
            {
                self.block(action);
                continue;
            }
            match action {
                Action::AdoptGroup { .. } => adopts.extend(action.steps()),
                Action::StopManaging { .. } => stops.extend(action.steps()),
                Action::CreateGroup { .. } => creates.push(action),
                Action::AddMembers { .. } => adds.push(action),
                Action::RemoveMembers { .. } => removes.push(action),
                Action::DeleteGroup { .. } => deletes.push(action),
            }
        }
        self.adopt(&adopts)?;
        self.progress.set_stage("creating groups");
        self.write_all(all_items(creates)).await?;
        if self.opts.max_writes.is_some() {
            // A budget may end the run early: spend it in the order that is safe to stop at.
            self.progress.set_stage("changing members");
            self.write_all(budget_order(adds, removes)).await?;
        } else {
            self.progress.set_stage("adding members");
            self.write_all(all_items(adds)).await?;
            self.progress.set_stage("removing members");
            self.write_all(all_items(removes)).await?;
        }
        self.progress.set_stage("deleting groups");
        self.write_all(all_items(deletes)).await?;
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
                w.put_group(&StoredGroup::starting(
                    id,
                    name,
                    rule,
                    values,
                    false,
                    self.commit(),
                ))?;
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

    /// The item's step, with `GroupRef::New` replaced by the id of the group created in this run; None (the
    /// step deferred) when that group was not created.
    fn resolve(&mut self, item: Item<'a>) -> Option<(Step, Option<Key<'a>>)> {
        let mut step = item.step()?;
        if let Step::AddMember { group, .. } | Step::RemoveMember { group, .. } = &mut step
            && let GroupRef::New { name } = group
        {
            match self.report.created.get(name.as_str()) {
                Some(id) => {
                    *group = GroupRef::Existing {
                        id: id.clone(),
                        name: name.clone(),
                    }
                }
                None => {
                    self.report.counts.deferred += 1;
                    self.unsettle(item.key);
                    return None;
                }
            }
        }
        Some((step, item.key))
    }

    /// Journals, sends and records a stream of Okta writes of one kind, `CHUNK` at a time.
    async fn write_all(
        &mut self,
        items: impl Iterator<Item = Item<'a>> + Send,
    ) -> Result<(), ApplyError> {
        let mut rest = items.peekable();
        while rest.peek().is_some() {
            if self.halted().is_some() || self.budget_spent() {
                for item in rest.by_ref() {
                    self.report.counts.deferred += 1;
                    self.unsettle(item.key);
                }
                break;
            }
            // Never more than the budget left, so the cut falls exactly where the order puts it.
            let left = self.opts.max_writes.map_or(CHUNK as u64, |max| {
                max.saturating_sub(self.writes.load(Ordering::SeqCst))
            });
            let take = (left.min(CHUNK as u64) as usize).max(1);
            let mut steps = Vec::with_capacity(take);
            let mut keys = Vec::with_capacity(take);
            while steps.len() < take {
                let Some(item) = rest.next() else { break };
                if let Some((step, key)) = self.resolve(item) {
                    steps.push(step);
                    keys.push(key);
                }
            }
            if steps.is_empty() {
                continue;
            }
            let intents = self
                .store
                .begin_intents(self.plan.config_commit.as_deref(), steps)?;
            let keys: FxHashMap<u64, Key<'a>> = intents
                .iter()
                .zip(keys)
                .filter_map(|(i, k)| k.map(|k| (i.seq, k)))
                .collect();
            let results = self.send(intents).await;
            self.record(results, &keys)?;
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

    fn record(
        &mut self,
        results: Vec<(Intent, Outcome)>,
        keys: &FxHashMap<u64, Key<'a>>,
    ) -> Result<(), ApplyError> {
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
                    self.unsettle(keys.get(&intent.seq).copied());
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
                    self.unsettle(keys.get(&intent.seq).copied());
                }
                Outcome::Done(group) => {
                    w.clear_intent(intent.seq);
                    match step {
                        Step::CreateGroup {
                            rule, name, values, ..
                        } => {
                            let Some(group) = group else { continue };
                            w.put_group(&StoredGroup::starting(
                                &group.id, name, rule, values, true, commit,
                            ))?;
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
