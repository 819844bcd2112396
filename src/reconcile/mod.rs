//! The one orchestration (read config, observe Okta, plan, apply, record) used by the CLI and the daemon.
