//! The order and shape in which apply hands writes to Okta: each step with the (rule, user) it settles,
//! borrowed from the plan, built lazily from the plan's grouped actions, so a first sync of millions of
//! memberships never holds them all as steps; and the order a write budget is spent in.

use std::sync::Arc;

use rustc_hash::FxHashSet;

use crate::plan::model::{Action, Step};

/// A (rule, user) pair whose recorded state depends on a step; borrowed from the plan.
pub(crate) type Key<'a> = (&'a str, &'a str);

/// One write to make (built only when it is sent: a deferred write costs nothing), and the pair it settles
/// (membership steps only).
pub(crate) struct Item<'a> {
    action: &'a Action,
    index: usize,
    pub key: Option<Key<'a>>,
}

impl Item<'_> {
    pub fn step(&self) -> Option<Step> {
        self.action.step(self.index)
    }
}

/// The steps of actions, in order, each with its key.
pub(crate) fn all_items<'a>(
    actions: Vec<&'a Action>,
) -> impl Iterator<Item = Item<'a>> + Send + 'a {
    actions.into_iter().flat_map(|a: &'a Action| items(a))
}

/// The steps of one action, each with its key.
pub(crate) fn items<'a>(action: &'a Action) -> impl Iterator<Item = Item<'a>> + Send + 'a {
    let members = match action {
        Action::AddMembers { rule, users, .. } | Action::RemoveMembers { rule, users, .. } => {
            Some((rule.as_str(), users))
        }
        _ => None,
    };
    (0..action.step_count() as usize).map(move |index| Item {
        action,
        index,
        key: members.and_then(|(rule, users)| users.get(index).map(|u| (rule, u))),
    })
}

fn users_of<'a>(actions: &[&'a Action]) -> FxHashSet<&'a str> {
    let mut out = FxHashSet::default();
    for a in actions {
        if let Action::AddMembers { users, .. } | Action::RemoveMembers { users, .. } = a {
            out.extend(users.iter());
        }
    }
    out
}

/// Membership writes in the order a write budget is spent: removals of users who gain no group (leavers,
/// non-matching members) first; then users who move, each one's removal right before their addition (a
/// budget that runs out never leaves a moved user in both groups); then additions of users who lose none.
/// Ties keep the plan's order. Only the moves are collected (sorted by user); the rest streams.
pub(crate) fn budget_order<'a>(
    adds: Vec<&'a Action>,
    removes: Vec<&'a Action>,
) -> impl Iterator<Item = Item<'a>> + Send + 'a {
    let gaining = Arc::new(users_of(&adds));
    let losing = Arc::new(users_of(&removes));
    let user = |i: &Item<'a>| i.key.map_or("", |k| k.1);
    let mut moves: Vec<(&'a str, u8, Item<'a>)> = Vec::new();
    for a in &removes {
        moves.extend(
            items(a)
                .filter(|i| gaining.contains(user(i)))
                .map(|i| (user(&i), 0, i)),
        );
    }
    for a in &adds {
        moves.extend(
            items(a)
                .filter(|i| losing.contains(user(i)))
                .map(|i| (user(&i), 1, i)),
        );
    }
    moves.sort_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)));
    let leavers = {
        let gaining = Arc::clone(&gaining);
        all_items(removes).filter(move |i| !gaining.contains(user(i)))
    };
    let joiners = all_items(adds).filter(move |i| !losing.contains(user(i)));
    leavers
        .chain(moves.into_iter().map(|(_, _, i)| i))
        .chain(joiners)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model::{GroupRef, IdList, Reason};

    fn members(add: bool, group: &str, users: &[&str]) -> Action {
        let group = GroupRef::Existing {
            id: format!("id-{group}"),
            name: group.to_string(),
        };
        let rule = "profile.department:department".to_string();
        let users: IdList = users.iter().collect();
        if add {
            Action::AddMembers {
                rule,
                group,
                reason: Reason::NewlyMatches,
                users,
            }
        } else {
            Action::RemoveMembers {
                rule,
                group,
                reason: Reason::ValueChanged,
                users,
            }
        }
    }

    #[test]
    fn a_budget_is_spent_on_leavers_then_moves_in_pairs_then_new_access() {
        let (b, c) = (
            members(true, "b", &["u-new", "u2"]),
            members(true, "c", &["u1"]),
        );
        let a = members(false, "a", &["u1", "u2", "u-left"]);
        let order: Vec<String> = budget_order(vec![&b, &c], vec![&a])
            .map(|i| {
                let user = i.key.map(|k| k.1).unwrap_or_default();
                let step = i.step().expect("a step");
                assert_eq!(step.user(), Some(user), "each step carries its own key");
                crate::apply::describe(&step).replace("group ", "")
            })
            .collect();
        assert_eq!(
            order,
            vec![
                "remove user u-left from \"a\"",
                "remove user u1 from \"a\"",
                "add user u1 to \"c\"",
                "remove user u2 from \"a\"",
                "add user u2 to \"b\"",
                "add user u-new to \"b\"",
            ]
        );
    }

    #[test]
    fn items_pair_every_member_step_with_its_rule_and_user() {
        let a = members(true, "b", &["u1", "u2"]);
        let keys: Vec<_> = items(&a).map(|i| i.key).collect();
        assert_eq!(
            keys,
            [
                Some(("profile.department:department", "u1")),
                Some(("profile.department:department", "u2"))
            ]
        );
    }
}
