//! Integration tests: sim. The emulator's Okta semantics in memory and over HTTP, and its fidelity to
//! Okta (the Python SDK, the OpenAPI description, recorded responses).

mod cli;
mod inmemory;
mod openapi;
mod protocol;
mod recorded;
mod sdk;

use reqwest::header::HeaderMap;
use serde_json::Value;

/// A GET/PUT/... with a token, returning status, headers and JSON body (Null when empty).
pub async fn call(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, HeaderMap, Value) {
    dyngroups::tls::install_crypto_provider();
    let client = reqwest::Client::new();
    let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut rb = client.request(m, url);
    if let Some(t) = token {
        rb = rb.header("authorization", format!("SSWS {t}"));
    }
    if let Some(b) = body {
        rb = rb.json(b);
    }
    let resp = rb.send().await.expect("request reaches the emulator");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("JSON body")
    };
    (status, headers, json)
}

/// The `Link` header lines, in order.
pub fn link_lines(h: &HeaderMap) -> Vec<String> {
    h.get_all("link")
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_string())
        .collect()
}

/// The URL of the `rel="next"` link, if any.
pub fn next_link(h: &HeaderMap) -> Option<String> {
    link_lines(h)
        .into_iter()
        .find(|l| l.ends_with("rel=\"next\""))
        .and_then(|l| {
            let start = l.find('<')? + 1;
            let end = l.find('>')?;
            Some(l[start..end].to_string())
        })
}

/// A seed with `n` ACTIVE users u0..u{n-1}@example.com.
pub fn many_users(n: usize) -> String {
    let mut s = String::from("users:\n");
    for i in 0..n {
        s.push_str(&format!(
            "  - profile: {{login: u{i}@example.com, email: u{i}@example.com, firstName: U{i}, lastName: Test, department: {}}}\n",
            if i % 2 == 0 { "Engineering" } else { "\"R&D\"" }
        ));
    }
    s
}
