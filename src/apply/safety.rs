//! The failsafe (SPEC "Safety"): finds the groups a plan would change by surprise (mass removals, many
//! deletes). Apply leaves those groups alone unless the run is explicitly allowed past the limits.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::model::SafetyLimits;
use crate::plan::model::{Action, GroupStatus, Plan};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum BlockReason {
    /// More than `limit` percent of a large group's members would be removed.
    GroupRemovals {
        removes: u64,
        members: u64,
        percent: f64,
        limit: f64,
    },
    /// More than `limit` percent of all managed memberships would be removed in this run.
    TotalRemovals {
        removes: u64,
        memberships: u64,
        percent: f64,
        limit: f64,
    },
    /// More than `limit` groups would be deleted in this run.
    TooManyDeletes { deletes: u64, limit: u64 },
}

impl std::fmt::Display for BlockReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlockReason::GroupRemovals {
                removes,
                members,
                percent,
                limit,
            } => write!(
                f,
                "would remove {removes} of {members} members ({percent:.1} %, limit {limit} %)"
            ),
            BlockReason::TotalRemovals {
                removes,
                memberships,
                percent,
                limit,
            } => write!(
                f,
                "the run would remove {removes} of {memberships} managed memberships ({percent:.1} %, limit {limit} %)"
            ),
            BlockReason::TooManyDeletes { deletes, limit } => {
                write!(f, "the run would delete {deletes} groups (limit {limit})")
            }
        }
    }
}

/// A group the failsafe holds back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockedGroup {
    pub name: String,
    pub rule: String,
    pub reason: BlockReason,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SafetyReport {
    pub blocked: Vec<BlockedGroup>,
}

impl SafetyReport {
    pub fn is_stop(&self) -> bool {
        !self.blocked.is_empty()
    }

    pub fn names(&self) -> std::collections::BTreeSet<String> {
        self.blocked.iter().map(|b| b.name.clone()).collect()
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// Checks a plan against the limits. Member counts are the planner's (`GroupPlan::current_members`).
pub fn check(plan: &Plan, limits: &SafetyLimits) -> SafetyReport {
    let mut removes: BTreeMap<&str, (u64, &str)> = BTreeMap::new();
    let mut deletes: Vec<(&str, &str)> = Vec::new();
    for action in &plan.actions {
        match action {
            Action::RemoveMembers {
                rule, group, users, ..
            } if !users.is_empty() => {
                removes.entry(group.name()).or_insert((0, rule.as_str())).0 += users.len() as u64;
            }
            Action::DeleteGroup { rule, name, .. } => deletes.push((name.as_str(), rule.as_str())),
            _ => {}
        }
    }
    let mut members: BTreeMap<&str, u64> = BTreeMap::new();
    let mut memberships = 0u64;
    for rule in &plan.rules {
        for g in &rule.groups {
            members.insert(g.name.as_str(), g.current_members);
            if matches!(g.status, GroupStatus::Managed | GroupStatus::Adopt) {
                memberships += g.current_members;
            }
        }
    }
    let mut blocked: BTreeMap<String, BlockedGroup> = BTreeMap::new();
    let total_removes: u64 = removes.values().map(|(n, _)| n).sum();
    let total_pct = percent(total_removes, memberships);
    // Like the per-group limit, the total limit only applies from `min_group_size` memberships on: in a tiny
    // org any single removal is a large share.
    let total_over = total_removes > 0
        && memberships >= limits.min_group_size
        && total_pct > limits.max_total_removal_percent;
    for (name, (n, rule)) in &removes {
        let size = members.get(name).copied().unwrap_or(0);
        let pct = percent(*n, size);
        let reason = if size >= limits.min_group_size && pct > limits.max_group_removal_percent {
            BlockReason::GroupRemovals {
                removes: *n,
                members: size,
                percent: pct,
                limit: limits.max_group_removal_percent,
            }
        } else if total_over {
            BlockReason::TotalRemovals {
                removes: total_removes,
                memberships,
                percent: total_pct,
                limit: limits.max_total_removal_percent,
            }
        } else {
            continue;
        };
        blocked.insert(
            name.to_string(),
            BlockedGroup {
                name: name.to_string(),
                rule: rule.to_string(),
                reason,
            },
        );
    }
    let n_deletes = deletes.len() as u64;
    if n_deletes > limits.max_group_deletes {
        for (name, rule) in deletes {
            blocked
                .entry(name.to_string())
                .or_insert_with(|| BlockedGroup {
                    name: name.to_string(),
                    rule: rule.to_string(),
                    reason: BlockReason::TooManyDeletes {
                        deletes: n_deletes,
                        limit: limits.max_group_deletes,
                    },
                });
        }
    }
    SafetyReport {
        blocked: blocked.into_values().collect(),
    }
}

#[cfg(test)]
mod tests;
