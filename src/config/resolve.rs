//! The one boundary from the raw mirrors to the checked model: applies defaults, runs the semantic checks
//! (reporting each problem at its key or value), and checks rules against each other.

use std::collections::{BTreeMap, HashMap};

use super::checks;
use super::diag::{Diagnostic, Diagnostics};
use super::load::{Doc, origin};
use super::locate::Seg;
use super::model::{Budget, Credential, Instance, Origin, Policies, Rule, SafetyLimits, Separator};
use super::raw::{RawInstance, RawRule, RawRulesFile};

fn k(s: &str) -> Seg {
    Seg::Key(s.to_string())
}

/// Default OAuth scopes: what dyngroups needs (read users and their schema, manage groups).
pub const DEFAULT_SCOPES: [&str; 3] =
    ["okta.users.read", "okta.groups.manage", "okta.schemas.read"];
/// Default hours between full reconciles.
pub const DEFAULT_FULL_SYNC_HOURS: u64 = 24;
/// Days of history and audit kept: a year, longer than Okta's own System Log keeps (90 days).
pub const DEFAULT_HISTORY_DAYS: u64 = 365;

/// The instance, or None when `doc` got a problem.
pub(crate) fn instance(doc: &Doc<'_>, raw: RawInstance) -> Option<Instance> {
    let domain = raw.okta.domain.trim().to_string();
    if let Err(m) = checks::okta_domain(&raw.okta.domain) {
        doc.report(&[k("okta"), k("domain")], false, m);
    }
    let name = match raw.name {
        Some(n) => {
            if let Err(m) = checks::instance_name(&n) {
                doc.report(&[k("name")], false, m);
            }
            n
        }
        None => domain
            .split('.')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect(),
    };
    let credential = credential(doc, raw.okta.credential);

    let p = raw.policies.unwrap_or(super::raw::RawPolicies {
        name_separator: None,
        empty_groups: None,
        membership: None,
        collision: None,
    });
    let policies = Policies {
        separator: p.name_separator.unwrap_or_default(),
        empty_groups: p.empty_groups.unwrap_or_default(),
        membership: p.membership.unwrap_or_default(),
        collision: p.collision.unwrap_or_default(),
    };

    let mut safety = SafetyLimits::default();
    if let Some(s) = raw.safety {
        let percent = |key: &str, v: Option<f64>, default: f64| -> f64 {
            match v {
                Some(x) if !(0.0..=100.0).contains(&x) => {
                    doc.report(
                        &[k("safety"), k(key)],
                        false,
                        format!("`{key}` is a percentage: write a number from 0 to 100"),
                    );
                    default
                }
                Some(x) => x,
                None => default,
            }
        };
        safety.max_group_removal_percent = percent(
            "max_group_removal_percent",
            s.max_group_removal_percent,
            safety.max_group_removal_percent,
        );
        safety.max_total_removal_percent = percent(
            "max_total_removal_percent",
            s.max_total_removal_percent,
            safety.max_total_removal_percent,
        );
        safety.min_group_size = s.min_group_size.unwrap_or(safety.min_group_size);
        safety.max_group_deletes = s.max_group_deletes.unwrap_or(safety.max_group_deletes);
    }

    let mut budget = Budget::default();
    if let Some(b) = raw.budget {
        if let Some(x) = b.bucket_share_percent {
            if x > 0.0 && x <= 100.0 {
                budget.bucket_share_percent = x;
            } else {
                doc.report(
                    &[k("budget"), k("bucket_share_percent")],
                    false,
                    "`bucket_share_percent` must be more than 0 and at most 100",
                );
            }
        }
        match b.max_writes_per_sync {
            Some(0) => doc.report(
                &[k("budget"), k("max_writes_per_sync")],
                false,
                "`max_writes_per_sync` must be at least 1 (remove the key for no limit)",
            ),
            other => budget.max_writes_per_sync = other,
        }
        if let Some(c) = b.max_concurrency {
            if (1..=75).contains(&c) {
                budget.max_concurrency = c as usize;
            } else {
                doc.report(
                    &[k("budget"), k("max_concurrency")],
                    false,
                    "`max_concurrency` must be from 1 to 75 (Okta's org-wide limit on concurrent requests)",
                );
            }
        }
    }

    let mut full_sync_every_hours = DEFAULT_FULL_SYNC_HOURS;
    if let Some(h) = raw.sync.as_ref().and_then(|s| s.full_every_hours) {
        if (1..=24 * 31).contains(&h) {
            full_sync_every_hours = h;
        } else {
            doc.report(
                &[k("sync"), k("full_every_hours")],
                false,
                "`full_every_hours` must be from 1 to 744 (31 days)",
            );
        }
    }

    let mut history_days = DEFAULT_HISTORY_DAYS;
    if let Some(d) = raw.sync.as_ref().and_then(|s| s.keep_history_days) {
        if (1..=3650).contains(&d) {
            history_days = d;
        } else {
            doc.report(
                &[k("sync"), k("keep_history_days")],
                false,
                "`keep_history_days` must be from 1 to 3650 (ten years)",
            );
        }
    }

    if doc.has_problems() {
        return None;
    }
    Some(Instance {
        name,
        enabled: raw.enabled.unwrap_or(true),
        okta_domain: domain,
        credential: credential?,
        policies,
        safety,
        budget,
        full_sync_every_hours,
        history_days,
    })
}

