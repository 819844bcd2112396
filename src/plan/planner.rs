//! The planner's orchestration: per rule, compute the groups (values), decide each name's status
//! (collisions), diff memberships (membership), then the empty-group policy, removed rules, the per-user
//! state to record, the summary, fingerprints and downstream checks.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::checks::{self, Tally};
use super::collisions::{Groups, Resolution};
use super::fingerprint;
use super::index::{Members, Standing, Users};
use super::membership::{self, History, Member};
use super::model::*;
use super::values::{self, ComputedGroup};
use crate::config::model::{Config, EmptyGroups, Rule, RuleId, Separator};

/// Actions by kind, concatenated in apply order at the end. Membership changes (millions on a first sync)
/// stay compact (user indices per group) until the final `Vec<Action>` is built once, at its exact size.
#[derive(Default)]
struct Actions<'a> {
    create: Vec<Action>,
    adopt: Vec<Action>,
    members: Vec<MemberOps<'a>>,
    delete: Vec<Action>,
    stop: Vec<Action>,
}

/// The membership changes of one group of an applied rule.
struct MemberOps<'a> {
    /// Index into the plan's sorted rule ids.
    rule: usize,
    group: GroupRef,
    diff: membership::Diff<'a>,
}

/// What one applied rule needs to compute its user state after the plan (done off the main thread).
struct RuleState<'a> {
    rule: RuleId,
    pairs: Vec<(u32, u32)>,
    groups: Vec<ComputedGroup>,
    managed_after: Vec<bool>,
    rem: Option<&'a BTreeMap<UserId, BTreeSet<String>>>,
}

struct Hist<'a, 'r> {
    /// The rule's remembered state per user index (built once per rule, no per-user map lookups).
    rem: &'r [Option<&'a BTreeSet<String>>],
    name: &'r str,
    added: HashSet<&'a str>,
}

impl History for Hist<'_, '_> {
    fn prev(&self, u: u32) -> bool {
        self.rem[u as usize].is_some_and(|s| s.contains(self.name))
    }
    fn seen_before(&self, u: u32) -> bool {
        self.rem[u as usize].is_some()
    }
    fn added_by_us(&self, id: &str) -> bool {
        self.added.contains(id)
    }
}

/// The remembered state of one rule by user index: a merge of two id-sorted sequences.
fn remembered_by_user<'a>(
    rem: Option<&'a BTreeMap<UserId, BTreeSet<String>>>,
    users: &Users<'_>,
) -> Vec<Option<&'a BTreeSet<String>>> {
    let mut out = vec![None; users.len()];
    let Some(rem) = rem else { return out };
    let mut it = rem.iter().peekable();
    for u in 0..users.len() as u32 {
        let id = users.id(u);
        while it.next_if(|(k, _)| k.as_str() < id).is_some() {}
        if let Some((_, s)) = it.next_if(|(k, _)| k.as_str() == id) {
            out[u as usize] = Some(s);
        }
    }
    out
}

fn added_to<'a>(remembered: &'a Remembered, group_id: Option<&str>) -> HashSet<&'a str> {
    let Some(gid) = group_id else {
        return HashSet::new();
    };
    remembered
        .added_by_us
        .range((gid.to_string(), String::new())..)
        .take_while(|(g, _)| g == gid)
        .map(|(_, u)| u.as_str())
        .collect()
}

