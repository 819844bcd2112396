//! `dyngroups sim generate` and `dyngroups sim serve` as a user runs them.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use dyngroups::sim::Emulator;

use super::call;
use crate::support::bin;

#[test]
fn generate_writes_a_deterministic_loadable_seed() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    for p in [&a, &b] {
        bin()
            .args([
                "sim",
                "generate",
                "--users",
                "300",
                "--seed-rng",
                "5",
                "--out",
            ])
            .arg(p)
            .assert()
            .success();
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let emu = Emulator::from_seed_file(&a).unwrap();
    assert_eq!(emu.users().len(), 300);
    assert!(emu.group_by_name("location_zurich").is_some());
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "users: [{profile: {email: x@y}}]\n").unwrap();
    let out = bin()
        .args(["sim", "serve", "--seed"])
        .arg(&bad)
        .args(["--listen", "127.0.0.1:0"])
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("users[0]") && stderr.contains("profile.login"),
        "{stderr}"
    );
}

/// Kills the served emulator even when an assertion fails first.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn serve_answers_okta_calls_and_admin_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.yaml");
    std::fs::write(&seed, crate::support::SMALL_ORG).unwrap();
    let exe = env!("CARGO_BIN_EXE_dyngroups");
    let child = Command::new(exe)
        .args([
            "sim",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--profile",
            "workforce",
            "--seed",
        ])
        .arg(&seed)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let (st, h, users) = call(
        "GET",
        &format!("{base}/api/v1/users"),
        Some("emulator-token"),
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(users.as_array().unwrap().len(), 2);
    // Workforce: the users bucket is 600/min, 50 % per token.
    assert_eq!(h["x-rate-limit-limit"], "300");
    let (st, _, counters) = call("GET", &format!("{base}/_sim/counters"), None, None).await;
    assert_eq!(st, 200);
    assert_eq!(counters["by_bucket"]["users"], 1);
}
