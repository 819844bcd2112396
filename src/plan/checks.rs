//! Downstream checks on the names and memberships a plan produces (warnings only, never errors):
//! GitHub team slug clashes, Slack handle length, users in more than 100 groups, and high-cardinality rules.
//!
//! - GitHub team slug: lower-case, every run of characters other than `a-z0-9` -> `-`, trimmed. `R&D` and
//!   `R-D` in different rules' prefixes, or names in non-Latin scripts (which slug to almost nothing), clash.
//! - Slack: user-group handles share the namespace of user names, historically limited to 21 characters.
//!   Slack does not publish a limit for user-group handles (unverified); 21 is the conservative number,
//!   and a name longer than it may be cut or refused when pushed to Slack.
//! - Okta puts at most 100 groups in a token's `groups` claim and silently drops the rest.
//! - High cardinality: a rule with at least 20 groups of which at least half have one or two members
//!   (a title or manager attribute) is probably a mistake.

use std::collections::{BTreeMap, BTreeSet};

use super::index::Members;
use super::index::Users;
use super::membership::{Diff, Member};
use super::model::{GroupPlan, GroupStatus, RulePlan, Warning};
use crate::config::model::RuleId;

pub const SLACK_HANDLE_LIMIT: usize = 21;
pub const TOKEN_GROUPS_LIMIT: usize = 100;
pub const HIGH_CARDINALITY_MIN_GROUPS: usize = 20;
/// Long names listed per rule (a high-cardinality rule could list thousands).
const MAX_LONG_NAMES_PER_RULE: usize = 10;

/// GitHub's team slug of a name.
pub fn github_slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut dash = false;
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c);
        } else {
            dash = true;
        }
    }
    out
}

/// Per user: in how many managed groups they are after the plan, and whether they count for licensing.
pub(crate) struct Tally {
    groups: Vec<u16>,
}

impl Tally {
    pub fn new(users: usize) -> Tally {
        Tally {
            groups: vec![0; users],
        }
    }

    /// Counts the members of one group as they will be after `diff`.
    pub fn group_after(&mut self, members: &Members<'_>, diff: &Diff<'_>, _users: &Users<'_>) {
        let mut removed = diff.removes.iter().filter_map(|(m, _)| match m {
            Member::Known(u) => Some(*u),
            Member::Unknown(_) => None,
        });
        let mut next_removed = removed.next();
        for &u in &members.known {
            if next_removed == Some(u) {
                next_removed = removed.next();
                continue;
            }
            self.bump(u);
        }
        for &(u, _) in &diff.adds {
            self.bump(u);
        }
    }

    fn bump(&mut self, u: u32) {
        let c = &mut self.groups[u as usize];
        *c = c.saturating_add(1);
    }

    /// Distinct ACTIVE users in at least one managed group.
    pub fn licensed(&self, users: &Users<'_>) -> u64 {
        self.groups
            .iter()
            .enumerate()
            .filter(|(u, c)| **c > 0 && users.is_active(*u as u32))
            .count() as u64
    }

    pub fn over_token_limit(&self) -> u64 {
        self.groups
            .iter()
            .filter(|c| **c as usize > TOKEN_GROUPS_LIMIT)
            .count() as u64
    }
}

pub(crate) fn high_cardinality(rule: &RuleId, groups: &[GroupPlan]) -> Option<Warning> {
    let small = groups
        .iter()
        .filter(|g| (1..=2).contains(&g.desired_members))
        .count();
    (groups.len() >= HIGH_CARDINALITY_MIN_GROUPS && small * 2 >= groups.len()).then(|| {
        Warning::HighCardinality {
            rule: rule.clone(),
            groups: groups.len() as u64,
            small_groups: small as u64,
        }
    })
}

/// Slug clashes, long Slack handles and users in too many groups, over every group that is (or would be,
/// for a disabled rule) managed after the plan.
pub(crate) fn downstream(rules: &[RulePlan], tally: &Tally) -> Vec<Warning> {
    let mut out = Vec::new();
    let mut slugs: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for r in rules {
        let mut long: Vec<&str> = Vec::new();
        for g in r
            .groups
            .iter()
            .filter(|g| g.status != GroupStatus::Skip && !g.delete)
        {
            slugs
                .entry(github_slug(&g.name))
                .or_default()
                .insert(&g.name);
            if g.name.chars().count() > SLACK_HANDLE_LIMIT {
                long.push(&g.name);
            }
        }
        out.extend(long.into_iter().take(MAX_LONG_NAMES_PER_RULE).map(|name| {
            Warning::SlackHandleTooLong {
                name: name.to_string(),
                limit: SLACK_HANDLE_LIMIT,
            }
        }));
    }
    for (slug, names) in slugs {
        if names.len() > 1 {
            out.push(Warning::GithubSlugClash {
                slug,
                names: names.into_iter().map(str::to_string).collect(),
            });
        }
    }
    let over = tally.over_token_limit();
    if over > 0 {
        out.push(Warning::TooManyGroups {
            users: over,
            limit: TOKEN_GROUPS_LIMIT,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_slugs() {
        assert_eq!(github_slug("dept-x_r_d"), "dept-x-r-d");
        assert_eq!(github_slug("dept_x-r-d"), "dept-x-r-d");
        assert_eq!(github_slug("R&D"), "r-d");
        assert_eq!(github_slug("department_отдел"), "department");
        assert_eq!(github_slug("__a__"), "a");
    }
}
