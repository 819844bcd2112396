//! Part 7, keeping docs/reliability.md honest: the constants it states (fault kinds, crash points, inputs
//! tried, ...) are the suite's, every fault kind is described, and every known bug (an ignored test) is named.

use std::collections::BTreeMap;
use std::path::Path;

use super::{crash, faults, hostile, secrets, store};

fn doc() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/reliability.md");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// The `key = value` lines of the `<!-- reliability-constants ... -->` block.
fn constants(doc: &str) -> BTreeMap<String, String> {
    let start = doc
        .find("<!-- reliability-constants")
        .expect("the constants block");
    let end = start + doc[start..].find("-->").expect("the block's end");
    doc[start..end]
        .lines()
        .filter_map(|l| l.split_once(" = "))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn the_stated_figures_are_the_suites_constants() {
    let doc = doc();
    let stated = constants(&doc);
    let actual: BTreeMap<String, String> = [
        ("fault_kinds", faults::FAULT_KINDS.len().to_string()),
        ("fault_phases", faults::PHASES.len().to_string()),
        ("crash_points", crash::CRASH_POINTS.to_string()),
        ("crash_seed", crash::DEFAULT_SEED.to_string()),
        (
            "request_kill_points",
            crash::REQUEST_KILL_POINTS.to_string(),
        ),
        ("store_cases", store::STORE_CASES.len().to_string()),
        ("rule_files_tried", hostile::RULE_FILES_TRIED.to_string()),
        (
            "hostile_values",
            hostile::hostile_values().len().to_string(),
        ),
        ("secret_commands", secrets::COMMANDS.len().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(stated, actual, "docs/reliability.md's constants block");
    // The prose repeats them.
    for phrase in [
        format!("**{} fault kinds**", faults::FAULT_KINDS.len()),
        format!("the {} points", crash::CRASH_POINTS),
        format!("for {} values of K", crash::REQUEST_KILL_POINTS),
        format!("{} broken rule files", hostile::RULE_FILES_TRIED),
        format!(
            "{} hostile attribute values",
            hostile::hostile_values().len()
        ),
        format!("{} commands", secrets::COMMANDS.len()),
        format!("damaged in {} ways", store::STORE_CASES.len()),
    ] {
        assert!(
            doc.contains(&phrase),
            "docs/reliability.md does not say {phrase:?}"
        );
    }
    for kind in faults::FAULT_KINDS {
        assert!(
            doc.contains(&format!("| `{kind}` |")),
            "fault kind {kind} not described"
        );
    }
}

#[test]
fn every_known_bug_is_named_in_the_doc() {
    let doc = doc();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/reliability");
    let mut ignored = vec![];
    for e in std::fs::read_dir(&dir).expect("suite folder").flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        let mut pending = false;
        for line in text.lines() {
            if line.trim_start().starts_with("#[ignore") {
                pending = true;
            } else if pending
                && let Some(rest) = line
                    .trim_start()
                    .strip_prefix("async fn ")
                    .or(line.trim_start().strip_prefix("fn "))
            {
                ignored.push(rest.split('(').next().unwrap_or_default().to_string());
                pending = false;
            }
        }
    }
    // No known bug is fine (all fixed); each one that is known must be named.
    for name in &ignored {
        assert!(
            doc.contains(&format!("`{name}`")),
            "the ignored test {name} is not named in docs/reliability.md"
        );
    }
    println!("known bugs named: {ignored:?}");
}
