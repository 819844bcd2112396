//! The apply benchmark: one budgeted run of a million-user first plan (what an hourly sync does while a
//! big first sync is spread over days), against an Okta that accepts every write at once, with a real
//! store. Shows apply's own time and memory: the steps stream from the plan, the rest is deferred.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use serde::Serialize;

use super::memory;
use super::planner::{bench_config, lean_org};
use crate::apply::{ApplyOptions, apply};
use crate::okta::api::{GroupQuery, LogQuery, OktaApi};
use crate::okta::error::OktaError;
use crate::okta::model::{Group, GroupProfile, LogEvent, User, UserSchema};
use crate::plan::model::Remembered;
use crate::store::Store;

/// An Okta that says yes at once: creates get fresh ids, member writes succeed, listings are empty.
#[derive(Default)]
struct Yes {
    groups: AtomicU64,
}

fn not_here(what: &str) -> OktaError {
    OktaError::Setup(format!("{what} is not part of the apply benchmark"))
}

#[async_trait]
impl OktaApi for Yes {
    async fn list_users(&self, _: Option<&str>) -> Result<Vec<User>, OktaError> {
        Ok(Vec::new())
    }
    async fn list_groups(&self, _: &GroupQuery) -> Result<Vec<Group>, OktaError> {
        Ok(Vec::new())
    }
    async fn get_group(&self, _: &str) -> Result<Group, OktaError> {
        Err(not_here("get_group"))
    }
    async fn list_group_members(&self, _: &str) -> Result<Vec<User>, OktaError> {
        Ok(Vec::new())
    }
    async fn create_group(&self, profile: &GroupProfile) -> Result<Group, OktaError> {
        let n = self.groups.fetch_add(1, Ordering::Relaxed);
        serde_json::from_value(serde_json::json!({
            "id": format!("00g{n:017}"), "type": "OKTA_GROUP",
            "profile": {"name": profile.name, "description": profile.description},
        }))
        .map_err(|e| not_here(&format!("a group answer ({e})")))
    }
    async fn update_group(&self, _: &str, _: &GroupProfile) -> Result<Group, OktaError> {
        Err(not_here("update_group"))
    }
    async fn delete_group(&self, _: &str) -> Result<(), OktaError> {
        Ok(())
    }
    async fn add_member(&self, _: &str, _: &str) -> Result<(), OktaError> {
        Ok(())
    }
    async fn remove_member(&self, _: &str, _: &str) -> Result<(), OktaError> {
        Ok(())
    }
    async fn user_schema(&self) -> Result<UserSchema, OktaError> {
        Err(not_here("user_schema"))
    }
    async fn list_logs(&self, _: &LogQuery) -> Result<Vec<LogEvent>, OktaError> {
        Ok(Vec::new())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ApplyFigures {
    pub users: usize,
    /// Writes the plan holds.
    pub planned_writes: u64,
    /// Writes this run made (the budget).
    pub writes: u64,
    pub deferred: u64,
    pub apply_seconds: f64,
    /// Resident memory before applying (org and plan), bytes.
    pub rss_before: u64,
    pub peak_rss: u64,
}

/// Plans a first sync of `users` users, then applies it once with a budget of `budget` writes.
pub async fn run(users: usize, budget: u64) -> anyhow::Result<ApplyFigures> {
    let org = lean_org(users, 42);
    let config = bench_config();
    let plan = crate::plan::plan(&config, &org, &Remembered::default());
    let planned_writes = plan.actions.iter().map(|a| a.writes()).sum();
    let dir = std::env::temp_dir().join(format!("dyngroups-bench-apply-{}", std::process::id()));
    let store = Store::open(&dir)?;
    let opts = ApplyOptions {
        max_writes: Some(budget),
        ..ApplyOptions::default()
    };
    memory::release_freed();
    let rss_before = memory::rss().map(|r| r.0).unwrap_or(0);
    memory::reset_peak();
    let started = Instant::now();
    let report = apply(&Yes::default(), &store, &plan, &org, &opts).await;
    let apply_seconds = started.elapsed().as_secs_f64();
    let peak_rss = memory::rss().map(|r| r.1).unwrap_or(0);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    let report = report?;
    Ok(ApplyFigures {
        users,
        planned_writes,
        writes: report.writes,
        deferred: report.counts.deferred,
        apply_seconds,
        rss_before,
        peak_rss,
    })
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_budgeted_run_writes_the_budget_and_defers_the_rest() {
        let f = super::run(300, 200).await.expect("apply bench");
        assert_eq!(f.writes, 200, "{f:?}");
        assert_eq!(f.writes + f.deferred, f.planned_writes, "{f:?}");
    }
}
