//! Shared context of the reliability suite: a small synthetic org, a config repository on disk, clients with
//! test-sized retry timings, and the convergence invariants every part checks (fresh plan empty, no duplicate
//! group names, the store agrees with Okta, no lost record).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use dyngroups::config::model::Config;
use dyngroups::okta::api::OktaApi;
use dyngroups::okta::client::{ClientOptions, Credentials, OktaClient, RetryPolicy};
use dyngroups::okta::model::GroupType;
use dyngroups::reconcile::{self, ReconcileError, SyncOptions, SyncReport};
use dyngroups::secret::Secret;
use dyngroups::sim::Emulator;
use dyngroups::store::Store;

/// The token every seeded org accepts with every scope.
pub const TOKEN: &str = "emulator-token";
/// The read-only token seeded next to it.
pub const READ_ONLY_TOKEN: &str = "read-only-token";
/// Rule prefixes of [`write_config_repo`].
pub const PREFIXES: [&str; 3] = ["department", "location", "title"];
pub const INSTANCE: &str = "reliability";

const DEPARTMENTS: [&str; 4] = ["Engineering", "Sales", "Support", "Finance"];
const CITIES: [&str; 3] = ["Lisbon", "Berlin", "Austin"];
const TITLES: [&str; 3] = ["Engineer", "Manager", "Analyst"];

/// A deterministic org of `users` ACTIVE users (plus one DEPROVISIONED) with department, city and title,
/// a hand-made group and the two tokens (full and read-only).
pub fn org_yaml(users: usize) -> String {
    let mut s = String::from("rng_seed: 7\nusers:\n");
    for i in 0..users {
        s.push_str(&format!(
            "  - profile: {{login: u{i}@example.com, email: u{i}@example.com, firstName: First{i}, lastName: Last{i}, \
             department: {}, city: {}, title: {}}}\n",
            DEPARTMENTS[i % 4],
            CITIES[(i / 2) % 3],
            TITLES[(i / 3) % 3]
        ));
    }
    s.push_str(
        "  - status: DEPROVISIONED\n    profile: {login: gone@example.com, email: gone@example.com, firstName: Gone, \
         lastName: Away, department: Engineering, city: Lisbon, title: Engineer}\n",
    );
    s.push_str(
        "groups:\n  - profile: {name: hand_made, description: made by hand}\n    members: [u0@example.com]\n",
    );
    s.push_str(
        "tokens:\n  - token: emulator-token\n    scopes: [okta.users.read, okta.users.manage, okta.groups.read, \
         okta.groups.manage, okta.schemas.read, okta.logs.read]\n  - token: read-only-token\n    scopes: \
         [okta.users.read, okta.groups.read, okta.schemas.read]\n",
    );
    s
}

/// Writes an instance file and a rules file (3 rules) to `dir`. `membership`: Okta membership policy name;
/// empty groups are deleted, the failsafe is opened wide (the suite tests faults, not the failsafe).
pub fn write_config_repo(dir: &Path, membership: &str) {
    std::fs::create_dir_all(dir.join("rules")).expect("rules folder");
    std::fs::write(
        dir.join("dyngroups.yaml"),
        format!(
            "name: {INSTANCE}\nenabled: true\nokta:\n  domain: example.okta.com\n  credential:\n    api_token_env: OKTA_API_TOKEN\n\
             policies:\n  name_separator: underscore\n  empty_groups: delete\n  membership: {membership}\n  collision: skip\n\
             safety:\n  max_group_removal_percent: 100\n  min_group_size: 1\n  max_total_removal_percent: 100\n  max_group_deletes: 100\n"
        ),
    )
    .expect("instance file");
    std::fs::write(
        dir.join("rules/people.yaml"),
        concat!(
            "rules:\n",
            "  - attribute: profile.department\n    prefix: department\n",
            "  - attribute: profile.city\n    prefix: location\n",
            "  - attribute: profile.title\n    prefix: title\n",
        ),
    )
    .expect("rules file");
}

/// Reads and loads a config repository folder (panics with the diagnostics: test input).
pub fn load_config(dir: &Path) -> Config {
    let tree = dyngroups::source::read(&dir.to_string_lossy(), None, None).expect("config folder");
    match dyngroups::config::load(&tree) {
        Ok(c) => c,
        Err(d) => panic!("test config is invalid:\n{d}"),
    }
}

/// A config folder + loaded config, in a tempdir.
pub fn config(membership: &str) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().expect("tempdir");
    write_config_repo(dir.path(), membership);
    let cfg = load_config(dir.path());
    (dir, cfg)
}

