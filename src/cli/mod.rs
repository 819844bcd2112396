//! The command line (the public contract of SPEC "The command line"): global options, the command list,
//! logging set-up, and the one place that prints an error chain and picks the exit code.
//! Each command lives in its own file as an `Args` struct and a short `run`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

pub mod assess;
pub mod comment;
pub mod context;
pub mod daemon;
pub mod demo;
pub mod discover;
pub mod docs;
pub mod exit;
pub mod logging;
pub mod sim;
pub mod status;
pub mod sync;
pub mod test_connection;
pub mod validate;

pub use context::Globals;
pub use exit::Exit;

/// Output format of commands that show something. JSON carries `"format_version": 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Parser)]
#[command(
    name = "dyngroups",
    version,
    about = "Okta groups from user profile attributes, driven by GitOps",
    long_about = "dyngroups creates and maintains Okta groups from user profile attributes.\n\
One rule (profile.department, prefix department) yields one group per distinct value\n\
(department_engineering, ...) whose membership follows the attribute, under explicit policies.\n\
Rules live in a git repository; pull requests get an assess comment; merges and an hourly\n\
schedule apply the plan.",
    after_help = "Start here:  dyngroups demo      (runs everything against a local Okta emulator)\n\
Exit codes:  0 ok, 1 failure, 2 changes pending (with --detailed-exitcode), 3 stopped by a safety limit"
)]
pub struct Cli {
    #[command(flatten)]
    pub globals: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// The config repository: a folder (read as it is on disk unless --rev is given) or a git URL.
    #[arg(
        long,
        global = true,
        env = "DYNGROUPS_CONFIG",
        default_value = ".",
        value_name = "PATH|URL"
    )]
    pub config: String,
    /// Branch, tag or commit of the config repository to read.
    #[arg(long, global = true, env = "DYNGROUPS_REV", value_name = "REV")]
    pub rev: Option<String>,
    /// The sled store folder [default: a per-instance folder under the user's data directory].
    #[arg(long, global = true, env = "DYNGROUPS_STATE", value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Where clones of a config repository given as a URL are kept [default: $XDG_CACHE_HOME/dyngroups/repos
    /// or ~/.cache/dyngroups/repos].
    #[arg(long, global = true, env = "DYNGROUPS_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Okta base URL, overriding https://{domain} from the instance file (e.g. the emulator at http://127.0.0.1:8080).
    #[arg(long, global = true, env = "DYNGROUPS_OKTA_URL", value_name = "URL")]
    pub okta_url: Option<String>,
    /// Output format.
    #[arg(long, global = true, env = "DYNGROUPS_FORMAT", value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// More log output (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors: no summaries (output asked for with --format json is still written).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Log lines as text or JSON (on stderr).
    #[arg(long, global = true, env = "DYNGROUPS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Colours: auto (only on a terminal, and never with NO_COLOR set), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the config repository; every problem as file:line:col: message.
    Validate(validate::Args),
    /// List the user profile attributes Okta knows (base and custom), flagging self-editable ones.
    Discover(discover::Args),
    /// Reach Okta, check the credential and each permission dyngroups needs.
    TestConnection(test_connection::Args),
    /// Show what a sync would do, per rule; read-only.
    Assess(assess::Args),
    /// Save a plan to a file (apply it later with `apply`).
    Plan(sync::PlanArgs),
    /// Apply exactly a saved plan, refusing it if Okta or the config changed since.
    Apply(sync::ApplyArgs),
    /// Plan and apply now (the hourly job calls this).
    Sync(sync::SyncArgs),
    /// Last sync: time, status, managed groups, licensed users, applied commit; recent history.
    Status(status::StatusArgs),
    /// Managed groups: name, Okta id, member count, adopted, attribute values, rule.
    Groups(status::GroupsArgs),
    /// Back up, restore or re-initialise the store.
    #[command(subcommand)]
    State(status::StateCommand),
    /// Post or update the assess comment on a pull request (GITHUB_TOKEN).
    Comment(comment::Args),
    /// Sync at start and every interval, pulling the config repository each time; serves /healthz and /metrics.
    Daemon(daemon::Args),
    /// The Okta emulator: serve it, or generate a synthetic org.
    #[command(subcommand)]
    Sim(sim::SimCommand),
    /// The newcomer's first run: an Okta emulator with a demo org, then validate, assess, sync, change, sync.
    Demo(demo::Args),
    /// Shell completions (bash, zsh, fish, elvish, powershell), generated from the command line's definitions.
    Completions(docs::CompletionsArgs),
    /// The man page, generated from the same definitions as --help.
    Man(docs::ManArgs),
    /// Benchmarks: planner at 10k/100k/1M users, syncs at Okta's rate limits; prints a table and writes JSON.
    Bench(crate::bench::Args),
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    logging::init(&cli.globals);
    crate::tls::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return Exit::Failure.code();
        }
    };
    let globals = Globals::new(cli.globals.clone());
    let result = runtime.block_on(run(&globals, cli.command));
    exit::report(result)
}

async fn run(g: &Globals, command: Command) -> anyhow::Result<Exit> {
    match command {
        Command::Validate(a) => validate::run(g, &a).await,
        Command::Discover(a) => discover::run(g, &a).await,
        Command::TestConnection(a) => test_connection::run(g, &a).await,
        Command::Assess(a) => assess::run(g, &a).await,
        Command::Plan(a) => sync::plan(g, &a).await,
        Command::Apply(a) => sync::apply(g, &a).await,
        Command::Sync(a) => sync::sync(g, &a).await,
        Command::Status(a) => status::status(g, &a).await,
        Command::Groups(a) => status::groups(g, &a).await,
        Command::State(c) => status::state(g, c).await,
        Command::Comment(a) => comment::run(g, &a).await,
        Command::Daemon(a) => daemon::run(g, &a).await,
        Command::Sim(c) => sim::run(g, c).await,
        Command::Completions(a) => docs::completions(&a),
        Command::Man(a) => docs::man(&a),
        Command::Demo(a) => demo::run(g, &a).await,
        Command::Bench(a) => crate::bench::run(&a).await.map(|()| Exit::Success),
    }
}
