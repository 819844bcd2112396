//! Part 3, a corrupt or foreign store: truncated files, garbage bytes, another instance's store and a newer
//! format version. Each is a clear error naming the store folder and what to do, through the binary (`sync` and
//! `status`), and the store's files are byte for byte what they were: never a silent reset.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::common::{self, figure};
use crate::support;

/// The damage kinds (docs/reliability.md states this count).
pub const STORE_CASES: [&str; 5] = [
    "truncated",
    "garbage",
    "emptied-db-file",
    "other-instance",
    "newer-format",
];

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read store folder").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).expect("read store file"));
            }
        }
    }
    out
}

/// The largest file of a sled store (its log).
fn main_file(dir: &Path) -> PathBuf {
    snapshot(dir)
        .into_iter()
        .max_by_key(|(_, b)| b.len())
        .map(|(p, _)| p)
        .expect("a store file")
}

fn damage(case: &str, store_dir: &Path) {
    match case {
        "truncated" => {
            let f = main_file(store_dir);
            let b = std::fs::read(&f).expect("read");
            std::fs::write(&f, &b[..b.len() / 3]).expect("truncate");
        }
        "garbage" => {
            let f = main_file(store_dir);
            let len = std::fs::read(&f).expect("read").len();
            let junk: Vec<u8> = (0..len).map(|i| (i * 7919 % 251) as u8 ^ 0x5a).collect();
            std::fs::write(&f, junk).expect("garbage");
        }
        "emptied-db-file" => {
            std::fs::write(main_file(store_dir), b"").expect("empty");
        }
        "other-instance" => {
            // Made by the other instance's dyngroups (a different `name:` in its instance file).
            std::fs::remove_dir_all(store_dir).expect("remove");
            let s = dyngroups::store::Store::open_instance(store_dir, "another-instance")
                .expect("other store");
            s.flush().expect("flush");
        }
        "newer-format" => {
            let db = sled::open(store_dir).expect("sled");
            db.insert(dyngroups::store::keys::FORMAT_VERSION_KEY, b"99".to_vec())
                .expect("write");
            db.flush().expect("flush");
        }
        other => panic!("unknown case {other}"),
    }
}

/// The store's keys and values, read from a copy (opening a sled folder rewrites its housekeeping files, so
/// the comparison is of content, not bytes).
fn content(store_dir: &Path) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let copy = tempfile::tempdir().expect("tempdir");
    for (p, bytes) in snapshot(store_dir) {
        let to = copy.path().join(p.strip_prefix(store_dir).expect("inside"));
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::write(to, bytes).expect("copy");
    }
    let opened = std::panic::catch_unwind(|| sled::open(copy.path()));
    match opened {
        Ok(Ok(db)) => db
            .iter()
            .flatten()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect(),
        _ => BTreeMap::from([(b"<unreadable by sled>".to_vec(), vec![])]),
    }
}

#[derive(Debug)]
struct Outcome {
    /// Command -> its stderr, for the commands that failed.
    refused: BTreeMap<String, String>,
    /// Commands that succeeded on the damaged store.
    accepted: Vec<String>,
    /// The store's content changed (a reset or a partial rewrite).
    content_changed: bool,
    okta_groups_changed: bool,
}

/// A clean sync, the damage, then `sync` and `status` through the binary.
async fn run_case(case: &str) -> Outcome {
    let config_dir = tempfile::tempdir().expect("tempdir");
    common::write_config_repo(config_dir.path(), "enforce");
    let emu = support::emulator(&common::org_yaml(8));
    let server = support::serve(&emu).await;
    let state = tempfile::tempdir().expect("tempdir");
    let store_dir = state.path().join("store");
    {
        let cfg = common::load_config(config_dir.path());
        let store = common::store(&store_dir);
        common::sync(&emu, &store, &cfg).await.expect("clean sync");
        store.flush().expect("flush");
    }
    damage(case, &store_dir);
    let before = content(&store_dir);
    let groups_before = emu.groups();
    let (c, s, url) = (
        config_dir.path().to_path_buf(),
        store_dir.clone(),
        server.base_url.clone(),
    );
    let outs = tokio::task::spawn_blocking(move || {
        ["sync", "status"]
            .iter()
            .map(|cmd| {
                let out = support::bin()
                    .arg(cmd)
                    .arg("--config")
                    .arg(&c)
                    .arg("--state")
                    .arg(&s)
                    .args(["--okta-url", &url])
                    .env("OKTA_API_TOKEN", common::TOKEN)
                    .output()
                    .expect("run the binary");
                (cmd.to_string(), out)
            })
            .collect::<Vec<_>>()
    })
    .await
    .expect("runner");
    let mut o = Outcome {
        refused: BTreeMap::new(),
        accepted: vec![],
        content_changed: content(&store_dir) != before,
        okta_groups_changed: emu.groups() != groups_before,
    };
    for (cmd, out) in outs {
        if out.status.success() {
            o.accepted.push(cmd);
        } else {
            o.refused
                .insert(cmd, String::from_utf8_lossy(&out.stderr).to_string());
        }
    }
    for (cmd, err) in &o.refused {
        println!("{case}: `{cmd}` refused: {}", err.trim());
    }
    o
}