fn credential(doc: &Doc<'_>, raw: Option<super::raw::RawCredential>) -> Option<Credential> {
    let base = [k("okta"), k("credential")];
    let at = |key: &str| [k("okta"), k("credential"), k(key)];
    let Some(c) = raw else {
        return Some(Credential::default());
    };
    match (c.api_token_env, c.oauth) {
        (Some(_), Some(_)) => {
            doc.report(
                &base,
                false,
                "`credential` has both `api_token_env` and `oauth`; keep one of them",
            );
            None
        }
        (None, None) => {
            doc.report(
                &base,
                false,
                "`credential` needs `api_token_env: OKTA_API_TOKEN` or `oauth: {client_id: 0oa..., private_key_env: OKTA_PRIVATE_KEY}`",
            );
            None
        }
        (Some(env), None) => match checks::env_var_name("api_token_env", &env, "OKTA_API_TOKEN") {
            Ok(()) => Some(Credential::ApiToken { env }),
            Err(m) => {
                doc.report(&at("api_token_env"), false, m);
                None
            }
        },
        (None, Some(o)) => {
            let mut ok = true;
            let oauth = |key: &str| [k("okta"), k("credential"), k("oauth"), k(key)];
            if o.client_id.trim().is_empty() || o.client_id.chars().any(char::is_whitespace) {
                doc.report(
                    &oauth("client_id"),
                    false,
                    "`client_id` must be the service app's client id (0oa...), without spaces",
                );
                ok = false;
            }
            if let Err(m) =
                checks::env_var_name("private_key_env", &o.private_key_env, "OKTA_PRIVATE_KEY")
            {
                doc.report(&oauth("private_key_env"), false, m);
                ok = false;
            }
            if let Some(kid) = &o.key_id
                && (kid.trim().is_empty()
                    || checks::secret_kind(kid).is_some_and(|s| s.contains("PEM")))
            {
                doc.report(&oauth("key_id"), false, "`key_id` must be the key's id (kid) shown on the app's public key, or left out");
                ok = false;
            }
            let scopes = o
                .scopes
                .unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect());
            if scopes.is_empty() {
                doc.report(&oauth("scopes"), false, "`scopes` is empty; leave it out for the defaults (okta.users.read, okta.groups.manage, okta.schemas.read)");
                ok = false;
            }
            for (i, s) in scopes.iter().enumerate() {
                if !s.starts_with("okta.") || s.chars().any(char::is_whitespace) {
                    let mut path = oauth("scopes").to_vec();
                    path.push(Seg::Index(i));
                    doc.report(
                        &path,
                        false,
                        "each scope is an Okta scope name such as `okta.groups.manage`",
                    );
                    ok = false;
                }
            }
            ok.then_some(Credential::Oauth {
                client_id: o.client_id,
                private_key_env: o.private_key_env,
                key_id: o.key_id,
                scopes,
            })
        }
    }
}

/// The rules of one file that passed their own checks (others are reported on `doc`).
pub(crate) fn rules(doc: &Doc<'_>, raw: RawRulesFile) -> Vec<Rule> {
    let positions = doc.rule_item_positions(raw.rules.len());
    let mut out = Vec::new();
    for (i, r) in raw.rules.into_iter().enumerate() {
        let base = vec![k("rules"), Seg::Index(i)];
        let at = positions
            .as_ref()
            .and_then(|p| p.get(i).copied())
            .unwrap_or_else(|| doc.at(&base, false));
        if let Some(rule) = rule(doc, &base, r, origin(doc.name, at)) {
            out.push(rule);
        }
    }
    out
}

