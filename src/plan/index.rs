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

    /// Looks up many ids at once: each known one goes to `found` (its index), each unknown one to `missing`;
    /// a repeated id is looked up once. Ids in ascending order (member lists, the recorded state) are found
    /// by galloping forward through the sorted users, one cache-friendly pass instead of a hash lookup per
    /// id; an id out of order falls back to the hash index.
    pub fn find_each<'i>(
        &self,
        ids: impl Iterator<Item = &'i str>,
        mut found: impl FnMut(u32),
        mut missing: impl FnMut(&'i str),
    ) {
        let n = self.len() as u32;
        let mut lo = 0u32;
        let mut prev: Option<&str> = None;
        for id in ids {
            match prev {
                Some(p) if p == id => continue,
                Some(p) if p > id => {
                    match self.find(id) {
                        Some(u) => found(u),
                        None => missing(id),
                    }
                    continue;
                }
                _ => prev = Some(id),
            }
            // Gallop: every index below `a` holds a smaller id; `b` is n or holds an id >= `id`.
            let (mut a, mut b, mut step) = (lo, lo, 1u32);
            while b < n && self.id(b) < id {
                a = b + 1;
                b = a.saturating_add(step).min(n);
                step = step.saturating_mul(2);
            }
            let (mut l, mut r) = (a, b);
            while l < r {
                let m = l + (r - l) / 2;
                if self.id(m) < id {
                    l = m + 1;
                } else {
                    r = m;
                }
            }
            if l < n && self.id(l) == id {
                found(l);
                lo = l + 1;
            } else {
                missing(id);
                lo = l;
            }
        }
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
            let (known, unknown) = (&mut m.known, &mut m.unknown);
            users.find_each(ids.iter(), |u| known.push(u), |id| unknown.push(id));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model::OrgUser;

    fn org(ids: &[&str]) -> OrgView {
        OrgView {
            users: ids
                .iter()
                .map(|id| OrgUser {
                    id: id.to_string(),
                    status: UserStatus::Active,
                    attributes: BTreeMap::new(),
                })
                .collect(),
            ..OrgView::default()
        }
    }

    #[test]
    fn find_each_gallops_sorted_ids_and_falls_back_for_the_rest() {
        let ids: Vec<String> = (0..1000).map(|i| format!("00u{i:05}")).collect();
        let view = org(&ids.iter().map(String::as_str).collect::<Vec<_>>());
        let users = Users::new(&view);
        let query = [
            "00a",
            "00u00000",
            "00u00000",
            "00u00003",
            "00u00003x",
            "00u00500",
            "00u00999",
            "00u1",
            "00u00004",
            "zz",
        ];
        let (mut found, mut missing) = (Vec::new(), Vec::new());
        users.find_each(query.into_iter(), |u| found.push(u), |id| missing.push(id));
        assert_eq!(found, [0, 3, 500, 999, 4]);
        assert_eq!(missing, ["00a", "00u00003x", "00u1", "zz"]);
        // Every id agrees with the hash index.
        for (i, id) in ids.iter().enumerate() {
            let mut got = None;
            users.find_each(std::iter::once(id.as_str()), |u| got = Some(u), |_| {});
            assert_eq!(got, Some(i as u32));
            assert_eq!(users.find(id), Some(i as u32));
        }
    }
}
