//! Unit tests of the store: format and instance checks, the lock, records, export/import.

use std::collections::BTreeSet;

use chrono::Utc;

use super::*;
use crate::plan::model::{GroupRef, Reason, Step};

fn group(id: &str, name: &str) -> StoredGroup {
    StoredGroup {
        id: id.to_string(),
        name: name.to_string(),
        rule: "profile.department:department".to_string(),
        values: vec!["Sales".to_string()],
        adopted: false,
        created_by_us: true,
        members: 2,
        since: Utc::now(),
        commit: Some("abc".to_string()),
    }
}

#[test]
fn a_new_store_records_its_format_and_instance() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_instance(dir.path(), "prod").unwrap();
    assert_eq!(store.format_version().unwrap(), FORMAT_VERSION);
    assert_eq!(store.instance().unwrap().as_deref(), Some("prod"));
    assert!(!store.is_initialized().unwrap());
    drop(store);
    let err = Store::open_instance(dir.path(), "staging").unwrap_err();
    assert!(matches!(err, StoreError::OtherInstance { .. }), "{err}");
    assert!(err.to_string().contains("\"prod\""), "{err}");
}

#[test]
fn a_second_open_is_refused_while_the_first_is_alive() {
    let dir = tempfile::tempdir().unwrap();
    let first = Store::open(dir.path()).unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("another dyngroups"), "{err}");
    drop(first);
    Store::open(dir.path()).expect("the lock is released on drop");
}

#[test]
fn a_newer_format_is_an_error_not_a_reset() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        let mut w = store.writer();
        w.put_group(&group("00g1", "department_sales")).unwrap();
        w.put_raw(keys::FORMAT_VERSION_KEY, b"7".to_vec());
        w.commit().unwrap();
        store.flush().unwrap();
    }
    let err = Store::open(dir.path()).unwrap_err();
    assert!(
        matches!(err, StoreError::NewerFormat { found: 7, .. }),
        "{err}"
    );
}

#[test]
fn data_without_a_format_record_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        store.db().remove(keys::FORMAT_VERSION_KEY).unwrap();
        store.db().insert("v1/group/00g1", b"{}".to_vec()).unwrap();
        store.flush().unwrap();
    }
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("state import"), "{err}");
}

#[test]
fn garbage_files_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("conf"), b"\xff\xfe garbage").unwrap();
    std::fs::write(dir.path().join("db"), vec![0xAB; 4096]).unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt { .. } | StoreError::Open { .. }),
        "{err}"
    );
}

#[test]
fn remembered_reflects_groups_user_state_and_added_memberships() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut w = store.writer();
    w.put_group(&group("00g1", "department_sales")).unwrap();
    w.set_members(
        "00g1",
        &BTreeSet::from(["00u1".to_string(), "00u2".to_string()]),
    )
    .unwrap();
    w.set_user_groups(
        "profile.department:department",
        "00u1",
        &BTreeSet::from(["department_sales".to_string()]),
    )
    .unwrap();
    w.set_added("00g1", "00u1", true);
    w.commit().unwrap();
    let r = store.remembered().unwrap();
    assert_eq!(r.groups["00g1"].name, "department_sales");
    assert!(r.groups["00g1"].created_by_us);
    assert_eq!(
        r.user_groups["profile.department:department"]["department_sales"]
            .iter()
            .collect::<Vec<_>>(),
        ["00u1"]
    );
    assert!(
        r.added_by_us
            .get("00g1")
            .is_some_and(|l| l.contains("00u1"))
    );
    assert_eq!(store.count_licensed_users().unwrap(), 2);

    let mut w = store.writer();
    w.remove_group("00g1").unwrap();
    w.remove_rule_user_groups("profile.department:department")
        .unwrap();
    w.commit().unwrap();
    let r = store.remembered().unwrap();
    assert!(r.groups.is_empty() && r.user_groups.is_empty() && r.added_by_us.is_empty());
}

#[test]
fn intents_survive_a_reopen_until_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let seq;
    {
        let store = Store::open(dir.path()).unwrap();
        let intents = store
            .begin_intents(
                Some("abc"),
                vec![Step::AddMember {
                    rule: "r".to_string(),
                    group: GroupRef::Existing {
                        id: "00g1".to_string(),
                        name: "x".to_string(),
                    },
                    user: "00u1".to_string(),
                    reason: Reason::Matches,
                }],
            )
            .unwrap();
        seq = intents[0].seq;
        // No clean shutdown beyond the flush begin_intents did.
    }
    let store = Store::open(dir.path()).unwrap();
    let pending = store.pending_intents().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].seq, seq);
    let mut w = store.writer();
    w.clear_intent(seq);
    w.commit().unwrap();
    assert!(store.pending_intents().unwrap().is_empty());
}

/// A journal written by dyngroups before plan format 2 (one action per membership) stays readable: its
/// entries are the `Step`s apply journals now, with the same JSON.
#[test]
fn intents_journalled_by_the_previous_version_are_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let old = r#"{"seq":7,"at":"2026-11-30T10:00:00Z","commit":"abc","action":{"action":"add_member","rule":"profile.department:department","group":{"kind":"existing","id":"00g1","name":"department_sales"},"user":"00u1","reason":"newly_matches"}}"#;
    let mut w = store.writer();
    w.put_raw(keys::seq(keys::JOURNAL, 7), old.as_bytes().to_vec());
    w.commit().unwrap();
    let pending = store.pending_intents().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        pending[0].action,
        Step::AddMember {
            rule: "profile.department:department".to_string(),
            group: GroupRef::Existing {
                id: "00g1".to_string(),
                name: "department_sales".to_string(),
            },
            user: "00u1".to_string(),
            reason: Reason::NewlyMatches,
        }
    );
    assert_eq!(serde_json::to_string(&pending[0]).unwrap(), old);
}

