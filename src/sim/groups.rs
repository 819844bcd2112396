//! Groups and memberships in the emulated org: listing with `search`/`filter`/`q`/`expand=stats`,
//! create/update/delete with Okta's rules per group type, unique OKTA_GROUP names, member lists and
//! idempotent membership changes that move `lastMembershipUpdated` and write the System Log.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use crate::okta::model::{
    Group, GroupEmbedded, GroupProfile, GroupStats, GroupType, User, okta_time,
};

use super::error::ApiError;
use super::search::{self, Lookup};
use super::state::{Actor, GroupRec, Org, Page, has_4_byte_chars, paginate};
use super::users::user_target;

/// Parameters of `GET /api/v1/groups`.
#[derive(Debug, Clone, Default)]
pub struct GroupListParams {
    pub search: Option<String>,
    pub filter: Option<String>,
    pub q: Option<String>,
    pub limit: Option<u32>,
    pub after: Option<String>,
    pub expand_stats: bool,
}

impl Lookup for Group {
    fn field(&self, attr: &str) -> Option<Cow<'_, Value>> {
        let time = |t: &Option<chrono::DateTime<chrono::Utc>>| {
            t.as_ref()
                .map(|t| Cow::Owned(Value::String(okta_time::format(t))))
        };
        match attr {
            "id" => Some(Cow::Owned(Value::String(self.id.clone()))),
            "type" => Some(Cow::Owned(Value::String(self.group_type.as_str().into()))),
            "created" => time(&self.created),
            "lastUpdated" => time(&self.last_updated),
            "lastMembershipUpdated" => time(&self.last_membership_updated),
            "profile.name" => Some(Cow::Owned(Value::String(self.profile.name.clone()))),
            "profile.description" => self
                .profile
                .description
                .as_ref()
                .map(|d| Cow::Owned(Value::String(d.clone()))),
            _ => attr
                .strip_prefix("profile.")
                .and_then(|p| self.profile.extra.get(p))
                .map(Cow::Borrowed),
        }
    }
}

/// The System Log target for a group.
pub(crate) fn group_target(g: &Group) -> Value {
    json!({"id": g.id, "type": "UserGroup", "alternateId": g.profile.name,
           "displayName": g.profile.name, "detailEntry": null})
}

fn check_profile(p: &GroupProfile) -> Result<(), ApiError> {
    let n = p.name.chars().count();
    if n == 0 || n > 255 {
        return Err(ApiError::validation(
            "profile",
            "name: The field must have between 1 and 255 characters",
        ));
    }
    if p.description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 1024)
    {
        return Err(ApiError::validation(
            "profile",
            "description: The field cannot exceed 1024 characters",
        ));
    }
    let mut all = Map::new();
    all.insert("name".into(), Value::String(p.name.clone()));
    if let Some(d) = &p.description {
        all.insert("description".into(), Value::String(d.clone()));
    }
    all.extend(p.extra.clone());
    if has_4_byte_chars(&Value::Object(all)) {
        return Err(ApiError::validation(
            "profile",
            "profile: characters outside the Basic Multilingual Plane (4-byte UTF-8) are not supported",
        ));
    }
    Ok(())
}

impl Org {
    /// An OKTA_GROUP other than `except` already has this name (compared case-insensitively).
    fn name_taken(&self, name: &str, except: Option<&str>) -> bool {
        self.okta_names
            .get(&name.to_lowercase())
            .is_some_and(|gid| Some(gid.as_str()) != except)
    }

    /// Inserts a group of any type (seeds, tests); OKTA_GROUP names must be unique.
    pub(crate) fn insert_group(
        &mut self,
        id: Option<String>,
        group_type: GroupType,
        profile: GroupProfile,
        actor: &Actor,
        log: bool,
    ) -> Result<String, ApiError> {
        check_profile(&profile)?;
        if group_type == GroupType::OktaGroup && self.name_taken(&profile.name, None) {
            return Err(ApiError::validation(
                "name",
                "name: An object with this field already exists in the current organization",
            ));
        }
        let id = self.claim_id(id, "00g")?;
        let now = self.now();
        let object_class = match group_type {
            GroupType::AppGroup => "okta:windows_security_principal",
            _ => "okta:user_group",
        };
        let group = Group {
            id: id.clone(),
            created: Some(now),
            last_updated: Some(now),
            last_membership_updated: Some(now),
            object_class: vec![object_class.to_string()],
            group_type,
            profile,
            embedded: None,
            links: None,
        };
        let seq = self.take_seq();
        self.seqs.insert(id.clone(), seq);
        self.group_order.insert(seq, id.clone());
        let target = group_target(&group);
        if group_type == GroupType::OktaGroup {
            self.okta_names
                .insert(group.profile.name.to_lowercase(), id.clone());
        }
        self.groups.insert(
            id.clone(),
            GroupRec {
                seq,
                group,
                members: Default::default(),
            },
        );
        if log {
            self.log(
                "group.lifecycle.create",
                "Create Okta group",
                actor,
                vec![target],
                None,
            );
        }
        Ok(id)
    }

