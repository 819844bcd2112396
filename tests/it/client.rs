//! Integration tests: client. Every recorded Okta response body parses into the client's types; the client
//! against the emulator over HTTP (pagination, 429, 5xx, dropped connections, auth failures, OAuth).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dyngroups::okta::client::pages;
use dyngroups::okta::client::retry::{
    self, Attempts, Decision, Outcome, RateHeaders, RetryPolicy, RetryReason,
};
use dyngroups::okta::model::{
    ErrorBody, Group, GroupType, OAuthErrorBody, TokenResponse, User, UserSchema,
};
use serde_yaml::Value as Yaml;

fn recorded_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/okta/recorded");
    dir.is_dir().then_some(dir)
}

/// One recorded exchange, from either cassette format (go-vcr v2 or vcrpy).
#[derive(Debug)]
struct Exchange {
    file: String,
    method: String,
    url: String,
    status: u16,
    body: String,
    headers: Vec<(String, String)>,
}

fn yaml_str(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn headers_of(v: &Yaml) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Yaml::Mapping(m) = v {
        for (k, v) in m {
            let Some(name) = yaml_str(k) else { continue };
            match v {
                Yaml::Sequence(vals) => {
                    out.extend(vals.iter().filter_map(yaml_str).map(|s| (name.clone(), s)))
                }
                other => out.extend(yaml_str(other).map(|s| (name.clone(), s))),
            }
        }
    }
    out
}

fn read_cassette(path: &Path) -> Vec<Exchange> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc: Yaml =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file = path.file_name().unwrap().to_string_lossy().to_string();
    let mut out = Vec::new();
    for i in doc["interactions"]
        .as_sequence()
        .cloned()
        .unwrap_or_default()
    {
        let req = &i["request"];
        let resp = &i["response"];
        let url = yaml_str(&req["url"])
            .or_else(|| yaml_str(&req["uri"]))
            .unwrap_or_default();
        let method = yaml_str(&req["method"]).unwrap_or_default();
        // go-vcr: response.code + response.body (string); vcrpy: response.status.code + response.body.string
        let status = resp["code"]
            .as_u64()
            .or_else(|| resp["status"]["code"].as_u64())
            .unwrap_or(0) as u16;
        let body = match &resp["body"] {
            Yaml::String(s) => s.clone(),
            b => yaml_str(&b["string"]).unwrap_or_default(),
        };
        out.push(Exchange {
            file: file.clone(),
            method,
            url,
            status,
            body,
            headers: headers_of(&resp["headers"]),
        });
    }
    out
}

fn all_exchanges() -> Option<Vec<Exchange>> {
    let dir = recorded_dir()?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    Some(files.iter().flat_map(|f| read_cassette(f)).collect())
}

fn path_segments(url: &str) -> Vec<String> {
    let parsed = url::Url::parse(url).unwrap();
    parsed
        .path_segments()
        .map(|s| s.map(str::to_string).collect())
        .unwrap_or_default()
}

/// Parses `body` as `T`, with the cassette and URL in the failure message.
fn parse<T: serde::de::DeserializeOwned>(x: &Exchange) -> T {
    serde_json::from_str(&x.body).unwrap_or_else(|e| {
        panic!(
            "{}: {} {} ({}) does not parse as {}: {e}",
            x.file,
            x.method,
            x.url,
            x.status,
            std::any::type_name::<T>()
        )
    })
}

