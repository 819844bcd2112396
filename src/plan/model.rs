//! The plan as plain data (terraform's `internal/plans` shape): what the planner saw, what it decided per
//! rule and group, and the closed set of actions apply executes (defined in [`super::action`], re-exported
//! here). A change's `reason` is for display only.
//! Also the planner's inputs: the observed org (`OrgView`) and what the store remembers (`Remembered`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::action::{Action, Step, Steps};
pub use super::ids::IdList;
pub use super::state::RuleState;
pub use super::users::UserTable;
use crate::config::model::RuleId;
use crate::okta::model::{GroupType, UserStatus};

/// Version 2: membership changes are grouped per (group, reason) (`add_members`, `remove_members`).
pub const PLAN_FORMAT_VERSION: u32 = 2;

pub type UserId = String;
pub type GroupId = String;

// ---------------------------------------------------------------------------------------------
// Inputs

/// A user as the planner needs it: id, status and only the profile attributes that rules read. The org view
/// keeps users by column ([`UserTable`]); this is one row, as files and tests write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgUser {
    pub id: UserId,
    pub status: UserStatus,
    /// attribute name (without `profile.`) -> raw value (string, number, boolean, array or null).
    pub attributes: BTreeMap<String, Value>,
}

/// A group as the planner needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgGroup {
    pub id: GroupId,
    pub name: String,
    pub group_type: GroupType,
    pub description: Option<String>,
}

impl From<crate::okta::model::Group> for OrgGroup {
    fn from(g: crate::okta::model::Group) -> OrgGroup {
        OrgGroup {
            id: g.id,
            name: g.profile.name,
            group_type: g.group_type,
            description: g.profile.description,
        }
    }
}

/// What the planner saw of Okta. `members` holds the member ids (sorted) of the groups that matter to the
/// plan (managed groups and groups whose name a rule computes); other groups may be absent from it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrgView {
    pub users: UserTable,
    pub groups: Vec<OrgGroup>,
    pub members: BTreeMap<GroupId, IdList>,
}

/// A group the store says we manage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedGroup {
    pub id: GroupId,
    pub name: String,
    pub rule: RuleId,
    /// Raw attribute values that fed the group at the last sync.
    pub values: Vec<String>,
    pub adopted: bool,
    pub created_by_us: bool,
}

/// What the store remembers from the last successful sync, as the planner needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remembered {
    /// Okta group id -> managed group.
    pub groups: BTreeMap<GroupId, ManagedGroup>,
    /// rule -> group name -> the users whose values yielded it at the last sync (see [`RuleState`]).
    pub user_groups: BTreeMap<RuleId, RuleState>,
    /// Group id -> the users (sorted ids) the tool itself added to it.
    pub added_by_us: BTreeMap<GroupId, IdList>,
}

// ---------------------------------------------------------------------------------------------
// Output

/// Collision status of a computed group name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupStatus {
    /// No Okta group has the name: it will be created.
    New,
    /// An unmanaged OKTA_GROUP has the name and the policy is adopt.
    Adopt,
    /// Not managed: see `skip_reason`.
    Skip,
    /// Already managed by this instance.
    Managed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SkipReason {
    /// An unmanaged group has the name and the collision policy is skip.
    CollisionPolicySkip { group_id: GroupId },
    /// The group is APP_GROUP or BUILT_IN: Okta does not let us change it.
    NotModifiable {
        group_id: GroupId,
        group_type: GroupType,
    },
    /// More than one Okta group has the name.
    Ambiguous { group_ids: Vec<GroupId> },
}

/// One computed group of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupPlan {
    pub name: String,
    /// Raw values that normalize to this name (more than one = merged values).
    pub values: Vec<String>,
    pub status: GroupStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<SkipReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub okta_id: Option<GroupId>,
    /// Active users whose values yield this group.
    pub desired_members: u64,
    /// Members in Okta now (0 for a new group).
    pub current_members: u64,
    /// Members after the plan is applied.
    pub members_after: u64,
    pub adds: u64,
    pub removes: u64,
    /// Deleted by the empty-group policy.
    pub delete: bool,
}

