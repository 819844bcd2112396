//! The sync benchmark: a generated org served by the emulator on Okta's Workforce rate-limit profile with a
//! time scale, synced through the real HTTP client and store: a first full sync, a sync with nothing changed,
//! and a sync after 1 % of users changed department. Figures come from the emulator's own counters.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;

use crate::config::model::Config;
use crate::okta::client::{ClientOptions, Credentials, OktaClient};
use crate::reconcile::{self, SyncOptions};
use crate::secret::Secret;
use crate::sim::Emulator;
use crate::sim::ratelimit::{BucketLimits, RateProfile};
use crate::sim::server::{self, RunningServer, ServerOptions};
use crate::store::Store;

use super::{Row, memory};

pub struct SyncBench {
    pub users: usize,
    pub time_scale: f64,
}

/// Calls a token may make per real second in `bucket` under `limits` and `time_scale`.
fn allowed_per_second(limits: &BucketLimits, bucket: &str, time_scale: f64) -> Option<f64> {
    let per_minute = match bucket {
        "groups" => limits.groups,
        "group_by_id" => limits.group_by_id,
        "users" => limits.users,
        "user_by_id" => limits.user_by_id,
        "user_mutate" => limits.user_mutate,
        "schema" => limits.schema,
        "logs" => limits.logs,
        "token" => limits.token,
        "other" => limits.other,
        _ => return None,
    };
    Some(per_minute as f64 * limits.token_share / 60.0 * time_scale)
}

fn bench_config() -> Config {
    let mut config = super::planner::bench_config();
    // The generated org has department, city and costCenter; skills is its multi-valued attribute.
    config.rules.retain(|r| r.attribute != "userType");
    config
}

pub async fn run(b: &SyncBench) -> anyhow::Result<Vec<Row>> {
    let seed = crate::sim::generate::generate(b.users, 1);
    let emu = Emulator::from_seed(seed).context("building the generated org")?;
    let options = ServerOptions {
        profile: RateProfile::Workforce,
        time_scale: b.time_scale,
        ..ServerOptions::default()
    };
    let srv = server::spawn(emu.clone(), options)
        .await
        .context("starting the emulator")?;
    let client = OktaClient::new(
        &srv.base_url,
        Credentials::ApiToken(Secret::new("emulator-token")),
        ClientOptions {
            rate_window: Duration::from_secs_f64(60.0 / b.time_scale),
            bucket_share_percent: 100.0,
            max_concurrency: 32,
            ..ClientOptions::default()
        },
    )?;
    let dir = std::env::temp_dir().join(format!("dyngroups-bench-{}", std::process::id()));
    let config = bench_config();
    let store = Store::open_instance(&dir, &config.instance.name)?;
    let limits = RateProfile::Workforce.limits();
    // A new store beside an org that already has a group with a computed name: initialise it explicitly
    // (collision policy decides), as a user would after reading sync's refusal.
    reconcile::reinit(&client, &store, &config, false, false)
        .await
        .context("initialising the bench store")?;

    let ctx = Ctx {
        srv: &srv,
        client: &client,
        store: &store,
        config: &config,
        limits: &limits,
        b,
    };
    let mut rows = vec![one(&ctx, "first full sync", None).await?];
    // The first quiet run still re-reads the users created just before the first sync (inside the overlap
    // kept for Okta's eventually consistent search); the second is the steady hourly state.
    rows.push(one(&ctx, "sync, nothing changed (1st hour)", Some(0)).await?);
    rows.push(one(&ctx, "sync, nothing changed (hourly)", Some(0)).await?);
    let changed = change_departments(&emu, b.users / 100)?;
    let mut row = one(&ctx, "sync after 1 % moved department", Some(changed)).await?;
    row.note = format!("{changed} users moved; {}", row.note);
    rows.push(row);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(rows)
}

