//! Integration tests: config (issue 4). The broken-config corpus (tests/fixtures/configs/<case>/, each with its
//! exact expected output as an insta snapshot), the examples against schema/ (jsonschema) and `validate`,
//! hostile input never panicking (proptest), and reading real git repositories made here with the `git` CLI:
//! by path, at a revision (branch, tag, commit), by file:// URL with clone then fetch, and changed files.

use std::path::{Path, PathBuf};
use std::process::Command;

use dyngroups::config::{self, Diagnostics};
use dyngroups::source::{self, Change, ChangedFile, ConfigTree, SourceError};
use proptest::prelude::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn examples() -> PathBuf {
    root().join("examples/config")
}

fn load_dir(dir: &Path) -> Result<dyngroups::config::model::Config, Diagnostics> {
    let tree = source::read(dir.to_str().unwrap(), None, None).expect("reading a fixture folder");
    config::load(&tree)
}

// ---- the corpus ------------------------------------------------------------------------------------------

#[test]
fn broken_config_corpus_matches_snapshots() {
    let dir = root().join("tests/fixtures/configs");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "the corpus has {} cases", cases.len());
    for case in cases {
        let name = case.file_name().unwrap().to_str().unwrap().to_string();
        let diags = load_dir(&case).expect_err(&format!("case {name} must not validate"));
        // Every problem names a file, with a position.
        for d in diags.iter() {
            assert!(
                !d.file.is_empty() && d.line >= 1 && d.column >= 1,
                "{name}: {d}"
            );
        }
        insta::assert_snapshot!(format!("corpus_{name}"), diags.to_string());
    }
}

#[test]
fn secrets_never_appear_in_messages() {
    for case in ["secret_api_token", "secret_private_key"] {
        let dir = root().join("tests/fixtures/configs").join(case);
        let text = std::fs::read_to_string(dir.join("dyngroups.yaml")).unwrap();
        let out = load_dir(&dir).unwrap_err().to_string();
        assert!(
            out.contains("never put secrets in the config repository"),
            "{out}"
        );
        assert!(
            !out.contains("Ab3dEf6hIj9k") && !out.contains("MIIEvQIBADAN"),
            "{out}"
        );
        assert!(text.contains("Ab3dEf6hIj9k") || text.contains("MIIEvQIBADAN"));
    }
}

#[test]
fn huge_files_are_refused_without_being_parsed() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        examples().join("dyngroups.yaml"),
        tmp.path().join("dyngroups.yaml"),
    )
    .unwrap();
    std::fs::create_dir(tmp.path().join("rules")).unwrap();
    let big = format!("rules:\n{}", "# padding\n".repeat(120_000));
    std::fs::write(tmp.path().join("rules/big.yaml"), big).unwrap();
    let tree = source::read(tmp.path().to_str().unwrap(), None, None).unwrap();
    assert!(
        !tree.files.contains_key("rules/big.yaml"),
        "the big file must not be loaded"
    );
    let out = config::load(&tree).unwrap_err().to_string();
    assert_eq!(
        out,
        "rules/big.yaml:1:1: file is 1200007 bytes; config files are limited to 1048576 bytes (1 MiB): split it or remove what is not config"
    );
    // The same limit holds for bytes handed to load directly.
    let mut tree = ConfigTree::default();
    tree.files
        .insert("dyngroups.yaml".into(), vec![b'#'; 2 * 1024 * 1024]);
    assert!(
        config::load(&tree)
            .unwrap_err()
            .to_string()
            .contains("limited to 1048576 bytes")
    );
}

// ---- the examples ----------------------------------------------------------------------------------------

#[test]
fn examples_validate_and_say_what_they_hold() {
    let cfg =
        load_dir(&examples()).unwrap_or_else(|d| panic!("examples/config must validate:\n{d}"));
    assert_eq!(cfg.instance.okta_domain, "acme-demo.okta.com");
    let ids: Vec<(String, bool)> = cfg.rules.iter().map(|r| (r.id(), r.enabled)).collect();
    assert_eq!(
        ids,
        vec![
            ("profile.costCenter:costcenter".to_string(), true),
            ("profile.skills:skill".to_string(), false),
            ("profile.department:department".to_string(), true),
            ("profile.city:location".to_string(), true),
        ]
    );
    let dept = &cfg.rules[2];
    assert_eq!(dept.aliases["Engineering"], vec!["Eng", "ENG"]);
    assert_eq!(
        (
            dept.origin.file.as_str(),
            dept.origin.line,
            dept.origin.column
        ),
        ("rules/people.yaml", 6, 5)
    );
    assert_eq!(cfg.commit, None);
}

