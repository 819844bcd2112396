//! The per-user state the store records for each rule, in the shape the planner uses: for every group name
//! a rule's values yielded at the last sync, the users (sorted ids, packed) who yielded it. A million users
//! under five rules is a few hundred lists instead of five million per-user sets. The store keeps one
//! record per (rule, user); [`by_user`] and [`from_users`] convert between the two shapes.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::ids::IdList;

/// One rule's state: group name -> sorted ids of the users whose values yielded it. No list is empty.
pub type RuleState = BTreeMap<String, IdList>;

/// Per user: the group names (sorted) the state records for them. A hash map: a million users are a
/// million entries, and callers look users up rather than walk them in order.
pub fn by_user(state: &RuleState) -> FxHashMap<&str, Vec<&str>> {
    let total: usize = state.values().map(IdList::len).sum();
    let mut out: FxHashMap<&str, Vec<&str>> = FxHashMap::default();
    out.reserve(total);
    for (name, users) in state {
        for u in users {
            out.entry(u).or_default().push(name.as_str());
        }
    }
    out
}

/// The state from per-user records; users with no names are left out.
pub fn from_users<'a, U, N>(entries: U) -> RuleState
where
    U: IntoIterator<Item = (&'a str, N)>,
    N: IntoIterator<Item = &'a str>,
{
    let mut lists: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (user, names) in entries {
        for name in names {
            lists.entry(name).or_default().push(user);
        }
    }
    lists
        .into_iter()
        .map(|(name, mut users)| {
            users.sort_unstable();
            users.dedup();
            (name.to_string(), users.into_iter().collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_both_ways() {
        let state = from_users([
            ("00u2", vec!["skill_go", "skill_rust"]),
            ("00u1", vec!["skill_rust"]),
            ("00u3", vec![]),
        ]);
        assert_eq!(state.len(), 2);
        assert_eq!(
            state["skill_rust"].iter().collect::<Vec<_>>(),
            ["00u1", "00u2"]
        );
        assert!(state.values().all(IdList::is_sorted));
        let users = by_user(&state);
        assert_eq!(users["00u2"], ["skill_go", "skill_rust"]);
        assert_eq!(users["00u1"], ["skill_rust"]);
        assert!(!users.contains_key("00u3"));
    }
}
