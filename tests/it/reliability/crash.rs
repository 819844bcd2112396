//! Part 2, crash recovery: `dyngroups sync` (the binary) killed with SIGKILL right after its N-th Okta write
//! was answered (src/apply/hooks.rs: `DYNGROUPS_TEST_HOOKS=1` + `DYNGROUPS_CRASH_AFTER_WRITES=N`), at
//! `DYNGROUPS_CRASH_POINTS` (default 100) points chosen at random from every write of two syncs (a first sync
//! creating and filling groups; a sync after HR changes that adds, removes, creates and deletes), reproducible by
//! `DYNGROUPS_CRASH_SEED`. The emulator lives in the test process and outlives each killed sync; after each kill
//! the binary runs again until it succeeds, then the org, the plan and the store must agree.

use std::path::Path;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::json;

use super::common::{self, figure};
use crate::support;

/// Crash points by default (docs/reliability.md states this number).
pub const CRASH_POINTS: usize = 100;
pub const DEFAULT_SEED: u64 = 20_261_204;
const USERS: usize = 40;
const MAX_RECOVERY_RUNS: usize = 3;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn hr_changes(emu: &dyngroups::sim::Emulator) {
    for i in 0..USERS {
        let login = format!("u{i}@example.com");
        if i % 4 == 3 {
            emu.set_attribute(&login, "department", json!("Sales"))
                .expect("hr change");
        }
        if i % 5 == 0 {
            emu.set_attribute(&login, "city", json!("Porto"))
                .expect("hr change");
        }
    }
}

fn cli(args: &[&str], config: &Path, state: &Path, url: &str) -> assert_cmd::Command {
    let mut cmd = support::bin();
    cmd.args(args)
        .arg("--config")
        .arg(config)
        .arg("--state")
        .arg(state)
        .args(["--okta-url", url])
        .env("OKTA_API_TOKEN", common::TOKEN)
        .env_remove("OKTA_CLIENT_TOKEN")
        .env_remove("DYNGROUPS_TEST_HOOKS")
        .env_remove("DYNGROUPS_CRASH_AFTER_WRITES");
    cmd
}

/// Writes of one clean sync in each phase, measured in process.
async fn writes_per_phase(config: &dyngroups::config::model::Config) -> (u64, u64) {
    let emu = support::emulator(&common::org_yaml(USERS));
    let dir = tempfile::tempdir().expect("tempdir");
    let store = common::store(dir.path());
    let a = common::sync(&emu, &store, config)
        .await
        .expect("clean first sync");
    hr_changes(&emu);
    let b = common::sync(&emu, &store, config)
        .await
        .expect("clean second sync");
    (a.api_calls.writes, b.api_calls.writes)
}

