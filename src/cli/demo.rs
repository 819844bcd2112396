//! `dyngroups demo`: the newcomer's first run. Starts the Okta emulator in this process on a demo org from
//! `examples/`, then runs the real commands (as child processes, exactly as a user would type them) against
//! it: validate, assess, sync, an HR change and a manual removal, sync again, status and groups.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::Context;
use serde_json::{Value, json};

use crate::okta::api::OktaApi;
use crate::sim::Emulator;
use crate::sim::server::{self, ServerOptions};

use super::{Exit, Globals};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  cargo run --release -- demo\n  dyngroups demo --keep   # keep the emulator running afterwards"
)]
pub struct Args {
    /// The examples folder holding the demo org (`demo-org.yaml`) and the config repository (`config/`)
    /// [default: examples/ of this checkout].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Keep the emulator running at the end so you can try commands against it (Ctrl-C to stop).
    #[arg(long)]
    pub keep: bool,
}

/// The emulator's default token (see `dyngroups sim serve`); the demo org uses it.
const DEMO_TOKEN: &str = "emulator-token";

fn find_demo_dir(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(d) = explicit {
        return Ok(d.to_path_buf());
    }
    let candidates = [
        PathBuf::from("examples"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"),
    ];
    candidates
        .into_iter()
        .find(|p| p.join("demo-org.yaml").is_file() && p.join("config").is_dir())
        .context("the demo org was not found: run `dyngroups demo` from the dyngroups checkout, or pass --dir path/to/examples")
}

pub async fn run(g: &Globals, args: &Args) -> anyhow::Result<Exit> {
    let dir = find_demo_dir(args.dir.as_deref())?;
    let seed_path = dir.join("demo-org.yaml");
    let emu = Emulator::from_seed_file(&seed_path)
        .with_context(|| format!("loading the demo org {}", seed_path.display()))?;
    let srv = server::spawn(emu.clone(), ServerOptions::default())
        .await
        .context("starting the Okta emulator for the demo")?;
    let work = tempfile_dir()?;
    let config = dir.join("config");
    let state = work.join("state");
    let mut d = Demo {
        g,
        url: srv.base_url.clone(),
        config,
        state,
        step: 0,
    };

    let (users, groups) = (emu.users().len(), emu.groups().len());
    d.say(&format!(
        "An Okta emulator is running at {} with the demo org: {users} users, {groups} groups (two of them collide with names our rules compute).",
        d.url
    ));
    d.run(
        "Check the config repository (instance file and rules) before anything talks to Okta.",
        &["validate"],
    )?;
    d.run(
        "Assess: what a sync would do, per rule, without changing anything.",
        &["assess"],
    )?;
    d.run(
        "A new store, and Okta already has a group with one of our names: dyngroups would refuse to sync rather than guess whether it made that group. This is a first install, so initialise the store and let the collision policy decide.",
        &["state", "reinit"],
    )?;
    d.run(
        "Sync: create the groups and fill them from the users' attributes.",
        &["sync"],
    )?;

    // HR moves one engineer to Sales; an admin removes someone from a group by hand.
    let mover = first_user_with(&emu, "department", "Sales & Marketing")
        .context("the demo org has no Sales & Marketing user")?;
    emu.set_attribute(
        &mover,
        "department",
        Value::String("Customer Success".into()),
    )
    .context("changing a department in the emulator")?;
    d.say("HR moved one user from Sales & Marketing to Customer Success (through Okta's own API).");
    let (gid, gname, uid) = a_managed_membership(&emu, &mover).await?;
    emu.remove_member(&gid, &uid)
        .await
        .context("removing a member in the emulator")?;
    d.say(&format!(
        "An admin removed one member from {gname} by hand in Okta. Under the demo's policy (respect_manual_full) that removal is kept."
    ));
    d.run("Assess again: the move shows as one removal and one addition; the manual removal is respected.", &["assess"])?;
    d.run("Sync again: apply just those changes.", &["sync"])?;
    d.run(
        "Status: the last sync, managed groups and licensed users (from the store, no Okta calls).",
        &["status"],
    )?;
    d.run("Groups: every group dyngroups manages, with members, adopted or created, and the value behind it.", &["groups"])?;

    println!();
    println!("What to try next:");
    println!(
        "  - Edit {}/rules/*.yaml (change a prefix, add profile.title) and run `dyngroups validate` and `dyngroups assess`.",
        d.config.display()
    );
    println!(
        "  - Switch policies.membership to enforce in {}/dyngroups.yaml and assess again.",
        d.config.display()
    );
    println!(
        "  - Run the emulator yourself: dyngroups sim serve --seed {} --listen 127.0.0.1:8080",
        seed_path.display()
    );
    println!(
        "    then: OKTA_API_TOKEN={DEMO_TOKEN} dyngroups --config {} --okta-url http://127.0.0.1:8080 assess",
        d.config.display()
    );
    println!("  - Point it at your own Okta: README.md, \"Connecting a real Okta\".");
    if args.keep {
        println!();
        println!(
            "The emulator keeps running at {} (token {DEMO_TOKEN}); press Ctrl-C to stop.",
            d.url
        );
        tokio::signal::ctrl_c().await.ok();
    }
    drop(srv);
    let _ = std::fs::remove_dir_all(&work);
    Ok(Exit::Success)
}

struct Demo<'a> {
    g: &'a Globals,
    url: String,
    config: PathBuf,
    state: PathBuf,
    step: u32,
}

