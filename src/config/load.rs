//! `load`: one revision's files -> a validated `Config`, or every problem found, each located. Per file: guards,
//! YAML syntax, the schema (every mismatch), then the typed raw mirror and the semantic checks; then the checks
//! across files (duplicate rules, prefixes whose names can collide).

use std::cell::Cell;

use serde::de::DeserializeOwned;
use serde_yaml::Value as Yaml;

use super::diag::{Diagnostic, Diagnostics};
use super::guard;
use super::locate::{Seg, locate};
use super::model::{Config, Origin, Rule, Separator};
use super::raw::{RawInstance, RawRulesFile};
use super::resolve;
use super::schema;
use crate::source::ConfigTree;

/// The instance file at the root of the config repository.
pub const INSTANCE_FILE: &str = "dyngroups.yaml";
/// Most diagnostics reported per file (each costs a parse to locate).
const MAX_DIAGS_PER_FILE: usize = 100;

/// Whether `path` (relative, with `/`) is a rule file: `rules/**/*.yaml` or `.yml`.
pub fn is_rule_file(path: &str) -> bool {
    path.starts_with("rules/") && (path.ends_with(".yaml") || path.ends_with(".yml"))
}

/// Whether `path` is one of the files dyngroups reads: the instance file or a rule file.
pub fn is_config_file(path: &str) -> bool {
    path == INSTANCE_FILE || path == "dyngroups.yml" || is_rule_file(path)
}

/// Validates one revision of the config repository. Err holds every problem, sorted by file and position.
pub fn load(tree: &ConfigTree) -> Result<Config, Diagnostics> {
    let mut diags = Diagnostics::default();
    for (path, reason) in &tree.skipped {
        diags.push(Diagnostic::new(path.clone(), 1, 1, reason.clone()));
    }

    let has_yaml = tree.files.contains_key(INSTANCE_FILE);
    let has_yml = tree.files.contains_key("dyngroups.yml");
    if has_yaml && has_yml {
        diags.push(Diagnostic::new(
            "dyngroups.yml",
            1,
            1,
            "both dyngroups.yaml and dyngroups.yml exist; keep only dyngroups.yaml",
        ));
    }
    let instance_path = if has_yaml || !has_yml {
        INSTANCE_FILE
    } else {
        "dyngroups.yml"
    };
    let instance = match tree.files.get(instance_path) {
        Some(bytes) => {
            match parse_file::<RawInstance>(instance_path, bytes, Kind::Instance, &mut diags) {
                Some((doc, raw)) => {
                    let instance = resolve::instance(&doc, raw);
                    doc.flush(&mut diags);
                    instance
                }
                None => None,
            }
        }
        None if tree.files.is_empty() && tree.skipped.is_empty() => {
            diags.push(Diagnostic::new(
                INSTANCE_FILE,
                1,
                1,
                "the config repository is empty: add dyngroups.yaml (the instance file) and rules/*.yaml (see examples/config)",
            ));
            None
        }
        None => {
            diags.push(Diagnostic::new(
                INSTANCE_FILE,
                1,
                1,
                "missing instance file dyngroups.yaml at the root of the config repository: create it with at least `okta: {domain: <your-org>.okta.com}`",
            ));
            None
        }
    };

    let separator = instance
        .as_ref()
        .map_or(Separator::default(), |i| i.policies.separator);
    let mut rules: Vec<Rule> = Vec::new();
    for (path, bytes) in tree.files.iter().filter(|(p, _)| is_rule_file(p)) {
        if let Some((doc, raw)) = parse_file::<RawRulesFile>(path, bytes, Kind::Rules, &mut diags) {
            rules.extend(resolve::rules(&doc, raw));
            doc.flush(&mut diags);
        }
    }
    resolve::across_rules(&rules, separator, &mut diags);

    if diags.is_empty()
        && let Some(instance) = instance
    {
        return Ok(Config {
            instance,
            rules,
            commit: tree.commit.clone(),
        });
    }
    if diags.is_empty() {
        // Unreachable in practice: a missing instance always produced a diagnostic.
        diags.push(Diagnostic::new(
            INSTANCE_FILE,
            1,
            1,
            "the instance file could not be read",
        ));
    }
    diags.sort();
    Err(diags)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Instance,
    Rules,
}

/// One parsed file: its name and text, and the diagnostics found in it (located lazily).
pub(crate) struct Doc<'a> {
    pub name: &'a str,
    pub text: &'a str,
    diags: std::cell::RefCell<Vec<Diagnostic>>,
    count: Cell<usize>,
}

