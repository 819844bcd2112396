//! From users' raw attribute values to the groups a rule yields: aliases, normalization (cached per distinct
//! raw value, so a million users cost one normalization per distinct value), merged and rejected values, and
//! the desired members of each group as sorted user indices.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::index::Users;
use super::model::RejectReason;
use super::naming;
use super::users::ABSENT;
use crate::config::model::{Rule, Separator};

/// One group a rule computes.
#[derive(Debug, Default)]
pub(crate) struct ComputedGroup {
    pub name: String,
    /// Raw values (before aliases) that fed the group.
    pub values: BTreeSet<String>,
    /// Active users whose values yield the group, as sorted user indices.
    pub desired: Vec<u32>,
}

#[derive(Debug, Default)]
pub(crate) struct Computed {
    pub groups: Vec<ComputedGroup>,
    /// raw value -> (reason, users).
    pub rejected: BTreeMap<String, (RejectReason, u64)>,
    /// Active users with a missing, null or empty value.
    pub without_value: u64,
}

/// Longest raw value kept in a report (an attribute can hold kilobytes).
const MAX_REPORTED_VALUE_CHARS: usize = 200;

/// What one distinct attribute value yields, worked out once for every user who holds it.
#[derive(Default)]
struct Outcome {
    /// Group indices, sorted and distinct.
    groups: Vec<u32>,
    /// Raw values (as reported) that named no group, each once.
    rejected: Vec<(String, RejectReason)>,
    /// A nested object or other type: the value as reported.
    unsupported: Option<String>,
    /// Active users holding the value.
    users: u64,
}

pub(crate) fn compute(rule: &Rule, separator: Separator, users: &Users<'_>) -> Computed {
    let aliases = rule.alias_map();
    let mut out = Computed::default();
    let Some(column) = users.table().column(&rule.attribute) else {
        out.without_value = (0..users.len() as u32)
            .filter(|&u| users.is_active(u))
            .count() as u64;
        return out;
    };
    let mut by_name: HashMap<String, u32> = HashMap::new();
    // raw value -> group index or rejection (two distinct values can share a raw value: "x" and ["x"])
    let mut cache: HashMap<String, Result<u32, RejectReason>> = HashMap::new();
    // code -> outcome, filled on first sight; the last slot is for users without the attribute.
    let absent_slot = column.values().len();
    let mut outcomes: Vec<Option<Outcome>> = Vec::new();
    outcomes.resize_with(absent_slot + 1, || None);
    let mut raws: Vec<Cow<'_, str>> = Vec::with_capacity(4);

    for u in 0..users.len() as u32 {
        if !users.is_active(u) {
            continue;
        }
        let code = column.code(users.row(u));
        let slot = if code == ABSENT {
            absent_slot
        } else {
            code as usize
        };
        if outcomes[slot].is_none() {
            let value = column.value(code);
            outcomes[slot] = Some(outcome(
                value,
                rule,
                separator,
                &aliases,
                &mut raws,
                &mut cache,
                &mut by_name,
                &mut out.groups,
            ));
        }
        let Some(o) = outcomes[slot].as_mut() else {
            continue;
        };
        o.users += 1;
        if o.unsupported.is_none() && o.groups.is_empty() && o.rejected.is_empty() {
            out.without_value += 1;
            continue;
        }
        for &g in &o.groups {
            out.groups[g as usize].desired.push(u);
        }
    }
    for o in outcomes.into_iter().flatten() {
        if let Some(shown) = o.unsupported {
            bump(
                &mut out.rejected,
                shown,
                RejectReason::UnsupportedType,
                o.users,
            );
        }
        for (raw, reason) in o.rejected {
            bump(&mut out.rejected, raw, reason, o.users);
        }
    }
    out
}

/// Normalizes one distinct value: the groups it yields and the raw values it holds that yield none.
#[allow(clippy::too_many_arguments)]
fn outcome<'v>(
    value: Option<&'v serde_json::Value>,
    rule: &Rule,
    separator: Separator,
    aliases: &HashMap<&str, &str>,
    raws: &mut Vec<Cow<'v, str>>,
    cache: &mut HashMap<String, Result<u32, RejectReason>>,
    by_name: &mut HashMap<String, u32>,
    groups: &mut Vec<ComputedGroup>,
) -> Outcome {
    let mut o = Outcome::default();
    if naming::raw_values_into(value, raws).is_err() {
        o.unsupported = Some(value.map(|v| truncate(&v.to_string())).unwrap_or_default());
        return o;
    }
    for raw in raws.iter() {
        let raw: &str = raw;
        let result = match cache.get(raw) {
            Some(r) => *r,
            None => {
                let canonical = aliases.get(raw).copied().unwrap_or(raw);
                let r = naming::group_name(&rule.prefix, separator, canonical).map(|name| {
                    let next = groups.len() as u32;
                    let g = *by_name.entry(name.clone()).or_insert(next);
                    if g == next {
                        groups.push(ComputedGroup {
                            name,
                            ..Default::default()
                        });
                    }
                    groups[g as usize].values.insert(raw.to_string());
                    g
                });
                cache.insert(raw.to_string(), r);
                r
            }
        };
        match result {
            Ok(g) => o.groups.push(g),
            Err(reason) => {
                let shown = truncate(raw);
                if !o.rejected.iter().any(|(r, _)| *r == shown) {
                    o.rejected.push((shown, reason));
                }
            }
        }
    }
    o.groups.sort_unstable();
    o.groups.dedup();
    o
}

fn bump(
    map: &mut BTreeMap<String, (RejectReason, u64)>,
    value: String,
    reason: RejectReason,
    users: u64,
) {
    map.entry(value).or_insert((reason, 0)).1 += users;
}

fn truncate(s: &str) -> String {
    if s.chars().count() <= MAX_REPORTED_VALUE_CHARS {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(MAX_REPORTED_VALUE_CHARS).collect();
        t.push('…');
        t
    }
}
