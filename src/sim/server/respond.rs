//! Building the emulator's HTTP answers like Okta's: JSON bodies, Okta's error body, `Link` headers
//! (separate `self` and `next` lines, absolute, default limit explicit, `after` first in next), and
//! the headers every Okta response carries.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode};
use serde_json::Value;

use crate::okta::model::OAuthErrorBody;
use crate::sim::error::ApiError;
use crate::sim::ratelimit::Decision;

/// A handler's successful answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Option<Value>,
    pub links: Vec<String>,
}

impl Reply {
    pub fn json(body: Value) -> Reply {
        Reply {
            status: 200,
            body: Some(body),
            links: Vec::new(),
        }
    }

    pub fn no_content() -> Reply {
        Reply {
            status: 204,
            body: None,
            links: Vec::new(),
        }
    }
}

/// `<base><path>?limit=..&params..>; rel="self"` and, with a cursor, the `next` line with `after` first.
pub fn links(
    base: &str,
    path: &str,
    limit: u32,
    params: &[(&str, String)],
    next: Option<&str>,
) -> Vec<String> {
    let query = |after: Option<&str>| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        if let Some(a) = after {
            s.append_pair("after", a);
        }
        s.append_pair("limit", &limit.to_string());
        for (k, v) in params {
            s.append_pair(k, v);
        }
        s.finish()
    };
    let mut out = vec![format!("<{base}{path}?{}>; rel=\"self\"", query(None))];
    if let Some(n) = next {
        out.push(format!("<{base}{path}?{}>; rel=\"next\"", query(Some(n))));
    }
    out
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Headers Okta sends on every response; the rate-limit ones when a bucket was consulted.
pub fn common_headers(h: &mut HeaderMap, request_id: &str, rate: Option<&Decision>) {
    let now = SystemTime::now();
    let mut put = |k: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    };
    put("x-okta-request-id", request_id.to_string());
    put("date", httpdate::fmt_http_date(now));
    put("cache-control", "no-cache, no-store".into());
    put("pragma", "no-cache".into());
    put("expires", "0".into());
    put("server", "nginx".into());
    put("p3p", "CP=\"HONK\"".into());
    if let Some(d) = rate {
        put("x-rate-limit-limit", d.limit.to_string());
        put("x-rate-limit-remaining", d.remaining.to_string());
        put(
            "x-rate-limit-reset",
            reset_epoch(now, d.reset_in).to_string(),
        );
    }
}

/// The epoch second at or after `now + reset_in`.
pub fn reset_epoch(now: SystemTime, reset_in: Duration) -> u64 {
    let t = (now + reset_in)
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    t.as_secs() + u64::from(t.subsec_nanos() > 0)
}

fn with_body(code: u16, body: Option<String>) -> Response<Body> {
    let mut r = Response::new(body.map(Body::from).unwrap_or_else(Body::empty));
    *r.status_mut() = status(code);
    r
}

pub fn ok(reply: Reply, request_id: &str, rate: Option<&Decision>) -> Response<Body> {
    let body = reply.body.map(|b| b.to_string());
    let has_body = body.is_some();
    let mut r = with_body(reply.status, body);
    let h = r.headers_mut();
    common_headers(h, request_id, rate);
    if has_body {
        h.insert("content-type", HeaderValue::from_static("application/json"));
    }
    for l in reply.links {
        if let Ok(v) = HeaderValue::from_str(&l) {
            h.append("link", v);
        }
    }
    r
}

pub fn error(e: &ApiError, request_id: &str, rate: Option<&Decision>) -> Response<Body> {
    let body = serde_json::to_string(&e.body()).unwrap_or_default();
    let mut r = with_body(e.status, Some(body));
    let h = r.headers_mut();
    common_headers(h, request_id, rate);
    h.insert("content-type", HeaderValue::from_static("application/json"));
    r
}

pub fn oauth_error(
    code: u16,
    error: &str,
    description: &str,
    request_id: &str,
    rate: Option<&Decision>,
) -> Response<Body> {
    let body = OAuthErrorBody {
        error: error.to_string(),
        error_description: description.to_string(),
    };
    let mut r = with_body(code, Some(serde_json::to_string(&body).unwrap_or_default()));
    let h = r.headers_mut();
    common_headers(h, request_id, rate);
    h.insert("content-type", HeaderValue::from_static("application/json"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_lines_like_okta() {
        let l = links(
            "http://127.0.0.1:1",
            "/api/v1/users",
            200,
            &[("filter", "status eq \"ACTIVE\"".into())],
            Some("00u1"),
        );
        assert_eq!(
            l[0],
            "<http://127.0.0.1:1/api/v1/users?limit=200&filter=status+eq+%22ACTIVE%22>; rel=\"self\""
        );
        assert_eq!(
            l[1],
            "<http://127.0.0.1:1/api/v1/users?after=00u1&limit=200&filter=status+eq+%22ACTIVE%22>; rel=\"next\""
        );
        let t = UNIX_EPOCH + Duration::from_millis(10_500);
        assert_eq!(reset_epoch(t, Duration::from_millis(600)), 12);
        assert_eq!(reset_epoch(t, Duration::from_millis(500)), 11);
    }
}
