//! Part 1, the fault suite: 429 storms, 5xx bursts, dropped connections, slow responses, timeouts and the
//! concurrency cap, each during listing (faults on `/api/v1/users`) and during group work (faults on
//! `/api/v1/groups`, where every write goes), over a first sync and a sync after HR changes. Every run either
//! completes or stops with an error and the next run (faults cleared) completes; then the org equals the plan.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dyngroups::okta::api::OktaApi;

use dyngroups::sim::faults::Faults;
use dyngroups::sim::ratelimit::{BucketLimits, RateProfile};
use dyngroups::sim::server::ServerOptions;
use dyngroups::store::SyncStatus;
use serde_json::json;

use super::common::{self, figure};
use crate::support;

/// The fault kinds the suite injects (docs/reliability.md states this count).
pub const FAULT_KINDS: [&str; 6] = [
    "429-storm",
    "5xx-burst",
    "dropped-connections",
    "slow",
    "timeouts",
    "concurrency-cap",
];
/// Where they are injected.
pub const PHASES: [(&str, &str); 2] = [
    ("listing", "/api/v1/users"),
    ("groups+writes", "/api/v1/groups"),
];
const USERS: usize = 24;

#[derive(Default, Debug)]
struct Tally {
    runs: u64,
    stopped: u64,
    converged: u64,
    injected: u64,
}

fn options(kind: &str, prefix: &str) -> (ServerOptions, Faults) {
    let mut opts = ServerOptions {
        time_scale: 600.0, // a rate-limit minute lasts 100 ms
        ..ServerOptions::default()
    };
    let p = Some(prefix.to_string());
    // Listing is a few requests, group work many: a higher rate on listing so that it is hit too.
    let rate = if prefix.starts_with("/api/v1/users") {
        0.5
    } else {
        0.3
    };
    let faults = match kind {
        "429-storm" => {
            let mut l = BucketLimits::unlimited();
            if prefix.starts_with("/api/v1/users") {
                l.users = 6;
            } else {
                l.groups = 12;
                l.group_by_id = 12;
            }
            opts.profile = RateProfile::Custom(l);
            // Re-armed every few milliseconds by `background` while the sync runs: a storm, not one 429.
            Faults {
                fail_nth: Some(1),
                path_prefix: p,
                ..Faults::default()
            }
        }
        "5xx-burst" => Faults {
            error_rate: rate,
            error_status: 503,
            path_prefix: p,
            ..Faults::default()
        },
        "dropped-connections" => Faults {
            drop_rate: rate * 0.7,
            path_prefix: p,
            ..Faults::default()
        },
        "slow" => Faults {
            latency_ms: 15,
            path_prefix: p,
            ..Faults::default()
        },
        // Longer than the client's request timeout (see `client_for`): every affected request times out.
        "timeouts" => Faults {
            latency_ms: 400,
            path_prefix: p,
            ..Faults::default()
        },
        "concurrency-cap" => {
            // Org-wide: `background` keeps other clients' requests in flight while the sync runs.
            let mut l = BucketLimits::unlimited();
            l.concurrency = Some(1);
            opts.profile = RateProfile::Custom(l);
            // A little latency keeps requests in flight long enough to overlap.
            Faults {
                latency_ms: 2,
                ..Faults::default()
            }
        }
        other => panic!("unknown fault kind {other}"),
    };
    (opts, faults)
}

fn client_for(kind: &str, url: &str, window: Duration) -> dyngroups::okta::client::OktaClient {
    let c = common::client(url, common::TOKEN, window, 8);
    if kind != "timeouts" {
        return c;
    }
    let mut o = c.options().clone();
    o.request_timeout = Duration::from_millis(100);
    o.retry.max_attempts = 2;
    match dyngroups::okta::client::OktaClient::new(
        url,
        dyngroups::okta::client::Credentials::ApiToken(dyngroups::secret::Secret::new(
            common::TOKEN,
        )),
        o,
    ) {
        Ok(c) => c,
        Err(e) => panic!("client: {e}"),
    }
}

/// What runs next to the sync: a 429 storm re-arms `fail_nth` every 4 ms for 250 ms; the concurrency cap gets four other
/// clients listing users in a loop (the cap is org-wide); other kinds need nothing.
async fn background(
    server: &dyngroups::sim::server::RunningServer,
    faults: &Faults,
    done: &AtomicBool,
) {
    if faults.fail_nth.is_some() {
        // The storm lasts 250 ms (2.5 rate-limit windows): every request in it is refused.
        let start = std::time::Instant::now();
        while !done.load(Ordering::SeqCst) && start.elapsed() < Duration::from_millis(250) {
            server.set_faults(faults.clone());
            tokio::time::sleep(Duration::from_millis(4)).await;
        }
    } else if faults.latency_ms == 2 {
        // Other clients of the org on the runtime's other thread, three requests in flight at a time.
        let stop = Arc::new(AtomicBool::new(false));
        let noise = tokio::spawn({
            let (url, window, stop) = (server.base_url.clone(), server.window(), stop.clone());
            async move {
                let c = common::client(&url, common::TOKEN, window, 4);
                while !stop.load(Ordering::SeqCst) {
                    let _ = tokio::join!(
                        OktaApi::list_users(&c, None),
                        OktaApi::list_users(&c, None),
                        OktaApi::list_users(&c, None)
                    );
                }
            }
        });
        while !done.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        stop.store(true, Ordering::SeqCst);
        let _ = noise.await;
    }
}

