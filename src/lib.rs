//! dyngroups: Okta groups from user profile attributes, driven by GitOps.
//!
//! The data's trip, one module per step:
//!
//! - [`source`]: the config repository, read from a folder or from git (gix) at a revision.
//! - [`config`]: YAML rule and instance files -> a validated [`config::model::Config`], with every
//!   problem reported as `file:line:col: message`.
//! - [`okta`]: Okta's wire types, the [`okta::api::OktaApi`] trait, the paced and retrying HTTP client,
//!   and `observe`, which reads the org into the planner's input.
//! - [`plan`]: the pure planner (no I/O, no clock) from (config, org, remembered state) to a [`plan::model::Plan`].
//! - [`render`]: the plan and its diff as text, Markdown and JSON.
//! - [`apply`]: executes exactly a plan's actions, journalled, in a safe order, under the failsafe.
//! - [`store`]: the sled store (managed groups, user state, history, audit trail, journal).
//! - [`reconcile`]: the one orchestration called by the CLI's `sync` and by the daemon.
//! - [`github`]: the pull-request comment (octocrab).
//! - [`daemon`]: the long-running hourly reconciler with `/healthz` and `/metrics`.
//! - [`sim`]: the Okta emulator (in memory, and over HTTP) used by tests, benchmarks and the demo.
//! - [`bench`]: `dyngroups bench`, the measured figures (planner sizes, syncs at Okta's rate limits).
//! - [`cli`]: the command line; each command is a thin wrapper over the modules above.

pub mod apply;
pub mod bench;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod github;
pub mod okta;
pub mod plan;
pub mod reconcile;
pub mod render;
pub mod secret;
pub mod sim;
pub mod source;
pub mod store;
pub mod tls;