/// A client with retry timings scaled down for tests (the emulator's window is `window`).
pub fn client(base_url: &str, token: &str, window: Duration, max_concurrency: usize) -> OktaClient {
    let options = ClientOptions {
        max_concurrency,
        retry: RetryPolicy {
            max_attempts: 5,
            max_rate_limit_waits: 8,
            base_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(40),
            reset_margin: Duration::from_millis(5),
            max_reset_wait: window,
            concurrency_backoff: Duration::from_millis(5),
        },
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        rate_window: window,
        users_page_limit: Some(10),
        members_page_limit: Some(10),
        groups_page_limit: Some(10),
        ..ClientOptions::default()
    };
    match OktaClient::new(base_url, Credentials::ApiToken(Secret::new(token)), options) {
        Ok(c) => c,
        Err(e) => panic!("client: {e}"),
    }
}

pub fn store(dir: &Path) -> Store {
    match Store::open_instance(dir, INSTANCE) {
        Ok(s) => s,
        Err(e) => panic!("store: {e}"),
    }
}

pub async fn sync(
    api: &dyn OktaApi,
    store: &Store,
    cfg: &Config,
) -> Result<SyncReport, ReconcileError> {
    reconcile::sync(api, store, cfg, &SyncOptions::default()).await
}

/// What [`check_converged`] found wrong, empty when the org, the plan and the store agree.
pub async fn violations(emu: &Emulator, store: &Store, cfg: &Config) -> Vec<String> {
    let mut bad = Vec::new();
    let remembered = match store.remembered() {
        Ok(r) => r,
        Err(e) => return vec![format!("store unreadable: {e}")],
    };
    match dyngroups::okta::observe::observe(emu, cfg, &remembered).await {
        Ok(org) => {
            let plan = dyngroups::plan::plan(cfg, &org, &remembered);
            if !plan.actions.is_empty() {
                bad.push(format!("fresh plan not empty: {:?}", plan.actions));
            }
        }
        Err(e) => bad.push(format!("observe: {e}")),
    }
    let groups = emu.groups();
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for g in &groups {
        *names.entry(g.profile.name.as_str()).or_default() += 1;
    }
    for (n, c) in &names {
        if *c > 1 {
            bad.push(format!("duplicate group {n:?} x{c}"));
        }
    }
    let stored = store.groups().unwrap_or_default();
    let stored_ids: BTreeSet<&str> = stored.iter().map(|g| g.id.as_str()).collect();
    for sg in &stored {
        match groups.iter().find(|g| g.id == sg.id) {
            None => bad.push(format!(
                "store records {} ({}) missing in Okta",
                sg.name, sg.id
            )),
            Some(g) if g.profile.name != sg.name => bad.push(format!(
                "store name {} != Okta name {}",
                sg.name, g.profile.name
            )),
            Some(g) => {
                let okta: BTreeSet<String> = match OktaApi::list_group_members(emu, &g.id).await {
                    Ok(us) => us.into_iter().map(|u| u.id).collect(),
                    Err(e) => {
                        bad.push(format!("members of {}: {e}", g.profile.name));
                        continue;
                    }
                };
                let ours: BTreeSet<String> = store
                    .members(&sg.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|u| u.to_string())
                    .collect();
                if okta != ours {
                    bad.push(format!(
                        "members of {} differ: okta {okta:?} store {ours:?}",
                        sg.name
                    ));
                }
            }
        }
    }
    for g in &groups {
        if g.group_type == GroupType::OktaGroup
            && PREFIXES
                .iter()
                .any(|p| g.profile.name.starts_with(&format!("{p}_")))
            && !stored_ids.contains(g.id.as_str())
        {
            bad.push(format!(
                "lost record: {} ({}) is in Okta, not in the store",
                g.profile.name, g.id
            ));
        }
    }
    bad
}

/// Counts the lost records alone (a group with our computed name in Okta, not in the store).
pub fn lost_records(emu: &Emulator, store: &Store) -> usize {
    let stored: BTreeSet<String> = store
        .groups()
        .unwrap_or_default()
        .into_iter()
        .map(|g| g.id)
        .collect();
    emu.groups()
        .iter()
        .filter(|g| {
            g.group_type == GroupType::OktaGroup
                && PREFIXES
                    .iter()
                    .any(|p| g.profile.name.starts_with(&format!("{p}_")))
                && !stored.contains(&g.id)
        })
        .count()
}

/// Groups whose name appears more than once in Okta (extra copies counted).
pub fn duplicates(emu: &Emulator) -> usize {
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for g in emu.groups() {
        *names.entry(g.profile.name).or_default() += 1;
    }
    names.values().map(|c| c - 1).sum()
}

/// Appends `key=value` lines to the suite's figures (printed; `DYNGROUPS_RELIABILITY_FIGURES` names a file to
/// collect them in, for docs/reliability.md).
pub fn figure(part: &str, key: &str, value: impl std::fmt::Display) {
    let line = format!("reliability figure: {part}.{key} = {value}");
    println!("{line}");
    if let Ok(path) = std::env::var("DYNGROUPS_RELIABILITY_FIGURES") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{part}.{key} = {value}");
        }
    }
}
