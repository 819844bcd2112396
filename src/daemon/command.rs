//! The `dyngroups daemon [--interval 1h] [--listen 127.0.0.1:9090]` command (its clap `Args` and `run`;
//! src/cli/daemon.rs re-exports them): the loop, the HTTP face and signal handling put together.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use super::sync_tick::SyncTick;
use super::{Board, LoopEnd, LoopOptions, Shutdown, ShutdownLevel, reached, run_loop};
use crate::cli::{Exit, Globals};
use crate::reconcile::SyncOptions;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  dyngroups --config https://github.com/acme/okta-groups.git --rev main daemon --interval 1h --listen 127.0.0.1:9090"
)]
pub struct Args {
    /// Time between syncs (`90s`, `15m`, `1h`, `1h30m`, `1d`; a plain number is seconds).
    #[arg(long, default_value = "1h", value_parser = parse_duration, value_name = "DURATION")]
    pub interval: Duration,
    /// Address of /healthz, /metrics and the status page.
    #[arg(long, default_value = "127.0.0.1:9090", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Plan on every tick but change nothing in Okta.
    #[arg(long)]
    pub dry_run: bool,
    /// Most Okta writes per sync (overrides budget.max_writes_per_sync).
    #[arg(long, value_name = "N")]
    pub max_writes: Option<u64>,
    /// Stop after this many syncs (e.g. 1 for a single supervised run).
    #[arg(long, value_name = "N")]
    pub ticks: Option<u64>,
}

/// `90s`, `15m`, `1h30m`, `2d`, or plain seconds. At least one second.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return check(secs);
    }
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => {
                return Err(format!(
                    "{s:?}: unknown unit {c:?} (use s, m, h or d, e.g. 1h30m)"
                ));
            }
        };
        let n: u64 = num
            .parse()
            .map_err(|_| format!("{s:?}: a number must come before {c:?}"))?;
        total = total.saturating_add(n.saturating_mul(unit));
        num.clear();
    }
    if !num.is_empty() {
        return Err(format!("{s:?}: the last number has no unit (s, m, h or d)"));
    }
    check(total)
}

fn check(secs: u64) -> Result<Duration, String> {
    if secs == 0 {
        Err("the interval must be at least 1s".into())
    } else {
        Ok(Duration::from_secs(secs))
    }
}

pub async fn run(g: &Globals, args: &Args) -> anyhow::Result<Exit> {
    let board = Arc::new(Board::new());
    let shutdown = Shutdown::new();
    shutdown
        .on_signals()
        .context("listening for SIGTERM/SIGINT")?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {} for /healthz and /metrics", args.listen))?;
    let addr = listener.local_addr()?;
    eprintln!(
        "dyngroups daemon: syncing now and every {}s; status on http://{addr}/ (/healthz, /metrics)",
        args.interval.as_secs()
    );
    let mut rx = shutdown.subscribe();
    let server = tokio::spawn(super::http::serve(listener, board.clone(), async move {
        reached(&mut rx, ShutdownLevel::Graceful).await
    }));
    let tick = SyncTick::new(
        g.clone(),
        SyncOptions {
            dry_run: args.dry_run,
            max_writes: args.max_writes,
            ..SyncOptions::default()
        },
    );
    let options = LoopOptions {
        max_ticks: args.ticks,
        ..LoopOptions::for_interval(args.interval)
    };
    let end = run_loop(&tick, options, &board, shutdown.subscribe()).await;
    shutdown.request(ShutdownLevel::Graceful);
    match server.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "the status server stopped with an error"),
        Err(e) => tracing::warn!(error = %e, "the status server task failed"),
    }
    let snap = board.snapshot();
    Ok(match end {
        LoopEnd::Aborted => Exit::Failure,
        LoopEnd::Done if !snap.last_success_ok => Exit::Failure,
        _ => Exit::Success,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        for bad in ["", "0", "0s", "1x", "h", "1h30", "-5m"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
