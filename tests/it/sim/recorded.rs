//! Shapes of responses recorded from real Okta orgs (`../shared/okta/recorded/`, go-vcr and vcrpy
//! cassettes) are reproduced by the emulator: for every endpoint we serve, field names, JSON types and
//! headers are compared with the emulator's answer to the same kind of request.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::call;
use crate::support::{SMALL_ORG, emulator, serve, shared_dir};

struct Recorded {
    file: String,
    method: String,
    path: String,
    status: u16,
    headers: BTreeSet<String>,
    body: Option<Value>,
}

fn load(dir: &std::path::Path) -> Vec<Recorded> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    files.sort();
    for f in files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
    {
        let text = std::fs::read_to_string(&f).unwrap();
        let doc: Value =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for i in doc["interactions"].as_array().into_iter().flatten() {
            let req = &i["request"];
            let resp = &i["response"];
            let url = req["uri"]
                .as_str()
                .or_else(|| req["url"].as_str())
                .unwrap_or_default();
            let Ok(url) = url::Url::parse(url) else {
                continue;
            };
            let status = resp["status"]["code"]
                .as_u64()
                .or_else(|| resp["code"].as_u64())
                .unwrap_or(0) as u16;
            let body_text = resp["body"]["string"]
                .as_str()
                .or_else(|| resp["body"].as_str())
                .unwrap_or_default();
            let headers = resp["headers"]
                .as_object()
                .map(|h| h.keys().map(|k| k.to_ascii_lowercase()).collect())
                .unwrap_or_default();
            out.push(Recorded {
                file: f.file_name().unwrap().to_string_lossy().into_owned(),
                method: req["method"].as_str().unwrap_or_default().to_string(),
                path: url.path().to_string(),
                status,
                headers,
                body: serde_json::from_str(body_text).ok(),
            });
        }
    }
    out
}