fn yaml_as_json(path: &Path) -> serde_json::Value {
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn examples_validate_against_the_committed_json_schema() {
    let schema = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(root().join("schema").join(name)).unwrap())
            .unwrap()
    };
    let instance = jsonschema::validator_for(&schema("instance.schema.json")).unwrap();
    let rules = jsonschema::validator_for(&schema("rules.schema.json")).unwrap();
    let inst_file = examples().join("dyngroups.yaml");
    let errors: Vec<String> = instance
        .iter_errors(&yaml_as_json(&inst_file))
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let mut n = 0;
    for e in std::fs::read_dir(examples().join("rules")).unwrap() {
        let p = e.unwrap().path();
        let errors: Vec<String> = rules
            .iter_errors(&yaml_as_json(&p))
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", p.display());
        n += 1;
    }
    assert!(n >= 2);
    // The schema is strict: a broken file from the corpus fails it too.
    let broken =
        yaml_as_json(&root().join("tests/fixtures/configs/unknown_keys/rules/people.yaml"));
    assert!(!rules.is_valid(&broken));
    // And every example file tells editors where its schema is.
    let text = std::fs::read_to_string(&inst_file).unwrap();
    assert!(text.starts_with("# yaml-language-server: $schema=../../schema/instance.schema.json"));
}

#[test]
fn validate_command_passes_on_examples_and_lists_problems_otherwise() {
    let ok = assert_cmd::Command::cargo_bin("dyngroups")
        .unwrap()
        .args(["validate", "--config"])
        .arg(examples())
        .env_remove("DYNGROUPS_REV")
        .output()
        .unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("4 rules (3 enabled)"));

    let case = root().join("tests/fixtures/configs/bad_enums");
    let text = assert_cmd::Command::cargo_bin("dyngroups")
        .unwrap()
        .args(["validate", "--config"])
        .arg(&case)
        .env_remove("DYNGROUPS_REV")
        .env_remove("DYNGROUPS_FORMAT")
        .output()
        .unwrap();
    assert_eq!(text.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&text.stdout);
    // stdout holds only `file:line:col: message` lines (for editors and CI problem matchers).
    assert_eq!(stdout.lines().count(), 4, "{stdout}");
    assert!(
        stdout.lines().all(|l| {
            let mut parts = l.splitn(4, ':');
            let (f, line, col) = (parts.next(), parts.next(), parts.next());
            f == Some("dyngroups.yaml")
                && line.is_some_and(|x| x.parse::<u32>().is_ok())
                && col.is_some_and(|x| x.parse::<u32>().is_ok())
                && parts.next().is_some_and(|m| m.starts_with(' '))
        }),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&text.stderr).contains("4 problems in"));
    let bad = assert_cmd::Command::cargo_bin("dyngroups")
        .unwrap()
        .args(["validate", "--format", "json", "--config"])
        .arg(&case)
        .env_remove("DYNGROUPS_REV")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["valid"], false);
    assert_eq!(json["problems"].as_array().unwrap().len(), 4);
    assert_eq!(json["problems"][0]["file"], "dyngroups.yaml");
    assert_eq!(json["problems"][0]["line"], 4);
}

// ---- hostile input never panics ---------------------------------------------------------------------------

fn check_never_panics(instance: &[u8], rules: &[u8]) {
    let mut tree = ConfigTree::default();
    tree.files
        .insert("dyngroups.yaml".into(), instance.to_vec());
    tree.files.insert("rules/r.yaml".into(), rules.to_vec());
    if let Err(d) = config::load(&tree) {
        assert!(!d.is_empty());
        for x in d.iter() {
            assert!(
                x.file == "dyngroups.yaml" || x.file == "rules/r.yaml",
                "{x}"
            );
            assert!(x.line >= 1 && x.column >= 1 && !x.message.is_empty());
        }
    }
}

