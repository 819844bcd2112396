//! Users in the emulated org: listing with `search`/`filter`/`q`, get by id or login, create, profile
//! updates, lifecycle transitions and deletion, each moving `lastUpdated` and writing the System Log.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use crate::okta::model::{User, UserStatus, okta_time};

use super::error::ApiError;
use super::schema;
use super::search::{self, Lookup};
use super::state::{Actor, Org, Page, UserRec, has_4_byte_chars, paginate};

/// Parameters of `GET /api/v1/users`.
#[derive(Debug, Clone, Default)]
pub struct UserListParams {
    pub search: Option<String>,
    pub filter: Option<String>,
    pub q: Option<String>,
    pub limit: Option<u32>,
    pub after: Option<String>,
}

/// Lifecycle operations (`POST /api/v1/users/{id}/lifecycle/{op}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    Activate,
    Reactivate,
    Deactivate,
    Suspend,
    Unsuspend,
    Unlock,
}

impl Lifecycle {
    pub fn parse(s: &str) -> Option<Lifecycle> {
        Some(match s {
            "activate" => Lifecycle::Activate,
            "reactivate" => Lifecycle::Reactivate,
            "deactivate" => Lifecycle::Deactivate,
            "suspend" => Lifecycle::Suspend,
            "unsuspend" => Lifecycle::Unsuspend,
            "unlock" => Lifecycle::Unlock,
            _ => return None,
        })
    }
}

impl Lookup for User {
    fn field(&self, attr: &str) -> Option<Cow<'_, Value>> {
        let time = |t: &Option<chrono::DateTime<chrono::Utc>>| {
            t.as_ref()
                .map(|t| Cow::Owned(Value::String(okta_time::format(t))))
        };
        match attr {
            "id" => Some(Cow::Owned(Value::String(self.id.clone()))),
            "status" => Some(Cow::Owned(Value::String(self.status.as_str().into()))),
            "created" => time(&self.created),
            "activated" => time(&self.activated),
            "statusChanged" => time(&self.status_changed),
            "lastUpdated" => time(&self.last_updated),
            "lastLogin" => time(&self.last_login),
            "passwordChanged" => time(&self.password_changed),
            "type.id" => self
                .extra
                .get("type")
                .and_then(|t| t.get("id"))
                .map(Cow::Borrowed),
            _ => attr
                .strip_prefix("profile.")
                .and_then(|p| self.profile.get(p))
                .map(Cow::Borrowed),
        }
    }
}

fn parse_expr(
    text: &str,
    allowed: &dyn Fn(&str, search::Op) -> bool,
) -> Result<search::Expr, ApiError> {
    let e = search::parse(text).map_err(|_| ApiError::bad_search())?;
    e.check(allowed).map_err(|_| ApiError::bad_search())?;
    Ok(e)
}

pub(crate) fn display_name(u: &User) -> String {
    let f = u
        .profile
        .get("firstName")
        .and_then(Value::as_str)
        .unwrap_or("");
    let l = u
        .profile
        .get("lastName")
        .and_then(Value::as_str)
        .unwrap_or("");
    format!("{f} {l}").trim().to_string()
}

/// The System Log target for a user.
pub(crate) fn user_target(u: &User) -> Value {
    json!({"id": u.id, "type": "User", "alternateId": u.login().unwrap_or(""),
           "displayName": display_name(u), "detailEntry": null})
}

