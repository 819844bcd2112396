//! Membership policies (SPEC "Membership policies"): which desired users to add to a group and which
//! current members to remove, with the reason for each.
//!
//! `prev` = the user matched the group at the last sync (the store's per-user state); `owned` = `prev`, or
//! the tool itself added the membership (covers a sync interrupted before the user state was recorded).
//!
//! | policy | add a desired non-member | remove an ACTIVE member who does not match |
//! |---|---|---|
//! | enforce | always | always |
//! | respect_manual_partial | always (a manual removal is undone) | only when `owned` (the value changed) |
//! | respect_manual_full | only when not `prev` (newly matches) | only when `owned` (the value changed) |
//!
//! Members who are not ACTIVE follow their standing (see [`super::index::Standing`]): frozen members are
//! never touched, gone (DEPROVISIONED) members are removed under every policy.

use super::index::{Members, Standing, Users};
use super::model::Reason;
use crate::config::model::MembershipPolicy;

/// Whether to add a desired user who is not a member.
pub(crate) fn add_decision(
    policy: MembershipPolicy,
    prev: bool,
    seen_before: bool,
) -> Option<Reason> {
    if prev && policy == MembershipPolicy::RespectManualFull {
        return None; // still matches but was removed by hand: stays removed
    }
    Some(if prev {
        Reason::ManualRemovalUndone
    } else if seen_before {
        Reason::NewlyMatches
    } else {
        Reason::Matches
    })
}

/// Whether to remove a member who is not desired.
pub(crate) fn remove_decision(
    policy: MembershipPolicy,
    standing: Standing,
    owned: bool,
) -> Option<Reason> {
    match standing {
        Standing::Frozen => None,
        Standing::Gone => Some(Reason::NoLongerActive),
        Standing::Active if owned => Some(Reason::ValueChanged),
        Standing::Active if policy == MembershipPolicy::Enforce => Some(Reason::NotMatching),
        Standing::Active => None, // a manual add is kept
    }
}

/// A member to remove: a known user, or an id Okta lists as a member but did not return as a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Member<'a> {
    Known(u32),
    Unknown(&'a str),
}

#[derive(Debug, Default)]
pub(crate) struct Diff<'a> {
    pub adds: Vec<(u32, Reason)>,
    pub removes: Vec<(Member<'a>, Reason)>,
}

/// Callbacks into the remembered state for one group.
pub(crate) trait History {
    /// The user matched this group at the last sync.
    fn prev(&self, u: u32) -> bool;
    /// The store holds any state for the user under this rule.
    fn seen_before(&self, u: u32) -> bool;
    /// The tool added this user to this group.
    fn added_by_us(&self, id: &str) -> bool;
}

/// Compares desired users `desired` (sorted) with `members` under `policy`.
pub(crate) fn diff<'a>(
    policy: MembershipPolicy,
    desired: &[u32],
    members: &Members<'a>,
    users: &Users<'a>,
    history: &dyn History,
) -> Diff<'a> {
    let mut out = Diff::default();
    let (mut i, mut j) = (0, 0);
    let m = &members.known;
    while i < desired.len() || j < m.len() {
        let d = desired.get(i).copied();
        let c = m.get(j).copied();
        match (d, c) {
            (Some(d), Some(c)) if d == c => {
                i += 1;
                j += 1;
            }
            (Some(d), c) if c.is_none_or(|c| d < c) => {
                if let Some(r) = add_decision(policy, history.prev(d), history.seen_before(d)) {
                    out.adds.push((d, r));
                }
                i += 1;
            }
            (_, Some(c)) => {
                let owned = history.prev(c) || history.added_by_us(users.id(c));
                if let Some(r) = remove_decision(policy, users.standing(c), owned) {
                    out.removes.push((Member::Known(c), r));
                }
                j += 1;
            }
            (Some(_), None) | (None, None) => unreachable!("loop condition"),
        }
    }
    for &id in &members.unknown {
        // Okta lists the member but did not return the user: treat as gone.
        if let Some(r) = remove_decision(policy, Standing::Gone, true) {
            out.removes.push((Member::Unknown(id), r));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use MembershipPolicy::*;

    #[test]
    fn adds_per_policy() {
        // new user
        for p in [Enforce, RespectManualPartial, RespectManualFull] {
            assert_eq!(add_decision(p, false, false), Some(Reason::Matches));
            assert_eq!(add_decision(p, false, true), Some(Reason::NewlyMatches));
        }
        // manual removal of a user who still matches
        assert_eq!(
            add_decision(Enforce, true, true),
            Some(Reason::ManualRemovalUndone)
        );
        assert_eq!(
            add_decision(RespectManualPartial, true, true),
            Some(Reason::ManualRemovalUndone)
        );
        assert_eq!(add_decision(RespectManualFull, true, true), None);
    }

    #[test]
    fn removes_per_policy() {
        for p in [Enforce, RespectManualPartial, RespectManualFull] {
            assert_eq!(
                remove_decision(p, Standing::Active, true),
                Some(Reason::ValueChanged)
            );
            assert_eq!(
                remove_decision(p, Standing::Gone, false),
                Some(Reason::NoLongerActive)
            );
            assert_eq!(remove_decision(p, Standing::Frozen, true), None);
        }
        // a manual add
        assert_eq!(
            remove_decision(Enforce, Standing::Active, false),
            Some(Reason::NotMatching)
        );
        assert_eq!(
            remove_decision(RespectManualPartial, Standing::Active, false),
            None
        );
        assert_eq!(
            remove_decision(RespectManualFull, Standing::Active, false),
            None
        );
    }
}
