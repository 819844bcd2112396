//! Okta's own Python SDK (PyPI `okta`) against the served emulator: pages of users, groups, a group
//! found by name, a created group, a member added and removed, and a 429 it waits out and retries.

use std::path::Path;
use std::process::Command;

use dyngroups::sim::ratelimit::{BucketLimits, RateProfile};
use dyngroups::sim::server::ServerOptions;

use crate::support::{SMALL_ORG, emulator, serve_with};

fn python_with_okta() -> Option<String> {
    let ok = Command::new("python3")
        .args(["-c", "import okta.client"])
        .output()
        .ok()?;
    ok.status.success().then(|| "python3".to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_python_sdk_works_against_the_emulator() {
    let Some(python) = python_with_okta() else {
        println!("skipping: python3 with the `okta` module not found (pip install okta)");
        return;
    };
    let emu = emulator(SMALL_ORG);
    let mut limits = BucketLimits::unlimited();
    limits.schema = 1;
    let s = serve_with(
        &emu,
        ServerOptions {
            profile: RateProfile::Custom(limits),
            time_scale: 60.0,
            ..Default::default()
        },
    )
    .await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/okta_sdk_check.py");
    let dir = tempfile::tempdir().unwrap();
    let base = s.base_url.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .arg(&base)
            .arg("emulator-token")
            .current_dir(dir.path())
            .env("HOME", dir.path())
            .env("OKTA_TESTING_TESTINGDISABLEHTTPSCHECK", "true")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "SDK script failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let seen: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap();
    assert_eq!(seen["users"], 2, "{seen}");
    assert_eq!(seen["user_pages"], 2, "{seen}");
    assert_eq!(seen["groups"], 3, "{seen}");
    assert_eq!(seen["schema_ok"], true);
    let created = seen["created_group_id"].as_str().unwrap();
    assert!(emu.lock().get_group(created).is_ok());
    assert_eq!(
        s.counters().rate_limited,
        1,
        "the second schema call was refused once and retried"
    );
    assert_eq!(
        s.counters().by_endpoint["GET /api/v1/meta/schemas/user/default"],
        3
    );
}
