//! Integration tests: gitops — the PR comment against a fake GitHub API (create once, update after, size
//! limit, hostile values inert, step summary, fork 403), and the daemon.

use dyngroups::github::client::{GithubClient, RepoRef, Upserted};
use dyngroups::github::comment::{CommentInput, GITHUB_COMMENT_LIMIT, Limit, render};
use dyngroups::github::diff::diff_plans;
use dyngroups::github::fake::{self, FakeOptions, RunningFake};
use dyngroups::github::publish::publish;
use dyngroups::plan::model::{
    GroupPlan, GroupStatus, PLAN_FORMAT_VERSION, Plan, RejectReason, RejectedValue, RulePlan,
    Summary,
};
use dyngroups::secret::Secret;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

const TOKEN: &str = "fake-github-token";

async fn github() -> (RunningFake, GithubClient, RepoRef) {
    let server = fake::spawn(FakeOptions::default())
        .await
        .expect("fake GitHub starts");
    let client = GithubClient::new(&server.base_url, &Secret::new(TOKEN)).expect("client");
    (server, client, "acme/okta-config".parse().expect("repo"))
}

fn group(name: &str, values: &[&str], status: GroupStatus, adds: u64) -> GroupPlan {
    GroupPlan {
        name: name.into(),
        values: values.iter().map(|v| v.to_string()).collect(),
        status,
        skip_reason: None,
        okta_id: None,
        desired_members: adds,
        current_members: 0,
        members_after: adds,
        adds,
        removes: 0,
        delete: false,
    }
}

fn plan(rules: Vec<(&str, Vec<GroupPlan>)>) -> Plan {
    let rules: Vec<RulePlan> = rules
        .into_iter()
        .map(|(attr, groups)| RulePlan {
            rule: format!("profile.{attr}:{attr}"),
            attribute: attr.into(),
            prefix: attr.into(),
            enabled: true,
            adds: groups.iter().map(|g| g.adds).sum(),
            removes: 0,
            groups,
            rejected_values: vec![],
            users_without_value: 0,
        })
        .collect();
    let groups: u64 = rules.iter().map(|r| r.groups.len() as u64).sum();
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        config_commit: Some("0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c".into()),
        config_fingerprint: "cfg".into(),
        okta_fingerprint: "okta".into(),
        summary: Summary {
            rules: rules.len() as u64,
            groups_total: groups,
            groups_new: groups,
            adds: rules.iter().map(|r| r.adds).sum(),
            ..Summary::default()
        },
        rules,
        stop_managing: vec![],
        actions: vec![],
        warnings: vec![],
        user_groups_after: Default::default(),
    }
}

fn input<'a>(head: &'a Plan) -> CommentInput<'a> {
    CommentInput {
        instance: "prod",
        head,
        diff: None,
        base_label: None,
    }
}

#[tokio::test]
async fn first_run_creates_the_comment_and_the_next_updates_it() {
    let (server, client, repo) = github().await;
    let first = plan(vec![(
        "department",
        vec![group(
            "department_engineering",
            &["Engineering"],
            GroupStatus::New,
            2,
        )],
    )]);
    let d1 = publish(&client, &repo, 42, &input(&first), None)
        .await
        .expect("first run");
    assert!(
        matches!(d1.comment, Some(Upserted::Created { .. })),
        "{d1:?}"
    );

    let second = plan(vec![(
        "department",
        vec![
            group(
                "department_engineering",
                &["Engineering"],
                GroupStatus::New,
                2,
            ),
            group("department_sales", &["Sales"], GroupStatus::Adopt, 1),
        ],
    )]);
    let diff = diff_plans(&first, &second);
    let with_diff = CommentInput {
        diff: Some(&diff),
        base_label: Some("main"),
        ..input(&second)
    };
    let d2 = publish(&client, &repo, 42, &with_diff, None)
        .await
        .expect("second run");
    assert!(
        matches!(d2.comment, Some(Upserted::Updated { .. })),
        "{d2:?}"
    );

    let comments = server.comments("acme", "okta-config", 42);
    assert_eq!(comments.len(), 1, "exactly one comment remains");
    assert_eq!(comments[0].body, render(&with_diff, Limit::COMMENT));
    assert!(comments[0].body.contains("`department_sales`"));
    assert!(
        comments[0]
            .body
            .contains("### What this pull request changes (compared with `main`)")
    );
    // a third identical run still leaves one comment, and other PRs are untouched
    publish(&client, &repo, 42, &with_diff, None)
        .await
        .expect("third run");
    assert_eq!(server.comments("acme", "okta-config", 42).len(), 1);
    assert!(server.comments("acme", "okta-config", 43).is_empty());
}

