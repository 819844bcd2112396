//! Integration tests: cli_e2e — a newcomer's first ten minutes, through the real binary: the demo's whole
//! output, each error a new user is likely to meet (exit code and full output, snapshotted), an example in
//! every command's `--help`, and output hygiene (NO_COLOR, `-q`, JSON logs, thousands separators,
//! `format_version` in JSON outputs). Every Okta here is the emulator served in this process, or a closed
//! port on 127.0.0.1: nothing touches the internet.

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use serde_json::Value;

use super::support;

/// The emulator's default token (every scope) when a seed declares no `tokens:`.
const FULL_TOKEN: &str = "emulator-token";

/// A small org for the token tests: one active user with only a department (so a sync has exactly one group
/// to create, and its output does not depend on the order concurrent writes finish in), and a read-only token.
const ONE_USER_ORG: &str = r#"
users:
  - profile: {login: ana@example.com, email: ana@example.com, firstName: Ana, lastName: Ito,
              department: Engineering}
tokens:
  - token: emulator-token
    scopes: [okta.users.read, okta.users.manage, okta.groups.read, okta.groups.manage,
             okta.schemas.read, okta.logs.read]
  - token: ro
    scopes: [okta.users.read, okta.groups.read, okta.schemas.read]
"#;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn examples_config() -> PathBuf {
    repo().join("examples/config")
}

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/newcomer").join(name)
}

