//! `sim generate`: a realistic synthetic org, deterministic for a given RNG seed. Skewed departments,
//! locations with accents, cost centres, a multi-valued `skills` attribute, ~5 % non-ACTIVE users,
//! values with spaces and punctuation, and a few existing groups whose names collide with the
//! `department_*` / `location_*` groups a rule would create (one OKTA_GROUP, one APP_GROUP).

use std::io::Write;

use indexmap::IndexMap;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};
use unicode_normalization::UnicodeNormalization;

use crate::okta::model::{GroupType, UserStatus};

use super::seed::{Seed, SeedGroup, SeedGroupProfile, SeedSchema, SeedToken, SeedUser};
use super::state::Org;

const DEPARTMENTS: &[(&str, u32)] = &[
    ("Engineering", 30),
    ("Sales & Marketing", 18),
    ("R&D", 12),
    ("Customer Success", 10),
    ("IT Operations", 8),
    ("Finance", 6),
    ("Product", 6),
    ("Human Resources", 4),
    ("Legal", 3),
    ("Facilities & Security", 2),
    ("Office of the CEO", 1),
];

const LOCATIONS: &[(&str, u32)] = &[
    ("New York", 22),
    ("London", 16),
    ("Zürich", 12),
    ("São Paulo", 10),
    ("Kraków", 10),
    ("Montréal", 8),
    ("Lisbon", 7),
    ("Berlin", 6),
    ("Tokyo", 5),
    ("Paris La Défense", 4),
];

const FIRST: &[&str] = &[
    "Ana",
    "José",
    "Zoë",
    "Łukasz",
    "Chloé",
    "François",
    "Søren",
    "Anaïs",
    "Mateus",
    "Li",
    "Aisha",
    "Noah",
    "Emma",
    "Olivia",
    "Liam",
    "Yuki",
    "Mário",
    "Björn",
    "Agnieszka",
    "Renée",
    "Omar",
    "Priya",
];

const LAST: &[&str] = &[
    "Ito",
    "García",
    "Müller",
    "Nowak",
    "Dubois",
    "O'Brien",
    "Silva",
    "Kowalski",
    "Tremblay",
    "Smith",
    "Nakamura",
    "Johansson",
    "Rossi",
    "van der Berg",
    "Fernández",
    "Khan",
    "Lévesque",
    "Schäfer",
];

const SKILLS: &[&str] = &[
    "rust",
    "go",
    "python",
    "C++",
    "sql",
    "kubernetes",
    "machine learning",
    "excel",
    "negotiation",
    "design",
    "public speaking",
    "R&D tooling",
];

const TITLES: &[&str] = &[
    "Engineer",
    "Senior Engineer",
    "Manager",
    "Director",
    "Analyst",
    "Account Executive",
    "Specialist",
    "VP, Operations",
];

