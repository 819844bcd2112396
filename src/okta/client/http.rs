//! One Okta request from start to finish: wait for the pace, authorize, send, count, decide (retry.rs) and
//! sleep before a retry, then turn the answer into a value or an `OktaError` carrying Okta's error fields.
//! Also validates the base URL (https, or http for loopback only).

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use url::{Host, Url};

use super::auth::{Auth, CachedToken, refresh_after, sensitive_header};
use super::pacing::{Bucket, Pacer, classify};
use super::retry::{
    self, Attempts, Decision, Outcome, RateHeaders, RetryPolicy, RetryReason, TransportFailure,
};
use super::stats::Counters;
use crate::okta::error::OktaError;
use crate::okta::model::{ErrorBody, OAuthErrorBody, TokenResponse};

/// A request body.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    None,
    /// No body, but `Content-Length: 0` (Okta answers 411 to a bodiless PUT/POST without it).
    Empty,
    Json(serde_json::Value),
    Form(Vec<(&'static str, String)>),
}

/// A successful answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json<T: DeserializeOwned>(&self, method: &Method, path: &str) -> Result<T, OktaError> {
        serde_json::from_slice(&self.body).map_err(|e| OktaError::Decode {
            method: method.to_string(),
            path: path.to_string(),
            detail: format!("reading the JSON body: {e}"),
        })
    }
}

/// Everything the clones of one client share.
#[derive(Debug)]
pub(crate) struct Inner {
    pub http: reqwest::Client,
    pub base: Url,
    pub auth: Auth,
    pub pacer: Pacer,
    pub counters: Counters,
    pub retry: RetryPolicy,
    /// Okta has answered this client at least once. Until then a refused connection or a failed DNS lookup
    /// is a wrong URL or a missing network, not a blip: it is reported at once instead of after the
    /// retries' backoff.
    pub reached: std::sync::atomic::AtomicBool,
}

