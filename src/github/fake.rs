//! A fake GitHub REST API (axum on 127.0.0.1) for the issue-comment endpoints dyngroups uses, so tests and
//! local trials exercise the real octocrab client: list (paginated with `Link` headers, ascending ids),
//! create (201 + `Location`), get, update (PATCH, and POST as octocrab's `update_comment` sends), delete.
//! Payloads follow GitHub's `issue-comment` shape (../shared/github/examples), with every field octocrab's
//! strict models need. It enforces a bearer token, the 65,536-character body limit with GitHub's 422 body,
//! and can refuse writes with the 403 a fork pull request's read-only token gets.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

/// GitHub's maximum comment body, in characters.
pub const BODY_LIMIT_CHARS: usize = 65_536;

/// A comment as the fake stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeComment {
    pub id: u64,
    pub owner: String,
    pub repo: String,
    pub issue: u64,
    pub author: String,
    pub body: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Default)]
struct FakeState {
    base_url: String,
    token: String,
    next_id: u64,
    clock: i64,
    comments: BTreeMap<u64, FakeComment>,
    forbid_writes: bool,
    requests: Vec<String>,
}

/// Options for [`spawn`].
#[derive(Debug, Clone)]
pub struct FakeOptions {
    /// The token clients must send (`Authorization: Bearer …` or `token …`).
    pub token: String,
}

impl Default for FakeOptions {
    fn default() -> Self {
        FakeOptions {
            token: "fake-github-token".into(),
        }
    }
}

type Shared = Arc<Mutex<FakeState>>;