/// A refusal that names the store folder and says what to do.
fn assert_clear(case: &str, cmd: &str, err: &str) {
    assert!(
        err.contains("the store at "),
        "{case}: `{cmd}` does not name the store folder: {err}"
    );
    let hints = [
        "state import",
        "state reinit",
        "upgrade dyngroups",
        "--state folder per instance",
    ];
    assert!(
        hints.iter().any(|h| err.contains(h)),
        "{case}: `{cmd}` does not say what to do: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_format_store_is_refused_by_every_command_and_left_as_it_was() {
    let o = run_case("newer-format").await;
    assert!(o.accepted.is_empty(), "{o:?}");
    for (cmd, err) in &o.refused {
        assert_clear("newer-format", cmd, err);
        assert!(err.contains("upgrade dyngroups"), "{err}");
    }
    assert!(!o.content_changed && !o.okta_groups_changed, "{o:?}");
    figure("store", "newer_format_refusals", o.refused.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_instances_store_is_refused_by_sync_and_left_as_it_was() {
    let o = run_case("other-instance").await;
    let err = o
        .refused
        .get("sync")
        .unwrap_or_else(|| panic!("sync accepted another instance's store: {o:?}"));
    assert_clear("other-instance", "sync", err);
    assert!(err.contains("another-instance"), "{err}");
    assert!(!o.content_changed && !o.okta_groups_changed, "{o:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_instances_store_is_refused_by_status() {
    let o = run_case("other-instance").await;
    assert!(
        o.accepted.is_empty(),
        "status accepted another instance's store: {o:?}"
    );
}

/// Garbage or an emptied log: Okta is protected (the unknown-store guard refuses the sync), whatever the store does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_or_emptied_store_never_lets_sync_change_okta() {
    for case in ["garbage", "emptied-db-file"] {
        let o = run_case(case).await;
        let err = o
            .refused
            .get("sync")
            .unwrap_or_else(|| panic!("{case}: sync accepted: {o:?}"));
        assert_clear(case, "sync", err);
        assert!(!o.okta_groups_changed, "{case}: {o:?}");
    }
    // A truncated log loses the latest records silently (the bug below), but Okta's groups stay as they were.
    let o = run_case("truncated").await;
    assert!(!o.okta_groups_changed, "truncated: {o:?}");
    println!(
        "truncated: sync accepted: {}",
        o.accepted.contains(&"sync".to_string())
    );
}

/// The store itself must say it is damaged and keep its files, never re-initialise them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_store_is_refused_as_damaged_and_never_reset() {
    let mut bad = vec![];
    for case in ["truncated", "garbage", "emptied-db-file"] {
        let o = run_case(case).await;
        if !o.accepted.is_empty() || o.content_changed {
            bad.push(format!(
                "{case}: accepted by {:?}, content changed: {}",
                o.accepted, o.content_changed
            ));
        }
        for (cmd, err) in &o.refused {
            if !err.contains("damaged") {
                bad.push(format!(
                    "{case}: `{cmd}` does not say the store is damaged: {err}"
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn the_cases_are_all_exercised() {
    // Every damage kind is used by a test above (the doc states this list).
    assert_eq!(STORE_CASES.len(), 5);
    for case in STORE_CASES {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = dir.path().join("store");
        common::store(&store).flush().expect("flush");
        damage(case, &store);
    }
}