#[tokio::test]
async fn a_comment_that_would_be_too_long_is_shortened_with_a_note() {
    let (server, client, repo) = github().await;
    let groups: Vec<GroupPlan> = (0..4000)
        .map(|i| {
            group(
                &format!("title_{i:05}_{}", "x".repeat(40)),
                &[&"v".repeat(60)],
                GroupStatus::New,
                1,
            )
        })
        .collect();
    let big = plan(vec![("title", groups)]);
    let empty = plan(vec![]);
    let diff = diff_plans(&empty, &big);
    let inp = CommentInput {
        diff: Some(&diff),
        base_label: Some("main"),
        ..input(&big)
    };
    let unshortened = render(&inp, Limit::bytes(usize::MAX));
    assert!(
        unshortened.chars().count() > GITHUB_COMMENT_LIMIT,
        "the test plan must be too big"
    );

    let d = publish(&client, &repo, 7, &inp, None)
        .await
        .expect("the fake (which enforces 65,536) accepts it");
    assert!(d.comment.is_some());
    let body = &server.comments("acme", "okta-config", 7)[0].body;
    assert!(body.chars().count() < GITHUB_COMMENT_LIMIT);
    assert!(body.encode_utf16().count() <= 60_000, "keeps a margin");
    assert!(
        body.contains(
            "> Shortened to stay under GitHub's 65,536-character comment limit. Left out:"
        ),
        "{}",
        &body[..400]
    );
    assert!(body.contains("Run `dyngroups assess --base REV` for the full plan."));
    // the summary line survives, first
    assert!(
        body.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("**dyngroups assess** for `prod`"))
    );
    assert_eq!(
        body.matches("<details>").count(),
        body.matches("</details>").count()
    );
}

const HOSTILE: &[&str] = &[
    "**bold** _em_ ~~gone~~",
    "<img src=x onerror=alert(1)>",
    "</details><details open><summary>pwned",
    "<!-- hidden -->",
    "[click me](https://evil.example/a)",
    "https://evil.example/b",
    "www.evil.example",
    "@octocat and @acme/admins",
    "#1 GH-2 :+1:",
    "a|b| --- |c",
    "line1\n# heading\r\n- item",
    "```\nfenced\n```",
    "`tick`",
    "nul\u{0}esc\u{1b}[31mred\u{7f}",
    "\u{202E}gnp.exe\u{2066}x\u{200F}",
    "zero\u{200B}width\u{FEFF}",
    "👩‍💻🏳️‍🌈 𝔘𝔫𝔦",
    "\\*escaped\\*",
];