/// One sync under faults; if it stops, the error is reported and the next run without faults must complete.
async fn sync_under_faults(
    server: &dyngroups::sim::server::RunningServer,
    api: &dyngroups::okta::client::OktaClient,
    store: &dyngroups::store::Store,
    cfg: &dyngroups::config::model::Config,
    faults: &Faults,
    label: &str,
    t: &mut Tally,
) {
    server.set_faults(faults.clone());
    t.runs += 1;
    let done = AtomicBool::new(false);
    let (first, ()) = tokio::join!(
        async {
            let r = common::sync(api, store, cfg).await;
            done.store(true, Ordering::SeqCst);
            r
        },
        background(server, faults, &done)
    );
    let c = server.counters();
    t.injected = c.injected_5xx + c.dropped + c.total_429();
    server.clear_faults();
    let stopped = match first {
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.trim().is_empty(), "{label}: an empty error");
            println!("{label}: run stopped with an error: {msg}");
            true
        }
        Ok(r) if r.status != SyncStatus::Success => {
            let failed = r
                .apply
                .as_ref()
                .map_or(0, |a| a.counts.failed + a.counts.deferred);
            assert_eq!(r.status, SyncStatus::Partial, "{label}: {:?}", r.status);
            assert!(
                failed > 0,
                "{label}: a partial run names its failed changes"
            );
            println!("{label}: run ended partial ({failed} change(s) failed)");
            true
        }
        Ok(_) => false,
    };
    if stopped {
        t.stopped += 1;
        t.runs += 1;
        match common::sync(api, store, cfg).await {
            Ok(r) => assert_eq!(
                r.status,
                SyncStatus::Success,
                "{label}: the run after the faults"
            ),
            Err(e) => panic!("{label}: the run after the faults were cleared failed: {e}"),
        }
    }
    let bad = common::violations(server.emulator(), store, cfg).await;
    assert!(bad.is_empty(), "{label}: not converged: {bad:#?}");
    t.converged += 1;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_kind_during_listing_and_writes_converges() {
    let (_cfg_dir, cfg) = common::config("enforce");
    let mut total = Tally::default();
    let mut scenarios = 0;
    for kind in FAULT_KINDS {
        for (phase, prefix) in PHASES {
            let label = format!("{kind} during {phase}");
            let emu = support::emulator(&common::org_yaml(USERS));
            let (opts, faults) = options(kind, prefix);
            let server = support::serve_with(&emu, opts).await;
            let api = client_for(kind, &server.base_url, server.window());
            let dir = tempfile::tempdir().expect("tempdir");
            let store = common::store(dir.path());
            let mut t = Tally::default();
            // First sync: creates and fills every group.
            sync_under_faults(
                &server,
                &api,
                &store,
                &cfg,
                &faults,
                &format!("{label} (first sync)"),
                &mut t,
            )
            .await;
            let injected_first = t.injected;
            // HR changes: Finance merges into Sales (a group to delete), a few people move city.
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
            server.reset_counters();
            sync_under_faults(
                &server,
                &api,
                &store,
                &cfg,
                &faults,
                &format!("{label} (after HR changes)"),
                &mut t,
            )
            .await;
            assert!(
                emu.group_by_name("department_finance").is_none(),
                "{label}: the emptied group is deleted"
            );
            assert!(
                emu.group_by_name("location_porto").is_some(),
                "{label}: the new group exists"
            );
            let injected = injected_first + t.injected;
            let c = server.counters();
            if kind == "concurrency-cap" {
                assert!(
                    c.concurrency_limited > 0,
                    "{label}: the cap was never hit: {c:?}"
                );
            } else if kind != "slow" && kind != "timeouts" {
                assert!(injected > 0, "{label}: no fault was injected: {c:?}");
            }
            println!(
                "{label}: runs {} stopped {} converged {} faults injected {injected} (429s {}, 5xx {}, drops {}, concurrency 429s {})",
                t.runs,
                t.stopped,
                t.converged,
                c.total_429(),
                c.injected_5xx,
                c.dropped,
                c.concurrency_limited
            );
            if kind == "429-storm" {
                assert!(
                    injected >= 6,
                    "{label}: a storm, not one 429 ({injected}): {c:?}"
                );
            }
            total.runs += t.runs;
            total.stopped += t.stopped;
            total.converged += t.converged;
            total.injected += injected;
            scenarios += 1;
        }
    }
    assert_eq!(
        total.converged,
        (FAULT_KINDS.len() * PHASES.len() * 2) as u64
    );
    figure("faults", "kinds", FAULT_KINDS.len());
    figure("faults", "scenarios", scenarios);
    figure("faults", "runs", total.runs);
    figure("faults", "stopped_then_completed", total.stopped);
    figure("faults", "convergences", total.converged);
    figure("faults", "faults_injected", total.injected);
}

