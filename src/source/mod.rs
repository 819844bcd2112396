//! The config repository's files, read from a plain folder or from git (gix) at a revision, and the list of
//! files changed between two revisions (for the pull-request view).
//!
//! Only the files dyngroups uses are read (`dyngroups.yaml` and `rules/**/*.yaml`); files over
//! `config::guard::MAX_FILE_BYTES` and symlinks are not loaded but listed in `ConfigTree::skipped`, which
//! `config::load` reports as problems.
//!
//! gix is blocking: async callers must use `tokio::task::spawn_blocking(move || source::read(..))`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub mod folder;
pub mod git;

pub use git::{Change, ChangedFile, changed_files, changed_files_in};

/// The files of one revision of the config repository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigTree {
    /// Path relative to the repository root (with `/`) -> contents.
    pub files: BTreeMap<String, Vec<u8>>,
    /// The commit the files were read from; None for a folder read as it is on disk.
    pub commit: Option<String>,
    /// Where they came from, for messages (a path or URL, never with credentials).
    pub origin: String,
    /// Config files that were found but not loaded: path -> why (too large, a symlink, ...).
    pub skipped: BTreeMap<String, String>,
}

/// Environment variable holding a token for private https repositories (GitHub: a PAT or GITHUB_TOKEN).
pub const GIT_TOKEN_ENV: &str = "DYNGROUPS_GIT_TOKEN";

/// Why the config repository could not be read (its content is judged later by `config::load`).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(
        "the config repository {spec} does not exist: pass --config with a folder or a git URL"
    )]
    NotFound { spec: String },
    #[error("cannot read {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{spec} is not inside a git repository, so --rev {rev} cannot be read; drop --rev to read the folder as it is"
    )]
    NotARepository {
        spec: String,
        rev: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "the git repository {origin} has no commits yet: commit dyngroups.yaml and rules/ first"
    )]
    EmptyRepository { origin: String },
    #[error(
        "revision `{rev}` was not found in {origin}: give a branch, tag or commit that exists there"
    )]
    RevisionNotFound { rev: String, origin: String },
    #[error("{spec} is not part of the repository's tree at {rev}")]
    NotInTree { spec: String, rev: String },
    #[error("git {action} failed for {origin}")]
    Git {
        action: &'static str,
        origin: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "no cache folder for cloned config repositories: pass one, or set XDG_CACHE_HOME or HOME"
    )]
    NoCacheDir,
}

pub(crate) fn git_err(
    action: &'static str,
    origin: &str,
) -> impl FnOnce(gix::Error) -> SourceError + use<> {
    let origin = origin.to_string();
    move |e| SourceError::Git {
        action,
        origin,
        source: Box::new(e),
    }
}

/// Whether `spec` is a git URL (anything with a scheme, or scp-like `git@host:path`) rather than a path.
pub fn is_url(spec: &str) -> bool {
    if spec.contains("://") {
        return true;
    }
    // scp-like: user@host:path (a Windows drive `C:\` or a plain path never has `@` before the colon).
    match (spec.find('@'), spec.find(':')) {
        (Some(at), Some(colon)) => at < colon && !spec[..at].contains('/'),
        _ => false,
    }
}

/// A URL or path safe to print: user and password removed.
pub fn redact(spec: &str) -> String {
    match url::Url::parse(spec) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => spec.to_string(),
    }
}

/// Default cache for clones: `$XDG_CACHE_HOME/dyngroups/repos` or `~/.cache/dyngroups/repos`.
pub fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("dyngroups").join("repos"))
}

/// Reads the config repository.
///
/// - `spec` a folder, `rev` None: the folder as it is on disk (`commit` None).
/// - `spec` a folder inside a git repository, `rev` Some: that folder's tree at the revision (branch, tag, commit).
/// - `spec` a URL (`https://`, `ssh://`, `file://`, `git@host:path`): cloned once into `cache_dir` (default
///   [`default_cache_dir`]), fetched on later calls, then read at `rev` (a branch means the remote's branch,
///   `origin/<rev>`) or at the remote's default branch. For https, a token in `DYNGROUPS_GIT_TOKEN` is offered
///   when the server asks for credentials; it is never logged or stored.
///
/// Blocking (gix): call from async code through `tokio::task::spawn_blocking`.
pub fn read(
    spec: &str,
    rev: Option<&str>,
    cache_dir: Option<&Path>,
) -> Result<ConfigTree, SourceError> {
    if is_url(spec) {
        let cache = match cache_dir {
            Some(c) => c.to_path_buf(),
            None => default_cache_dir().ok_or(SourceError::NoCacheDir)?,
        };
        let repo = git::clone_or_fetch(spec, &cache)?;
        return git::read_remote_rev(&repo, &redact(spec), rev);
    }
    let path = Path::new(spec);
    if !path.exists() {
        return Err(SourceError::NotFound {
            spec: spec.to_string(),
        });
    }
    match rev {
        None => folder::read(path),
        Some(rev) => git::read_local_rev(path, rev),
    }
}
