//! Pacing to Okta's rate-limit buckets: which bucket a request counts against (API-NOTES §2.1/§2.4), what
//! Okta last told us about it (`X-Rate-Limit-Limit/-Remaining/-Reset`), and how long the next request must wait.
//!
//! Policy: we may use `share` of each bucket's limit. While more than half of that is left we send freely (small
//! syncs stay fast); below that, the remaining calls are spread evenly over the time until the window resets, so
//! the budget runs out exactly when the window ends instead of early (no 429). When nothing is left we wait for
//! the reset. Requests in flight count as spent. A global semaphore caps concurrency (never above Okta's 75).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::retry::RateHeaders;

/// Okta's org-wide concurrency cap (Workforce / Customer Identity).
pub const OKTA_MAX_CONCURRENCY: usize = 75;

/// An Okta rate-limit bucket, as far as the endpoints dyngroups calls are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    /// `GET|POST /api/v1/users`.
    Users,
    /// `GET /api/v1/users/{idOrLogin}`.
    UserById,
    /// `POST|PUT|DELETE /api/v1/users/{id}`.
    UserWrite,
    /// `GET|POST /api/v1/groups`, `GET /api/v1/groups/{id}/users`, `PUT|DELETE /api/v1/groups/{id}/users/{uid}`:
    /// one shared counter (500/min on Workforce) — every membership add, remove and member list.
    Groups,
    /// `GET|PUT|DELETE /api/v1/groups/{id}`.
    GroupById,
    /// `/api/v1/meta/schemas/…`.
    Schemas,
    /// `/api/v1/logs`.
    Logs,
    /// `POST /oauth2/v1/token`.
    OAuthToken,
    /// Anything else.
    Other,
}

impl Bucket {
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Users => "users",
            Bucket::UserById => "user_by_id",
            Bucket::UserWrite => "user_write",
            Bucket::Groups => "groups",
            Bucket::GroupById => "group_by_id",
            Bucket::Schemas => "schemas",
            Bucket::Logs => "logs",
            Bucket::OAuthToken => "oauth_token",
            Bucket::Other => "other",
        }
    }
}

impl std::fmt::Display for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The bucket a request counts against, from its method and URL path (query ignored).
pub fn classify(method: &Method, path: &str) -> Bucket {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match segs.as_slice() {
        ["oauth2", "v1", "token"] => Bucket::OAuthToken,
        ["api", "v1", "users"] => Bucket::Users,
        ["api", "v1", "users", _] if method == Method::GET => Bucket::UserById,
        ["api", "v1", "users", _] => Bucket::UserWrite,
        ["api", "v1", "groups"] => Bucket::Groups,
        ["api", "v1", "groups", "rules", ..] => Bucket::Other,
        ["api", "v1", "groups", _] => Bucket::GroupById,
        ["api", "v1", "groups", _, "users"] | ["api", "v1", "groups", _, "users", _] => {
            Bucket::Groups
        }
        ["api", "v1", "meta", "schemas", ..] => Bucket::Schemas,
        ["api", "v1", "logs"] => Bucket::Logs,
        _ => Bucket::Other,
    }
}

/// What we know about one bucket.
#[derive(Debug, Clone, Default)]
pub(crate) struct BucketState {
    limit: Option<u64>,
    remaining: Option<u64>,
    /// When the window resets, on our monotonic clock (already includes the safety margin).
    reset_at: Option<Instant>,
    /// The raw `X-Rate-Limit-Reset` of the window we know: constant within a window, larger for a later one.
    reset_epoch: Option<i64>,
    /// Requests sent and not answered yet.
    in_flight: u64,
    /// When the last request of this bucket was let go.
    last_sent: Option<Instant>,
}

/// Bucket windows and the clock margin: Okta's windows last 60 s; the emulator can shorten them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub length: Duration,
    /// Slack for one-way latency and whole-second headers: 1 s for a 60 s window.
    pub margin: Duration,
}

impl Window {
    pub fn new(length: Duration) -> Window {
        Window {
            length,
            margin: length / 60,
        }
    }
}

