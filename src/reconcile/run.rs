//! The run itself: prepare (recover, observe, plan), then sync, apply a saved plan, or re-initialise.

use std::time::Instant;

use chrono::Utc;

use super::counting::Counting;
use super::incremental::{self, ObserveInfo};
use super::report::{ReconcileError, SyncOptions, SyncReport};
use crate::apply::recover::{RecoveryReport, recover_after_observe, recover_before_observe};
use crate::apply::safety::{self, SafetyReport};
use crate::apply::{self, ApplyOptions};
use crate::config::model::{CollisionPolicy, Config};
use crate::okta::api::OktaApi;
use crate::plan::model::{
    Action, GroupStatus, OrgView, PLAN_FORMAT_VERSION, Plan, Remembered, SkipReason,
};
use crate::store::snap::Snapshot;
use crate::store::{ApiCalls, AuditEntry, Store, StoredGroup, SyncCounts, SyncRecord, SyncStatus};

/// The state a run plans from.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub org: OrgView,
    pub remembered: Remembered,
    pub plan: Plan,
    pub recovery: RecoveryReport,
}

async fn observe(
    api: &dyn OktaApi,
    config: &Config,
    remembered: &Remembered,
) -> Result<OrgView, ReconcileError> {
    crate::okta::observe::observe(api, config, remembered)
        .await
        .map_err(|source| ReconcileError::Okta {
            what: "reading the org from Okta".to_string(),
            source: Box::new(source),
        })
}

/// Recovers an interrupted run's journal, observes Okta and plans. Changes nothing in Okta.
pub async fn prepare(
    api: &dyn OktaApi,
    store: &Store,
    config: &Config,
) -> Result<Prepared, ReconcileError> {
    let recovery = recover_before_observe(api, store).await.map_err(Box::new)?;
    let remembered = store.remembered()?;
    let org = observe(api, config, &remembered).await?;
    plan_observed(store, config, org, remembered, recovery)
}

/// After observing: resolves the journal's intents the observation settles (which may change the store's
/// memory, then read again), and plans.
fn plan_observed(
    store: &Store,
    config: &Config,
    org: OrgView,
    remembered: Remembered,
    mut recovery: RecoveryReport,
) -> Result<Prepared, ReconcileError> {
    let phase2 = recover_after_observe(store, &org)?;
    recovery
        .groups_recovered
        .extend(phase2.groups_recovered.iter().cloned());
    recovery.memberships_confirmed += phase2.memberships_confirmed;
    recovery.cleared += phase2.cleared;
    let remembered = if phase2.changed_store() {
        store.remembered()?
    } else {
        remembered
    };
    let plan = crate::plan::plan(config, &org, &remembered);
    Ok(Prepared {
        org,
        remembered,
        plan,
        recovery,
    })
}

/// Names of existing Okta groups a plan would adopt or skip by collision policy.
fn colliding_names(plan: &Plan) -> Vec<String> {
    plan.rules
        .iter()
        .flat_map(|r| &r.groups)
        .filter(|g| {
            g.status == GroupStatus::Adopt
                || matches!(g.skip_reason, Some(SkipReason::CollisionPolicySkip { .. }))
        })
        .map(|g| g.name.clone())
        .collect()
}

/// A store that never recorded anything must not treat Okta groups with our names as foreign.
fn refuse_if_unknown_store(store: &Store, plan: &Plan) -> Result<(), ReconcileError> {
    if store.is_initialized()? || !store.groups()?.is_empty() {
        return Ok(());
    }
    let names = colliding_names(plan);
    if names.is_empty() {
        return Ok(());
    }
    Err(ReconcileError::UnknownGroups {
        dir: store.dir().to_path_buf(),
        names,
    })
}

fn status_of(report: &apply::ApplyReport, safety: &SafetyReport) -> SyncStatus {
    if report.counts.failed > 0 || report.halted.is_some() || report.counts.deferred > 0 {
        SyncStatus::Partial
    } else if safety.is_stop() {
        SyncStatus::SafetyStop
    } else {
        SyncStatus::Success
    }
}

