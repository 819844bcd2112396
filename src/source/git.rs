//! Reading the config repository from git with gix: a local repository at a revision, a URL cloned once into a
//! cache and fetched afterwards (read at `origin/<branch>`), and the files changed between two revisions.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use gix::bstr::ByteSlice;
use sha2::{Digest, Sha256};

use super::folder::too_large;
use super::{ConfigTree, GIT_TOKEN_ENV, SourceError, git_err, is_url, redact};
use crate::config::guard::MAX_FILE_BYTES;
use crate::config::{INSTANCE_FILE, is_config_file};
use crate::secret::Secret;

/// How a file changed between two revisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Added,
    Modified,
    Deleted,
}

/// One changed file (path relative to the config repository's root, with `/`). A rename is a deletion plus an addition.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct ChangedFile {
    pub path: String,
    pub change: Change,
}

/// The token for private https repositories, if set.
fn token() -> Option<Secret> {
    std::env::var(GIT_TOKEN_ENV)
        .ok()
        .filter(|t| !t.trim().is_empty())
        .map(Secret::new)
}

type CredentialFn = Box<
    dyn FnMut(
            gix::credentials::helper::Action,
        ) -> gix::Result<Option<gix::credentials::protocol::Outcome>>
        + Send,
>;

/// Answers the server's credential request with the token (as GitHub expects: user `x-access-token`).
fn credentials(token: Secret) -> CredentialFn {
    Box::new(move |action| match action {
        gix::credentials::helper::Action::Get(ctx) => {
            Ok(Some(gix::credentials::protocol::Outcome {
                credentials: gix::sec::identity::Credentials::UsernamePassword {
                    username: "x-access-token".to_string(),
                    password: token.expose().to_string(),
                    oauth_refresh_token: None,
                },
                next: ctx.into(),
            }))
        }
        _ => Ok(None),
    })
}

/// `<last path segment>-<hash of the URL>`: one cache folder per remote.
fn cache_name(shown_url: &str) -> String {
    let last: String = shown_url
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .rsplit(['/', ':'])
        .next()
        .unwrap_or("repo")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(40)
        .collect();
    let hash = hex::encode(Sha256::digest(shown_url.as_bytes()));
    format!(
        "{}-{}",
        if last.is_empty() { "repo" } else { &last },
        &hash[..16]
    )
}

/// Clones `url` into `cache` the first time (`git clone --no-checkout`), fetches it on later calls.
pub(crate) fn clone_or_fetch(url: &str, cache: &Path) -> Result<gix::Repository, SourceError> {
    crate::tls::install_crypto_provider();
    let shown = redact(url);
    let name = cache_name(&shown);
    let dir = cache.join(&name);
    if dir.join(".git").exists() {
        let repo = gix::open(&dir).map_err(git_err("open of the cached clone", &shown))?;
        fetch(&repo, &shown)?;
        return Ok(repo);
    }
    std::fs::create_dir_all(cache).map_err(|source| SourceError::Io {
        path: cache.display().to_string(),
        source,
    })?;
    // Clone next to the final place and rename, so that a concurrent run never sees a half-made clone.
    let tmp = cache.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let mut prepare = gix::prepare_clone(url, &tmp).map_err(git_err("clone", &shown))?;
    if let Some(t) = token() {
        prepare = prepare.configure_connection(move |conn| {
            conn.set_credentials(credentials(t.clone()));
            Ok(())
        });
    }
    let result = prepare.fetch_only(gix::progress::Discard, &AtomicBool::new(false));
    drop(prepare);
    let (repo, _) = result.map_err(git_err("clone", &shown))?;
    drop(repo);
    if let Err(e) = std::fs::rename(&tmp, &dir) {
        let _ = std::fs::remove_dir_all(&tmp);
        if !dir.join(".git").exists() {
            return Err(SourceError::Io {
                path: dir.display().to_string(),
                source: e,
            });
        }
    }
    gix::open(&dir).map_err(git_err("open of the cached clone", &shown))
}

fn fetch(repo: &gix::Repository, shown: &str) -> Result<(), SourceError> {
    let remote = repo
        .find_default_remote(gix::remote::Direction::Fetch)
        .ok_or_else(|| SourceError::Git {
            action: "fetch",
            origin: shown.to_string(),
            source: "the cached clone has no remote; delete its cache folder".into(),
        })?
        .map_err(git_err("fetch", shown))?;
    let mut conn = remote
        .connect(gix::remote::Direction::Fetch)
        .map_err(git_err("fetch (connect)", shown))?;
    if let Some(t) = token() {
        conn.set_credentials(credentials(t));
    }
    conn.prepare_fetch(gix::progress::Discard, Default::default())
        .map_err(git_err("fetch", shown))?
        .receive(gix::progress::Discard, &AtomicBool::new(false))
        .map_err(git_err("fetch", shown))?;
    Ok(())
}

/// The first candidate that names a commit.
fn find_commit<'r>(repo: &'r gix::Repository, candidates: &[String]) -> Option<gix::Commit<'r>> {
    candidates.iter().find_map(|c| {
        repo.rev_parse_single(c.as_str())
            .ok()
            .and_then(|id| id.object().ok())
            .and_then(|o| o.peel_to_commit().ok())
    })
}

