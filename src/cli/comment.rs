//! `dyngroups comment --repo OWNER/NAME --pr N [--base REV] [--github-url URL] [--dry-run]`: post or update
//! the assess comment on a pull request. The command lives in `github::command`; this file is its CLI slot.

pub use crate::github::command::{Args, run};
