//! `dyngroups sim serve` and `dyngroups sim generate`: the Okta emulator from the command line.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};

use crate::sim::Emulator;
use crate::sim::generate;
use crate::sim::ratelimit::RateProfile;
use crate::sim::server::{self, ServerOptions};

use super::{Exit, Globals};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    /// Okta's Workforce per-minute limits, 50 % per token, 75 requests in flight.
    Workforce,
    /// No practical limits (headers still sent).
    Unlimited,
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Run the Okta emulator over HTTP (Ctrl-C or SIGTERM stops it).
    ///
    /// Clients use the printed URL as the Okta org URL and the token "emulator-token" unless the seed
    /// declares tokens. Faults and counters: GET/PUT/DELETE <url>/_sim/faults, GET <url>/_sim/counters.
    #[command(
        after_help = "Example:\n  dyngroups sim serve --seed examples/demo-org.yaml --listen 127.0.0.1:8080\n  # then: OKTA_API_TOKEN=emulator-token dyngroups --config examples/config --okta-url http://127.0.0.1:8080 assess"
    )]
    Serve {
        /// The seed file (YAML or JSON): users, groups, tokens, OAuth clients, custom schema.
        #[arg(long, value_name = "FILE")]
        seed: Option<PathBuf>,
        /// Address to listen on.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Rate-limit profile.
        #[arg(long, value_enum, default_value_t = Profile::Workforce)]
        profile: Profile,
        /// How many times faster rate-limit minutes pass (60 = a minute per second).
        /// Date and X-Rate-Limit-Reset stay real epoch seconds: wait Reset - Date + 1 s, as Okta's SDKs do.
        #[arg(long, value_name = "X", default_value_t = 1.0)]
        time_scale: f64,
    },
    /// Write a realistic synthetic org as a seed file (JSON).
    #[command(
        after_help = "Example:\n  dyngroups sim generate --users 100000 --seed-rng 7 --out org.json"
    )]
    Generate {
        /// Number of users.
        #[arg(long, value_name = "N")]
        users: usize,
        /// Random seed: the same seed gives the same org.
        #[arg(long, value_name = "S", default_value_t = 1)]
        seed_rng: u64,
        /// Output file [default: stdout].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

pub async fn run(_g: &Globals, c: SimCommand) -> anyhow::Result<Exit> {
    match c {
        SimCommand::Serve {
            seed,
            listen,
            profile,
            time_scale,
        } => {
            anyhow::ensure!(
                time_scale.is_finite() && time_scale > 0.0,
                "--time-scale must be a positive number, got {time_scale}"
            );
            let emu = match &seed {
                Some(p) => Emulator::from_seed_file(p)
                    .with_context(|| format!("loading the emulator seed {}", p.display()))?,
                None => Emulator::empty(),
            };
            let options = ServerOptions {
                profile: match profile {
                    Profile::Workforce => RateProfile::Workforce,
                    Profile::Unlimited => RateProfile::Unlimited,
                },
                time_scale,
                listen: Some(listen),
                ..Default::default()
            };
            let running = server::spawn(emu.clone(), options)
                .await
                .with_context(|| format!("starting the emulator on {listen}"))?;
            let (users, groups) = (emu.users().len(), emu.groups().len());
            eprintln!(
                "Okta emulator listening on {} ({users} users, {groups} groups, profile {profile:?}, time scale {time_scale}); Ctrl-C or SIGTERM stops it",
                running.base_url
            );
            println!("{}", running.base_url);
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .context("listening for SIGTERM")?;
            tokio::select! {
                r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C")?,
                _ = term.recv() => {}
            }
            running.shutdown();
            Ok(Exit::Success)
        }
        SimCommand::Generate {
            users,
            seed_rng,
            out,
        } => {
            let seed = generate::generate(users, seed_rng);
            match &out {
                Some(p) => {
                    let f = std::fs::File::create(p)
                        .with_context(|| format!("creating {}", p.display()))?;
                    let mut w = std::io::BufWriter::new(f);
                    generate::write_json(&seed, &mut w)
                        .with_context(|| format!("writing {}", p.display()))?;
                    w.flush()
                        .with_context(|| format!("writing {}", p.display()))?;
                    eprintln!(
                        "wrote {} users and {} groups to {}",
                        seed.users.len(),
                        seed.groups.len(),
                        p.display()
                    );
                }
                None => {
                    let stdout = std::io::stdout();
                    let mut w = std::io::BufWriter::new(stdout.lock());
                    generate::write_json(&seed, &mut w).context("writing the seed to stdout")?;
                    w.flush().context("writing the seed to stdout")?;
                }
            }
            Ok(Exit::Success)
        }
    }
}
