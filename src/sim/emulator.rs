//! `Emulator`: a cheap-to-clone handle on one in-memory org. It implements `OktaApi` directly (the
//! in-memory face, acting as an admin with every scope) and offers HR-style mutators for tests; the
//! HTTP face calls the same `Org` operations.
// The HR helpers return the same `OktaError` the `OktaApi` trait returns (a shared type we do not box).
#![allow(clippy::result_large_err)]

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value};

use crate::okta::api::{GroupQuery, LogQuery, OktaApi};
use crate::okta::error::OktaError;
use crate::okta::model::{Group, GroupProfile, GroupType, LogEvent, User, UserSchema, UserStatus};

use super::error::ApiError;
use super::groups::GroupListParams;
use super::logs::LogParams;
use super::seed::{Seed, SeedError};
use super::state::{Actor, Org};
use super::users::{Lifecycle, UserListParams};

/// The org URL the in-memory face puts in ids and links.
pub const IN_MEMORY_BASE: &str = "https://emulator.invalid";

#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Mutex<Org>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let org = self.lock();
        f.debug_struct("Emulator")
            .field("users", &org.users.len())
            .field("groups", &org.groups.len())
            .finish()
    }
}

impl Emulator {
    pub fn from_seed(seed: Seed) -> Result<Emulator, SeedError> {
        Ok(Emulator {
            inner: Arc::new(Mutex::new(Org::from_seed(seed)?)),
        })
    }

    pub fn from_seed_file(path: &Path) -> Result<Emulator, SeedError> {
        Emulator::from_seed(Seed::from_path(path)?)
    }

    pub fn from_yaml(yaml: &str) -> Result<Emulator, SeedError> {
        Emulator::from_seed(Seed::from_yaml_str(yaml)?)
    }

    /// An org with no users or groups and the default token.
    pub fn empty() -> Emulator {
        Emulator {
            inner: Arc::new(Mutex::new(Org::empty(0x0c7a))),
        }
    }

