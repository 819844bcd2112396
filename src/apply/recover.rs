//! Journal recovery: resolves the intents a killed or crashed run left behind, before the next plan.
//!
//! - A group creation whose answer was lost: the group is looked up by its exact name (`q` then
//!   `search=profile.name eq`, and again in the observed org); if it exists it is OURS (`created_by_us`),
//!   never a collision, and is never created twice. If it does not exist, the intent is dropped and the
//!   plan creates it.
//! - A group deletion: confirmed with `GET /groups/{id}` (404 = done).
//! - Membership writes are idempotent: the observed members say whether they happened (the added-by-us
//!   record is fixed accordingly); either way the new plan re-applies what is still missing.

use super::exec::audit_entry;
use crate::okta::api::{GroupQuery, OktaApi};
use crate::okta::error::OktaError;
use crate::okta::model::{Group, GroupType};
use crate::plan::model::{GroupRef, OrgView, Step};
use crate::store::{Intent, Store, StoreError, StoredGroup};

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RecoveryReport {
    /// Intents found from an interrupted run.
    pub pending: u64,
    /// Names of groups an interrupted run created, now recorded as ours.
    pub groups_recovered: Vec<String>,
    /// Group deletions confirmed.
    pub deletes_confirmed: u64,
    /// Membership writes found applied in Okta.
    pub memberships_confirmed: u64,
    /// Intents resolved (cleared).
    pub cleared: u64,
}

impl RecoveryReport {
    pub fn changed_store(&self) -> bool {
        !self.groups_recovered.is_empty()
            || self.deletes_confirmed > 0
            || self.memberships_confirmed > 0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    #[error("recovering the interrupted change {change}: {source}")]
    Okta {
        change: String,
        #[source]
        source: OktaError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn is_ours_candidate(g: &Group, name: &str) -> bool {
    g.profile.name == name && g.group_type == GroupType::OktaGroup
}

fn record_recovered(store: &Store, intent: &Intent, group_id: &str) -> Result<(), StoreError> {
    let Step::CreateGroup {
        rule, name, values, ..
    } = &intent.action
    else {
        return Ok(());
    };
    let mut w = store.writer();
    if store.group(group_id)?.is_none() {
        w.put_group(&StoredGroup::starting(
            group_id,
            name,
            rule,
            values,
            true,
            intent.commit.as_deref(),
        ))?;
        let mut entry = audit_entry(
            &intent.action,
            intent.commit.as_deref(),
            Some(group_id),
            None,
        );
        entry.change = "recover_group".to_string();
        w.audit(&entry)?;
    }
    w.clear_intent(intent.seq);
    w.commit()?;
    store.flush()
}

/// Phase 1, before observing Okta: group creations and deletions, resolved with a few direct lookups.
pub async fn recover_before_observe(
    api: &dyn OktaApi,
    store: &Store,
) -> Result<RecoveryReport, RecoverError> {
    let pending = store.pending_intents()?;
    let mut report = RecoveryReport {
        pending: pending.len() as u64,
        ..Default::default()
    };
    if pending.is_empty() {
        return Ok(report);
    }
    tracing::warn!(
        "the previous run was interrupted: {} change(s) without a recorded outcome; recovering",
        pending.len()
    );
    let managed = store.groups()?;
    for intent in &pending {
        let change = super::describe(&intent.action);
        let okta = |source| RecoverError::Okta {
            change: change.clone(),
            source,
        };
        match &intent.action {
            Step::CreateGroup { name, .. } => {
                if let Some(g) = managed.iter().find(|g| &g.name == name) {
                    let mut w = store.writer();
                    w.clear_intent(intent.seq);
                    w.commit()?;
                    report.cleared += 1;
                    tracing::info!("{change}: already recorded as {}", g.id);
                    continue;
                }
                let by_q = api
                    .list_groups(&GroupQuery {
                        q: Some(name.clone()),
                        ..Default::default()
                    })
                    .await
                    .map_err(okta)?;
                let mut found: Vec<Group> = by_q
                    .into_iter()
                    .filter(|g| is_ours_candidate(g, name))
                    .collect();
                if found.is_empty() {
                    let search = format!(
                        "profile.name eq \"{}\"",
                        name.replace('\\', "\\\\").replace('"', "\\\"")
                    );
                    let by_search = api
                        .list_groups(&GroupQuery {
                            search: Some(search),
                            ..Default::default()
                        })
                        .await
                        .map_err(okta)?;
                    found = by_search
                        .into_iter()
                        .filter(|g| is_ours_candidate(g, name))
                        .collect();
                }
                if found.len() == 1 {
                    record_recovered(store, intent, &found[0].id)?;
                    tracing::info!(
                        "{change}: the group exists ({}); recorded as created by us",
                        found[0].id
                    );
                    report.groups_recovered.push(name.clone());
                    report.cleared += 1;
                }
                // Not found (or ambiguous): phase 2 decides with the full group listing.
            }
            Step::DeleteGroup { id, .. } => {
                let mut w = store.writer();
                match api.get_group(id).await {
                    Err(e) if e.is_not_found() => {
                        w.remove_group(id)?;
                        w.audit(&audit_entry(
                            &intent.action,
                            intent.commit.as_deref(),
                            None,
                            None,
                        ))?;
                        report.deletes_confirmed += 1;
                    }
                    Err(e) => return Err(okta(e)),
                    Ok(_) => {}
                }
                w.clear_intent(intent.seq);
                w.commit()?;
                report.cleared += 1;
            }
            _ => {}
        }
    }
    store.flush()?;
    Ok(report)
}

/// Phase 2, with the observed org: group creations not found by lookup, and membership writes.
pub fn recover_after_observe(store: &Store, org: &OrgView) -> Result<RecoveryReport, StoreError> {
    let pending = store.pending_intents()?;
    let mut report = RecoveryReport {
        pending: pending.len() as u64,
        ..Default::default()
    };
    if pending.is_empty() {
        return Ok(report);
    }
    let mut managed: std::collections::BTreeSet<String> =
        store.groups()?.into_iter().map(|g| g.id).collect();
    for intent in &pending {
        let mut w = store.writer();
        match &intent.action {
            Step::CreateGroup { name, .. } => {
                let found: Vec<_> = org
                    .groups
                    .iter()
                    .filter(|g| &g.name == name && g.group_type == GroupType::OktaGroup)
                    .collect();
                if let [g] = found.as_slice()
                    && !managed.contains(&g.id)
                {
                    record_recovered(store, intent, &g.id)?;
                    managed.insert(g.id.clone());
                    report.groups_recovered.push(name.clone());
                    report.cleared += 1;
                    continue;
                }
            }
            Step::AddMember {
                group: GroupRef::Existing { id, .. },
                user,
                ..
            } if org.members.get(id).is_some_and(|m| m.contains(user)) && managed.contains(id) => {
                w.set_added(id, user, true);
                w.audit(&audit_entry(
                    &intent.action,
                    intent.commit.as_deref(),
                    None,
                    None,
                ))?;
                report.memberships_confirmed += 1;
            }
            Step::RemoveMember {
                group: GroupRef::Existing { id, .. },
                user,
                ..
            } if org.members.get(id).is_some_and(|m| !m.contains(user)) && managed.contains(id) => {
                w.set_added(id, user, false);
                w.audit(&audit_entry(
                    &intent.action,
                    intent.commit.as_deref(),
                    None,
                    None,
                ))?;
                report.memberships_confirmed += 1;
            }
            _ => {}
        }
        w.clear_intent(intent.seq);
        w.commit()?;
        report.cleared += 1;
    }
    store.flush()?;
    Ok(report)
}