pub fn plan(config: &Config, org: &OrgView, remembered: &Remembered) -> Plan {
    let policies = config.instance.policies;
    let users = Users::new(org);
    let groups = Groups::new(org, remembered);
    let mut rules: Vec<&Rule> = config.rules.iter().collect();
    rules.sort_by_key(|r| r.id());
    let rule_ids: BTreeSet<RuleId> = rules.iter().map(|r| r.id()).collect();
    let sorted_ids: Vec<RuleId> = rules.iter().map(|r| r.id()).collect();

    let mut actions = Actions::default();
    let mut warnings = Vec::new();
    let mut rule_plans = Vec::new();
    let mut states: Vec<RuleState> = Vec::new();
    let mut tally = Tally::new(users.len());
    let mut relevant_groups: BTreeSet<&str> = BTreeSet::new();
    if !config.instance.enabled {
        warnings.push(Warning::Disabled {
            what: format!("instance {}", config.instance.name),
        });
    }

    let all_computed = compute_rules(&rules, policies.separator, &users);
    for ((ri, rule), mut computed) in rules.iter().enumerate().zip(all_computed) {
        let rule_id = rule.id();
        let applied = config.instance.enabled && rule.enabled;
        if !rule.enabled {
            warnings.push(Warning::Disabled {
                what: format!("rule {rule_id}"),
            });
        }
        // Managed groups of this rule that no active user yields any more still need planning.
        let known: HashSet<String> = computed.groups.iter().map(|g| g.name.clone()).collect();
        for m in groups.managed_names(&rule_id) {
            if !known.contains(&m.name) {
                computed.groups.push(ComputedGroup {
                    name: m.name.clone(),
                    values: m.values.iter().cloned().collect(),
                    desired: Vec::new(),
                });
            }
        }
        let rem = remembered.user_groups.get(&rule_id);
        let rem_by_user = remembered_by_user(rem, &users);
        let mut order: Vec<u32> = (0..computed.groups.len() as u32).collect();
        order.sort_by(|a, b| {
            computed.groups[*a as usize]
                .name
                .cmp(&computed.groups[*b as usize].name)
        });
        let mut managed_after = vec![false; computed.groups.len()];
        let mut plans = Vec::with_capacity(order.len());
        let (mut rule_adds, mut rule_removes) = (0u64, 0u64);

        for gi in order {
            let g = &computed.groups[gi as usize];
            let res: Resolution = groups.resolve(&rule_id, &g.name, policies.collision);
            if let Some(v) = res.vanished {
                // Deleted in Okta behind our back: forget the record; the name is planned anew.
                if applied {
                    actions.stop.push(Action::StopManaging {
                        rule: rule_id.clone(),
                        id: v.id.clone(),
                        name: v.name.clone(),
                    });
                }
            }
            if let Some(id) = res.okta_id {
                relevant_groups.insert(id);
            }
            let members = Members::of(org, &users, res.okta_id);
            let works = matches!(
                res.status,
                GroupStatus::New | GroupStatus::Adopt | GroupStatus::Managed
            );
            let diff = if works {
                let hist = Hist {
                    rem: &rem_by_user,
                    name: &g.name,
                    added: added_to(remembered, res.okta_id),
                };
                membership::diff(policies.membership, &g.desired, &members, &users, &hist)
            } else {
                membership::Diff::default()
            };
            let members_after = (members.len() + diff.adds.len() - diff.removes.len()) as u64;
            let delete = res.status == GroupStatus::Managed
                && policies.empty_groups == EmptyGroups::Delete
                && res.managed.is_some_and(|m| m.created_by_us && !m.adopted)
                && g.desired.is_empty()
                && members_after == 0;
            managed_after[gi as usize] = works && !delete;
            // Licensing and group counts: what is managed once this plan (or, for a rule that is not
            // applied, nothing) has run.
            if applied && works && !delete {
                tally.group_after(&members, &diff, &users);
            } else if !applied && res.status == GroupStatus::Managed {
                tally.group_after(&members, &membership::Diff::default(), &users);
            }
            let values: Vec<String> = g.values.iter().cloned().collect();
            let gref = match res.okta_id {
                Some(id) if works && res.status != GroupStatus::New => GroupRef::Existing {
                    id: id.to_string(),
                    name: g.name.clone(),
                },
                _ => GroupRef::New {
                    name: g.name.clone(),
                },
            };
            if applied {
                match res.status {
                    GroupStatus::New => actions.create.push(Action::CreateGroup {
                        rule: rule_id.clone(),
                        name: g.name.clone(),
                        description: rule.description.as_ref().map(|d| {
                            d.replace("{value}", values.first().map(String::as_str).unwrap_or(""))
                        }),
                        values: values.clone(),
                    }),
                    GroupStatus::Adopt => actions.adopt.push(Action::AdoptGroup {
                        rule: rule_id.clone(),
                        id: res.okta_id.unwrap_or_default().to_string(),
                        name: g.name.clone(),
                        values: values.clone(),
                    }),
                    _ => {}
                }
                if delete && let Some(m) = res.managed {
                    actions.delete.push(Action::DeleteGroup {
                        rule: rule_id.clone(),
                        id: m.id.clone(),
                        name: m.name.clone(),
                    });
                }
            }
            let (n_adds, n_removes) = (diff.adds.len() as u64, diff.removes.len() as u64);
            rule_adds += n_adds;
            rule_removes += n_removes;
            let desired_members = g.desired.len() as u64;
            if applied && n_adds + n_removes > 0 {
                actions.members.push(MemberOps {
                    rule: ri,
                    group: gref,
                    diff,
                });
            }
            plans.push(GroupPlan {
                name: g.name.clone(),
                values,
                status: res.status,
                skip_reason: res.skip_reason,
                okta_id: res.okta_id.map(str::to_string),
                desired_members,
                current_members: members.len() as u64,
                members_after: if works {
                    members_after
                } else {
                    members.len() as u64
                },
                adds: n_adds,
                removes: n_removes,
                delete,
            });
        }
        if applied {
            for g in &mut computed.groups {
                g.desired = Vec::new();
            }
            states.push(RuleState {
                rule: rule_id.clone(),
                pairs: std::mem::take(&mut computed.pairs),
                groups: std::mem::take(&mut computed.groups),
                managed_after,
                rem,
            });
        }
        if let Some(w) = checks::high_cardinality(&rule_id, &plans) {
            warnings.push(w);
        }
        rule_plans.push(RulePlan {
            rule: rule_id,
            attribute: rule.attribute.clone(),
            prefix: rule.prefix.clone(),
            enabled: rule.enabled,
            groups: plans,
            rejected_values: computed
                .rejected
                .into_iter()
                .map(|(value, (reason, users))| RejectedValue {
                    value,
                    users,
                    reason,
                })
                .collect(),
            users_without_value: computed.without_value,
            adds: rule_adds,
            removes: rule_removes,
        });
    }

    // Removed rules: stop managing their groups (never delete them in Okta) and forget their user state.
    let stop_managing: Vec<ManagedGroup> = remembered
        .groups
        .values()
        .filter(|m| !rule_ids.contains(&m.rule))
        .cloned()
        .collect();
    if config.instance.enabled {
        for m in &stop_managing {
            actions.stop.push(Action::StopManaging {
                rule: m.rule.clone(),
                id: m.id.clone(),
                name: m.name.clone(),
            });
        }
    }

    warnings.extend(checks::downstream(&rule_plans, &tally));
    let n_adds: usize = actions.members.iter().map(|o| o.diff.adds.len()).sum();
    let n_removes: usize = actions.members.iter().map(|o| o.diff.removes.len()).sum();
    let summary = summarize(
        config,
        &rule_plans,
        &actions,
        (n_adds, n_removes),
        &tally,
        &users,
    );
    // The two big outputs are independent: the per-user state is built on a second thread while this one
    // builds the actions and the fingerprint.
    let (user_groups_after, all, okta_fingerprint) = std::thread::scope(|s| {
        let users = &users;
        let states = &states;
        let after = s.spawn(move || {
            let mut out = UserGroupsSnapshot::new();
            for st in states {
                if let Some(full) = rule_state_after(st, users) {
                    out.insert(st.rule.clone(), full);
                }
            }
            out
        });
        let all = assemble(actions, &sorted_ids, users, n_adds + n_removes);
        let fp = fingerprint::okta(config, users, org, &relevant_groups, &groups);
        let after = after
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (after, all, fp)
    });
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        config_commit: config.commit.clone(),
        config_fingerprint: fingerprint::config(config),
        okta_fingerprint,
        rules: rule_plans,
        stop_managing,
        actions: all,
        warnings,
        summary,
        user_groups_after,
    }
}

