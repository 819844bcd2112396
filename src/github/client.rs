//! GitHub through octocrab: find dyngroups' marked comment on a pull request (across every page of
//! comments) and update it, or create it when there is none — one comment per instance, however many pushes.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use octocrab::Octocrab;
use octocrab::models::issues::Comment;

use crate::secret::Secret;

use super::marker::has_marker;

/// The public GitHub API; `--github-url` (or `GITHUB_API_URL`, which Actions sets) overrides it.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    #[error("invalid repository {0:?}: expected OWNER/NAME (letters, digits, '.', '_', '-')")]
    BadRepo(String),
    #[error("could not set up the GitHub client for {url}")]
    Setup {
        url: String,
        #[source]
        source: octocrab::Error,
    },
    /// The token may not write to the pull request: a fork's read-only `GITHUB_TOKEN`, or missing
    /// `pull-requests: write`.
    #[error("GitHub refused to let this token {doing} ({status}: {message})")]
    Forbidden {
        doing: String,
        status: u16,
        message: String,
    },
    #[error("GitHub answered {status} while trying to {doing}: {message}")]
    Api {
        doing: String,
        status: u16,
        message: String,
    },
    #[error("could not reach GitHub to {doing}")]
    Transport {
        doing: String,
        #[source]
        source: octocrab::Error,
    },
}

impl GithubError {
    fn from_octocrab(doing: String, err: octocrab::Error) -> GithubError {
        match err {
            octocrab::Error::GitHub { source, .. } => {
                let status = source.status_code.as_u16();
                let mut message = source.message.clone();
                if let Some(errors) = &source.errors {
                    for e in errors {
                        if let Some(m) = e.get("message").and_then(|m| m.as_str()) {
                            message.push_str(": ");
                            message.push_str(m);
                        }
                    }
                }
                // A 403 that mentions a rate limit is GitHub's secondary limit, not a permission problem.
                if status == 403 && !message.to_lowercase().contains("rate limit") {
                    GithubError::Forbidden {
                        doing,
                        status,
                        message,
                    }
                } else {
                    GithubError::Api {
                        doing,
                        status,
                        message,
                    }
                }
            }
            other => GithubError::Transport {
                doing,
                source: other,
            },
        }
    }

    /// True when the failure means "this token may not comment here" (e.g. a pull request from a fork).
    pub fn is_forbidden(&self) -> bool {
        matches!(self, GithubError::Forbidden { .. })
    }
}

/// `OWNER/NAME`, checked so that neither part can change the request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRef {
    pub owner: String,
    pub name: String,
}

impl FromStr for RepoRef {
    type Err = GithubError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = |p: &str| {
            !p.is_empty()
                && p != "."
                && p != ".."
                && p.len() <= 100
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        };
        match s.split_once('/') {
            Some((o, n)) if ok(o) && ok(n) => Ok(RepoRef {
                owner: o.to_string(),
                name: n.to_string(),
            }),
            _ => Err(GithubError::BadRepo(s.to_string())),
        }
    }
}

impl fmt::Display for RepoRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// What [`GithubClient::upsert_comment`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upserted {
    Created { id: u64, url: String },
    Updated { id: u64, url: String },
}

impl Upserted {
    pub fn url(&self) -> &str {
        match self {
            Upserted::Created { url, .. } | Upserted::Updated { url, .. } => url,
        }
    }
}

#[derive(Debug, Clone)]
pub struct GithubClient {
    crab: Octocrab,
}

impl GithubClient {
    /// A client for `api_url` (`https://api.github.com`, `https://ghe.example.com/api/v3`, or a fake's
    /// `http://127.0.0.1:PORT`). Installs the crypto provider first.
    pub fn new(api_url: &str, token: &Secret) -> Result<GithubClient, GithubError> {
        crate::tls::install_crypto_provider();
        let url = api_url.trim_end_matches('/');
        let setup = |source| GithubError::Setup {
            url: url.to_string(),
            source,
        };
        let crab = Octocrab::builder()
            .base_uri(url)
            .map_err(setup)?
            .personal_token(token.expose().to_string())
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(setup)?;
        Ok(GithubClient { crab })
    }

    /// The oldest comment on `pr` that carries `marker` on a line of its own, looking through every page.
    pub async fn find_comment(
        &self,
        repo: &RepoRef,
        pr: u64,
        marker: &str,
    ) -> Result<Option<Comment>, GithubError> {
        let doing = || format!("list the comments of {repo}#{pr}");
        let mut page = self
            .crab
            .issues(&repo.owner, &repo.name)
            .list_comments(pr)
            .per_page(100)
            .send()
            .await
            .map_err(|e| GithubError::from_octocrab(doing(), e))?;
        loop {
            if let Some(found) = page
                .items
                .iter()
                .find(|c| c.body.as_deref().is_some_and(|b| has_marker(b, marker)))
            {
                return Ok(Some(found.clone()));
            }
            match self
                .crab
                .get_page::<Comment>(&page.next)
                .await
                .map_err(|e| GithubError::from_octocrab(doing(), e))?
            {
                Some(next) => page = next,
                None => return Ok(None),
            }
        }
    }

