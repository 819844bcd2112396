//! The Okta emulator: one in-memory model of an org, used directly by fast tests and served over HTTP.
