//! The Okta emulator: one in-memory model of an org, used directly by fast tests and served over HTTP.
//!
//! - [`seed`]: the seed file; [`state`] + [`users`] + [`groups`] + [`logs`]: the org and its operations
//!   with Okta's semantics; [`search`]: Okta's search/filter language; [`schema`]: the user schema.
//! - [`emulator::Emulator`]: the cheap-Clone handle implementing `OktaApi` in memory.
//! - [`server`]: the HTTP face (axum) with auth, pagination, rate limits ([`ratelimit`]) and faults ([`faults`]).
//! - [`generate`]: synthetic orgs for demos and benchmarks.
//!
//! Behaviour a client can rely on (and the assumptions where Okta's behaviour is not recorded):
//! - Auth: `Authorization: SSWS <token>` (the space is optional, as Okta's Python SDK v3 omits it) or
//!   `Bearer <token>` from `/oauth2/v1/token` (client credentials + `private_key_jwt`, RS256/384/512 or
//!   ES256/384, `aud` = `<emulator URL>/oauth2/v1/token`, tokens live 3600 s). Unknown token: 401
//!   E0000011; missing scope: 403 E0000006. `okta.x.manage` also grants `okta.x.read`.
//! - Rate limits: `X-Rate-Limit-Limit` is the limit binding this token (with Okta's 50 % per-token share
//!   in the Workforce profile, e.g. 300 for the 600/min users bucket). `Date` and `X-Rate-Limit-Reset`
//!   are real epoch seconds even with a time scale: a client waits `Reset - Date + 1` seconds, as
//!   Okta's SDKs do, and a scaled window (60 s / scale) has passed by then.
//! - Assumptions: adding an existing member / removing a non-member answers 204 and changes nothing;
//!   OKTA_GROUP names are unique case-insensitively (APP_GROUPs may share names); `POST /api/v1/users`
//!   makes ACTIVE users (STAGED with `activate=false`); `search`/`filter` are immediately
//!   consistent unless `Emulator::set_search_lag` makes them lag like Okta's index.
//! - Admin endpoints (no auth) under `/_sim/`: `faults` (GET/PUT/DELETE, JSON `faults::Faults`),
//!   `counters` (GET/DELETE, JSON `faults::Counters`), `health`.

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