/// A history entry of a `sync` at `at` with `status` and commit `commit`.
fn sync_record(at: chrono::DateTime<Utc>, status: SyncStatus, commit: &str) -> SyncRecord {
    SyncRecord {
        at,
        kind: "sync".to_string(),
        status,
        commit: Some(commit.to_string()),
        counts: SyncCounts::default(),
        api_calls: ApiCalls::default(),
        duration_ms: 1,
        managed_groups: 0,
        licensed_users: 0,
        message: None,
        observe: None,
    }
}

#[test]
fn history_is_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for (i, status) in [SyncStatus::Success, SyncStatus::Failed]
        .into_iter()
        .enumerate()
    {
        let mut w = store.writer();
        w.history(&sync_record(Utc::now(), status, &format!("c{i}")))
            .unwrap();
        w.commit().unwrap();
    }
    let h = store.history(10).unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[0].status, SyncStatus::Failed);
    assert_eq!(
        store.last_sync().unwrap().unwrap().commit.as_deref(),
        Some("c1")
    );
}

#[test]
fn export_then_import_reproduces_the_store() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let src = Store::open_instance(a.path(), "prod").unwrap();
    let mut w = src.writer();
    w.put_group(&group("00g1", "department_sales")).unwrap();
    w.set_members("00g1", &BTreeSet::from(["00u1".to_string()]))
        .unwrap();
    w.set_user_groups(
        "r",
        "00u1",
        &BTreeSet::from(["department_sales".to_string()]),
    )
    .unwrap();
    w.set_added("00g1", "00u1", true);
    w.set_licensed_users(1);
    w.mark_initialized();
    w.commit().unwrap();
    let doc = src.export().unwrap();
    let json = serde_json::to_string(&doc).unwrap();
    let doc: export::StateExport = serde_json::from_str(&json).unwrap();

    let dst = Store::open_instance(b.path(), "prod").unwrap();
    dst.import(&doc, false).unwrap();
    assert_eq!(dst.remembered().unwrap(), src.remembered().unwrap());
    assert_eq!(dst.licensed_users().unwrap(), 1);
    assert!(dst.is_initialized().unwrap());
    let again = dst.import(&doc, false).unwrap_err();
    assert!(
        matches!(again, export::ImportError::NotEmpty { .. }),
        "{again}"
    );
    dst.import(&doc, true).unwrap();

    let c = tempfile::tempdir().unwrap();
    let other = Store::open_instance(c.path(), "staging").unwrap();
    assert!(matches!(
        other.import(&doc, true).unwrap_err(),
        export::ImportError::OtherInstance { .. }
    ));
}

#[test]
fn an_emptied_or_older_store_is_damaged_not_reinitialised() {
    // Emptied log: sled opens an empty database; the folder held a store, so it is refused, not reset.
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open_instance(dir.path(), "prod").unwrap();
        let mut w = store.writer();
        w.put_group(&group("00g1", "a")).unwrap();
        w.commit().unwrap();
        store.flush().unwrap();
    }
    std::fs::write(dir.path().join("db"), b"").unwrap();
    let err = Store::open_instance(dir.path(), "prod").unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("state reinit --adopt"), "{err}");

    // An older log than the generation saved outside it (a truncation, or an old copy put back).
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        store.flush().unwrap();
        store.flush().unwrap();
    }
    let file = dir.path().join(GENERATION_FILE);
    let saved: u64 = std::fs::read_to_string(&file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    Store::open(dir.path()).expect("in step: opens");
    std::fs::write(&file, format!("{}\n", saved + 5)).unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("older than generation"), "{err}");
    // A file behind the log (a crash between sled's flush and the file write) is fine.
    std::fs::write(&file, "1\n").unwrap();
    Store::open(dir.path()).expect("the log ahead of the file opens");
}

#[test]
fn prune_forgets_history_and_audit_older_than_the_cutoff_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let now = Utc::now();
    let mut w = store.writer();
    for days_ago in [400i64, 380, 10, 0] {
        let at = now - chrono::TimeDelta::days(days_ago);
        w.history(&sync_record(
            at,
            SyncStatus::Success,
            &format!("d{days_ago}"),
        ))
        .unwrap();
        w.audit(&AuditEntry {
            at,
            commit: Some(format!("d{days_ago}")),
            change: "add_member".to_string(),
            rule: "profile.department:department".to_string(),
            group_id: Some("00g1".to_string()),
            group_name: "department_sales".to_string(),
            user: Some("00u1".to_string()),
            ok: true,
            error: None,
        })
        .unwrap();
    }
    w.commit().unwrap();
    let gone = store.prune(now - chrono::TimeDelta::days(365)).unwrap();
    assert_eq!(
        gone, 4,
        "two history and two audit entries are older than a year"
    );
    let kept: Vec<_> = store
        .history(10)
        .unwrap()
        .into_iter()
        .map(|h| h.commit.unwrap())
        .collect();
    assert_eq!(kept, ["d0", "d10"]);
    assert_eq!(store.audit(10).unwrap().len(), 2);
    assert_eq!(store.prune(now - chrono::TimeDelta::days(365)).unwrap(), 0);
}
