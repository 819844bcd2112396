//! The emulator's seed file (SPEC "The emulator's seed file"): users, groups with members, tokens and
//! their scopes, OAuth clients, custom schema attributes. YAML or JSON; every problem is reported with
//! the entry it is about.

use std::path::Path;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::okta::model::{GroupType, UserStatus};

/// Every scope the emulator knows; the default token has all of them.
pub const ALL_SCOPES: &[&str] = &[
    "okta.users.read",
    "okta.users.manage",
    "okta.groups.read",
    "okta.groups.manage",
    "okta.schemas.read",
    "okta.schemas.manage",
    "okta.logs.read",
];

/// The token a seed without `tokens:` gets.
pub const DEFAULT_TOKEN: &str = "emulator-token";

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("reading the seed file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the seed file {origin} is not valid YAML/JSON for a seed: {detail}")]
    Parse { origin: String, detail: String },
    #[error("seed {place}: {problem}")]
    Invalid { place: String, problem: String },
}

impl SeedError {
    pub fn invalid(place: impl Into<String>, problem: impl Into<String>) -> SeedError {
        SeedError::Invalid {
            place: place.into(),
            problem: problem.into(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    pub users: Vec<SeedUser>,
    #[serde(default)]
    pub groups: Vec<SeedGroup>,
    /// `None`: one token `emulator-token` with every scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<Vec<SeedToken>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oauth_clients: Vec<SeedOauthClient>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<SeedSchema>,
    /// Seeds the id generator, so that generated ids are the same on every run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rng_seed: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<UserStatus>,
    pub profile: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedGroup {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type", default = "okta_group")]
    pub group_type: GroupType,
    pub profile: SeedGroupProfile,
    /// Logins (or user ids) of the members.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
}

fn okta_group() -> GroupType {
    GroupType::OktaGroup
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedGroupProfile {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedToken {
    pub token: String,
    pub scopes: Vec<String>,
}

/// An OAuth service app allowed to use `private_key_jwt` at `/oauth2/v1/token`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedOauthClient {
    pub client_id: String,
    /// PEM public key (RSA or EC) the client's assertions are verified with.
    pub public_key_pem: String,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedSchema {
    /// Custom attribute name -> Okta schema property (`type`, `items`, `permissions: self_read_write`...).
    #[serde(default)]
    pub custom: IndexMap<String, Value>,
}

impl Seed {
    /// Parses YAML (JSON is accepted too, being YAML).
    pub fn from_yaml_str(text: &str) -> Result<Seed, SeedError> {
        Seed::parse(text, "(inline)")
    }

    /// Reads a seed file; JSON files (starting with `{`) take the fast JSON parser.
    pub fn from_path(path: &Path) -> Result<Seed, SeedError> {
        let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Seed::parse(&text, &path.display().to_string())
    }

    fn parse(text: &str, origin: &str) -> Result<Seed, SeedError> {
        let parsed = if text.trim_start().starts_with('{') {
            serde_json::from_str::<Seed>(text).map_err(|e| e.to_string())
        } else {
            serde_yaml::from_str::<Option<Seed>>(text)
                .map(Option::unwrap_or_default)
                .map_err(|e| e.to_string())
        };
        let seed = parsed.map_err(|detail| SeedError::Parse {
            origin: origin.to_string(),
            detail,
        })?;
        seed.validate()?;
        Ok(seed)
    }

    /// Structural checks; the org itself checks uniqueness while loading.
    pub fn validate(&self) -> Result<(), SeedError> {
        for (i, u) in self.users.iter().enumerate() {
            let place = format!("users[{i}]");
            match u.profile.get("login") {
                Some(Value::String(s)) if !s.trim().is_empty() => {}
                _ => {
                    return Err(SeedError::invalid(
                        place,
                        "profile.login is missing or empty",
                    ));
                }
            }
            if matches!(u.status, Some(UserStatus::Unknown | UserStatus::Activating)) {
                return Err(SeedError::invalid(
                    place,
                    "status must be one of STAGED, PROVISIONED, ACTIVE, RECOVERY, LOCKED_OUT, \
                     PASSWORD_EXPIRED, SUSPENDED, DEPROVISIONED",
                ));
            }
            check_id(&place, u.id.as_deref())?;
        }
        for (i, g) in self.groups.iter().enumerate() {
            let place = format!("groups[{i}] ({:?})", g.profile.name);
            if g.group_type == GroupType::Unknown {
                return Err(SeedError::invalid(
                    place,
                    "type must be OKTA_GROUP, APP_GROUP or BUILT_IN",
                ));
            }
            if g.profile.name.is_empty() || g.profile.name.chars().count() > 255 {
                return Err(SeedError::invalid(
                    place,
                    "profile.name must have 1 to 255 characters",
                ));
            }
            check_id(&place, g.id.as_deref())?;
        }
        for (i, t) in self.tokens.iter().flatten().enumerate() {
            let place = format!("tokens[{i}]");
            if t.token.trim().is_empty() {
                return Err(SeedError::invalid(place, "token is empty"));
            }
            check_scopes(&place, &t.scopes)?;
        }
        for (i, c) in self.oauth_clients.iter().enumerate() {
            let place = format!("oauth_clients[{i}] ({})", c.client_id);
            check_scopes(&place, &c.scopes)?;
            if !c.public_key_pem.contains("BEGIN") {
                return Err(SeedError::invalid(
                    place,
                    "public_key_pem is not a PEM public key",
                ));
            }
        }
        if let Some(schema) = &self.schema {
            for (name, prop) in &schema.custom {
                let place = format!("schema.custom.{name}");
                let ty = prop.get("type").and_then(Value::as_str);
                if !matches!(
                    ty,
                    Some("string" | "boolean" | "integer" | "number" | "array")
                ) {
                    return Err(SeedError::invalid(
                        place,
                        "type must be string, boolean, integer, number or array",
                    ));
                }
                if super::schema::is_base(name) {
                    return Err(SeedError::invalid(
                        place,
                        "the name is taken by a base attribute",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Writes the seed as JSON (what `sim generate` does for large orgs).
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

fn check_id(place: &str, id: Option<&str>) -> Result<(), SeedError> {
    match id {
        Some(id) if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) => {
            Err(SeedError::invalid(
                place,
                format!("id {id:?} must be non-empty and alphanumeric"),
            ))
        }
        _ => Ok(()),
    }
}

fn check_scopes(place: &str, scopes: &[String]) -> Result<(), SeedError> {
    for s in scopes {
        if !ALL_SCOPES.contains(&s.as_str()) {
            return Err(SeedError::invalid(
                place,
                format!("unknown scope {s:?} (known: {})", ALL_SCOPES.join(", ")),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spec_example() {
        let seed = Seed::from_yaml_str(
            r#"
users:
  - id: 00u1a
    status: ACTIVE
    profile: {login: ana@example.com, email: ana@example.com, firstName: Ana, lastName: Ito,
              department: Engineering, city: Lisbon, skills: [rust, go]}
groups:
  - id: 00g1b
    type: OKTA_GROUP
    profile: {name: department_sales, description: made by hand}
    members: [ana@example.com]
tokens:
  - token: read-only-token
    scopes: [okta.users.read, okta.groups.read, okta.schemas.read]
schema:
  custom:
    skills: {type: array, items: {type: string}}
    costCenter2: {type: string, permissions: self_read_write}
"#,
        )
        .unwrap();
        assert_eq!(seed.users.len(), 1);
        assert_eq!(seed.groups[0].members, vec!["ana@example.com"]);
    }

    #[test]
    fn bad_seeds_name_the_problem() {
        let e = Seed::from_yaml_str("users: [{profile: {email: a@b.c}}]").unwrap_err();
        assert!(e.to_string().contains("users[0]: profile.login"), "{e}");
        let e = Seed::from_yaml_str("users: [{status: ACTIV, profile: {login: a}}]").unwrap_err();
        assert!(e.to_string().contains("users[0]"), "{e}");
        let e = Seed::from_yaml_str("tokens: [{token: t, scopes: [okta.foo]}]").unwrap_err();
        assert!(e.to_string().contains("okta.foo"), "{e}");
        let e = Seed::from_yaml_str("groups: [{type: FOO, profile: {name: x}}]").unwrap_err();
        assert!(e.to_string().contains("groups[0]"), "{e}");
        let e = Seed::from_yaml_str("userz: []").unwrap_err();
        assert!(e.to_string().contains("userz"), "{e}");
        let e = Seed::from_yaml_str("schema: {custom: {department: {type: string}}}").unwrap_err();
        assert!(e.to_string().contains("base attribute"), "{e}");
    }
}