/// A private home for one test: HOME, XDG folders and TMPDIR all point inside it, so nothing leaks in from
/// the developer's machine and nothing is left behind.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().expect("a temporary folder");
        std::fs::create_dir_all(dir.path().join("tmp")).expect("a tmp folder");
        Home { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn state(&self) -> PathBuf {
        self.path().join("state")
    }

    /// The binary with a clean environment: no inherited dyngroups settings or Okta tokens, NO_COLOR=1.
    fn dg(&self) -> assert_cmd::Command {
        let mut cmd = support::bin();
        for var in [
            "DYNGROUPS_CONFIG",
            "DYNGROUPS_REV",
            "DYNGROUPS_STATE",
            "DYNGROUPS_OKTA_URL",
            "DYNGROUPS_FORMAT",
            "DYNGROUPS_LOG_FORMAT",
            "DYNGROUPS_TEST_HOOKS",
            "DYNGROUPS_CRASH_AFTER_WRITES",
            "OKTA_API_TOKEN",
            "OKTA_CLIENT_TOKEN",
            "GITHUB_TOKEN",
            "RUST_LOG",
            "CLICOLOR_FORCE",
        ] {
            cmd.env_remove(var);
        }
        let home = self.path();
        cmd.env("NO_COLOR", "1")
            .env("HOME", home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_CONFIG_HOME", home.join("config-home"))
            .env("TMPDIR", home.join("tmp"))
            .current_dir(home);
        cmd
    }

    /// `dg` against a config repository, a store in this home, and an Okta URL.
    fn against(&self, config: &Path, url: &str) -> assert_cmd::Command {
        let mut cmd = self.dg();
        cmd.arg("--config")
            .arg(config)
            .arg("--state")
            .arg(self.state())
            .args(["--okta-url", url]);
        cmd
    }
}

/// What a run showed: exit code, stdout, stderr.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// stdout then stderr (validate writes its `file:line:col: message` lines on stdout, the summary on
    /// stderr).
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    fn show(&self) -> String {
        format!(
            "exit code: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs the command to the end. Blocking: inside a (multi-thread) runtime it runs on this worker while the
/// served emulator keeps answering on the others.
fn run(cmd: &mut assert_cmd::Command) -> Run {
    let out = if tokio::runtime::Handle::try_current().is_ok() {
        tokio::task::block_in_place(|| cmd.output())
    } else {
        cmd.output()
    }
    .expect("the dyngroups binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A 127.0.0.1 port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("binding a port");
    l.local_addr().expect("its address").port()
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Masks what varies between runs: this test's home folder, ports, timestamps, durations, Okta ids and
/// error ids, the demo's process id.
fn filters(home: &Path) -> Vec<(String, String)> {
    let mut f = Vec::new();
    for p in [repo(), repo().canonicalize().unwrap_or(repo())] {
        f.push((regex_escape(&p.display().to_string()), "[REPO]".to_string()));
    }
    for p in [
        home.to_path_buf(),
        home.canonicalize().unwrap_or(home.to_path_buf()),
    ] {
        f.push((regex_escape(&p.display().to_string()), "[HOME]".to_string()));
    }
    for (re, to) in [
        (r"dyngroups-demo-\d+", "dyngroups-demo-[PID]"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
            "[TIME]",
        ),
        (r"\b\d+(\.\d+)? ?(s|ms|µs)\b", "[DURATION]"),
        (r"\b00[gu][A-Za-z0-9]{17}\b", "[OKTA_ID]"),
        (r"\boae[A-Za-z0-9_-]{10,}", "[ERROR_ID]"),
        (r"\(os error \d+\)", "(os error [N])"),
        // Users and groups are read concurrently: which read fails first varies.
        (
            r"GET /api/v1/(users|groups)[^\s):]*",
            "GET /api/v1/[users or groups]",
        ),
        (
            r"url \(([^)\s]*)/api/v1/(users|groups)[^)\s]*\)",
            "url ($1/api/v1/[users or groups])",
        ),
    ] {
        f.push((re.to_string(), to.to_string()));
    }
    f
}

fn snapshot(name: &str, home: &Path, run: &Run) {
    let mut settings = insta::Settings::clone_current();
    for (re, to) in filters(home) {
        settings.add_filter(&re, to);
    }
    settings.set_prepend_module_to_snapshot(true);
    settings.bind(|| insta::assert_snapshot!(name, run.show()));
}

/// Every message a newcomer sees on stderr must hint at a next step, not just state a failure.
fn says_what_to_do(text: &str) -> bool {
    let t = text.to_lowercase();
    [
        "set ",
        "fix ",
        "check",
        "run ",
        "grant",
        "add ",
        "write ",
        "is `dyngroups sim serve` running",
        "did you mean",
        "revoke",
        "e.g.",
        "pass ",
    ]
    .iter()
    .any(|hint| t.contains(hint))
}

// ---- 1. the demo ------------------------------------------------------------------------------------------

#[test]
fn demo_output_from_the_repository_root() {
    let home = Home::new();
    let mut cmd = home.dg();
    cmd.current_dir(repo()).arg("demo");
    let r = run(&mut cmd);
    assert_eq!(r.code, 0, "{}", r.show());
    assert!(!r.stdout.contains('\u{1b}'), "ANSI escapes with NO_COLOR=1");
    assert!(
        r.stdout.contains("What to try next:"),
        "the demo ends with what to try next"
    );
    snapshot("demo", home.path(), &r);
}

// ---- 2. the errors a new user meets -----------------------------------------------------------------------

#[test]
fn error_no_config() {
    let home = Home::new();
    let empty = home.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    for cmd in ["validate", "assess"] {
        let r = run(home
            .dg()
            .arg("--config")
            .arg(&empty)
            .args(["--okta-url", "http://127.0.0.1:9"])
            .arg(cmd));
        assert_eq!(r.code, 1, "{}", r.show());
        assert!(r.all().contains("dyngroups.yaml"), "{}", r.show());
        assert!(says_what_to_do(&r.all()), "{}", r.show());
        snapshot(&format!("error_no_config_{cmd}"), home.path(), &r);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_no_token() {
    let emu = support::emulator(ONE_USER_ORG);
    let server = support::serve(&emu).await;
    let home = Home::new();
    let r = run(home
        .against(&examples_config(), &server.base_url)
        .arg("assess"));
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(r.stderr.contains("OKTA_API_TOKEN"), "{}", r.show());
    assert!(says_what_to_do(&r.stderr), "{}", r.show());
    snapshot("error_no_token", home.path(), &r);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_wrong_token() {
    let emu = support::emulator(ONE_USER_ORG);
    let server = support::serve(&emu).await;
    let home = Home::new();
    let r = run(home
        .against(&examples_config(), &server.base_url)
        .env("OKTA_API_TOKEN", "not-a-token-okta-knows")
        .arg("assess"));
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(r.stderr.contains("401"), "{}", r.show());
    assert!(
        !r.stderr.contains("not-a-token-okta-knows"),
        "the token leaked"
    );
    snapshot("error_wrong_token", home.path(), &r);
}

/// A domain that cannot be reached over https: a closed port on 127.0.0.1 (no DNS, no internet).
#[test]
fn error_wrong_domain() {
    let home = Home::new();
    let url = format!("https://127.0.0.1:{}", closed_port());
    let started = std::time::Instant::now();
    let r = run(home
        .against(&examples_config(), &url)
        .env("OKTA_API_TOKEN", FULL_TOKEN)
        .arg("assess"));
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(r.stderr.contains("could not reach Okta"), "{}", r.show());
    // Reported, not asserted (no wall-clock asserts in tests): connect errors are retried with backoff.
    eprintln!("an unreachable domain failed after {:?}", started.elapsed());
    assert!(says_what_to_do(&r.stderr), "{}", r.show());
    snapshot("error_wrong_domain", home.path(), &r);
}

#[test]
fn error_emulator_not_running() {
    let home = Home::new();
    let url = format!("http://127.0.0.1:{}", closed_port());
    for cmd in ["assess", "sync"] {
        let r = run(home
            .against(&examples_config(), &url)
            .env("OKTA_API_TOKEN", FULL_TOKEN)
            .arg(cmd));
        assert_eq!(r.code, 1, "{}", r.show());
        assert!(
            r.stderr.contains("dyngroups sim serve"),
            "the hint names the emulator: {}",
            r.show()
        );
        snapshot(
            &format!("error_emulator_not_running_{cmd}"),
            home.path(),
            &r,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_bad_rule_file() {
    let emu = support::emulator(ONE_USER_ORG);
    let server = support::serve(&emu).await;
    let home = Home::new();
    let config = fixture("bad_rule");
    for cmd in ["validate", "sync"] {
        let r = run(home
            .against(&config, &server.base_url)
            .env("OKTA_API_TOKEN", FULL_TOKEN)
            .arg(cmd));
        assert_eq!(r.code, 1, "{}", r.show());
        assert!(r.all().contains("rules/people.yaml:"), "{}", r.show());
        assert!(says_what_to_do(&r.all()), "{}", r.show());
        snapshot(&format!("error_bad_rule_file_{cmd}"), home.path(), &r);
    }
    // Nothing reached Okta from a config that does not validate.
    assert!(emu.groups().is_empty(), "a group was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_read_only_token_on_sync() {
    let emu = support::emulator(ONE_USER_ORG);
    let server = support::serve(&emu).await;
    let home = Home::new();
    let r = run(home
        .against(&examples_config(), &server.base_url)
        .env("OKTA_API_TOKEN", "ro")
        .arg("sync"));
    assert_eq!(r.code, 1, "{}", r.show());
    // Stopped by the permission probe before any change: the error (stderr) names the permission and the 403.
    assert!(r.all().contains("403"), "{}", r.show());
    assert!(r.all().contains("okta.groups.manage"), "{}", r.show());
    assert!(emu.groups().is_empty(), "a read-only token created a group");
    snapshot("error_read_only_token_on_sync", home.path(), &r);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_secret_in_the_instance_file() {
    let emu = support::emulator(ONE_USER_ORG);
    let server = support::serve(&emu).await;
    let home = Home::new();
    let secret = "00Fk3TeSt6tOkEn9nOtReAl2ForTests5only_-AbC";
    for case in ["secret_pasted", "secret_in_env_name"] {
        for cmd in ["validate", "sync"] {
            let r = run(home
                .against(&fixture(case), &server.base_url)
                .env("OKTA_API_TOKEN", FULL_TOKEN)
                .arg(cmd));
            assert_eq!(r.code, 1, "{}", r.show());
            assert!(
                !r.stdout.contains(secret) && !r.stderr.contains(secret),
                "the secret was echoed: {}",
                r.show()
            );
            assert!(r.all().contains("dyngroups.yaml:"), "{}", r.show());
            snapshot(&format!("error_{case}_{cmd}"), home.path(), &r);
        }
    }
    assert!(emu.groups().is_empty());
}

// ---- 3. an example in every command's --help --------------------------------------------------------------

/// Leaf commands as argument paths (`["state", "export"]`); groups of subcommands list those instead.
fn leaf_commands(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
    for sub in cmd.get_subcommands() {
        let mut path = prefix.to_vec();
        path.push(sub.get_name().to_string());
        if sub.has_subcommands() {
            leaf_commands(sub, &path, out);
        } else {
            out.push(path);
        }
    }
}

/// An "Example:"/"Examples:" heading followed by a line that runs dyngroups.
fn has_example(help: &str) -> bool {
    let mut in_examples = false;
    for line in help.lines() {
        let t = line.trim();
        if t.to_lowercase().starts_with("example") {
            in_examples = true;
            continue;
        }
        let t = t.trim_start_matches("$ ");
        if in_examples && (t.starts_with("dyngroups ") || t.starts_with("cargo run")) {
            return true;
        }
    }
    false
}

#[test]
fn every_command_help_shows_an_example() {
    let home = Home::new();
    let mut leaves = Vec::new();
    leaf_commands(&dyngroups::cli::Cli::command(), &[], &mut leaves);
    assert!(leaves.len() >= 15, "found only {leaves:?}");
    let mut missing = Vec::new();
    for path in &leaves {
        let r = run(home.dg().args(path).arg("--help"));
        assert_eq!(r.code, 0, "{path:?} --help: {}", r.show());
        assert!(!r.stdout.contains('\u{1b}'), "ANSI in {path:?} --help");
        if !has_example(&r.stdout) {
            missing.push(path.join(" "));
        }
    }
    assert!(
        missing.is_empty(),
        "commands whose --help shows no example (an `Example:` heading followed by a `dyngroups ...` line): {}",
        missing.join(", ")
    );
}

#[test]
fn the_example_detector_reads_help_texts() {
    assert!(has_example(
        "Usage: x\n\nExamples:\n  dyngroups sync --dry-run\n"
    ));
    assert!(has_example("Example:\n  cargo run --release -- demo\n"));
    assert!(!has_example(
        "Usage: dyngroups sync [OPTIONS]\n\nOptions:\n  -h, --help\n"
    ));
}

// ---- 4. output hygiene ------------------------------------------------------------------------------------

fn no_ansi(what: &str, r: &Run) {
    assert!(
        !r.stdout.contains('\u{1b}') && !r.stderr.contains('\u{1b}'),
        "{what}: ANSI escape in output: {}",
        r.show()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_colour_when_asked_or_not_a_terminal_and_json_has_a_format_version() {
    let emu = dyngroups::sim::Emulator::from_seed_file(&repo().join("examples/demo-org.yaml"))
        .expect("the demo org loads");
    let server = support::serve(&emu).await;
    let home = Home::new();
    let config = examples_config();
    let steps: [&[&str]; 6] = [
        &["validate"],
        &["assess"],
        &["state", "reinit"],
        &["-v", "sync"],
        &["status"],
        &["groups"],
    ];
    for no_color in [true, false] {
        for args in steps {
            let mut cmd = home.against(&config, &server.base_url);
            cmd.env("OKTA_API_TOKEN", FULL_TOKEN).args(args);
            if args == ["state", "reinit"] {
                cmd.arg("--force");
            }
            if !no_color {
                // Not a terminal (output captured), NO_COLOR unset: still no colour.
                cmd.env_remove("NO_COLOR");
            }
            let r = run(&mut cmd);
            assert_eq!(r.code, 0, "{args:?}: {}", r.show());
            no_ansi(&format!("{args:?} (NO_COLOR={no_color})"), &r);
        }
    }
    for cmd in ["assess", "status", "groups", "validate"] {
        let r = run(home
            .against(&config, &server.base_url)
            .env("OKTA_API_TOKEN", FULL_TOKEN)
            .args([cmd, "--format", "json"]));
        assert_eq!(r.code, 0, "{cmd}: {}", r.show());
        let doc: Value = serde_json::from_str(&r.stdout)
            .unwrap_or_else(|e| panic!("{cmd} --format json is not JSON ({e}): {}", r.show()));
        assert_eq!(doc["format_version"], 1, "{cmd}: {}", r.stdout);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_prints_only_errors() {
    let emu = support::emulator(ONE_USER_ORG);
    let server = support::serve(&emu).await;
    let home = Home::new();
    let config = examples_config();
    // A failure under -q (first, while Okta has no group): the error, and no warning lines.
    let r = run(home
        .dg()
        .arg("--config")
        .arg(&config)
        .arg("--state")
        .arg(home.path().join("ro-state"))
        .args(["--okta-url", &server.base_url])
        .env("OKTA_API_TOKEN", "ro")
        .args(["-q", "sync"]));
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(r.stderr.contains("error:"), "{}", r.show());
    assert!(
        !r.stderr.contains("WARN"),
        "-q still shows warnings: {}",
        r.show()
    );
    // Successes under -q: nothing at all (the first sync creates a group, the second has nothing to do).
    let mut noisy = Vec::new();
    for args in [&["validate"][..], &["sync"][..], &["sync"][..]] {
        let r = run(home
            .against(&config, &server.base_url)
            .env("OKTA_API_TOKEN", FULL_TOKEN)
            .arg("-q")
            .args(args));
        assert_eq!(r.code, 0, "-q {args:?}: {}", r.show());
        if !r.stdout.is_empty() || !r.stderr.is_empty() {
            noisy.push(format!("-q {}:\n{}", args.join(" "), r.show()));
        }
    }
    assert!(
        noisy.is_empty(),
        "-q is documented as \"Only errors\", yet successful commands printed:\n{}",
        noisy.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_on_stderr() {
    let emu = support::emulator(ONE_USER_ORG);
    let server = support::serve(&emu).await;
    let home = Home::new();
    // The read-only token makes the sync log warnings (one per refused change).
    let r = run(home
        .against(&examples_config(), &server.base_url)
        .env("OKTA_API_TOKEN", "ro")
        .args(["-v", "--log-format", "json", "sync"]));
    assert_eq!(r.code, 1, "{}", r.show());
    let mut logs = 0;
    for line in r.stderr.lines() {
        // The final error report is for people, not a log line.
        if line.starts_with("error: ") || line.starts_with("  caused by: ") {
            continue;
        }
        let doc: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line:?}\n{}", r.show()));
        assert!(
            doc.get("level").is_some() && doc.get("timestamp").is_some(),
            "{line}"
        );
        logs += 1;
    }
    assert!(logs > 0, "no log line at -v: {}", r.show());
    assert!(!r.stderr.contains('\u{1b}'));

    // The ANSI check above can see colour: forced colour on text logs shows escapes even with NO_COLOR set.
    let r = run(home
        .dg()
        .arg("--config")
        .arg(examples_config())
        .arg("--state")
        .arg(home.path().join("colour-state"))
        .args(["--okta-url", &server.base_url])
        .env("OKTA_API_TOKEN", "ro")
        // -v: info logs (the read-only sync now stops at its permission probe, before any WARN line).
        .args(["--color", "always", "-v", "sync"]));
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(r.stderr.contains('\u{1b}'), "--color always: {}", r.show());
}

/// The numbers of four or more digits without thousands separators that stand alone in `text` (not part
/// of a name such as `costcenter_cc_1190`).
fn unseparated_counts(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || "(),+-:;".contains(c))
        .filter(|w| w.len() >= 4 && w.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_have_thousands_separators_for_a_larger_org() {
    let seed = dyngroups::sim::generate::generate(1_500, 7);
    let emu = dyngroups::sim::Emulator::from_seed(seed).expect("the generated org loads");
    let server = support::serve(&emu).await;
    let home = Home::new();
    let config = examples_config();
    for args in [&["state", "reinit"][..], &["sync"][..]] {
        let r = run(home
            .against(&config, &server.base_url)
            .env("OKTA_API_TOKEN", FULL_TOKEN)
            .args(args));
        assert_eq!(r.code, 0, "{args:?}: {}", r.show());
        if args == ["sync"] {
            assert!(
                unseparated_counts(&r.stdout).is_empty(),
                "sync: {}",
                r.stdout
            );
        }
    }
    let status = run(home.against(&config, &server.base_url).arg("status"));
    assert_eq!(status.code, 0, "{}", status.show());
    // Timestamps hold long digit runs of their own.
    let text: String = status
        .stdout
        .lines()
        .map(|l| {
            l.split_whitespace()
                .filter(|w| !w.contains('T'))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        unseparated_counts(&text).is_empty(),
        "status: {}",
        status.stdout
    );
    let licensed = status
        .stdout
        .lines()
        .find(|l| l.starts_with("Licensed users:"))
        .unwrap_or_else(|| panic!("no licensed users line: {}", status.stdout));
    assert!(
        licensed.contains(','),
        "more than 999 licensed users: {licensed}"
    );

    let groups = run(home.against(&config, &server.base_url).arg("groups"));
    assert_eq!(groups.code, 0, "{}", groups.show());
    let summary = groups
        .stdout
        .lines()
        .rev()
        .find(|l| l.contains("membership"))
        .unwrap_or_else(|| panic!("no summary line: {}", groups.stdout));
    assert!(summary.contains(','), "thousands of memberships: {summary}");
    assert!(unseparated_counts(summary).is_empty(), "{summary}");
    // Member counts in the table (third-last column group): no unseparated 4-digit counts.
    for line in groups.stdout.lines().skip(1) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() > 2 {
            let members = cols[2];
            assert!(
                !(members.len() >= 4 && members.chars().all(|c| c.is_ascii_digit())),
                "{line}"
            );
        }
    }
}

#[test]
fn the_count_detector_finds_unseparated_numbers() {
    assert_eq!(unseparated_counts("added 1500 members"), vec!["1500"]);
    assert!(unseparated_counts("added 1,500 members in 0.2 s").is_empty());
    assert!(unseparated_counts("costcenter_cc_1190").is_empty());
}