/// Moves `n` active users to another department, as HR would.
fn change_departments(emu: &Emulator, n: usize) -> anyhow::Result<usize> {
    let mut moved = 0;
    for u in emu
        .users()
        .into_iter()
        .filter(|u| u.status == crate::okta::model::UserStatus::Active)
    {
        if moved == n {
            break;
        }
        let to = match u.profile.get("department").and_then(Value::as_str) {
            Some("Finance") => "Legal",
            _ => "Finance",
        };
        emu.set_attribute(&u.id, "department", Value::from(to))?;
        moved += 1;
    }
    Ok(moved)
}

/// What every measured run shares.
struct Ctx<'a> {
    srv: &'a RunningServer,
    client: &'a OktaClient,
    store: &'a Store,
    config: &'a Config,
    limits: &'a BucketLimits,
    b: &'a SyncBench,
}

/// One measured sync. `changed_users`: None for a full read, Some(n) for an incremental one after n users
/// changed (the lower bound of calls differs).
async fn one(ctx: &Ctx<'_>, name: &str, changed_users: Option<usize>) -> anyhow::Result<Row> {
    let Ctx {
        srv,
        client,
        store,
        config,
        limits,
        b,
    } = *ctx;
    // Runs an hour apart on Okta's clock, as the hourly schedule would be.
    srv.emulator().advance(chrono::TimeDelta::hours(1));
    srv.reset_counters();
    memory::reset_peak();
    let started = Instant::now();
    let report = reconcile::sync(client, store, config, &SyncOptions::default())
        .await
        .with_context(|| format!("bench run `{name}`"))?;
    let wall = started.elapsed().as_secs_f64();
    let counters = srv.counters();
    let s = &report.plan.summary;
    let writes = s.groups_new + s.adds + s.removes + s.groups_delete;
    // Reads any correct tool needs: every ACTIVE user once (200 a page), all groups once (one page),
    // and one member listing per group it must compare (managed or colliding, 1000 a page).
    let active = count_active(srv);
    let user_pages = active.div_ceil(200).max(1) as u64;
    let member_pages: u64 = report
        .plan
        .rules
        .iter()
        .flat_map(|r| &r.groups)
        .filter(|g| g.okta_id.is_some())
        .map(|g| g.current_members.div_ceil(1000).max(1))
        .sum();
    let lower = match changed_users {
        // A full read: every user, every group, every compared group's members.
        None => user_pages + 1 + member_pages + writes,
        // An incremental run needs at least: the changed users (one call even when none changed), the group
        // listing, and one write per change.
        Some(n) => (n as u64).div_ceil(200).max(1) + 1 + writes,
    };
    // The physical limit: each bucket's calls at the rate a token is allowed; buckets run in parallel.
    let bound = counters
        .by_bucket
        .iter()
        .filter_map(|(bucket, calls)| {
            Some(*calls as f64 / allowed_per_second(limits, bucket, b.time_scale)?)
        })
        .fold(0.0_f64, f64::max);
    let peak = memory::rss().map(|r| r.1).unwrap_or(0);
    Ok(Row {
        run: name.to_string(),
        users: b.users,
        calls: counters.by_bucket.clone(),
        lower_bound_calls: lower,
        wall_seconds: wall,
        rate_limit_bound_seconds: bound,
        ratio: (bound > 0.5).then(|| wall / bound),
        http_429: counters.rate_limited + counters.concurrency_limited,
        peak_rss_mib: peak as f64 / 1048576.0,
        note: format!(
            "{} read; {} groups created, {} adds, {} removes; time x{}",
            report
                .observe
                .as_ref()
                .map(|o| o.mode.as_str())
                .unwrap_or("-"),
            s.groups_new,
            s.adds,
            s.removes,
            b.time_scale
        ),
    })
}

fn count_active(srv: &RunningServer) -> usize {
    srv.emulator()
        .users()
        .iter()
        .filter(|u| u.status == crate::okta::model::UserStatus::Active)
        .count()
}