/// Every rule's groups, computed two at a time (each rule reads the whole org once; this machine has two
/// cores): the even-numbered rules here, the odd-numbered ones on a second thread.
fn compute_rules(
    rules: &[&Rule],
    separator: Separator,
    users: &Users<'_>,
) -> Vec<values::Computed> {
    if rules.len() < 2 {
        return rules
            .iter()
            .map(|r| values::compute(r, separator, users))
            .collect();
    }
    std::thread::scope(|s| {
        let odd = s.spawn(|| {
            rules
                .iter()
                .skip(1)
                .step_by(2)
                .map(|r| values::compute(r, separator, users))
                .collect::<Vec<_>>()
        });
        let even: Vec<_> = rules
            .iter()
            .step_by(2)
            .map(|r| values::compute(r, separator, users))
            .collect();
        let odd = odd
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let mut out = Vec::with_capacity(rules.len());
        let mut odd = odd.into_iter();
        for e in even {
            out.push(e);
            out.extend(odd.next());
        }
        out
    })
}

/// All actions in apply order (create, adopt, add, remove, delete, stop), in one allocation of exact size.
/// Membership changes become one `AddMembers` per (group, reason), then one `RemoveMembers` per (group,
/// reason), groups in their planned order, reasons in `Reason` order, users sorted by id.
fn assemble(
    actions: Actions<'_>,
    rule_ids: &[RuleId],
    users: &Users<'_>,
    memberships: usize,
) -> Vec<Action> {
    let Actions {
        create,
        adopt,
        members,
        delete,
        stop,
    } = actions;
    let reasons: Vec<(BTreeSet<Reason>, BTreeSet<Reason>)> = members
        .iter()
        .map(|o| {
            (
                o.diff.adds.iter().map(|a| a.1).collect(),
                o.diff.removes.iter().map(|r| r.1).collect(),
            )
        })
        .collect();
    let grouped: usize = reasons.iter().map(|(a, r)| a.len() + r.len()).sum();
    let mut all =
        Vec::with_capacity(create.len() + adopt.len() + grouped + delete.len() + stop.len());
    all.extend(create);
    all.extend(adopt);
    for (o, (add_reasons, _)) in members.iter().zip(&reasons) {
        for &reason in add_reasons {
            // Adds are in user order, which is id order.
            let ids = o.diff.adds.iter().filter(move |a| a.1 == reason);
            all.push(Action::AddMembers {
                rule: rule_ids[o.rule].clone(),
                group: o.group.clone(),
                reason,
                users: packed(ids.map(|&(u, _)| users.id(u))),
            });
        }
    }
    for (o, (_, remove_reasons)) in members.iter().zip(&reasons) {
        for &reason in remove_reasons {
            // Removes are the known members in id order, then the unknown ids in id order: merged.
            let of = o.diff.removes.iter().filter(move |r| r.1 == reason);
            let known = of.clone().filter_map(|(m, _)| match m {
                Member::Known(u) => Some(users.id(*u)),
                Member::Unknown(_) => None,
            });
            let unknown = of.filter_map(|(m, _)| match m {
                Member::Known(_) => None,
                Member::Unknown(id) => Some(*id),
            });
            all.push(Action::RemoveMembers {
                rule: rule_ids[o.rule].clone(),
                group: o.group.clone(),
                reason,
                users: packed(merged(known, unknown)),
            });
        }
    }
    all.extend(delete);
    all.extend(stop);
    debug_assert_eq!(
        all.iter()
            .filter(|a| matches!(a, Action::AddMembers { .. } | Action::RemoveMembers { .. }))
            .map(|a| a.writes() as usize)
            .sum::<usize>(),
        memberships
    );
    all
}