/// In a cached clone a branch name means the remote's branch (local branches are never moved by fetch).
fn remote_candidates(repo: &gix::Repository, rev: Option<&str>) -> Vec<String> {
    match rev {
        Some(r) => vec![
            format!("refs/remotes/origin/{r}"),
            format!("refs/tags/{r}"),
            r.to_string(),
        ],
        None => {
            let mut c = Vec::new();
            if let Ok(Some(head)) = repo.head_name() {
                c.push(format!("refs/remotes/origin/{}", head.shorten()));
            }
            c.push("refs/remotes/origin/HEAD".to_string());
            c
        }
    }
}

/// Reads a cached clone at `rev` (or the remote's default branch).
pub(crate) fn read_remote_rev(
    repo: &gix::Repository,
    shown: &str,
    rev: Option<&str>,
) -> Result<ConfigTree, SourceError> {
    let commit = find_commit(repo, &remote_candidates(repo, rev)).ok_or_else(|| match rev {
        Some(r) => SourceError::RevisionNotFound {
            rev: r.to_string(),
            origin: shown.to_string(),
        },
        None => SourceError::EmptyRepository {
            origin: shown.to_string(),
        },
    })?;
    let label = rev.unwrap_or("the default branch");
    read_commit(repo, &commit, "", shown, label)
}

/// The repository holding `path`, and `path`'s place inside its work tree (`""` at the root).
fn open_local(path: &Path, rev: &str) -> Result<(gix::Repository, String), SourceError> {
    let spec = path.display().to_string();
    let repo = gix::discover(path).map_err(|e| SourceError::NotARepository {
        spec: spec.clone(),
        rev: rev.to_string(),
        source: Box::new(e),
    })?;
    let prefix = match repo.workdir() {
        Some(wd) => {
            let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
            let rel: PathBuf = canon(path)
                .strip_prefix(canon(wd))
                .map(Path::to_path_buf)
                .unwrap_or_default();
            rel.to_string_lossy().replace('\\', "/")
        }
        None => String::new(),
    };
    Ok((repo, prefix))
}

/// Reads the folder `path` (inside a local git repository) at `rev`.
pub(crate) fn read_local_rev(path: &Path, rev: &str) -> Result<ConfigTree, SourceError> {
    let (repo, prefix) = open_local(path, rev)?;
    let shown = path.display().to_string();
    if repo.head().map(|h| h.is_unborn()).unwrap_or(false) {
        return Err(SourceError::EmptyRepository { origin: shown });
    }
    let commit =
        find_commit(&repo, &[rev.to_string()]).ok_or_else(|| SourceError::RevisionNotFound {
            rev: rev.to_string(),
            origin: shown.clone(),
        })?;
    read_commit(&repo, &commit, &prefix, &shown, rev)
}

fn read_commit(
    repo: &gix::Repository,
    commit: &gix::Commit<'_>,
    prefix: &str,
    shown: &str,
    label: &str,
) -> Result<ConfigTree, SourceError> {
    let mut tree = commit
        .tree()
        .map_err(git_err("read of the commit's tree", shown))?;
    if !prefix.is_empty() {
        let entry = tree
            .lookup_entry_by_path(prefix)
            .map_err(git_err("tree lookup", shown))?
            .ok_or_else(|| SourceError::NotInTree {
                spec: shown.to_string(),
                rev: label.to_string(),
            })?;
        tree = entry
            .object()
            .and_then(|o| o.peel_to_tree())
            .map_err(git_err("tree lookup", shown))?;
    }
    let mut out = ConfigTree {
        commit: Some(commit.id.to_string()),
        origin: format!("{shown} at {label}"),
        ..ConfigTree::default()
    };
    for name in [INSTANCE_FILE, "dyngroups.yml"] {
        if let Some(e) = tree
            .lookup_entry_by_path(name)
            .map_err(git_err("tree lookup", shown))?
        {
            take(repo, e.mode(), e.object_id(), name, &mut out, shown)?;
        }
    }
    if let Some(rules) = tree
        .lookup_entry_by_path("rules")
        .map_err(git_err("tree lookup", shown))?
        && rules.mode().is_tree()
    {
        let rules_tree = rules
            .object()
            .and_then(|o| o.peel_to_tree())
            .map_err(git_err("tree lookup", shown))?;
        let entries = rules_tree
            .traverse()
            .breadthfirst
            .files()
            .map_err(git_err("tree traversal", shown))?;
        for e in entries {
            let Ok(p) = e.filepath.to_str() else {
                out.skipped.insert(
                    format!("rules/{}", e.filepath.to_str_lossy()),
                    "file name is not valid UTF-8: rename it".to_string(),
                );
                continue;
            };
            let path = format!("rules/{p}");
            if e.mode.is_tree() || !is_config_file(&path) {
                continue;
            }
            take(repo, e.mode, e.oid, &path, &mut out, shown)?;
        }
    }
    Ok(out)
}

