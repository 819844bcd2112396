//! What the client did, for a caller to print or serialize: calls per bucket, 429s, retries, time spent waiting,
//! and what Okta last reported about each bucket.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

use super::pacing::{Bucket, BucketSnapshot};

/// A snapshot of the client's counters (`OktaClient::stats`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClientStats {
    /// Requests sent (every attempt counts), per bucket name.
    pub calls: BTreeMap<String, u64>,
    pub total_calls: u64,
    /// 429s because a per-minute bucket was exhausted.
    pub rate_limited: u64,
    /// 429s because of Okta's concurrency limit (`X-Rate-Limit-Limit: 0`).
    pub concurrency_limited: u64,
    /// 5xx answers received.
    pub server_errors: u64,
    /// Timeouts and dropped or refused connections.
    pub transport_errors: u64,
    /// Requests sent again.
    pub retries: u64,
    /// Time spent waiting for the pace (slowing down before a bucket runs out), in ms, summed over requests
    /// (concurrent waits add up, so this can exceed the wall-clock time).
    pub pacing_wait_ms: u64,
    /// Time spent waiting before retries (429 resets, backoff), in ms.
    pub retry_wait_ms: u64,
    /// The two waits together, in ms.
    pub waited_ms: u64,
    /// The waits decided after 429s (`Reset - Date` + margin, capped at one window), in ms: what the client meant
    /// to wait, where `retry_wait_ms` is what the sleeps took.
    pub rate_limit_wait_ms: u64,
    /// What Okta last told us about each bucket.
    pub buckets: BTreeMap<String, BucketSnapshot>,
}

impl ClientStats {
    pub fn calls_to(&self, bucket: Bucket) -> u64 {
        self.calls.get(bucket.as_str()).copied().unwrap_or(0)
    }
}

impl fmt::Display for ClientStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per: Vec<String> = self.calls.iter().map(|(b, n)| format!("{b} {n}")).collect();
        write!(f, "{} Okta calls", self.total_calls)?;
        if !per.is_empty() {
            write!(f, " ({})", per.join(", "))?;
        }
        write!(
            f,
            "; {} rate-limited (429), {} retries; waited {:.1} s (pacing {:.1} s, retries {:.1} s)",
            self.rate_limited + self.concurrency_limited,
            self.retries,
            self.waited_ms as f64 / 1000.0,
            self.pacing_wait_ms as f64 / 1000.0,
            self.retry_wait_ms as f64 / 1000.0,
        )
    }
}

/// The live counters behind [`ClientStats`], shared by clones of a client.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    calls: Mutex<BTreeMap<Bucket, u64>>,
    rate_limited: AtomicU64,
    concurrency_limited: AtomicU64,
    server_errors: AtomicU64,
    transport_errors: AtomicU64,
    retries: AtomicU64,
    pacing_wait_us: AtomicU64,
    retry_wait_us: AtomicU64,
    rate_limit_wait_us: AtomicU64,
}

impl Counters {
    pub fn call(&self, bucket: Bucket) {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        *calls.entry(bucket).or_default() += 1;
    }
    pub fn rate_limited(&self, concurrency: bool) {
        if concurrency {
            self.concurrency_limited.fetch_add(1, Ordering::Relaxed);
        } else {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
    }
    pub fn server_error(&self) {
        self.server_errors.fetch_add(1, Ordering::Relaxed);
    }
    pub fn transport_error(&self) {
        self.transport_errors.fetch_add(1, Ordering::Relaxed);
    }
    pub fn retry(&self, waited: Duration) {
        self.retries.fetch_add(1, Ordering::Relaxed);
        self.retry_wait_us
            .fetch_add(waited.as_micros() as u64, Ordering::Relaxed);
    }
    pub fn rate_limit_wait(&self, decided: Duration) {
        self.rate_limit_wait_us
            .fetch_add(decided.as_micros() as u64, Ordering::Relaxed);
    }
    pub fn paced(&self, waited: Duration) {
        self.pacing_wait_us
            .fetch_add(waited.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn snapshot(&self, buckets: BTreeMap<Bucket, BucketSnapshot>) -> ClientStats {
        let calls: BTreeMap<String, u64> = self
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(b, n)| (b.as_str().to_string(), *n))
            .collect();
        let pacing = self.pacing_wait_us.load(Ordering::Relaxed) / 1000;
        let retry = self.retry_wait_us.load(Ordering::Relaxed) / 1000;
        ClientStats {
            total_calls: calls.values().sum(),
            calls,
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            concurrency_limited: self.concurrency_limited.load(Ordering::Relaxed),
            server_errors: self.server_errors.load(Ordering::Relaxed),
            transport_errors: self.transport_errors.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            pacing_wait_ms: pacing,
            retry_wait_ms: retry,
            waited_ms: pacing + retry,
            rate_limit_wait_ms: self.rate_limit_wait_us.load(Ordering::Relaxed) / 1000,
            buckets: buckets
                .into_iter()
                .map(|(b, s)| (b.as_str().to_string(), s))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_prints() {
        let c = Counters::default();
        c.call(Bucket::Groups);
        c.call(Bucket::Groups);
        c.call(Bucket::Users);
        c.rate_limited(false);
        c.retry(Duration::from_millis(1500));
        c.paced(Duration::from_millis(500));
        let s = c.snapshot(BTreeMap::new());
        assert_eq!(s.total_calls, 3);
        assert_eq!(s.calls_to(Bucket::Groups), 2);
        assert_eq!(s.waited_ms, 2000);
        assert_eq!(
            s.to_string(),
            "3 Okta calls (groups 2, users 1); 1 rate-limited (429), 1 retries; waited 2.0 s (pacing 0.5 s, retries 1.5 s)"
        );
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["calls"]["groups"], 2);
        assert_eq!(json["rate_limited"], 1);
    }
}