/// One history entry to write.
struct Entry<'a> {
    kind: &'a str,
    status: SyncStatus,
    commit: Option<&'a str>,
    counts: SyncCounts,
    calls: ApiCalls,
    message: Option<String>,
    observe: Option<String>,
}

/// Records the run in the history, then forgets history and audit entries older than the instance keeps.
fn record_history(
    store: &Store,
    config: &Config,
    entry: Entry<'_>,
    started: Instant,
) -> Result<(), ReconcileError> {
    let mut w = store.writer();
    w.history(&SyncRecord {
        at: Utc::now(),
        kind: entry.kind.to_string(),
        status: entry.status,
        commit: entry.commit.map(str::to_string),
        counts: entry.counts,
        api_calls: entry.calls,
        duration_ms: started.elapsed().as_millis() as u64,
        managed_groups: store.groups()?.len() as u64,
        licensed_users: store.licensed_users()?,
        message: entry.message,
        observe: entry.observe,
    })?;
    w.commit()?;
    let days = config.instance.history_days;
    let gone = store.prune(Utc::now() - chrono::TimeDelta::days(days as i64))?;
    if gone > 0 {
        tracing::info!("forgot {gone} history and audit entries older than {days} days");
    }
    store.flush()?;
    if let Err(e) = crate::store::views::write_snapshot(store) {
        tracing::warn!("could not write the status snapshot next to the store: {e}");
    }
    Ok(())
}

/// Which run this is: `sync` or `apply`, when it started, and (syncs) the observation to record.
struct RunKind<'a> {
    kind: &'a str,
    started: Instant,
    observed: Option<(ObserveInfo, Snapshot)>,
}