/// Parses GitHub-flavoured Markdown and fails if any hostile value produced structure: HTML other than
/// ours, links, images, or text outside code that carries the hostile payloads.
fn assert_inert(body: &str) {
    let ours = [
        "<!-- dyngroups:assess",
        "<details>",
        "<summary>",
        "</summary>",
        "</details>",
        "<sub>",
        "</sub>",
    ];
    let mut in_code_block = false;
    for ev in Parser::new_ext(body, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        match &ev {
            Event::Html(h) | Event::InlineHtml(h) => {
                let h = h.trim();
                if h.starts_with("<!-- dyngroups:assess") {
                    // the marker: one line, one comment, nothing else
                    assert!(
                        !h.contains('\n')
                            && h.matches("-->").count() == 1
                            && h.matches('<').count() == 1,
                        "{h:?}"
                    );
                    continue;
                }
                assert!(
                    ours.iter().any(|o| h.starts_with(o))
                        && !h.contains("pwned")
                        && !h.contains("img"),
                    "HTML from a value: {h:?}"
                );
            }
            Event::Start(Tag::Link { .. }) | Event::Start(Tag::Image { .. }) => {
                panic!("link from a value: {ev:?}")
            }
            Event::Start(Tag::Strikethrough) => panic!("strikethrough from a value"),
            Event::Start(Tag::Heading { .. }) | Event::Start(Tag::Item) => {}
            Event::Start(Tag::CodeBlock(_)) => in_code_block = true,
            Event::End(TagEnd::CodeBlock) => in_code_block = false,
            Event::Text(t) if !in_code_block => {
                for payload in [
                    "evil",
                    "octocat",
                    "acme/admins",
                    "onerror",
                    "pwned",
                    "click me",
                    "bold",
                    "fenced",
                    "heading",
                ] {
                    assert!(!t.contains(payload), "{payload:?} outside code: {t:?}");
                }
            }
            _ => {}
        }
    }
    for c in body.chars() {
        let hidden = (c.is_control() && c != '\n')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{FEFF}');
        assert!(
            !hidden,
            "raw hidden character U+{:04X} in the comment",
            c as u32
        );
    }
}

#[tokio::test]
async fn hostile_attribute_values_come_out_inert() {
    let (server, client, repo) = github().await;
    let mut groups: Vec<GroupPlan> = HOSTILE
        .iter()
        .enumerate()
        .map(|(i, v)| group(&format!("hostile_{i}"), &[v], GroupStatus::New, 1))
        .collect();
    let long = "A".repeat(10_000);
    groups.push(group("hostile_long", &[&long], GroupStatus::New, 1));
    // group names and rule parts come from the (untrusted) PR config too
    groups.push(group("<b>@octocat</b>", &["x"], GroupStatus::New, 1));
    let mut head = plan(vec![("hostile", groups)]);
    head.rules[0].rejected_values = vec![RejectedValue {
        value: "[click me](https://evil.example/r) @octocat".into(),
        users: 2,
        reason: RejectReason::NormalizesToNothing,
    }];
    let base = plan(vec![]);
    let diff = diff_plans(&base, &head);
    let inp = CommentInput {
        instance: "prod --> <img src=x> @octocat",
        head: &head,
        diff: Some(&diff),
        base_label: Some("main"),
    };
    publish(&client, &repo, 9, &inp, None)
        .await
        .expect("posted");
    let body = &server.comments("acme", "okta-config", 9)[0].body;
    assert_inert(body);
    // the values are still there to read (as code), the long one cut
    assert!(body.contains("`` `tick` ``"));
    assert!(body.contains("\\u{202E}gnp.exe"));
    assert!(body.contains(&format!("{}…", "A".repeat(80))));
    assert!(!body.contains(&"A".repeat(81)));
    assert!(body.contains("👩‍💻🏳️‍🌈"));
    // no user identifiers of any kind: the plan has none and the comment adds none
    assert!(!body.contains("00u"));
}

#[tokio::test]
async fn the_step_summary_gets_the_assessment() {
    let (server, client, repo) = github().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = dir.path().join("step_summary.md");
    std::fs::write(&summary, "earlier step output\n").expect("seed summary");
    let head = plan(vec![(
        "department",
        vec![group("department_ops", &["Ops"], GroupStatus::New, 3)],
    )]);
    let d = publish(&client, &repo, 5, &input(&head), Some(&summary))
        .await
        .expect("published");
    assert!(d.summary_written && d.comment.is_some() && d.forbidden.is_none());
    let text = std::fs::read_to_string(&summary).expect("summary");
    assert!(
        text.starts_with("earlier step output\n"),
        "appended, not replaced"
    );
    assert!(text.contains("`department_ops`"));
    assert_eq!(server.comments("acme", "okta-config", 5).len(), 1);
}

