//! The read-only views of the store (`status`, `groups`) as JSON documents, and a snapshot of them written
//! next to the store after every run, so that `status` can answer while a sync holds the store's lock.

use std::path::{Path, PathBuf};

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use super::{Store, StoreError, StoredGroup, SyncRecord};

/// File name of the snapshot, inside the store folder.
pub const SNAPSHOT_FILE: &str = "dyngroups-view.json";

pub fn rfc3339(t: &chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn record_json(r: &SyncRecord) -> Value {
    json!({
        "at": rfc3339(&r.at),
        "kind": r.kind,
        "status": r.status.as_str(),
        "commit": r.commit,
        "counts": r.counts,
        "api_calls": r.api_calls,
        "duration_ms": r.duration_ms,
        "managed_groups": r.managed_groups,
        "licensed_users": r.licensed_users,
        "message": r.message,
        "observe": r.observe,
    })
}

/// The status document (JSON keys per SPEC, plus more).
pub fn status_json(store: &Store, history: usize) -> Result<Value, StoreError> {
    let recent = store.history(history.max(1))?;
    let last = recent.first();
    let managed = store.groups()?.len() as u64;
    let licensed = store.licensed_users()?;
    let applied = store
        .history(200)?
        .into_iter()
        .find(|r| r.kind != "reinit" && r.status != crate::store::SyncStatus::Failed)
        .and_then(|r| r.commit);
    let last_sync = last.map(|r| {
        let mut v = record_json(r);
        v["managed_groups"] = json!(managed);
        v["licensed_users"] = json!(licensed);
        v
    });
    Ok(json!({
        "format_version": 1,
        "instance": store.instance()?,
        "store": store.dir().display().to_string(),
        "last_sync": last_sync,
        "managed_groups": managed,
        "licensed_users": licensed,
        "applied_commit": applied,
        "backlog": last.map_or(0, |r| r.counts.deferred + r.counts.failed + r.counts.blocked),
        "interrupted": !store.pending_intents()?.is_empty() || store.is_dirty()?,
        "history": recent.iter().take(history).map(record_json).collect::<Vec<_>>(),
    }))
}

fn group_json(g: &StoredGroup) -> Value {
    json!({
        "name": g.name,
        "id": g.id,
        "members": g.members,
        "adopted": g.adopted,
        "created_by_us": g.created_by_us,
        "values": g.values,
        "rule": g.rule,
        "since": rfc3339(&g.since),
    })
}

/// The groups document.
pub fn groups_json(groups: &[StoredGroup]) -> Value {
    json!({
        "format_version": 1,
        "groups": groups.iter().map(group_json).collect::<Vec<_>>(),
    })
}

pub fn snapshot_path(dir: &Path) -> PathBuf {
    dir.join(SNAPSHOT_FILE)
}

/// Writes `{"status": .., "groups": ..}` atomically next to the store (best effort).
pub fn write_snapshot(store: &Store) -> Result<(), String> {
    let doc = json!({
        "status": status_json(store, 10).map_err(|e| e.to_string())?,
        "groups": groups_json(&store.groups().map_err(|e| e.to_string())?),
    });
    let path = snapshot_path(store.dir());
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, format!("{doc:#}\n"))
        .map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("renaming {}: {e}", tmp.display()))
}

/// The snapshot written after the last run, if any.
pub fn read_snapshot(dir: &Path) -> Option<Value> {
    let raw = std::fs::read(snapshot_path(dir)).ok()?;
    serde_json::from_slice(&raw).ok()
}
