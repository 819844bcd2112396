//! The Okta endpoints of the HTTP face: query parameters and bodies in, the same `Org` operations the
//! in-memory face uses, Okta's JSON shapes (with `_links` on the emulator's own address) out.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};

use crate::okta::model::{Group, GroupProfile, User};
use crate::sim::error::ApiError;
use crate::sim::groups::GroupListParams;
use crate::sim::logs::LogParams;
use crate::sim::schema;
use crate::sim::state::{Actor, Org};
use crate::sim::users::{Lifecycle, UserListParams};

use super::respond::{Reply, links};
use super::route::Ep;

/// Query parameters in request order.
pub struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        Query(
            url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }

    fn limit(&self) -> Result<Option<u32>, ApiError> {
        match self.get("limit") {
            None | Some("") => Ok(None),
            Some(l) => l
                .parse::<i64>()
                .map(|n| Some(n.clamp(1, u32::MAX as i64) as u32))
                .map_err(|_| {
                    ApiError::validation("limit", format!("limit: {l:?} is not a number"))
                }),
        }
    }

    fn owned(&self, k: &str) -> Option<String> {
        self.get(k).map(str::to_string)
    }

    /// The listed parameters that are present, for Link URLs (unknown ones are dropped, as Okta does).
    fn keep(&self, names: &[&'static str]) -> Vec<(&'static str, String)> {
        names
            .iter()
            .filter_map(|n| self.owned(n).map(|v| (*n, v)))
            .collect()
    }
}

pub fn user_json(u: &User, base: &str) -> Value {
    let mut v = serde_json::to_value(u).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert(
            "_links".into(),
            json!({"self": {"href": format!("{base}/api/v1/users/{}", u.id)}}),
        );
    }
    v
}

pub fn group_json(g: &Group, base: &str) -> Value {
    let mut g = g.clone();
    g.links = Some(json!({
        "logo": [
            {"name": "medium", "href": "https://ok12static.oktacdn.com/assets/img/logos/groups/okta-medium.png", "type": "image/png"},
            {"name": "large", "href": "https://ok12static.oktacdn.com/assets/img/logos/groups/okta-large.png", "type": "image/png"}
        ],
        "users": {"href": format!("{base}/api/v1/groups/{}/users", g.id)},
        "apps": {"href": format!("{base}/api/v1/groups/{}/apps", g.id)}
    }));
    serde_json::to_value(&g).unwrap_or(Value::Null)
}

fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(body).map_err(|_| ApiError::malformed_body())
}

fn profile_of(body: &Value, what: &str) -> Result<Map<String, Value>, ApiError> {
    match body.get("profile") {
        Some(Value::Object(m)) => Ok(m.clone()),
        _ => Err(ApiError::validation(
            what,
            "profile: The field cannot be left blank",
        )),
    }
}

fn group_profile(body: &Value) -> Result<GroupProfile, ApiError> {
    let p = profile_of(body, "profile")?;
    serde_json::from_value::<GroupProfile>(Value::Object(p))
        .map_err(|_| ApiError::validation("profile", "name: The field cannot be left blank"))
}

fn time_param(q: &Query, k: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    match q.get(k) {
        None | Some("") => Ok(None),
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| {
                ApiError::validation(
                    k,
                    format!("{k}: {t:?} is not a valid date (YYYY-MM-DDTHH:mm:ss.SSSZ)"),
                )
            }),
    }
}

