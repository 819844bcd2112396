//! Checks a parsed YAML document against the generated JSON Schema (the subset schemars emits: objects with
//! properties/required/additionalProperties, arrays, scalar types, enums, minimum/maximum, `$ref`, `anyOf`/`oneOf`)
//! and reports EVERY mismatch with its path, instead of stopping at the first like serde does.

use serde_json::Value as Json;
use serde_yaml::Value as Yaml;

use super::locate::Seg;

/// One mismatch: where (path into the document; `key` = point at the key rather than the value) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub path: Vec<Seg>,
    pub key: bool,
    pub message: String,
}

/// Every mismatch between `doc` and `schema` (the root schema, holding `definitions`).
pub fn check(doc: &Yaml, schema: &Json) -> Vec<Issue> {
    let mut w = Walker {
        root: schema,
        issues: Vec::new(),
    };
    w.walk(doc, schema, &mut Vec::new(), 0);
    w.issues
}

struct Walker<'a> {
    root: &'a Json,
    issues: Vec<Issue>,
}

const MAX_DEPTH: usize = 64;

impl<'a> Walker<'a> {
    fn resolve(&self, mut s: &'a Json) -> &'a Json {
        for _ in 0..16 {
            match s.get("$ref").and_then(Json::as_str) {
                Some(r) => match r.strip_prefix('#').and_then(|p| self.root.pointer(p)) {
                    Some(t) => s = t,
                    None => return &Json::Bool(true),
                },
                None => return s,
            }
        }
        s
    }

    fn issue(&mut self, path: &[Seg], key: bool, message: String) {
        self.issues.push(Issue {
            path: path.to_vec(),
            key,
            message,
        });
    }

    fn walk(&mut self, v: &Yaml, s: &'a Json, path: &mut Vec<Seg>, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let s = self.resolve(s);
        if let Some(all) = s.get("allOf").and_then(Json::as_array) {
            // schemars writes `{description, allOf: [{$ref}]}` for a documented field of a struct type.
            for sub in all {
                self.walk(v, sub, path, depth + 1);
            }
        }
        if let Some(branches) = s
            .get("anyOf")
            .or_else(|| s.get("oneOf"))
            .and_then(Json::as_array)
        {
            self.walk_union(v, branches, path, depth);
            return;
        }
        if let Some(allowed) = s.get("enum").and_then(Json::as_array) {
            if !allowed.iter().any(|a| same_scalar(v, a)) {
                let list: Vec<String> = allowed
                    .iter()
                    .filter_map(|a| a.as_str().map(str::to_string))
                    .collect();
                self.issue(path, false, enum_message(path, &list, v));
            }
            return;
        }
        if let Some(c) = s.get("const") {
            if !same_scalar(v, c) {
                let list: Vec<String> = c.as_str().map(|x| vec![x.to_string()]).unwrap_or_default();
                self.issue(path, false, enum_message(path, &list, v));
            }
            return;
        }
        let types = types_of(s);
        if !types.is_empty() && !types.iter().any(|t| type_matches(v, t)) {
            self.issue(path, false, type_message(path, &types, v));
            return;
        }
        match v {
            Yaml::Mapping(m) => self.walk_mapping(m, s, path, depth),
            Yaml::Sequence(items) => {
                if let Some(item_schema) = s.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        path.push(Seg::Index(i));
                        self.walk(item, item_schema, path, depth + 1);
                        path.pop();
                    }
                }
            }
            Yaml::Number(n) => {
                let x = n.as_f64().unwrap_or(0.0);
                if let Some(min) = s.get("minimum").and_then(Json::as_f64)
                    && x < min
                {
                    self.issue(
                        path,
                        false,
                        format!("{} must be at least {min}, not {n}", what(path)),
                    );
                }
                if let Some(max) = s.get("maximum").and_then(Json::as_f64)
                    && x > max
                {
                    self.issue(
                        path,
                        false,
                        format!("{} must be at most {max}, not {n}", what(path)),
                    );
                }
            }
            _ => {}
        }
    }

    fn walk_union(&mut self, v: &Yaml, branches: &'a [Json], path: &mut Vec<Seg>, depth: usize) {
        // A union of constants is an enum (schemars writes documented enum variants this way).
        let consts: Option<Vec<&Json>> = branches
            .iter()
            .map(|b| {
                let b = self.resolve(b);
                b.get("const").or_else(|| {
                    b.get("enum")
                        .and_then(|e| e.get(0))
                        .filter(|_| b["enum"].as_array().is_some_and(|a| a.len() == 1))
                })
            })
            .collect();
        if let Some(consts) = consts {
            if !consts.iter().any(|c| same_scalar(v, c)) {
                let list: Vec<String> = consts
                    .iter()
                    .filter_map(|c| c.as_str().map(str::to_string))
                    .collect();
                self.issue(path, false, enum_message(path, &list, v));
            }
            return;
        }
        let mut best: Option<Vec<Issue>> = None;
        for b in branches {
            let rb = self.resolve(b);
            if v.is_null() && types_of(rb).iter().all(|t| t == "null") && !types_of(rb).is_empty() {
                return;
            }
            let mut sub = Walker {
                root: self.root,
                issues: Vec::new(),
            };
            sub.walk(v, b, path, depth + 1);
            if sub.issues.is_empty() {
                return;
            }
            let is_null_branch = types_of(rb) == ["null"];
            if !is_null_branch && best.as_ref().is_none_or(|x| sub.issues.len() < x.len()) {
                best = Some(sub.issues);
            }
        }
        match best {
            Some(issues) => self.issues.extend(issues),
            None => self.issue(path, false, format!("{} has the wrong form", what(path))),
        }
    }

    fn walk_mapping(
        &mut self,
        m: &serde_yaml::Mapping,
        s: &'a Json,
        path: &mut Vec<Seg>,
        depth: usize,
    ) {
        let props = s.get("properties").and_then(Json::as_object);
        let additional = s.get("additionalProperties");
        let allowed: Vec<&str> = props
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        for (k, val) in m {
            let Some(key) = k.as_str() else {
                let shown = scalar_text(k).unwrap_or_else(|| "this key".to_string());
                path.push(Seg::KeyOf(
                    m.iter().position(|(kk, _)| kk == k).unwrap_or(0),
                ));
                self.issue(
                    path,
                    true,
                    format!("key {shown} must be text; put it in quotes: \"{shown}\""),
                );
                path.pop();
                continue;
            };
            path.push(Seg::Key(key.to_string()));
            if let Some(ps) = props.and_then(|p| p.get(key)) {
                self.walk(val, ps, path, depth + 1);
            } else {
                match additional {
                    Some(Json::Bool(false)) => {
                        let msg = unknown_key_message(key, &path[..path.len() - 1], &allowed);
                        self.issue(path, true, msg);
                    }
                    Some(extra) if extra.is_object() => self.walk(val, extra, path, depth + 1),
                    _ => {}
                }
            }
            path.pop();
        }
        if let Some(req) = s.get("required").and_then(Json::as_array) {
            for r in req.iter().filter_map(Json::as_str) {
                if !m.contains_key(r) {
                    let hint = required_hint(r);
                    let place = match path.last() {
                        Some(Seg::Key(k)) => format!(" in `{k}`"),
                        Some(Seg::Index(_)) => " in this rule".to_string(),
                        _ => String::new(),
                    };
                    self.issue(
                        path,
                        false,
                        format!("missing required key `{r}`{place}; {hint}"),
                    );
                }
            }
        }
    }
}

