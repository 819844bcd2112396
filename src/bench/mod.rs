//! `dyngroups bench`: measured figures, never asserted in tests. Planner runs at several org sizes (each in
//! its own child process, so peak memory is that run's alone) and syncs against the emulator on the
//! Workforce rate-limit profile with a time scale; prints one table and writes a JSON file.

pub mod apply;
pub mod memory;
pub mod planner;
pub mod sync;

use std::path::PathBuf;
use std::process::Command;

use anyhow::Context;
use serde::Serialize;

/// One row of the table (and of the JSON file).
#[derive(Debug, Clone, Serialize, Default)]
pub struct Row {
    pub run: String,
    pub users: usize,
    /// API calls per rate-limit bucket.
    pub calls: std::collections::BTreeMap<String, u64>,
    /// The fewest calls any correct tool could make for this run.
    pub lower_bound_calls: u64,
    pub wall_seconds: f64,
    /// Seconds the calls need at the buckets' allowed rates (the physical limit), in emulated time.
    pub rate_limit_bound_seconds: f64,
    /// wall / rate-limit bound (1.0 = at the limit).
    pub ratio: Option<f64>,
    pub http_429: u64,
    pub peak_rss_mib: f64,
    pub note: String,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  dyngroups bench --out bench.json\n  dyngroups bench --planner-users 10000,100000,1000000 --sync-users 0"
)]
pub struct Args {
    /// Org sizes for the planner runs (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
    pub planner_users: Vec<usize>,
    /// Users in the generated org for the sync runs (0 skips them).
    #[arg(long, default_value_t = 10000)]
    pub sync_users: usize,
    /// Emulator time scale for the sync runs: 60 makes a rate-limit minute last one second.
    #[arg(long, default_value_t = 60.0)]
    pub time_scale: f64,
    /// Where to write the JSON figures.
    #[arg(long, default_value = "bench.json")]
    pub out: PathBuf,
    /// Internal: run one planner size in this process and print its figures as JSON.
    #[arg(long, hide = true)]
    pub planner_only: Option<usize>,
    /// Internal, with --planner-only: plan the settled org (after the first sync) instead.
    #[arg(long, hide = true)]
    pub settled: bool,
    /// Internal: apply one budgeted run of this size's first plan in this process, print figures as JSON.
    #[arg(long, hide = true)]
    pub apply_only: Option<usize>,
    /// Internal: build this size's incremental-sync snapshot in memory, print figures as JSON.
    #[arg(long, hide = true)]
    pub snapshot_only: Option<usize>,
}

/// Writes one token may make in an hour on the Workforce groups bucket (225 a minute at our 90 % share of
/// half of 500): the budget of the apply benchmark's run.
const HOURLY_BUDGET: u64 = 13_500;

pub async fn run(args: &Args) -> anyhow::Result<()> {
    if let Some(n) = args.snapshot_only {
        println!("{}", serde_json::to_string(&snapshot_figures(n))?);
        return Ok(());
    }
    if let Some(n) = args.apply_only {
        let f = apply::run(n, HOURLY_BUDGET).await?;
        println!("{}", serde_json::to_string(&f)?);
        return Ok(());
    }
    if let Some(n) = args.planner_only {
        let f = planner::run(n, args.settled);
        println!("{}", serde_json::to_string(&f)?);
        return Ok(());
    }
    let mut rows = Vec::new();
    if args.sync_users > 0 {
        eprintln!(
            "bench: syncs of {} users on the Workforce profile, time x{} ...",
            args.sync_users, args.time_scale
        );
        let b = sync::SyncBench {
            users: args.sync_users,
            time_scale: args.time_scale,
        };
        rows.extend(sync::run(&b).await?);
    }
    for &n in &args.planner_users {
        eprintln!("bench: planner, {n} users ...");
        rows.push(planner_row(n, false)?);
        rows.push(planner_row(n, true)?);
    }
    if let Some(&n) = args.planner_users.iter().max() {
        eprintln!("bench: apply, one budgeted run of the {n}-user first plan ...");
        rows.push(apply_row(n)?);
        eprintln!("bench: the incremental sync's snapshot of {n} users in memory ...");
        rows.push(snapshot_row(n)?);
    }
    print_table(&rows);
    let json = serde_json::json!({"format_version": 1, "machine": machine(), "runs": rows});
    std::fs::write(&args.out, serde_json::to_string_pretty(&json)?)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!("figures written to {}", args.out.display());
    Ok(())
}

