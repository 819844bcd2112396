//! Part 6, least privilege: with a read-only token (okta.users.read, okta.groups.read, okta.schemas.read),
//! `assess`, `discover` and `test-connection` work (test-connection reports groups manage as missing), and
//! `sync` fails before changing anything, naming the missing permission (one harmless permission probe first).

use super::common;
use crate::support;

fn is_write(endpoint: &str) -> bool {
    ["POST ", "PUT ", "DELETE ", "PATCH "]
        .iter()
        .any(|m| endpoint.starts_with(m))
}

/// What the read-only run of `sync` showed: its combined output and the write requests Okta received.
struct SyncSeen {
    output: String,
    writes: Vec<(String, u64)>,
}

/// Runs assess, discover and test-connection (asserting they work) then sync (asserting it fails and Okta is
/// unchanged) with the read-only token.
async fn read_only_run() -> SyncSeen {
    let emu = support::emulator(&common::org_yaml(8));
    let server = support::serve(&emu).await;
    let config = tempfile::tempdir().expect("tempdir");
    common::write_config_repo(config.path(), "enforce");
    let state = tempfile::tempdir().expect("tempdir");
    let (c, s, url) = (
        config.path().to_path_buf(),
        state.path().join("store"),
        server.base_url.clone(),
    );
    let run = move |args: &[&str]| {
        let mut cmd = support::bin();
        cmd.args(args)
            .arg("--config")
            .arg(&c)
            .arg("--state")
            .arg(&s)
            .args(["--okta-url", &url])
            .env("OKTA_API_TOKEN", common::READ_ONLY_TOKEN)
            .env_remove("OKTA_CLIENT_TOKEN");
        cmd.output().expect("run the binary")
    };
    let groups_before = emu.groups();
    let run2 = run.clone();
    let (assess, discover, tc) = tokio::task::spawn_blocking(move || {
        (
            run2(&["assess", "--format", "json"]),
            run2(&["discover"]),
            run2(&["test-connection", "--format", "json"]),
        )
    })
    .await
    .expect("runner");
    assert!(
        assess.status.success(),
        "assess: {}",
        String::from_utf8_lossy(&assess.stderr)
    );
    let a: serde_json::Value = serde_json::from_slice(&assess.stdout).expect("assess json");
    assert_eq!(a["rules"].as_array().map(Vec::len), Some(3), "{a}");
    assert!(
        discover.status.success(),
        "discover: {}",
        String::from_utf8_lossy(&discover.stderr)
    );
    assert!(String::from_utf8_lossy(&discover.stdout).contains("department"));
    let t: serde_json::Value = serde_json::from_slice(&tc.stdout).unwrap_or_else(|e| {
        panic!(
            "test-connection json ({e}): {}",
            String::from_utf8_lossy(&tc.stdout)
        )
    });
    let text = t.to_string();
    println!("test-connection: {text}");
    assert!(
        text.contains("missing"),
        "groups manage reported missing: {text}"
    );
    assert!(
        text.contains("okta.groups.manage") || text.contains("groups manage"),
        "{text}"
    );

    server.reset_counters();
    let sync = tokio::task::spawn_blocking(move || run(&["sync"]))
        .await
        .expect("runner");
    let err =
        String::from_utf8_lossy(&sync.stderr).to_string() + &String::from_utf8_lossy(&sync.stdout);
    println!(
        "sync with a read-only token: exit {:?}: {}",
        sync.status.code(),
        err.trim()
    );
    assert!(
        !sync.status.success(),
        "sync with a read-only token succeeded"
    );
    assert_eq!(emu.groups(), groups_before, "Okta changed");
    let writes: Vec<(String, u64)> = server
        .counters()
        .by_endpoint
        .into_iter()
        .filter(|(e, _)| is_write(e))
        .collect();
    SyncSeen {
        output: err,
        writes,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_token_assesses_and_sync_changes_nothing() {
    let seen = read_only_run().await;
    assert!(
        seen.output.contains("403"),
        "the refusal is shown: {}",
        seen.output
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_sync_stops_before_any_write_naming_the_permission() {
    let seen = read_only_run().await;
    assert!(
        seen.output.contains("okta.groups.manage"),
        "sync names the missing permission: {}",
        seen.output
    );
    // The one request allowed is the permission probe (`apply::preflight`, as in test-connection): a DELETE of a
    // membership no org has (impossible ids), which changes nothing; a first sync plans no removal, so any other
    // DELETE of a membership, or more than one, would be a real write.
    let probe = ("DELETE /api/v1/groups/{id}/users/{userId}".to_string(), 1);
    assert!(
        seen.writes.iter().all(|w| *w == probe),
        "sync sent write requests before failing: {:?}",
        seen.writes
    );
    assert!(
        seen.output.contains("nothing was changed"),
        "sync says nothing changed: {}",
        seen.output
    );
}