/// Runs one endpoint against the org. `path` is the request path (for Link URLs).
pub fn dispatch(
    org: &mut Org,
    ep: &Ep,
    q: &Query,
    body: &[u8],
    actor: &Actor,
    base: &str,
    path: &str,
) -> Result<Reply, ApiError> {
    match ep {
        Ep::ListUsers => {
            let p = UserListParams {
                search: q.owned("search"),
                filter: q.owned("filter"),
                q: q.owned("q"),
                limit: q.limit()?,
                after: q.owned("after"),
            };
            let page = org.list_users(&p)?;
            let items: Vec<Value> = page.items.iter().map(|u| user_json(u, base)).collect();
            let mut r = Reply::json(Value::Array(items));
            if p.q.is_none() {
                let limit = p.limit.unwrap_or(200).clamp(1, 200);
                r.links = links(
                    base,
                    path,
                    limit,
                    &q.keep(&["search", "filter", "sortBy", "sortOrder"]),
                    page.next.as_deref(),
                );
            }
            Ok(r)
        }
        Ep::CreateUser => {
            let b = parse_body(body)?;
            let profile = profile_of(&b, "newUser")?;
            let activate = q
                .get("activate")
                .is_none_or(|a| !a.eq_ignore_ascii_case("false"));
            let u = org.create_user(profile, activate, actor)?;
            Ok(Reply::json(user_json(&u, base)))
        }
        Ep::GetUser(id) => {
            let u = org.get_user(id)?;
            let mut v = user_json(&u, base);
            let href = |op: &str| json!({"href": format!("{base}/api/v1/users/{}/lifecycle/{op}", u.id), "method": "POST"});
            let ops: &[&str] = match u.status.as_str() {
                "ACTIVE" => &["suspend", "deactivate"],
                "SUSPENDED" => &["unsuspend", "deactivate"],
                "STAGED" | "PROVISIONED" => &["activate", "deactivate"],
                "DEPROVISIONED" => &["activate"],
                _ => &["deactivate"],
            };
            if let Some(links) = v.get_mut("_links").and_then(Value::as_object_mut) {
                for op in ops {
                    links.insert((*op).to_string(), href(op));
                }
            }
            Ok(Reply::json(v))
        }
        Ep::UpdateUser { id, replace } => {
            let b = parse_body(body)?;
            let profile = profile_of(&b, "user")?;
            let u = org.update_user(id, profile, *replace, actor)?;
            Ok(Reply::json(user_json(&u, base)))
        }
        Ep::DeleteUser(id) => {
            org.delete_user(id, actor)?;
            Ok(Reply::no_content())
        }
        Ep::Lifecycle { id, op } => {
            let op = Lifecycle::parse(op).ok_or_else(ApiError::path_not_found)?;
            org.lifecycle(id, op, actor)?;
            Ok(Reply::json(json!({})))
        }
        Ep::UserGroups(id) => {
            let uid = org.resolve_user(id)?;
            let gids: Vec<String> = org
                .users
                .get(&uid)
                .map(|r| r.groups.iter().cloned().collect())
                .unwrap_or_default();
            let mut gs: Vec<(u64, Value)> = gids
                .iter()
                .filter_map(|g| {
                    org.groups
                        .get(g)
                        .map(|r| (r.seq, group_json(&r.group, base)))
                })
                .collect();
            gs.sort_by_key(|(s, _)| *s);
            let mut r = Reply::json(Value::Array(gs.into_iter().map(|(_, v)| v).collect()));
            r.links = links(base, path, 200, &[], None);
            Ok(r)
        }
        Ep::ListGroups => {
            let expand = q
                .get("expand")
                .is_some_and(|e| e.split(',').any(|x| x.trim() == "stats"));
            let p = GroupListParams {
                search: q.owned("search"),
                filter: q.owned("filter"),
                q: q.owned("q"),
                limit: q.limit()?,
                after: q.owned("after"),
                expand_stats: expand,
            };
            let page = org.list_groups(&p)?;
            let items: Vec<Value> = page.items.iter().map(|g| group_json(g, base)).collect();
            let mut r = Reply::json(Value::Array(items));
            if p.q.is_none() {
                let limit = p.limit.unwrap_or(10000).clamp(1, 10000);
                r.links = links(
                    base,
                    path,
                    limit,
                    &q.keep(&["search", "filter", "expand", "sortBy", "sortOrder"]),
                    page.next.as_deref(),
                );
            }
            Ok(r)
        }
        Ep::CreateGroup => {
            let g = org.create_group(group_profile(&parse_body(body)?)?, actor)?;
            Ok(Reply::json(group_json(&g, base)))
        }
        Ep::GetGroup(id) => {
            let g = org.get_group(id)?;
            let g = if q.get("expand").is_some_and(|e| e.contains("stats")) {
                org.with_stats(g)
            } else {
                g
            };
            Ok(Reply::json(group_json(&g, base)))
        }
        Ep::UpdateGroup(id) => {
            let g = org.update_group(id, group_profile(&parse_body(body)?)?, actor)?;
            Ok(Reply::json(group_json(&g, base)))
        }
        Ep::DeleteGroup(id) => {
            org.delete_group(id, actor)?;
            Ok(Reply::no_content())
        }
        Ep::ListMembers(gid) => {
            let limit = q.limit()?;
            let page = org.list_members(gid, limit, q.get("after"))?;
            let items: Vec<Value> = page.items.iter().map(|u| user_json(u, base)).collect();
            let mut r = Reply::json(Value::Array(items));
            r.links = links(
                base,
                path,
                limit.unwrap_or(1000).clamp(1, 10000),
                &[],
                page.next.as_deref(),
            );
            Ok(r)
        }
        Ep::AddMember(g, u) => {
            org.add_member(g, u, actor)?;
            Ok(Reply::no_content())
        }
        Ep::RemoveMember(g, u) => {
            org.remove_member(g, u, actor)?;
            Ok(Reply::no_content())
        }
        Ep::Schema => Ok(Reply::json(schema::document(
            base,
            &org.custom_schema,
            org.schema_created,
            org.schema_created,
        ))),
        Ep::Logs => {
            let since = time_param(q, "since")?;
            let until = time_param(q, "until")?;
            if since.is_some_and(|s| s < org.now() - TimeDelta::days(180)) {
                return Err(ApiError::new(
                    400,
                    "E0000053",
                    "Invalid parameter: The since parameter is over 180 days prior to the current day.",
                ));
            }
            let p = LogParams {
                since,
                until,
                after: q.owned("after"),
                filter: q.owned("filter"),
                limit: q.limit()?,
            };
            let page = org.list_logs(&p)?;
            let mut r = Reply::json(Value::Array(page.items));
            let limit = p.limit.unwrap_or(100).clamp(1, 1000);
            r.links = links(
                base,
                path,
                limit,
                &q.keep(&["since", "until", "filter", "sortOrder"]),
                page.next.as_deref(),
            );
            Ok(r)
        }
        Ep::Token => Err(ApiError::internal()),
    }
}