/// A running fake; dropping it stops the server.
pub struct RunningFake {
    /// `http://127.0.0.1:PORT` — pass as `--github-url`.
    pub base_url: String,
    state: Shared,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl RunningFake {
    fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        // A poisoned lock only means a handler panicked mid-test; the data is still what it was.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The comments on one issue or pull request, oldest first.
    pub fn comments(&self, owner: &str, repo: &str, issue: u64) -> Vec<FakeComment> {
        self.lock()
            .comments
            .values()
            .filter(|c| c.owner == owner && c.repo == repo && c.issue == issue)
            .cloned()
            .collect()
    }

    /// Adds a comment as if `author` had written it; returns its id.
    pub fn insert_comment(
        &self,
        owner: &str,
        repo: &str,
        issue: u64,
        author: &str,
        body: &str,
    ) -> u64 {
        let mut s = self.lock();
        insert(&mut s, owner, repo, issue, author, body)
    }

    /// Makes every write answer 403 "Resource not accessible by integration" (a fork PR's token).
    pub fn set_forbid_writes(&self, forbid: bool) {
        self.lock().forbid_writes = forbid;
    }

    /// Requests received so far, as `METHOD /path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }
}

fn insert(s: &mut FakeState, owner: &str, repo: &str, issue: u64, author: &str, body: &str) -> u64 {
    s.next_id += 1;
    s.clock += 1;
    let id = 1_000_000 + s.next_id;
    let now = timestamp(s.clock);
    s.comments.insert(
        id,
        FakeComment {
            id,
            owner: owner.into(),
            repo: repo.into(),
            issue,
            author: author.into(),
            body: body.into(),
            created_at: now.clone(),
            updated_at: now,
        },
    );
    id
}

fn timestamp(tick: i64) -> String {
    let start = chrono::DateTime::from_timestamp(1_767_225_600 + tick, 0).unwrap_or_default();
    start.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Starts the fake on 127.0.0.1 with an OS-chosen port.
pub async fn spawn(options: FakeOptions) -> std::io::Result<RunningFake> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let state: Shared = Arc::new(Mutex::new(FakeState {
        base_url: base_url.clone(),
        token: options.token,
        ..FakeState::default()
    }));
    let app = Router::new()
        .route(
            "/repos/{owner}/{repo}/issues/{number}/comments",
            get(list_comments).post(create_comment),
        )
        .route(
            "/repos/{owner}/{repo}/issues/comments/{id}",
            get(get_comment)
                .patch(update_comment)
                .post(update_comment)
                .delete(delete_comment),
        )
        .fallback(not_found)
        .with_state(state.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(RunningFake {
        base_url,
        state,
        _shutdown: tx,
    })
}

fn error(status: StatusCode, message: &str, doc: &str) -> Response {
    let body = json!({
        "message": message,
        "documentation_url": format!("https://docs.github.com/rest/issues/comments#{doc}"),
        "status": status.as_u16().to_string(),
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

fn too_long(doc: &str) -> Response {
    let body = json!({
        "message": "Validation Failed",
        "errors": [{
            "resource": "IssueComment",
            "code": "unprocessable",
            "field": "data",
            "message": format!("Body is too long (maximum is {BODY_LIMIT_CHARS} characters)"),
        }],
        "documentation_url": format!("https://docs.github.com/rest/issues/comments#{doc}"),
        "status": "422",
    });
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

fn ok_json(status: StatusCode, value: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        value.to_string(),
    )
        .into_response()
}

/// Records the request and checks the token; `Some` is the 401 to send.
fn admit(state: &Shared, method: &Method, uri: &Uri, headers: &HeaderMap) -> Option<Response> {
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    s.requests.push(format!("{method} {uri}"));
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let token = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("token "))
        .unwrap_or("");
    if token.is_empty() || token != s.token {
        return Some(error(StatusCode::UNAUTHORIZED, "Bad credentials", ""));
    }
    None
}

fn user_json(base: &str, login: &str) -> Value {
    let bot = login.ends_with("[bot]");
    let id: u64 = if bot { 41_898_282 } else { 583_231 };
    let u = format!("{base}/users/{login}");
    json!({
        "login": login,
        "id": id,
        "node_id": if bot { "MDM6Qm90NDE4OTgyODI=" } else { "MDQ6VXNlcjU4MzIzMQ==" },
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "gravatar_id": "",
        "url": u,
        "html_url": format!("https://github.com/{login}"),
        "followers_url": format!("{u}/followers"),
        "following_url": format!("{u}/following{{/other_user}}"),
        "gists_url": format!("{u}/gists{{/gist_id}}"),
        "starred_url": format!("{u}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{u}/subscriptions"),
        "organizations_url": format!("{u}/orgs"),
        "repos_url": format!("{u}/repos"),
        "events_url": format!("{u}/events{{/privacy}}"),
        "received_events_url": format!("{u}/received_events"),
        "type": if bot { "Bot" } else { "User" },
        "user_view_type": "public",
        "site_admin": false
    })
}

fn comment_json(base: &str, c: &FakeComment) -> Value {
    let url = format!(
        "{base}/repos/{}/{}/issues/comments/{}",
        c.owner, c.repo, c.id
    );
    json!({
        "url": url,
        "html_url": format!("https://github.com/{}/{}/pull/{}#issuecomment-{}", c.owner, c.repo, c.issue, c.id),
        "issue_url": format!("{base}/repos/{}/{}/issues/{}", c.owner, c.repo, c.issue),
        "id": c.id,
        "node_id": format!("IC_kwDOFake{}", c.id),
        "user": user_json(base, &c.author),
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "author_association": if c.author.ends_with("[bot]") { "NONE" } else { "MEMBER" },
        "body": c.body,
        "reactions": {
            "url": format!("{url}/reactions"),
            "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
            "confused": 0, "heart": 0, "rocket": 0, "eyes": 0
        },
        "performed_via_github_app": null
    })
}

/// The `body` of a create/update request, or the 422 GitHub sends.
fn request_body(bytes: &Bytes, doc: &str) -> Result<String, Box<Response>> {
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|_| Box::new(error(StatusCode::BAD_REQUEST, "Problems parsing JSON", doc)))?;
    let body = v.get("body").and_then(Value::as_str).ok_or_else(|| {
        error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid request.\n\n\"body\" wasn't supplied.",
            doc,
        )
    })?;
    if body.chars().count() > BODY_LIMIT_CHARS {
        return Err(Box::new(too_long(doc)));
    }
    Ok(body.to_string())
}

async fn list_comments(
    State(state): State<Shared>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    Query(q): Query<BTreeMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = admit(&state, &method, &uri, &headers) {
        return r;
    }
    let per_page: usize = q
        .get("per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page: usize = q
        .get("page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let s = state.lock().unwrap_or_else(|e| e.into_inner());
    let all: Vec<&FakeComment> = s
        .comments
        .values()
        .filter(|c| c.owner == owner && c.repo == repo && c.issue == number)
        .collect();
    let last = all.len().div_ceil(per_page).max(1);
    let items: Vec<Value> = all
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|c| comment_json(&s.base_url, c))
        .collect();
    let link_to = |p: usize, rel: &str| {
        format!(
            "<{}/repos/{owner}/{repo}/issues/{number}/comments?per_page={per_page}&page={p}>; rel=\"{rel}\"",
            s.base_url
        )
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(link_to(page - 1, "prev"));
    }
    if page < last {
        links.push(link_to(page + 1, "next"));
        links.push(link_to(last, "last"));
    }
    if page > 1 {
        links.push(link_to(1, "first"));
    }
    let mut resp = ok_json(StatusCode::OK, Value::Array(items));
    if !links.is_empty()
        && let Ok(v) = HeaderValue::from_str(&links.join(", "))
    {
        resp.headers_mut().insert(header::LINK, v);
    }
    resp
}

async fn create_comment(
    State(state): State<Shared>,
    Path((owner, repo, number)): Path<(String, String, u64)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let doc = "create-an-issue-comment";
    if let Some(r) = admit(&state, &method, &uri, &headers) {
        return r;
    }
    let body = match request_body(&bytes, doc) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    if s.forbid_writes {
        return error(
            StatusCode::FORBIDDEN,
            "Resource not accessible by integration",
            doc,
        );
    }
    let id = insert(&mut s, &owner, &repo, number, "github-actions[bot]", &body);
    let c = &s.comments[&id];
    let value = comment_json(&s.base_url, c);
    let mut resp = ok_json(StatusCode::CREATED, value);
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{}/repos/{owner}/{repo}/issues/comments/{id}",
        s.base_url
    )) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

fn find<'a>(s: &'a FakeState, owner: &str, repo: &str, id: u64) -> Option<&'a FakeComment> {
    s.comments
        .get(&id)
        .filter(|c| c.owner == owner && c.repo == repo)
}