impl Demo<'_> {
    fn say(&mut self, line: &str) {
        self.step += 1;
        println!();
        println!("{}. {line}", self.step);
    }

    /// Runs `dyngroups <args>` as a child process, exactly as a user would, and shows its output.
    fn run(&mut self, why: &str, args: &[&str]) -> anyhow::Result<()> {
        self.say(why);
        println!("   $ dyngroups {}", args.join(" "));
        let exe = std::env::current_exe().context("finding the dyngroups binary")?;
        let status = std::process::Command::new(exe)
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .arg("--state")
            .arg(&self.state)
            .arg("--okta-url")
            .arg(&self.url)
            .arg("--color")
            .arg(if self.g.color() { "always" } else { "never" })
            .env("OKTA_API_TOKEN", DEMO_TOKEN)
            .env_remove("DYNGROUPS_CONFIG")
            .env_remove("DYNGROUPS_REV")
            .stdin(Stdio::null())
            .status()
            .with_context(|| format!("running dyngroups {}", args.join(" ")))?;
        // assess may exit 2 (changes pending) only with --detailed-exitcode, which the demo does not pass.
        if !status.success() {
            anyhow::bail!(
                "the demo stopped: `dyngroups {}` failed ({status})",
                args.join(" ")
            );
        }
        Ok(())
    }
}

fn first_user_with(emu: &Emulator, attr: &str, value: &str) -> Option<String> {
    emu.users()
        .into_iter()
        .filter(|u| u.status == crate::okta::model::UserStatus::Active)
        .filter(|u| u.profile.get(attr) == Some(&json!(value)))
        .min_by(|a, b| a.login().cmp(&b.login()))
        .map(|u| u.id)
}

/// A membership dyngroups made in a group it created, of a user other than `not`.
async fn a_managed_membership(
    emu: &Emulator,
    not: &str,
) -> anyhow::Result<(String, String, String)> {
    // By name and login, so the demo does the same thing on every run (ids are random).
    let mut groups = emu.groups();
    groups.sort_by(|a, b| a.profile.name.cmp(&b.profile.name));
    for g in groups {
        if !g.profile.name.starts_with("location_") {
            continue;
        }
        let mut members = emu.list_group_members(&g.id).await?;
        members.sort_by(|a, b| a.login().cmp(&b.login()));
        if let Some(u) = members.into_iter().find(|u| u.id != not) {
            return Ok((g.id, g.profile.name, u.id));
        }
    }
    anyhow::bail!("the demo org has no location group with members after the first sync")
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("dyngroups-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
