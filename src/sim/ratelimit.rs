//! Okta's per-minute rate limits as the emulator applies them: buckets (API-NOTES §2.1/§2.4), a
//! Workforce profile and an unlimited one, the per-token share, windows that start at a bucket's
//! first request, and a time scale (60.0 = a "minute" lasts one real second).
//!
//! Headers: `X-Rate-Limit-Limit` is the limit that binds this caller (the per-token share of the
//! bucket when a share applies), `-Remaining` what is left of it, and `-Reset` the UTC epoch second
//! (real time, rounded up) when the window ends. The `Date` header is real time too, so a client
//! waiting `Reset - Date + 1` seconds (as Okta's SDKs do) waits about one scaled window.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// Which counter a request draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    /// `GET|POST /api/v1/groups`, `GET /api/v1/groups/{id}/users`, `PUT|DELETE /api/v1/groups/{id}/users/{uid}`.
    Groups,
    /// `GET|PUT|DELETE /api/v1/groups/{id}`.
    GroupById,
    /// `GET|POST /api/v1/users`.
    Users,
    /// `GET /api/v1/users/{idOrLogin}`.
    UserById,
    /// `POST|PUT|DELETE /api/v1/users/{id}` and lifecycle operations.
    UserMutate,
    /// `/api/v1/meta/schemas/...`.
    Schema,
    /// `/api/v1/logs`.
    Logs,
    /// `/oauth2/v1/token`.
    Token,
    /// Anything else under `/api/v1`.
    Other,
}

impl Bucket {
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Groups => "groups",
            Bucket::GroupById => "group_by_id",
            Bucket::Users => "users",
            Bucket::UserById => "user_by_id",
            Bucket::UserMutate => "user_mutate",
            Bucket::Schema => "schema",
            Bucket::Logs => "logs",
            Bucket::Token => "token",
            Bucket::Other => "other",
        }
    }
}

/// Per-minute limits per bucket, the per-token share and the concurrency cap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BucketLimits {
    pub groups: u32,
    pub group_by_id: u32,
    pub users: u32,
    pub user_by_id: u32,
    pub user_mutate: u32,
    pub schema: u32,
    pub logs: u32,
    pub token: u32,
    pub other: u32,
    /// Share of a bucket one token may use (Okta's default 0.5); 1.0 = no per-token cap.
    pub token_share: f64,
    /// Requests in flight at once, org-wide; `None` = no cap.
    pub concurrency: Option<usize>,
}

impl Default for BucketLimits {
    fn default() -> Self {
        BucketLimits::workforce()
    }
}

impl BucketLimits {
    /// Okta's published Workforce limits (API-NOTES §2.4), 50 % per token, 75 in flight.
    pub fn workforce() -> BucketLimits {
        BucketLimits {
            groups: 500,
            group_by_id: 1000,
            users: 600,
            user_by_id: 2000,
            user_mutate: 600,
            schema: 1200,
            logs: 120,
            token: 150,
            other: 1200,
            token_share: 0.5,
            concurrency: Some(75),
        }
    }

    /// No practical limit (headers still sent, with a large limit).
    pub fn unlimited() -> BucketLimits {
        let big = 1_000_000;
        BucketLimits {
            groups: big,
            group_by_id: big,
            users: big,
            user_by_id: big,
            user_mutate: big,
            schema: big,
            logs: big,
            token: big,
            other: big,
            token_share: 1.0,
            concurrency: None,
        }
    }

    /// Every bucket at `n` per minute, no per-token share, no concurrency cap (tests).
    pub fn uniform(n: u32) -> BucketLimits {
        BucketLimits {
            groups: n,
            group_by_id: n,
            users: n,
            user_by_id: n,
            user_mutate: n,
            schema: n,
            logs: n,
            token: n,
            other: n,
            token_share: 1.0,
            concurrency: None,
        }
    }

    pub fn limit(&self, b: Bucket) -> u32 {
        match b {
            Bucket::Groups => self.groups,
            Bucket::GroupById => self.group_by_id,
            Bucket::Users => self.users,
            Bucket::UserById => self.user_by_id,
            Bucket::UserMutate => self.user_mutate,
            Bucket::Schema => self.schema,
            Bucket::Logs => self.logs,
            Bucket::Token => self.token,
            Bucket::Other => self.other,
        }
    }
}

/// A named profile, or explicit limits.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum RateProfile {
    Workforce,
    #[default]
    Unlimited,
    Custom(BucketLimits),
}