#[test]
fn every_recorded_body_of_our_endpoints_parses_into_the_client_types() {
    let Some(exchanges) = all_exchanges() else {
        println!("skipping: ../shared not found (../shared/okta/recorded)");
        return;
    };
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut users: Vec<User> = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    for x in &exchanges {
        // Only JSON bodies; the DPoP cassettes' placeholders and empty 204s are not.
        if serde_json::from_str::<serde_json::Value>(&x.body).is_err() {
            continue;
        }
        let segs = path_segments(&x.url);
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let ok = (200..300).contains(&x.status);
        if !ok {
            if segs.first() == Some(&"oauth2") {
                let e: OAuthErrorBody = parse(x);
                assert!(!e.error.is_empty());
                *counts.entry("oauth_error").or_default() += 1;
            } else {
                let e: ErrorBody = parse(x);
                assert!(e.error_code.starts_with('E'), "{}: {:?}", x.file, e);
                assert!(!e.error_summary.is_empty());
                *counts.entry("error").or_default() += 1;
            }
            continue;
        }
        match (x.method.as_str(), segs.as_slice()) {
            ("GET", ["api", "v1", "users"]) | ("GET", ["api", "v1", "groups", _, "users"]) => {
                let page: Vec<User> = parse(x);
                *counts.entry("user_page").or_default() += 1;
                users.extend(page);
            }
            ("GET" | "POST", ["api", "v1", "users", _]) | ("POST", ["api", "v1", "users"]) => {
                if x.body.trim() != "{}" {
                    users.push(parse(x));
                    *counts.entry("user").or_default() += 1;
                }
            }
            ("GET", ["api", "v1", "groups"]) | ("GET", ["api", "v1", "users", _, "groups"]) => {
                let page: Vec<Group> = parse(x);
                *counts.entry("group_page").or_default() += 1;
                groups.extend(page);
            }
            ("POST", ["api", "v1", "groups"]) | ("GET" | "PUT", ["api", "v1", "groups", _]) => {
                groups.push(parse(x));
                *counts.entry("group").or_default() += 1;
            }
            ("GET" | "POST", ["api", "v1", "meta", "schemas", "user", _]) => {
                let schema: UserSchema = parse(x);
                assert!(
                    schema.definitions.base.properties.contains_key("login"),
                    "{}",
                    x.file
                );
                *counts.entry("schema").or_default() += 1;
            }
            ("POST", ["oauth2", "v1", "token"]) => {
                let t: TokenResponse = parse(x);
                assert_eq!(t.expires_in, 3600);
                *counts.entry("token").or_default() += 1;
            }
            _ => {}
        }
    }
    println!("parsed: {counts:?}");
    for kind in [
        "user_page",
        "user",
        "group_page",
        "group",
        "schema",
        "error",
        "oauth_error",
        "token",
    ] {
        assert!(
            counts.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} found in the recordings"
        );
    }
    // users with custom attributes, incl. an array one
    assert!(
        users
            .iter()
            .any(|u| u.profile.values().any(|v| v.is_array())),
        "no user with an array attribute parsed"
    );
    assert!(
        users
            .iter()
            .any(|u| u.profile.get("number123").is_some_and(|v| v.is_number()))
    );
    // groups of each type
    for t in [GroupType::OktaGroup, GroupType::BuiltIn] {
        assert!(
            groups.iter().any(|g| g.group_type == t),
            "no {t:?} group parsed"
        );
    }
    assert!(
        groups.iter().any(|g| g.profile.description.is_none()),
        "a null description parses as None"
    );
}

#[test]
fn recorded_link_headers_parse_in_both_forms() {
    let Some(exchanges) = all_exchanges() else {
        println!("skipping: ../shared not found (../shared/okta/recorded)");
        return;
    };
    let mut nexts = 0;
    for x in &exchanges {
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in &x.headers {
            if k.eq_ignore_ascii_case("link") {
                headers.append(reqwest::header::LINK, v.parse().unwrap());
            }
        }
        if let Some(next) = pages::next_link(&headers) {
            let url = url::Url::parse(&next).unwrap();
            assert!(
                url.query().unwrap_or_default().contains("after="),
                "{}: {next}",
                x.file
            );
            nexts += 1;
        }
    }
    assert!(
        nexts >= 3,
        "expected several recorded next links, found {nexts}"
    );
    // the comma-joined form (as one HAR shows it for /api/v1/logs)
    let joined = "<https://acme.okta.com/api/v1/logs?limit=2>; rel=\"self\", \
                  <https://acme.okta.com/api/v1/logs?after=1658862453660_1&limit=2>; rel=\"next\"";
    let mut headers = reqwest::header::HeaderMap::new();
    headers.append(reqwest::header::LINK, joined.parse().unwrap());
    assert_eq!(
        pages::next_link(&headers).as_deref(),
        Some("https://acme.okta.com/api/v1/logs?after=1658862453660_1&limit=2")
    );
}

#[test]
fn the_recorded_429_waits_reset_minus_date_plus_one_second() {
    let Some(exchanges) = all_exchanges() else {
        println!("skipping: ../shared not found (../shared/okta/recorded)");
        return;
    };
    let x = exchanges
        .iter()
        .find(|x| x.status == 429)
        .expect("a recorded 429");
    let mut headers = reqwest::header::HeaderMap::new();
    for (k, v) in &x.headers {
        if let (Ok(name), Ok(value)) = (
            reqwest::header::HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()),
            v.parse::<reqwest::header::HeaderValue>(),
        ) {
            headers.append(name, value);
        }
    }
    let rate = RateHeaders::from_headers(&headers);
    let (reset, date) = (rate.reset.unwrap(), rate.date.unwrap());
    let body: ErrorBody = parse(x);
    assert_eq!(body.error_code, "E0000047");
    let d = retry::decide(
        &RetryPolicy::default(),
        Attempts {
            failures: 0,
            rate_limited: 1,
        },
        true,
        Outcome::Response { status: 429, rate },
        0.5,
    );
    assert_eq!(
        d,
        Decision::Retry {
            after: std::time::Duration::from_secs((reset - date) as u64 + 1),
            reason: RetryReason::RateLimited
        }
    );
}