async fn get_comment(
    State(state): State<Shared>,
    Path((owner, repo, id)): Path<(String, String, u64)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = admit(&state, &method, &uri, &headers) {
        return r;
    }
    let s = state.lock().unwrap_or_else(|e| e.into_inner());
    match find(&s, &owner, &repo, id) {
        Some(c) => ok_json(StatusCode::OK, comment_json(&s.base_url, c)),
        None => error(StatusCode::NOT_FOUND, "Not Found", "get-an-issue-comment"),
    }
}

async fn update_comment(
    State(state): State<Shared>,
    Path((owner, repo, id)): Path<(String, String, u64)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let doc = "update-an-issue-comment";
    if let Some(r) = admit(&state, &method, &uri, &headers) {
        return r;
    }
    let body = match request_body(&bytes, doc) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    if find(&s, &owner, &repo, id).is_none() {
        return error(StatusCode::NOT_FOUND, "Not Found", doc);
    }
    if s.forbid_writes {
        return error(
            StatusCode::FORBIDDEN,
            "Resource not accessible by integration",
            doc,
        );
    }
    s.clock += 1;
    let now = timestamp(s.clock);
    let Some(c) = s.comments.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "Not Found", doc);
    };
    c.body = body;
    c.updated_at = now;
    let c = c.clone();
    ok_json(StatusCode::OK, comment_json(&s.base_url, &c))
}

async fn delete_comment(
    State(state): State<Shared>,
    Path((owner, repo, id)): Path<(String, String, u64)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let doc = "delete-an-issue-comment";
    if let Some(r) = admit(&state, &method, &uri, &headers) {
        return r;
    }
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    if find(&s, &owner, &repo, id).is_none() {
        return error(StatusCode::NOT_FOUND, "Not Found", doc);
    }
    if s.forbid_writes {
        return error(
            StatusCode::FORBIDDEN,
            "Resource not accessible by integration",
            doc,
        );
    }
    s.comments.remove(&id);
    StatusCode::NO_CONTENT.into_response()
}

async fn not_found(method: Method, uri: Uri) -> Response {
    tracing::debug!(%method, %uri, "fake GitHub: no such endpoint");
    error(StatusCode::NOT_FOUND, "Not Found", "")
}
