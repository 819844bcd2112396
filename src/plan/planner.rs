//! The planner's orchestration: per rule, compute the groups (values), decide each name's status
//! (collisions), diff memberships (membership), then the empty-group policy, removed rules, the per-user
//! state to record, the summary, fingerprints and downstream checks.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

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
struct RuleAfter<'a> {
    rule: RuleId,
    groups: Vec<ComputedGroup>,
    managed_after: Vec<bool>,
    rem: Option<&'a RuleState>,
    /// Remembered users who are frozen (they keep their entries), per group name, as sorted indices.
    frozen: BTreeMap<&'a str, Vec<u32>>,
}

/// A rule's remembered state by planner index: who has any state, and per group name who yielded it.
#[derive(Default)]
struct Recalled<'a> {
    seen: Vec<bool>,
    by_name: HashMap<&'a str, Vec<u32>>,
}

impl<'a> Recalled<'a> {
    fn of(rem: Option<&'a RuleState>, users: &Users<'_>) -> Recalled<'a> {
        let mut out = Recalled {
            seen: vec![false; users.len()],
            by_name: HashMap::new(),
        };
        for (name, ids) in rem.into_iter().flatten() {
            let mut idx: Vec<u32> = Vec::with_capacity(ids.len());
            users.find_each(ids.iter(), |u| idx.push(u), |_| {});
            idx.sort_unstable();
            for &u in &idx {
                out.seen[u as usize] = true;
            }
            out.by_name.insert(name.as_str(), idx);
        }
        out
    }
}

struct Hist<'a, 'r> {
    /// Planner indices the rule's remembered state lists under this group's name (sorted).
    prev: &'r [u32],
    seen: &'r [bool],
    /// Users the tool added to this group (sorted ids).
    added: Option<&'a IdList>,
}

impl History for Hist<'_, '_> {
    fn prev(&self, u: u32) -> bool {
        self.prev.binary_search(&u).is_ok()
    }
    fn seen_before(&self, u: u32) -> bool {
        self.seen[u as usize]
    }
    fn added_by_us(&self, id: &str) -> bool {
        self.added.is_some_and(|l| l.contains(id))
    }
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
    let mut states: Vec<RuleAfter> = Vec::new();
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
        let recalled = Recalled::of(rem, &users);
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
                    prev: recalled
                        .by_name
                        .get(g.name.as_str())
                        .map_or(&[][..], Vec::as_slice),
                    seen: &recalled.seen,
                    added: res.okta_id.and_then(|id| remembered.added_by_us.get(id)),
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
            let frozen = recalled
                .by_name
                .iter()
                .map(|(name, idx)| {
                    let kept: Vec<u32> = idx
                        .iter()
                        .copied()
                        .filter(|&u| users.standing(u) == Standing::Frozen)
                        .collect();
                    (*name, kept)
                })
                .filter(|(_, kept)| !kept.is_empty())
                .collect();
            states.push(RuleAfter {
                rule: rule_id.clone(),
                frozen,
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

/// Two sorted sequences as one sorted sequence (ties: `a` first).
fn merged<T: Ord + Clone>(
    a: impl Iterator<Item = T> + Clone,
    b: impl Iterator<Item = T> + Clone,
) -> impl Iterator<Item = T> + Clone {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some(x), Some(y)) if y < x => b.next(),
        (Some(_), _) => a.next(),
        (None, _) => b.next(),
    })
}

/// A rule's whole state after the plan, when it differs from the remembered one: for each group managed
/// after the plan, the active users whose values yield it; frozen users (see `Standing`) keep their
/// remembered entries; everyone else is forgotten. Compared with the remembered state as it streams, so a
/// no-change plan builds nothing.
fn rule_state_after(st: &RuleAfter<'_>, users: &Users<'_>) -> Option<RuleState> {
    // name -> (desired, frozen), both sorted indices; disjoint, since desired users are active.
    let mut lists: BTreeMap<&str, (&[u32], &[u32])> = BTreeMap::new();
    for (name, frozen) in &st.frozen {
        lists.insert(name, (&[], frozen));
    }
    for (g, group) in st.groups.iter().enumerate() {
        if st.managed_after[g] && !group.desired.is_empty() {
            lists.entry(group.name.as_str()).or_insert((&[], &[])).0 = &group.desired;
        }
    }
    let same = match st.rem {
        Some(rem) => {
            rem.len() == lists.len()
                && rem.iter().zip(&lists).all(|((name, ids), (n, (d, f)))| {
                    name == n
                        && ids.len() == d.len() + f.len()
                        && merged(d.iter(), f.iter())
                            .map(|&u| users.id(u))
                            .eq(ids.iter())
                })
        }
        None => lists.is_empty(),
    };
    if same {
        return None;
    }
    let after = lists
        .into_iter()
        .map(|(name, (d, f))| {
            let ids = merged(d.iter(), f.iter()).map(|&u| users.id(u));
            (name.to_string(), packed(ids))
        })
        .collect();
    Some(after)
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