impl<'a> Doc<'a> {
    fn new(name: &'a str, text: &'a str) -> Doc<'a> {
        Doc {
            name,
            text,
            diags: Default::default(),
            count: Cell::new(0),
        }
    }

    /// Position of the node at `path` (its key with `key`).
    pub fn at(&self, path: &[Seg], key: bool) -> (usize, usize) {
        locate(self.text, path, key)
    }

    /// Records a problem at the node at `path`.
    pub fn report(&self, path: &[Seg], key: bool, message: impl Into<String>) {
        let n = self.count.get();
        self.count.set(n + 1);
        if n < MAX_DIAGS_PER_FILE {
            let (line, column) = self.at(path, key);
            self.diags
                .borrow_mut()
                .push(Diagnostic::new(self.name, line, column, message));
        } else if n == MAX_DIAGS_PER_FILE {
            self.diags.borrow_mut().push(Diagnostic::new(
                self.name,
                self.text.lines().count().max(1),
                1,
                format!("more than {MAX_DIAGS_PER_FILE} problems in this file; fix these first"),
            ));
        }
    }

    /// Records a problem about the whole file, at 1:1.
    pub fn report_at_start(&self, message: impl Into<String>) {
        self.count.set(self.count.get() + 1);
        self.diags
            .borrow_mut()
            .push(Diagnostic::new(self.name, 1, 1, message));
    }

    pub fn has_problems(&self) -> bool {
        self.count.get() > 0
    }

    /// Positions of the items of the top-level `rules:` list, when the file is in plain block style
    /// (one cheap text scan instead of one parse per rule); None when the scan is unsure.
    pub fn rule_item_positions(&self, expected: usize) -> Option<Vec<(usize, usize)>> {
        let mut lines = self.text.lines().enumerate();
        lines.by_ref().find(|(_, l)| {
            let t = l.trim_end();
            t == "rules:"
                || t.strip_prefix("rules:")
                    .is_some_and(|r| r.trim_start().starts_with('#'))
        })?;
        let mut indent: Option<usize> = None;
        let mut out = Vec::new();
        for (n, line) in lines {
            let trimmed = line.trim_start_matches(' ');
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let ind = line.len() - trimmed.len();
            let is_item = trimmed == "-" || trimmed.starts_with("- ");
            match indent {
                None if is_item => indent = Some(ind),
                None => return None,
                Some(i) if ind == i && is_item => {}
                Some(i) if ind > i => continue,
                Some(_) => break,
            }
            if trimmed == "-" {
                return None;
            }
            let after = trimmed[2..].len() - trimmed[2..].trim_start_matches(' ').len();
            out.push((n + 1, ind + 3 + after));
        }
        (out.len() == expected).then_some(out)
    }
}

/// Guards, syntax, schema, typed parse. Problems go to `diags`; None if the file cannot be used further.
fn parse_file<'a, T: DeserializeOwned>(
    name: &'a str,
    bytes: &'a [u8],
    kind: Kind,
    diags: &mut Diagnostics,
) -> Option<(Doc<'a>, T)> {
    let refused = |diags: &mut Diagnostics, r: guard::Refusal| {
        diags.push(Diagnostic::new(name, r.line, r.column, r.message));
    };
    let text = match guard::text(bytes) {
        Ok(t) => t,
        Err(r) => {
            refused(diags, r);
            return None;
        }
    };
    if let Err(r) = guard::walk(text) {
        refused(diags, r);
        return None;
    }
    let value: Yaml = match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let raw = e.to_string();
            let (l, c) = match raw.strip_prefix("duplicate entry with key ") {
                Some(key) => second_key_position(text, key.trim_matches('"')),
                None => e.location().map_or((1, 1), |l| (l.line(), l.column())),
            };
            diags.push(Diagnostic::new(name, l, c, guard::syntax_message(&raw)));
            return None;
        }
    };
    let doc = Doc::new(name, text);
    match (&value, kind) {
        (Yaml::Null, Kind::Instance) => doc.report_at_start("the instance file is empty: add at least `okta: {domain: <your-org>.okta.com}`"),
        (Yaml::Null, Kind::Rules) => doc.report_at_start("the rule file is empty: add `rules:` with a list of rules, or delete the file"),
        (Yaml::Sequence(_), Kind::Rules) => doc.report(
            &[],
            false,
            "a rule file is a mapping with the list under `rules:`; add a line `rules:` at the top and indent the list under it",
        ),
        _ => {
            let schema = match kind {
                Kind::Instance => schema::instance_schema(),
                Kind::Rules => schema::rules_schema(),
            };
            for issue in super::shape::check(&value, &schema) {
                doc.report(&issue.path, issue.key, issue.message);
            }
        }
    }
    if doc.has_problems() {
        doc.flush(diags);
        return None;
    }
    match serde_yaml::from_str::<T>(text) {
        Ok(raw) => Some((doc, raw)),
        Err(e) => {
            let (l, c) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            diags.push(Diagnostic::new(
                name,
                l,
                c,
                redact(&guard::syntax_message(&e.to_string()).replace("YAML syntax error: ", "")),
            ));
            None
        }
    }
}

impl Doc<'_> {
    /// Moves this file's diagnostics into `diags`.
    pub(crate) fn flush(&self, diags: &mut Diagnostics) {
        for d in self.diags.borrow_mut().drain(..) {
            diags.push(d);
        }
    }
}

