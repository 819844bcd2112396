//! The one integration-test binary (one link instead of many). Each area is a module; `support` holds the
//! shared test context (emulator start-up, temp dirs, the CLI runner).

mod cli_e2e;
mod client;
mod config;
mod gitops;
mod incremental;
mod planner;
mod reliability;
mod sim;
mod support;
mod sync;
