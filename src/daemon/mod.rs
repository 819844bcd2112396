//! The long-running reconciler: sync at start and every interval, one run at a time, capped exponential
//! backoff after failures, clean shutdown on SIGTERM/SIGINT; `/healthz`, Prometheus `/metrics` and a
//! read-only status page (see [`http`]).
//!
//! Shaped like a kube-rs controller loop: every tick recomputes from full state (the same
//! `reconcile::sync` as `dyngroups sync`), and the loop alone decides when to run next. The work of a tick
//! sits behind the [`Tick`] trait so the loop is tested with fakes and paused time.
//!
//! Shutdown: the first signal lets the running tick finish (apply is journalled, but finishing is
//! cleaner) and stops the loop; a second signal aborts the tick (the journal lets the next run recover).

pub mod board;
pub mod command;
pub mod http;
pub mod sync_tick;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use tokio::sync::watch;

pub use board::Board;

/// What one tick reports, for the status board and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TickReport {
    /// `success`, `partial`, `safety_stop`, ...
    pub status: String,
    /// The config commit the tick applied.
    pub commit: Option<String>,
    pub managed_groups: u64,
    pub licensed_users: u64,
    /// Okta requests the tick sent (every attempt).
    pub api_calls: u64,
    /// 429 answers the tick got.
    pub rate_limited: u64,
    /// Planned changes of the tick (one per user added or removed, group created, adopted, deleted or let go).
    pub changes: u64,
}

/// One sync. The daemon calls it at start and after every interval, never two at once.
#[async_trait]
pub trait Tick: Send + Sync {
    async fn tick(&self) -> anyhow::Result<TickReport>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopOptions {
    /// Time between the end of one successful tick and the start of the next.
    pub interval: Duration,
    /// Wait after the first failure; doubled after each further one...
    pub backoff_initial: Duration,
    /// ...up to this.
    pub backoff_max: Duration,
    /// Stop after this many ticks (tests; `None` = run until shutdown).
    pub max_ticks: Option<u64>,
}

impl LoopOptions {
    /// Backoff from 30 s (or the interval, if shorter), capped at the interval.
    pub fn for_interval(interval: Duration) -> LoopOptions {
        LoopOptions {
            interval,
            backoff_initial: interval.min(Duration::from_secs(30)),
            backoff_max: interval,
            max_ticks: None,
        }
    }
}

/// The wait after `failures` consecutive failures (1 = the first): initial × 2^(failures−1), capped.
pub fn backoff(failures: u32, initial: Duration, max: Duration) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(20));
    initial.saturating_mul(factor).min(max)
}

/// How far shutdown has gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ShutdownLevel {
    Running,
    /// Finish the current tick, then stop.
    Graceful,
    /// Stop now, abandoning the current tick.
    Abort,
}

/// The sending side of shutdown; clone the receiver into the loop and the HTTP server.
#[derive(Debug, Clone)]
pub struct Shutdown {
    tx: Arc<watch::Sender<ShutdownLevel>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::new()
    }
}

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown {
            tx: Arc::new(watch::channel(ShutdownLevel::Running).0),
        }
    }

    pub fn subscribe(&self) -> watch::Receiver<ShutdownLevel> {
        self.tx.subscribe()
    }

    /// Moves one step further: Running -> Graceful -> Abort.
    pub fn escalate(&self) -> ShutdownLevel {
        let mut next = ShutdownLevel::Running;
        self.tx.send_modify(|l| {
            *l = match *l {
                ShutdownLevel::Running => ShutdownLevel::Graceful,
                _ => ShutdownLevel::Abort,
            };
            next = *l;
        });
        next
    }

    /// Raises shutdown to at least `level` (never lowers it).
    pub fn request(&self, level: ShutdownLevel) {
        self.tx.send_if_modified(|l| {
            let raise = *l < level;
            if raise {
                *l = level;
            }
            raise
        });
    }

    /// Escalates on every SIGTERM or SIGINT (Ctrl-C), in a background task.
    pub fn on_signals(&self) -> std::io::Result<()> {
        #[cfg(unix)]
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                #[cfg(unix)]
                tokio::select! {
                    _ = term.recv() => {}
                    r = tokio::signal::ctrl_c() => if r.is_err() { return },
                }
                #[cfg(not(unix))]
                if tokio::signal::ctrl_c().await.is_err() {
                    return;
                }
                match me.escalate() {
                    ShutdownLevel::Graceful => tracing::warn!(
                        "shutting down: finishing the current sync first (signal again to abort it)"
                    ),
                    _ => {
                        tracing::warn!(
                            "aborting the current sync; the next run recovers from its journal"
                        );
                        return;
                    }
                }
            }
        });
        Ok(())
    }
}

