//! The HTTP face's protocol: pagination and Link headers, DEPROVISIONED hiding, search, q, auth and
//! scopes, OAuth private_key_jwt, Okta's error bodies, rate limits, the concurrency cap, faults, counters.

use std::time::Duration;

use dyngroups::sim::faults::Faults;
use dyngroups::sim::ratelimit::{BucketLimits, RateProfile};
use dyngroups::sim::server::ServerOptions;
use serde_json::{Value, json};

use super::{call, link_lines, many_users, next_link};
use crate::support::{SMALL_ORG, emulator, serve, serve_with};

const TOKEN: Option<&str> = Some("emulator-token");

#[tokio::test]
async fn pagination_follows_okta_link_headers() {
    let emu = emulator(&many_users(25));
    let s = serve(&emu).await;
    let (st, h, body) = call("GET", &format!("{}/api/v1/users", s.base_url), TOKEN, None).await;
    assert_eq!(st, 200);
    assert_eq!(body.as_array().unwrap().len(), 25);
    assert_eq!(
        link_lines(&h),
        vec![format!(
            "<{}/api/v1/users?limit=200>; rel=\"self\"",
            s.base_url
        )]
    );

    let mut url = format!(
        "{}/api/v1/users?limit=4&search=status+eq+%22ACTIVE%22",
        s.base_url
    );
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (st, h, body) = call("GET", &url, TOKEN, None).await;
        assert_eq!(st, 200);
        pages += 1;
        let lines = link_lines(&h);
        assert!(lines[0].ends_with("rel=\"self\""), "{lines:?}");
        assert!(
            lines[0].contains("?limit=4&search=status+eq+%22ACTIVE%22")
                || lines[0].contains("?after="),
            "{lines:?}"
        );
        for u in body.as_array().unwrap() {
            seen.push(u["profile"]["login"].as_str().unwrap().to_string());
            assert_eq!(
                u["_links"]["self"]["href"],
                format!("{}/api/v1/users/{}", s.base_url, u["id"].as_str().unwrap())
            );
        }
        match next_link(&h) {
            Some(n) => {
                assert_eq!(lines.len(), 2);
                assert!(
                    n.starts_with(&format!("{}/api/v1/users?after=", s.base_url)),
                    "{n}"
                );
                assert!(n.contains("&limit=4&search="), "{n}");
                url = n;
            }
            None => break,
        }
    }
    assert_eq!(pages, 7);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 25);

    // Groups: default limit explicit; q has no Link at all.
    let (_, h, _) = call("GET", &format!("{}/api/v1/groups", s.base_url), TOKEN, None).await;
    assert_eq!(
        link_lines(&h),
        vec![format!(
            "<{}/api/v1/groups?limit=10000>; rel=\"self\"",
            s.base_url
        )]
    );
    let (_, h, _) = call(
        "GET",
        &format!("{}/api/v1/groups?q=dep", s.base_url),
        TOKEN,
        None,
    )
    .await;
    assert!(link_lines(&h).is_empty());
}

