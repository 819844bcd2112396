//! The emulator's routing table: path and method to an endpoint, its rate-limit bucket, the scope it
//! needs, and the template the counters use. Unknown paths are E0000008, wrong methods E0000022.

use axum::http::Method;

use crate::sim::error::ApiError;
use crate::sim::ratelimit::Bucket;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ep {
    ListUsers,
    CreateUser,
    GetUser(String),
    UpdateUser { id: String, replace: bool },
    DeleteUser(String),
    Lifecycle { id: String, op: String },
    UserGroups(String),
    ListGroups,
    CreateGroup,
    GetGroup(String),
    UpdateGroup(String),
    DeleteGroup(String),
    ListMembers(String),
    AddMember(String, String),
    RemoveMember(String, String),
    Schema,
    Logs,
    Token,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub ep: Ep,
    pub bucket: Bucket,
    /// Needed scope; `None` for the token endpoint.
    pub scope: Option<&'static str>,
    /// `GET /api/v1/groups/{id}/users`, for counters.
    pub template: String,
}

fn decode(seg: &str) -> String {
    let bytes = seg.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Resolves a request; on failure the error and the bucket its headers report.
pub fn resolve(method: &Method, path: &str) -> Result<Route, (ApiError, Bucket)> {
    let segs: Vec<String> = path
        .trim_end_matches('/')
        .split('/')
        .skip(1)
        .map(decode)
        .collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = method.as_str();
    use Bucket as B;
    let (ep, bucket, scope, tpl): (Option<Ep>, Bucket, Option<&'static str>, &str) =
        match s.as_slice() {
            ["api", "v1", "users"] => match m {
                "GET" => (
                    Some(Ep::ListUsers),
                    B::Users,
                    Some("okta.users.read"),
                    "/api/v1/users",
                ),
                "POST" => (
                    Some(Ep::CreateUser),
                    B::Users,
                    Some("okta.users.manage"),
                    "/api/v1/users",
                ),
                _ => (None, B::Users, None, ""),
            },
            ["api", "v1", "users", id] => {
                let id = id.to_string();
                let t = "/api/v1/users/{id}";
                match m {
                    "GET" => (
                        Some(Ep::GetUser(id)),
                        B::UserById,
                        Some("okta.users.read"),
                        t,
                    ),
                    "POST" => (
                        Some(Ep::UpdateUser { id, replace: false }),
                        B::UserMutate,
                        Some("okta.users.manage"),
                        t,
                    ),
                    "PUT" => (
                        Some(Ep::UpdateUser { id, replace: true }),
                        B::UserMutate,
                        Some("okta.users.manage"),
                        t,
                    ),
                    "DELETE" => (
                        Some(Ep::DeleteUser(id)),
                        B::UserMutate,
                        Some("okta.users.manage"),
                        t,
                    ),
                    _ => (None, B::UserById, None, ""),
                }
            }
            ["api", "v1", "users", id, "lifecycle", op] => match m {
                "POST" => (
                    Some(Ep::Lifecycle {
                        id: id.to_string(),
                        op: op.to_string(),
                    }),
                    B::UserMutate,
                    Some("okta.users.manage"),
                    "/api/v1/users/{id}/lifecycle/{op}",
                ),
                _ => (None, B::UserMutate, None, ""),
            },
            ["api", "v1", "users", id, "groups"] => match m {
                "GET" => (
                    Some(Ep::UserGroups(id.to_string())),
                    B::UserById,
                    Some("okta.users.read"),
                    "/api/v1/users/{id}/groups",
                ),
                _ => (None, B::UserById, None, ""),
            },
            ["api", "v1", "groups"] => match m {
                "GET" => (
                    Some(Ep::ListGroups),
                    B::Groups,
                    Some("okta.groups.read"),
                    "/api/v1/groups",
                ),
                "POST" => (
                    Some(Ep::CreateGroup),
                    B::Groups,
                    Some("okta.groups.manage"),
                    "/api/v1/groups",
                ),
                _ => (None, B::Groups, None, ""),
            },
            ["api", "v1", "groups", id] => {
                let id = id.to_string();
                let t = "/api/v1/groups/{id}";
                match m {
                    "GET" => (
                        Some(Ep::GetGroup(id)),
                        B::GroupById,
                        Some("okta.groups.read"),
                        t,
                    ),
                    "PUT" => (
                        Some(Ep::UpdateGroup(id)),
                        B::GroupById,
                        Some("okta.groups.manage"),
                        t,
                    ),
                    "DELETE" => (
                        Some(Ep::DeleteGroup(id)),
                        B::GroupById,
                        Some("okta.groups.manage"),
                        t,
                    ),
                    _ => (None, B::GroupById, None, ""),
                }
            }
            ["api", "v1", "groups", id, "users"] => match m {
                "GET" => (
                    Some(Ep::ListMembers(id.to_string())),
                    B::Groups,
                    Some("okta.groups.read"),
                    "/api/v1/groups/{id}/users",
                ),
                _ => (None, B::Groups, None, ""),
            },
            ["api", "v1", "groups", gid, "users", uid] => {
                let (g, u) = (gid.to_string(), uid.to_string());
                let t = "/api/v1/groups/{id}/users/{userId}";
                match m {
                    "PUT" => (
                        Some(Ep::AddMember(g, u)),
                        B::Groups,
                        Some("okta.groups.manage"),
                        t,
                    ),
                    "DELETE" => (
                        Some(Ep::RemoveMember(g, u)),
                        B::Groups,
                        Some("okta.groups.manage"),
                        t,
                    ),
                    _ => (None, B::Groups, None, ""),
                }
            }
            ["api", "v1", "meta", "schemas", "user", _] => match m {
                "GET" => (
                    Some(Ep::Schema),
                    B::Schema,
                    Some("okta.schemas.read"),
                    "/api/v1/meta/schemas/user/default",
                ),
                _ => (None, B::Schema, None, ""),
            },
            ["api", "v1", "logs"] => match m {
                "GET" => (
                    Some(Ep::Logs),
                    B::Logs,
                    Some("okta.logs.read"),
                    "/api/v1/logs",
                ),
                _ => (None, B::Logs, None, ""),
            },
            ["oauth2", "v1", "token"] => match m {
                "POST" => (Some(Ep::Token), B::Token, None, "/oauth2/v1/token"),
                _ => (None, B::Token, None, ""),
            },
            _ => return Err((ApiError::path_not_found(), B::Other)),
        };
    match ep {
        Some(ep) => Ok(Route {
            ep,
            bucket,
            scope,
            template: format!("{m} {tpl}"),
        }),
        None => Err((ApiError::method_not_allowed(), bucket)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_buckets() {
        let r = resolve(&Method::PUT, "/api/v1/groups/00g1/users/00u1").unwrap();
        assert_eq!(r.ep, Ep::AddMember("00g1".into(), "00u1".into()));
        assert_eq!(r.bucket, Bucket::Groups);
        let r = resolve(&Method::GET, "/api/v1/users/ana%40example.com").unwrap();
        assert_eq!(r.ep, Ep::GetUser("ana@example.com".into()));
        assert_eq!(
            resolve(&Method::GET, "/api/v1/nope").unwrap_err().0.code,
            "E0000008"
        );
        assert_eq!(
            resolve(&Method::PATCH, "/api/v1/groups")
                .unwrap_err()
                .0
                .code,
            "E0000022"
        );
        assert_eq!(
            resolve(&Method::GET, "/api/v1/groups/00g1").unwrap().bucket,
            Bucket::GroupById
        );
    }
}
