//! Executes exactly a plan's actions against Okta, journalled, in a safe order, under the failsafe.
//! Apply works on [`Step`]s, one per write, expanded from the plan's grouped actions.
//!
//! Order: adopt and create groups, add members, remove members, delete groups, stop managing. Every Okta
//! write is first recorded as an intent in the store's journal (flushed), then sent; its outcome is
//! recorded (audit entry, managed group, added-membership) and the intent cleared in one atomic batch.
//! A process that dies in between leaves intents that [`recover`] resolves on the next run.
//! Per-user state (`plan.user_groups_after`) is recorded only for (rule, user) pairs whose changes were
//! all applied; the others keep their previous record so that the next run plans them again.

mod exec;
pub mod hooks;
mod order;
pub mod preflight;
pub mod progress;
mod record;
pub mod recover;
pub mod safety;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::okta::api::OktaApi;
use crate::okta::error::OktaError;
use crate::plan::model::{GroupId, OrgView, Plan, Step, UserId};
use crate::store::{Store, StoreError, SyncCounts};

pub use recover::{RecoveryReport, recover_after_observe, recover_before_observe};

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Okta writes in flight at once (the client paces itself to the rate limits).
    pub concurrency: usize,
    /// Most Okta writes this run; the rest is left for the next run.
    pub max_writes: Option<u64>,
    /// Group names the failsafe holds back: no action touching them runs.
    pub blocked: BTreeSet<String>,
    /// A progress bar on a terminal (otherwise log lines).
    pub interactive: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            concurrency: 16,
            max_writes: None,
            blocked: BTreeSet::new(),
            interactive: false,
        }
    }
}

/// A change that Okta refused or that could not be sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// What was attempted, with ids only (no personal data).
    pub change: String,
    pub error: String,
}

/// What an apply did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApplyReport {
    pub counts: SyncCounts,
    /// Okta write calls made.
    pub writes: u64,
    pub failures: Vec<Failure>,
    /// The run stopped sending changes (permission refused, rate limit or network after retries).
    pub halted: Option<String>,
    /// Names of groups created in this run -> their Okta ids.
    pub created: BTreeMap<String, GroupId>,
    /// Managed groups after the run.
    pub managed_groups: u64,
    /// Distinct users in at least one managed group after the run.
    pub licensed_users: u64,
}

impl ApplyReport {
    /// Everything planned and allowed was applied.
    pub fn complete(&self) -> bool {
        self.counts.failed == 0 && self.counts.deferred == 0 && self.halted.is_none()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    CannotManageGroups(#[from] Box<preflight::CannotManageGroups>),
}

/// Short, id-only description of a step for logs, failures and the audit trail.
pub fn describe(step: &Step) -> String {
    match step {
        Step::CreateGroup { name, .. } => format!("create group {name:?}"),
        Step::AdoptGroup { id, name, .. } => format!("adopt group {name:?} ({id})"),
        Step::AddMember { group, user, .. } => {
            format!("add user {user} to group {:?}", group.name())
        }
        Step::RemoveMember { group, user, .. } => {
            format!("remove user {user} from group {:?}", group.name())
        }
        Step::DeleteGroup { id, name, .. } => format!("delete group {name:?} ({id})"),
        Step::StopManaging { id, name, .. } => format!("stop managing group {name:?} ({id})"),
    }
}

/// Errors after which sending more changes is pointless in this run.
fn is_fatal(e: &OktaError) -> bool {
    matches!(
        e,
        OktaError::RateLimited { .. }
            | OktaError::Transport { .. }
            | OktaError::OAuth { .. }
            | OktaError::Setup(_)
    ) || e.is_unauthorized()
        || e.is_forbidden()
}

/// Applies `plan` (made from `org`) through `api` and records everything in `store`.
/// Returns `Err` only when the store itself fails; Okta's refusals are in the report.
pub async fn apply(
    api: &dyn OktaApi,
    store: &Store,
    plan: &Plan,
    org: &OrgView,
    opts: &ApplyOptions,
) -> Result<ApplyReport, ApplyError> {
    // Before any intent is journalled or any write sent: a credential that cannot manage groups stops here.
    preflight::preflight(api, plan, opts.max_writes).await?;
    let remembered = store.remembered()?;
    let mut run = exec::Run::new(api, store, plan, opts)?;
    run.execute().await?;
    let report = record::finish(store, plan, org, &remembered, run)?;
    Ok(report)
}

/// Members per group: observed, with what this run changed applied on top.
pub(crate) type MemberChanges = BTreeMap<GroupId, (BTreeSet<UserId>, BTreeSet<UserId>)>;

#[cfg(test)]
mod tests;