impl Inner {
    /// The URL for `path` segments under the base, each segment escaped (ids never change the path's shape).
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut p) = url.path_segments_mut() {
            p.clear().extend(segments);
        }
        url
    }

    /// Sends one logical request (with its retries) and returns the successful answer. The credential is taken
    /// once per logical request (a cached OAuth token is refreshed well before a long retry loop could outlive it).
    pub async fn call(
        &self,
        method: Method,
        url: Url,
        body: &Body,
        authorize: bool,
    ) -> Result<Answer, OktaError> {
        let auth = if authorize {
            Some(self.authorization().await?)
        } else {
            None
        };
        self.run(method, url, body, auth).await
    }

    /// The retry loop of one request with a fixed `Authorization` value.
    async fn run(
        &self,
        method: Method,
        url: Url,
        body: &Body,
        auth: Option<HeaderValue>,
    ) -> Result<Answer, OktaError> {
        let path = url.path().to_string();
        let bucket = classify(&method, &path);
        // POST creates something (a group): resent only when Okta certainly did not act on it. The token
        // endpoint is the exception: asking for a token twice is harmless.
        let idempotent = method != Method::POST || bucket == Bucket::OAuthToken;
        let mut attempts = Attempts::default();
        let mut retry_for: Option<HeaderValue> = None;
        loop {
            let permit = self.pacer.acquire(bucket).await;
            self.counters.paced(permit.waited);
            self.counters.call(bucket);
            let mut req = self.http.request(method.clone(), url.clone());
            if let Some(auth) = &auth {
                req = req.header(AUTHORIZATION, auth.clone());
            }
            let retries = attempts.failures + attempts.rate_limited;
            if retries > 0 {
                req = req.header("x-okta-retry-count", retries.to_string());
                if let Some(id) = &retry_for {
                    req = req.header("x-okta-retry-for", id.clone());
                }
            }
            req = match body {
                Body::None => req,
                Body::Empty => req.header(CONTENT_LENGTH, "0").body(Vec::<u8>::new()),
                Body::Json(v) => req.json(v),
                Body::Form(f) => req.form(f),
            };
            let result = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    match resp.bytes().await {
                        Ok(body) => Ok(Answer {
                            status,
                            headers,
                            body: body.to_vec(),
                        }),
                        Err(e) => Err((TransportFailure::Dropped, e)),
                    }
                }
                Err(e) => Err((transport_kind(&e), e)),
            };
            let outcome = match &result {
                Err((TransportFailure::Connect, e))
                    if !self.reached.load(std::sync::atomic::Ordering::Relaxed) =>
                {
                    self.pacer.observe(permit, None);
                    self.counters.transport_error();
                    return Err(self.transport_error(&method, &url, TransportFailure::Connect, e));
                }
                Ok(a) => {
                    self.reached
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                    let rate = RateHeaders::from_headers(&a.headers);
                    self.pacer.observe(permit, Some(&rate));
                    let status = a.status.as_u16();
                    if status == 429 {
                        attempts.rate_limited += 1;
                        self.counters.rate_limited(rate.is_concurrency_limit());
                        retry_for = a.headers.get("x-okta-request-id").cloned();
                    } else if status >= 500 {
                        attempts.failures += 1;
                        self.counters.server_error();
                    }
                    Outcome::Response { status, rate }
                }
                Err((kind, _)) => {
                    self.pacer.observe(permit, None);
                    attempts.failures += 1;
                    self.counters.transport_error();
                    Outcome::Transport(*kind)
                }
            };
            match retry::decide(
                &self.retry,
                attempts,
                idempotent,
                outcome,
                rand::random::<f64>(),
            ) {
                Decision::Done => match result {
                    Ok(a) if a.status.is_success() => return Ok(a),
                    Ok(a) => {
                        if a.status == StatusCode::UNAUTHORIZED {
                            self.forget_token().await;
                        }
                        return Err(error_from(&method, &path, &a));
                    }
                    Err((kind, e)) => return Err(self.transport_error(&method, &url, kind, &e)),
                },
                Decision::Retry { after, reason } => {
                    if reason == RetryReason::RateLimited {
                        self.counters.rate_limit_wait(after);
                    }
                    tracing::debug!(
                        method = %method,
                        path = %path,
                        bucket = %bucket,
                        attempt = attempts.failures + attempts.rate_limited,
                        wait_ms = after.as_millis() as u64,
                        reason = ?reason,
                        "retrying Okta request"
                    );
                    let start = Instant::now();
                    tokio::time::sleep(after).await;
                    self.counters.retry(start.elapsed());
                }
                Decision::GiveUp(reason) => {
                    return Err(match (reason, result) {
                        (RetryReason::RateLimited | RetryReason::ConcurrencyLimited, _) => {
                            OktaError::RateLimited {
                                method: method.to_string(),
                                path,
                                bucket: bucket.to_string(),
                                attempts: attempts.failures + attempts.rate_limited,
                            }
                        }
                        (_, Ok(a)) => error_from(&method, &path, &a),
                        (_, Err((kind, e))) => self.transport_error(&method, &url, kind, &e),
                    });
                }
            }
        }
    }

    /// The `Authorization` value: the SSWS token, or a cached/fetched OAuth access token.
    async fn authorization(&self) -> Result<HeaderValue, OktaError> {
        let oauth = match &self.auth {
            Auth::Ssws(h) => return Ok(h.clone()),
            Auth::OAuth(o) => o,
        };
        let mut cache = oauth.cache.lock().await;
        if let Some(t) = cache.as_ref()
            && Instant::now() < t.refresh_at
        {
            return Ok(t.header.clone());
        }
        let form = oauth.token_form()?;
        // The token request is paced, counted and retried like any other.
        let answer = self
            .run(
                Method::POST,
                oauth.token_url.clone(),
                &Body::Form(form),
                None,
            )
            .await?;
        let token: TokenResponse = answer.json(&Method::POST, oauth.token_url.path())?;
        if !token.token_type.eq_ignore_ascii_case("bearer") {
            return Err(OktaError::OAuth {
                error: "unsupported_token_type".into(),
                description: format!(
                    "Okta issued a {} token; dyngroups only supports Bearer tokens (turn off \"Require DPoP\" for the service app)",
                    token.token_type
                ),
            });
        }
        let header = sensitive_header("Bearer", &token.access_token)?;
        tracing::debug!(expires_in = token.expires_in, scope = %token.scope, "fetched an OAuth access token");
        *cache = Some(CachedToken {
            header: header.clone(),
            refresh_at: Instant::now() + refresh_after(Duration::from_secs(token.expires_in)),
        });
        Ok(header)
    }

    /// After a 401 the cached access token (if any) is not used again.
    async fn forget_token(&self) {
        if let Auth::OAuth(o) = &self.auth {
            *o.cache.lock().await = None;
        }
    }

    fn transport_error(
        &self,
        method: &Method,
        url: &Url,
        kind: TransportFailure,
        e: &reqwest::Error,
    ) -> OktaError {
        // reqwest's Display may include the URL; never headers. Our URLs carry no secrets.
        let detail = error_chain(e);
        let origin = self.base.as_str().trim_end_matches('/').to_string();
        if kind == TransportFailure::Connect {
            let hint = if is_loopback(&self.base) {
                "is `dyngroups sim serve` running?".to_string()
            } else {
                "check the Okta domain, DNS, and any proxy or firewall in between".to_string()
            };
            return OktaError::Unreachable {
                method: method.to_string(),
                path: url.path().to_string(),
                base_url: origin,
                hint,
                detail,
            };
        }
        OktaError::Transport {
            method: method.to_string(),
            url: format!("{origin}{}", url.path()),
            detail: match kind {
                TransportFailure::Timeout => format!("timed out: {detail}"),
                _ => format!("connection dropped: {detail}"),
            },
        }
    }
}

