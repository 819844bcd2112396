//! `state export` / `state import`: the whole store as one JSON document (a backup, a move to another
//! machine, or a migration path when sled's on-disk format changes).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::records::{AuditEntry, Intent, StoredGroup, SyncRecord};
use super::{FORMAT_VERSION, Store, StoreError, keys};
use crate::plan::model::{GroupId, UserId};

pub const EXPORT_KIND: &str = "dyngroups-state";

/// A managed group with its member set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedGroup {
    #[serde(flatten)]
    pub group: StoredGroup,
    #[serde(default)]
    pub member_ids: BTreeSet<UserId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateExport {
    pub kind: String,
    pub format_version: u32,
    pub instance: Option<String>,
    pub exported_at: DateTime<Utc>,
    pub groups: Vec<ExportedGroup>,
    pub user_groups: BTreeMap<String, BTreeMap<UserId, BTreeSet<String>>>,
    pub added_by_us: Vec<(GroupId, UserId)>,
    #[serde(default)]
    pub licensed_users: u64,
    /// Oldest first.
    #[serde(default)]
    pub history: Vec<SyncRecord>,
    /// Oldest first.
    #[serde(default)]
    pub audit: Vec<AuditEntry>,
    #[serde(default)]
    pub journal: Vec<Intent>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file is not a dyngroups state export (kind {0:?})")]
    NotAnExport(String),
    #[error(
        "the export has format version {found}; this dyngroups reads up to {supported}: upgrade dyngroups"
    )]
    NewerFormat { found: u32, supported: u32 },
    #[error("the export belongs to instance {found:?}, not {expected:?}")]
    OtherInstance { found: String, expected: String },
    #[error(
        "the store at {dir} already manages {groups} groups; pass --force to replace its contents"
    )]
    NotEmpty { dir: String, groups: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// The whole store as a document.
    pub fn export(&self) -> Result<StateExport, StoreError> {
        let mut groups = Vec::new();
        for group in self.groups()? {
            let member_ids = self.members(&group.id)?;
            groups.push(ExportedGroup { group, member_ids });
        }
        let mut history = self.history(usize::MAX)?;
        history.reverse();
        let mut audit = self.audit(usize::MAX)?;
        audit.reverse();
        Ok(StateExport {
            kind: EXPORT_KIND.to_string(),
            format_version: FORMAT_VERSION,
            instance: self.instance()?,
            exported_at: Utc::now(),
            groups,
            user_groups: self.user_groups()?,
            added_by_us: self.added_by_us()?.into_iter().collect(),
            licensed_users: self.licensed_users()?,
            history,
            audit,
            journal: self.pending_intents()?,
        })
    }

    /// Replaces the store's contents with an export. Refuses a store that already manages groups unless `force`.
    pub fn import(&self, doc: &StateExport, force: bool) -> Result<(), ImportError> {
        if doc.kind != EXPORT_KIND {
            return Err(ImportError::NotAnExport(doc.kind.clone()));
        }
        if doc.format_version > FORMAT_VERSION {
            return Err(ImportError::NewerFormat {
                found: doc.format_version,
                supported: FORMAT_VERSION,
            });
        }
        if let (Some(found), Some(expected)) = (&doc.instance, self.instance()?)
            && *found != expected
        {
            return Err(ImportError::OtherInstance {
                found: found.clone(),
                expected,
            });
        }
        let existing = self.groups()?.len();
        if existing > 0 && !force {
            return Err(ImportError::NotEmpty {
                dir: self.dir().display().to_string(),
                groups: existing,
            });
        }
        let mut w = self.writer();
        for prefix in [
            keys::GROUP,
            keys::MEMBERS,
            keys::USER_GROUPS,
            keys::ADDED,
            keys::HISTORY,
            keys::AUDIT,
            keys::JOURNAL,
            super::snap::SNAP,
        ] {
            for (k, _) in self.scan(prefix.as_bytes())? {
                w.remove_key(k);
            }
        }
        for g in &doc.groups {
            w.put_group(&g.group)?;
            w.set_members(&g.group.id, &g.member_ids)?;
        }
        for (rule, users) in &doc.user_groups {
            for (user, names) in users {
                w.set_user_groups(rule, user, names)?;
            }
        }
        for (group, user) in &doc.added_by_us {
            w.set_added(group, user, true);
        }
        for record in &doc.history {
            w.history(record)?;
        }
        for entry in &doc.audit {
            w.audit(entry)?;
        }
        for intent in &doc.journal {
            w.put_intent(intent)?;
        }
        w.set_licensed_users(doc.licensed_users);
        w.mark_initialized();
        w.commit()?;
        self.flush()?;
        Ok(())
    }
}
