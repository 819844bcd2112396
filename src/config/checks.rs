//! The semantic checks that a schema cannot express: names of environment variables (and secrets pasted in
//! their place), the Okta domain, attribute paths, prefixes, descriptions, and which prefixes can produce the
//! same group name. Pure functions returning the message to show; messages never echo a secret.

use crate::config::model::Separator;

/// Okta's limit on a group description.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;
/// Longest prefix: leaves room for a value within Okta's 255-character group names.
pub const MAX_PREFIX_CHARS: usize = 200;

/// What kind of secret a string looks like, if any.
pub fn secret_kind(s: &str) -> Option<&'static str> {
    let t = s.trim();
    if t.contains("-----BEGIN") || t.contains("PRIVATE KEY") {
        return Some("a PEM private key");
    }
    if t.len() == 42
        && t.starts_with("00")
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Some("an Okta API token");
    }
    if t.starts_with("SSWS ") {
        return Some("an Okta API token");
    }
    let parts: Vec<&str> = t.split('.').collect();
    if t.starts_with("eyJ")
        && parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
    {
        return Some("a JWT (signed token)");
    }
    if t.starts_with("ghp_")
        || t.starts_with("github_pat_")
        || t.starts_with("gho_")
        || t.starts_with("ghs_")
    {
        return Some("a GitHub token");
    }
    let long_mixed = t.len() >= 32
        && t.chars().any(|c| c.is_ascii_lowercase())
        && t.chars().any(|c| c.is_ascii_uppercase())
        && t.chars().any(|c| c.is_ascii_digit())
        && !t.contains('_');
    if long_mixed {
        return Some("a secret (long random-looking text)");
    }
    None
}

