//! The planner's view of the org's users: deduplicated, sorted by id (so the plan does not depend on input
//! order), addressed by a `u32` index instead of cloned id strings.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use std::sync::OnceLock;

use serde_json::Value;

use super::model::{OrgView, UserTable};
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
    table: &'a UserTable,
    /// Planner index -> table row, when the table is not already sorted by id without duplicates.
    rows: Option<Vec<u32>>,
    /// id -> index, built on first use (a first sync with no members or history never needs it).
    index: OnceLock<FxHashMap<&'a str, u32>>,
}

impl<'a> Users<'a> {
    pub fn new(org: &'a OrgView) -> Users<'a> {
        let table = &org.users;
        let n = table.len();
        // Okta pages are often already in id order: then there is nothing to sort or deduplicate.
        if (1..n).all(|i| table.id(i - 1) < table.id(i)) {
            return Users {
                table,
                rows: None,
                index: OnceLock::new(),
            };
        }
        // Sort by id; for a duplicated id the ACTIVE record wins, then the larger record (deterministic).
        let mut rows: Vec<u32> = (0..n as u32).collect();
        let key = |r: u32| (table.id(r as usize), table.status(r as usize));
        rows.sort_unstable_by(|&a, &b| {
            let ((ida, sa), (idb, sb)) = (key(a), key(b));
            ida.cmp(idb).then_with(|| {
                (sb == UserStatus::Active)
                    .cmp(&(sa == UserStatus::Active))
                    .then_with(|| {
                        table
                            .attr_count(b as usize)
                            .cmp(&table.attr_count(a as usize))
                    })
                    .then_with(|| sa.cmp(&sb))
                    .then_with(|| {
                        canonical_attrs(&table.attributes(a as usize))
                            .cmp(&canonical_attrs(&table.attributes(b as usize)))
                    })
            })
        });
        rows.dedup_by(|later, first| table.id(*later as usize) == table.id(*first as usize));
        Users {
            table,
            rows: Some(rows),
            index: OnceLock::new(),
        }
    }

    /// The table row of planner index `u`.
    pub fn row(&self, u: u32) -> usize {
        match &self.rows {
            Some(rows) => rows[u as usize] as usize,
            None => u as usize,
        }
    }

    pub fn table(&self) -> &'a UserTable {
        self.table
    }

    pub fn len(&self) -> usize {
        match &self.rows {
            Some(rows) => rows.len(),
            None => self.table.len(),
        }
    }

    pub fn id(&self, u: u32) -> &'a str {
        self.table.id(self.row(u))
    }

    pub fn status(&self, u: u32) -> UserStatus {
        self.table.status(self.row(u))
    }

    pub fn is_active(&self, u: u32) -> bool {
        self.status(u) == UserStatus::Active
    }

    pub fn standing(&self, u: u32) -> Standing {
        standing(self.status(u))
    }

    pub fn find(&self, id: &str) -> Option<u32> {
        self.index
            .get_or_init(|| (0..self.len() as u32).map(|u| (self.id(u), u)).collect())
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
                    None => m.unknown.push(id),
                }
            }
        }
        // Sorted ids give sorted indices, but a list built by hand may not be sorted.
        m.known.sort_unstable();
        m.known.dedup();
        m.unknown.sort_unstable();
        m.unknown.dedup();
        m
    }

    pub fn len(&self) -> usize {
        self.known.len() + self.unknown.len()
    }
}