/// The lost answer: Okta creates the group, then the connection drops before the answer arrives. The client
/// must not send the create again (a second group with the same name), the journal keeps the intent, and
/// the next sync finds the group by name, records it as ours and fills it: one group per name, no lost
/// record.
#[tokio::test]
async fn a_create_whose_answer_is_lost_is_not_sent_again_and_the_next_sync_adopts_it_as_ours() {
    let faults = Faults {
        drop_after_nth: Some(1),
        ..Faults::default()
    };
    create_then_bad_answer(faults, 0, |c| c.dropped_after).await;
}

/// Okta creates the group and answers 500: not resent (a 500 does not say nothing happened). Answered 503,
/// the client resends once (503 promises nothing was done), Okta refuses the taken name, and the outcome
/// stays unknown. Either way the next sync records the one group as ours.
#[tokio::test]
async fn a_create_answered_5xx_after_okta_made_it_leaves_one_group_recorded_as_ours() {
    for (status, resent) in [(500, 0), (503, 1)] {
        let faults = Faults {
            error_after_nth: Some(1),
            error_status: status,
            ..Faults::default()
        };
        create_then_bad_answer(faults, resent, |c| c.injected_5xx).await;
    }
}

/// Runs a first sync with `faults` on the first group create, then two clean syncs; `resent` creates are
/// expected on top of one per planned group, and `hit` reads the fault's counter.
async fn create_then_bad_answer(
    faults: Faults,
    resent: u64,
    hit: fn(&dyngroups::sim::faults::Counters) -> u64,
) {
    let emu = support::emulator(&common::org_yaml(USERS));
    let server = support::serve_with(
        &emu,
        ServerOptions {
            time_scale: 600.0,
            ..ServerOptions::default()
        },
    )
    .await;
    let (_cfg_dir, cfg) = common::config("respect_manual_partial");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = common::store(dir.path());
    let window = Duration::from_millis(100);
    let api = common::client(&server.base_url, "emulator-token", window, 8);
    server.set_faults(Faults {
        path_prefix: Some("/api/v1/groups".into()),
        method: Some("POST".into()),
        ..faults.clone()
    });
    let first = common::sync(&api, &store, &cfg).await;
    let counters = server.counters();
    assert_eq!(hit(&counters), 1, "{faults:?}: the fault hit one create");
    let posts = counters
        .by_endpoint
        .iter()
        .filter(|(e, _)| e.starts_with("POST /api/v1/groups") && !e.contains("users"))
        .map(|(_, n)| n)
        .sum::<u64>();
    let report = first.expect("the first sync reports (partial)");
    let planned = report.plan.summary.groups_new;
    let ours = emu
        .groups()
        .iter()
        .filter(|g| {
            common::PREFIXES
                .iter()
                .any(|p| g.profile.name.starts_with(&format!("{p}_")))
        })
        .count() as u64;
    assert_eq!(
        (posts, ours),
        (planned + resent, planned),
        "{faults:?}: each planned group made once"
    );
    assert_eq!(common::duplicates(&emu), 0);
    assert!(
        !store.pending_intents().expect("intents").is_empty(),
        "{faults:?}: the create of unknown outcome stays journalled for the next run"
    );

    server.clear_faults();
    let second = common::sync(&api, &store, &cfg).await.expect("second sync");
    assert!(
        !second.recovery.groups_recovered.is_empty(),
        "{faults:?}: the next run found the group: {:?}",
        second.recovery
    );
    assert!(store.pending_intents().expect("intents").is_empty());
    assert_eq!(common::duplicates(&emu), 0, "one group per name");
    assert_eq!(
        common::lost_records(&emu, &store),
        0,
        "no group of ours left unrecorded"
    );
    let third = common::sync(&api, &store, &cfg).await.expect("third sync");
    let bad = common::violations(&emu, &store, &cfg).await;
    assert!(bad.is_empty(), "{faults:?}: converged: {bad:?}");
    assert_eq!(third.api_calls.writes, 0, "nothing left to do");
}