fn take(
    repo: &gix::Repository,
    mode: gix::object::tree::EntryMode,
    id: gix::ObjectId,
    path: &str,
    out: &mut ConfigTree,
    shown: &str,
) -> Result<(), SourceError> {
    if mode.is_link() {
        out.skipped.insert(
            path.to_string(),
            "this file is a symbolic link; config files must be regular files (git stores links, not their targets)".to_string(),
        );
        return Ok(());
    }
    if !mode.is_blob() {
        return Ok(());
    }
    let size = repo
        .find_header(id)
        .map_err(git_err("object lookup", shown))?
        .size();
    if size > MAX_FILE_BYTES {
        out.skipped.insert(path.to_string(), too_large(size));
        return Ok(());
    }
    let data = repo
        .find_object(id)
        .map_err(git_err("object read", shown))?
        .detach()
        .data;
    out.files.insert(path.to_string(), data);
    Ok(())
}

/// Files changed between `base_rev` and `head_rev` of the config repository `spec` (path or URL; URLs use the
/// default cache). Sorted by path. Blocking (gix).
pub fn changed_files(
    spec: &str,
    base_rev: &str,
    head_rev: &str,
) -> Result<Vec<ChangedFile>, SourceError> {
    changed_files_in(spec, base_rev, head_rev, None)
}

/// [`changed_files`] with an explicit cache folder for URLs.
pub fn changed_files_in(
    spec: &str,
    base_rev: &str,
    head_rev: &str,
    cache_dir: Option<&Path>,
) -> Result<Vec<ChangedFile>, SourceError> {
    let (repo, prefix, shown, remote) = if is_url(spec) {
        let cache = match cache_dir {
            Some(c) => c.to_path_buf(),
            None => super::default_cache_dir().ok_or(SourceError::NoCacheDir)?,
        };
        (
            clone_or_fetch(spec, &cache)?,
            String::new(),
            redact(spec),
            true,
        )
    } else {
        let path = Path::new(spec);
        if !path.exists() {
            return Err(SourceError::NotFound {
                spec: spec.to_string(),
            });
        }
        let (repo, prefix) = open_local(path, base_rev)?;
        (repo, prefix, spec.to_string(), false)
    };
    let resolve = |rev: &str| {
        let candidates = if remote {
            remote_candidates(&repo, Some(rev))
        } else {
            vec![rev.to_string()]
        };
        let commit =
            find_commit(&repo, &candidates).ok_or_else(|| SourceError::RevisionNotFound {
                rev: rev.to_string(),
                origin: shown.clone(),
            })?;
        commit
            .tree()
            .map_err(git_err("read of the commit's tree", &shown))
    };
    let old = resolve(base_rev)?;
    let new = resolve(head_rev)?;
    let changes = repo
        .diff_tree_to_tree(Some(&old), Some(&new), None)
        .map_err(git_err("diff", &shown))?;
    let mut out = Vec::new();
    let mut push =
        |location: &gix::bstr::BStr, mode: gix::object::tree::EntryMode, change: Change| {
            if mode.is_tree() {
                return;
            }
            let full = location.to_str_lossy();
            let rel = if prefix.is_empty() {
                Some(full.to_string())
            } else {
                full.strip_prefix(&format!("{prefix}/")).map(str::to_string)
            };
            if let Some(path) = rel {
                out.push(ChangedFile { path, change });
            }
        };
    use gix::object::tree::diff::ChangeDetached as C;
    for c in changes {
        match c {
            C::Addition {
                location,
                entry_mode,
                ..
            } => push(location.as_ref(), entry_mode, Change::Added),
            C::Deletion {
                location,
                entry_mode,
                ..
            } => push(location.as_ref(), entry_mode, Change::Deleted),
            C::Modification {
                location,
                entry_mode,
                ..
            } => push(location.as_ref(), entry_mode, Change::Modified),
            C::Rewrite {
                source_location,
                source_entry_mode,
                location,
                entry_mode,
                copy,
                ..
            } => {
                if !copy {
                    push(source_location.as_ref(), source_entry_mode, Change::Deleted);
                }
                push(location.as_ref(), entry_mode, Change::Added);
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_names_are_stable_and_safe() {
        let a = cache_name("https://github.com/acme/okta-groups.git");
        assert!(a.starts_with("okta-groups-"), "{a}");
        assert_eq!(a, cache_name("https://github.com/acme/okta-groups.git"));
        assert_ne!(a, cache_name("https://github.com/other/okta-groups.git"));
        assert!(cache_name("git@github.com:acme/x.git").starts_with("x-"));
    }

    #[test]
    fn urls_are_recognised_and_redacted() {
        assert!(super::super::is_url("file:///tmp/x"));
        assert!(super::super::is_url("git@github.com:acme/x.git"));
        assert!(!super::super::is_url("./config"));
        assert!(!super::super::is_url("/tmp/a@b:c/x"));
        assert_eq!(
            redact("https://user:s3cret@github.com/a/b.git"),
            "https://github.com/a/b.git"
        );
    }
}
