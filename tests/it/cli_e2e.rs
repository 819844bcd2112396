//! Integration tests: cli_e2e.
