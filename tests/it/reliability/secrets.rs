//! Part 5, secrets and personal data: every command run through the binary at the most verbose level (`-vvv`,
//! `RUST_LOG=trace`) with a distinctive SSWS token, then with an OAuth client and private key, and a GitHub
//! token; all stdout/stderr, every file of the store folder, the saved plan and the PR comment are searched
//! for the token, the key material and the GitHub token: 0 hits. The PR comment and `assess --format markdown`
//! hold no login, email or name of the seeded users.

use std::path::{Path, PathBuf};

use super::common::{self, figure};
use crate::support;

const SSWS_TOKEN: &str = "00RELIABILITYssws7f3a9c1e5bDistinctTokenQz";
const GITHUB_TOKEN: &str = "ghs_RELIABILITYgithub0123456789abcdef";
const CLIENT_ID: &str = "0oaRELIABILITYapp";
const KEY: &str = include_str!("../../../src/okta/client/testdata/test-rsa-key.pem");
const PUBLIC_KEY: &str = include_str!("../../../src/okta/client/testdata/test-rsa-pub.pem");
const SCOPES: &str = "[okta.users.read, okta.users.manage, okta.groups.read, okta.groups.manage, okta.schemas.read, okta.logs.read]";
const USERS: usize = 8;

/// The commands run with each credential (docs/reliability.md states this count).
pub const COMMANDS: [&str; 15] = [
    "validate",
    "discover",
    "test-connection",
    "assess --format text",
    "assess --format markdown",
    "assess --format json",
    "plan --out PLAN",
    "apply PLAN",
    "sync",
    "status",
    "status --format json",
    "groups",
    "groups --format json",
    "comment --repo acme/okta-groups --pr 7",
    "sim generate --users 3",
];

/// The needles: the token, the GitHub token, and every 16-character piece of the key's base64 body.
fn needles() -> Vec<String> {
    let mut n = vec![SSWS_TOKEN.to_string(), GITHUB_TOKEN.to_string()];
    let body: String = KEY.lines().filter(|l| !l.starts_with("-----")).collect();
    n.extend(
        body.as_bytes()
            .chunks(16)
            .filter(|c| c.len() == 16)
            .map(|c| String::from_utf8_lossy(c).to_string()),
    );
    n
}

fn seed() -> String {
    let users = common::org_yaml(USERS);
    let cut = users.find("tokens:").expect("tokens section");
    let indented: String = PUBLIC_KEY.lines().map(|l| format!("      {l}\n")).collect();
    format!(
        "{}tokens:\n  - token: {SSWS_TOKEN}\n    scopes: {SCOPES}\noauth_clients:\n  - client_id: {CLIENT_ID}\n    scopes: {SCOPES}\n    public_key_pem: |\n{indented}",
        &users[..cut]
    )
}

fn config_repo(dir: &Path, oauth: bool) {
    common::write_config_repo(dir, "enforce");
    if oauth {
        let p = dir.join("dyngroups.yaml");
        let text = std::fs::read_to_string(&p).expect("instance file");
        let text = text.replace(
            "    api_token_env: OKTA_API_TOKEN\n",
            &format!("    oauth:\n      client_id: {CLIENT_ID}\n      private_key_env: RELIABILITY_OKTA_KEY\n      scopes: {SCOPES}\n"),
        );
        std::fs::write(p, text).expect("instance file");
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p)
            } else {
                out.push(p)
            }
        }
    }
    out
}

struct Scan {
    searched_bytes: usize,
    hits: Vec<String>,
}