fn weighted<'a>(rng: &mut StdRng, table: &'a [(&'a str, u32)]) -> &'a str {
    let total: u32 = table.iter().map(|(_, w)| w).sum();
    let mut pick = rng.random_range(0..total);
    for (v, w) in table {
        if pick < *w {
            return v;
        }
        pick -= w;
    }
    table[0].0
}

fn ascii_fold(s: &str) -> String {
    s.nfd()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_lowercase()
}

fn user(rng: &mut StdRng, i: usize) -> SeedUser {
    let first = FIRST[rng.random_range(0..FIRST.len())];
    let last = LAST[rng.random_range(0..LAST.len())];
    let login = format!(
        "{}.{}{}@example.com",
        ascii_fold(first),
        ascii_fold(last),
        i
    );
    let mut p = Map::new();
    p.insert("login".into(), json!(login));
    p.insert("email".into(), json!(login));
    p.insert("firstName".into(), json!(first));
    p.insert("lastName".into(), json!(last));
    p.insert("department".into(), json!(weighted(rng, DEPARTMENTS)));
    p.insert("city".into(), json!(weighted(rng, LOCATIONS)));
    p.insert(
        "costCenter".into(),
        json!(format!("CC-{}", 1000 + rng.random_range(0..40) * 10)),
    );
    p.insert(
        "title".into(),
        json!(TITLES[rng.random_range(0..TITLES.len())]),
    );
    p.insert("employeeNumber".into(), json!(format!("{:06}", i + 1)));
    let n = rng.random_range(0..5);
    let mut skills: Vec<&str> = Vec::new();
    for _ in 0..n {
        let s = SKILLS[rng.random_range(0..SKILLS.len())];
        if !skills.contains(&s) {
            skills.push(s);
        }
    }
    p.insert("skills".into(), json!(skills));
    let roll = rng.random_range(0..1000);
    let status = match roll {
        0..20 => UserStatus::Suspended,
        20..40 => UserStatus::Deprovisioned,
        40..50 => UserStatus::Staged,
        _ => UserStatus::Active,
    };
    SeedUser {
        id: None,
        status: Some(status),
        profile: p,
    }
}

fn custom_schema() -> SeedSchema {
    let mut custom = IndexMap::new();
    custom.insert(
        "skills".to_string(),
        json!({"type": "array", "items": {"type": "string"}, "permissions": "self_read_write"}),
    );
    SeedSchema { custom }
}

/// The existing groups: two collide with rule-made names (OKTA_GROUP and APP_GROUP), one does not.
fn groups(users: &[SeedUser]) -> Vec<SeedGroup> {
    let logins_of = |dept: &str, n: usize| -> Vec<String> {
        users
            .iter()
            .filter(|u| u.profile.get("department").and_then(Value::as_str) == Some(dept))
            .filter_map(|u| {
                u.profile
                    .get("login")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .take(n)
            .collect()
    };
    vec![
        SeedGroup {
            id: None,
            group_type: GroupType::OktaGroup,
            profile: SeedGroupProfile {
                name: "department_engineering".into(),
                description: Some("made by hand before dyngroups".into()),
            },
            members: logins_of("Engineering", 5),
        },
        SeedGroup {
            id: None,
            group_type: GroupType::AppGroup,
            profile: SeedGroupProfile {
                name: "location_zurich".into(),
                description: Some("imported from Active Directory".into()),
            },
            members: Vec::new(),
        },
        SeedGroup {
            id: None,
            group_type: GroupType::OktaGroup,
            profile: SeedGroupProfile {
                name: "Sales & Marketing leads".into(),
                description: None,
            },
            members: logins_of("Sales & Marketing", 3),
        },
    ]
}

/// A synthetic org of `users` users; the same `rng_seed` gives the same org (ids included).
pub fn generate(users: usize, rng_seed: u64) -> Seed {
    let mut rng = StdRng::seed_from_u64(rng_seed);
    let list: Vec<SeedUser> = (0..users).map(|i| user(&mut rng, i)).collect();
    let groups = groups(&list);
    Seed {
        users: list,
        groups,
        tokens: None,
        oauth_clients: Vec::new(),
        schema: Some(custom_schema()),
        rng_seed: Some(rng_seed),
    }
}

/// Writes a seed as JSON, one user per line (fast for 100k users, readable with `head`).
pub fn write_json(seed: &Seed, out: &mut dyn Write) -> std::io::Result<()> {
    let enc = |v: &dyn erased::Ser| v.json();
    out.write_all(b"{\"users\": [\n")?;
    for (i, u) in seed.users.iter().enumerate() {
        if i > 0 {
            out.write_all(b",\n")?;
        }
        out.write_all(enc(u)?.as_bytes())?;
    }
    out.write_all(b"\n],\n\"groups\": [\n")?;
    for (i, g) in seed.groups.iter().enumerate() {
        if i > 0 {
            out.write_all(b",\n")?;
        }
        out.write_all(enc(g)?.as_bytes())?;
    }
    out.write_all(b"\n]")?;
    if let Some(t) = &seed.tokens {
        write!(out, ",\n\"tokens\": {}", enc(t)?)?;
    }
    if !seed.oauth_clients.is_empty() {
        write!(out, ",\n\"oauth_clients\": {}", enc(&seed.oauth_clients)?)?;
    }
    if let Some(s) = &seed.schema {
        write!(out, ",\n\"schema\": {}", enc(s)?)?;
    }
    if let Some(r) = seed.rng_seed {
        write!(out, ",\n\"rng_seed\": {r}")?;
    }
    out.write_all(b"\n}\n")
}

mod erased {
    pub trait Ser {
        fn json(&self) -> std::io::Result<String>;
    }
    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> std::io::Result<String> {
            serde_json::to_string(self).map_err(std::io::Error::other)
        }
    }
}

/// The org as a seed (ids, statuses, profiles, memberships by user id, tokens, custom schema).
pub(crate) fn seed_of(org: &Org) -> Seed {
    let users = org
        .user_order
        .values()
        .filter_map(|id| org.users.get(id))
        .map(|r| {
            let mut profile = r.user.profile.clone();
            profile.retain(|_, v| !v.is_null());
            SeedUser {
                id: Some(r.user.id.clone()),
                status: Some(r.user.status),
                profile,
            }
        })
        .collect();
    let groups = org
        .group_order
        .values()
        .filter_map(|id| org.groups.get(id))
        .map(|g| SeedGroup {
            id: Some(g.group.id.clone()),
            group_type: g.group.group_type,
            profile: SeedGroupProfile {
                name: g.group.profile.name.clone(),
                description: g.group.profile.description.clone(),
            },
            members: g.members.values().cloned().collect(),
        })
        .collect();
    let mut tokens: Vec<SeedToken> = org
        .tokens
        .iter()
        .filter(|(_, t)| t.expires.is_none())
        .map(|(k, t)| SeedToken {
            token: k.clone(),
            scopes: t.scopes.iter().cloned().collect(),
        })
        .collect();
    tokens.sort_by(|a, b| a.token.cmp(&b.token));
    Seed {
        users,
        groups,
        tokens: Some(tokens),
        oauth_clients: org.oauth_clients.clone(),
        schema: Some(SeedSchema {
            custom: org.custom_schema.clone(),
        }),
        rng_seed: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_realistic() {
        let a = generate(2000, 7);
        let b = generate(2000, 7);
        assert_eq!(a, b);
        assert_ne!(a, generate(2000, 8));
        let non_active = a
            .users
            .iter()
            .filter(|u| u.status != Some(UserStatus::Active))
            .count();
        assert!((50..=150).contains(&non_active), "{non_active}");
        let cities: Vec<&str> = a
            .users
            .iter()
            .filter_map(|u| u.profile["city"].as_str())
            .collect();
        assert!(cities.contains(&"Zürich") && cities.contains(&"São Paulo"));
        let eng = a
            .users
            .iter()
            .filter(|u| u.profile["department"] == "Engineering")
            .count();
        let legal = a
            .users
            .iter()
            .filter(|u| u.profile["department"] == "Legal")
            .count();
        assert!(eng > 4 * legal, "skewed: {eng} vs {legal}");
        assert!(a.groups.iter().any(|g| g.group_type == GroupType::AppGroup));
        let mut buf = Vec::new();
        write_json(&a, &mut buf).unwrap();
        let back = Seed::from_yaml_str(std::str::from_utf8(&buf).unwrap()).unwrap();
        assert_eq!(back, a);
        let emu = crate::sim::Emulator::from_seed(a).unwrap();
        assert_eq!(emu.users().len(), 2000);
        assert_eq!(
            emu.member_logins(&emu.group_by_name("department_engineering").unwrap().id)
                .len(),
            5
        );
    }
}
