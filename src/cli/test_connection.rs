//! `dyngroups test-connection`: domain reachable, credential valid, and a verdict per permission dyngroups
//! needs (users read, schemas read, groups read, groups manage), without changing anything in Okta.
//!
//! Every probe is one cheap request that matches nothing:
//! - users read: `GET /api/v1/users?search=id eq "<impossible id>"` (one page, empty);
//! - groups read: `GET /api/v1/groups?filter=id eq "<impossible id>"`;
//! - schemas read: `GET /api/v1/meta/schemas/user/default`;
//! - groups manage, read-only: `DELETE /api/v1/groups/<impossible group>/users/<impossible user>`, i.e.
//!   removing a user who does not exist from a group that does not exist. Okta checks the permission
//!   (scope or admin role) before it looks the group up, so 404 means "allowed" and 403 means "missing";
//!   nothing can change, since neither object exists (and removing a non-member is a no-op anyway).
//!   Deleting a non-existent group would answer the same question but is never sent: a typo in a probe id
//!   must not be able to delete a real group.

use std::io::Write;

use serde::Serialize;

use super::{Exit, Format, Globals};
use crate::okta::api::{GroupQuery, OktaApi};
use crate::okta::error::OktaError;
use crate::render::escape::{markdown_inline as md, terminal};

/// Ids in Okta's shape that no org holds (the `0` run is not something Okta generates).
/// The ids `apply`'s preflight probes with (one pair of made-up ids for both checks).
use crate::apply::preflight::{PROBE_GROUP as NO_GROUP, PROBE_USER as NO_USER};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  export OKTA_API_TOKEN=...\n  dyngroups --config examples/config test-connection"
)]
pub struct Args {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    Missing,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub check: &'static str,
    pub verdict: Verdict,
    pub detail: String,
}

pub async fn run(g: &Globals, _args: &Args) -> anyhow::Result<Exit> {
    let config = g.load_config()?;
    let api = g.okta(&config)?;
    let checks = probe(&api).await;
    let all_ok = checks.iter().all(|c| c.verdict == Verdict::Ok);
    let target = g
        .args
        .okta_url
        .clone()
        .unwrap_or_else(|| format!("https://{}", config.instance.okta_domain));
    let out = match g.format() {
        Format::Text => {
            let mut o = format!("Okta at {}\n", terminal(&target));
            for c in &checks {
                let mark = match c.verdict {
                    Verdict::Ok => "ok     ",
                    Verdict::Missing => "MISSING",
                    Verdict::Failed => "FAILED ",
                    Verdict::Skipped => "skipped",
                };
                o.push_str(&format!(
                    "  {mark}  {:<20} {}\n",
                    c.check,
                    terminal(&c.detail)
                ));
            }
            o.push_str(if all_ok {
                "All checks passed.\n"
            } else {
                "Some checks did not pass (see above).\n"
            });
            o
        }
        Format::Markdown => {
            let mut o = String::from("| check | verdict | detail |\n|---|---|---|\n");
            for c in &checks {
                o.push_str(&format!(
                    "| {} | {:?} | {} |\n",
                    c.check,
                    c.verdict,
                    md(&c.detail)
                ));
            }
            o
        }
        Format::Json => {
            let doc = serde_json::json!({"format_version": 1, "okta_url": target, "ok": all_ok, "checks": checks});
            let mut s = serde_json::to_string_pretty(&doc)?;
            s.push('\n');
            s
        }
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(if all_ok { Exit::Success } else { Exit::Failure })
}

/// Runs every probe; after an unreachable domain or a refused credential the rest are skipped.
pub async fn probe(api: &dyn OktaApi) -> Vec<Check> {
    let mut checks = Vec::new();
    let users = api.list_users(Some(&format!(r#"id eq "{NO_USER}""#))).await;
    match &users {
        Err(e @ (OktaError::Transport { .. } | OktaError::Setup(_))) => {
            checks.push(check("domain reachable", Verdict::Failed, e.to_string()));
            return skip_rest(
                checks,
                &[
                    "credential valid",
                    "users read",
                    "groups read",
                    "schemas read",
                    "groups manage",
                ],
            );
        }
        _ => checks.push(check(
            "domain reachable",
            Verdict::Ok,
            "Okta answered".into(),
        )),
    }
    match &users {
        Err(e) if e.is_unauthorized() || matches!(e, OktaError::OAuth { .. }) => {
            checks.push(check("credential valid", Verdict::Failed, e.to_string()));
            return skip_rest(
                checks,
                &["users read", "groups read", "schemas read", "groups manage"],
            );
        }
        _ => checks.push(check("credential valid", Verdict::Ok, "accepted".into())),
    }
    checks.push(read_verdict(
        "users read",
        users.map(|_| ()),
        "okta.users.read",
    ));
    let groups = api
        .list_groups(&GroupQuery {
            filter: Some(format!(r#"id eq "{NO_GROUP}""#)),
            limit: Some(1),
            ..GroupQuery::default()
        })
        .await;
    checks.push(read_verdict(
        "groups read",
        groups.map(|_| ()),
        "okta.groups.read",
    ));
    checks.push(read_verdict(
        "schemas read",
        api.user_schema().await.map(|_| ()),
        "okta.schemas.read",
    ));
    let manage = match api.remove_member(NO_GROUP, NO_USER).await {
        Err(e) if e.is_not_found() => check(
            "groups manage",
            Verdict::Ok,
            "allowed (probe answered 404 as expected)".into(),
        ),
        Err(e) if e.is_forbidden() => check(
            "groups manage",
            Verdict::Missing,
            missing("okta.groups.manage", &e),
        ),
        Ok(()) => check("groups manage", Verdict::Ok, "allowed".into()),
        Err(e) => check("groups manage", Verdict::Failed, e.to_string()),
    };
    checks.push(manage);
    checks
}

fn check(name: &'static str, verdict: Verdict, detail: String) -> Check {
    Check {
        check: name,
        verdict,
        detail,
    }
}

fn missing(scope: &str, e: &OktaError) -> String {
    format!("Okta refused it (403): grant {scope} (OAuth scope or admin role permission): {e}")
}

fn read_verdict(name: &'static str, r: Result<(), OktaError>, scope: &str) -> Check {
    match r {
        Ok(()) => check(name, Verdict::Ok, "allowed".into()),
        Err(e) if e.is_forbidden() => check(name, Verdict::Missing, missing(scope, &e)),
        Err(e) => check(name, Verdict::Failed, e.to_string()),
    }
}

fn skip_rest(mut checks: Vec<Check>, rest: &[&'static str]) -> Vec<Check> {
    checks.extend(
        rest.iter()
            .map(|n| check(n, Verdict::Skipped, "not checked".into())),
    );
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_permission_ok_on_the_emulator_and_nothing_changes() {
        let emu = crate::sim::Emulator::from_yaml(
            "users:\n  - profile: {login: a@x.com, email: a@x.com, firstName: A, lastName: A}\ngroups:\n  - profile: {name: g}\n    members: [a@x.com]\n",
        )
        .unwrap();
        let before = (
            emu.users(),
            emu.groups(),
            emu.member_logins(&emu.groups()[0].id),
        );
        let checks = probe(&emu).await;
        assert!(
            checks.iter().all(|c| c.verdict == Verdict::Ok),
            "{checks:?}"
        );
        assert_eq!(checks.len(), 6);
        assert_eq!(
            before,
            (
                emu.users(),
                emu.groups(),
                emu.member_logins(&emu.groups()[0].id)
            )
        );
    }
}
