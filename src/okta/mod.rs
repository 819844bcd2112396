//! Everything about Okta: wire types, the `OktaApi` trait, the HTTP client, and reading the org for the planner.

pub mod api;
pub mod client;
pub mod error;
pub mod model;
pub mod observe;