fn transport_kind(e: &reqwest::Error) -> TransportFailure {
    if e.is_timeout() {
        TransportFailure::Timeout
    } else if e.is_connect() {
        TransportFailure::Connect
    } else {
        TransportFailure::Dropped
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// An error answer as an `OktaError`: Okta's error body, the OAuth error body, or the bare status.
pub(crate) fn error_from(method: &Method, path: &str, a: &Answer) -> OktaError {
    let status = a.status.as_u16();
    if let Ok(body) = serde_json::from_slice::<ErrorBody>(&a.body) {
        return OktaError::from_body(method.as_str(), path, status, body);
    }
    if let Ok(body) = serde_json::from_slice::<OAuthErrorBody>(&a.body) {
        let hint = match body.error.as_str() {
            "invalid_dpop_proof" | "use_dpop_nonce" => {
                " (the service app requires DPoP, which dyngroups does not support: turn off \"Require DPoP\")"
            }
            "invalid_scope" => {
                " (grant the missing scopes to the service app in the Okta Admin Console)"
            }
            "invalid_client" => {
                " (check the client id and that the app has the matching public key)"
            }
            _ => "",
        };
        return OktaError::OAuth {
            error: body.error,
            description: format!("{}{hint}", body.error_description),
        };
    }
    OktaError::Api {
        method: method.to_string(),
        path: path.to_string(),
        status,
        code: String::new(),
        summary: format!(
            "{} without an Okta error body",
            a.status.canonical_reason().unwrap_or("error")
        ),
        error_id: String::new(),
        causes: Vec::new(),
    }
}

/// 127.0.0.0/8, ::1 and `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost")
        }
        None => false,
    }
}