/// `ids` in one buffer of exactly their size (counted in a first pass).
fn packed<'s>(ids: impl Iterator<Item = &'s str> + Clone) -> IdList {
    let (n, bytes) = ids.clone().fold((0, 0), |(n, b), id| (n + 1, b + id.len()));
    let mut list = IdList::with_capacity(n, bytes);
    for id in ids {
        list.push(id);
    }
    list
}

/// Two id-sorted sequences as one id-sorted sequence.
fn merged<'s>(
    a: impl Iterator<Item = &'s str> + Clone,
    b: impl Iterator<Item = &'s str> + Clone,
) -> impl Iterator<Item = &'s str> + Clone {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some(x), Some(y)) if y < x => b.next(),
        (Some(_), _) => a.next(),
        (None, _) => b.next(),
    })
}

/// A rule's whole state after the plan, when it changes: the remembered state with the changed entries
/// replaced (unchanged entries too, so the store can replace the rule's state; forgotten users stay listed
/// with an empty set). Built from sorted sequences so the map is bulk-built with full nodes.
fn rule_state_after(
    st: &RuleState<'_>,
    users: &Users<'_>,
) -> Option<BTreeMap<UserId, BTreeSet<String>>> {
    let delta = user_state_delta(&st.pairs, &st.groups, &st.managed_after, st.rem, users);
    if delta.is_empty() {
        return None;
    }
    let Some(rem) = st.rem.filter(|r| !r.is_empty()) else {
        return Some(delta.into_iter().collect());
    };
    let mut merged = Vec::with_capacity(rem.len() + delta.len());
    let mut old = rem.iter().peekable();
    for (id, set) in delta {
        while let Some((k, v)) = old.next_if(|(k, _)| **k < id) {
            merged.push((k.clone(), v.clone()));
        }
        old.next_if(|(k, _)| **k == id);
        merged.push((id, set));
    }
    merged.extend(old.map(|(k, v)| (k.clone(), v.clone())));
    Some(merged.into_iter().collect())
}

