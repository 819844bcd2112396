//! The plan's actions and the steps apply executes. An [`Action`] groups the membership changes of one
//! group for one reason (a first sync of a million users holds millions of them: one `Action` each was
//! gigabytes); a [`Step`] is one Okta write as apply sends and journals it, produced lazily by
//! [`Action::steps`].

use serde::{Deserialize, Serialize};

use super::model::{GroupId, GroupRef, IdList, Reason, UserId};
use crate::config::model::RuleId;

/// The closed set of changes a plan holds. Apply runs them in this order: create, adopt, add, remove,
/// delete, stop managing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Action {
    CreateGroup {
        rule: RuleId,
        name: String,
        description: Option<String>,
        values: Vec<String>,
    },
    AdoptGroup {
        rule: RuleId,
        id: GroupId,
        name: String,
        values: Vec<String>,
    },
    /// Adds users to one group, all for one reason: one Okta write per user.
    AddMembers {
        rule: RuleId,
        group: GroupRef,
        reason: Reason,
        users: IdList,
    },
    /// Removes users from one group, all for one reason: one Okta write per user.
    RemoveMembers {
        rule: RuleId,
        group: GroupRef,
        reason: Reason,
        users: IdList,
    },
    DeleteGroup {
        rule: RuleId,
        id: GroupId,
        name: String,
    },
    /// The rule was removed: forget the group; it stays in Okta untouched.
    StopManaging {
        rule: RuleId,
        id: GroupId,
        name: String,
    },
}

/// One change as apply executes and journals it (one Okta write, or one store-only change for adopt and
/// stop managing). The journal stores these as JSON, so the shape stays that of plan format 1's actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Step {
    CreateGroup {
        rule: RuleId,
        name: String,
        description: Option<String>,
        values: Vec<String>,
    },
    AdoptGroup {
        rule: RuleId,
        id: GroupId,
        name: String,
        values: Vec<String>,
    },
    AddMember {
        rule: RuleId,
        group: GroupRef,
        user: UserId,
        reason: Reason,
    },
    RemoveMember {
        rule: RuleId,
        group: GroupRef,
        user: UserId,
        reason: Reason,
    },
    DeleteGroup {
        rule: RuleId,
        id: GroupId,
        name: String,
    },
    StopManaging {
        rule: RuleId,
        id: GroupId,
        name: String,
    },
}

impl Action {
    /// The action's steps, built one at a time (a membership action of a million users never exists as a
    /// million steps at once unless the caller collects them).
    pub fn steps(&self) -> Steps<'_> {
        Steps {
            action: self,
            next: 0,
        }
    }

    /// Okta writes the action makes: one per group created or deleted, one per user added or removed, none
    /// for adopting or no longer managing a group (those only change the store).
    pub fn writes(&self) -> u64 {
        match self {
            Action::CreateGroup { .. } | Action::DeleteGroup { .. } => 1,
            Action::AddMembers { users, .. } | Action::RemoveMembers { users, .. } => {
                users.len() as u64
            }
            Action::AdoptGroup { .. } | Action::StopManaging { .. } => 0,
        }
    }

    /// How many steps [`Action::steps`] yields (what a user counts as changes), without building them.
    pub fn step_count(&self) -> u64 {
        self.steps().len() as u64
    }

    /// Step `i` of [`Action::steps`], built on its own.
    pub fn step(&self, i: usize) -> Option<Step> {
        if i >= self.step_count() as usize {
            return None;
        }
        Some(match self {
            Action::CreateGroup {
                rule,
                name,
                description,
                values,
            } => Step::CreateGroup {
                rule: rule.clone(),
                name: name.clone(),
                description: description.clone(),
                values: values.clone(),
            },
            Action::AdoptGroup {
                rule,
                id,
                name,
                values,
            } => Step::AdoptGroup {
                rule: rule.clone(),
                id: id.clone(),
                name: name.clone(),
                values: values.clone(),
            },
            Action::AddMembers {
                rule,
                group,
                reason,
                users,
            } => Step::AddMember {
                rule: rule.clone(),
                group: group.clone(),
                user: users.get(i)?.to_string(),
                reason: *reason,
            },
            Action::RemoveMembers {
                rule,
                group,
                reason,
                users,
            } => Step::RemoveMember {
                rule: rule.clone(),
                group: group.clone(),
                user: users.get(i)?.to_string(),
                reason: *reason,
            },
            Action::DeleteGroup { rule, id, name } => Step::DeleteGroup {
                rule: rule.clone(),
                id: id.clone(),
                name: name.clone(),
            },
            Action::StopManaging { rule, id, name } => Step::StopManaging {
                rule: rule.clone(),
                id: id.clone(),
                name: name.clone(),
            },
        })
    }

    /// The name of the group the action touches.
    pub fn group_name(&self) -> &str {
        match self {
            Action::CreateGroup { name, .. }
            | Action::AdoptGroup { name, .. }
            | Action::DeleteGroup { name, .. }
            | Action::StopManaging { name, .. } => name,
            Action::AddMembers { group, .. } | Action::RemoveMembers { group, .. } => group.name(),
        }
    }
}

/// The steps of one action, see [`Action::steps`].
#[derive(Debug, Clone)]
pub struct Steps<'a> {
    action: &'a Action,
    /// Index of the next step.
    next: usize,
}

