//! The `dyngroups comment` command (its clap `Args` and `run`; src/cli/comment.rs re-exports them):
//! the assess comment on a pull request, created once and updated on every push; also the step summary and
//! the Action's outputs. `--dry-run` prints it instead of posting (the Action's `assess`).

use std::io::Write as _;

use anyhow::Context as _;

use crate::cli::{Exit, Globals};
use crate::github::base::{assess_against, keep_other_rules, only_rule, remembered_if_any};
use crate::github::client::{DEFAULT_API_URL, GithubClient, RepoRef, Upserted};
use crate::github::comment::{CommentInput, Limit, render};
use crate::github::publish::publish;
use crate::github::summary::{
    append_step_summary, step_summary_path, step_summary_room, write_outputs,
};
use crate::okta::client::OktaClient;
use crate::plan::model::Plan;
use crate::secret::Secret;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  dyngroups comment --repo acme/okta-groups --pr 42 --base origin/main\n  dyngroups comment --repo acme/okta-groups --pr 42 --base origin/main --dry-run"
)]
pub struct Args {
    /// The repository holding the pull request.
    #[arg(
        long,
        env = "GITHUB_REPOSITORY",
        value_name = "OWNER/NAME",
        required_unless_present = "dry_run"
    )]
    pub repo: Option<String>,
    /// The pull request number.
    #[arg(long, value_name = "N", required_unless_present = "dry_run")]
    pub pr: Option<u64>,
    /// Compare with the config at this revision (the pull request's base): rules added, removed, changed.
    /// The Okta connection is taken from this revision's instance file, not from the pull request's.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// Only this rule (by prefix).
    #[arg(long, value_name = "PREFIX")]
    pub rule: Option<String>,
    /// GitHub's API: https://api.github.com, https://HOST/api/v3 for GitHub Enterprise Server, or a test server.
    #[arg(long, env = "GITHUB_API_URL", default_value = DEFAULT_API_URL, value_name = "URL")]
    pub github_url: String,
    /// A token that may write pull-request comments (in Actions: the job's GITHUB_TOKEN with
    /// `pull-requests: write`).
    #[arg(long, env = "GITHUB_TOKEN", hide_env_values = true, value_parser = parse_secret, value_name = "TOKEN")]
    pub github_token: Option<Secret>,
    /// Print the comment (and write the step summary and outputs) without posting it; no token needed.
    #[arg(long)]
    pub dry_run: bool,
}

fn parse_secret(s: &str) -> Result<Secret, String> {
    Ok(Secret::new(s))
}

/// The Action's outputs: `changes-pending` and `counts` (the plan's summary as one line of JSON).
fn outputs(head: &Plan) -> anyhow::Result<()> {
    let counts = serde_json::to_string(&head.summary)?;
    write_outputs(&[
        ("changes-pending", head.summary.has_changes().to_string()),
        ("counts", counts),
    ])
    .context("writing the step outputs to $GITHUB_OUTPUT")
}

fn annotate_warning(message: &str) {
    // GitHub Actions shows `::warning::` lines as annotations; elsewhere it is a plain warning.
    if std::env::var_os("GITHUB_ACTIONS").is_some() {
        println!("::warning::{}", message.replace(['\r', '\n'], " "));
    }
    tracing::warn!("{message}");
}

async fn deliver(args: &Args, input: &CommentInput<'_>) -> anyhow::Result<Exit> {
    outputs(input.head)?;
    if args.dry_run {
        let body = render(input, Limit::bytes(usize::MAX));
        if let Some(path) = step_summary_path() {
            let text = render(input, Limit::bytes(step_summary_room(&path)));
            append_step_summary(&path, &text)
                .with_context(|| format!("writing the step summary {}", path.display()))?;
        }
        let mut out = std::io::stdout().lock();
        out.write_all(body.as_bytes())?;
        out.flush()?;
        return Ok(Exit::Success);
    }
    let (Some(repo), Some(pr)) = (&args.repo, args.pr) else {
        anyhow::bail!("comment needs --repo OWNER/NAME and --pr N (or --dry-run)");
    };
    let repo: RepoRef = repo.parse()?;
    let Some(token) = args.github_token.as_ref().filter(|t| !t.is_empty()) else {
        anyhow::bail!(
            "no GitHub token: set GITHUB_TOKEN (or --github-token) to a token that may write pull-request comments"
        );
    };
    let client = GithubClient::new(&args.github_url, token)?;
    let summary = step_summary_path();
    let delivery = publish(&client, &repo, pr, input, summary.as_deref())
        .await
        .with_context(|| format!("posting the assess comment on {repo}#{pr}"))?;
    match (&delivery.comment, &delivery.forbidden) {
        (Some(Upserted::Created { url, .. }), _) => eprintln!("created the assess comment: {url}"),
        (Some(Upserted::Updated { url, .. }), _) => eprintln!("updated the assess comment: {url}"),
        (None, Some(why)) => annotate_warning(&format!(
            "could not comment on {repo}#{pr} ({why}); the assessment is in the job summary instead"
        )),
        (None, None) => {}
    }
    Ok(Exit::Success)
}

pub async fn run(g: &Globals, args: &Args) -> anyhow::Result<Exit> {
    if let Some(base) = &args.base {
        let a = assess_against(g, base, args.rule.as_deref()).await?;
        return deliver(args, &a.comment_input()).await;
    }
    // Without a base there is only the pull request's config to connect with: pass --base on pull requests.
    let full = g.load_config()?;
    let cfg = only_rule(full.clone(), args.rule.as_deref());
    let api = OktaClient::connect(&cfg.instance, g.args.okta_url.as_deref())
        .with_context(|| format!("connecting to Okta for instance {}", cfg.instance.name))?;
    let remembered = remembered_if_any(g, &cfg)?;
    let view = crate::okta::observe::observe(&api, &cfg, &remembered)
        .await
        .context("reading the org from Okta")?;
    let mut head = crate::plan::plan(&cfg, &view, &remembered);
    keep_other_rules(&mut head, &full, &cfg);
    let input = CommentInput {
        instance: &cfg.instance.name,
        head: &head,
        diff: None,
        base_label: None,
    };
    deliver(args, &input).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrap {
        #[command(flatten)]
        args: Args,
    }

    #[test]
    fn repo_and_pr_are_needed_unless_dry_run() {
        assert!(Wrap::try_parse_from(["x", "--dry-run"]).is_ok());
        let w = Wrap::try_parse_from([
            "x",
            "--repo",
            "a/b",
            "--pr",
            "7",
            "--base",
            "main",
            "--github-url",
            "http://127.0.0.1:1",
        ])
        .unwrap();
        assert_eq!(
            (w.args.repo.as_deref(), w.args.pr, w.args.base.as_deref()),
            (Some("a/b"), Some(7), Some("main"))
        );
        assert_eq!(w.args.github_url, "http://127.0.0.1:1");
    }

    #[test]
    fn the_token_never_shows_in_debug() {
        let w =
            Wrap::try_parse_from(["x", "--dry-run", "--github-token", "ghp_SECRETVALUE"]).unwrap();
        assert!(!format!("{w:?}").contains("SECRETVALUE"));
        assert_eq!(
            w.args.github_token.as_ref().map(|t| t.expose()),
            Some("ghp_SECRETVALUE")
        );
    }
}