/// The (rule, user) entries whose recorded group names change, sorted by user id: an empty set means
/// "forget the entry".
fn user_state_delta(
    pairs: &[(u32, u32)],
    groups: &[ComputedGroup],
    managed_after: &[bool],
    rem: Option<&BTreeMap<UserId, BTreeSet<String>>>,
    users: &Users<'_>,
) -> Vec<(UserId, BTreeSet<String>)> {
    let mut delta = Vec::new();
    let mut rem_iter = rem.into_iter().flat_map(|m| m.iter()).peekable();
    let forget_unpaired =
        |id: &String, set: &BTreeSet<String>, delta: &mut Vec<(UserId, BTreeSet<String>)>| {
            let frozen = users
                .find(id)
                .is_some_and(|u| users.standing(u) == Standing::Frozen);
            if !set.is_empty() && !frozen {
                delta.push((id.clone(), BTreeSet::new()));
            }
        };
    let mut names: Vec<&str> = Vec::new();
    let mut p = 0;
    while p < pairs.len() {
        let u = pairs[p].0;
        names.clear();
        while p < pairs.len() && pairs[p].0 == u {
            let g = pairs[p].1 as usize;
            if managed_after[g] {
                names.push(&groups[g].name);
            }
            p += 1;
        }
        names.sort_unstable();
        let id = users.id(u);
        while let Some((rid, set)) = rem_iter.next_if(|(rid, _)| rid.as_str() < id) {
            forget_unpaired(rid, set, &mut delta);
        }
        let before = rem_iter
            .next_if(|(rid, _)| rid.as_str() == id)
            .map(|(_, s)| s);
        let same = match before {
            Some(set) => set.len() == names.len() && set.iter().zip(&names).all(|(a, b)| a == b),
            None => names.is_empty(),
        };
        if !same {
            // Inserted one by one (names are distinct and sorted): `collect` would allocate and sort a
            // temporary Vec per user, millions of times on a first sync.
            let mut set = BTreeSet::new();
            for n in &names {
                set.insert(n.to_string());
            }
            delta.push((id.to_string(), set));
        }
    }
    for (rid, set) in rem_iter {
        forget_unpaired(rid, set, &mut delta);
    }
    delta
}

fn summarize(
    config: &Config,
    rules: &[RulePlan],
    actions: &Actions<'_>,
    (adds, removes): (usize, usize),
    tally: &Tally,
    users: &Users<'_>,
) -> Summary {
    let mut s = Summary {
        rules: rules.len() as u64,
        ..Summary::default()
    };
    for r in rules
        .iter()
        .filter(|r| r.enabled && config.instance.enabled)
    {
        for g in &r.groups {
            s.groups_total += 1;
            match g.status {
                GroupStatus::New => s.groups_new += 1,
                GroupStatus::Adopt => s.groups_adopt += 1,
                GroupStatus::Skip => s.groups_skip += 1,
                GroupStatus::Managed => s.groups_managed += 1,
            }
        }
    }
    s.groups_delete = actions.delete.len() as u64;
    s.groups_stop_managing = actions
        .stop
        .iter()
        .filter(|a| matches!(a, Action::StopManaging { .. }))
        .count() as u64;
    s.adds = adds as u64;
    s.removes = removes as u64;
    s.licensed_users_after = tally.licensed(users);
    s
}
