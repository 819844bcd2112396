//! The Okta emulator: one in-memory model of an org, used directly by fast tests and served over HTTP.
//!
//! - [`seed`]: the seed file; [`state`] + [`users`] + [`groups`] + [`logs`]: the org and its operations
//!   with Okta's semantics; [`search`]: Okta's search/filter language; [`schema`]: the user schema.
//! - [`emulator::Emulator`]: the cheap-Clone handle implementing `OktaApi` in memory.
//! - [`server`]: the HTTP face (axum) with auth, pagination, rate limits ([`ratelimit`]) and faults ([`faults`]).
//! - [`generate`]: synthetic orgs for demos and benchmarks.

pub mod emulator;
pub mod error;
pub mod faults;
pub mod generate;
pub mod groups;
pub mod ids;
pub mod logs;
pub mod ratelimit;
pub mod schema;
pub mod search;
pub mod seed;
pub mod server;
pub mod state;
pub mod users;

pub use emulator::Emulator;
pub use error::ApiError;
pub use seed::{Seed, SeedError};
pub use users::Lifecycle;