#[derive(Debug, Default)]
struct Figures {
    points: usize,
    killed: usize,
    runs: usize,
    convergences: usize,
    duplicates: usize,
    lost_records: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_killed_at_random_points_always_converges() {
    let seed: u64 = env_or("DYNGROUPS_CRASH_SEED", DEFAULT_SEED);
    let wanted: usize = env_or("DYNGROUPS_CRASH_POINTS", CRASH_POINTS);
    println!("crash seed {seed} (DYNGROUPS_CRASH_SEED), {wanted} points (DYNGROUPS_CRASH_POINTS)");
    let config_dir = tempfile::tempdir().expect("tempdir");
    common::write_config_repo(config_dir.path(), "enforce");
    let cfg = common::load_config(config_dir.path());
    let (wa, wb) = writes_per_phase(&cfg).await;
    let total = (wa + wb) as usize;
    println!("writes per clean sync: first {wa}, after HR changes {wb}");
    assert!(
        total >= 50,
        "the scenario has enough write points ({total})"
    );
    let mut rng = StdRng::seed_from_u64(seed);
    // Distinct points while there are enough, else with repetition.
    let mut points: Vec<usize> = if wanted <= total {
        rand::seq::index::sample(&mut rng, total, wanted).into_vec()
    } else {
        (0..wanted)
            .map(|_| rand::Rng::random_range(&mut rng, 0..total))
            .collect()
    };
    points.sort_unstable();
    let mut f = Figures::default();
    for p in points {
        let (phase_b, n) = if p < wa as usize {
            (false, p + 1)
        } else {
            (true, p - wa as usize + 1)
        };
        let label = format!(
            "{} write {n}",
            if phase_b {
                "sync after HR changes,"
            } else {
                "first sync,"
            }
        );
        let emu = support::emulator(&common::org_yaml(USERS));
        let server = support::serve(&emu).await;
        let state = tempfile::tempdir().expect("tempdir");
        let store_dir = state.path().join("store");
        if phase_b {
            let store = common::store(&store_dir);
            common::sync(&emu, &store, &cfg)
                .await
                .expect("clean first sync");
            drop(store);
            hr_changes(&emu);
        }
        let (c, s, url) = (
            config_dir.path().to_path_buf(),
            store_dir.clone(),
            server.base_url.clone(),
        );
        let n_s = n.to_string();
        let (killed, runs) = tokio::task::spawn_blocking(move || {
            let killed = cli(&["sync"], &c, &s, &url)
                .env("DYNGROUPS_TEST_HOOKS", "1")
                .env("DYNGROUPS_CRASH_AFTER_WRITES", &n_s)
                .output()
                .expect("run the binary");
            let mut runs = vec![];
            for _ in 0..MAX_RECOVERY_RUNS {
                let out = cli(&["sync"], &c, &s, &url)
                    .output()
                    .expect("run the binary");
                let ok = out.status.success();
                runs.push(out);
                if ok {
                    break;
                }
            }
            (killed, runs)
        })
        .await
        .expect("runner");
        f.points += 1;
        use std::os::unix::process::ExitStatusExt;
        if killed.status.signal() == Some(9) {
            f.killed += 1;
        } else {
            panic!(
                "{label}: the hook did not kill the sync: {:?}\n{}",
                killed.status,
                String::from_utf8_lossy(&killed.stderr)
            );
        }
        f.runs += 1 + runs.len();
        let last = runs.last().expect("a recovery run");
        assert!(
            last.status.success(),
            "{label}: no recovery in {MAX_RECOVERY_RUNS} runs: {}",
            String::from_utf8_lossy(&last.stderr)
        );
        let store = common::store(&store_dir);
        let dups = common::duplicates(&emu);
        let lost = common::lost_records(&emu, &store);
        f.duplicates += dups;
        f.lost_records += lost;
        let bad = common::violations(&emu, &store, &cfg).await;
        assert!(
            bad.is_empty(),
            "{label} (seed {seed}): not converged: {bad:#?}"
        );
        assert!(
            store.pending_intents().expect("journal").is_empty(),
            "{label}: journal left open"
        );
        f.convergences += 1;
    }
    println!("crash recovery: {f:?}");
    assert_eq!((f.duplicates, f.lost_records), (0, 0));
    assert_eq!(f.convergences, wanted);
    figure("crash", "seed", seed);
    figure("crash", "points", f.points);
    figure("crash", "killed", f.killed);
    figure("crash", "runs", f.runs);
    figure("crash", "convergences", f.convergences);
    figure("crash", "duplicates", f.duplicates);
    figure("crash", "lost_records", f.lost_records);
}

/// Kill points by request count (docs/reliability.md states this number).
pub const REQUEST_KILL_POINTS: usize = 20;

/// The more honest SIGKILL: the test itself kills the child (`Child::kill`, SIGKILL on Unix) as soon as the
/// emulator has received its K-th request, reads included, so kills land during listing, between writes and
/// while a request is in flight. K is drawn by the seed over the requests of a clean first sync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_killed_by_the_test_at_random_requests_converges() {
    let seed: u64 = env_or("DYNGROUPS_CRASH_SEED", DEFAULT_SEED);
    let wanted: usize = env_or("DYNGROUPS_CRASH_REQUEST_POINTS", REQUEST_KILL_POINTS);
    let config_dir = tempfile::tempdir().expect("tempdir");
    common::write_config_repo(config_dir.path(), "enforce");
    let cfg = common::load_config(config_dir.path());
    let sync_cmd = |state: &Path, url: &str| {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("dyngroups"));
        c.arg("sync")
            .arg("--config")
            .arg(config_dir.path())
            .arg("--state")
            .arg(state)
            .args(["--okta-url", url])
            .env("OKTA_API_TOKEN", common::TOKEN)
            .env_remove("OKTA_CLIENT_TOKEN")
            .env_remove("DYNGROUPS_TEST_HOOKS")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        c
    };
    // Requests of one clean first sync through the binary.
    let total = {
        let emu = support::emulator(&common::org_yaml(USERS));
        let server = support::serve(&emu).await;
        let state = tempfile::tempdir().expect("tempdir");
        let st = sync_cmd(&state.path().join("store"), &server.base_url)
            .status()
            .expect("run");
        assert!(st.success());
        server.counters().requests
    };
    println!(
        "crash by request: seed {seed}, {wanted} points over {total} requests of a first sync"
    );
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let mut f = Figures::default();
    let mut killed_early = 0;
    for _ in 0..wanted {
        let k = rand::Rng::random_range(&mut rng, 1..=total);
        let emu = support::emulator(&common::org_yaml(USERS));
        let server = support::serve(&emu).await;
        let state = tempfile::tempdir().expect("tempdir");
        let store_dir = state.path().join("store");
        let mut child = sync_cmd(&store_dir, &server.base_url)
            .spawn()
            .expect("spawn");
        let mut killed = false;
        loop {
            if server.counters().requests >= k {
                killed = child.kill().is_ok();
                break;
            }
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_micros(200)).await;
        }
        let status = child.wait().expect("wait");
        use std::os::unix::process::ExitStatusExt;
        if killed && status.signal() == Some(9) {
            f.killed += 1;
        } else {
            killed_early += 1; // finished before the K-th request was seen
        }
        f.points += 1;
        f.runs += 1;
        let mut ok = false;
        for _ in 0..MAX_RECOVERY_RUNS {
            f.runs += 1;
            let out = sync_cmd(&store_dir, &server.base_url)
                .output()
                .expect("run");
            if out.status.success() {
                ok = true;
                break;
            }
            println!(
                "request {k}: recovery run failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        assert!(
            ok,
            "request {k} (seed {seed}): no recovery in {MAX_RECOVERY_RUNS} runs"
        );
        let store = common::store(&store_dir);
        f.duplicates += common::duplicates(&emu);
        f.lost_records += common::lost_records(&emu, &store);
        let bad = common::violations(&emu, &store, &cfg).await;
        assert!(
            bad.is_empty(),
            "request {k} (seed {seed}): not converged: {bad:#?}"
        );
        f.convergences += 1;
    }
    println!("crash by request: {f:?}, {killed_early} finished before their kill point");
    assert_eq!((f.duplicates, f.lost_records), (0, 0));
    assert!(
        f.killed * 2 >= wanted,
        "most points were real kills ({} of {wanted})",
        f.killed
    );
    figure("crash_by_request", "points", f.points);
    figure("crash_by_request", "killed", f.killed);
    figure("crash_by_request", "runs", f.runs);
    figure("crash_by_request", "convergences", f.convergences);
    figure("crash_by_request", "duplicates", f.duplicates);
    figure("crash_by_request", "lost_records", f.lost_records);
}