    /// `POST /api/v1/groups`: always an OKTA_GROUP.
    pub fn create_group(
        &mut self,
        profile: GroupProfile,
        actor: &Actor,
    ) -> Result<Group, ApiError> {
        let id = self.insert_group(None, GroupType::OktaGroup, profile, actor, true)?;
        self.get_group(&id)
    }

    /// Creates a group of any type, as an import or Okta itself would (tests: APP_GROUP, BUILT_IN).
    pub fn create_group_of_type(
        &mut self,
        group_type: GroupType,
        profile: GroupProfile,
        actor: &Actor,
    ) -> Result<Group, ApiError> {
        let id = self.insert_group(None, group_type, profile, actor, true)?;
        self.get_group(&id)
    }

    pub fn get_group(&self, gid: &str) -> Result<Group, ApiError> {
        self.groups
            .get(gid)
            .map(|g| g.group.clone())
            .ok_or_else(|| ApiError::not_found(gid, "UserGroup"))
    }

    /// The group with `expand=stats` filled in.
    pub fn with_stats(&self, mut g: Group) -> Group {
        let count = self.groups.get(&g.id).map_or(0, |r| r.members.len() as u64);
        let mut extra = Map::new();
        extra.insert("appsCount".into(), json!(0));
        extra.insert("groupPushMappingsCount".into(), json!(0));
        extra.insert("hasAdminPrivlege".into(), json!(false));
        g.embedded = Some(GroupEmbedded {
            stats: Some(GroupStats {
                users_count: Some(count),
                extra,
            }),
            extra: Map::new(),
        });
        g
    }

    pub fn list_groups(&self, p: &GroupListParams) -> Result<Page<Group>, ApiError> {
        let parse = |text: &str, allowed: &dyn Fn(&str, search::Op) -> bool| {
            let e = search::parse(text).map_err(|_| ApiError::bad_search())?;
            e.check(allowed).map_err(|_| ApiError::bad_search())?;
            Ok::<_, ApiError>(e)
        };
        let search = p
            .search
            .as_deref()
            .map(|s| parse(s, &search::groups_search))
            .transpose()?;
        let filter = p
            .filter
            .as_deref()
            .map(|s| parse(s, &search::groups_filter))
            .transpose()?;
        let keep = |g: &Group| {
            search.as_ref().is_none_or(|e| e.matches(g, true))
                && filter.as_ref().is_none_or(|e| e.matches(g, false))
        };
        let finish = |g: &Group| {
            if p.expand_stats {
                self.with_stats(g.clone())
            } else {
                g.clone()
            }
        };
        if let Some(q) = p.q.as_deref() {
            let ql = q.to_lowercase();
            let limit = p.limit.unwrap_or(300).clamp(1, 10000) as usize;
            let mut hits: Vec<&Group> = self
                .group_order
                .values()
                .filter_map(|id| self.groups.get(id).map(|r| &r.group))
                .filter(|g| g.profile.name.to_lowercase().starts_with(&ql) && keep(g))
                .collect();
            hits.sort_by_key(|g| g.profile.name.to_lowercase() != ql);
            let items = hits.into_iter().take(limit).map(finish).collect();
            return Ok(Page { items, next: None });
        }
        let limit = p.limit.unwrap_or(10000).clamp(1, 10000) as usize;
        let after = self.cursor(p.after.as_deref())?;
        let page = paginate(&self.group_order, after, limit, |id| {
            self.groups.get(id).is_some_and(|r| keep(&r.group))
        });
        Ok(Page {
            items: page
                .items
                .iter()
                .filter_map(|id| self.groups.get(id).map(|r| finish(&r.group)))
                .collect(),
            next: page.next,
        })
    }

