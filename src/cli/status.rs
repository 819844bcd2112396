//! `dyngroups status`, `dyngroups groups` (views of the store, fast, in text and JSON) and
//! `dyngroups state export|import|reinit` (backing up, restoring and re-initialising the store).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use chrono::Utc;
use serde_json::{Value, json};

use super::{Exit, Format, Globals};
pub use crate::store::views::{groups_json, status_json};
use crate::store::{Store, StoredGroup};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  dyngroups status\n  dyngroups status --format json")]
pub struct StatusArgs {
    /// How many recent runs to show.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub history: usize,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  dyngroups groups\n  dyngroups groups --stale --format json")]
pub struct GroupsArgs {
    /// Only managed groups with zero members.
    #[arg(long)]
    pub stale: bool,
}

/// `dyngroups state ...`: back up, restore or re-initialise the store.
#[derive(Debug, clap::Subcommand)]
pub enum StateCommand {
    /// Write the whole store as JSON (to FILE, or to stdout).
    #[command(after_help = "Example:\n  dyngroups state export --out dyngroups-state.json")]
    Export {
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Restore the store from a `state export` file.
    #[command(after_help = "Example:\n  dyngroups state import dyngroups-state.json")]
    Import {
        file: PathBuf,
        /// Replace a store that already manages groups.
        #[arg(long)]
        force: bool,
    },
    /// Re-initialise a lost or new store. With --adopt, Okta groups that carry names this config computes are
    /// recorded as managed by (and created by) this instance; without, the collision policy decides.
    #[command(
        after_help = "Examples:\n  dyngroups state reinit            # a first install: the collision policy decides\n  dyngroups state reinit --adopt    # a lost store: our groups are ours again"
    )]
    Reinit {
        #[arg(long)]
        adopt: bool,
        /// Re-initialise even though the store already manages groups.
        #[arg(long)]
        force: bool,
    },
}

/// `1234567` -> `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn short(commit: Option<&str>) -> String {
    commit.map_or_else(|| "-".to_string(), |c| c.chars().take(12).collect())
}

