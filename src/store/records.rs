//! The records the store keeps (managed groups, sync history, audit trail, journal intents), as serde types.
//! Each is stored as JSON under a versioned key (see `store::keys`); fields may be added with `#[serde(default)]`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::model::RuleId;
use crate::plan::model::{GroupId, ManagedGroup, Step, UserId};

/// A group this instance manages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredGroup {
    pub id: GroupId,
    pub name: String,
    pub rule: RuleId,
    /// Raw attribute values that fed the group at the last sync.
    pub values: Vec<String>,
    pub adopted: bool,
    pub created_by_us: bool,
    /// Members in Okta after the last sync that touched the group.
    #[serde(default)]
    pub members: u64,
    /// When this instance started managing the group.
    pub since: DateTime<Utc>,
    /// Config commit that made us create or adopt it.
    #[serde(default)]
    pub commit: Option<String>,
}

impl StoredGroup {
    /// A group this instance starts managing now: one it created (or reclaims as its own), or one it
    /// adopts; no members counted yet.
    pub fn starting(
        id: &str,
        name: &str,
        rule: &str,
        values: &[String],
        created_by_us: bool,
        commit: Option<&str>,
    ) -> StoredGroup {
        StoredGroup {
            id: id.to_string(),
            name: name.to_string(),
            rule: rule.to_string(),
            values: values.to_vec(),
            adopted: !created_by_us,
            created_by_us,
            members: 0,
            since: Utc::now(),
            commit: commit.map(str::to_string),
        }
    }

    pub fn managed(&self) -> ManagedGroup {
        ManagedGroup {
            id: self.id.clone(),
            name: self.name.clone(),
            rule: self.rule.clone(),
            values: self.values.clone(),
            adopted: self.adopted,
            created_by_us: self.created_by_us,
        }
    }
}

/// How a sync (or other store-changing run) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    /// Every planned change was applied.
    Success,
    /// Some changes failed or were deferred (budget); the next run continues.
    Partial,
    /// The failsafe held back changes to some groups.
    SafetyStop,
    /// Nothing (or not everything) could be done: see `message`.
    Failed,
}

impl SyncStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Success => "success",
            SyncStatus::Partial => "partial",
            SyncStatus::SafetyStop => "safety_stop",
            SyncStatus::Failed => "failed",
        }
    }
}

/// Counts of what one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncCounts {
    pub created: u64,
    pub adopted: u64,
    pub added: u64,
    pub removed: u64,
    pub deleted: u64,
    pub stopped_managing: u64,
    /// Okta refused or could not be reached.
    pub failed: u64,
    /// Held back by the failsafe.
    pub blocked: u64,
    /// Left for the next run (budget, or depending on a failed create).
    pub deferred: u64,
}

impl SyncCounts {
    pub fn changes(&self) -> u64 {
        self.created
            + self.adopted
            + self.added
            + self.removed
            + self.deleted
            + self.stopped_managing
    }
}

/// Okta requests made by one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiCalls {
    pub reads: u64,
    pub writes: u64,
}

impl ApiCalls {
    pub fn total(&self) -> u64 {
        self.reads + self.writes
    }
}

/// One entry of the sync history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRecord {
    pub at: DateTime<Utc>,
    /// `sync`, `apply`, `reinit`, `import`.
    pub kind: String,
    pub status: SyncStatus,
    pub commit: Option<String>,
    pub counts: SyncCounts,
    pub api_calls: ApiCalls,
    pub duration_ms: u64,
    pub managed_groups: u64,
    pub licensed_users: u64,
    /// Why it failed or stopped.
    #[serde(default)]
    pub message: Option<String>,
    /// For syncs: `incremental` or `full (why)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observe: Option<String>,
}

/// One change made (or attempted) in Okta or in what we manage, with the commit that caused it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub commit: Option<String>,
    /// `create_group`, `adopt_group`, `add_member`, `remove_member`, `delete_group`, `stop_managing`,
    /// `reclaim_group` (re-initialisation), `recover_group` (journal recovery).
    pub change: String,
    pub rule: RuleId,
    pub group_id: Option<GroupId>,
    pub group_name: String,
    pub user: Option<UserId>,
    pub ok: bool,
    #[serde(default)]
    pub error: Option<String>,
}

/// A change about to be sent to Okta. Written (and flushed, for group creation) before the call;
/// removed when the outcome is recorded. Whatever is left on open was interrupted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub commit: Option<String>,
    /// One write of a plan's action (named `action` in the JSON, as journals of earlier versions have it).
    /// For membership changes, `group` is always `GroupRef::Existing`.
    pub action: Step,
}