fn yaml_fragment() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("okta"),
        Just("domain"),
        Just("credential"),
        Just("api_token_env"),
        Just("policies"),
        Just("membership"),
        Just("rules"),
        Just("attribute"),
        Just("prefix"),
        Just("aliases"),
        Just("enabled"),
        Just("description"),
        Just("x"),
        Just("&a"),
        Just("*a"),
        Just("? "),
        Just("- "),
        Just("<<"),
    ];
    let value = prop_oneof![
        Just("profile.department".to_string()),
        Just("dept".to_string()),
        Just("[".to_string()),
        Just("{a: *a}".to_string()),
        Just("&a [1, 2]".to_string()),
        Just("'".to_string()),
        Just("\"x".to_string()),
        Just("|".to_string()),
        Just("!!binary AA==".to_string()),
        Just("~".to_string()),
        Just("-1e999".to_string()),
        "[a-zA-Z0-9 _.{}:,-]{0,12}".prop_map(|s| s),
    ];
    prop::collection::vec((0usize..6, key, value), 0..25).prop_map(|items| {
        items
            .into_iter()
            .map(|(indent, k, v)| format!("{}{k}: {v}\n", "  ".repeat(indent)))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(a in prop::collection::vec(any::<u8>(), 0..400), b in prop::collection::vec(any::<u8>(), 0..400)) {
        check_never_panics(&a, &b);
    }

    #[test]
    fn random_yaml_never_panics(a in yaml_fragment(), b in yaml_fragment()) {
        check_never_panics(a.as_bytes(), format!("rules:\n{b}").as_bytes());
        check_never_panics(format!("okta:\n  domain: a.okta.com\n{a}").as_bytes(), b.as_bytes());
    }
}

// ---- git -------------------------------------------------------------------------------------------------

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "tag.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("the git CLI is needed for these tests");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A repository whose history is: v1 (tag) = the examples; main adds rules/extra.yaml;
/// branch `feature` (from v1) changes people.yaml and deletes finance.yaml.
struct Repo {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    v1: String,
    main: String,
    feature: String,
}

fn make_repo(subdir: &str) -> Repo {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("origin");
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q", "-b", "main"]);
    let cfg = if subdir.is_empty() {
        dir.clone()
    } else {
        dir.join(subdir)
    };
    for rel in ["dyngroups.yaml", "rules/people.yaml", "rules/finance.yaml"] {
        write(
            &cfg,
            rel,
            &std::fs::read_to_string(examples().join(rel)).unwrap(),
        );
    }
    write(&dir, "README.md", "not config\n");
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "v1"]);
    git(&dir, &["tag", "v1"]);
    let v1 = git(&dir, &["rev-parse", "HEAD"]);
    git(&dir, &["checkout", "-q", "-b", "feature"]);
    let people = std::fs::read_to_string(cfg.join("rules/people.yaml")).unwrap();
    write(
        &cfg,
        "rules/people.yaml",
        &people.replace("prefix: location", "prefix: office"),
    );
    std::fs::remove_file(cfg.join("rules/finance.yaml")).unwrap();
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "feature"]);
    let feature = git(&dir, &["rev-parse", "HEAD"]);
    git(&dir, &["checkout", "-q", "main"]);
    write(
        &cfg,
        "rules/extra.yaml",
        "rules:\n  - attribute: profile.title\n    prefix: title\n",
    );
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "extra"]);
    let main = git(&dir, &["rev-parse", "HEAD"]);
    Repo {
        _tmp: tmp,
        dir,
        v1,
        main,
        feature,
    }
}

fn prefixes(tree: &ConfigTree) -> Vec<String> {
    config::load(tree)
        .unwrap()
        .rules
        .into_iter()
        .map(|r| r.prefix)
        .collect()
}

#[test]
fn local_repository_read_on_disk_and_at_revisions() {
    let r = make_repo("");
    let spec = r.dir.to_str().unwrap();
    // On disk: the work tree as it is (main), no commit.
    let disk = source::read(spec, None, None).unwrap();
    assert_eq!(disk.commit, None);
    assert!(disk.files.contains_key("rules/extra.yaml") && !disk.files.contains_key("README.md"));
    // A tag, a branch, a commit.
    let at_tag = source::read(spec, Some("v1"), None).unwrap();
    assert_eq!(at_tag.commit.as_deref(), Some(r.v1.as_str()));
    assert_eq!(
        at_tag.files.keys().collect::<Vec<_>>(),
        ["dyngroups.yaml", "rules/finance.yaml", "rules/people.yaml"]
    );
    let at_branch = source::read(spec, Some("feature"), None).unwrap();
    assert_eq!(at_branch.commit.as_deref(), Some(r.feature.as_str()));
    assert_eq!(prefixes(&at_branch), ["department", "office"]);
    let at_commit = source::read(spec, Some(&r.main[..12]), None).unwrap();
    assert_eq!(at_commit.commit.as_deref(), Some(r.main.as_str()));
    assert_eq!(
        config::load(&at_commit).unwrap().commit.as_deref(),
        Some(r.main.as_str())
    );
    // A revision that does not exist.
    let err = source::read(spec, Some("nope"), None).unwrap_err();
    assert!(matches!(err, SourceError::RevisionNotFound { .. }), "{err}");
    assert!(err.to_string().contains("revision `nope` was not found"));
}

#[test]
fn a_folder_inside_a_repository_is_read_at_a_revision() {
    let r = make_repo("infra/dyngroups");
    let spec = r.dir.join("infra/dyngroups");
    let tree = source::read(spec.to_str().unwrap(), Some("v1"), None).unwrap();
    assert_eq!(
        tree.files.keys().collect::<Vec<_>>(),
        ["dyngroups.yaml", "rules/finance.yaml", "rules/people.yaml"]
    );
    let changed = source::changed_files(spec.to_str().unwrap(), "v1", "feature").unwrap();
    assert_eq!(
        changed,
        vec![
            ChangedFile {
                path: "rules/finance.yaml".into(),
                change: Change::Deleted
            },
            ChangedFile {
                path: "rules/people.yaml".into(),
                change: Change::Modified
            },
        ]
    );
}