#[tokio::test]
async fn users_groups_and_members_with_okta_semantics() {
    let emu = emulator(SMALL_ORG);
    let s = serve(&emu).await;
    let b = &s.base_url;
    let logins = |v: &Value| -> Vec<String> {
        let mut l: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["profile"]["login"].as_str().unwrap().to_string())
            .collect();
        l.sort();
        l
    };
    let (_, _, plain) = call("GET", &format!("{b}/api/v1/users"), TOKEN, None).await;
    assert_eq!(logins(&plain), vec!["ana@example.com", "bo@example.com"]);
    let (_, _, all) = call(
        "GET",
        &format!("{b}/api/v1/users?search=status+pr"),
        TOKEN,
        None,
    )
    .await;
    assert_eq!(all.as_array().unwrap().len(), 3);
    let (_, _, f) = call(
        "GET",
        &format!("{b}/api/v1/users?filter=status+eq+%22DEPROVISIONED%22"),
        TOKEN,
        None,
    )
    .await;
    assert_eq!(logins(&f), vec!["cy@example.com"]);
    let q = r#"(profile.department eq "engineering" or profile.skills eq "excel") and lastUpdated gt "2000-01-01T00:00:00.000Z""#;
    let url =
        reqwest::Url::parse_with_params(&format!("{b}/api/v1/users"), &[("search", q)]).unwrap();
    let (_, _, s1) = call("GET", url.as_str(), TOKEN, None).await;
    assert_eq!(
        logins(&s1),
        vec!["ana@example.com", "bo@example.com", "cy@example.com"]
    );
    let url = reqwest::Url::parse_with_params(
        &format!("{b}/api/v1/users"),
        &[("search", r#"lastUpdated lt "2000-01-01T00:00:00.000Z""#)],
    )
    .unwrap();
    let (_, _, none) = call("GET", url.as_str(), TOKEN, None).await;
    assert_eq!(none, json!([]));
    let (st, _, e) = call(
        "GET",
        &format!("{b}/api/v1/users?filter=status+ne+%22ACTIVE%22"),
        TOKEN,
        None,
    )
    .await;
    assert_eq!((st, e["errorCode"].as_str()), (400, Some("E0000031")));
    let (_, _, q) = call("GET", &format!("{b}/api/v1/users?q=c"), TOKEN, None).await;
    assert_eq!(q, json!([]), "q hides DEPROVISIONED users");
    let (st, _, u) = call(
        "GET",
        &format!("{b}/api/v1/users/ana%40example.com"),
        TOKEN,
        None,
    )
    .await;
    assert_eq!(st, 200);
    let ana = u["id"].as_str().unwrap().to_string();

    // Create, duplicate, member add/remove, type rules.
    let (st, _, g) = call(
        "POST",
        &format!("{b}/api/v1/groups"),
        TOKEN,
        Some(&json!({"profile": {"name": "department_engineering", "description": "x"}})),
    )
    .await;
    assert_eq!(st, 200);
    let gid = g["id"].as_str().unwrap().to_string();
    let (st, _, e) = call(
        "POST",
        &format!("{b}/api/v1/groups"),
        TOKEN,
        Some(&json!({"profile": {"name": "department_engineering"}})),
    )
    .await;
    assert_eq!((st, e["errorCode"].as_str()), (400, Some("E0000001")));
    for k in [
        "errorCode",
        "errorSummary",
        "errorLink",
        "errorId",
        "errorCauses",
    ] {
        assert!(e.get(k).is_some(), "{k} in {e}");
    }
    let (st, _, body) = call(
        "PUT",
        &format!("{b}/api/v1/groups/{gid}/users/{ana}"),
        TOKEN,
        None,
    )
    .await;
    assert_eq!((st, body), (204, Value::Null));
    let (st, _, _) = call(
        "PUT",
        &format!("{b}/api/v1/groups/{gid}/users/{ana}"),
        TOKEN,
        None,
    )
    .await;
    assert_eq!(st, 204);
    let (_, h, m) = call(
        "GET",
        &format!("{b}/api/v1/groups/{gid}/users"),
        TOKEN,
        None,
    )
    .await;
    assert_eq!(logins(&m), vec!["ana@example.com"]);
    assert_eq!(
        link_lines(&h),
        vec![format!(
            "<{b}/api/v1/groups/{gid}/users?limit=1000>; rel=\"self\""
        )]
    );
    let (st, _, e) = call(
        "PUT",
        &format!("{b}/api/v1/groups/{gid}/users/00unknown"),
        TOKEN,
        None,
    )
    .await;
    assert_eq!((st, e["errorCode"].as_str()), (404, Some("E0000007")));
    assert!(e["errorSummary"].as_str().unwrap().ends_with("(User)"));
    let (st, _, e) = call("GET", &format!("{b}/api/v1/groups/00gunknown"), TOKEN, None).await;
    assert!(st == 404 && e["errorSummary"].as_str().unwrap().ends_with("(UserGroup)"));
    let (st, _, _) = call(
        "DELETE",
        &format!("{b}/api/v1/groups/{gid}/users/{ana}"),
        TOKEN,
        None,
    )
    .await;
    assert_eq!(st, 204);
    let (_, _, groups) = call(
        "GET",
        &format!("{b}/api/v1/groups?filter=type+eq+%22APP_GROUP%22"),
        TOKEN,
        None,
    )
    .await;
    let app = groups[0]["id"].as_str().unwrap().to_string();
    let (st, _, e) = call(
        "PUT",
        &format!("{b}/api/v1/groups/{app}/users/{ana}"),
        TOKEN,
        None,
    )
    .await;
    assert_eq!((st, e["errorCode"].as_str()), (403, Some("E0000006")));
    let (_, _, bi) = call(
        "GET",
        &format!("{b}/api/v1/groups?search=type+eq+%22BUILT_IN%22&expand=stats"),
        TOKEN,
        None,
    )
    .await;
    assert_eq!(bi[0]["_embedded"]["stats"]["usersCount"], 3);
    let everyone = bi[0]["id"].as_str().unwrap().to_string();
    let (st, _, _) = call(
        "DELETE",
        &format!("{b}/api/v1/groups/{everyone}"),
        TOKEN,
        None,
    )
    .await;
    assert_eq!(st, 403);
    let (st, _, found) = call(
        "GET",
        &format!("{b}/api/v1/groups?search=profile.name+eq+%22department_sales%22"),
        TOKEN,
        None,
    )
    .await;
    assert_eq!((st, found.as_array().unwrap().len()), (200, 1));

    // Profile update and lifecycle through Okta's endpoints.
    let (st, _, u) = call(
        "POST",
        &format!("{b}/api/v1/users/{ana}"),
        TOKEN,
        Some(&json!({"profile": {"department": "Legal"}})),
    )
    .await;
    assert_eq!(
        (st, u["profile"]["department"].as_str()),
        (200, Some("Legal"))
    );
    let (st, _, _) = call(
        "POST",
        &format!("{b}/api/v1/users/{ana}/lifecycle/suspend"),
        TOKEN,
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(emu.user(&ana).unwrap().status.as_str(), "SUSPENDED");
    let (st, _, nu) = call("POST", &format!("{b}/api/v1/users?activate=false"), TOKEN, Some(&json!({"profile": {"login": "dee@example.com", "email": "dee@example.com", "firstName": "Dee", "lastName": "Ø"}}))).await;
    assert_eq!((st, nu["status"].as_str()), (200, Some("STAGED")));

    // Logs name the actor and filter by event type.
    let (st, h, logs) = call("GET", &format!("{b}/api/v1/logs?filter=eventType+eq+%22group.user_membership.add%22&since=2000-01-01T00:00:00.000Z"), TOKEN, None).await;
    assert_eq!(st, 400, "since over 180 days is refused: {logs}");
    let (st, h2, logs) = call(
        "GET",
        &format!("{b}/api/v1/logs?filter=eventType+eq+%22group.user_membership.add%22"),
        TOKEN,
        None,
    )
    .await;
    assert_eq!(st, 200);
    let _ = h;
    assert_eq!(logs.as_array().unwrap().len(), 1);
    assert_eq!(logs[0]["actor"]["alternateId"], "admin@emulator.invalid");
    assert!(
        next_link(&h2).is_some(),
        "polling queries always have a next link"
    );

    // Unknown paths and methods.
    let (st, _, e) = call("GET", &format!("{b}/api/v1/nothing"), TOKEN, None).await;
    assert_eq!((st, e["errorCode"].as_str()), (404, Some("E0000008")));
    let (st, _, e) = call("PATCH", &format!("{b}/api/v1/groups"), TOKEN, None).await;
    assert_eq!((st, e["errorCode"].as_str()), (405, Some("E0000022")));
}

#[tokio::test]
async fn tokens_scopes_and_oauth() {
    let mut seed = SMALL_ORG.to_string();
    seed.push_str(&format!(
        "oauth_clients:\n  - client_id: 0oa1service\n    scopes: [okta.groups.read, okta.users.read]\n    public_key_pem: |\n{}",
        EC_PUBLIC.lines().map(|l| format!("      {l}\n")).collect::<String>()
    ));
    let emu = emulator(&seed);
    let s = serve(&emu).await;
    let b = &s.base_url;
    let (st, h, e) = call("GET", &format!("{b}/api/v1/groups"), Some("wrong"), None).await;
    assert_eq!((st, e["errorCode"].as_str()), (401, Some("E0000011")));
    assert!(
        h.get("x-rate-limit-limit").is_some()
            && h.get("x-okta-request-id").is_some()
            && h.get("date").is_some()
    );
    let (st, _, _) = call("GET", &format!("{b}/api/v1/groups"), None, None).await;
    assert_eq!(st, 401);
    let (st, _, _) = call(
        "GET",
        &format!("{b}/api/v1/groups"),
        Some("read-only-token"),
        None,
    )
    .await;
    assert_eq!(st, 200);
    let (st, _, e) = call(
        "POST",
        &format!("{b}/api/v1/groups"),
        Some("read-only-token"),
        Some(&json!({"profile": {"name": "x"}})),
    )
    .await;
    assert_eq!((st, e["errorCode"].as_str()), (403, Some("E0000006")));
    let (st, _, _) = call(
        "GET",
        &format!("{b}/api/v1/logs"),
        Some("read-only-token"),
        None,
    )
    .await;
    assert_eq!(st, 403);

    // private_key_jwt.
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"iss": "0oa1service", "sub": "0oa1service", "aud": format!("{b}/oauth2/v1/token"),
                        "iat": now, "exp": now + 300, "jti": "j1"});
    let key = jsonwebtoken::EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes()).unwrap();
    let jwt = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
        &claims,
        &key,
    )
    .unwrap();
    let form = |scope: &str, jwt: &str| {
        vec![
            ("grant_type".to_string(), "client_credentials".to_string()),
            ("scope".into(), scope.into()),
            (
                "client_assertion_type".into(),
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
            ),
            ("client_assertion".into(), jwt.into()),
        ]
    };
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{b}/oauth2/v1/token"))
        .form(&form("okta.groups.read", &jwt))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let tok: dyngroups::okta::model::TokenResponse = r.json().await.unwrap();
    assert_eq!(
        (tok.token_type.as_str(), tok.expires_in, tok.scope.as_str()),
        ("Bearer", 3600, "okta.groups.read")
    );
    let r = client
        .get(format!("{b}/api/v1/groups"))
        .bearer_auth(&tok.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .get(format!("{b}/api/v1/users"))
        .bearer_auth(&tok.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "scope not granted to this token");
    let r = client
        .post(format!("{b}/oauth2/v1/token"))
        .form(&form("okta.groups.manage", &jwt))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e: dyngroups::okta::model::OAuthErrorBody = r.json().await.unwrap();
    assert_eq!(e.error, "invalid_scope");
    let forged = format!("{}x", &jwt[..jwt.len() - 2]);
    let r = client
        .post(format!("{b}/oauth2/v1/token"))
        .form(&form("okta.groups.read", &forged))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn rate_limits_concurrency_faults_and_counters() {
    let emu = emulator(SMALL_ORG);
    let mut limits = BucketLimits::uniform(3);
    limits.concurrency = Some(2);
    let s = serve_with(
        &emu,
        ServerOptions {
            profile: RateProfile::Custom(limits),
            time_scale: 600.0,
            ..Default::default()
        },
    )
    .await;
    let b = &s.base_url;
    let groups = format!("{b}/api/v1/groups");
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let (st, h, _) = call("GET", &groups, TOKEN, None).await;
        assert_eq!(st, 200);
        remaining.push(h["x-rate-limit-remaining"].to_str().unwrap().to_string());
        assert_eq!(h["x-rate-limit-limit"], "3");
    }
    assert_eq!(remaining, vec!["2", "1", "0"]);
    // Memberships share the groups bucket.
    let ana = emu.user("ana@example.com").unwrap().id;
    let gid = emu.group_by_name("department_sales").unwrap().id;
    let (st, h, e) = call("PUT", &format!("{groups}/{gid}/users/{ana}"), TOKEN, None).await;
    assert_eq!((st, e["errorCode"].as_str()), (429, Some("E0000047")));
    assert!(h.get("retry-after").is_none() && h.get("date").is_some());
    let reset: u64 = h["x-rate-limit-reset"].to_str().unwrap().parse().unwrap();
    let date = httpdate::parse_http_date(h["date"].to_str().unwrap()).unwrap();
    let date = date
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        reset >= date && reset <= date + 2,
        "reset {reset} date {date}"
    );
    // The group-by-id bucket is separate.
    let (st, _, _) = call("GET", &format!("{groups}/{gid}"), TOKEN, None).await;
    assert_eq!(st, 200);
    tokio::time::sleep(s.window() + Duration::from_millis(20)).await;
    let (st, h, _) = call("GET", &groups, TOKEN, None).await;
    assert_eq!(
        (st, h["x-rate-limit-remaining"].to_str().unwrap()),
        (200, "2")
    );
    assert_eq!(s.counters().rate_limited, 1);
    assert!(s.counters().by_bucket["groups"] >= 5);
    assert!(
        s.counters()
            .by_endpoint
            .contains_key("PUT /api/v1/groups/{id}/users/{userId}")
    );

    // Concurrency: two in flight at most.
    s.set_faults(Faults {
        latency_ms: 300,
        ..Default::default()
    });
    let url = format!("{b}/api/v1/meta/schemas/user/default");
    let calls: Vec<_> = (0..3)
        .map(|_| {
            tokio::spawn({
                let u = url.clone();
                async move { call("GET", &u, TOKEN, None).await }
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for c in calls {
        let (st, h, _) = c.await.unwrap();
        if st == 429 {
            assert_eq!(
                (
                    h["x-rate-limit-limit"].to_str().unwrap(),
                    h["x-rate-limit-remaining"].to_str().unwrap()
                ),
                ("0", "0")
            );
        }
        statuses.push(st);
    }
    statuses.sort();
    assert_eq!(statuses, vec![200, 200, 429]);
    assert_eq!(s.counters().concurrency_limited, 1);

    // Faults switch on and off while running.
    s.set_faults(Faults {
        error_rate: 1.0,
        error_status: 503,
        ..Default::default()
    });
    let (st, _, e) = call("GET", &format!("{b}/api/v1/users/{ana}"), TOKEN, None).await;
    assert_eq!((st, e["errorCode"].as_str()), (503, Some("E0000009")));
    s.set_faults(Faults {
        drop_rate: 1.0,
        ..Default::default()
    });
    let dropped = reqwest::Client::new()
        .get(format!("{b}/api/v1/users/{ana}"))
        .header("authorization", "SSWS emulator-token")
        .send()
        .await;
    assert!(
        dropped.is_err(),
        "the connection is closed without an answer"
    );
    s.set_faults(Faults {
        fail_nth: Some(2),
        ..Default::default()
    });
    let (st1, _, _) = call("GET", &format!("{b}/api/v1/users/{ana}"), TOKEN, None).await;
    let (st2, _, _) = call("GET", &format!("{b}/api/v1/users/{ana}"), TOKEN, None).await;
    let (st3, _, _) = call("GET", &format!("{b}/api/v1/users/{ana}"), TOKEN, None).await;
    assert_eq!((st1, st2, st3), (200, 429, 200));
    // Out of process: the admin endpoints.
    let (st, _, _) = call(
        "PUT",
        &format!("{b}/_sim/faults"),
        None,
        Some(&json!({"error_rate": 1.0})),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(s.faults().error_rate, 1.0);
    let (st, _, _) = call("DELETE", &format!("{b}/_sim/faults"), None, None).await;
    assert_eq!(st, 204);
    let (st, _, _) = call("GET", &format!("{b}/api/v1/users/{ana}"), TOKEN, None).await;
    assert_eq!(st, 200);
    let (_, _, counters) = call("GET", &format!("{b}/_sim/counters"), None, None).await;
    assert_eq!(counters["injected_5xx"], 1);
    assert_eq!(counters["dropped"], 1);
    assert_eq!(counters["injected_429"], 1);
}

const EC_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQggwdLjhSQX0PO8AqI
PLCsKVPbAqzu1g09G16iUFhskTShRANCAATCd0ig0ELWjwCH5jHTSEuGoSXn2iIH
z0LUiZwtEa/H9HqAlDxp+2bLBl25X4oJ4TavPK1vfoIgjGmxR7VOV30q
-----END PRIVATE KEY-----
";

const EC_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEwndIoNBC1o8Ah+Yx00hLhqEl59oi
B89C1ImcLRGvx/R6gJQ8aftmywZduV+KCeE2rzytb36CIIxpsUe1Tld9Kg==
-----END PUBLIC KEY-----
";