fn ago(t: &chrono::DateTime<Utc>) -> String {
    let secs = (Utc::now() - *t).num_seconds().max(0);
    match secs {
        0..=89 => format!("{secs} s ago"),
        90..=5399 => format!("{} min ago", secs / 60),
        5400..=172_799 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

/// The instance whose store a view may show: the config's, like `sync`. With `--state` and the default `--config .`
/// that is not a config repository, none (`--state` alone is enough, and the store's own record is shown).
async fn expected_instance(g: &Globals) -> anyhow::Result<Option<String>> {
    if g.args.state.is_some() && g.args.config == "." {
        let here = std::path::Path::new(".");
        if !here.join(crate::config::load::INSTANCE_FILE).exists()
            && !here.join("dyngroups.yml").exists()
        {
            return Ok(None);
        }
    }
    Ok(Some(super::sync::load_config(g).await?.instance.name))
}

/// The store's folder and the instance it must belong to.
async fn view_target(g: &Globals) -> anyhow::Result<(PathBuf, Option<String>)> {
    let instance = expected_instance(g).await?;
    if let Some(dir) = &g.args.state {
        if !dir.exists() {
            anyhow::bail!(
                "there is no store at {} (no sync has run with this --state)",
                dir.display()
            );
        }
        return Ok((dir.clone(), instance));
    }
    let name = instance.unwrap_or_default();
    let dir = g.state_dir(&name)?;
    if !dir.exists() {
        anyhow::bail!(
            "there is no store for instance {:?} at {} (no sync has run yet; or pass --state DIR)",
            name,
            dir.display()
        );
    }
    Ok((dir, Some(name)))
}

fn open_view(
    dir: &std::path::Path,
    instance: Option<&str>,
) -> Result<Store, crate::store::StoreError> {
    match instance {
        Some(name) => Store::open_instance(dir, name),
        None => Store::open(dir),
    }
}

/// Opens the store for a view, refusing another instance's store as `sync` does.
pub(crate) async fn view_store(g: &Globals) -> anyhow::Result<Store> {
    let (dir, instance) = view_target(g).await?;
    Ok(open_view(&dir, instance.as_deref())?)
}

fn num(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

fn when(v: &Value) -> String {
    let at = v.as_str().unwrap_or("-");
    match chrono::DateTime::parse_from_rfc3339(at) {
        Ok(t) => format!("{at} ({})", ago(&t.with_timezone(&Utc))),
        Err(_) => at.to_string(),
    }
}

/// The status document as text.
fn status_text(doc: &Value, history: usize) -> String {
    let mut out = String::new();
    let last = &doc["last_sync"];
    if last.is_null() {
        out.push_str("Last sync:       never\n");
    } else {
        out.push_str(&format!(
            "Last sync:       {}, {}, commit {}\n",
            when(&last["at"]),
            last["status"].as_str().unwrap_or("-"),
            short(last["commit"].as_str())
        ));
        if let Some(m) = last["message"].as_str() {
            out.push_str(&format!(
                "                 {}\n",
                crate::render::escape::terminal(m)
            ));
        }
    }
    let backlog = num(&doc["backlog"]);
    if backlog > 0 {
        out.push_str(&format!(
            "Backlog:         {} change(s) left for the next sync\n",
            thousands(backlog)
        ));
    }
    out.push_str(&format!(
        "Managed groups:  {}\n",
        thousands(num(&doc["managed_groups"]))
    ));
    out.push_str(&format!(
        "Licensed users:  {}\n",
        thousands(num(&doc["licensed_users"]))
    ));
    if let Some(c) = doc["applied_commit"].as_str() {
        out.push_str(&format!("Applied commit:  {c}\n"));
    }
    if doc["interrupted"].as_bool() == Some(true) {
        out.push_str("Interrupted:     the last run did not finish; the next sync recovers it\n");
    }
    let recent = doc["history"].as_array().cloned().unwrap_or_default();
    if history > 0 && !recent.is_empty() {
        out.push_str("\nRecent runs:\n");
        for r in recent.iter().take(history) {
            let c = &r["counts"];
            out.push_str(&format!(
                "  {}  {:<6} {:<11} +{} -{}  groups +{} -{}  {} calls  {:.1} s  {}\n",
                r["at"].as_str().unwrap_or("-"),
                r["kind"].as_str().unwrap_or("-"),
                r["status"].as_str().unwrap_or("-"),
                thousands(num(&c["added"])),
                thousands(num(&c["removed"])),
                thousands(num(&c["created"]) + num(&c["adopted"])),
                thousands(num(&c["deleted"]) + num(&c["stopped_managing"])),
                thousands(num(&r["api_calls"]["reads"]) + num(&r["api_calls"]["writes"])),
                num(&r["duration_ms"]) as f64 / 1000.0,
                short(r["commit"].as_str()),
            ));
        }
    }
    out
}

/// The store, or (while a sync holds its lock) the snapshot written after the previous run.
enum View {
    Store(Store),
    Snapshot(Value),
}

async fn view(g: &Globals) -> anyhow::Result<View> {
    let (dir, instance) = view_target(g).await?;
    match open_view(&dir, instance.as_deref()) {
        Ok(store) => Ok(View::Store(store)),
        Err(crate::store::StoreError::Locked { dir })
            if crate::store::views::read_snapshot(&dir).is_some() =>
        {
            let snapshot = crate::store::views::read_snapshot(&dir).unwrap_or_default();
            // The snapshot says whose store it is: the same instance check as the store's own.
            if let (Some(expected), Some(found)) =
                (instance, snapshot["status"]["instance"].as_str())
                && found != expected
            {
                return Err(crate::store::StoreError::OtherInstance {
                    dir,
                    found: found.to_string(),
                    expected,
                }
                .into());
            }
            eprintln!(
                "note: a sync is using the store right now; showing the state after the previous run"
            );
            Ok(View::Snapshot(snapshot))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn status(g: &Globals, args: &StatusArgs) -> anyhow::Result<Exit> {
    let doc = match view(g).await? {
        View::Store(store) => status_json(&store, args.history)?,
        View::Snapshot(snapshot) => snapshot["status"].clone(),
    };
    let text = match g.format() {
        Format::Json => format!("{doc:#}\n"),
        Format::Text | Format::Markdown => status_text(&doc, args.history),
    };
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(Exit::Success)
}

fn groups_text(groups: &[StoredGroup], stale: bool) -> String {
    if groups.is_empty() {
        return if stale {
            "No stale groups (every managed group has members).\n".to_string()
        } else {
            "No managed groups yet.\n".to_string()
        };
    }
    let rows: Vec<[String; 6]> = groups
        .iter()
        .map(|g| {
            [
                crate::render::escape::terminal(&g.name),
                g.id.clone(),
                thousands(g.members),
                if g.adopted { "yes" } else { "no" }.to_string(),
                crate::render::escape::terminal(&g.values.join(", ")),
                g.rule.clone(),
            ]
        })
        .collect();
    let header = ["NAME", "OKTA ID", "MEMBERS", "ADOPTED", "VALUES", "RULE"];
    let mut width = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = width[i].saturating_sub(cell.chars().count());
            if i == 2 {
                s.push_str(&" ".repeat(pad));
                s.push_str(cell);
            } else {
                s.push_str(cell);
                if i + 1 < cells.len() {
                    s.push_str(&" ".repeat(pad));
                }
            }
            if i + 1 < cells.len() {
                s.push_str("  ");
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(&header.map(str::to_string));
    for row in &rows {
        out.push_str(&line(row));
    }
    let total: u64 = groups.iter().map(|g| g.members).sum();
    out.push_str(&format!(
        "\n{} group(s), {} membership(s)\n",
        thousands(groups.len() as u64),
        thousands(total)
    ));
    out
}

pub async fn groups(g: &Globals, args: &GroupsArgs) -> anyhow::Result<Exit> {
    let mut groups = match view(g).await? {
        View::Store(store) => store.groups()?,
        View::Snapshot(snapshot) => serde_json::from_value(snapshot["groups"]["groups"].clone())
            .context("reading the store snapshot")?,
    };
    if args.stale {
        groups.retain(|g| g.members == 0);
    }
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    let text = match g.format() {
        Format::Json => format!("{:#}\n", groups_json(&groups)),
        Format::Text | Format::Markdown => groups_text(&groups, args.stale),
    };
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(Exit::Success)
}

pub async fn state(g: &Globals, cmd: StateCommand) -> anyhow::Result<Exit> {
    match cmd {
        StateCommand::Export { out } => {
            let store = view_store(g).await?;
            let doc = serde_json::to_string_pretty(&store.export()?)?;
            match out {
                Some(path) => {
                    std::fs::write(&path, format!("{doc}\n"))
                        .with_context(|| format!("writing the export to {}", path.display()))?;
                    eprintln!(
                        "exported the store at {} to {}",
                        store.dir().display(),
                        path.display()
                    );
                }
                None => std::io::stdout().write_all(format!("{doc}\n").as_bytes())?,
            }
            Ok(Exit::Success)
        }
        StateCommand::Import { file, force } => {
            let cfg = super::sync::load_config(g).await?;
            let raw =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let doc: crate::store::export::StateExport = serde_json::from_slice(&raw)
                .with_context(|| format!("{} is not a state export", file.display()))?;
            let store = g.store(&cfg)?;
            store.import(&doc, force).with_context(|| {
                format!(
                    "importing {} into {}",
                    file.display(),
                    store.dir().display()
                )
            })?;
            println!(
                "imported {} managed group(s) into the store at {}",
                thousands(doc.groups.len() as u64),
                store.dir().display()
            );
            Ok(Exit::Success)
        }
        StateCommand::Reinit { adopt, force } => {
            let cfg = super::sync::load_config(g).await?;
            let okta = super::sync::okta(g, &cfg)?;
            let store = g.store(&cfg)?;
            let report = crate::reconcile::reinit(&okta, &store, &cfg, adopt, force).await?;
            if g.format() == Format::Json {
                println!(
                    "{:#}",
                    json!({"format_version": 1, "reclaimed": report.reclaimed})
                );
            } else if adopt {
                println!(
                    "re-initialised the store at {}: {} group(s) recorded as managed by instance {:?}",
                    store.dir().display(),
                    thousands(report.reclaimed.len() as u64),
                    cfg.instance.name
                );
                for name in &report.reclaimed {
                    println!("  {}", crate::render::escape::terminal(name));
                }
            } else {
                println!(
                    "re-initialised the store at {}; groups with computed names follow the collision policy",
                    store.dir().display()
                );
            }
            Ok(Exit::Success)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