/// Applies `plan` (already prepared), records history and builds the report.
async fn execute(
    api: &Counting<'_>,
    store: &Store,
    config: &Config,
    prepared: Prepared,
    opts: &SyncOptions,
    run: RunKind<'_>,
) -> Result<SyncReport, ReconcileError> {
    let RunKind {
        kind,
        started,
        observed,
    } = run;
    let (observe, next) = match observed {
        Some((info, next)) => (Some(info), Some(next)),
        None => (None, None),
    };
    let Prepared {
        org,
        plan,
        recovery,
        ..
    } = prepared;
    let safety = if opts.allow_mass_changes {
        SafetyReport::default()
    } else {
        safety::check(&plan, &config.instance.safety)
    };
    for b in &safety.blocked {
        tracing::warn!("failsafe: group {:?} held back: {}", b.name, b.reason);
    }
    let mut report = SyncReport {
        format_version: 1,
        kind: kind.to_string(),
        dry_run: opts.dry_run,
        disabled: !config.instance.enabled,
        status: SyncStatus::Success,
        commit: plan.config_commit.clone(),
        recovery,
        safety,
        apply: None,
        api_calls: ApiCalls::default(),
        duration_ms: 0,
        managed_groups: store.groups()?.len() as u64,
        licensed_users: store.licensed_users()?,
        observe,
        plan,
    };
    if opts.dry_run || report.disabled {
        if !opts.dry_run
            && let Some(next) = next
        {
            incremental::record(api, store, &report.plan, &Default::default(), next, false).await?;
        }
        if report.safety.is_stop() {
            report.status = SyncStatus::SafetyStop;
        }
        report.api_calls = api.calls();
        report.duration_ms = started.elapsed().as_millis() as u64;
        return Ok(report);
    }
    let apply_opts = ApplyOptions {
        concurrency: config.instance.budget.max_concurrency.max(1),
        max_writes: opts
            .max_writes
            .or(config.instance.budget.max_writes_per_sync),
        blocked: report.safety.names(),
        interactive: opts.interactive,
    };
    let applied = apply::apply(api, store, &report.plan, &org, &apply_opts).await?;
    if let Some(next) = next {
        let wrote = applied.writes > 0;
        incremental::record(api, store, &report.plan, &applied.created, next, wrote).await?;
    }
    report.status = status_of(&applied, &report.safety);
    report.managed_groups = applied.managed_groups;
    report.licensed_users = applied.licensed_users;
    report.api_calls = api.calls();
    let message = applied
        .halted
        .clone()
        .or_else(|| {
            (!applied.failures.is_empty())
                .then(|| format!("{} change(s) failed", applied.failures.len()))
        })
        .or_else(|| {
            report.safety.is_stop().then(|| {
                format!(
                    "failsafe held back {} group(s)",
                    report.safety.blocked.len()
                )
            })
        });
    let entry = Entry {
        kind,
        status: report.status,
        commit: report.commit.as_deref(),
        counts: applied.counts.clone(),
        calls: report.api_calls.clone(),
        message,
        observe: report.observe.as_ref().map(ObserveInfo::label),
    };
    record_history(store, config, entry, started)?;
    report.apply = Some(applied);
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Records a run that failed before applying anything (best effort: the store may be the problem).
fn record_failure(
    store: &Store,
    kind: &str,
    config: &Config,
    api: &Counting<'_>,
    started: Instant,
    err: &ReconcileError,
) {
    if matches!(err, ReconcileError::Store(_)) {
        return;
    }
    let entry = Entry {
        kind,
        status: SyncStatus::Failed,
        commit: config.commit.as_deref(),
        counts: SyncCounts::default(),
        calls: api.calls(),
        message: Some(err.to_string()),
        observe: None,
    };
    let _ = record_history(store, config, entry, started);
}

/// Observes (incrementally when the store's snapshot allows it, see [`incremental`]), plans, checks.
async fn prepare_sync(
    api: &dyn OktaApi,
    store: &Store,
    config: &Config,
    full: bool,
) -> Result<(Prepared, ObserveInfo, Snapshot), ReconcileError> {
    // Decided before recovery: an interrupted apply (dirty store, journal) forces a full observation.
    let meta = store.snapshot_meta()?;
    let reason = incremental::full_reason(store, config, full, meta.as_ref())?;
    let recovery = recover_before_observe(api, store).await.map_err(Box::new)?;
    let remembered = store.remembered()?;
    let prev = match reason {
        None => Some(store.snapshot()?),
        Some(_) => None,
    };
    let concurrency = config.instance.budget.max_concurrency.max(1);
    let obs = incremental::observe(api, config, &remembered, prev, concurrency)
        .await
        .map_err(|source| ReconcileError::Okta {
            what: "reading the org from Okta".to_string(),
            source: Box::new(source),
        })?;
    let prepared = plan_observed(store, config, obs.org, remembered, recovery)?;
    let mut info = obs.info;
    info.reason = reason;
    tracing::info!("observed the org: {}", info.label());
    Ok((prepared, info, obs.next))
}

/// Plan and apply now (`dyngroups sync`, the daemon's hourly run). `dry_run` plans and changes nothing.
/// The org is observed incrementally when the store holds a snapshot of an earlier sync made with the same
/// config, the last apply finished, and the last full observation is younger than
/// `full_sync_every_hours`; otherwise (or with `full`) fully. Both make the same plan.
pub async fn sync(
    api: &dyn OktaApi,
    store: &Store,
    config: &Config,
    opts: &SyncOptions,
) -> Result<SyncReport, ReconcileError> {
    let started = Instant::now();
    let api = Counting::new(api);
    let result = async {
        let (prepared, info, next) = prepare_sync(&api, store, config, opts.full).await?;
        match refuse_if_unknown_store(store, &prepared.plan) {
            // A dry run shows the plan anyway; the refusal is what a real sync would answer.
            Err(e) if opts.dry_run => tracing::warn!("a sync would refuse to run: {e}"),
            other => other?,
        }
        let run = RunKind {
            kind: "sync",
            started,
            observed: Some((info, next)),
        };
        execute(&api, store, config, prepared, opts, run).await
    }
    .await;
    if let Err(e) = &result
        && !opts.dry_run
    {
        record_failure(store, "sync", config, &api, started, e);
    }
    result
}

/// Applies exactly a saved plan (`dyngroups apply FILE`), refusing it when the config or the Okta state it
/// was made from has changed.
pub async fn apply_saved(
    api: &dyn OktaApi,
    store: &Store,
    config: &Config,
    saved: Plan,
    opts: &SyncOptions,
) -> Result<SyncReport, ReconcileError> {
    let started = Instant::now();
    let api = Counting::new(api);
    let result = async {
        if saved.format_version != PLAN_FORMAT_VERSION {
            return Err(ReconcileError::PlanVersion {
                found: saved.format_version,
                supported: PLAN_FORMAT_VERSION,
            });
        }
        let fresh = prepare(&api, store, config).await?;
        if fresh.plan.config_fingerprint != saved.config_fingerprint {
            return Err(ReconcileError::StalePlan {
                what: "the config".to_string(),
                detail: format!(
                    "plan {} / now {}",
                    saved.config_fingerprint, fresh.plan.config_fingerprint
                ),
            });
        }
        if fresh.plan.okta_fingerprint != saved.okta_fingerprint {
            return Err(ReconcileError::StalePlan {
                what: "Okta (users, groups or members) or the store".to_string(),
                detail: format!(
                    "plan {} / now {}",
                    saved.okta_fingerprint, fresh.plan.okta_fingerprint
                ),
            });
        }
        refuse_if_unknown_store(store, &saved)?;
        let prepared = Prepared {
            plan: saved,
            ..fresh
        };
        let run = RunKind {
            kind: "apply",
            started,
            observed: None,
        };
        execute(&api, store, config, prepared, opts, run).await
    }
    .await;
    if let Err(e) = &result
        && !opts.dry_run
    {
        record_failure(store, "apply", config, &api, started, e);
    }
    result
}

/// What `state reinit` did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ReinitReport {
    /// Groups with our computed names now recorded as managed (created by this instance).
    pub reclaimed: Vec<String>,
}

