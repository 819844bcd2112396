//! The assess views of a plan: per rule, total groups, the largest groups with member counts, collision
//! status, adds and removes, groups to delete or stop managing, and warnings. Text for a terminal,
//! Markdown for a pull request (only group names, values and counts: never logins, emails or names),
//! and JSON (`"format_version": 1`, a public contract).

mod json;
mod markdown;
mod text;

pub use json::json;
pub use markdown::markdown;
pub use text::text;

use crate::plan::model::{GroupPlan, GroupStatus, Plan, RulePlan, SkipReason, Warning};

/// Groups listed per rule in text and Markdown (the largest first).
pub const SAMPLE_GROUPS: usize = 10;

pub(crate) fn status_label(s: GroupStatus) -> &'static str {
    match s {
        GroupStatus::New => "new",
        GroupStatus::Adopt => "adopt",
        GroupStatus::Skip => "skip",
        GroupStatus::Managed => "managed",
    }
}

/// Members the group has once the plan is applied (for a skipped group: now).
pub(crate) fn members(g: &GroupPlan) -> u64 {
    if g.status == GroupStatus::Skip {
        g.current_members
    } else {
        g.members_after
    }
}

/// The largest groups first, then by name.
pub(crate) fn by_size(r: &RulePlan) -> Vec<&GroupPlan> {
    let mut v: Vec<&GroupPlan> = r.groups.iter().collect();
    v.sort_by(|a, b| {
        members(b)
            .cmp(&members(a))
            .then_with(|| a.name.cmp(&b.name))
    });
    v
}

pub(crate) fn skip_reason(r: &SkipReason) -> String {
    match r {
        SkipReason::CollisionPolicySkip { group_id } => {
            format!(
                "an Okta group this tool does not manage has the name ({group_id}); collision policy is skip"
            )
        }
        SkipReason::NotModifiable {
            group_id,
            group_type,
        } => {
            format!(
                "{} group {group_id}: Okta does not let us change it",
                group_type.as_str()
            )
        }
        SkipReason::Ambiguous { group_ids } => {
            format!(
                "{} Okta groups have this name ({})",
                group_ids.len(),
                group_ids.join(", ")
            )
        }
    }
}

/// A warning as one sentence; `esc` escapes names for the target format.
pub(crate) fn warning(w: &Warning, esc: &dyn Fn(&str) -> String) -> String {
    match w {
        Warning::HighCardinality {
            rule,
            groups,
            small_groups,
        } => format!(
            "rule {}: {small_groups} of {groups} groups have one or two members; is this a high-cardinality attribute (title, manager)?",
            esc(rule)
        ),
        Warning::GithubSlugClash { slug, names } => format!(
            "{} become the same GitHub team slug {}",
            names.iter().map(|n| esc(n)).collect::<Vec<_>>().join(", "),
            esc(slug)
        ),
        Warning::SlackHandleTooLong { name, limit } => {
            format!(
                "{} is longer than {limit} characters, the Slack handle limit",
                esc(name)
            )
        }
        Warning::TooManyGroups { users, limit } => format!(
            "{users} users would be in more than {limit} groups; Okta drops groups past {limit} from tokens"
        ),
        Warning::Disabled { what } => format!("{} is disabled: assessed, never applied", esc(what)),
    }
}

pub(crate) fn deletes(plan: &Plan) -> impl Iterator<Item = &GroupPlan> {
    plan.rules
        .iter()
        .flat_map(|r| r.groups.iter())
        .filter(|g| g.delete)
}
