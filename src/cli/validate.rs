//! `dyngroups validate`: check the config repository, listing every problem as `file:line:col: message`.
//! Exit 0 when it validates, 1 with the list otherwise (on stdout, so that editors and CI can parse it).

use serde_json::json;

use super::{Exit, Format, Globals};
use crate::config;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  dyngroups validate --config examples/config\n  dyngroups validate --config . --rev main --format json"
)]
pub struct Args {}

pub async fn run(g: &Globals, _args: &Args) -> anyhow::Result<Exit> {
    let tree = g.config_tree()?;
    let result = config::load(&tree);
    let out = render(g.format(), &tree, &result);
    // -q: only errors. The problems are the errors; the `ok:` line is not.
    if !(g.args.quiet && result.is_ok() && g.format() != Format::Json) {
        println!("{out}");
    }
    if let (Format::Text, Err(d)) = (g.format(), &result) {
        // The summary goes to stderr so that stdout holds only `file:line:col: message` lines.
        eprintln!(
            "{} problem{} in {}",
            d.len(),
            if d.len() == 1 { "" } else { "s" },
            tree.origin
        );
    }
    Ok(if result.is_ok() {
        Exit::Success
    } else {
        Exit::Failure
    })
}

/// The command's output in each format.
pub fn render(
    format: Format,
    tree: &crate::source::ConfigTree,
    result: &Result<config::model::Config, config::Diagnostics>,
) -> String {
    match (format, result) {
        (Format::Json, Ok(cfg)) => serde_json::to_string_pretty(&json!({
            "format_version": 1,
            "valid": true,
            "origin": tree.origin,
            "commit": cfg.commit,
            "instance": cfg.instance.name,
            "rules": cfg.rules.len(),
            "rules_enabled": cfg.rules.iter().filter(|r| r.enabled).count(),
            "problems": [],
        }))
        .unwrap_or_default(),
        (Format::Json, Err(d)) => serde_json::to_string_pretty(&json!({
            "format_version": 1,
            "valid": false,
            "origin": tree.origin,
            "commit": tree.commit,
            "problems": d.0,
        }))
        .unwrap_or_default(),
        (_, Ok(cfg)) => {
            let enabled = cfg.rules.iter().filter(|r| r.enabled).count();
            let mut s = format!(
                "ok: {} is valid: instance `{}` ({}{}), {} rule{} ({} enabled)",
                tree.origin,
                cfg.instance.name,
                cfg.instance.okta_domain,
                if cfg.instance.enabled {
                    ""
                } else {
                    ", disabled"
                },
                cfg.rules.len(),
                if cfg.rules.len() == 1 { "" } else { "s" },
                enabled
            );
            if let Some(c) = &cfg.commit {
                s.push_str(&format!(", commit {c}"));
            }
            s
        }
        (Format::Markdown, Err(d)) => {
            let mut s = format!("**{} problem(s) in the config repository**\n\n", d.len());
            for p in d.iter() {
                s.push_str(&format!(
                    "- `{}:{}:{}`: {}\n",
                    p.file,
                    p.line,
                    p.column,
                    crate::render::escape::markdown_inline(&p.message)
                ));
            }
            s
        }
        (Format::Text, Err(d)) => d.to_string(),
    }
}
