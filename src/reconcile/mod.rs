//! The one orchestration (read config, observe Okta, plan, check the failsafe, apply, record) used by
//! the CLI's `sync`/`apply` and by the daemon.
//!
//! Order of a run: journal recovery (phase 1, direct lookups) -> observe -> journal recovery (phase 2,
//! against the observed org) -> plan -> refuse if the store is new but Okta already holds groups with our
//! names -> failsafe -> apply -> history record -> flush. The caller opens the store (which takes its
//! exclusive lock for the run: one sync at a time per store) and builds the Okta client.
//! A long-running process (the daemon) must open the store for each run and drop it afterwards, so that
//! `dyngroups status` and a manual sync can use it between runs.

mod counting;
pub mod incremental;
mod report;
mod run;

pub use counting::Counting;
pub use incremental::ObserveInfo;
pub use report::{ReconcileError, SyncOptions, SyncReport};
pub use run::{Prepared, ReinitReport, apply_saved, prepare, reinit, sync};
