//! What a reconcile run is asked to do, what it reports, and how it fails.

use std::path::PathBuf;

use serde::Serialize;

use crate::apply::recover::{RecoverError, RecoveryReport};
use crate::apply::safety::SafetyReport;
use crate::apply::{ApplyError, ApplyReport};
use crate::okta::error::OktaError;
use crate::plan::model::Plan;
use crate::store::{ApiCalls, StoreError, SyncStatus};

#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Plan and show; change nothing in Okta.
    pub dry_run: bool,
    /// Let this one run past the failsafe limits.
    pub allow_mass_changes: bool,
    /// Progress bar on a terminal.
    pub interactive: bool,
    /// Overrides the instance's `budget.max_writes_per_sync`.
    pub max_writes: Option<u64>,
    /// Observe the whole org even when an incremental observation would do (`sync --full`).
    pub full: bool,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub format_version: u32,
    /// `sync` or `apply`.
    pub kind: String,
    pub dry_run: bool,
    /// The instance is disabled: planned, nothing applied.
    pub disabled: bool,
    pub status: SyncStatus,
    pub commit: Option<String>,
    pub recovery: RecoveryReport,
    pub safety: SafetyReport,
    /// None for a dry run or a disabled instance.
    pub apply: Option<ApplyReport>,
    pub api_calls: ApiCalls,
    pub duration_ms: u64,
    pub managed_groups: u64,
    pub licensed_users: u64,
    /// Full or incremental observation, why, and what it read (None for `apply` of a saved plan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observe: Option<super::incremental::ObserveInfo>,
    #[serde(skip)]
    pub plan: Plan,
}

impl SyncReport {
    /// Changes the plan holds (for a dry run: what a sync would do).
    pub fn has_changes(&self) -> bool {
        !self.plan.actions.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Store(#[from] StoreError),
    // The cause is printed by the error chain (`caused by: ...`), not repeated here.
    #[error("{what}")]
    Okta {
        what: String,
        #[source]
        source: Box<OktaError>,
    },
    #[error(transparent)]
    Recover(#[from] Box<RecoverError>),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(
        "the store at {dir} has no record of any group, but Okta already holds {} group(s) with names this \
         config computes ({}). They may be groups an earlier dyngroups made (a lost or new store), so nothing \
         was changed. Restore the store from a backup with `dyngroups state import FILE` (made by \
         `dyngroups state export`), or re-initialise it with `dyngroups state reinit --adopt` (records these \
         groups as managed by this instance) or `dyngroups state reinit` (treats them by the collision policy)",
        names.len(), preview(names)
    )]
    UnknownGroups { dir: PathBuf, names: Vec<String> },
    #[error(
        "the saved plan is stale: {what} changed since it was made ({detail}); make a new plan"
    )]
    StalePlan { what: String, detail: String },
    #[error(
        "the saved plan has format version {found}; this dyngroups reads version {supported}: re-run \
         `dyngroups plan` and apply the new plan"
    )]
    PlanVersion { found: u32, supported: u32 },
    #[error(
        "the store at {dir} already manages {groups} group(s); re-initialising would discard that: pass --force"
    )]
    NotEmpty { dir: PathBuf, groups: usize },
}

fn preview(names: &[String]) -> String {
    let mut shown: Vec<&str> = names.iter().take(5).map(String::as_str).collect();
    if names.len() > 5 {
        shown.push("...");
    }
    shown.join(", ")
}