impl RateProfile {
    pub fn limits(&self) -> BucketLimits {
        match self {
            RateProfile::Workforce => BucketLimits::workforce(),
            RateProfile::Unlimited => BucketLimits::unlimited(),
            RateProfile::Custom(l) => l.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    used: u32,
}

/// The outcome for one request, with what the headers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Real time until the binding window ends.
    pub reset_in: Duration,
}

#[derive(Debug)]
pub struct RateLimiter {
    limits: BucketLimits,
    window: Duration,
    windows: HashMap<(Bucket, Option<String>), Window>,
}

impl RateLimiter {
    /// `time_scale` 60.0 makes a one-minute window last one real second.
    pub fn new(limits: BucketLimits, time_scale: f64) -> RateLimiter {
        let scale = if time_scale.is_finite() && time_scale > 0.0 {
            time_scale
        } else {
            1.0
        };
        RateLimiter {
            limits,
            window: Duration::from_secs_f64(60.0 / scale),
            windows: HashMap::new(),
        }
    }

    pub fn limits(&self) -> &BucketLimits {
        &self.limits
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    fn current(&mut self, key: (Bucket, Option<String>), now: Instant) -> Window {
        let len = self.window;
        let w = self.windows.entry(key).or_insert(Window {
            start: now,
            used: 0,
        });
        if now.duration_since(w.start) >= len {
            *w = Window {
                start: now,
                used: 0,
            };
        }
        *w
    }

    /// Counts a request of `principal` (a token) against `bucket`, if there is room.
    pub fn check(&mut self, bucket: Bucket, principal: Option<&str>, now: Instant) -> Decision {
        let org_limit = self.limits.limit(bucket);
        let share = self.limits.token_share;
        let tok_limit = match principal {
            Some(_) if share < 1.0 => Some(((org_limit as f64 * share).floor() as u32).max(1)),
            _ => None,
        };
        let org_key = (bucket, None);
        let org = self.current(org_key.clone(), now);
        let tok_key = principal.map(|p| (bucket, Some(p.to_string())));
        let tok = match (&tok_key, tok_limit) {
            (Some(k), Some(_)) => Some(self.current(k.clone(), now)),
            _ => None,
        };
        let org_left = org_limit.saturating_sub(org.used);
        let tok_left = tok.zip(tok_limit).map(|(w, l)| l.saturating_sub(w.used));
        let allowed = org_left > 0 && tok_left.is_none_or(|l| l > 0);
        if allowed {
            if let Some(w) = self.windows.get_mut(&org_key) {
                w.used += 1;
            }
            if tok.is_some()
                && let Some(k) = &tok_key
                && let Some(w) = self.windows.get_mut(k)
            {
                w.used += 1;
            }
        }
        let org_rem = org_limit.saturating_sub(org.used + u32::from(allowed));
        let ends = |w: &Window| (w.start + self.window).saturating_duration_since(now);
        match (tok, tok_limit) {
            (Some(tw), Some(tl)) => {
                let tok_rem = tl.saturating_sub(tw.used + u32::from(allowed));
                let binding_org = org_rem < tok_rem;
                Decision {
                    allowed,
                    limit: tl,
                    remaining: org_rem.min(tok_rem),
                    reset_in: if binding_org { ends(&org) } else { ends(&tw) },
                }
            }
            _ => Decision {
                allowed,
                limit: org_limit,
                remaining: org_rem,
                reset_in: ends(&org),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn windows_start_at_first_request_and_share_per_token() {
        let mut l = BucketLimits::uniform(4);
        l.token_share = 0.5;
        let mut rl = RateLimiter::new(l, 60.0);
        let t0 = Instant::now();
        let d = rl.check(Bucket::Groups, Some("a"), t0);
        assert!(d.allowed);
        assert_eq!((d.limit, d.remaining), (2, 1));
        assert_eq!(d.reset_in, Duration::from_secs(1));
        assert!(rl.check(Bucket::Groups, Some("a"), t0).allowed);
        let d = rl.check(Bucket::Groups, Some("a"), t0);
        assert!(!d.allowed);
        assert_eq!(d.remaining, 0);
        // Another token still has its share; a different bucket is untouched.
        assert!(rl.check(Bucket::Groups, Some("b"), t0).allowed);
        assert!(rl.check(Bucket::GroupById, Some("a"), t0).allowed);
        // The window restarts after a scaled minute.
        tokio::time::advance(Duration::from_millis(1001)).await;
        let d = rl.check(Bucket::Groups, Some("a"), Instant::now());
        assert!(d.allowed);
        assert_eq!(d.remaining, 1);
    }

    #[test]
    fn workforce_numbers() {
        let w = BucketLimits::workforce();
        assert_eq!(
            (w.groups, w.group_by_id, w.users, w.user_by_id, w.logs),
            (500, 1000, 600, 2000, 120)
        );
        assert_eq!(w.concurrency, Some(75));
    }
}
