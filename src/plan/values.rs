//! From users' raw attribute values to the groups a rule yields: aliases, normalization (cached per distinct
//! raw value, so a million users cost one normalization per distinct value), merged and rejected values, and
//! the desired members of each group as sorted user indices.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::index::Users;
use super::model::RejectReason;
use super::naming;
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
    /// (user, group index) for every active user and group they yield, sorted by user.
    pub pairs: Vec<(u32, u32)>,
    /// raw value -> (reason, users).
    pub rejected: BTreeMap<String, (RejectReason, u64)>,
    /// Active users with a missing, null or empty value.
    pub without_value: u64,
}

/// Longest raw value kept in a report (an attribute can hold kilobytes).
const MAX_REPORTED_VALUE_CHARS: usize = 200;

pub(crate) fn compute(rule: &Rule, separator: Separator, users: &Users<'_>) -> Computed {
    // alias raw -> canonical value
    let aliases: HashMap<&str, &str> = rule
        .aliases
        .iter()
        .flat_map(|(canon, raws)| raws.iter().map(move |r| (r.as_str(), canon.as_str())))
        .collect();
    let mut out = Computed::default();
    let mut by_name: HashMap<String, u32> = HashMap::new();
    // raw value -> group index or rejection
    let mut cache: HashMap<String, Result<u32, RejectReason>> = HashMap::new();
    let mut mine: Vec<u32> = Vec::with_capacity(4);
    let mut rejected_here: Vec<String> = Vec::new();
    let mut raws: Vec<Cow<'_, str>> = Vec::with_capacity(4);

    for u in 0..users.len() as u32 {
        if !users.is_active(u) {
            continue;
        }
        match naming::raw_values_into(users.attr(u, &rule.attribute), &mut raws) {
            Ok(()) => {}
            Err(naming::UnsupportedValue) => {
                let shown = users
                    .attr(u, &rule.attribute)
                    .map(|v| truncate(&v.to_string()))
                    .unwrap_or_default();
                bump(&mut out.rejected, shown, RejectReason::UnsupportedType);
                continue;
            }
        };
        if raws.is_empty() {
            out.without_value += 1;
            continue;
        }
        mine.clear();
        rejected_here.clear();
        for raw in &raws {
            let raw: &str = raw;
            let result = match cache.get(raw) {
                Some(r) => *r,
                None => {
                    let canonical = aliases.get(raw).copied().unwrap_or(raw);
                    let r = naming::group_name(&rule.prefix, separator, canonical).map(|name| {
                        let next = out.groups.len() as u32;
                        let g = *by_name.entry(name.clone()).or_insert(next);
                        if g == next {
                            out.groups.push(ComputedGroup {
                                name,
                                ..Default::default()
                            });
                        }
                        out.groups[g as usize].values.insert(raw.to_string());
                        g
                    });
                    cache.insert(raw.to_string(), r);
                    r
                }
            };
            match result {
                Ok(g) => mine.push(g),
                Err(reason) => {
                    if !rejected_here.iter().any(|r| r == raw) {
                        rejected_here.push(raw.to_string());
                        bump(&mut out.rejected, truncate(raw), reason);
                    }
                }
            }
        }
        mine.sort_unstable();
        mine.dedup();
        for &g in &mine {
            out.groups[g as usize].desired.push(u);
            out.pairs.push((u, g));
        }
    }
    out
}

fn bump(map: &mut BTreeMap<String, (RejectReason, u64)>, value: String, reason: RejectReason) {
    map.entry(value).or_insert((reason, 0)).1 += 1;
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
