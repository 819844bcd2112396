//! The pull-request assess comment on GitHub (octocrab): create once, update on every push.
//!
//! - [`diff`]: what a pull request changes (base plan vs head plan), pure.
//! - [`comment`] and [`sections`]: the Markdown, shrunk to GitHub's size limit; [`escape`] makes untrusted
//!   text inert; [`marker`] identifies our comment.
//! - [`client`]: find our comment across pages and update it, else create it (octocrab).
//! - [`publish`]: comment + step summary, with the fork (403) fallback.
//! - [`summary`]: `$GITHUB_STEP_SUMMARY` and `$GITHUB_OUTPUT` for the Action.
//! - [`base`]: `assess --base REV`, which plans both revisions against one observation of the org.
//! - [`command`]: the `dyngroups comment` command.
//! - [`fake`]: a fake GitHub API (axum) for tests and local trials.

pub mod base;
pub mod client;
pub mod command;
pub mod comment;
pub mod diff;
pub mod escape;
pub mod fake;
pub mod marker;
pub mod publish;
pub mod sections;
pub mod summary;
