//! The Okta HTTP client: pagination, pacing to the rate-limit buckets, retries, SSWS and OAuth auth.
//!
//! `OktaClient` is a cheap `Clone` (one shared connection pool, pacer and set of counters) implementing
//! [`OktaApi`]. Reads follow every `Link rel="next"`; writes are single calls. See `pacing` for how the budget
//! is used, `retry` for what is retried, `auth` for credentials.

// OktaError is the error type every Okta backend shares (emulator, client, observe); boxing its large variants
// would change it for everyone, and one error per failed request costs nothing next to the request itself.
#![allow(clippy::result_large_err)]

pub mod auth;
mod http;
pub mod pacing;
pub mod pages;
pub mod retry;
pub mod stats;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use serde::de::DeserializeOwned;
use url::Url;

use crate::config::model::{Budget, Credential, Instance};
use crate::okta::api::{GroupQuery, LogQuery, OktaApi};
use crate::okta::error::OktaError;
use crate::okta::model::{Group, GroupProfile, LogEvent, User, UserSchema, okta_time};
use crate::secret::Secret;

pub use auth::{Credentials, DEFAULT_SCOPES, OAuthSettings};
pub use http::{is_loopback, parse_base_url};
pub use pacing::{Bucket, BucketSnapshot, OKTA_MAX_CONCURRENCY};
pub use retry::RetryPolicy;
pub use stats::ClientStats;

use http::{Body, Inner};

/// How we read the users the planner sees: `search=status eq "ACTIVE"`.
///
/// Why `search`: it is paginated (unlike `q`), returns full profiles including custom and array attributes, and
/// names the status explicitly — the plain listing silently mixes in STAGED, PROVISIONED, SUSPENDED, LOCKED_OUT…
/// users (it only omits DEPROVISIONED ones), and only ACTIVE users should get memberships. `filter=status eq
/// "ACTIVE"` would work too, but `search` is what Okta recommends and can later be narrowed with
/// `and lastUpdated gt "…"` for incremental reads. Its cost: it is eventually consistent (index lag typically
/// under a second), which a reconciler that re-reads on every run tolerates.
pub const ACTIVE_USERS_SEARCH: &str = r#"status eq "ACTIVE""#;

/// The env var accepted in addition to the one the instance names (the Okta SDKs' name).
pub const FALLBACK_TOKEN_ENV: &str = "OKTA_CLIENT_TOKEN";

/// Tuning of one client. `Default` suits a real org; tests shrink timeouts and page sizes.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientOptions {
    /// Percent of each bucket's per-minute limit we may use (Budget.bucket_share_percent).
    pub bucket_share_percent: f64,
    /// Most requests in flight at once (Budget.max_concurrency; never above 75).
    pub max_concurrency: usize,
    pub retry: RetryPolicy,
    /// Whole-request timeout.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Length of a rate-limit window: 60 s at Okta; `60 s / time_scale` for the emulator run with a time scale.
    pub rate_window: Duration,
    /// `limit` for user listings (Okta's maximum is 200).
    pub users_page_limit: Option<u32>,
    /// `limit` for group member listings (`None` = Okta's default, 1000).
    pub members_page_limit: Option<u32>,
    /// `limit` for group listings when the query has none (`None` = Okta's default).
    pub groups_page_limit: Option<u32>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        let budget = Budget::default();
        ClientOptions {
            bucket_share_percent: budget.bucket_share_percent,
            max_concurrency: budget.max_concurrency,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            rate_window: Duration::from_secs(60),
            users_page_limit: Some(200),
            members_page_limit: None,
            groups_page_limit: None,
        }
    }
}

impl ClientOptions {
    pub fn from_budget(budget: &Budget) -> ClientOptions {
        ClientOptions {
            bucket_share_percent: budget.bucket_share_percent,
            max_concurrency: budget.max_concurrency,
            ..ClientOptions::default()
        }
    }
}

/// The Okta HTTP client (see the module docs).
#[derive(Clone)]
pub struct OktaClient {
    inner: Arc<Inner>,
    options: Arc<ClientOptions>,
}

impl std::fmt::Debug for OktaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OktaClient")
            .field("base_url", &self.inner.base.as_str())
            .field("auth", &self.inner.auth)
            .finish_non_exhaustive()
    }
}