fn required_hint(key: &str) -> &'static str {
    match key {
        "okta" => "add `okta:` with `domain: <your-org>.okta.com`",
        "domain" => "add `domain: <your-org>.okta.com`",
        "rules" => "a rule file holds `rules:` followed by a list of rules",
        "attribute" => "add `attribute: profile.<name>`, e.g. `attribute: profile.department`",
        "prefix" => "add `prefix: <group name prefix>`, e.g. `prefix: department`",
        "client_id" => "add the service app's `client_id` (0oa...)",
        "private_key_env" => {
            "add `private_key_env:` with the NAME of the environment variable holding the PEM key"
        }
        _ => "add it",
    }
}

fn types_of(s: &Json) -> Vec<String> {
    match s.get("type") {
        Some(Json::String(t)) => vec![t.clone()],
        Some(Json::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn type_matches(v: &Yaml, t: &str) -> bool {
    match (t, v) {
        ("null", Yaml::Null) => true,
        ("boolean", Yaml::Bool(_)) => true,
        ("string", Yaml::String(_)) => true,
        ("integer", Yaml::Number(n)) => n.is_i64() || n.is_u64(),
        ("number", Yaml::Number(_)) => true,
        ("array", Yaml::Sequence(_)) => true,
        ("object", Yaml::Mapping(_)) => true,
        _ => false,
    }
}

fn same_scalar(v: &Yaml, j: &Json) -> bool {
    match (v, j) {
        (Yaml::String(a), Json::String(b)) => a == b,
        (Yaml::Bool(a), Json::Bool(b)) => a == b,
        (Yaml::Null, Json::Null) => true,
        _ => false,
    }
}

/// The scalar as written, for messages (short ones only).
pub(crate) fn scalar_text(v: &Yaml) -> Option<String> {
    let s = match v {
        Yaml::String(s) => s.clone(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Number(n) => n.to_string(),
        _ => return None,
    };
    if s.chars().count() > 60 || s.chars().any(char::is_control) {
        None
    } else {
        Some(s)
    }
}

fn describe(v: &Yaml) -> &'static str {
    match v {
        Yaml::Null => "empty",
        Yaml::Bool(_) => "true/false",
        Yaml::Number(n) if n.is_f64() => "a decimal number",
        Yaml::Number(_) => "a number",
        Yaml::String(_) => "text",
        Yaml::Sequence(_) => "a list",
        Yaml::Mapping(_) => "a mapping",
        Yaml::Tagged(_) => "a tagged value",
    }
}

fn type_word(t: &str) -> &'static str {
    match t {
        "boolean" => "true or false",
        "string" => "text",
        "integer" => "a whole number",
        "number" => "a number",
        "array" => "a list",
        "object" => "a mapping",
        _ => "empty",
    }
}

/// "`membership`", "this rule", "the file".
pub(crate) fn what(path: &[Seg]) -> String {
    match path.last() {
        Some(Seg::Key(k)) => format!("`{k}`"),
        Some(Seg::Index(i)) => match path.get(path.len().wrapping_sub(2)) {
            Some(Seg::Key(k)) if k == "rules" => format!("rule #{}", i + 1),
            Some(Seg::Key(k)) => format!("item #{} of `{k}`", i + 1),
            _ => format!("item #{}", i + 1),
        },
        Some(Seg::KeyOf(_)) => "this key".to_string(),
        None => "the file".to_string(),
    }
}

fn type_message(path: &[Seg], types: &[String], v: &Yaml) -> String {
    let wanted: Vec<&str> = types
        .iter()
        .filter(|t| *t != "null")
        .map(|t| type_word(t))
        .collect();
    let wanted = if wanted.is_empty() {
        "empty".to_string()
    } else {
        wanted.join(" or ")
    };
    let mut msg = format!("{} must be {wanted}, not {}", what(path), describe(v));
    let text = scalar_text(v);
    match (
        types.iter().any(|t| t == "boolean"),
        types.iter().any(|t| t == "string"),
        v,
    ) {
        (true, _, Yaml::String(s))
            if ["true", "false"].contains(&s.to_ascii_lowercase().as_str()) =>
        {
            msg.push_str(&format!(
                "; write {} without quotes",
                s.to_ascii_lowercase()
            ));
        }
        (_, true, Yaml::Number(_) | Yaml::Bool(_)) => {
            if let Some(t) = text {
                msg.push_str(&format!("; put it in quotes: \"{t}\""));
            }
        }
        (true, _, Yaml::String(s))
            if ["yes", "no", "on", "off", "y", "n"].contains(&s.to_ascii_lowercase().as_str()) =>
        {
            msg.push_str("; write true or false (yes/no/on/off are text in YAML 1.2)");
        }
        (_, _, Yaml::Null) => msg.push_str("; give it a value or remove the key"),
        _ if types.iter().any(|t| t == "array") && text.is_some() => {
            msg.push_str(&format!(
                "; write a list, e.g. `[{}]`",
                text.unwrap_or_default()
            ));
        }
        _ if types.iter().any(|t| t == "integer" || t == "number")
            && matches!(v, Yaml::String(_)) =>
        {
            msg.push_str("; write the number without quotes");
        }
        _ => {}
    }
    msg
}

fn enum_message(path: &[Seg], allowed: &[String], v: &Yaml) -> String {
    let found = match scalar_text(v) {
        Some(t) => format!("`{t}`"),
        None => describe(v).to_string(),
    };
    let mut msg = format!(
        "{} must be one of {}, not {found}",
        what(path),
        allowed.join(", ")
    );
    if let Some(t) = v.as_str()
        && let Some(best) = closest(t, allowed.iter().map(String::as_str))
    {
        msg.push_str(&format!("; did you mean `{best}`?"));
    }
    msg
}

fn unknown_key_message(key: &str, parent: &[Seg], allowed: &[&str]) -> String {
    let place = match parent.last() {
        Some(Seg::Key(k)) => format!(" in `{k}`"),
        Some(Seg::Index(_)) => " in this rule".to_string(),
        _ => String::new(),
    };
    let shown: String = key.chars().take(60).filter(|c| !c.is_control()).collect();
    let mut msg = format!("unknown key `{shown}`{place}");
    let lower = key.to_ascii_lowercase();
    if ["token", "secret", "password", "private_key", "privatekey"]
        .iter()
        .any(|w| lower.contains(w))
        && !lower.ends_with("_env")
    {
        // A credential written into the file itself: the fix is not a rename.
        msg.push_str(
            ": never put secrets in the config repository. If this held a real credential, revoke it now (it is \
             in the git history), put the new one in an environment variable, and name that variable instead, \
             e.g. `api_token_env: OKTA_API_TOKEN` (or `private_key_env` for OAuth)",
        );
        return msg;
    }
    if let Some(best) = closest(key, allowed.iter().copied()) {
        msg.push_str(&format!("; did you mean `{best}`?"));
    } else {
        msg.push(';');
    }
    if allowed.is_empty() {
        msg.push_str(" remove it");
    } else {
        msg.push_str(&format!(" allowed keys: {}", allowed.join(", ")));
    }
    msg
}

/// The allowed word closest to `word` (edit distance at most a third of its length, or a containment).
pub(crate) fn closest<'s>(word: &str, allowed: impl Iterator<Item = &'s str>) -> Option<&'s str> {
    let w = word.to_ascii_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for a in allowed {
        let d = if a.contains(w.as_str()) && w.len() >= 3 || w.contains(a) && a.len() >= 3 {
            1
        } else {
            levenshtein(&w, a)
        };
        if d <= (a.len().max(w.len()) / 3).max(1) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, a));
        }
    }
    best.map(|(_, a)| a)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(100).collect();
    let b: Vec<char> = b.chars().take(100).collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::schema;

    fn issues(yaml: &str) -> Vec<String> {
        let v: Yaml = serde_yaml::from_str(yaml).unwrap();
        check(&v, &schema::instance_schema())
            .into_iter()
            .map(|i| i.message)
            .collect()
    }

    #[test]
    fn reports_every_problem_not_just_the_first() {
        let got = issues(
            "okta: {domain: a.okta.com}\npolicies: {membership: enforced, name_separatr: hyphen}\nenabled: 'yes'\nsafety: {min_group_size: -3}\n",
        );
        assert_eq!(got.len(), 4, "{got:#?}");
        assert!(got.iter().any(|m| m.contains("`membership` must be one of respect_manual_full, respect_manual_partial, enforce, not `enforced`; did you mean `enforce`?")), "{got:#?}");
        assert!(
            got.iter().any(|m| m.contains(
                "unknown key `name_separatr` in `policies`; did you mean `name_separator`?"
            )),
            "{got:#?}"
        );
        assert!(
            got.iter()
                .any(|m| m.contains("`enabled` must be true or false, not text")),
            "{got:#?}"
        );
        assert!(
            got.iter()
                .any(|m| m.contains("`min_group_size` must be at least 0")),
            "{got:#?}"
        );
    }

    #[test]
    fn missing_required_key() {
        let got = issues("enabled: true\n");
        assert_eq!(
            got,
            vec!["missing required key `okta`; add `okta:` with `domain: <your-org>.okta.com`"]
        );
    }

    #[test]
    fn closest_word() {
        assert_eq!(
            closest("prefx", ["attribute", "prefix"].into_iter()),
            Some("prefix")
        );
        assert_eq!(closest("zzzzzz", ["attribute", "prefix"].into_iter()), None);
    }
}
