//! Whether and when to retry one request, as a pure value computed from (attempts so far, what happened, the
//! response's own clock). Only the caller sleeps, so every rule here is unit-tested without time passing.
//!
//! Rules: 429 waits until `X-Rate-Limit-Reset` measured against the response's `Date` (Okta's clock, not ours)
//! plus a margin; a concurrency 429 (`X-Rate-Limit-Limit: 0`) backs off briefly; 5xx, timeouts and dropped
//! connections back off exponentially with jitter, capped and bounded; 4xx other than 429 are final.

use std::time::Duration;

/// Limits of the retry loop.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Most attempts in total for one request failing with 5xx/timeouts/dropped connections.
    pub max_attempts: u32,
    /// Most 429s we wait out for one request before giving up.
    pub max_rate_limit_waits: u32,
    /// First backoff; doubles each attempt.
    pub base_backoff: Duration,
    /// Largest single backoff.
    pub max_backoff: Duration,
    /// Added to `reset - Date`: both are whole seconds, so the window may end up to a second later than computed.
    pub reset_margin: Duration,
    /// A `reset` further away than this is not believed (we wait this long at most per 429).
    pub max_reset_wait: Duration,
    /// Base wait after a concurrency-limit 429.
    pub concurrency_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            max_rate_limit_waits: 8,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            reset_margin: Duration::from_secs(1),
            max_reset_wait: Duration::from_secs(120),
            concurrency_backoff: Duration::from_secs(1),
        }
    }
}

/// The `X-Rate-Limit-*` headers and `Date` of one response (all optional: some errors carry none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateHeaders {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    /// UTC epoch seconds when the bucket's window resets.
    pub reset: Option<i64>,
    /// The response's `Date`, UTC epoch seconds.
    pub date: Option<i64>,
}

impl RateHeaders {
    pub fn from_headers(headers: &reqwest::header::HeaderMap) -> RateHeaders {
        fn num<T: std::str::FromStr>(h: &reqwest::header::HeaderMap, name: &str) -> Option<T> {
            // A duplicated (comma-joined) header is not trusted.
            h.get(name)?.to_str().ok()?.trim().parse().ok()
        }
        let date = headers
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| httpdate::parse_http_date(s).ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64);
        RateHeaders {
            limit: num(headers, "x-rate-limit-limit"),
            remaining: num(headers, "x-rate-limit-remaining"),
            reset: num(headers, "x-rate-limit-reset"),
            date,
        }
    }

    /// Time until the window resets by Okta's own clock (`reset - Date`), if both are known.
    pub fn reset_after(&self) -> Option<Duration> {
        let (reset, date) = (self.reset?, self.date?);
        Some(Duration::from_secs(reset.saturating_sub(date).max(0) as u64))
    }

    /// Okta's concurrency-limit 429 reports limit 0 and remaining 0.
    pub fn is_concurrency_limit(&self) -> bool {
        self.limit == Some(0)
    }
}

/// How a request failed to produce a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFailure {
    /// The connection was never established: the request certainly did not reach Okta.
    Connect,
    /// No answer in time.
    Timeout,
    /// The connection broke while sending or reading.
    Dropped,
}

/// What one attempt produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Response { status: u16, rate: RateHeaders },
    Transport(TransportFailure),
}

/// Attempts made so far for one request, by kind of failure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attempts {
    /// Attempts that failed with 5xx or a transport failure (the first attempt counts once it has failed).
    pub failures: u32,
    /// 429s received so far.
    pub rate_limited: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryReason {
    RateLimited,
    ConcurrencyLimited,
    ServerError(u16),
    Transport(TransportFailure),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The outcome is final (success or an error no retry can fix).
    Done,
    Retry {
        after: Duration,
        reason: RetryReason,
    },
    /// Retryable, but out of attempts.
    GiveUp(RetryReason),
}