impl OktaClient {
    /// A client for `base_url` (`https://acme.okta.com`, or `http://127.0.0.1:PORT` for the emulator).
    pub fn new(
        base_url: &str,
        credentials: Credentials,
        options: ClientOptions,
    ) -> Result<OktaClient, OktaError> {
        crate::tls::install_crypto_provider();
        let base = parse_base_url(base_url)?;
        let auth = auth::Auth::new(&credentials, &base)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("dyngroups/", env!("CARGO_PKG_VERSION")))
            .timeout(options.request_timeout)
            .connect_timeout(options.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OktaError::Setup(format!("building the HTTP client: {e}")))?;
        let pacer = pacing::Pacer::new(
            options.bucket_share_percent,
            options.max_concurrency,
            options.rate_window,
        );
        let mut retry = options.retry.clone();
        if pacer.window() < Duration::from_secs(60) {
            // A shortened window (emulator): a 429 never needs more than one window, and the margin shrinks too.
            retry.max_reset_wait = retry.max_reset_wait.min(pacer.window());
            retry.reset_margin = retry.reset_margin.min(pacer.window() / 60);
        }
        Ok(OktaClient {
            inner: Arc::new(Inner {
                http,
                base,
                auth,
                pacer,
                counters: Default::default(),
                retry,
                reached: Default::default(),
            }),
            options: Arc::new(options),
        })
    }

    /// An SSWS client with default options (tests, the emulator).
    pub fn with_token(base_url: &str, token: Secret) -> Result<OktaClient, OktaError> {
        OktaClient::new(
            base_url,
            Credentials::ApiToken(token),
            ClientOptions::default(),
        )
    }

    /// The client for a configured instance: `https://{okta_domain}` unless `okta_url` overrides it, the
    /// credential read from the environment variables the instance names, the budget from its config.
    pub fn connect(instance: &Instance, okta_url: Option<&str>) -> Result<OktaClient, OktaError> {
        let base = match okta_url {
            Some(u) if !u.trim().is_empty() => u.to_string(),
            _ => instance.okta_domain.clone(),
        };
        let url = parse_base_url(&base)?;
        let credentials =
            credentials_from_env(&instance.credential, &url, |k| std::env::var(k).ok())?;
        OktaClient::new(
            url.as_str(),
            credentials,
            ClientOptions::from_budget(&instance.budget),
        )
    }

    /// The base URL requests go to (with a trailing `/`).
    pub fn base_url(&self) -> &str {
        self.inner.base.as_str()
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// What the client has done so far (shared by all clones).
    pub fn stats(&self) -> ClientStats {
        self.inner.counters.snapshot(self.inner.pacer.snapshot())
    }

    /// What Okta last reported about each bucket (limit, remaining, time to reset).
    pub fn buckets(&self) -> std::collections::BTreeMap<Bucket, BucketSnapshot> {
        self.inner.pacer.snapshot()
    }

    /// Every ACTIVE user with its profile (see [`ACTIVE_USERS_SEARCH`]).
    pub async fn list_active_users(&self) -> Result<Vec<User>, OktaError> {
        self.list_users(Some(ACTIVE_USERS_SEARCH)).await
    }

    /// Every group whose name is exactly `name`: `search=profile.name eq "…"` (paginated, unlike `q`, which is
    /// a starts-with match), then an exact comparison, since Okta compares string values case-insensitively.
    pub async fn find_groups_by_name(&self, name: &str) -> Result<Vec<Group>, OktaError> {
        let query = GroupQuery {
            search: Some(format!("profile.name eq \"{}\"", escape_search_value(name))),
            ..GroupQuery::default()
        };
        let mut groups = self.list_groups(&query).await?;
        groups.retain(|g| g.profile.name == name);
        Ok(groups)
    }

    /// GET every page starting at `url`, following `Link rel="next"` until there is none (or a page is empty:
    /// System Log polling always links a next page).
    async fn get_all<T: DeserializeOwned + Send>(&self, url: Url) -> Result<Vec<T>, OktaError> {
        let mut out: Vec<T> = Vec::new();
        self.get_each(url, &mut |item| out.push(item)).await?;
        Ok(out)
    }

    /// Like [`Self::get_all`], handing each item to `each` as its page arrives (one page in memory at a time).
    async fn get_each<T: DeserializeOwned + Send>(
        &self,
        mut url: Url,
        each: &mut (dyn FnMut(T) + Send),
    ) -> Result<(), OktaError> {
        let mut seen = std::collections::HashSet::new();
        loop {
            let path = url.path().to_string();
            let answer = self
                .inner
                .call(Method::GET, url.clone(), &Body::None, true)
                .await?;
            let page: Vec<T> = answer.json(&Method::GET, &path)?;
            let empty = page.is_empty();
            page.into_iter().for_each(&mut *each);
            let Some(next) = pages::next_link(&answer.headers) else {
                return Ok(());
            };
            if empty {
                return Ok(());
            }
            let Some(next_url) = pages::rebase_next(&self.inner.base, &next) else {
                return Err(OktaError::Decode {
                    method: "GET".into(),
                    path,
                    detail: "the Link rel=\"next\" URL could not be parsed".into(),
                });
            };
            if !seen.insert(next_url.to_string()) {
                return Err(OktaError::Decode {
                    method: "GET".into(),
                    path,
                    detail: "Okta linked the same next page twice; stopping instead of looping"
                        .into(),
                });
            }
            url = next_url;
        }
    }

    async fn get_one<T: DeserializeOwned>(&self, url: Url) -> Result<T, OktaError> {
        let path = url.path().to_string();
        self.inner
            .call(Method::GET, url, &Body::None, true)
            .await?
            .json(&Method::GET, &path)
    }

    async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Body,
    ) -> Result<T, OktaError> {
        let path = url.path().to_string();
        self.inner
            .call(method.clone(), url, &body, true)
            .await?
            .json(&method, &path)
    }

    async fn send_empty(&self, method: Method, url: Url) -> Result<(), OktaError> {
        self.inner
            .call(method, url, &Body::Empty, true)
            .await
            .map(|_| ())
    }
}