impl Steps<'_> {
    fn total(&self) -> usize {
        match self.action {
            Action::AddMembers { users, .. } | Action::RemoveMembers { users, .. } => users.len(),
            _ => 1,
        }
    }
}

impl Iterator for Steps<'_> {
    type Item = Step;

    fn next(&mut self) -> Option<Step> {
        if self.next >= self.total() {
            return None;
        }
        self.next += 1;
        self.action.step(self.next - 1)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.total().saturating_sub(self.next);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Steps<'_> {}

impl std::iter::FusedIterator for Steps<'_> {}

impl Step {
    pub fn rule(&self) -> &str {
        match self {
            Step::CreateGroup { rule, .. }
            | Step::AdoptGroup { rule, .. }
            | Step::AddMember { rule, .. }
            | Step::RemoveMember { rule, .. }
            | Step::DeleteGroup { rule, .. }
            | Step::StopManaging { rule, .. } => rule,
        }
    }

    /// The name of the group the step touches.
    pub fn group_name(&self) -> &str {
        match self {
            Step::CreateGroup { name, .. }
            | Step::AdoptGroup { name, .. }
            | Step::DeleteGroup { name, .. }
            | Step::StopManaging { name, .. } => name,
            Step::AddMember { group, .. } | Step::RemoveMember { group, .. } => group.name(),
        }
    }

    /// The Okta id of the group the step touches, when it has one (not a group this run creates).
    pub fn group_id(&self) -> Option<&str> {
        match self {
            Step::CreateGroup { .. } => None,
            Step::AdoptGroup { id, .. }
            | Step::DeleteGroup { id, .. }
            | Step::StopManaging { id, .. } => Some(id),
            Step::AddMember { group, .. } | Step::RemoveMember { group, .. } => match group {
                GroupRef::Existing { id, .. } => Some(id),
                GroupRef::New { .. } => None,
            },
        }
    }

    /// The user a membership step adds or removes.
    pub fn user(&self) -> Option<&str> {
        match self {
            Step::AddMember { user, .. } | Step::RemoveMember { user, .. } => Some(user),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group() -> GroupRef {
        GroupRef::Existing {
            id: "00g1".into(),
            name: "department_sales".into(),
        }
    }

    #[test]
    fn member_actions_expand_to_one_step_per_user_in_order() {
        let add = Action::AddMembers {
            rule: "r".into(),
            group: group(),
            reason: Reason::Matches,
            users: ["00u1", "00u2", "00u3"].into_iter().collect(),
        };
        let mut steps = add.steps();
        assert_eq!(steps.len(), 3);
        assert_eq!(
            steps.next(),
            Some(Step::AddMember {
                rule: "r".into(),
                group: group(),
                user: "00u1".into(),
                reason: Reason::Matches,
            })
        );
        assert_eq!(steps.len(), 2);
        let users: Vec<String> = steps.filter_map(|s| s.user().map(str::to_string)).collect();
        assert_eq!(users, ["00u2", "00u3"]);
        assert_eq!((add.writes(), add.step_count()), (3, 3));

        let empty = Action::RemoveMembers {
            rule: "r".into(),
            group: group(),
            reason: Reason::NotMatching,
            users: IdList::new(),
        };
        assert_eq!((empty.steps().count(), empty.writes()), (0, 0));
    }

    #[test]
    fn group_actions_are_one_step_and_count_their_writes() {
        let adopt = Action::AdoptGroup {
            rule: "r".into(),
            id: "00g1".into(),
            name: "department_sales".into(),
            values: vec!["Sales".into()],
        };
        let delete = Action::DeleteGroup {
            rule: "r".into(),
            id: "00g1".into(),
            name: "department_sales".into(),
        };
        assert_eq!((adopt.step_count(), adopt.writes()), (1, 0));
        assert_eq!((delete.step_count(), delete.writes()), (1, 1));
        assert_eq!(
            delete.steps().collect::<Vec<_>>(),
            [Step::DeleteGroup {
                rule: "r".into(),
                id: "00g1".into(),
                name: "department_sales".into(),
            }]
        );
    }

    #[test]
    fn actions_and_steps_have_their_json_shapes() {
        let add = Action::AddMembers {
            rule: "r".into(),
            group: group(),
            reason: Reason::NewlyMatches,
            users: ["00u1", "00u2"].into_iter().collect(),
        };
        let json = serde_json::to_value(&add).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"action": "add_members", "rule": "r",
                "group": {"kind": "existing", "id": "00g1", "name": "department_sales"},
                "reason": "newly_matches", "users": ["00u1", "00u2"]})
        );
        assert_eq!(serde_json::from_value::<Action>(json).unwrap(), add);
        // A step is plan format 1's per-user action, as journals written by earlier versions hold it.
        let old = r#"{"action":"remove_member","rule":"r","group":{"kind":"existing","id":"00g1","name":"department_sales"},"user":"00u9","reason":"not_matching"}"#;
        let step: Step = serde_json::from_str(old).unwrap();
        assert_eq!(step.user(), Some("00u9"));
        assert_eq!(serde_json::to_string(&step).unwrap(), old);
    }
}