/// Decide what to do after an attempt. `attempts` already includes this outcome; `idempotent` is false for
/// POST (create group): those are retried only when Okta certainly did not act (connect failure, 429, 503).
/// `jitter` is a random number in `[0, 1)`, passed in to keep this function pure.
pub fn decide(
    policy: &RetryPolicy,
    attempts: Attempts,
    idempotent: bool,
    outcome: Outcome,
    jitter: f64,
) -> Decision {
    let jitter = jitter.clamp(0.0, 1.0);
    match outcome {
        Outcome::Response { status: 429, rate } => {
            if rate.is_concurrency_limit() {
                let reason = RetryReason::ConcurrencyLimited;
                if attempts.rate_limited > policy.max_rate_limit_waits {
                    return Decision::GiveUp(reason);
                }
                let base = policy
                    .concurrency_backoff
                    .mul_f64(f64::from(attempts.rate_limited.clamp(1, 8)));
                return Decision::Retry {
                    after: base + base.mul_f64(jitter),
                    reason,
                };
            }
            let reason = RetryReason::RateLimited;
            if attempts.rate_limited > policy.max_rate_limit_waits {
                return Decision::GiveUp(reason);
            }
            let after = match rate.reset_after() {
                Some(d) => d.min(policy.max_reset_wait) + policy.reset_margin,
                // No usable headers: fall back to the exponential backoff.
                None => backoff(policy, attempts.rate_limited, jitter),
            };
            Decision::Retry { after, reason }
        }
        Outcome::Response { status, .. } if status >= 500 => {
            let reason = RetryReason::ServerError(status);
            let retryable = match status {
                501 | 505 => false,
                503 => true,
                _ => idempotent,
            };
            if !retryable {
                return Decision::Done;
            }
            if attempts.failures >= policy.max_attempts {
                return Decision::GiveUp(reason);
            }
            Decision::Retry {
                after: backoff(policy, attempts.failures, jitter),
                reason,
            }
        }
        Outcome::Response { .. } => Decision::Done,
        Outcome::Transport(kind) => {
            let reason = RetryReason::Transport(kind);
            if !idempotent && kind != TransportFailure::Connect {
                return Decision::GiveUp(reason);
            }
            if attempts.failures >= policy.max_attempts {
                return Decision::GiveUp(reason);
            }
            Decision::Retry {
                after: backoff(policy, attempts.failures, jitter),
                reason,
            }
        }
    }
}

