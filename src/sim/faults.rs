//! Faults injected on demand into the HTTP face (5xx at a rate, dropped connections, latency, a 429 on
//! the Nth call) and the request counters (per bucket, per endpoint, 429s), both changeable and
//! readable while the server runs.

use std::collections::BTreeMap;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// What to break. All zero/`None` = nothing (the default).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Fraction (0..=1) of requests answered with `error_status` and Okta's E0000009 body.
    pub error_rate: f64,
    /// 500 (default when 0), 502, 503 or 504.
    pub error_status: u16,
    /// Fraction (0..=1) of requests whose connection is closed without an answer.
    pub drop_rate: f64,
    /// Added before answering each request.
    pub latency_ms: u64,
    /// The Nth request (1-based) after these faults were set gets a 429 E0000047.
    pub fail_nth: Option<u64>,
    /// The Nth request (1-based) after these faults were set is handled in full, then its connection is
    /// closed without the answer: Okta acted, the client never hears (a lost answer to a create).
    pub drop_after_nth: Option<u64>,
    /// The Nth request (1-based) is handled in full, then answered with `error_status` (500 when unset):
    /// Okta acted but says it failed.
    pub error_after_nth: Option<u64>,
    /// Only requests whose path starts with this are affected (e.g. `/api/v1/groups`).
    pub path_prefix: Option<String>,
    /// Only requests with this method are affected (e.g. `POST`).
    pub method: Option<String>,
}

/// What the server does with one request because of the faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    None,
    ServerError(u16),
    Drop,
    /// Handle the request, then close the connection without answering.
    DropAfter,
    /// Handle the request, then answer with this 5xx status.
    ErrorAfter(u16),
    RateLimited,
}

/// Counters, readable while the server runs (`/_sim/counters`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Counters {
    pub requests: u64,
    /// Bucket name -> requests that reached the rate limiter.
    pub by_bucket: BTreeMap<String, u64>,
    /// `METHOD /path/{template}` -> requests.
    pub by_endpoint: BTreeMap<String, u64>,
    /// HTTP status -> responses.
    pub by_status: BTreeMap<u16, u64>,
    /// 429s because a bucket was spent.
    pub rate_limited: u64,
    /// 429s because of the concurrency cap.
    pub concurrency_limited: u64,
    /// 429s injected by `fail_nth`.
    pub injected_429: u64,
    pub injected_5xx: u64,
    pub dropped: u64,
    /// Requests handled whose answer was then dropped.
    pub dropped_after: u64,
    pub max_in_flight: u64,
}

impl Counters {
    /// Every 429 answered, whatever the cause.
    pub fn total_429(&self) -> u64 {
        self.rate_limited + self.concurrency_limited + self.injected_429
    }
}

/// `status` when it is a 5xx, else 500.
fn server_status(status: u16) -> u16 {
    if (500..=599).contains(&status) {
        status
    } else {
        500
    }
}

/// Faults plus the count of requests seen since they were set.
#[derive(Debug, Default)]
pub struct FaultState {
    pub faults: Faults,
    seen: u64,
}

impl FaultState {
    pub fn set(&mut self, faults: Faults) {
        self.faults = faults;
        self.seen = 0;
    }

    /// Decides the fault for a `method` request to `path`.
    pub fn decide(&mut self, method: &str, path: &str) -> Injected {
        let f = &self.faults;
        if f.path_prefix
            .as_deref()
            .is_some_and(|p| !path.starts_with(p))
            || f.method
                .as_deref()
                .is_some_and(|m| !m.eq_ignore_ascii_case(method))
        {
            return Injected::None;
        }
        self.seen += 1;
        if f.fail_nth == Some(self.seen) {
            return Injected::RateLimited;
        }
        if f.drop_after_nth == Some(self.seen) {
            return Injected::DropAfter;
        }
        if f.error_after_nth == Some(self.seen) {
            return Injected::ErrorAfter(server_status(f.error_status));
        }
        let mut rng = rand::rng();
        if f.drop_rate > 0.0 && rng.random::<f64>() < f.drop_rate {
            return Injected::Drop;
        }
        if f.error_rate > 0.0 && rng.random::<f64>() < f.error_rate {
            return Injected::ServerError(server_status(f.error_status));
        }
        Injected::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nth_call_and_rates() {
        let mut s = FaultState::default();
        s.set(Faults {
            fail_nth: Some(3),
            ..Default::default()
        });
        let got: Vec<_> = (0..4).map(|_| s.decide("GET", "/api/v1/users")).collect();
        assert_eq!(
            got,
            vec![
                Injected::None,
                Injected::None,
                Injected::RateLimited,
                Injected::None
            ]
        );
        s.set(Faults {
            error_rate: 1.0,
            error_status: 503,
            path_prefix: Some("/api/v1/groups".into()),
            ..Default::default()
        });
        assert_eq!(s.decide("GET", "/api/v1/users"), Injected::None);
        assert_eq!(
            s.decide("GET", "/api/v1/groups"),
            Injected::ServerError(503)
        );
        s.set(Faults {
            drop_rate: 1.0,
            ..Default::default()
        });
        assert_eq!(s.decide("GET", "/x"), Injected::Drop);
        s.set(Faults::default());
        assert_eq!(s.decide("GET", "/x"), Injected::None);
    }

    #[test]
    fn a_lost_answer_to_the_nth_request_of_one_method() {
        let mut s = FaultState::default();
        s.set(Faults {
            drop_after_nth: Some(2),
            path_prefix: Some("/api/v1/groups".into()),
            method: Some("POST".into()),
            ..Default::default()
        });
        let got: Vec<_> = [
            ("GET", "/api/v1/groups"),
            ("POST", "/api/v1/groups"),
            ("POST", "/api/v1/users"),
            ("post", "/api/v1/groups"),
            ("POST", "/api/v1/groups"),
        ]
        .iter()
        .map(|(m, p)| s.decide(m, p))
        .collect();
        assert_eq!(
            got,
            [
                Injected::None,
                Injected::None,
                Injected::None,
                Injected::DropAfter,
                Injected::None
            ]
        );
        s.set(Faults {
            error_after_nth: Some(1),
            error_status: 404,
            ..Default::default()
        });
        assert_eq!(
            s.decide("POST", "/api/v1/groups"),
            Injected::ErrorAfter(500),
            "a status that is not a 5xx becomes 500"
        );
    }
}