impl Org {
    /// Inserts a user (seed or API). `check_schema` refuses attributes the schema does not define.
    pub(crate) fn insert_user(
        &mut self,
        id: Option<String>,
        mut profile: Map<String, Value>,
        status: UserStatus,
        actor: &Actor,
        check_schema: bool,
    ) -> Result<String, ApiError> {
        self.check_profile(&profile, check_schema, "newUser")?;
        for req in ["login", "firstName", "lastName", "email"] {
            if check_schema && !matches!(profile.get(req), Some(Value::String(s)) if !s.is_empty())
            {
                return Err(ApiError::validation(
                    "newUser",
                    format!("{req}: The field cannot be left blank"),
                ));
            }
        }
        let login = match profile.get("login") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => {
                return Err(ApiError::validation(
                    "newUser",
                    "login: The field cannot be left blank",
                ));
            }
        };
        if self.logins.contains_key(&login.to_lowercase()) {
            return Err(ApiError::validation(
                "login",
                "login: An object with this field already exists in the current organization",
            ));
        }
        let id = self.claim_id(id, "00u")?;
        for k in ["mobilePhone", "secondEmail"] {
            profile.entry(k).or_insert(Value::Null);
        }
        let now = self.now();
        let mut extra = Map::new();
        extra.insert("type".into(), json!({"id": "oty1emulator0000000"}));
        extra.insert(
            "credentials".into(),
            json!({"provider": {"type": "OKTA", "name": "OKTA"}}),
        );
        let active = status == UserStatus::Active;
        let user = User {
            id: id.clone(),
            status,
            created: Some(now),
            activated: if active { Some(now) } else { None },
            status_changed: if status == UserStatus::Staged {
                None
            } else {
                Some(now)
            },
            last_login: None,
            last_updated: Some(now),
            password_changed: None,
            profile,
            extra,
        };
        let seq = self.take_seq();
        self.seqs.insert(id.clone(), seq);
        self.user_order.insert(seq, id.clone());
        self.logins.insert(login.to_lowercase(), id.clone());
        let target = user_target(&user);
        self.users.insert(
            id.clone(),
            UserRec {
                seq,
                user,
                groups: Default::default(),
                stale: (check_schema && self.search_lag.is_some()).then_some((None, now)),
            },
        );
        if check_schema {
            self.log(
                "user.lifecycle.create",
                "Create Okta user",
                actor,
                vec![target],
                None,
            );
        }
        Ok(id)
    }

    fn check_profile(
        &self,
        profile: &Map<String, Value>,
        check_schema: bool,
        what: &str,
    ) -> Result<(), ApiError> {
        if profile
            .iter()
            .any(|(k, v)| k.chars().any(|c| c.len_utf8() >= 4) || has_4_byte_chars(v))
        {
            return Err(ApiError::validation(
                what,
                "profile: characters outside the Basic Multilingual Plane (4-byte UTF-8) are not supported",
            ));
        }
        if check_schema {
            for k in profile.keys() {
                if !schema::is_base(k) && !self.custom_schema.contains_key(k) {
                    return Err(ApiError::validation(
                        what,
                        format!("Property name '{k}' is not defined in profile"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// `POST /api/v1/users?activate=`: ACTIVE when activated (the default), STAGED otherwise.
    pub fn create_user(
        &mut self,
        profile: Map<String, Value>,
        activate: bool,
        actor: &Actor,
    ) -> Result<User, ApiError> {
        let status = if activate {
            UserStatus::Active
        } else {
            UserStatus::Staged
        };
        let id = self.insert_user(None, profile, status, actor, true)?;
        if activate && let Some(u) = self.users.get(&id) {
            let t = user_target(&u.user);
            self.log(
                "user.lifecycle.activate",
                "Activate Okta user",
                actor,
                vec![t],
                None,
            );
        }
        self.get_user(&id)
    }

    pub fn get_user(&self, id_or_login: &str) -> Result<User, ApiError> {
        let id = self.resolve_user(id_or_login)?;
        self.users
            .get(&id)
            .map(|r| r.user.clone())
            .ok_or_else(|| ApiError::not_found(id_or_login, "User"))
    }

    pub fn list_users(&self, p: &UserListParams) -> Result<Page<User>, ApiError> {
        if let Some(q) = p.q.as_deref() {
            let q = q.to_lowercase();
            let limit = p.limit.unwrap_or(10).clamp(1, 200) as usize;
            let items = self
                .user_order
                .values()
                .filter_map(|id| self.users.get(id))
                .filter(|r| r.user.status != UserStatus::Deprovisioned)
                .filter(|r| {
                    ["firstName", "lastName", "email"].iter().any(|k| {
                        r.user
                            .profile
                            .get(*k)
                            .and_then(Value::as_str)
                            .is_some_and(|v| v.to_lowercase().starts_with(&q))
                    })
                })
                .take(limit)
                .map(|r| r.user.clone())
                .collect();
            return Ok(Page { items, next: None });
        }
        let search = p
            .search
            .as_deref()
            .map(|s| parse_expr(s, &search::users_search))
            .transpose()?;
        let filter = p
            .filter
            .as_deref()
            .map(|s| parse_expr(s, &search::users_filter))
            .transpose()?;
        let plain = search.is_none() && filter.is_none();
        let limit = p.limit.unwrap_or(200).clamp(1, 200) as usize;
        let after = self.cursor(p.after.as_deref())?;
        let view = |r: &'_ UserRec| {
            if plain {
                Some(&r.user)
            } else {
                self.indexed(r)
            }
            .cloned()
        };
        let page = paginate(&self.user_order, after, limit, |id| {
            let Some(u) = self.users.get(id).and_then(|r| {
                if plain {
                    Some(&r.user)
                } else {
                    self.indexed(r)
                }
            }) else {
                return false;
            };
            if plain && u.status == UserStatus::Deprovisioned {
                return false;
            }
            search.as_ref().is_none_or(|e| e.matches(u, true))
                && filter.as_ref().is_none_or(|e| e.matches(u, false))
        });
        Ok(Page {
            items: page
                .items
                .iter()
                .filter_map(|id| self.users.get(id).and_then(view))
                .collect(),
            next: page.next,
        })
    }

    pub(crate) fn users_page(&self, page: Page<String>) -> Page<User> {
        Page {
            items: page
                .items
                .iter()
                .filter_map(|id| self.users.get(id).map(|r| r.user.clone()))
                .collect(),
            next: page.next,
        }
    }

    /// `POST` (partial, `replace = false`) or `PUT` (full) `/api/v1/users/{id}` with a profile.
    pub fn update_user(
        &mut self,
        id_or_login: &str,
        changes: Map<String, Value>,
        replace: bool,
        actor: &Actor,
    ) -> Result<User, ApiError> {
        let id = self.resolve_user(id_or_login)?;
        self.check_profile(&changes, true, "user")?;
        let now = self.now();
        let (old, status) = match self.users.get(&id) {
            Some(r) => (r.user.profile.clone(), r.user.status),
            None => return Err(ApiError::not_found(id_or_login, "User")),
        };
        if status == UserStatus::Deprovisioned {
            return Err(ApiError::wrong_status());
        }
        let mut new = if replace { Map::new() } else { old.clone() };
        for (k, v) in changes {
            if v.is_null() && !matches!(k.as_str(), "mobilePhone" | "secondEmail") {
                new.remove(&k);
            } else {
                new.insert(k, v);
            }
        }
        for k in ["mobilePhone", "secondEmail"] {
            new.entry(k).or_insert(Value::Null);
        }
        for req in ["login", "firstName", "lastName", "email"] {
            if !matches!(new.get(req), Some(Value::String(s)) if !s.is_empty()) {
                return Err(ApiError::validation(
                    "user",
                    format!("{req}: The field cannot be left blank"),
                ));
            }
        }
        let old_login = old
            .get("login")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_lowercase();
        let new_login = new
            .get("login")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_lowercase();
        if old_login != new_login {
            if self.logins.contains_key(&new_login) {
                return Err(ApiError::validation(
                    "login",
                    "login: An object with this field already exists in the current organization",
                ));
            }
            self.logins.remove(&old_login);
            self.logins.insert(new_login, id.clone());
        }
        let mut from = Map::new();
        let mut to = Map::new();
        for k in old.keys().chain(new.keys()) {
            if old.get(k) != new.get(k) && !to.contains_key(k) {
                from.insert(k.clone(), old.get(k).cloned().unwrap_or(Value::Null));
                to.insert(k.clone(), new.get(k).cloned().unwrap_or(Value::Null));
            }
        }
        self.note_change(&id);
        let Some(rec) = self.users.get_mut(&id) else {
            return Err(ApiError::not_found(id_or_login, "User"));
        };
        rec.user.profile = new;
        rec.user.last_updated = Some(now);
        let user = rec.user.clone();
        let mut target = user_target(&user);
        target["changeDetails"] = json!({"from": from, "to": to});
        self.log(
            "user.account.update_profile",
            "Update user profile for Okta",
            actor,
            vec![target],
            None,
        );
        Ok(user)
    }

    /// A lifecycle transition with Okta's status rules.
    pub fn lifecycle(
        &mut self,
        id_or_login: &str,
        op: Lifecycle,
        actor: &Actor,
    ) -> Result<User, ApiError> {
        let id = self.resolve_user(id_or_login)?;
        let now = self.now();
        self.note_change(&id);
        let Some(rec) = self.users.get_mut(&id) else {
            return Err(ApiError::not_found(id_or_login, "User"));
        };
        use UserStatus as S;
        let from = rec.user.status;
        let (to, event, msg) = match (op, from) {
            (Lifecycle::Activate, S::Staged | S::Provisioned | S::Deprovisioned) => {
                (S::Active, "user.lifecycle.activate", "Activate Okta user")
            }
            (Lifecycle::Reactivate, S::Provisioned) => (
                S::Provisioned,
                "user.lifecycle.reactivate",
                "Reactivate Okta user",
            ),
            (Lifecycle::Deactivate, _) => (
                S::Deprovisioned,
                "user.lifecycle.deactivate",
                "Deactivate Okta user",
            ),
            (Lifecycle::Suspend, S::Active) => {
                (S::Suspended, "user.lifecycle.suspend", "Suspend Okta user")
            }
            (Lifecycle::Suspend, _) => {
                return Err(ApiError::validation(
                    "user",
                    "Cannot suspend a user that is not active",
                ));
            }
            (Lifecycle::Unsuspend, S::Suspended) => {
                (S::Active, "user.lifecycle.unsuspend", "Unsuspend Okta user")
            }
            (Lifecycle::Unsuspend, _) => {
                return Err(ApiError::validation(
                    "user",
                    "Cannot unsuspend a user that is not suspended",
                ));
            }
            (Lifecycle::Unlock, S::LockedOut) => {
                (S::Active, "user.account.unlock", "Unlock user account")
            }
            _ => return Err(ApiError::wrong_status()),
        };
        if from != to || op == Lifecycle::Reactivate {
            rec.user.status = to;
            rec.user.status_changed = Some(now);
            rec.user.last_updated = Some(now);
            if to == S::Active && rec.user.activated.is_none() {
                rec.user.activated = Some(now);
            }
            let user = rec.user.clone();
            self.log(event, msg, actor, vec![user_target(&user)], None);
            return Ok(user);
        }
        Ok(rec.user.clone())
    }

    /// Sets any status directly (HR simulation in tests), logging the matching lifecycle event.
    pub fn set_status(
        &mut self,
        id_or_login: &str,
        status: UserStatus,
        actor: &Actor,
    ) -> Result<User, ApiError> {
        let id = self.resolve_user(id_or_login)?;
        let now = self.now();
        self.note_change(&id);
        let Some(rec) = self.users.get_mut(&id) else {
            return Err(ApiError::not_found(id_or_login, "User"));
        };
        if rec.user.status != status {
            rec.user.status = status;
            rec.user.status_changed = Some(now);
            rec.user.last_updated = Some(now);
            if status == UserStatus::Active && rec.user.activated.is_none() {
                rec.user.activated = Some(now);
            }
            let user = rec.user.clone();
            let ev = match status {
                UserStatus::Active => "user.lifecycle.activate",
                UserStatus::Deprovisioned => "user.lifecycle.deactivate",
                UserStatus::Suspended => "user.lifecycle.suspend",
                _ => "user.lifecycle.status_change",
            };
            self.log(
                ev,
                "Change user status",
                actor,
                vec![user_target(&user)],
                None,
            );
        }
        self.get_user(&id)
    }

    /// `DELETE /api/v1/users/{id}`: deactivates first, deletes when already DEPROVISIONED.
    pub fn delete_user(&mut self, id_or_login: &str, actor: &Actor) -> Result<(), ApiError> {
        let id = self.resolve_user(id_or_login)?;
        let status = self.users.get(&id).map(|r| r.user.status);
        if status != Some(UserStatus::Deprovisioned) {
            self.lifecycle(&id, Lifecycle::Deactivate, actor)?;
            return Ok(());
        }
        if let Some(rec) = self.users.remove(&id) {
            self.user_order.remove(&rec.seq);
            if let Some(l) = rec.user.login() {
                self.logins.remove(&l.to_lowercase());
            }
            for gid in &rec.groups {
                if let Some(g) = self.groups.get_mut(gid) {
                    g.members.remove(&rec.seq);
                }
            }
            self.log(
                "user.lifecycle.delete.completed",
                "Delete Okta user completed",
                actor,
                vec![user_target(&rec.user)],
                None,
            );
        }
        Ok(())
    }
}