/// Capped exponential backoff with "equal jitter": half fixed, half random, so waits never collapse to zero.
pub fn backoff(policy: &RetryPolicy, failures: u32, jitter: f64) -> Duration {
    let exp = failures.saturating_sub(1).min(20);
    let full = policy
        .base_backoff
        .saturating_mul(1u32 << exp)
        .min(policy.max_backoff);
    full / 2 + (full / 2).mul_f64(jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16) -> Outcome {
        Outcome::Response {
            status,
            rate: RateHeaders::default(),
        }
    }

    fn failed(n: u32) -> Attempts {
        Attempts {
            failures: n,
            rate_limited: 0,
        }
    }

    #[test]
    fn final_statuses_are_never_retried() {
        let p = RetryPolicy::default();
        for status in [200, 204, 400, 401, 403, 404, 409, 501] {
            assert_eq!(
                decide(&p, failed(1), true, resp(status), 0.5),
                Decision::Done,
                "{status}"
            );
        }
    }

    #[test]
    fn rate_limit_waits_until_reset_by_okta_clock_plus_margin() {
        let p = RetryPolicy::default();
        // Date 16:21:50, reset 8 s later by Okta's clock; our own clock plays no part.
        let rate = RateHeaders {
            limit: Some(10),
            remaining: Some(0),
            reset: Some(1_757_607_758),
            date: Some(1_757_607_750),
        };
        let d = decide(
            &p,
            Attempts {
                failures: 0,
                rate_limited: 1,
            },
            true,
            Outcome::Response { status: 429, rate },
            0.9,
        );
        assert_eq!(
            d,
            Decision::Retry {
                after: Duration::from_secs(9),
                reason: RetryReason::RateLimited
            }
        );
    }

    #[test]
    fn rate_limit_reset_in_the_past_waits_only_the_margin_and_absurd_reset_is_capped() {
        let p = RetryPolicy::default();
        let past = RateHeaders {
            limit: Some(500),
            remaining: Some(0),
            reset: Some(100),
            date: Some(200),
        };
        let one = Attempts {
            failures: 0,
            rate_limited: 1,
        };
        let out = |rate| Outcome::Response { status: 429, rate };
        assert_eq!(
            decide(&p, one, true, out(past), 0.0),
            Decision::Retry {
                after: Duration::from_secs(1),
                reason: RetryReason::RateLimited
            }
        );
        let far = RateHeaders {
            reset: Some(200 + 86_400),
            ..past
        };
        assert_eq!(
            decide(&p, one, true, out(far), 0.0),
            Decision::Retry {
                after: Duration::from_secs(121),
                reason: RetryReason::RateLimited
            }
        );
    }

    #[test]
    fn rate_limit_gives_up_after_the_allowed_waits() {
        let p = RetryPolicy {
            max_rate_limit_waits: 2,
            ..RetryPolicy::default()
        };
        let a = Attempts {
            failures: 0,
            rate_limited: 3,
        };
        assert_eq!(
            decide(&p, a, true, resp(429), 0.0),
            Decision::GiveUp(RetryReason::RateLimited)
        );
    }

    #[test]
    fn concurrency_429_backs_off_briefly() {
        let p = RetryPolicy::default();
        let rate = RateHeaders {
            limit: Some(0),
            remaining: Some(0),
            reset: Some(1_000_060),
            date: Some(1_000_000),
        };
        let d = decide(
            &p,
            Attempts {
                failures: 0,
                rate_limited: 2,
            },
            true,
            Outcome::Response { status: 429, rate },
            0.5,
        );
        assert_eq!(
            d,
            Decision::Retry {
                after: Duration::from_secs(3),
                reason: RetryReason::ConcurrencyLimited
            }
        );
    }

    #[test]
    fn server_errors_back_off_exponentially_capped_and_bounded() {
        let p = RetryPolicy::default();
        let after = |n| match decide(&p, failed(n), true, resp(502), 0.0) {
            Decision::Retry { after, .. } => after,
            other => panic!("{other:?}"),
        };
        assert_eq!(after(1), Duration::from_millis(250));
        assert_eq!(after(2), Duration::from_millis(500));
        assert_eq!(after(3), Duration::from_millis(1000));
        assert_eq!(after(4), Duration::from_millis(2000));
        assert_eq!(
            decide(&p, failed(5), true, resp(502), 0.0),
            Decision::GiveUp(RetryReason::ServerError(502))
        );
        // jitter adds at most the other half
        let big = RetryPolicy {
            max_attempts: 100,
            ..RetryPolicy::default()
        };
        let top = backoff(&big, 30, 0.999_999);
        assert!(
            top < Duration::from_secs(30) && top > Duration::from_millis(29_999),
            "{top:?}"
        );
        assert_eq!(backoff(&big, 30, 0.0), Duration::from_secs(15));
    }

    #[test]
    fn posts_are_retried_only_when_okta_certainly_did_not_act() {
        let p = RetryPolicy::default();
        assert_eq!(decide(&p, failed(1), false, resp(500), 0.0), Decision::Done);
        assert!(matches!(
            decide(&p, failed(1), false, resp(503), 0.0),
            Decision::Retry { .. }
        ));
        assert!(matches!(
            decide(
                &p,
                failed(1),
                false,
                Outcome::Transport(TransportFailure::Connect),
                0.0
            ),
            Decision::Retry { .. }
        ));
        assert_eq!(
            decide(
                &p,
                failed(1),
                false,
                Outcome::Transport(TransportFailure::Dropped),
                0.0
            ),
            Decision::GiveUp(RetryReason::Transport(TransportFailure::Dropped))
        );
        assert!(matches!(
            decide(
                &p,
                failed(1),
                true,
                Outcome::Transport(TransportFailure::Timeout),
                0.0
            ),
            Decision::Retry { .. }
        ));
    }

    #[test]
    fn rate_headers_parse_from_a_response() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-rate-limit-limit", "500".parse().unwrap());
        h.insert("x-rate-limit-remaining", "481".parse().unwrap());
        h.insert("x-rate-limit-reset", "1598552209".parse().unwrap());
        h.insert(
            reqwest::header::DATE,
            "Thu, 27 Aug 2020 18:15:50 GMT".parse().unwrap(),
        );
        let r = RateHeaders::from_headers(&h);
        assert_eq!(r.limit, Some(500));
        assert_eq!(r.remaining, Some(481));
        assert_eq!(r.date, Some(1_598_552_150));
        assert_eq!(r.reset_after(), Some(Duration::from_secs(59)));
        assert!(!r.is_concurrency_limit());
    }
}