/// Validates and normalizes the Okta base URL: `acme.okta.com` means `https://acme.okta.com`; plain `http://` only
/// for loopback (the emulator); no path, query or admin host.
pub fn parse_base_url(raw: &str) -> Result<Url, OktaError> {
    let raw = raw.trim().trim_end_matches('/');
    if raw.is_empty() {
        return Err(OktaError::Setup(
            "the Okta URL is empty: set okta_domain in the instance file (e.g. acme.okta.com)"
                .into(),
        ));
    }
    if raw.contains('{') || raw.contains('}') {
        return Err(OktaError::Setup(format!(
            "the Okta URL {raw:?} still holds a placeholder: put your org's domain, e.g. acme.okta.com"
        )));
    }
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("https://{raw}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| {
        OktaError::Setup(format!(
            "the Okta URL {raw:?} is not a valid URL ({e}); expected a domain like acme.okta.com"
        ))
    })?;
    let host = url.host_str().unwrap_or_default().to_string();
    if host.is_empty() {
        return Err(OktaError::Setup(format!(
            "the Okta URL {raw:?} has no host"
        )));
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err(OktaError::Setup(format!(
            "the Okta URL {raw:?} must be the org's base URL without a path, e.g. https://{host}"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(OktaError::Setup(
            "the Okta URL must not contain a user name or password; the credential comes from the environment".into(),
        ));
    }
    if let Some(org) = host.split('.').next()
        && let Some(stripped) = org.strip_suffix("-admin")
    {
        let fixed = host.replacen(org, stripped, 1);
        return Err(OktaError::Setup(format!(
            "{host} is the Okta admin console's domain; the API lives on the org domain: use {fixed}"
        )));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(OktaError::Setup(format!(
                "refusing plain http:// for {host}: Okta must be reached over https:// \
                 (http:// is only allowed for a local emulator on 127.0.0.1, ::1 or localhost)"
            )));
        }
        other => {
            return Err(OktaError::Setup(format!(
                "the Okta URL {raw:?} uses {other}://; use https://{host}"
            )));
        }
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            parse_base_url("acme.okta.com").unwrap().as_str(),
            "https://acme.okta.com/"
        );
        assert_eq!(
            parse_base_url("https://acme.okta.com/").unwrap().as_str(),
            "https://acme.okta.com/"
        );
        assert_eq!(
            parse_base_url("http://127.0.0.1:8080").unwrap().as_str(),
            "http://127.0.0.1:8080/"
        );
        assert!(parse_base_url("http://127.1.2.3:1").is_ok());
        assert!(parse_base_url("http://[::1]:8080").is_ok());
        assert!(parse_base_url("http://localhost:8080").is_ok());
        let e = parse_base_url("http://acme.okta.com")
            .unwrap_err()
            .to_string();
        assert!(e.contains("https://") && e.contains("127.0.0.1"), "{e}");
        let e = parse_base_url("acme-admin.okta.com")
            .unwrap_err()
            .to_string();
        assert!(e.contains("use acme.okta.com"), "{e}");
        let e = parse_base_url("https://acme.okta.com/api/v1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("without a path"), "{e}");
        assert!(parse_base_url("https://{yourOktaDomain}").is_err());
        assert!(parse_base_url("").is_err());
        assert!(parse_base_url("ftp://acme.okta.com").is_err());
        assert!(parse_base_url("https://u:p@acme.okta.com").is_err());
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn errors_carry_okta_fields() {
        let a = answer(
            403,
            r#"{"errorCode":"E0000006","errorSummary":"You do not have permission to perform the requested action","errorLink":"E0000006","errorId":"oaeABC","errorCauses":[]}"#,
        );
        let e = error_from(&Method::PUT, "/api/v1/groups/00g1/users/00u1", &a);
        assert_eq!(e.code(), Some("E0000006"));
        assert_eq!(e.error_id(), Some("oaeABC"));
        assert!(e.is_forbidden());
        let text = e.to_string();
        assert!(
            text.contains("E0000006") && text.contains("oaeABC") && text.contains("403"),
            "{text}"
        );

        let a = answer(
            400,
            r#"{"error":"invalid_dpop_proof","error_description":"The DPoP proof JWT header is missing."}"#,
        );
        let e = error_from(&Method::POST, "/oauth2/v1/token", &a).to_string();
        assert!(
            e.contains("invalid_dpop_proof") && e.contains("Require DPoP"),
            "{e}"
        );

        let e = error_from(
            &Method::GET,
            "/api/v1/users",
            &answer(502, "<html>bad gateway</html>"),
        );
        assert_eq!(e.status(), Some(502));
        assert!(!e.to_string().contains("html"));
    }
}