/// `/api/v1/groups/00g…/users` -> `/api/v1/groups/{id}/users`.
fn template(path: &str) -> String {
    path.split('/')
        .map(|s| {
            if (s.starts_with("00") && s.len() >= 15) || s.contains('@') {
                "{id}"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Fields that depend on the org's data or features, not on the API's shape.
fn data_dependent(path: &str) -> bool {
    let p = path.trim_start_matches("[].");
    (p.starts_with("profile.")
        && !matches!(
            p,
            "profile.login"
                | "profile.email"
                | "profile.firstName"
                | "profile.lastName"
                | "profile.name"
                | "profile.description"
        ))
        || p.starts_with("definitions.custom.properties.")
        || p.starts_with("_links.")
            && !matches!(
                p,
                "_links.self" | "_links.users" | "_links.apps" | "_links.logo"
            )
        || matches!(
            p,
            "realmId"
                | "credentials.emails"
                | "credentials.password"
                | "credentials.recovery_question"
                | "transitioningToStatus"
                | "source"
        )
}

fn compare(rec: &Value, emu: &Value, path: &str, out: &mut Vec<String>) {
    if rec.is_null() || emu.is_null() {
        return;
    }
    if kind(rec) != kind(emu) {
        out.push(format!(
            "{path}: recorded {} but emulator {}",
            kind(rec),
            kind(emu)
        ));
        return;
    }
    match (rec, emu) {
        (Value::Object(r), Value::Object(e)) => {
            for (k, rv) in r {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if data_dependent(&p) {
                    continue;
                }
                match e.get(k) {
                    Some(ev) => compare(rv, ev, &p, out),
                    None if rv.is_null() => {}
                    None => out.push(format!("{p}: missing in the emulator's answer")),
                }
            }
        }
        (Value::Array(r), Value::Array(e)) => {
            if let (Some(r0), Some(e0)) = (r.first(), e.first()) {
                compare(r0, e0, &format!("{path}[]"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn recorded_shapes_are_reproduced() {
    let Some(shared) = shared_dir() else {
        println!("skipping: ../shared not found (recorded Okta responses)");
        return;
    };
    let recorded = load(&shared.join("okta/recorded"));
    assert!(recorded.len() > 50, "cassettes loaded: {}", recorded.len());
    let emu = emulator(SMALL_ORG);
    let s = serve(&emu).await;
    let b = &s.base_url;
    let t = Some("emulator-token");
    let ana = emu.user("ana@example.com").unwrap().id;
    let sales = emu.group_by_name("department_sales").unwrap().id;
    // The emulator's answers, one per (method, template, status class).
    let (_, h_users, users) = call("GET", &format!("{b}/api/v1/users?limit=1"), t, None).await;
    let (_, h_user, user) = call("GET", &format!("{b}/api/v1/users/{ana}"), t, None).await;
    let (_, h_groups, groups) = call("GET", &format!("{b}/api/v1/groups"), t, None).await;
    let (_, h_group, group) = call("GET", &format!("{b}/api/v1/groups/{sales}"), t, None).await;
    let (_, h_created, created) = call(
        "POST",
        &format!("{b}/api/v1/groups"),
        t,
        Some(&json!({"profile": {"name": "testAcc_1", "description": "testing"}})),
    )
    .await;
    let (_, h_members, members) =
        call("GET", &format!("{b}/api/v1/groups/{sales}/users"), t, None).await;
    let (_, h_schema, schema) = call(
        "GET",
        &format!("{b}/api/v1/meta/schemas/user/default"),
        t,
        None,
    )
    .await;
    let (_, h_404, not_found) = call(
        "GET",
        &format!("{b}/api/v1/groups/00gmissing0000000000"),
        t,
        None,
    )
    .await;
    let (_, h_put, _) = call(
        "PUT",
        &format!("{b}/api/v1/groups/{sales}/users/{ana}"),
        t,
        None,
    )
    .await;

    let mut problems = Vec::new();
    let mut compared = 0;
    for r in &recorded {
        let tpl = template(&r.path);
        let answer = match (r.method.as_str(), tpl.as_str(), r.status) {
            ("GET", "/api/v1/users", 200) => Some((&users, &h_users)),
            ("GET", "/api/v1/users/{id}", 200) => Some((&user, &h_user)),
            ("GET", "/api/v1/groups", 200) => Some((&groups, &h_groups)),
            ("GET" | "PUT", "/api/v1/groups/{id}", 200) => Some((&group, &h_group)),
            ("POST", "/api/v1/groups", 200) => Some((&created, &h_created)),
            ("GET", "/api/v1/groups/{id}/users", 200) => Some((&members, &h_members)),
            ("GET", "/api/v1/meta/schemas/user/default", 200) => Some((&schema, &h_schema)),
            ("GET", "/api/v1/users/{id}" | "/api/v1/groups/{id}", 404) => {
                Some((&not_found, &h_404))
            }
            ("PUT" | "DELETE", "/api/v1/groups/{id}/users/{id}", 204) => {
                Some((&Value::Null, &h_put))
            }
            _ => None,
        };
        let Some((body, headers)) = answer else {
            continue;
        };
        compared += 1;
        let mut diffs = Vec::new();
        if let Some(rb) = &r.body {
            compare(rb, body, "", &mut diffs);
        }
        for h in [
            "content-type",
            "date",
            "x-okta-request-id",
            "x-rate-limit-limit",
            "x-rate-limit-remaining",
            "x-rate-limit-reset",
            "link",
            "cache-control",
            "expires",
            "pragma",
        ] {
            if r.headers.contains(h)
                && !headers.contains_key(h)
                && !(h == "content-type" && r.status == 204)
            {
                diffs.push(format!("header {h}: missing in the emulator's answer"));
            }
        }
        for d in diffs {
            problems.push(format!(
                "{} {} {} ({}): {d}",
                r.method, tpl, r.status, r.file
            ));
        }
    }
    assert!(
        compared >= 15,
        "only {compared} recorded answers matched an endpoint we serve"
    );
    problems.sort();
    problems.dedup();
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