/// Escapes `"` and `\` inside a quoted Okta search value.
fn escape_search_value(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Reads the credential the instance names from the environment (`env` lookups injectable for tests).
pub fn credentials_from_env(
    credential: &Credential,
    base: &Url,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Credentials, OktaError> {
    let set = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    match credential {
        Credential::ApiToken { env: var } => {
            if let Some(token) = set(var).or_else(|| set(FALLBACK_TOKEN_ENV)) {
                return Ok(Credentials::ApiToken(Secret::new(token)));
            }
            let example = if is_loopback(base) {
                "emulator-token".to_string()
            } else {
                "<your API token>".to_string()
            };
            Err(OktaError::Setup(format!(
                "no Okta API token: the environment variable {var} is not set (named by okta.credential.api_token_env in dyngroups.yaml; \
                 {FALLBACK_TOKEN_ENV} is accepted too). Set it, e.g. `export {var}={example}`"
            )))
        }
        Credential::Oauth {
            client_id,
            private_key_env,
            key_id,
            scopes,
        } => {
            let Some(pem) = set(private_key_env) else {
                return Err(OktaError::Setup(format!(
                    "no private key for the Okta service app {client_id}: the environment variable {private_key_env} is \
                     not set. Put the PEM key in it, e.g. `export {private_key_env}=\"$(cat private-key.pem)\"`"
                )));
            };
            Ok(Credentials::PrivateKeyJwt(OAuthSettings {
                client_id: client_id.clone(),
                private_key_pem: Secret::new(pem),
                key_id: key_id.clone(),
                scopes: scopes.clone(),
            }))
        }
    }
}

#[async_trait]
impl OktaApi for OktaClient {
    async fn list_users(&self, search: Option<&str>) -> Result<Vec<User>, OktaError> {
        let mut out = Vec::new();
        self.list_users_each(search, &mut |u| out.push(u)).await?;
        Ok(out)
    }

    async fn list_users_each(
        &self,
        search: Option<&str>,
        each: &mut (dyn FnMut(User) + Send),
    ) -> Result<(), OktaError> {
        let mut url = self.inner.url(&["api", "v1", "users"]);
        {
            let mut q = url.query_pairs_mut();
            if let Some(limit) = self.options.users_page_limit {
                q.append_pair("limit", &limit.to_string());
            }
            if let Some(search) = search {
                q.append_pair("search", search);
            }
        }
        self.get_each(clean_query(url), each).await
    }

    async fn list_groups(&self, query: &GroupQuery) -> Result<Vec<Group>, OktaError> {
        let mut url = self.inner.url(&["api", "v1", "groups"]);
        {
            let mut q = url.query_pairs_mut();
            if let Some(limit) = query.limit.or(self.options.groups_page_limit) {
                q.append_pair("limit", &limit.to_string());
            }
            if let Some(s) = &query.search {
                q.append_pair("search", s);
            }
            if let Some(f) = &query.filter {
                q.append_pair("filter", f);
            }
            if let Some(text) = &query.q {
                q.append_pair("q", text);
            }
            if query.expand_stats {
                q.append_pair("expand", "stats");
            }
        }
        self.get_all(clean_query(url)).await
    }

    async fn get_group(&self, group_id: &str) -> Result<Group, OktaError> {
        self.get_one(self.inner.url(&["api", "v1", "groups", group_id]))
            .await
    }

    async fn list_group_members(&self, group_id: &str) -> Result<Vec<User>, OktaError> {
        let mut out = Vec::new();
        self.list_group_members_each(group_id, &mut |u| out.push(u))
            .await?;
        Ok(out)
    }

    async fn list_group_members_each(
        &self,
        group_id: &str,
        each: &mut (dyn FnMut(User) + Send),
    ) -> Result<(), OktaError> {
        let mut url = self.inner.url(&["api", "v1", "groups", group_id, "users"]);
        if let Some(limit) = self.options.members_page_limit {
            url.query_pairs_mut()
                .append_pair("limit", &limit.to_string());
        }
        self.get_each(url, each).await
    }

    async fn create_group(&self, profile: &GroupProfile) -> Result<Group, OktaError> {
        let body = serde_json::json!({ "profile": profile });
        self.send_json(
            Method::POST,
            self.inner.url(&["api", "v1", "groups"]),
            Body::Json(body),
        )
        .await
    }

    async fn update_group(
        &self,
        group_id: &str,
        profile: &GroupProfile,
    ) -> Result<Group, OktaError> {
        // PUT replaces the whole profile: the caller passes the full profile (name + description).
        let body = serde_json::json!({ "profile": profile });
        self.send_json(
            Method::PUT,
            self.inner.url(&["api", "v1", "groups", group_id]),
            Body::Json(body),
        )
        .await
    }

    async fn delete_group(&self, group_id: &str) -> Result<(), OktaError> {
        self.send_empty(
            Method::DELETE,
            self.inner.url(&["api", "v1", "groups", group_id]),
        )
        .await
    }

    async fn add_member(&self, group_id: &str, user_id: &str) -> Result<(), OktaError> {
        self.send_empty(
            Method::PUT,
            self.inner
                .url(&["api", "v1", "groups", group_id, "users", user_id]),
        )
        .await
    }

    async fn remove_member(&self, group_id: &str, user_id: &str) -> Result<(), OktaError> {
        self.send_empty(
            Method::DELETE,
            self.inner
                .url(&["api", "v1", "groups", group_id, "users", user_id]),
        )
        .await
    }

    async fn user_schema(&self) -> Result<UserSchema, OktaError> {
        self.get_one(
            self.inner
                .url(&["api", "v1", "meta", "schemas", "user", "default"]),
        )
        .await
    }

    async fn list_logs(&self, query: &LogQuery) -> Result<Vec<LogEvent>, OktaError> {
        let mut url = self.inner.url(&["api", "v1", "logs"]);
        {
            let mut q = url.query_pairs_mut();
            if let Some(since) = &query.since {
                q.append_pair("since", &okta_time::format(since));
            }
            if let Some(until) = &query.until {
                q.append_pair("until", &okta_time::format(until));
            }
            if let Some(f) = &query.filter {
                q.append_pair("filter", f);
            }
            if let Some(limit) = query.limit {
                q.append_pair("limit", &limit.to_string());
            }
        }
        self.get_all(clean_query(url)).await
    }
}

/// `query_pairs_mut` leaves a bare `?` when nothing was appended.
fn clean_query(mut url: Url) -> Url {
    if url.query() == Some("") {
        url.set_query(None);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_from_the_environment() {
        let base = parse_base_url("http://127.0.0.1:8080").unwrap();
        let cred = Credential::ApiToken {
            env: "OKTA_API_TOKEN".into(),
        };
        let none = |_: &str| None;
        let e = credentials_from_env(&cred, &base, none)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("OKTA_API_TOKEN") && e.contains("export OKTA_API_TOKEN=emulator-token"),
            "{e}"
        );
        let fallback = |k: &str| (k == FALLBACK_TOKEN_ENV).then(|| "tok".to_string());
        assert!(matches!(
            credentials_from_env(&cred, &base, fallback),
            Ok(Credentials::ApiToken(t)) if t.expose() == "tok"
        ));
        let oauth = Credential::Oauth {
            client_id: "0oa1".into(),
            private_key_env: "OKTA_PRIVATE_KEY".into(),
            key_id: None,
            scopes: vec![],
        };
        let e = credentials_from_env(&oauth, &base, none)
            .unwrap_err()
            .to_string();
        assert!(e.contains("OKTA_PRIVATE_KEY") && e.contains("0oa1"), "{e}");
    }

    #[test]
    fn client_debug_shows_no_secret_and_urls_are_escaped() {
        let c = OktaClient::with_token("http://127.0.0.1:9", Secret::new("00TOPSECRET")).unwrap();
        let dbg = format!("{c:?}");
        assert!(
            dbg.contains("127.0.0.1") && !dbg.contains("TOPSECRET"),
            "{dbg}"
        );
        let url = c.inner.url(&["api", "v1", "groups", "00g/../x?y", "users"]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/api/v1/groups/00g%2F..%2Fx%3Fy/users"
        );
        assert_eq!(escape_search_value(r#"a"b\c"#), r#"a\"b\\c"#);
    }
}
