//! The planner's view of the org's users: deduplicated, sorted by id (so the plan does not depend on input
//! order), addressed by a `u32` index instead of cloned id strings.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde_json::Value;

use super::model::{OrgUser, OrgView};
use crate::okta::model::UserStatus;

/// How a user's status affects group membership (see the `plan` module docs for the why).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// ACTIVE: counts.
    Active,
    /// SUSPENDED, LOCKED_OUT, PASSWORD_EXPIRED, RECOVERY, STAGED, PROVISIONED, ACTIVATING, unknown:
    /// memberships are left exactly as they are (neither added nor removed).
    Frozen,
    /// DEPROVISIONED, or a member Okta no longer returns as a user: removed from managed groups.
    Gone,
}

pub(crate) fn standing(status: UserStatus) -> Standing {
    match status {
        UserStatus::Active => Standing::Active,
        UserStatus::Deprovisioned => Standing::Gone,
        _ => Standing::Frozen,
    }
}

pub(crate) struct Users<'a> {
    users: Vec<&'a OrgUser>,
    /// id -> index, built on first use (a first sync with no members or history never needs it).
    index: OnceLock<HashMap<&'a str, u32>>,
}

impl<'a> Users<'a> {
    pub fn new(org: &'a OrgView) -> Users<'a> {
        let mut users: Vec<&OrgUser> = org.users.iter().collect();
        // Okta pages are often already in id order: then there is nothing to sort or deduplicate.
        if users.windows(2).all(|w| w[0].id < w[1].id) {
            return Users {
                users,
                index: OnceLock::new(),
            };
        }
        // Sort by id; for a duplicated id the ACTIVE record wins, then the larger record (deterministic).
        users.sort_unstable_by(|a, b| {
            a.id.cmp(&b.id)
                .then_with(|| {
                    (b.status == UserStatus::Active).cmp(&(a.status == UserStatus::Active))
                })
                .then_with(|| b.attributes.len().cmp(&a.attributes.len()))
                .then_with(|| a.status.cmp(&b.status))
                .then_with(|| canonical_attrs(&a.attributes).cmp(&canonical_attrs(&b.attributes)))
        });
        users.dedup_by(|later, first| later.id == first.id);
        Users {
            users,
            index: OnceLock::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn id(&self, u: u32) -> &'a str {
        &self.users[u as usize].id
    }

    pub fn user(&self, u: u32) -> &'a OrgUser {
        self.users[u as usize]
    }

    pub fn is_active(&self, u: u32) -> bool {
        self.users[u as usize].status == UserStatus::Active
    }

    pub fn standing(&self, u: u32) -> Standing {
        standing(self.users[u as usize].status)
    }

    pub fn attr(&self, u: u32, name: &str) -> Option<&'a Value> {
        self.users[u as usize].attributes.get(name)
    }

    pub fn find(&self, id: &str) -> Option<u32> {
        self.index
            .get_or_init(|| {
                self.users
                    .iter()
                    .enumerate()
                    .map(|(i, u)| (u.id.as_str(), i as u32))
                    .collect()
            })
            .get(id)
            .copied()
    }
}

fn canonical_attrs(a: &BTreeMap<String, Value>) -> String {
    serde_json::to_string(a).unwrap_or_default()
}

/// A group's current members, split into users we know (sorted indices) and ids we do not.
#[derive(Debug, Default)]
pub(crate) struct Members<'a> {
    pub known: Vec<u32>,
    pub unknown: Vec<&'a str>,
}

impl<'a> Members<'a> {
    pub fn of(org: &'a OrgView, users: &Users<'a>, group_id: Option<&str>) -> Members<'a> {
        let mut m = Members::default();
        if let Some(ids) = group_id.and_then(|id| org.members.get(id)) {
            for id in ids {
                match users.find(id) {
                    Some(u) => m.known.push(u),
                    None => m.unknown.push(id.as_str()),
                }
            }
        }
        // BTreeSet order == id order == index order, but keep the invariant explicit.
        m.known.sort_unstable();
        m
    }

    pub fn len(&self) -> usize {
        self.known.len() + self.unknown.len()
    }
}