#[tokio::test]
async fn a_fork_pull_request_gets_the_step_summary_instead_of_failing() {
    let (server, client, repo) = github().await;
    server.set_forbid_writes(true);
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = dir.path().join("step_summary.md");
    let head = plan(vec![(
        "department",
        vec![group("department_ops", &["Ops"], GroupStatus::New, 3)],
    )]);
    let d = publish(&client, &repo, 5, &input(&head), Some(&summary))
        .await
        .expect("403 handled");
    assert!(d.comment.is_none() && d.summary_written);
    assert!(
        d.forbidden
            .as_deref()
            .is_some_and(|m| m.contains("Resource not accessible by integration"))
    );
    let text = std::fs::read_to_string(&summary).expect("summary");
    assert!(
        text.starts_with(
            "> [!WARNING]\n> dyngroups could not post its comment on acme/okta-config#5"
        ),
        "{text}"
    );
    assert!(text.contains("pull request from a fork"));
    assert!(text.contains("`department_ops`"));
    assert!(server.comments("acme", "okta-config", 5).is_empty());
    // without a step summary there is nowhere to put it: the 403 is an error
    let err = publish(&client, &repo, 5, &input(&head), None)
        .await
        .expect_err("no fallback");
    assert!(err.is_forbidden());
}

// ---------------------------------------------------------------------------------------------------------
// Against the emulator and a real git repository: assess --base, and the daemon.

mod live {
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use async_trait::async_trait;
    use clap::Parser;
    use dyngroups::cli::{Cli, Globals};
    use dyngroups::daemon::sync_tick::SyncTick;
    use dyngroups::daemon::{Board, LoopOptions, Shutdown, Tick, TickReport, run_loop};
    use dyngroups::github::base::plan_both;
    use dyngroups::github::client::GithubClient;
    use dyngroups::github::comment::CommentInput;
    use dyngroups::github::diff::{GroupChangeKind, diff_plans};
    use dyngroups::github::fake::{self, FakeOptions};
    use dyngroups::github::publish::publish;
    use dyngroups::okta::client::OktaClient;
    use dyngroups::plan::model::{Action, Remembered};
    use dyngroups::reconcile::SyncOptions;
    use dyngroups::secret::Secret;

    use crate::support;

    const INSTANCE: &str = "name: gitops-test\nokta:\n  domain: gitops-test.okta.com\n";
    const DEPARTMENT: &str = "rules:\n  - attribute: profile.department\n    prefix: department\n";
    const CITY: &str = "rules:\n  - attribute: profile.city\n    prefix: location\n";

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.invalid",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(dir)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A work repository with the instance file and the department rule committed on `main`; returns
    /// (work dir, first commit).
    fn config_repo(root: &Path) -> (PathBuf, String) {
        let work = root.join("work");
        std::fs::create_dir_all(work.join("rules")).expect("mkdir");
        git(&work, &["init", "-q", "-b", "main"]);
        std::fs::write(work.join("dyngroups.yaml"), INSTANCE).expect("write");
        std::fs::write(work.join("rules/people.yaml"), DEPARTMENT).expect("write");
        git(&work, &["add", "."]);
        git(&work, &["commit", "-q", "-m", "department groups"]);
        let sha = git(&work, &["rev-parse", "HEAD"]);
        (work, sha)
    }

    fn add_city_rule(work: &Path) -> String {
        std::fs::write(work.join("rules/places.yaml"), CITY).expect("write");
        git(work, &["add", "."]);
        git(work, &["commit", "-q", "-m", "location groups"]);
        git(work, &["rev-parse", "HEAD"])
    }

