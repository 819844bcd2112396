//! The daemon's status board: what the loop records after each tick, read by `/metrics` (Prometheus text
//! exposition format 0.0.4) and the status page. Counters only grow; gauges hold the last tick's values.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::TickReport;

/// A copy of the board at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub started_at: DateTime<Utc>,
    /// A tick is running now.
    pub running: bool,
    pub ticks_ok: u64,
    pub ticks_failed: u64,
    pub ticks_aborted: u64,
    pub consecutive_failures: u32,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// The last finished tick succeeded.
    pub last_success_ok: bool,
    pub last_duration: Option<Duration>,
    pub last_status: Option<String>,
    /// The last failure's error chain (kept after a later success, with its time, for the status page).
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub last_commit: Option<String>,
    pub managed_groups: u64,
    pub licensed_users: u64,
    pub last_changes: u64,
    pub api_calls_total: u64,
    pub rate_limited_total: u64,
    pub next_tick_at: Option<DateTime<Utc>>,
}

#[derive(Debug)]
pub struct Board {
    inner: Mutex<Snapshot>,
}

impl Default for Board {
    fn default() -> Self {
        Board::new()
    }
}

impl Board {
    pub fn new() -> Board {
        Board {
            inner: Mutex::new(Snapshot {
                started_at: Utc::now(),
                running: false,
                ticks_ok: 0,
                ticks_failed: 0,
                ticks_aborted: 0,
                consecutive_failures: 0,
                last_attempt_at: None,
                last_success_at: None,
                last_success_ok: false,
                last_duration: None,
                last_status: None,
                last_error: None,
                last_error_at: None,
                last_commit: None,
                managed_groups: 0,
                licensed_users: 0,
                last_changes: 0,
                api_calls_total: 0,
                rate_limited_total: 0,
                next_tick_at: None,
            }),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Snapshot) -> R) -> R {
        // Poisoning only means a panic elsewhere mid-update; the counters are still meaningful.
        let mut s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut s)
    }

    pub fn snapshot(&self) -> Snapshot {
        self.with(|s| s.clone())
    }

    pub fn tick_started(&self) {
        self.with(|s| {
            s.running = true;
            s.last_attempt_at = Some(Utc::now());
            s.next_tick_at = None;
        });
    }

    pub fn tick_succeeded(&self, r: TickReport, took: Duration) {
        self.with(|s| {
            s.running = false;
            s.ticks_ok += 1;
            s.consecutive_failures = 0;
            s.last_success_at = Some(Utc::now());
            s.last_success_ok = true;
            s.last_duration = Some(took);
            s.last_status = Some(r.status);
            s.last_commit = r.commit;
            s.managed_groups = r.managed_groups;
            s.licensed_users = r.licensed_users;
            s.last_changes = r.changes;
            s.api_calls_total += r.api_calls;
            s.rate_limited_total += r.rate_limited;
        });
    }

    pub fn tick_failed(&self, err: &anyhow::Error, took: Duration, consecutive: u32) {
        self.with(|s| {
            s.running = false;
            s.ticks_failed += 1;
            s.consecutive_failures = consecutive;
            s.last_success_ok = false;
            s.last_duration = Some(took);
            s.last_status = Some("failed".into());
            s.last_error = Some(format!("{err:#}"));
            s.last_error_at = Some(Utc::now());
        });
    }

    pub fn tick_aborted(&self, took: Duration) {
        self.with(|s| {
            s.running = false;
            s.ticks_aborted += 1;
            s.last_duration = Some(took);
            s.last_status = Some("aborted".into());
        });
    }

    pub fn next_in(&self, wait: Duration) {
        self.with(|s| {
            s.next_tick_at = chrono::Duration::from_std(wait)
                .ok()
                .map(|d| Utc::now() + d)
        });
    }

    /// The Prometheus text exposition of the board.
    pub fn prometheus(&self) -> String {
        let s = self.snapshot();
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, f64)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, v) in samples {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        };
        let ts = |t: Option<DateTime<Utc>>| {
            t.map(|t| t.timestamp_millis() as f64 / 1000.0)
                .unwrap_or(0.0)
        };
        metric(
            "dyngroups_build_info",
            "gauge",
            "The running dyngroups version.",
            &[(
                &format!("{{version=\"{}\"}}", env!("CARGO_PKG_VERSION")),
                1.0,
            )],
        );
        metric(
            "dyngroups_last_sync_timestamp_seconds",
            "gauge",
            "When the last successful sync finished (Unix time; 0 = none yet).",
            &[("", ts(s.last_success_at))],
        );
        metric(
            "dyngroups_last_sync_attempt_timestamp_seconds",
            "gauge",
            "When the last sync started (Unix time; 0 = none yet).",
            &[("", ts(s.last_attempt_at))],
        );
        metric(
            "dyngroups_last_sync_success",
            "gauge",
            "1 if the last finished sync succeeded, else 0.",
            &[("", if s.last_success_ok { 1.0 } else { 0.0 })],
        );
        metric(
            "dyngroups_last_sync_duration_seconds",
            "gauge",
            "How long the last sync took.",
            &[("", s.last_duration.map(|d| d.as_secs_f64()).unwrap_or(0.0))],
        );
        metric(
            "dyngroups_syncs_total",
            "counter",
            "Syncs run, by result.",
            &[
                ("{result=\"success\"}", s.ticks_ok as f64),
                ("{result=\"failure\"}", s.ticks_failed as f64),
                ("{result=\"aborted\"}", s.ticks_aborted as f64),
            ],
        );
        metric(
            "dyngroups_sync_consecutive_failures",
            "gauge",
            "Failed syncs in a row (0 after a success).",
            &[("", s.consecutive_failures as f64)],
        );
        metric(
            "dyngroups_sync_in_progress",
            "gauge",
            "1 while a sync runs.",
            &[("", if s.running { 1.0 } else { 0.0 })],
        );
        metric(
            "dyngroups_okta_api_calls_total",
            "counter",
            "Requests sent to Okta (every attempt).",
            &[("", s.api_calls_total as f64)],
        );
        metric(
            "dyngroups_okta_rate_limited_total",
            "counter",
            "429 answers from Okta.",
            &[("", s.rate_limited_total as f64)],
        );
        metric(
            "dyngroups_managed_groups",
            "gauge",
            "Groups this instance manages, after the last successful sync.",
            &[("", s.managed_groups as f64)],
        );
        metric(
            "dyngroups_licensed_users",
            "gauge",
            "Distinct users in at least one managed group, after the last successful sync.",
            &[("", s.licensed_users as f64)],
        );
        metric(
            "dyngroups_last_sync_changes",
            "gauge",
            "Changes the last successful sync planned.",
            &[("", s.last_changes as f64)],
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_has_every_required_metric() {
        let b = Board::new();
        b.tick_started();
        b.tick_succeeded(
            TickReport {
                status: "success".into(),
                commit: Some("abc".into()),
                managed_groups: 12,
                licensed_users: 340,
                api_calls: 57,
                rate_limited: 2,
                changes: 3,
            },
            Duration::from_millis(1500),
        );
        let text = b.prometheus();
        for needle in [
            "# TYPE dyngroups_last_sync_timestamp_seconds gauge",
            "dyngroups_last_sync_duration_seconds 1.5\n",
            "dyngroups_okta_api_calls_total 57\n",
            "# TYPE dyngroups_okta_rate_limited_total counter",
            "dyngroups_okta_rate_limited_total 2\n",
            "dyngroups_managed_groups 12\n",
            "dyngroups_licensed_users 340\n",
            "dyngroups_syncs_total{result=\"success\"} 1\n",
            "dyngroups_last_sync_success 1\n",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        // every sample line is `name{labels} value` with a parseable value
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let v = line.rsplit(' ').next().unwrap();
            assert!(v.parse::<f64>().is_ok(), "{line}");
        }
        let last = text
            .lines()
            .find(|l| l.starts_with("dyngroups_last_sync_timestamp_seconds "))
            .unwrap();
        assert!(last.rsplit(' ').next().unwrap().parse::<f64>().unwrap() > 1.7e9);
    }

    #[test]
    fn failures_are_counted_and_kept() {
        let b = Board::new();
        b.tick_failed(
            &anyhow::anyhow!("okta said no").context("reading the org"),
            Duration::from_secs(1),
            1,
        );
        let s = b.snapshot();
        assert_eq!(
            s.last_error.as_deref(),
            Some("reading the org: okta said no")
        );
        assert!(
            b.prometheus()
                .contains("dyngroups_syncs_total{result=\"failure\"} 1\n")
        );
        assert!(b.prometheus().contains("dyngroups_last_sync_success 0\n"));
    }
}