impl Scan {
    fn search(&mut self, what: &str, hay: &[u8]) {
        self.searched_bytes += hay.len();
        let text = String::from_utf8_lossy(hay);
        for n in needles() {
            if text.contains(&n) {
                self.hits.push(format!("{what} contains {}…", &n[..6]));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_command_leaks_a_credential_and_the_comment_no_personal_data() {
    let mut scan = Scan {
        searched_bytes: 0,
        hits: vec![],
    };
    let mut runs = 0;
    for oauth in [false, true] {
        let emu = support::emulator(&seed());
        let server = support::serve(&emu).await;
        let github = dyngroups::github::fake::spawn(dyngroups::github::fake::FakeOptions {
            token: GITHUB_TOKEN.into(),
        })
        .await
        .expect("fake GitHub");
        let config = tempfile::tempdir().expect("tempdir");
        config_repo(config.path(), oauth);
        let state = tempfile::tempdir().expect("tempdir");
        let store = state.path().join("store");
        let plan_file = state.path().join("plan.json");
        let (c, s, url, gh, pf) = (
            config.path().to_path_buf(),
            store.clone(),
            server.base_url.clone(),
            github.base_url.clone(),
            plan_file.clone(),
        );
        let outputs = tokio::task::spawn_blocking(move || {
            COMMANDS
                .iter()
                .map(|line| {
                    let args: Vec<String> = line
                        .split(' ')
                        .map(|a| {
                            if a == "PLAN" {
                                pf.to_string_lossy().to_string()
                            } else {
                                a.to_string()
                            }
                        })
                        .collect();
                    let mut cmd = support::bin();
                    cmd.args(&args)
                        .arg("-vvv")
                        .arg("--config")
                        .arg(&c)
                        .arg("--state")
                        .arg(&s)
                        .args(["--okta-url", &url])
                        .env("RUST_LOG", "trace")
                        .env("GITHUB_TOKEN", GITHUB_TOKEN)
                        .env("GITHUB_API_URL", &gh)
                        .env_remove("GITHUB_STEP_SUMMARY")
                        .env_remove("GITHUB_OUTPUT")
                        .env_remove("OKTA_CLIENT_TOKEN");
                    if oauth {
                        cmd.env("RELIABILITY_OKTA_KEY", KEY)
                            .env_remove("OKTA_API_TOKEN");
                    } else {
                        cmd.env("OKTA_API_TOKEN", SSWS_TOKEN);
                    }
                    (line.to_string(), cmd.output().expect("run the binary"))
                })
                .collect::<Vec<_>>()
        })
        .await
        .expect("runner");
        let cred = if oauth { "oauth" } else { "ssws" };
        let verbose = outputs.iter().any(|(_, o)| {
            String::from_utf8_lossy(&o.stderr).contains("TRACE")
                || String::from_utf8_lossy(&o.stderr).contains("DEBUG")
        });
        assert!(
            verbose,
            "{cred}: -vvv / RUST_LOG=trace produced no debug log to search"
        );
        for (line, out) in &outputs {
            runs += 1;
            let must_succeed = !line.starts_with("test-connection");
            assert!(
                !must_succeed || out.status.success(),
                "{cred}: `{line}` failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            scan.search(&format!("{cred}: `{line}` stdout"), &out.stdout);
            scan.search(&format!("{cred}: `{line}` stderr"), &out.stderr);
        }
        for f in files_under(&store).into_iter().chain([plan_file.clone()]) {
            let bytes = std::fs::read(&f).unwrap_or_default();
            scan.search(&format!("{cred}: {}", f.display()), &bytes);
        }
        let comments = github.comments("acme", "okta-groups", 7);
        assert_eq!(comments.len(), 1, "{cred}: the comment was posted");
        let body = &comments[0].body;
        scan.search(&format!("{cred}: PR comment"), body.as_bytes());
        let markdown = &outputs
            .iter()
            .find(|(l, _)| l == "assess --format markdown")
            .expect("assess")
            .1
            .stdout;
        let markdown = String::from_utf8_lossy(markdown);
        for i in 0..USERS {
            for pii in [
                format!("u{i}@example.com"),
                format!("First{i}"),
                format!("Last{i}"),
            ] {
                assert!(!body.contains(&pii), "{cred}: the PR comment shows {pii}");
                assert!(
                    !markdown.contains(&pii),
                    "{cred}: assess --format markdown shows {pii}"
                );
            }
        }
        assert!(
            emu.group_by_name("department_sales").is_some(),
            "{cred}: the sync happened"
        );
    }
    // The scan itself finds what it looks for.
    let mut probe = Scan {
        searched_bytes: 0,
        hits: vec![],
    };
    probe.search(
        "probe",
        format!("x{SSWS_TOKEN}x {}", KEY.lines().nth(3).unwrap_or_default()).as_bytes(),
    );
    assert!(
        probe.hits.len() >= 2,
        "the token and a piece of the key are found: {:?}",
        probe.hits
    );
    println!(
        "searched {} bytes from {runs} runs: {} hits",
        scan.searched_bytes,
        scan.hits.len()
    );
    figure("secrets", "commands", COMMANDS.len());
    figure("secrets", "runs", runs);
    figure("secrets", "hits", scan.hits.len());
    assert!(
        scan.hits.is_empty(),
        "secret material in output: {:#?}",
        scan.hits
    );
}