impl BucketState {
    /// How long a request arriving at `now` must wait; zero means it may go now.
    pub(crate) fn delay(&self, now: Instant, share: f64) -> Duration {
        let (Some(limit), Some(remaining), Some(reset_at)) =
            (self.limit, self.remaining, self.reset_at)
        else {
            return Duration::ZERO; // nothing known yet, or the window has reset: a fresh window
        };
        if reset_at <= now || limit == 0 {
            return Duration::ZERO;
        }
        let allowed = ((limit as f64) * share).floor() as i64;
        let reserve = limit as i64 - allowed;
        let usable = remaining as i64 - reserve - self.in_flight as i64;
        if usable <= 0 {
            return reset_at - now;
        }
        if usable * 2 > allowed {
            return Duration::ZERO;
        }
        let interval = (reset_at - now) / (usable as u32).max(1);
        match self.last_sent {
            Some(last) if last + interval > now => last + interval - now,
            _ => Duration::ZERO,
        }
    }

    /// Takes in the headers of an answer to a request sent at `sent` and received at `received`.
    ///
    /// The window's end is estimated from `Reset - Date` (Okta's clock; whole seconds, so up to ~2 s late),
    /// and, when this was the window's first request (`remaining == limit - 1`), more precisely as
    /// `sent + window length`: a window starts at its first request.
    fn observe(&mut self, rate: &RateHeaders, sent: Instant, received: Instant, window: Window) {
        if rate.limit == Some(0) {
            return; // a concurrency 429 says nothing about the per-minute bucket
        }
        let (Some(limit), Some(remaining)) = (rate.limit, rate.remaining) else {
            return;
        };
        let mut reset_at = rate
            .reset_after()
            .map(|d| received + d.min(window.length) + window.margin);
        if remaining + 1 == limit {
            let precise = sent + window.length + window.margin;
            reset_at = Some(reset_at.map_or(precise, |r| r.min(precise)));
        }
        self.limit = Some(limit);
        match (rate.reset, self.reset_epoch) {
            // An answer from a window that has already ended: nothing to learn.
            (Some(new), Some(old)) if new < old => {}
            // The same window: answers may arrive out of order, the smallest remaining is the latest truth.
            (Some(new), Some(old)) if new == old => {
                self.remaining = Some(self.remaining.map_or(remaining, |r| r.min(remaining)));
                self.reset_at = match (self.reset_at, reset_at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            // A new window (or the first we hear of).
            _ => {
                self.remaining = Some(remaining);
                self.reset_at = reset_at;
                self.reset_epoch = rate.reset;
            }
        }
    }
}

/// What the pacer knows about a bucket, for `stats()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BucketSnapshot {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    /// Milliseconds until the window resets (by Okta's clock, scaled), if known and not yet passed.
    pub resets_in_ms: Option<u64>,
    pub in_flight: u64,
}

/// Shared pacing state of one client (all clones share it).
#[derive(Debug)]
pub struct Pacer {
    share: f64,
    window: Window,
    semaphore: Arc<Semaphore>,
    buckets: Mutex<BTreeMap<Bucket, BucketState>>,
}

/// Leave to send one request: holds a concurrency slot; report the answer with [`Pacer::observe`].
#[derive(Debug)]
pub struct Permit {
    _slot: OwnedSemaphorePermit,
    pub bucket: Bucket,
    /// Time spent waiting for this permit.
    pub waited: Duration,
    /// When the request was let go.
    pub sent: Instant,
}

impl Pacer {
    /// `share_percent` of each bucket may be used (clamped to 1..=100); at most `max_concurrency` requests in
    /// flight (clamped to 1..=75); `window` is the length of a rate-limit window (60 s at Okta; shorter for an
    /// emulator with a time scale).
    pub fn new(share_percent: f64, max_concurrency: usize, window: Duration) -> Pacer {
        let share = if share_percent.is_finite() {
            share_percent.clamp(1.0, 100.0) / 100.0
        } else {
            0.9
        };
        let window = if window.is_zero() {
            Duration::from_secs(60)
        } else {
            window
        };
        Pacer {
            share,
            window: Window::new(window),
            semaphore: Arc::new(Semaphore::new(
                max_concurrency.clamp(1, OKTA_MAX_CONCURRENCY),
            )),
            buckets: Mutex::new(BTreeMap::new()),
        }
    }