/// Where a key appears for the second time (serde_yaml only gives the mapping's start for duplicates).
fn second_key_position(text: &str, key: &str) -> (usize, usize) {
    let mut hits = text.lines().enumerate().filter_map(|(n, line)| {
        let trimmed = line.trim_start_matches([' ', '-']);
        let col = line.len() - trimmed.len() + 1;
        let bare = trimmed
            .strip_prefix(key)
            .is_some_and(|r| r.trim_start().starts_with(':'));
        let quoted = [format!("\"{key}\""), format!("'{key}'")].iter().any(|q| {
            trimmed
                .strip_prefix(q.as_str())
                .is_some_and(|r| r.trim_start().starts_with(':'))
        });
        (bare || quoted).then_some((n + 1, col))
    });
    let first = hits.next();
    hits.next().or(first).unwrap_or((1, 1))
}

/// Hides quoted values in serde's messages (they might be secrets).
fn redact(msg: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in msg.chars() {
        if c == '"' {
            if inside {
                out.push_str("…\"");
            } else {
                out.push('"');
            }
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out
}

/// Where a rule was written, for `Rule::origin`.
pub(crate) fn origin(file: &str, at: (usize, usize)) -> Origin {
    Origin {
        file: file.to_string(),
        line: at.0,
        column: at.1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> ConfigTree {
        ConfigTree {
            files: files
                .iter()
                .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
                .collect(),
            commit: Some("abc".into()),
            ..ConfigTree::default()
        }
    }

    #[test]
    fn history_retention_is_read_from_the_sync_section() {
        let cfg = load(&tree(&[
            (
                "dyngroups.yaml",
                "okta: {domain: acme.okta.com}\nsync: {keep_history_days: 30, full_every_hours: 6}\n",
            ),
            (
                "rules/a.yaml",
                "rules: [{attribute: profile.city, prefix: location}]\n",
            ),
        ]))
        .unwrap();
        assert_eq!(
            (
                cfg.instance.history_days,
                cfg.instance.full_sync_every_hours
            ),
            (30, 6)
        );
    }

    #[test]
    fn defaults_and_origins_in_block_and_flow_style() {
        let cfg = load(&tree(&[
            ("dyngroups.yaml", "okta: {domain: acme.okta.com}\n"),
            (
                "rules/a.yaml",
                "rules: [{attribute: profile.city, prefix: location}]\n",
            ),
            (
                "rules/b.yml",
                "# c\nrules:\n- attribute: profile.department\n  prefix: department\n",
            ),
        ]))
        .unwrap();
        assert_eq!(cfg.instance.name, "acme");
        assert!(cfg.instance.enabled);
        assert_eq!(
            cfg.instance.credential,
            super::super::model::Credential::default()
        );
        assert_eq!(cfg.instance.full_sync_every_hours, 24);
        assert_eq!(cfg.instance.history_days, 365);
        assert_eq!(cfg.commit.as_deref(), Some("abc"));
        let origins: Vec<(String, usize, usize)> = cfg
            .rules
            .iter()
            .map(|r| (r.origin.file.clone(), r.origin.line, r.origin.column))
            .collect();
        assert_eq!(
            origins,
            vec![("rules/a.yaml".into(), 1, 9), ("rules/b.yml".into(), 3, 3)]
        );
    }

    #[test]
    fn many_rules_load_and_problems_are_capped_per_file() {
        let mut text = String::from("rules:\n");
        for i in 0..2000 {
            text.push_str(&format!("  - attribute: profile.a{i}\n    prefix: p{i}x\n"));
        }
        let cfg = load(&tree(&[
            ("dyngroups.yaml", "okta: {domain: a.okta.com}\n"),
            ("rules/r.yaml", &text),
        ]))
        .unwrap();
        assert_eq!(cfg.rules.len(), 2000);
        assert_eq!(
            (cfg.rules[1999].origin.line, cfg.rules[1999].origin.column),
            (4000, 5)
        );

        let bad = "rules:\n".to_string() + &"  - {attribute: x, prefix: y}\n".repeat(300);
        let d = load(&tree(&[
            ("dyngroups.yaml", "okta: {domain: a.okta.com}\n"),
            ("rules/r.yaml", &bad),
        ]))
        .unwrap_err();
        assert_eq!(d.len(), MAX_DIAGS_PER_FILE + 1);
        assert!(
            d.to_string()
                .ends_with("more than 100 problems in this file; fix these first")
        );
    }

    #[test]
    fn diagnostics_serialize_for_json_output() {
        let d = load(&tree(&[("rules/a.yaml", "rules: []\n")])).unwrap_err();
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json[0]["file"], "dyngroups.yaml");
        assert_eq!(json[0]["line"], 1);
        assert!(
            json[0]["message"]
                .as_str()
                .unwrap()
                .starts_with("missing instance file")
        );
    }
}
