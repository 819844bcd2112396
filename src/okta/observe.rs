//! Reads the org into the planner's input (`OrgView`) through any `OktaApi`, with the fewest calls that are
//! still correct:
//!
//! - one listing of ACTIVE users (`search=status eq "ACTIVE"`), keeping only the profile attributes rules read;
//! - one listing of every group (Okta pages groups 10,000 at a time, so this is one call for most orgs, and
//!   far cheaper than one `search=profile.name eq` per computed name; it also sees APP_GROUP and BUILT_IN
//!   groups and case variants, which collision detection needs);
//! - member listings only for the groups the plan works on: groups the store manages, and groups whose name
//!   (case-insensitively) is one the rules compute. These run concurrently; the client paces itself.
//!
//! Members that the ACTIVE listing did not return (DEPROVISIONED, SUSPENDED, ... or just activated) are added
//! to the view with their status, so the planner can apply its status rules to them.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use futures::stream::{self, StreamExt, TryStreamExt};
use serde_json::Value;

use super::api::{GroupQuery, OktaApi};
use super::error::OktaError;
use super::model::User;
use crate::config::model::Config;
use crate::plan::model::{OrgGroup, OrgView, Remembered, UserTable};
use crate::plan::naming;

pub const ACTIVE_USERS_SEARCH: &str = r#"status eq "ACTIVE""#;

pub async fn observe(
    api: &dyn OktaApi,
    config: &Config,
    remembered: &Remembered,
) -> Result<OrgView, OktaError> {
    let attrs: BTreeSet<&str> = config.rules.iter().map(|r| r.attribute.as_str()).collect();
    let all_groups = GroupQuery::default();
    // Users go into the table page by page: never a million full user objects at once.
    let mut table = UserTable::new();
    let mut each = |u: User| push_user(&mut table, u, &attrs);
    let (_, groups) = futures::try_join!(
        api.list_users_each(Some(ACTIVE_USERS_SEARCH), &mut each),
        api.list_groups(&all_groups)
    )?;
    let names = computed_names(config, &table);
    let groups: Vec<OrgGroup> = groups.into_iter().map(OrgGroup::from).collect();
    let wanted: Vec<String> = groups
        .iter()
        .filter(|g| remembered.groups.contains_key(&g.id) || names.contains(&g.name.to_lowercase()))
        .map(|g| g.id.clone())
        .collect();
    let concurrency = config.instance.budget.max_concurrency.max(1);
    let listed: Vec<Listing> = {
        let known: HashSet<&str> = (0..table.len()).map(|i| table.id(i)).collect();
        let (known, attrs) = (&known, &attrs);
        stream::iter(wanted)
            .map(|id: String| async move {
                let mut listing = Listing {
                    group: id,
                    ids: Vec::new(),
                    others: UserTable::new(),
                };
                api.list_group_members_each(&listing.group, &mut |u| {
                    listing.ids.push(u.id.clone());
                    if !known.contains(u.id.as_str()) {
                        push_user(&mut listing.others, u, attrs);
                    }
                })
                .await?;
                Ok::<_, OktaError>(listing)
            })
            .buffer_unordered(concurrency)
            .try_collect()
            .await?
    };
    // Members the ACTIVE listing did not return join the view once each, with their status.
    let mut added: HashSet<String> = HashSet::new();
    let mut members = BTreeMap::new();
    for mut l in listed {
        for i in 0..l.others.len() {
            if added.insert(l.others.id(i).to_string()) {
                let row = l.others.row(i);
                table.push(&row.id, row.status, row.attributes);
            }
        }
        l.ids.sort_unstable();
        l.ids.dedup();
        members.insert(l.group, l.ids.iter().collect());
    }
    Ok(OrgView {
        users: table,
        groups,
        members,
    })
}

/// One group's member listing: every member's id, and the members the ACTIVE listing did not return
/// (with the attributes rules read).
struct Listing {
    group: String,
    ids: Vec<String>,
    others: UserTable,
}

/// Appends a user with only the profile attributes rules read.
fn push_user(table: &mut UserTable, u: User, attrs: &BTreeSet<&str>) {
    let mut profile = u.profile;
    let attributes = attrs
        .iter()
        .filter_map(|a| profile.remove(*a).map(|v| (*a, v)));
    table.push(&u.id, u.status, attributes);
}

/// Lower-cased names every rule computes from the distinct values of its attribute.
pub(crate) fn computed_names(config: &Config, users: &UserTable) -> HashSet<String> {
    names_from_values(config, |attribute| {
        Box::new(
            users
                .column(attribute)
                .into_iter()
                .flat_map(|c| c.values().iter()),
        )
    })
}

/// Lower-cased names every rule computes from the values `values_of(attribute)` yields (each distinct raw
/// value normalized once; values may repeat).
pub(crate) fn names_from_values<'v>(
    config: &Config,
    values_of: impl Fn(&str) -> Box<dyn Iterator<Item = &'v Value> + 'v>,
) -> HashSet<String> {
    let sep = config.instance.policies.separator;
    let mut names = HashSet::new();
    for rule in &config.rules {
        let aliases = rule.alias_map();
        let mut done: HashSet<std::borrow::Cow<'v, str>> = HashSet::new();
        for value in values_of(&rule.attribute) {
            let Ok(raws) = naming::raw_values(Some(value)) else {
                continue;
            };
            for raw in raws {
                if done.contains(raw.as_ref()) {
                    continue;
                }
                let canonical = aliases.get(raw.as_ref()).copied().unwrap_or(raw.as_ref());
                if let Ok(name) = naming::group_name(&rule.prefix, sep, canonical) {
                    names.insert(name.to_lowercase());
                }
                done.insert(raw);
            }
        }
    }
    names
}
