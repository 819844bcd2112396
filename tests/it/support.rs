//! Shared test context: emulator start-up, temp dirs, the CLI runner, paths into ../shared.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use dyngroups::sim::Emulator;
use dyngroups::sim::server::{self, RunningServer, ServerOptions};

/// An in-memory emulator from a YAML seed; panics with the seed problem (tests only).
pub fn emulator(yaml: &str) -> Emulator {
    match Emulator::from_yaml(yaml) {
        Ok(e) => e,
        Err(e) => panic!("test seed is invalid: {e}"),
    }
}

/// Serves an emulator over HTTP on 127.0.0.1:<free port> with the Unlimited profile.
/// Must be called inside a tokio runtime; the server stops when the handle is dropped.
pub async fn serve(emu: &Emulator) -> RunningServer {
    serve_with(emu, ServerOptions::default()).await
}

/// Same with explicit options (rate profile, time scale, concurrency cap...).
pub async fn serve_with(emu: &Emulator, options: ServerOptions) -> RunningServer {
    dyngroups::tls::install_crypto_provider();
    match server::spawn(emu.clone(), options).await {
        Ok(s) => s,
        Err(e) => panic!("could not start the emulator: {e}"),
    }
}

/// `../shared` next to the project, or `None` (callers print "skipping: ../shared not found (...)").
pub fn shared_dir() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    p.is_dir().then_some(p)
}

/// The dyngroups binary under test.
pub fn bin() -> assert_cmd::Command {
    match assert_cmd::Command::cargo_bin("dyngroups") {
        Ok(c) => c,
        Err(e) => panic!("dyngroups binary not built: {e}"),
    }
}

/// A small org most tests can share: three users (one DEPROVISIONED), an OKTA_GROUP, an APP_GROUP
/// and the BUILT_IN Everyone group.
pub const SMALL_ORG: &str = r#"
users:
  - profile: {login: ana@example.com, email: ana@example.com, firstName: Ana, lastName: Ito,
              department: Engineering, city: Zürich, skills: [rust, go]}
  - profile: {login: bo@example.com, email: bo@example.com, firstName: Bo, lastName: Li,
              department: "Sales & Marketing", city: São Paulo, skills: [excel]}
  - status: DEPROVISIONED
    profile: {login: cy@example.com, email: cy@example.com, firstName: Cy, lastName: Ng,
              department: Engineering, city: Kraków}
groups:
  - profile: {name: department_sales, description: made by hand}
    members: [bo@example.com]
  - type: APP_GROUP
    profile: {name: location_zurich, description: imported}
    members: [ana@example.com]
  - type: BUILT_IN
    profile: {name: Everyone, description: All users in your organization}
    members: [ana@example.com, bo@example.com, cy@example.com]
tokens:
  - token: emulator-token
    scopes: [okta.users.read, okta.users.manage, okta.groups.read, okta.groups.manage,
             okta.schemas.read, okta.logs.read]
  - token: read-only-token
    scopes: [okta.users.read, okta.groups.read, okta.schemas.read]
"#;