    /// The length of a rate-limit window.
    pub fn window(&self) -> Duration {
        self.window.length
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Bucket, BucketState>> {
        // A poisoned lock only means another task panicked mid-update; the counters are still usable.
        self.buckets.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until a request to `bucket` may go: a concurrency slot, then the bucket's pace.
    pub async fn acquire(&self, bucket: Bucket) -> Permit {
        let start = Instant::now();
        let slot = Arc::clone(&self.semaphore)
            .acquire_owned()
            .await
            .expect("the pacer's semaphore is never closed");
        loop {
            let now = Instant::now();
            let delay = {
                let mut buckets = self.lock();
                let state = buckets.entry(bucket).or_default();
                if state.reset_at.is_some_and(|r| r <= now) {
                    // The window has ended: whatever we knew is stale.
                    state.remaining = None;
                    state.reset_at = None;
                }
                let delay = state.delay(now, self.share);
                if delay.is_zero() {
                    state.in_flight += 1;
                    state.last_sent = Some(now);
                }
                delay
            };
            if delay.is_zero() {
                let waited = now - start;
                if waited > Duration::from_millis(50) {
                    tracing::debug!(bucket = %bucket, waited_ms = waited.as_millis() as u64, "paced request");
                }
                return Permit {
                    _slot: slot,
                    bucket,
                    waited,
                    sent: now,
                };
            }
            tokio::time::sleep(delay).await;
        }
    }

    /// Records an answer (or a failure: `rate = None`) for a request sent under `permit`.
    pub fn observe(&self, permit: Permit, rate: Option<&RateHeaders>) {
        let mut buckets = self.lock();
        let state = buckets.entry(permit.bucket).or_default();
        state.in_flight = state.in_flight.saturating_sub(1);
        if let Some(rate) = rate {
            state.observe(rate, permit.sent, Instant::now(), self.window);
        }
    }

    pub fn snapshot(&self) -> BTreeMap<Bucket, BucketSnapshot> {
        let now = Instant::now();
        self.lock()
            .iter()
            .map(|(b, s)| {
                let live = s.reset_at.filter(|r| *r > now);
                (
                    *b,
                    BucketSnapshot {
                        limit: s.limit,
                        remaining: live.and(s.remaining),
                        resets_in_ms: live.map(|r| (r - now).as_millis() as u64),
                        in_flight: s.in_flight,
                    },
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_okta() {
        let g = Method::GET;
        assert_eq!(classify(&g, "/api/v1/users"), Bucket::Users);
        assert_eq!(classify(&Method::POST, "/api/v1/users"), Bucket::Users);
        assert_eq!(classify(&g, "/api/v1/users/00u1"), Bucket::UserById);
        assert_eq!(
            classify(&Method::POST, "/api/v1/users/00u1"),
            Bucket::UserWrite
        );
        assert_eq!(classify(&g, "/api/v1/groups"), Bucket::Groups);
        assert_eq!(classify(&Method::POST, "/api/v1/groups/"), Bucket::Groups);
        assert_eq!(classify(&g, "/api/v1/groups/00g1/users"), Bucket::Groups);
        assert_eq!(
            classify(&Method::PUT, "/api/v1/groups/00g1/users/00u1"),
            Bucket::Groups
        );
        assert_eq!(
            classify(&Method::DELETE, "/api/v1/groups/00g1/users/00u1"),
            Bucket::Groups
        );
        assert_eq!(classify(&g, "/api/v1/groups/00g1"), Bucket::GroupById);
        assert_eq!(
            classify(&Method::PUT, "/api/v1/groups/00g1"),
            Bucket::GroupById
        );
        assert_eq!(
            classify(&Method::DELETE, "/api/v1/groups/00g1"),
            Bucket::GroupById
        );
        assert_eq!(classify(&g, "/api/v1/groups/rules"), Bucket::Other);
        assert_eq!(
            classify(&g, "/api/v1/meta/schemas/user/default"),
            Bucket::Schemas
        );
        assert_eq!(classify(&g, "/api/v1/logs"), Bucket::Logs);
        assert_eq!(
            classify(&Method::POST, "/oauth2/v1/token"),
            Bucket::OAuthToken
        );
        assert_eq!(classify(&g, "/api/v1/apps"), Bucket::Other);
    }

    fn rate(limit: u64, remaining: u64, reset_in: i64) -> RateHeaders {
        okta(limit, remaining, 1_000_000 + reset_in, 1_000_000)
    }

    /// Headers as Okta sends them: `reset` and `date` in whole epoch seconds of Okta's clock.
    fn okta(limit: u64, remaining: u64, reset: i64, date: i64) -> RateHeaders {
        RateHeaders {
            limit: Some(limit),
            remaining: Some(remaining),
            reset: Some(reset),
            date: Some(date),
        }
    }

    const MINUTE: Duration = Duration::from_secs(60);

    #[tokio::test(start_paused = true)]
    async fn sends_freely_while_more_than_half_the_share_is_left() {
        let pacer = Pacer::new(50.0, 4, MINUTE);
        let p = pacer.acquire(Bucket::Groups).await;
        // limit 100 at 50 %: 50 allowed; 98 remaining = 48 usable > 25
        pacer.observe(p, Some(&rate(100, 98, 59)));
        let start = Instant::now();
        let p = pacer.acquire(Bucket::Groups).await;
        assert_eq!(Instant::now(), start);
        assert!(p.waited.is_zero());
        pacer.observe(p, Some(&rate(100, 97, 59)));
    }

    #[tokio::test(start_paused = true)]
    async fn spreads_the_rest_over_the_window_then_waits_for_reset() {
        let pacer = Pacer::new(50.0, 4, MINUTE);
        let p = pacer.acquire(Bucket::Groups).await;
        // 60 remaining of 100, 50 reserved for others: 10 usable over 59 + 1 (margin) = 60 s -> one per 6 s.
        pacer.observe(p, Some(&okta(100, 60, 1_000_059, 1_000_000)));
        let t0 = Instant::now();
        let p = pacer.acquire(Bucket::Groups).await;
        // the first one was just sent: wait one interval from it
        assert_eq!(Instant::now() - t0, Duration::from_secs(6));
        pacer.observe(p, Some(&okta(100, 59, 1_000_059, 1_000_006)));
        // 9 usable over the 54 s left: one every 6 s again
        let t1 = Instant::now();
        let p = pacer.acquire(Bucket::Groups).await;
        assert_eq!(Instant::now() - t1, Duration::from_secs(6));
        // nothing usable: wait for the reset (+1 s margin), which was 48 s away
        pacer.observe(p, Some(&okta(100, 50, 1_000_059, 1_000_012)));
        let t2 = Instant::now();
        let p = pacer.acquire(Bucket::Groups).await;
        assert_eq!(Instant::now() - t2, Duration::from_secs(48));
        assert_eq!(p.waited, Duration::from_secs(48));
        // a fresh window: free again
        pacer.observe(p, Some(&okta(100, 99, 1_000_120, 1_000_060)));
        let t3 = Instant::now();
        let _p = pacer.acquire(Bucket::Groups).await;
        assert_eq!(Instant::now(), t3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_blocks_the_whole_bucket_until_reset_but_not_other_buckets() {
        let pacer = Pacer::new(100.0, 4, MINUTE);
        let p = pacer.acquire(Bucket::Groups).await;
        pacer.observe(p, Some(&rate(500, 0, 9)));
        let t = Instant::now();
        let other = pacer.acquire(Bucket::Users).await;
        assert_eq!(Instant::now(), t);
        pacer.observe(other, None);
        let _p = pacer.acquire(Bucket::Groups).await;
        assert_eq!(Instant::now() - t, Duration::from_secs(10));
        let snap = pacer.snapshot();
        assert_eq!(snap[&Bucket::Groups].in_flight, 1);
        assert_eq!(snap[&Bucket::Users].in_flight, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_window_caps_whole_second_header_estimates() {
        // the emulator at 60x: one-second windows, but Reset/Date in whole real seconds
        let pacer = Pacer::new(100.0, 4, Duration::from_secs(1));
        let p = pacer.acquire(Bucket::Groups).await;
        pacer.observe(p, Some(&rate(500, 0, 2)));
        let t = Instant::now();
        let _p = pacer.acquire(Bucket::Groups).await;
        // tokio's timer rounds up to the millisecond
        let waited = Instant::now() - t;
        let expected = Duration::from_secs(1) + Duration::from_secs(1) / 60;
        assert!(
            waited >= expected && waited < expected + Duration::from_millis(2),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_answer_of_a_window_dates_the_window_precisely() {
        let pacer = Pacer::new(100.0, 4, Duration::from_secs(1));
        let p = pacer.acquire(Bucket::Groups).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        // remaining = limit - 1: this request opened the window, which ends 1 s after it was sent
        pacer.observe(p, Some(&rate(500, 499, 2)));
        assert_eq!(pacer.snapshot()[&Bucket::Groups].resets_in_ms, Some(916));
    }

    #[test]
    fn in_flight_requests_count_as_spent() {
        let now = Instant::now();
        let mut s = BucketState {
            limit: Some(10),
            remaining: Some(3),
            reset_at: Some(now + Duration::from_secs(30)),
            reset_epoch: None,
            in_flight: 3,
            last_sent: None,
        };
        // 3 left, 3 in flight: nothing usable, wait for the reset
        assert_eq!(s.delay(now, 1.0), Duration::from_secs(30));
        // 1 usable: the rest of the window for it, counted from the last send
        s.in_flight = 2;
        assert_eq!(s.delay(now, 1.0), Duration::ZERO);
        s.last_sent = Some(now);
        assert_eq!(s.delay(now, 1.0), Duration::from_secs(30));
        // at 80 % share, 2 of the 10 are kept for others: 3 - 2 - 0 = 1 usable
        s.in_flight = 0;
        s.last_sent = None;
        assert_eq!(s.delay(now, 0.8), Duration::ZERO);
        s.in_flight = 1;
        assert_eq!(s.delay(now, 0.8), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_is_capped() {
        let pacer = Arc::new(Pacer::new(100.0, 200, MINUTE));
        let mut held = Vec::new();
        for _ in 0..OKTA_MAX_CONCURRENCY {
            held.push(pacer.acquire(Bucket::Users).await);
        }
        let more = tokio::time::timeout(Duration::from_secs(5), pacer.acquire(Bucket::Users)).await;
        assert!(more.is_err());
        let one = held.pop().unwrap();
        pacer.observe(one, None);
        let more = tokio::time::timeout(Duration::from_secs(5), pacer.acquire(Bucket::Users)).await;
        assert!(more.is_ok());
    }

    #[test]
    fn out_of_order_and_stale_answers() {
        let now = Instant::now();
        let w = Window::new(MINUTE);
        let mut s = BucketState::default();
        s.observe(&rate(500, 400, 30), now, now, w);
        s.observe(&rate(500, 410, 30), now, now, w);
        assert_eq!(s.remaining, Some(400));
        // a concurrency 429 changes nothing
        s.observe(&rate(0, 0, 30), now, now, w);
        assert_eq!((s.limit, s.remaining), (Some(500), Some(400)));
        // a late answer from the previous window changes nothing
        s.observe(&rate(500, 3, 10), now, now, w);
        assert_eq!(s.remaining, Some(400));
        // the next window replaces everything
        s.observe(&rate(500, 490, 90), now, now, w);
        assert_eq!(s.remaining, Some(490));
        assert_eq!(s.reset_at, Some(now + Duration::from_secs(61)));
    }
}
