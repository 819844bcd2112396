//! The pull-request assess comment on GitHub (octocrab): create once, update on every push.