/// Re-initialises a lost or new store. With `adopt`, every OKTA_GROUP that has a name this config computes
/// (and that is not APP_GROUP/BUILT_IN or ambiguous) is recorded as managed and created by us, as it was
/// before the store was lost; without, the store is only marked initialised and the collision policy decides.
pub async fn reinit(
    api: &dyn OktaApi,
    store: &Store,
    config: &Config,
    adopt: bool,
    force: bool,
) -> Result<ReinitReport, ReconcileError> {
    let started = Instant::now();
    let existing = store.groups()?;
    if !existing.is_empty() && !force {
        return Err(ReconcileError::NotEmpty {
            dir: store.dir().to_path_buf(),
            groups: existing.len(),
        });
    }
    let api = Counting::new(api);
    let mut report = ReinitReport::default();
    let mut w = store.writer();
    if adopt {
        let mut adopting = config.clone();
        adopting.instance.policies.collision = CollisionPolicy::Adopt;
        let remembered = store.remembered()?;
        let org = observe(&api, &adopting, &remembered).await?;
        let plan = crate::plan::plan(&adopting, &org, &remembered);
        for action in &plan.actions {
            if let Action::AdoptGroup {
                rule,
                id,
                name,
                values,
            } = action
            {
                w.put_group(&StoredGroup {
                    members: org.members.get(id).map_or(0, |m| m.len() as u64),
                    ..StoredGroup::starting(id, name, rule, values, true, config.commit.as_deref())
                })?;
                if let Some(m) = org.members.get(id) {
                    w.set_members(id, &m.iter().map(str::to_string).collect())?;
                }
                w.audit(&AuditEntry {
                    at: Utc::now(),
                    commit: config.commit.clone(),
                    change: "reclaim_group".to_string(),
                    rule: rule.clone(),
                    group_id: Some(id.clone()),
                    group_name: name.clone(),
                    user: None,
                    ok: true,
                    error: None,
                })?;
                report.reclaimed.push(name.clone());
            }
        }
    }
    w.mark_initialized();
    // The snapshot described the store's old state: the next sync observes fully.
    w.clear_snapshot()?;
    w.commit()?;
    let licensed = store.count_licensed_users()?;
    let mut w = store.writer();
    w.set_licensed_users(licensed);
    w.commit()?;
    let entry = Entry {
        kind: "reinit",
        status: SyncStatus::Success,
        commit: config.commit.as_deref(),
        counts: SyncCounts {
            adopted: report.reclaimed.len() as u64,
            ..Default::default()
        },
        calls: api.calls(),
        message: None,
        observe: None,
    };
    record_history(store, config, entry, started)?;
    Ok(report)
}
