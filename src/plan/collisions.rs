//! Name collisions (SPEC "Name collisions"): for each name a rule computes, is the group already managed,
//! new, adopted, or skipped (and why)?
//!
//! Names are compared case-insensitively: Okta's uniqueness check on group names may be case-insensitive
//! (unverified), so an existing `Department_Sales` would make creating `department_sales` fail; treating it
//! as a collision is the safe reading. APP_GROUP and BUILT_IN groups, and names held by several groups, are
//! never adopted.

use std::collections::{BTreeMap, HashMap};

use super::model::{GroupStatus, ManagedGroup, OrgGroup, OrgView, Remembered, SkipReason};
use crate::config::model::CollisionPolicy;
use crate::okta::model::GroupType;

pub(crate) struct Groups<'a> {
    by_name: HashMap<String, Vec<&'a OrgGroup>>,
    by_id: HashMap<&'a str, &'a OrgGroup>,
    /// rule -> recorded name -> managed group (lowest id wins if the store holds two).
    managed_by_rule: BTreeMap<&'a str, BTreeMap<&'a str, &'a ManagedGroup>>,
    managed_ids: HashMap<&'a str, &'a ManagedGroup>,
}

/// The decision for one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolution<'a> {
    pub status: GroupStatus,
    pub skip_reason: Option<SkipReason>,
    /// The Okta group the plan works on (managed, adopted, or skipped with a single holder).
    pub okta_id: Option<&'a str>,
    /// The store's record, when the name is managed by this rule.
    pub managed: Option<&'a ManagedGroup>,
    /// A managed group whose Okta group no longer exists: forget it (and create the name anew).
    pub vanished: Option<&'a ManagedGroup>,
}

impl<'a> Groups<'a> {
    pub fn new(org: &'a OrgView, remembered: &'a Remembered) -> Groups<'a> {
        let mut by_name: HashMap<String, Vec<&OrgGroup>> = HashMap::new();
        let mut by_id = HashMap::new();
        for g in &org.groups {
            if by_id.insert(g.id.as_str(), g).is_none() {
                by_name.entry(g.name.to_lowercase()).or_default().push(g);
            }
        }
        for v in by_name.values_mut() {
            v.sort_by(|a, b| a.id.cmp(&b.id));
        }
        let mut managed_by_rule: BTreeMap<&str, BTreeMap<&str, &ManagedGroup>> = BTreeMap::new();
        // BTreeMap iteration is by id, so the first insert per name is the lowest id.
        for m in remembered.groups.values() {
            managed_by_rule
                .entry(m.rule.as_str())
                .or_default()
                .entry(m.name.as_str())
                .or_insert(m);
        }
        let managed_ids = remembered
            .groups
            .values()
            .map(|m| (m.id.as_str(), m))
            .collect();
        Groups {
            by_name,
            by_id,
            managed_by_rule,
            managed_ids,
        }
    }

    pub fn exists(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    pub fn get(&self, id: &str) -> Option<&'a OrgGroup> {
        self.by_id.get(id).copied()
    }

    /// Names the store records as managed by `rule`.
    pub fn managed_names(&self, rule: &str) -> impl Iterator<Item = &'a ManagedGroup> + '_ {
        self.managed_by_rule
            .get(rule)
            .into_iter()
            .flat_map(|m| m.values().copied())
    }

    pub fn resolve(&self, rule: &str, name: &str, policy: CollisionPolicy) -> Resolution<'a> {
        let mut vanished = None;
        if let Some(m) = self
            .managed_by_rule
            .get(rule)
            .and_then(|by| by.get(name))
            .copied()
        {
            if self.exists(&m.id) {
                return Resolution {
                    status: GroupStatus::Managed,
                    skip_reason: None,
                    okta_id: Some(self.by_id[m.id.as_str()].id.as_str()),
                    managed: Some(m),
                    vanished: None,
                };
            }
            vanished = Some(m);
        }
        let holders: &[&OrgGroup] = self
            .by_name
            .get(&name.to_lowercase())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let (status, skip_reason, okta_id) = match holders {
            [] => (GroupStatus::New, None, None),
            [g] => {
                let id = Some(g.id.as_str());
                if g.group_type != GroupType::OktaGroup {
                    let reason = SkipReason::NotModifiable {
                        group_id: g.id.clone(),
                        group_type: g.group_type,
                    };
                    (GroupStatus::Skip, Some(reason), id)
                } else if self.managed_ids.contains_key(g.id.as_str()) {
                    // Managed under another rule id (a rule being removed in this very plan): left alone
                    // now; the next sync adopts or skips it by the policy.
                    let reason = SkipReason::CollisionPolicySkip {
                        group_id: g.id.clone(),
                    };
                    (GroupStatus::Skip, Some(reason), id)
                } else if policy == CollisionPolicy::Adopt {
                    (GroupStatus::Adopt, None, id)
                } else {
                    let reason = SkipReason::CollisionPolicySkip {
                        group_id: g.id.clone(),
                    };
                    (GroupStatus::Skip, Some(reason), id)
                }
            }
            many => {
                let reason = SkipReason::Ambiguous {
                    group_ids: many.iter().map(|g| g.id.clone()).collect(),
                };
                (GroupStatus::Skip, Some(reason), None)
            }
        };
        Resolution {
            status,
            skip_reason,
            okta_id,
            managed: None,
            vanished,
        }
    }
}