/// Waits until shutdown reaches `level`.
pub async fn reached(rx: &mut watch::Receiver<ShutdownLevel>, level: ShutdownLevel) {
    // An Err means every sender is gone: nobody can ask us to stop any more, so wait forever.
    if rx.wait_for(|l| *l >= level).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// How the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopEnd {
    /// Shutdown between ticks or after the current tick finished.
    Stopped,
    /// A second signal abandoned a running tick.
    Aborted,
    /// `max_ticks` reached.
    Done,
}

/// Runs ticks until shutdown: at start, then `interval` after each success, or after a backoff following
/// failures. Records every tick on `board`.
pub async fn run_loop(
    tick: &dyn Tick,
    options: LoopOptions,
    board: &Board,
    mut shutdown: watch::Receiver<ShutdownLevel>,
) -> LoopEnd {
    let mut ticks = 0u64;
    let mut failures = 0u32;
    loop {
        if *shutdown.borrow() >= ShutdownLevel::Graceful {
            return LoopEnd::Stopped;
        }
        board.tick_started();
        let started = tokio::time::Instant::now();
        let result = tokio::select! {
            r = tick.tick() => r,
            _ = reached(&mut shutdown, ShutdownLevel::Abort) => {
                board.tick_aborted(started.elapsed());
                return LoopEnd::Aborted;
            }
        };
        let took = started.elapsed();
        ticks += 1;
        let wait = match result {
            Ok(report) => {
                failures = 0;
                tracing::info!(status = %report.status, changes = report.changes, took_ms = took.as_millis() as u64, "sync finished");
                board.tick_succeeded(report, took);
                options.interval
            }
            Err(err) => {
                failures = failures.saturating_add(1);
                let wait = backoff(failures, options.backoff_initial, options.backoff_max);
                tracing::error!(error = %format!("{err:#}"), failures, retry_in_s = wait.as_secs(), "sync failed");
                board.tick_failed(&err, took, failures);
                wait
            }
        };
        if options.max_ticks.is_some_and(|m| ticks >= m) {
            return LoopEnd::Done;
        }
        board.next_in(wait);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = reached(&mut shutdown, ShutdownLevel::Graceful) => return LoopEnd::Stopped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tokio::time::Instant;

    /// Scripted outcomes; records when each tick started (paused time).
    struct Script {
        outcomes: Mutex<Vec<Result<TickReport, String>>>,
        started: Mutex<Vec<Instant>>,
        take: Duration,
    }

    impl Script {
        fn new(outcomes: Vec<Result<TickReport, String>>, take: Duration) -> Script {
            Script {
                outcomes: Mutex::new(outcomes.into_iter().rev().collect()),
                started: Mutex::new(vec![]),
                take,
            }
        }
    }

    #[async_trait]
    impl Tick for Script {
        async fn tick(&self) -> anyhow::Result<TickReport> {
            self.started.lock().unwrap().push(Instant::now());
            tokio::time::sleep(self.take).await;
            match self.outcomes.lock().unwrap().pop() {
                Some(Ok(r)) => Ok(r),
                Some(Err(e)) => Err(anyhow::anyhow!(e)),
                None => Ok(TickReport::default()),
            }
        }
    }

    fn ok(groups: u64) -> Result<TickReport, String> {
        Ok(TickReport {
            status: "success".into(),
            managed_groups: groups,
            licensed_users: groups * 10,
            api_calls: 5,
            rate_limited: 1,
            ..TickReport::default()
        })
    }

    fn gaps(starts: &[Instant]) -> Vec<u64> {
        starts.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect()
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let (i, m) = (Duration::from_secs(30), Duration::from_secs(3600));
        let waits: Vec<u64> = (1..=9).map(|f| backoff(f, i, m).as_secs()).collect();
        assert_eq!(waits, vec![30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(backoff(u32::MAX, i, m), m);
    }

    #[tokio::test(start_paused = true)]
    async fn ticks_at_start_and_every_interval() {
        let script = Script::new(vec![ok(1), ok(2), ok(3)], Duration::from_secs(5));
        let board = Board::new();
        let opts = LoopOptions {
            max_ticks: Some(3),
            ..LoopOptions::for_interval(Duration::from_secs(3600))
        };
        let end = run_loop(&script, opts, &board, Shutdown::new().subscribe()).await;
        assert_eq!(end, LoopEnd::Done);
        // interval counts from the end of a tick (5 s) to the next start
        assert_eq!(gaps(&script.started.lock().unwrap()), vec![3605, 3605]);
        let snap = board.snapshot();
        assert_eq!((snap.ticks_ok, snap.ticks_failed), (3, 0));
        assert_eq!(snap.managed_groups, 3);
        assert_eq!(snap.api_calls_total, 15);
        assert_eq!(snap.rate_limited_total, 3);
        assert_eq!(snap.last_duration, Some(Duration::from_secs(5)));
    }

    #[tokio::test(start_paused = true)]
    async fn failures_back_off_then_recover() {
        let script = Script::new(
            vec![
                Err("okta down".into()),
                Err("okta down".into()),
                Err("still".into()),
                ok(4),
                ok(4),
            ],
            Duration::ZERO,
        );
        let board = Board::new();
        let opts = LoopOptions {
            max_ticks: Some(5),
            ..LoopOptions::for_interval(Duration::from_secs(100))
        };
        run_loop(&script, opts, &board, Shutdown::new().subscribe()).await;
        assert_eq!(
            gaps(&script.started.lock().unwrap()),
            vec![30, 60, 100, 100]
        );
        let snap = board.snapshot();
        assert_eq!(
            (snap.ticks_ok, snap.ticks_failed, snap.consecutive_failures),
            (2, 3, 0)
        );
        assert_eq!(snap.last_error.as_deref(), Some("still"));
        assert!(snap.last_success_ok);
    }

    #[tokio::test(start_paused = true)]
    async fn graceful_shutdown_finishes_the_running_tick() {
        let script = Arc::new(Script::new(vec![ok(1)], Duration::from_secs(60)));
        let board = Arc::new(Board::new());
        let shutdown = Shutdown::new();
        let rx = shutdown.subscribe();
        let (s2, b2) = (script.clone(), board.clone());
        let task = tokio::spawn(async move {
            run_loop(
                &*s2,
                LoopOptions::for_interval(Duration::from_secs(3600)),
                &b2,
                rx,
            )
            .await
        });
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(shutdown.escalate(), ShutdownLevel::Graceful);
        assert_eq!(task.await.unwrap(), LoopEnd::Stopped);
        assert_eq!(board.snapshot().ticks_ok, 1, "the tick in flight finished");
        assert_eq!(script.started.lock().unwrap().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn second_signal_aborts_the_running_tick() {
        let script = Arc::new(Script::new(vec![ok(1)], Duration::from_secs(600)));
        let board = Arc::new(Board::new());
        let shutdown = Shutdown::new();
        let rx = shutdown.subscribe();
        let (s2, b2) = (script.clone(), board.clone());
        let task = tokio::spawn(async move {
            run_loop(
                &*s2,
                LoopOptions::for_interval(Duration::from_secs(3600)),
                &b2,
                rx,
            )
            .await
        });
        tokio::time::sleep(Duration::from_secs(10)).await;
        shutdown.escalate();
        assert_eq!(shutdown.escalate(), ShutdownLevel::Abort);
        assert_eq!(task.await.unwrap(), LoopEnd::Aborted);
        let snap = board.snapshot();
        assert_eq!(snap.ticks_ok, 0);
        assert!(!snap.running);
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_while_waiting_stops_at_once() {
        let script = Script::new(vec![ok(1)], Duration::ZERO);
        let board = Board::new();
        let shutdown = Shutdown::new();
        let rx = shutdown.subscribe();
        let t0 = Instant::now();
        let stopper = async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            shutdown.escalate();
        };
        let (end, ()) = tokio::join!(
            run_loop(
                &script,
                LoopOptions::for_interval(Duration::from_secs(3600)),
                &board,
                rx
            ),
            stopper
        );
        assert_eq!(end, LoopEnd::Stopped);
        assert_eq!(Instant::now() - t0, Duration::from_secs(1));
    }
}