    /// Updates our marked comment on `pr` to `body`, or creates it. `body` must carry `marker` (it is
    /// prepended when missing, so the next run finds the comment).
    pub async fn upsert_comment(
        &self,
        repo: &RepoRef,
        pr: u64,
        marker: &str,
        body: &str,
    ) -> Result<Upserted, GithubError> {
        let body = if has_marker(body, marker) {
            body.to_string()
        } else {
            format!("{marker}\n{body}")
        };
        match self.find_comment(repo, pr, marker).await? {
            Some(existing) => {
                let id = existing.id.into_inner();
                let route = format!("/repos/{}/{}/issues/comments/{id}", repo.owner, repo.name);
                // PATCH is the documented method (octocrab's update_comment sends POST, which GitHub also takes).
                let updated: Comment = self
                    .crab
                    .patch(route, Some(&serde_json::json!({ "body": body })))
                    .await
                    .map_err(|e| {
                        GithubError::from_octocrab(format!("update comment {id} on {repo}#{pr}"), e)
                    })?;
                Ok(Upserted::Updated {
                    id,
                    url: updated.html_url.to_string(),
                })
            }
            None => {
                let created = self
                    .crab
                    .issues(&repo.owner, &repo.name)
                    .create_comment(pr, &body)
                    .await
                    .map_err(|e| {
                        GithubError::from_octocrab(format!("comment on {repo}#{pr}"), e)
                    })?;
                Ok(Upserted::Created {
                    id: created.id.into_inner(),
                    url: created.html_url.to_string(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::fake::{self, FakeOptions};
    use crate::github::marker::marker;

    #[test]
    fn repo_refs_are_checked() {
        let r: RepoRef = "acme/okta-config".parse().unwrap();
        assert_eq!((r.owner.as_str(), r.name.as_str()), ("acme", "okta-config"));
        for bad in [
            "acme", "acme/", "/x", "a/b/c", "a/../b", "a/..", "a b/c", "a/b?x=1", "a/b#1",
        ] {
            assert!(bad.parse::<RepoRef>().is_err(), "{bad}");
        }
    }

    async fn setup() -> (fake::RunningFake, GithubClient, RepoRef) {
        let server = fake::spawn(FakeOptions::default()).await.unwrap();
        let client =
            GithubClient::new(&server.base_url, &Secret::new("fake-github-token")).unwrap();
        (server, client, "acme/cfg".parse().unwrap())
    }

    #[tokio::test]
    async fn creates_then_updates_one_comment() {
        let (server, client, repo) = setup().await;
        let m = marker("prod");
        let first = client
            .upsert_comment(&repo, 7, &m, &format!("{m}\nfirst"))
            .await
            .unwrap();
        assert!(matches!(first, Upserted::Created { .. }));
        let second = client
            .upsert_comment(&repo, 7, &m, &format!("{m}\nsecond"))
            .await
            .unwrap();
        assert!(matches!(second, Upserted::Updated { .. }));
        let comments = server.comments("acme", "cfg", 7);
        assert_eq!(comments.len(), 1);
        assert!(comments[0].body.ends_with("second"));
        assert!(
            second
                .url()
                .ends_with(&format!("#issuecomment-{}", comments[0].id))
        );
        assert!(
            server
                .requests()
                .iter()
                .any(|r| r.starts_with("PATCH /repos/acme/cfg/issues/comments/"))
        );
    }

    #[tokio::test]
    async fn finds_the_marker_on_a_later_page_and_ignores_other_instances() {
        let (server, client, repo) = setup().await;
        let m = marker("prod");
        for i in 0..250 {
            server.insert_comment("acme", "cfg", 7, "someone", &format!("chatter {i}"));
        }
        server.insert_comment("acme", "cfg", 7, "github-actions[bot]", &marker("staging"));
        let ours = server.insert_comment(
            "acme",
            "cfg",
            7,
            "github-actions[bot]",
            &format!("{m}\nold"),
        );
        let out = client
            .upsert_comment(&repo, 7, &m, "new body")
            .await
            .unwrap();
        assert_eq!(
            out,
            Upserted::Updated {
                id: ours,
                url: out.url().to_string()
            }
        );
        let comments = server.comments("acme", "cfg", 7);
        assert_eq!(comments.len(), 252);
        assert_eq!(comments.last().unwrap().body, format!("{m}\nnew body"));
        assert!(
            server.requests().iter().any(|r| r.contains("page=3")),
            "{:?}",
            server.requests()
        );
    }

    #[tokio::test]
    async fn forbidden_and_too_long_are_told_apart() {
        let (server, client, repo) = setup().await;
        let m = marker("prod");
        server.set_forbid_writes(true);
        let err = client.upsert_comment(&repo, 7, &m, "x").await.unwrap_err();
        assert!(err.is_forbidden(), "{err}");
        assert!(
            err.to_string()
                .contains("Resource not accessible by integration")
        );
        server.set_forbid_writes(false);
        let err = client
            .upsert_comment(&repo, 7, &m, &"y".repeat(70_000))
            .await
            .unwrap_err();
        assert!(!err.is_forbidden());
        assert!(
            err.to_string()
                .contains("Body is too long (maximum is 65536 characters)"),
            "{err}"
        );
        assert!(server.comments("acme", "cfg", 7).is_empty());
    }

    #[tokio::test]
    async fn a_wrong_token_is_reported_without_the_token() {
        let server = fake::spawn(FakeOptions::default()).await.unwrap();
        let client = GithubClient::new(&server.base_url, &Secret::new("wrong-SECRET")).unwrap();
        let err = client
            .upsert_comment(&"acme/cfg".parse().unwrap(), 1, &marker("p"), "x")
            .await
            .unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(text.contains("401"), "{text}");
        assert!(!text.contains("SECRET"));
    }
}