/// A raw value that produced no group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedValue {
    pub value: String,
    pub users: u64,
    pub reason: RejectReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// Nothing is left after normalization (`"!!!"`).
    NormalizesToNothing,
    /// The group name would be longer than Okta's 255 characters.
    NameTooLong,
    /// The value holds characters Okta cannot store (4-byte UTF-8) even after normalization.
    InvalidCharacters,
    /// A nested object or other type that cannot name a group.
    UnsupportedType,
}

/// A finding about names or memberships that may cause trouble downstream (GitHub teams, Slack, tokens).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Warning {
    /// Many groups with one or two members: likely a title or manager attribute.
    HighCardinality {
        rule: RuleId,
        groups: u64,
        small_groups: u64,
    },
    /// Names that become the same GitHub team slug.
    GithubSlugClash { slug: String, names: Vec<String> },
    /// Names longer than Slack's user-group handle limit.
    SlackHandleTooLong { name: String, limit: usize },
    /// Users who would be in more than 100 groups (Okta drops groups from tokens past that).
    TooManyGroups { users: u64, limit: usize },
    /// A rule or the instance is disabled: planned for review, never applied.
    Disabled { what: String },
}

/// Per-rule view of the plan (what assess shows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulePlan {
    pub rule: RuleId,
    pub attribute: String,
    pub prefix: String,
    pub enabled: bool,
    pub groups: Vec<GroupPlan>,
    pub rejected_values: Vec<RejectedValue>,
    /// Users with a missing, null or empty value.
    pub users_without_value: u64,
    pub adds: u64,
    pub removes: u64,
}

/// Why a membership changes (display only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The user's value yields the group and they are not a member.
    Matches,
    /// The user's value changed to this group's value.
    NewlyMatches,
    /// A manual removal is undone (respect_manual_partial, enforce).
    ManualRemovalUndone,
    /// The user's value changed away from this group's value.
    ValueChanged,
    /// The user is no longer ACTIVE.
    NoLongerActive,
    /// A member who does not match (enforce; or an adopted group's existing member under enforce).
    NotMatching,
}

/// Which group an action touches: one that exists, or one this plan creates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum GroupRef {
    Existing { id: GroupId, name: String },
    New { name: String },
}

impl GroupRef {
    pub fn name(&self) -> &str {
        match self {
            GroupRef::Existing { name, .. } | GroupRef::New { name } => name,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub rules: u64,
    pub groups_total: u64,
    pub groups_new: u64,
    pub groups_adopt: u64,
    pub groups_skip: u64,
    pub groups_managed: u64,
    pub groups_delete: u64,
    pub groups_stop_managing: u64,
    pub adds: u64,
    pub removes: u64,
    /// Distinct active users in at least one group after the plan (licensing).
    pub licensed_users_after: u64,
}

impl Summary {
    pub fn has_changes(&self) -> bool {
        self.groups_new
            + self.groups_adopt
            + self.groups_delete
            + self.groups_stop_managing
            + self.adds
            + self.removes
            > 0
    }
}

/// The per-user state to record once the plan is applied: rule -> group name -> users.
pub type UserGroupsSnapshot = BTreeMap<RuleId, RuleState>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    /// Commit of the config the plan was made from (None for a plain folder).
    pub config_commit: Option<String>,
    /// Hash of the validated config (rules and policies) the plan was made from.
    pub config_fingerprint: String,
    /// Hash of the Okta state (users, groups, members) the plan was made from.
    pub okta_fingerprint: String,
    pub rules: Vec<RulePlan>,
    /// Groups managed by rules that no longer exist.
    pub stop_managing: Vec<ManagedGroup>,
    pub actions: Vec<Action>,
    pub warnings: Vec<Warning>,
    pub summary: Summary,
    /// The per-user state to record once every action has been applied: rule -> group name -> users.
    /// A rule is listed only when its state changes (a no-change sync carries nothing, which keeps a
    /// million-user plan small); a listed rule carries its whole state after the plan, and a user of the
    /// rule's remembered state who is in none of its lists is forgotten. Only rules that are applied
    /// (enabled, instance enabled) appear.
    /// A rule of `Remembered::user_groups` that is not in `rules` was removed from the config: the store
    /// drops its state together with its groups (StopManaging).
    pub user_groups_after: UserGroupsSnapshot,
}
