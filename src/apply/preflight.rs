//! The permission check before a sync's first write: a credential that may read but not manage groups is
//! caught by one harmless probe, so a read-only sync stops before it sends a single change (instead of sending
//! every planned write, each refused with 403).

use crate::okta::api::OktaApi;
use crate::okta::error::OktaError;
use crate::plan::model::Plan;

/// A group id and a user id no org has: removing that membership changes nothing, and Okta answers 404 when
/// the credential may manage groups, 403 when it may not (the same probe as `dyngroups test-connection`).
pub const PROBE_GROUP: &str = "00g0000000000dyngrp0";
pub const PROBE_USER: &str = "00u0000000000dyngrp0";

/// True for the probe's request (so that call counters can count it as the read-like check it is).
pub fn is_probe(group_id: &str, user_id: &str) -> bool {
    group_id == PROBE_GROUP && user_id == PROBE_USER
}

#[derive(Debug, thiserror::Error)]
#[error(
    "the credential cannot manage groups (okta.groups.manage / the \"Manage groups\" admin permission): nothing \
     was changed; grant it, check with `dyngroups test-connection`, then sync again (Okta answered a permission \
     probe with 403)"
)]
pub struct CannotManageGroups {
    #[source]
    pub source: OktaError,
}

/// True when applying `plan` sends at least one write to Okta (adopting and stopping to manage a group only
/// change the store).
pub fn needs_okta_writes(plan: &Plan, max_writes: Option<u64>) -> bool {
    max_writes != Some(0) && plan.actions.iter().any(|a| a.writes() > 0)
}

/// Probes groups-manage permission once when `plan` has Okta writes; a 403 is [`CannotManageGroups`]. Any
/// other answer (404, success, or a transient error the apply itself will meet and report) lets the apply go on.
pub async fn preflight(
    api: &dyn OktaApi,
    plan: &Plan,
    max_writes: Option<u64>,
) -> Result<(), Box<CannotManageGroups>> {
    if !needs_okta_writes(plan, max_writes) {
        return Ok(());
    }
    match api.remove_member(PROBE_GROUP, PROBE_USER).await {
        Err(e) if e.is_forbidden() => Err(Box::new(CannotManageGroups { source: e })),
        Err(e) if e.is_not_found() => Ok(()),
        Ok(()) => Ok(()),
        Err(e) => {
            tracing::debug!(
                "the groups-manage probe did not answer clearly ({e}); applying anyway"
            );
            Ok(())
        }
    }
}
