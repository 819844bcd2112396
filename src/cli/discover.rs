//! `dyngroups discover`: the user profile attributes Okta knows (base and custom) with their type, and a
//! warning on attributes users can edit about themselves (schema permission SELF READ_WRITE): a rule on
//! such an attribute lets anyone put themselves into a group.

use std::io::Write;

use anyhow::Context;
use serde::Serialize;

use super::{Exit, Format, Globals};
use crate::okta::api::OktaApi;
use crate::okta::model::{SchemaAttribute, UserSchema};
use crate::render::escape::{markdown_inline as md, terminal};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  export OKTA_API_TOKEN=...\n  dyngroups --config examples/config discover"
)]
pub struct Args {}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attribute {
    pub name: String,
    /// `profile.<name>`, as a rule writes it.
    pub path: String,
    /// `string`, `number`, `integer`, `boolean`, `array<string>`, ...
    #[serde(rename = "type")]
    pub attr_type: String,
    /// `base` or `custom`.
    pub source: &'static str,
    pub title: Option<String>,
    pub self_editable: bool,
    /// Rules of the config that read this attribute.
    pub rules: Vec<String>,
}

pub async fn run(g: &Globals, _args: &Args) -> anyhow::Result<Exit> {
    let config = g.load_config()?;
    let api = g.okta(&config)?;
    let schema = api
        .user_schema()
        .await
        .with_context(|| format!("reading the user schema of {}", config.instance.okta_domain))?;
    let attrs = attributes(&schema, &config);
    let out = match g.format() {
        Format::Text => text(&attrs),
        Format::Markdown => markdown(&attrs),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(
                &serde_json::json!({"format_version": 1, "attributes": attrs}),
            )?;
            s.push('\n');
            s
        }
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(Exit::Success)
}

/// The schema's attributes, base first then custom, each in schema order.
pub fn attributes(schema: &UserSchema, config: &crate::config::model::Config) -> Vec<Attribute> {
    let row = |name: &String, a: &SchemaAttribute, source: &'static str| Attribute {
        name: name.clone(),
        path: format!("profile.{name}"),
        attr_type: type_of(a),
        source,
        title: a.title.clone(),
        self_editable: a.self_editable(),
        rules: config
            .rules
            .iter()
            .filter(|r| &r.attribute == name)
            .map(|r| r.id())
            .collect(),
    };
    let d = &schema.definitions;
    d.base
        .properties
        .iter()
        .map(|(n, a)| row(n, a, "base"))
        .chain(d.custom.properties.iter().map(|(n, a)| row(n, a, "custom")))
        .collect()
}

fn type_of(a: &SchemaAttribute) -> String {
    let t = a.attr_type.clone().unwrap_or_else(|| "unknown".into());
    match a
        .items
        .as_ref()
        .and_then(|i| i.get("type"))
        .and_then(|t| t.as_str())
    {
        Some(item) if t == "array" => format!("array<{item}>"),
        _ => t,
    }
}

fn warning(a: &Attribute) -> Option<String> {
    if !a.self_editable {
        return None;
    }
    Some(if a.rules.is_empty() {
        format!(
            "{}: users can edit it themselves; a rule on it would let anyone choose their groups",
            a.path
        )
    } else {
        format!(
            "{}: users can edit it themselves, and rule(s) {} use it: anyone can put themselves into those groups",
            a.path,
            a.rules.join(", ")
        )
    })
}

pub fn text(attrs: &[Attribute]) -> String {
    let w = attrs
        .iter()
        .map(|a| a.path.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let tw = attrs
        .iter()
        .map(|a| a.attr_type.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut o = format!(
        "{:<w$}  {:<tw$}  {:<6}  {:<13}  RULES\n",
        "ATTRIBUTE", "TYPE", "SOURCE", "SELF-EDITABLE"
    );
    for a in attrs {
        o.push_str(&format!(
            "{:<w$}  {:<tw$}  {:<6}  {:<13}  {}\n",
            terminal(&a.path),
            terminal(&a.attr_type),
            a.source,
            if a.self_editable { "yes (!)" } else { "no" },
            terminal(&a.rules.join(", "))
        ));
    }
    let warnings: Vec<String> = attrs.iter().filter_map(warning).collect();
    if !warnings.is_empty() {
        o.push_str("\nwarnings:\n");
        for w in warnings {
            o.push_str(&format!("  - {}\n", terminal(&w)));
        }
    }
    o
}

pub fn markdown(attrs: &[Attribute]) -> String {
    let mut o = String::from(
        "| attribute | type | source | self-editable | rules |\n|---|---|---|---|---|\n",
    );
    for a in attrs {
        o.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            md(&a.path),
            md(&a.attr_type),
            a.source,
            if a.self_editable { "**yes**" } else { "no" },
            md(&a.rules.join(", "))
        ));
    }
    for w in attrs.iter().filter_map(warning) {
        o.push_str(&format!("\n- ⚠ {}", md(&w)));
    }
    o.push('\n');
    o
}