    fn load(spec: &Path, rev: &str) -> dyngroups::config::model::Config {
        let tree = dyngroups::source::read(&spec.display().to_string(), Some(rev), None)
            .expect("read config");
        dyngroups::config::load(&tree).expect("config validates")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pull_request_adding_a_rule_is_assessed_against_its_base_and_commented_once() {
        let emu = support::emulator(support::SMALL_ORG);
        let tmp = tempfile::tempdir().expect("tempdir");
        let (work, base_sha) = config_repo(tmp.path());
        let head_sha = add_city_rule(&work);
        let (base_cfg, head_cfg) = (load(&work, &base_sha), load(&work, &head_sha));
        assert_eq!(head_cfg.commit.as_deref(), Some(head_sha.as_str()));

        let (base, head) = plan_both(&emu, &head_cfg, &base_cfg, &Remembered::default())
            .await
            .expect("plans");
        let diff = diff_plans(&base, &head);
        assert_eq!(diff.rules_added.len(), 1);
        assert_eq!(diff.rules_added[0].rule, "profile.city:location");
        assert!(diff.rules_removed.is_empty() && diff.rules_changed.is_empty());
        assert!(
            diff.groups
                .iter()
                .all(|g| g.kind == GroupChangeKind::Appears && g.rule == "profile.city:location")
        );
        assert!(diff.counts.groups_new >= 1, "{:?}", diff.counts);
        assert!(
            diff.group_list_diff.contains("\n+location_"),
            "{}",
            diff.group_list_diff
        );
        assert!(!diff.group_list_diff.contains("\n-"), "nothing disappears");
        // the department plan is the same in both: one observation, same rule
        let department = |p: &dyngroups::plan::model::Plan| {
            p.rules
                .iter()
                .find(|r| r.rule == "profile.department:department")
                .cloned()
        };
        assert!(department(&base).is_some());
        assert_eq!(department(&base), department(&head));

        let gh = fake::spawn(FakeOptions::default())
            .await
            .expect("fake GitHub");
        let client =
            GithubClient::new(&gh.base_url, &Secret::new("fake-github-token")).expect("client");
        let repo = "acme/okta-config".parse().expect("repo");
        let input = CommentInput {
            instance: &head_cfg.instance.name,
            head: &head,
            diff: Some(&diff),
            base_label: Some(&base_sha[..12]),
        };
        publish(&client, &repo, 3, &input, None)
            .await
            .expect("posted");
        publish(&client, &repo, 3, &input, None)
            .await
            .expect("updated");
        let comments = gh.comments("acme", "okta-config", 3);
        assert_eq!(comments.len(), 1);
        let body = &comments[0].body;
        assert!(
            body.starts_with(
                "<!-- dyngroups:assess instance=gitops-test -->\n**dyngroups assess**"
            )
        );
        assert!(
            body.contains("this pull request: 1 rule added, 0 removed, 0 changed"),
            "{body}"
        );
        for login in ["ana@example.com", "bo@example.com", "Ana", "Ito"] {
            assert!(
                !body.contains(login),
                "personal data {login:?} in the comment"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn assess_base_on_the_command_line_adds_base_diff_to_the_json() {
        let emu = support::emulator(support::SMALL_ORG);
        let server = support::serve(&emu).await;
        let tmp = tempfile::tempdir().expect("tempdir");
        let (work, base_sha) = config_repo(tmp.path());
        add_city_rule(&work);
        let state = tmp.path().join("state");
        let url = server.base_url.clone();
        let out = tokio::task::spawn_blocking(move || {
            support::bin()
                .env("OKTA_API_TOKEN", "emulator-token")
                .env_remove("GITHUB_STEP_SUMMARY")
                .args(["--config"])
                .arg(&work)
                .args(["--okta-url", &url, "--format", "json", "--state"])
                .arg(&state)
                .args(["assess", "--base", &base_sha])
                .output()
                .expect("runs")
        })
        .await
        .expect("joined");
        assert!(
            out.status.success(),
            "stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(v["format_version"], 1);
        assert!(v["rules"].as_array().is_some_and(|r| r.len() == 2));
        assert_eq!(v["base_diff"]["counts"]["rules_added"], 1);
        assert_eq!(
            v["base_diff"]["rules_added"][0]["rule"],
            "profile.city:location"
        );
    }

    /// The real tick, with a hook before the second one: push a config commit, then record what
    /// `assess --format json` says at that moment.
    struct Recorder {
        inner: SyncTick,
        globals: Globals,
        okta_url: String,
        work: PathBuf,
        ticks: AtomicUsize,
        assess_json: Mutex<Option<String>>,
        plans: Mutex<Vec<dyngroups::plan::model::Plan>>,
    }

    #[async_trait]
    impl Tick for Recorder {
        async fn tick(&self) -> anyhow::Result<TickReport> {
            if self.ticks.fetch_add(1, Ordering::SeqCst) == 1 {
                let work = self.work.clone();
                tokio::task::spawn_blocking(move || {
                    add_city_rule(&work);
                    git(&work, &["push", "-q", "origin", "main"]);
                })
                .await?;
                let g = self.globals.clone();
                let cfg = tokio::task::spawn_blocking(move || g.load_config()).await??;
                let api = OktaClient::with_token(&self.okta_url, Secret::new("emulator-token"))?;
                let remembered = self.globals.store(&cfg)?.remembered()?;
                let plan = dyngroups::cli::assess::assess(&api, &cfg, &remembered, None).await?;
                *self.assess_json.lock().expect("lock") =
                    Some(dyngroups::render::assess::json(&plan));
            }
            let (report, tick) = self.inner.run().await?;
            self.plans.lock().expect("lock").push(report.plan);
            Ok(tick)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_daemon_applies_a_pushed_config_commit_on_its_next_tick() {
        let emu = support::emulator(support::SMALL_ORG);
        let server = support::serve(&emu).await;
        let tmp = tempfile::tempdir().expect("tempdir");
        let (work, _) = config_repo(tmp.path());
        let bare = tmp.path().join("config.git");
        git(
            tmp.path(),
            &["init", "-q", "--bare", "-b", "main", "config.git"],
        );
        git(
            &work,
            &["remote", "add", "origin", &bare.display().to_string()],
        );
        git(&work, &["push", "-q", "origin", "main"]);

        let url = format!("file://{}", bare.display());
        let state = tmp.path().join("state").display().to_string();
        // Clones go to the test's own folder, not the user's ~/.cache.
        let cache = tmp.path().join("cache");
        let cache_arg = cache.display().to_string();
        let cli = Cli::try_parse_from([
            "dyngroups",
            "--config",
            &url,
            "--state",
            &state,
            "--cache-dir",
            &cache_arg,
            "validate",
        ])
        .expect("args");
        let globals = Globals::new(cli.globals);
        let okta_url = server.base_url.clone();
        let connect_url = okta_url.clone();
        let inner = SyncTick {
            globals: globals.clone(),
            options: SyncOptions::default(),
            connect: Some(Box::new(move |_| {
                Ok(OktaClient::with_token(
                    &connect_url,
                    Secret::new("emulator-token"),
                )?)
            })),
        };
        let recorder = Recorder {
            inner,
            globals,
            okta_url,
            work,
            ticks: AtomicUsize::new(0),
            assess_json: Mutex::new(None),
            plans: Mutex::new(vec![]),
        };
        let board = Board::new();
        let options = LoopOptions {
            max_ticks: Some(2),
            ..LoopOptions::for_interval(Duration::from_millis(100))
        };
        run_loop(&recorder, options, &board, Shutdown::new().subscribe()).await;

        let snap = board.snapshot();
        assert_eq!(
            (snap.ticks_ok, snap.ticks_failed),
            (2, 0),
            "last error: {:?}",
            snap.last_error
        );
        let plans = recorder.plans.lock().expect("lock").clone();
        let created = |i: usize, rule: &str| -> Vec<String> {
            plans[i]
                .actions
                .iter()
                .filter_map(|a| match a {
                    Action::CreateGroup { rule: r, name, .. } if r == rule => Some(name.clone()),
                    _ => None,
                })
                .collect()
        };
        // tick 1: only the department rule exists
        assert!(!created(0, "profile.department:department").is_empty());
        assert!(plans[0].rules.iter().all(|r| r.prefix == "department"));
        // tick 2: the pushed location rule was fetched and applied
        let locations = created(1, "profile.city:location");
        assert!(!locations.is_empty(), "{:?}", plans[1].actions);
        for name in &locations {
            assert!(
                emu.group_by_name(name).is_some(),
                "{name} was created in the emulator"
            );
        }
        assert_ne!(plans[0].config_commit, plans[1].config_commit);
        assert_eq!(snap.last_commit, plans[1].config_commit);
        // the second tick's plan is exactly what `assess --format json` showed just before it
        let assess = recorder
            .assess_json
            .lock()
            .expect("lock")
            .clone()
            .expect("assess ran");
        assert_eq!(dyngroups::render::assess::json(&plans[1]), assess);
        let clones = std::fs::read_dir(&cache).map_or(0, |d| d.count());
        assert_eq!(clones, 1, "the clone is kept under --cache-dir");
    }

    /// True when the binary has the subcommand (the lead wires `comment` and `daemon` into the CLI).
    fn has_command(name: &str) -> bool {
        support::bin()
            .args([name, "--help"])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_comment_command_posts_once_updates_after_and_falls_back_to_the_summary_on_403() {
        if !has_command("comment") {
            eprintln!("skipping: `dyngroups comment` is not wired into the CLI yet");
            return;
        }
        let emu = support::emulator(support::SMALL_ORG);
        let server = support::serve(&emu).await;
        let gh = fake::spawn(FakeOptions::default())
            .await
            .expect("fake GitHub");
        let tmp = tempfile::tempdir().expect("tempdir");
        let (work, base_sha) = config_repo(tmp.path());
        add_city_rule(&work);
        let run = |summary: PathBuf, output: PathBuf| {
            let (work, okta, github, base) = (
                work.clone(),
                server.base_url.clone(),
                gh.base_url.clone(),
                base_sha.clone(),
            );
            let state = tmp.path().join("state");
            tokio::task::spawn_blocking(move || {
                support::bin()
                    .env("OKTA_API_TOKEN", "emulator-token")
                    .env("GITHUB_TOKEN", "fake-github-token")
                    .env("GITHUB_STEP_SUMMARY", &summary)
                    .env("GITHUB_OUTPUT", &output)
                    .env_remove("GITHUB_ACTIONS")
                    .arg("--config")
                    .arg(&work)
                    .arg("--state")
                    .arg(&state)
                    .args([
                        "--okta-url",
                        &okta,
                        "comment",
                        "--repo",
                        "acme/okta-config",
                        "--pr",
                        "4",
                    ])
                    .args(["--base", &base, "--github-url", &github])
                    .output()
                    .expect("runs")
            })
        };
        for i in 0..2 {
            let (summary, output) = (
                tmp.path().join(format!("summary{i}.md")),
                tmp.path().join(format!("out{i}")),
            );
            let out = run(summary.clone(), output.clone()).await.expect("joined");
            assert!(
                out.status.success(),
                "run {i}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let outputs = std::fs::read_to_string(&output).expect("outputs");
            assert!(
                outputs.contains("changes-pending<<ghadelimiter_") && outputs.contains("\ntrue\n"),
                "{outputs}"
            );
            assert!(
                std::fs::read_to_string(&summary)
                    .expect("summary")
                    .contains("**dyngroups assess**")
            );
        }
        let comments = gh.comments("acme", "okta-config", 4);
        assert_eq!(comments.len(), 1, "one comment after two runs");
        assert!(comments[0].body.contains("this pull request: 1 rule added"));

        gh.set_forbid_writes(true);
        let summary = tmp.path().join("summary-fork.md");
        let out = run(summary.clone(), tmp.path().join("out-fork"))
            .await
            .expect("joined");
        assert!(
            out.status.success(),
            "a fork's 403 does not fail the job: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&summary).expect("summary");
        assert!(text.starts_with("> [!WARNING]"), "{text}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_daemon_command_runs_one_tick_and_exits() {
        if !has_command("daemon") {
            eprintln!("skipping: `dyngroups daemon` is not wired into the CLI yet");
            return;
        }
        let emu = support::emulator(support::SMALL_ORG);
        let server = support::serve(&emu).await;
        let tmp = tempfile::tempdir().expect("tempdir");
        let (work, _) = config_repo(tmp.path());
        let state = tmp.path().join("state");
        let okta = server.base_url.clone();
        let out = tokio::task::spawn_blocking(move || {
            support::bin()
                .env("OKTA_API_TOKEN", "emulator-token")
                .arg("--config")
                .arg(&work)
                .arg("--state")
                .arg(&state)
                .args([
                    "--okta-url",
                    &okta,
                    "daemon",
                    "--interval",
                    "1s",
                    "--ticks",
                    "1",
                    "--listen",
                    "127.0.0.1:0",
                ])
                .output()
                .expect("runs")
        })
        .await
        .expect("joined");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(emu.group_by_name("department_engineering").is_some());
    }
}