    /// The org itself, for the HTTP face and advanced tests. Never hold it across an `.await`.
    pub fn lock(&self) -> MutexGuard<'_, Org> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn with<T>(
        &self,
        method: &str,
        path: &str,
        f: impl FnOnce(&mut Org) -> Result<T, ApiError>,
    ) -> Result<T, OktaError> {
        let mut org = self.lock();
        f(&mut org).map_err(|e| e.into_okta(method, path))
    }

    // ---- clock ----

    /// Fixes the clock at `t` (timestamps of later changes use it).
    pub fn set_now(&self, t: DateTime<Utc>) {
        self.lock().set_clock(Some(t));
    }

    /// Moves the clock forward; from then on it is fixed until moved again.
    pub fn advance(&self, by: TimeDelta) {
        self.lock().advance_clock(by);
    }

    /// Makes `search`/`filter` eventually consistent: changes show there only after `lag` (org clock).
    pub fn set_search_lag(&self, lag: Option<TimeDelta>) {
        self.lock().search_lag = lag;
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.lock().now()
    }

    // ---- HR-style changes (the same code the HTTP endpoints call) ----

    /// Creates an ACTIVE user (`activate = true`) or a STAGED one.
    pub fn create_user(
        &self,
        profile: Map<String, Value>,
        activate: bool,
    ) -> Result<User, OktaError> {
        self.with("POST", "/api/v1/users", |o| {
            o.create_user(profile, activate, &Actor::admin())
        })
    }

    /// Partial profile update (`POST /api/v1/users/{id}`); a `null` value removes an attribute.
    pub fn update_profile(
        &self,
        id_or_login: &str,
        changes: Map<String, Value>,
    ) -> Result<User, OktaError> {
        let path = format!("/api/v1/users/{id_or_login}");
        self.with("POST", &path, |o| {
            o.update_user(id_or_login, changes, false, &Actor::admin())
        })
    }

    /// Sets one profile attribute (convenience for tests: "HR moved ana to Sales").
    pub fn set_attribute(
        &self,
        id_or_login: &str,
        attr: &str,
        value: Value,
    ) -> Result<User, OktaError> {
        let mut m = Map::new();
        m.insert(attr.to_string(), value);
        self.update_profile(id_or_login, m)
    }

    /// A lifecycle operation with Okta's rules (`activate`, `deactivate`, `suspend`, `unsuspend`...).
    pub fn lifecycle(&self, id_or_login: &str, op: Lifecycle) -> Result<User, OktaError> {
        let path = format!("/api/v1/users/{id_or_login}/lifecycle");
        self.with("POST", &path, |o| {
            o.lifecycle(id_or_login, op, &Actor::admin())
        })
    }

    /// Sets a status directly, whatever the current one.
    pub fn set_status(&self, id_or_login: &str, status: UserStatus) -> Result<User, OktaError> {
        let path = format!("/api/v1/users/{id_or_login}");
        self.with("POST", &path, |o| {
            o.set_status(id_or_login, status, &Actor::admin())
        })
    }

    /// `DELETE /api/v1/users/{id}` (deactivates, or deletes when already DEPROVISIONED).
    pub fn delete_user(&self, id_or_login: &str) -> Result<(), OktaError> {
        let path = format!("/api/v1/users/{id_or_login}");
        self.with("DELETE", &path, |o| {
            o.delete_user(id_or_login, &Actor::admin())
        })
    }

    /// Creates a group of any type (an imported APP_GROUP, a BUILT_IN one).
    pub fn create_group_of_type(
        &self,
        group_type: GroupType,
        name: &str,
    ) -> Result<Group, OktaError> {
        let profile = GroupProfile {
            name: name.to_string(),
            description: None,
            extra: Map::new(),
        };
        self.with("POST", "/api/v1/groups", |o| {
            o.create_group_of_type(group_type, profile, &Actor::admin())
        })
    }

    // ---- inspection ----

    pub fn user(&self, id_or_login: &str) -> Option<User> {
        self.lock().get_user(id_or_login).ok()
    }

    /// Every user, DEPROVISIONED included, in creation order.
    pub fn users(&self) -> Vec<User> {
        let org = self.lock();
        org.user_order
            .values()
            .filter_map(|id| org.users.get(id).map(|r| r.user.clone()))
            .collect()
    }

    /// Every group in creation order.
    pub fn groups(&self) -> Vec<Group> {
        let org = self.lock();
        org.group_order
            .values()
            .filter_map(|id| org.groups.get(id).map(|r| r.group.clone()))
            .collect()
    }

    /// The group with exactly this name (the first one, APP_GROUPs may share names).
    pub fn group_by_name(&self, name: &str) -> Option<Group> {
        self.groups().into_iter().find(|g| g.profile.name == name)
    }

    /// Logins of a group's members, sorted.
    pub fn member_logins(&self, group_id: &str) -> Vec<String> {
        let org = self.lock();
        let mut out: Vec<String> = org
            .groups
            .get(group_id)
            .map(|g| {
                g.members
                    .values()
                    .filter_map(|uid| {
                        org.users
                            .get(uid)
                            .and_then(|u| u.user.login().map(str::to_string))
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// The System Log, oldest first.
    pub fn log_events(&self) -> Vec<LogEvent> {
        self.lock()
            .logs
            .iter()
            .filter_map(|(_, v)| serde_json::from_value(v.clone()).ok())
            .collect()
    }

    /// The current org as a seed (ids kept), e.g. to save a generated org.
    pub fn to_seed(&self) -> Seed {
        let org = self.lock();
        super::generate::seed_of(&org)
    }
}

/// Collects every page of a paged listing.
fn all_pages<T>(
    mut page: impl FnMut(Option<String>) -> Result<super::state::Page<T>, ApiError>,
) -> Result<Vec<T>, ApiError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let p = page(after.take())?;
        out.extend(p.items);
        match p.next {
            Some(n) => after = Some(n),
            None => return Ok(out),
        }
    }
}

#[async_trait]
impl OktaApi for Emulator {
    async fn list_users(&self, search: Option<&str>) -> Result<Vec<User>, OktaError> {
        self.with("GET", "/api/v1/users", |o| {
            all_pages(|after| {
                o.list_users(&UserListParams {
                    search: search.map(str::to_string),
                    after,
                    ..Default::default()
                })
            })
        })
    }

    async fn list_groups(&self, query: &GroupQuery) -> Result<Vec<Group>, OktaError> {
        self.with("GET", "/api/v1/groups", |o| {
            all_pages(|after| {
                o.list_groups(&GroupListParams {
                    search: query.search.clone(),
                    filter: query.filter.clone(),
                    q: query.q.clone(),
                    limit: query.limit,
                    after,
                    expand_stats: query.expand_stats,
                })
            })
        })
    }

    async fn get_group(&self, group_id: &str) -> Result<Group, OktaError> {
        self.with("GET", &format!("/api/v1/groups/{group_id}"), |o| {
            o.get_group(group_id)
        })
    }

    async fn list_group_members(&self, group_id: &str) -> Result<Vec<User>, OktaError> {
        self.with("GET", &format!("/api/v1/groups/{group_id}/users"), |o| {
            all_pages(|after| o.list_members(group_id, None, after.as_deref()))
        })
    }

    async fn create_group(&self, profile: &GroupProfile) -> Result<Group, OktaError> {
        self.with("POST", "/api/v1/groups", |o| {
            o.create_group(profile.clone(), &Actor::admin())
        })
    }

    async fn update_group(
        &self,
        group_id: &str,
        profile: &GroupProfile,
    ) -> Result<Group, OktaError> {
        self.with("PUT", &format!("/api/v1/groups/{group_id}"), |o| {
            o.update_group(group_id, profile.clone(), &Actor::admin())
        })
    }

    async fn delete_group(&self, group_id: &str) -> Result<(), OktaError> {
        self.with("DELETE", &format!("/api/v1/groups/{group_id}"), |o| {
            o.delete_group(group_id, &Actor::admin())
        })
    }

    async fn add_member(&self, group_id: &str, user_id: &str) -> Result<(), OktaError> {
        self.with(
            "PUT",
            &format!("/api/v1/groups/{group_id}/users/{user_id}"),
            |o| o.add_member(group_id, user_id, &Actor::admin()),
        )
    }

    async fn remove_member(&self, group_id: &str, user_id: &str) -> Result<(), OktaError> {
        self.with(
            "DELETE",
            &format!("/api/v1/groups/{group_id}/users/{user_id}"),
            |o| o.remove_member(group_id, user_id, &Actor::admin()),
        )
    }

    async fn user_schema(&self) -> Result<UserSchema, OktaError> {
        let doc = {
            let org = self.lock();
            super::schema::document(
                IN_MEMORY_BASE,
                &org.custom_schema,
                org.schema_created,
                org.schema_created,
            )
        };
        serde_json::from_value(doc).map_err(|e| OktaError::Decode {
            method: "GET".into(),
            path: "/api/v1/meta/schemas/user/default".into(),
            detail: e.to_string(),
        })
    }

    async fn list_logs(&self, query: &LogQuery) -> Result<Vec<LogEvent>, OktaError> {
        let until = query.until.unwrap_or_else(|| self.now());
        let events = self.with("GET", "/api/v1/logs", |o| {
            all_pages(|after| {
                o.list_logs(&LogParams {
                    since: query.since,
                    until: Some(until),
                    after,
                    filter: query.filter.clone(),
                    limit: query.limit,
                })
            })
        })?;
        events
            .into_iter()
            .map(|v| {
                serde_json::from_value(v).map_err(|e| OktaError::Decode {
                    method: "GET".into(),
                    path: "/api/v1/logs".into(),
                    detail: e.to_string(),
                })
            })
            .collect()
    }
}