fn rule(doc: &Doc<'_>, base: &[Seg], r: RawRule, origin: Origin) -> Option<Rule> {
    let path = |key: &str| {
        let mut p = base.to_vec();
        p.push(k(key));
        p
    };
    let mut ok = true;
    let attribute = match checks::attribute_path(&r.attribute) {
        Ok(a) => a,
        Err(m) => {
            doc.report(&path("attribute"), false, m);
            ok = false;
            String::new()
        }
    };
    if let Err(m) = checks::prefix(&r.prefix) {
        doc.report(&path("prefix"), false, m);
        ok = false;
    }
    if let Some(d) = &r.description {
        for m in checks::description(d) {
            doc.report(&path("description"), false, m);
            ok = false;
        }
    }
    let aliases = r.aliases.unwrap_or_default();
    ok &= check_aliases(doc, &path("aliases"), &aliases);
    ok.then_some(Rule {
        attribute,
        prefix: r.prefix,
        description: r.description,
        aliases,
        enabled: r.enabled.unwrap_or(true),
        origin,
    })
}

fn check_aliases(doc: &Doc<'_>, base: &[Seg], aliases: &BTreeMap<String, Vec<String>>) -> bool {
    let mut ok = true;
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (canonical, list) in aliases {
        let mut cpath = base.to_vec();
        cpath.push(k(canonical));
        if canonical.trim().is_empty() {
            doc.report(&cpath, true, "an alias key is empty; write the value the aliases stand for, e.g. `Engineering: [Eng, ENG]`");
            ok = false;
        }
        if list.is_empty() {
            doc.report(
                &cpath,
                false,
                format!(
                    "`{}` lists no aliases; add some (`[Eng, ENG]`) or remove it",
                    short(canonical)
                ),
            );
            ok = false;
        }
        for (j, alias) in list.iter().enumerate() {
            let mut apath = cpath.clone();
            apath.push(Seg::Index(j));
            let problem = if alias.trim().is_empty() {
                Some("an alias is empty; remove it".to_string())
            } else if alias == canonical {
                Some(format!(
                    "`{}` is listed as an alias of itself; remove it",
                    short(alias)
                ))
            } else if aliases.contains_key(alias) {
                Some(format!(
                    "`{}` is a value with its own aliases and also an alias of `{}`; a value can feed only one group",
                    short(alias),
                    short(canonical)
                ))
            } else {
                seen.get(alias.as_str()).map(|first| {
                    format!(
                        "`{}` is already an alias of `{}`; a value can feed only one group: keep one",
                        short(alias),
                        short(first)
                    )
                })
            };
            if let Some(m) = problem {
                doc.report(&apath, false, m);
                ok = false;
            }
            seen.entry(alias.as_str()).or_insert(canonical.as_str());
        }
    }
    ok
}

/// Duplicate rules and prefixes whose group names can collide, across all rule files.
pub(crate) fn across_rules(rules: &[Rule], sep: Separator, diags: &mut Diagnostics) {
    let at = |o: &Origin| format!("{}:{}:{}", o.file, o.line, o.column);
    let mut first: HashMap<(String, String), &Rule> = HashMap::new();
    for (j, b) in rules.iter().enumerate() {
        if let Some(a) = first.get(&(b.attribute.clone(), b.prefix.clone())) {
            diags.push(Diagnostic::new(
                &b.origin.file,
                b.origin.line,
                b.origin.column,
                format!(
                    "duplicate rule: `{}` with prefix `{}` is already defined at {}; a rule is identified by its attribute and prefix: remove one of them",
                    b.attribute_path(),
                    b.prefix,
                    at(&a.origin)
                ),
            ));
            continue;
        }
        first.insert((b.attribute.clone(), b.prefix.clone()), b);
        for a in &rules[..j] {
            if a.attribute == b.attribute && a.prefix == b.prefix {
                continue;
            }
            if !checks::prefixes_can_collide(&a.prefix, &b.prefix, sep) {
                continue;
            }
            let msg = if a.prefix.eq_ignore_ascii_case(&b.prefix) {
                format!(
                    "prefix `{}` is also used by the rule for `{}` at {}; both would compute the same group names: give one of them another prefix",
                    b.prefix,
                    a.attribute_path(),
                    at(&a.origin)
                )
            } else {
                let (short_p, long_p) = if a.prefix.len() < b.prefix.len() {
                    (&a.prefix, &b.prefix)
                } else {
                    (&b.prefix, &a.prefix)
                };
                let s = sep.as_char();
                let rest = &long_p[short_p.len() + 1..];
                format!(
                    "prefix `{}` can produce the same group names as prefix `{}` of the rule at {}: a `{short_p}` value starting with `{}` gives `{long_p}{s}...`; choose prefixes where neither is the other followed by `{s}`",
                    b.prefix,
                    a.prefix,
                    at(&a.origin),
                    rest.to_lowercase()
                )
            };
            diags.push(Diagnostic::new(
                &b.origin.file,
                b.origin.line,
                b.origin.column,
                msg,
            ));
        }
    }
}

fn short(s: &str) -> String {
    let t: String = s.chars().filter(|c| !c.is_control()).take(60).collect();
    if s.chars().count() > 60 {
        format!("{t}…")
    } else {
        t
    }
}
