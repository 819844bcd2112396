//! The recording half of apply: member sets and counts of managed groups, per-user state for the pairs
//! whose changes all went through, the licensing count; then the store is flushed.

use std::collections::{BTreeMap, BTreeSet};

use super::exec::Run;
use super::{ApplyError, ApplyReport};
use crate::plan::model::{OrgView, Plan, Remembered, RuleState, UserId};
use crate::plan::state;
use crate::store::Store;

pub(super) fn finish(
    store: &Store,
    plan: &Plan,
    org: &OrgView,
    before: &Remembered,
    run: Run<'_>,
) -> Result<ApplyReport, ApplyError> {
    let mut report = run.report.clone();
    let mut w = store.writer();

    // Values per managed group as the plan sees them now (merged raw values may have changed).
    let mut plan_values: BTreeMap<&str, &Vec<String>> = BTreeMap::new();
    for rule in &plan.rules {
        for g in &rule.groups {
            if let Some(id) = &g.okta_id {
                plan_values.insert(id.as_str(), &g.values);
            }
        }
    }

    let mut licensed: BTreeSet<UserId> = BTreeSet::new();
    let groups = store.groups()?;
    for mut group in groups.iter().cloned() {
        let observed = org.members.get(&group.id);
        let changes = run.member_changes.get(&group.id);
        let created = run.created_ids.contains(&group.id);
        let mut members = if created {
            BTreeSet::new()
        } else if let Some(m) = observed {
            m.iter().map(str::to_string).collect()
        } else {
            store.members(&group.id)?
        };
        if let Some((added, removed)) = changes {
            members.extend(added.iter().cloned());
            for u in removed {
                members.remove(u);
            }
        }
        if created || observed.is_some() || changes.is_some() {
            w.set_members(&group.id, &members)?;
        }
        let mut changed = group.members != members.len() as u64;
        group.members = members.len() as u64;
        if let Some(values) = plan_values.get(group.id.as_str())
            && **values != group.values
        {
            group.values = (*values).clone();
            changed = true;
        }
        if changed {
            w.put_group(&group)?;
        }
        licensed.extend(members);
    }

    // Per-user state: the plan's "after" for settled (rule, user) pairs; the old record otherwise.
    let empty = RuleState::new();
    for (rule, after) in &plan.user_groups_after {
        let old = state::by_user(before.user_groups.get(rule).unwrap_or(&empty));
        let new = state::by_user(after);
        let settled = |user: &str| {
            run.unsettled.is_empty() || !run.unsettled.contains(&(rule.as_str(), user))
        };
        for (user, names) in &new {
            if settled(user) && old.get(user) != Some(names) {
                let names: BTreeSet<String> = names.iter().map(|n| n.to_string()).collect();
                w.set_user_groups(rule, user, &names)?;
            }
        }
        for user in old.keys() {
            if !new.contains_key(user) && settled(user) {
                w.set_user_groups(rule, user, &BTreeSet::new())?;
            }
        }
    }
    // A rule no longer planned whose groups are all gone from the managed list: forget its users.
    let rules_left: BTreeSet<&str> = groups.iter().map(|g| g.rule.as_str()).collect();
    for rule in before.user_groups.keys() {
        if !plan.user_groups_after.contains_key(rule) && !rules_left.contains(rule.as_str()) {
            w.remove_rule_user_groups(rule)?;
        }
    }

    report.managed_groups = groups.len() as u64;
    report.licensed_users = licensed.len() as u64;
    w.set_licensed_users(report.licensed_users);
    w.set_dirty(false);
    w.mark_initialized();
    w.commit()?;
    store.flush()?;
    Ok(report)
}
