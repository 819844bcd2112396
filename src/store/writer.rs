//! One atomic change to the store: a sled batch assembled by apply/reconcile, committed at once.

use std::collections::BTreeSet;

use chrono::Utc;
use serde::Serialize;

use super::records::{AuditEntry, Intent, StoredGroup, SyncRecord};
use super::{Store, StoreError, keys};

/// Collects writes; nothing is visible until [`Writer::commit`], and then all of it is.
pub struct Writer<'a> {
    store: &'a Store,
    batch: sled::Batch,
    ops: usize,
}

impl<'a> Writer<'a> {
    pub(super) fn new(store: &'a Store) -> Writer<'a> {
        Writer {
            store,
            batch: sled::Batch::default(),
            ops: 0,
        }
    }

    pub(crate) fn store(&self) -> &'a Store {
        self.store
    }

    pub fn is_empty(&self) -> bool {
        self.ops == 0
    }

    /// Changes in the batch so far.
    pub fn len(&self) -> usize {
        self.ops
    }

    pub(crate) fn put_raw(&mut self, key: impl AsRef<[u8]>, value: Vec<u8>) {
        self.batch.insert(key.as_ref(), value);
        self.ops += 1;
    }

    fn remove_raw(&mut self, key: impl AsRef<[u8]>) {
        self.batch.remove(key.as_ref());
        self.ops += 1;
    }

    pub(crate) fn remove_key(&mut self, key: impl AsRef<[u8]>) {
        self.remove_raw(key)
    }

    fn put_json<T: Serialize>(&mut self, key: Vec<u8>, value: &T) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Io {
            dir: self.store.dir.clone(),
            what: format!("encoding {}", String::from_utf8_lossy(&key)),
            detail: e.to_string(),
        })?;
        self.put_raw(key, bytes);
        Ok(())
    }

    pub fn put_group(&mut self, group: &StoredGroup) -> Result<(), StoreError> {
        self.put_json(keys::group(&group.id), group)
    }

    /// Forgets a managed group with its member set and the memberships we added to it.
    pub fn remove_group(&mut self, id: &str) -> Result<(), StoreError> {
        self.remove_raw(keys::group(id));
        self.remove_raw(keys::members(id));
        for (k, _) in self.store.scan(&keys::added_group_prefix(id))? {
            self.remove_raw(k);
        }
        Ok(())
    }

    pub fn set_members(
        &mut self,
        group: &str,
        members: &BTreeSet<String>,
    ) -> Result<(), StoreError> {
        self.put_json(keys::members(group), members)
    }

    /// Records the group names a user's values yield for a rule; an empty set removes the record.
    pub fn set_user_groups(
        &mut self,
        rule: &str,
        user: &str,
        names: &BTreeSet<String>,
    ) -> Result<(), StoreError> {
        if names.is_empty() {
            self.remove_raw(keys::user_groups(rule, user));
            Ok(())
        } else {
            self.put_json(keys::user_groups(rule, user), names)
        }
    }

    /// Forgets every user's state for a rule (the rule was removed).
    pub fn remove_rule_user_groups(&mut self, rule: &str) -> Result<(), StoreError> {
        for (k, _) in self.store.scan(&keys::user_groups_rule_prefix(rule))? {
            self.remove_raw(k);
        }
        Ok(())
    }

    pub fn set_added(&mut self, group: &str, user: &str, added: bool) {
        if added {
            self.put_raw(keys::added(group, user), Vec::new());
        } else {
            self.remove_raw(keys::added(group, user));
        }
    }

    pub fn audit(&mut self, entry: &AuditEntry) -> Result<(), StoreError> {
        let seq = self.store.next_seq()?;
        self.put_json(keys::seq(keys::AUDIT, seq), entry)
    }

    pub fn history(&mut self, record: &SyncRecord) -> Result<(), StoreError> {
        let seq = self.store.next_seq()?;
        self.put_json(keys::seq(keys::HISTORY, seq), record)
    }

    pub fn put_intent(&mut self, intent: &Intent) -> Result<(), StoreError> {
        self.put_json(keys::seq(keys::JOURNAL, intent.seq), intent)
    }

    pub fn clear_intent(&mut self, seq: u64) {
        self.remove_raw(keys::seq(keys::JOURNAL, seq));
    }

    pub fn set_licensed_users(&mut self, count: u64) {
        self.put_raw(keys::LICENSED_USERS_KEY, count.to_string().into_bytes());
    }

    pub fn set_dirty(&mut self, dirty: bool) {
        if dirty {
            self.put_raw(keys::DIRTY_KEY, Utc::now().to_rfc3339().into_bytes());
        } else {
            self.remove_raw(keys::DIRTY_KEY);
        }
    }

    /// Marks the store as holding this instance's real state (first sync, import, re-initialisation).
    pub fn mark_initialized(&mut self) {
        self.put_raw(keys::INITIALIZED_KEY, Utc::now().to_rfc3339().into_bytes());
    }

    /// Applies every collected write atomically.
    pub fn commit(self) -> Result<(), StoreError> {
        if self.ops == 0 {
            return Ok(());
        }
        self.store
            .db
            .apply_batch(self.batch)
            .map_err(|e| self.store.io_error("recording changes", &e))
    }
}