/// `key` must hold the NAME of an environment variable. Err: the message (never echoing the value).
pub fn env_var_name(key: &str, value: &str, example: &str) -> Result<(), String> {
    if let Some(kind) = secret_kind(value) {
        return Err(format!(
            "`{key}` looks like {kind}, not the name of an environment variable: never put secrets in the config repository. \
             Revoke it now (it is in the git history), put the new one in an environment variable, and write that variable's name here, e.g. `{key}: {example}`"
        ));
    }
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{key}` must be the NAME of an environment variable (letters, digits and `_`, not starting with a digit), e.g. `{key}: {example}`"
        ))
    }
}

/// The Okta org's host name. Err: the message.
pub fn okta_domain(value: &str) -> Result<(), String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(
            "`domain` is empty; write the org's host name, e.g. `domain: acme.okta.com`"
                .to_string(),
        );
    }
    if let Some(rest) = v.split_once("://").map(|(_, r)| r) {
        let host = rest.split('/').next().unwrap_or("");
        return Err(format!(
            "`domain` is a host name, not a URL: write `domain: {host}` (to point at another server such as the emulator, use --okta-url)"
        ));
    }
    let valid_host = v.len() <= 253
        && v.contains('.')
        && v.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !valid_host {
        return Err(
            "`domain` must be a host name such as `acme.okta.com` (no scheme, path or port)"
                .to_string(),
        );
    }
    let first = v.split('.').next().unwrap_or("");
    if let Some(org) = first.strip_suffix("-admin") {
        let rest = &v[first.len()..];
        return Err(format!(
            "`domain` is the Admin Console's domain; use the org's domain `{org}{rest}`"
        ));
    }
    Ok(())
}

/// A short identifier (instance name). Err: the message.
pub fn instance_name(value: &str) -> Result<(), String> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err("`name` must be 1-64 letters, digits, `-` or `_`, starting with a letter or digit, e.g. `name: acme-prod`".to_string())
    }
}

/// `profile.<name>` -> `<name>`. Err: the message.
pub fn attribute_path(value: &str) -> Result<String, String> {
    let valid_name = |n: &str| {
        !n.is_empty()
            && n.len() <= 100
            && n.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    match value.strip_prefix("profile.") {
        Some(name) if valid_name(name) => Ok(name.to_string()),
        Some(name) if name.contains('.') => Err(format!(
            "`attribute` must name one top-level profile attribute; `{}` is nested, which Okta profiles do not have",
            short(value)
        )),
        Some(_) => Err(
            "`attribute` must be `profile.<name>` where <name> is an Okta attribute's variable name (letters, digits, `_`, starting with a letter), e.g. `profile.department`"
                .to_string(),
        ),
        None if valid_name(value) => Err(format!("`attribute` must be a profile path: write `profile.{value}`")),
        None => Err(format!(
            "`attribute` must be `profile.<name>` (e.g. `profile.department`), not `{}`",
            short(value)
        )),
    }
}

/// A group name prefix. Err: the message.
pub fn prefix(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("`prefix` is empty; group names are `<prefix><separator><value>`: give it a name, e.g. `prefix: department`".to_string());
    }
    if value.chars().count() > MAX_PREFIX_CHARS {
        return Err(format!(
            "`prefix` is {} characters; at most {MAX_PREFIX_CHARS} leave room for the value within Okta's 255-character group names",
            value.chars().count()
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        let shown = if bad.is_whitespace() || bad.is_control() {
            "a space or control character".to_string()
        } else {
            format!("`{bad}`")
        };
        return Err(format!(
            "`prefix` may contain only letters, digits, `_` and `-`, not {shown}; e.g. `prefix: {}`",
            suggest_prefix(value)
        ));
    }
    if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) || value.ends_with(['_', '-']) {
        return Err(format!(
            "`prefix` must start and end with a letter or digit (the separator is added for you): `prefix: {}`",
            suggest_prefix(value)
        ));
    }
    Ok(())
}

fn suggest_prefix(value: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut out = String::new();
    for c in value
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
    {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_').to_string();
    if out.is_empty() {
        "department".to_string()
    } else {
        out.chars().take(MAX_PREFIX_CHARS).collect()
    }
}

/// The description template. Err: the messages.
pub fn description(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let placeholders = value.matches("{value}").count();
    let fixed = value.chars().count() - placeholders * "{value}".len();
    if fixed + placeholders > MAX_DESCRIPTION_CHARS {
        out.push(format!(
            "`description` is {fixed} characters without `{{value}}`; Okta allows {MAX_DESCRIPTION_CHARS} per group description: shorten it"
        ));
    }
    let mut rest = value;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let word = &after[..end];
                if word != "value"
                    && !word.is_empty()
                    && word.len() <= 40
                    && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    out.push(format!(
                        "`description` uses `{{{word}}}`; the only placeholder is `{{value}}`"
                    ));
                }
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

/// Replaces `{value}` in a rule's description template with the group's raw value.
pub fn render_description(template: &str, value: &str) -> String {
    template.replace("{value}", value)
}

/// Whether groups of prefix `a` and prefix `b` (both already valid) can get the same name under `sep`.
/// Names are `prefix + sep + v` where v is a normalized value: lower-case letter/digit runs joined by single
/// separators. They can collide when the prefixes are equal (ignoring case), or when one is the other plus
/// `sep` plus something that can start a normalized value (`dept` and `dept_eng`).
pub fn prefixes_can_collide(a: &str, b: &str, sep: Separator) -> bool {
    let (a, b) = (a.to_lowercase(), b.to_lowercase());
    if a == b {
        return true;
    }
    let (short, long) = if a.len() < b.len() { (a, b) } else { (b, a) };
    let s = sep.as_char();
    let Some(rest) = long.strip_prefix(&format!("{short}{s}")) else {
        return false;
    };
    !rest.is_empty()
        && rest
            .split(s)
            .all(|run| !run.is_empty() && run.chars().all(|c| c.is_alphanumeric()))
}

fn short(s: &str) -> String {
    let t: String = s.chars().filter(|c| !c.is_control()).take(60).collect();
    if s.chars().count() > 60 {
        format!("{t}…")
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_recognised_and_never_echoed() {
        let token = format!("00{}", "aB3_".repeat(10));
        let e = env_var_name("api_token_env", &token, "OKTA_API_TOKEN").unwrap_err();
        assert!(e.contains("looks like an Okta API token"), "{e}");
        assert!(!e.contains(&token));
        assert!(
            env_var_name("private_key_env", "-----BEGIN PRIVATE KEY-----\nabc", "K")
                .unwrap_err()
                .contains("PEM")
        );
        assert!(
            env_var_name("x", "eyJhbGciOiJ.eyJzdWIiOiIx.c2ln", "K")
                .unwrap_err()
                .contains("JWT")
        );
        assert!(
            env_var_name("x", "my token", "K")
                .unwrap_err()
                .contains("NAME of an environment variable")
        );
        assert!(env_var_name("x", "OKTA_API_TOKEN", "K").is_ok());
        assert!(env_var_name("x", "1ABC", "K").is_err());
    }

    #[test]
    fn domains() {
        assert!(okta_domain("acme.okta.com").is_ok());
        assert_eq!(
            okta_domain("https://acme.okta.com/").unwrap_err(),
            "`domain` is a host name, not a URL: write `domain: acme.okta.com` (to point at another server such as the emulator, use --okta-url)"
        );
        assert!(
            okta_domain("acme-admin.okta.com")
                .unwrap_err()
                .contains("`acme.okta.com`")
        );
        assert!(okta_domain("acme").is_err());
    }

    #[test]
    fn attributes_and_prefixes() {
        assert_eq!(attribute_path("profile.costCenter").unwrap(), "costCenter");
        assert_eq!(
            attribute_path("department").unwrap_err(),
            "`attribute` must be a profile path: write `profile.department`"
        );
        assert!(
            attribute_path("profile.a.b")
                .unwrap_err()
                .contains("nested")
        );
        assert!(prefix("").unwrap_err().contains("empty"));
        assert!(
            prefix("dept eng")
                .unwrap_err()
                .contains("`prefix: dept_eng`")
        );
        assert!(prefix("dept_").is_err());
        assert!(prefix(&"a".repeat(201)).is_err());
        assert!(prefix("cost-center_2").is_ok());
    }

    #[test]
    fn collisions() {
        use Separator::*;
        assert!(prefixes_can_collide("dept", "dept_eng", Underscore));
        assert!(prefixes_can_collide("Dept", "dept", Underscore));
        assert!(!prefixes_can_collide("dept", "dept-eng", Underscore));
        assert!(prefixes_can_collide("dept", "dept-eng", Hyphen));
        assert!(!prefixes_can_collide("dept", "department", Underscore));
        assert!(!prefixes_can_collide("dept", "dept__x", Underscore));
    }

    #[test]
    fn descriptions() {
        assert!(description("People in {value}").is_empty());
        assert_eq!(
            description("People in {valeu}"),
            vec!["`description` uses `{valeu}`; the only placeholder is `{value}`"]
        );
        assert_eq!(description(&"x".repeat(1025)).len(), 1);
        assert_eq!(
            render_description("People in {value}", "Sales"),
            "People in Sales"
        );
    }
}