    /// `PUT /api/v1/groups/{id}`: full profile replace, OKTA_GROUP only.
    pub fn update_group(
        &mut self,
        gid: &str,
        profile: GroupProfile,
        actor: &Actor,
    ) -> Result<Group, ApiError> {
        let ty = self
            .group_type(gid)
            .ok_or_else(|| ApiError::not_found(gid, "UserGroup"))?;
        if ty != GroupType::OktaGroup {
            return Err(ApiError::forbidden());
        }
        check_profile(&profile)?;
        if self.name_taken(&profile.name, Some(gid)) {
            return Err(ApiError::validation(
                "name",
                "name: An object with this field already exists in the current organization",
            ));
        }
        let now = self.now();
        let Some(rec) = self.groups.get_mut(gid) else {
            return Err(ApiError::not_found(gid, "UserGroup"));
        };
        let mut target = group_target(&rec.group);
        target["changeDetails"] = json!({"from": {"name": rec.group.profile.name, "description": rec.group.profile.description},
                                         "to": {"name": profile.name, "description": profile.description}});
        let old_name = std::mem::replace(&mut rec.group.profile, profile)
            .name
            .to_lowercase();
        let new_name = rec.group.profile.name.to_lowercase();
        rec.group.last_updated = Some(now);
        let g = rec.group.clone();
        self.okta_names.remove(&old_name);
        self.okta_names.insert(new_name, gid.to_string());
        self.log(
            "group.profile.update",
            "Update Okta group profile",
            actor,
            vec![target],
            None,
        );
        Ok(g)
    }

    /// `DELETE /api/v1/groups/{id}`: BUILT_IN groups cannot be deleted.
    pub fn delete_group(&mut self, gid: &str, actor: &Actor) -> Result<(), ApiError> {
        let ty = self
            .group_type(gid)
            .ok_or_else(|| ApiError::not_found(gid, "UserGroup"))?;
        if ty == GroupType::BuiltIn {
            return Err(ApiError::forbidden());
        }
        if let Some(rec) = self.groups.remove(gid) {
            self.group_order.remove(&rec.seq);
            if rec.group.group_type == GroupType::OktaGroup {
                self.okta_names
                    .remove(&rec.group.profile.name.to_lowercase());
            }
            for uid in rec.members.values() {
                if let Some(u) = self.users.get_mut(uid) {
                    u.groups.remove(gid);
                }
            }
            self.log(
                "group.lifecycle.delete",
                "Delete Okta group",
                actor,
                vec![group_target(&rec.group)],
                None,
            );
        }
        Ok(())
    }

    /// `GET /api/v1/groups/{id}/users`: every member, DEPROVISIONED included.
    pub fn list_members(
        &self,
        gid: &str,
        limit: Option<u32>,
        after: Option<&str>,
    ) -> Result<Page<User>, ApiError> {
        let rec = self
            .groups
            .get(gid)
            .ok_or_else(|| ApiError::not_found(gid, "UserGroup"))?;
        let limit = limit.unwrap_or(1000).clamp(1, 10000) as usize;
        let after = self.cursor(after)?;
        let page = paginate(&rec.members, after, limit, |id| self.users.contains_key(id));
        Ok(self.users_page(page))
    }

    fn membership_checks(&self, gid: &str, uid: &str) -> Result<String, ApiError> {
        let ty = self
            .group_type(gid)
            .ok_or_else(|| ApiError::not_found(gid, "UserGroup"))?;
        if !self.users.contains_key(uid) {
            return Err(ApiError::not_found(uid, "User"));
        }
        if ty != GroupType::OktaGroup {
            return Err(ApiError::forbidden());
        }
        Ok(uid.to_string())
    }

    fn membership_event(&mut self, gid: &str, uid: &str, event: &str, msg: &str, actor: &Actor) {
        let now = self.now();
        let Some(g) = self.groups.get_mut(gid) else {
            return;
        };
        g.group.last_membership_updated = Some(now);
        let gt = group_target(&g.group);
        let ut = self.users.get(uid).map(|u| user_target(&u.user));
        self.log(
            event,
            msg,
            actor,
            ut.into_iter().chain([gt]).collect(),
            None,
        );
    }

    /// `PUT /api/v1/groups/{gid}/users/{uid}`; adding a member twice is fine.
    pub fn add_member(&mut self, gid: &str, uid: &str, actor: &Actor) -> Result<(), ApiError> {
        let uid = self.membership_checks(gid, uid)?;
        if self.link(gid, &uid) {
            self.membership_event(
                gid,
                &uid,
                "group.user_membership.add",
                "Add user to group membership",
                actor,
            );
        }
        Ok(())
    }

    /// `DELETE /api/v1/groups/{gid}/users/{uid}`; removing a non-member is fine.
    pub fn remove_member(&mut self, gid: &str, uid: &str, actor: &Actor) -> Result<(), ApiError> {
        let uid = self.membership_checks(gid, uid)?;
        if self.unlink(gid, &uid) {
            self.membership_event(
                gid,
                &uid,
                "group.user_membership.remove",
                "Remove user from group membership",
                actor,
            );
        }
        Ok(())
    }
}
