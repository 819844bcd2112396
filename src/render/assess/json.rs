//! Assess as JSON (`"format_version": 1`): SPEC's keys (`rules[]` with `attribute`, `prefix`,
//! `groups_total`, `groups[]` with `name`, `values[]`, `members`, `status`; `adds`, `removes`; `summary`)
//! and more. No user ids: the per-user actions are in `dyngroups plan --out`, not in assess.

use serde_json::{Value, json};

use super::{members, status_label};
use crate::plan::model::Plan;

pub fn json(plan: &Plan) -> String {
    let rules: Vec<Value> = plan
        .rules
        .iter()
        .map(|r| {
            json!({
                "rule": r.rule,
                "attribute": format!("profile.{}", r.attribute),
                "prefix": r.prefix,
                "enabled": r.enabled,
                "groups_total": r.groups.len(),
                "groups": r.groups.iter().map(|g| json!({
                    "name": g.name,
                    "values": g.values,
                    "members": members(g),
                    "status": status_label(g.status),
                    "skip_reason": g.skip_reason,
                    "okta_id": g.okta_id,
                    "desired_members": g.desired_members,
                    "current_members": g.current_members,
                    "adds": g.adds,
                    "removes": g.removes,
                    "delete": g.delete,
                })).collect::<Vec<_>>(),
                "rejected_values": r.rejected_values,
                "users_without_value": r.users_without_value,
                "adds": r.adds,
                "removes": r.removes,
            })
        })
        .collect();
    let doc = json!({
        "format_version": 1,
        "config_commit": plan.config_commit,
        "config_fingerprint": plan.config_fingerprint,
        "okta_fingerprint": plan.okta_fingerprint,
        "rules": rules,
        "stop_managing": plan.stop_managing.iter().map(|m| json!({
            "name": m.name, "id": m.id, "rule": m.rule, "adopted": m.adopted, "values": m.values,
        })).collect::<Vec<_>>(),
        "warnings": plan.warnings,
        "summary": plan.summary,
        "changes_pending": plan.summary.has_changes(),
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_string());
    s.push('\n');
    s
}