#[test]
fn changed_files_between_two_revisions() {
    let r = make_repo("");
    let spec = r.dir.to_str().unwrap();
    let changed = source::changed_files(spec, "v1", "main").unwrap();
    assert_eq!(
        changed,
        vec![ChangedFile {
            path: "rules/extra.yaml".into(),
            change: Change::Added
        }]
    );
    let changed = source::changed_files(spec, "main", "feature").unwrap();
    let got: Vec<(&str, Change)> = changed
        .iter()
        .map(|c| (c.path.as_str(), c.change))
        .collect();
    assert_eq!(
        got,
        [
            ("rules/extra.yaml", Change::Deleted),
            ("rules/finance.yaml", Change::Deleted),
            ("rules/people.yaml", Change::Modified)
        ]
    );
}

#[test]
fn url_is_cloned_once_then_fetched() {
    let r = make_repo("");
    let cache = tempfile::tempdir().unwrap();
    let url = format!("file://{}", r.dir.display());
    let first = source::read(&url, None, Some(cache.path())).unwrap();
    assert_eq!(first.commit.as_deref(), Some(r.main.as_str()));
    assert!(first.origin.starts_with("file://"));
    let clones: Vec<_> = std::fs::read_dir(cache.path()).unwrap().collect();
    assert_eq!(clones.len(), 1, "one cached clone");

    // A new commit upstream: the next read fetches and sees it.
    write(
        &r.dir,
        "rules/extra.yaml",
        "rules:\n  - attribute: profile.title\n    prefix: jobtitle\n",
    );
    git(&r.dir, &["commit", "-q", "-am", "rename prefix"]);
    let newer = git(&r.dir, &["rev-parse", "HEAD"]);
    let second = source::read(&url, None, Some(cache.path())).unwrap();
    assert_eq!(second.commit.as_deref(), Some(newer.as_str()));
    assert!(prefixes(&second).contains(&"jobtitle".to_string()));
    assert_eq!(
        std::fs::read_dir(cache.path()).unwrap().count(),
        1,
        "still one clone"
    );

    // A branch of the remote, a tag, a commit, and the changes between two of them.
    let feature = source::read(&url, Some("feature"), Some(cache.path())).unwrap();
    assert_eq!(feature.commit.as_deref(), Some(r.feature.as_str()));
    let tag = source::read(&url, Some("v1"), Some(cache.path())).unwrap();
    assert_eq!(tag.commit.as_deref(), Some(r.v1.as_str()));
    let changed = source::changed_files_in(&url, "v1", "feature", Some(cache.path())).unwrap();
    assert_eq!(changed.len(), 2);
}

#[test]
fn empty_and_missing_repositories_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    git(&empty, &["init", "-q", "-b", "main"]);
    let err = source::read(empty.to_str().unwrap(), Some("main"), None).unwrap_err();
    assert!(matches!(err, SourceError::EmptyRepository { .. }), "{err}");
    // Read as a folder, an empty repository is an empty config repository.
    let diags =
        config::load(&source::read(empty.to_str().unwrap(), None, None).unwrap()).unwrap_err();
    assert!(
        diags
            .to_string()
            .starts_with("dyngroups.yaml:1:1: the config repository is empty"),
        "{diags}"
    );
    // Cloning an empty repository by URL never panics and says what is wrong.
    let url = format!("file://{}", empty.display());
    let cache = tempfile::tempdir().unwrap();
    assert!(source::read(&url, None, Some(cache.path())).is_err());
    // Not there at all; --rev outside a repository.
    let err = source::read(tmp.path().join("nope").to_str().unwrap(), None, None).unwrap_err();
    assert!(matches!(err, SourceError::NotFound { .. }));
    let plain = tmp.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    let err = source::read(plain.to_str().unwrap(), Some("main"), None).unwrap_err();
    assert!(matches!(err, SourceError::NotARepository { .. }), "{err}");
}

#[cfg(unix)]
#[test]
fn symlinks_are_reported_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        examples().join("dyngroups.yaml"),
        tmp.path().join("dyngroups.yaml"),
    )
    .unwrap();
    std::fs::create_dir(tmp.path().join("rules")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", tmp.path().join("rules/x.yaml")).unwrap();
    let tree = source::read(tmp.path().to_str().unwrap(), None, None).unwrap();
    assert!(!tree.files.contains_key("rules/x.yaml"));
    let out = config::load(&tree).unwrap_err().to_string();
    assert!(
        out.starts_with("rules/x.yaml:1:1: this file is a symbolic link"),
        "{out}"
    );
}