/// Runs this binary with `args` and reads the JSON figures it prints.
fn child(args: &[&str], what: &str) -> anyhow::Result<serde_json::Value> {
    let exe = std::env::current_exe().context("finding the dyngroups binary")?;
    let out = Command::new(exe)
        .args(args)
        .output()
        .with_context(|| format!("running the {what}"))?;
    if !out.status.success() {
        anyhow::bail!(
            "the {what} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout).with_context(|| format!("reading the {what}'s figures"))
}

/// One planner run in a child process: the first plan of a new org, or (`settled`) the no-change plan of
/// the org once that plan was applied (reads every member and the recorded state).
fn planner_row(users: usize, settled: bool) -> anyhow::Result<Row> {
    let n = users.to_string();
    let mut args = vec!["bench", "--planner-only", &n];
    if settled {
        args.push("--settled");
    }
    let f = child(&args, &format!("planner benchmark at {users} users"))?;
    let num = |k: &str| f.get(k).and_then(|v| v.as_f64()).unwrap_or(0.0);
    Ok(Row {
        run: if settled {
            format!(
                "planner, settled, no change ({} actions)",
                num("changes") as u64
            )
        } else {
            format!(
                "planner, first plan, 5 rules, {} groups",
                num("groups") as u64
            )
        },
        users,
        wall_seconds: num("plan_seconds"),
        peak_rss_mib: num("peak_rss") / 1048576.0,
        note: format!(
            "org alone {:.0} MiB; planning added {:.0} MiB",
            num("rss_before") / 1048576.0,
            (num("peak_rss") - num("rss_before")).max(0.0) / 1048576.0
        ),
        ..Row::default()
    })
}

/// The users of an incremental sync's snapshot (`store::snap::SnapUsers`) for the lean org of `users`
/// users, held in memory as a sync holds it.
fn snapshot_figures(users: usize) -> serde_json::Value {
    let org = planner::lean_org(users, 42);
    memory::release_freed();
    let before = memory::rss().map(|r| r.0).unwrap_or(0);
    let snap: crate::store::snap::SnapUsers = org
        .users
        .rows()
        .map(|u| {
            let user = crate::store::snap::SnapUser {
                status: u.status,
                attributes: u.attributes,
            };
            (u.id, user)
        })
        .collect();
    let after = memory::rss().map(|r| r.0).unwrap_or(0);
    serde_json::json!({"users": snap.len(), "bytes": after.saturating_sub(before)})
}

fn snapshot_row(users: usize) -> anyhow::Result<Row> {
    let n = users.to_string();
    let f = child(
        &["bench", "--snapshot-only", &n],
        &format!("snapshot measurement at {users} users"),
    )?;
    let mib = f.get("bytes").and_then(|v| v.as_f64()).unwrap_or(0.0) / 1048576.0;
    Ok(Row {
        run: "incremental sync's user snapshot, in memory".into(),
        users,
        peak_rss_mib: mib,
        note: format!(
            "dictionary-coded attributes: {:.0} bytes a user",
            mib * 1048576.0 / users.max(1) as f64
        ),
        ..Row::default()
    })
}

/// One budgeted apply run in a child process (its peak memory alone).
fn apply_row(users: usize) -> anyhow::Result<Row> {
    let n = users.to_string();
    let f = child(
        &["bench", "--apply-only", &n],
        &format!("apply benchmark at {users} users"),
    )?;
    let num = |k: &str| f.get(k).and_then(|v| v.as_f64()).unwrap_or(0.0);
    Ok(Row {
        run: format!("apply, one hourly budget ({HOURLY_BUDGET} writes)"),
        users,
        wall_seconds: num("apply_seconds"),
        peak_rss_mib: num("peak_rss") / 1048576.0,
        note: format!(
            "Okta answering at once; {:.0} of {:.0} planned writes made, {:.0} deferred; org and plan {:.0} MiB, apply added {:.0} MiB",
            num("writes"),
            num("planned_writes"),
            num("deferred"),
            num("rss_before") / 1048576.0,
            (num("peak_rss") - num("rss_before")).max(0.0) / 1048576.0
        ),
        ..Row::default()
    })
}

fn machine() -> serde_json::Value {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    serde_json::json!({"cpus": cpus, "os": std::env::consts::OS, "arch": std::env::consts::ARCH})
}

pub fn print_table(rows: &[Row]) {
    println!(
        "{:<44} {:>9} {:>9} {:>9} {:>9} {:>10} {:>7} {:>5} {:>9}  note",
        "run", "users", "calls", "lower", "wall s", "limit s", "ratio", "429s", "peak MiB"
    );
    for r in rows {
        let calls: u64 = r.calls.values().sum();
        println!(
            "{:<44} {:>9} {:>9} {:>9} {:>9.2} {:>10.1} {:>7} {:>5} {:>9.0}  {}",
            r.run,
            r.users,
            calls,
            r.lower_bound_calls,
            r.wall_seconds,
            r.rate_limit_bound_seconds,
            r.ratio
                .map(|x| format!("{x:.2}"))
                .unwrap_or_else(|| "-".into()),
            r.http_429,
            r.peak_rss_mib,
            r.note
        );
    }
}
