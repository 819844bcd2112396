//! The validated configuration: one instance (Okta connection, policies, safety limits, budget) and its
//! attribute rules. Produced by `config::load` from the raw YAML files; everything downstream reads only this.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Name separator policy: `department_engineering` or `department-engineering`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Separator {
    #[default]
    Underscore,
    Hyphen,
}

impl Separator {
    pub fn as_char(self) -> char {
        match self {
            Separator::Underscore => '_',
            Separator::Hyphen => '-',
        }
    }
}

/// What happens to a group the tool created once it has no members and no desired members.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EmptyGroups {
    #[default]
    Keep,
    Delete,
}

/// How manual membership changes made in Okta are treated (SPEC "Membership policies").
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MembershipPolicy {
    #[default]
    RespectManualFull,
    RespectManualPartial,
    Enforce,
}

/// What to do with an Okta group that has the computed name but is not managed by us.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CollisionPolicy {
    #[default]
    Skip,
    Adopt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Policies {
    pub separator: Separator,
    pub empty_groups: EmptyGroups,
    pub membership: MembershipPolicy,
    pub collision: CollisionPolicy,
}

/// The failsafe (SPEC "Safety"). A sync over any limit applies nothing to the affected groups.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SafetyLimits {
    /// Largest share (percent) of one group's members a sync may remove...
    pub max_group_removal_percent: f64,
    /// ...for groups with at least this many members.
    pub min_group_size: u64,
    /// Largest share (percent) of all managed memberships one sync may remove.
    pub max_total_removal_percent: f64,
    /// Most groups one sync may delete.
    pub max_group_deletes: u64,
}

impl Default for SafetyLimits {
    fn default() -> Self {
        SafetyLimits {
            max_group_removal_percent: 30.0,
            min_group_size: 200,
            max_total_removal_percent: 20.0,
            max_group_deletes: 5,
        }
    }
}

/// How much of Okta's rate limits one sync may use, so other integrations on the org are not starved.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Percent of each bucket's per-minute limit (as Okta reports it for our token) we may use.
    pub bucket_share_percent: f64,
    /// Most write calls (creates, member adds/removes, deletes) one sync may make; the rest waits for the next run.
    pub max_writes_per_sync: Option<u64>,
    /// Most requests in flight at once (Okta's org-wide cap is 75).
    pub max_concurrency: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            bucket_share_percent: 90.0,
            max_writes_per_sync: None,
            max_concurrency: 16,
        }
    }
}

/// How the credential is obtained. Never the secret itself: names of environment variables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Credential {
    /// `Authorization: SSWS <token>`, the token read from `env` (default `OKTA_API_TOKEN`, `OKTA_CLIENT_TOKEN` accepted).
    ApiToken { env: String },
    /// OAuth 2.0 client credentials with private_key_jwt (an Okta service app).
    Oauth {
        client_id: String,
        /// Environment variable holding the PEM private key.
        private_key_env: String,
        key_id: Option<String>,
        scopes: Vec<String>,
    },
}

impl Default for Credential {
    fn default() -> Self {
        Credential::ApiToken {
            env: "OKTA_API_TOKEN".to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// A short name for this instance (store, logs, comment marker).
    pub name: String,
    /// `enabled: false`: validated and assessed, never applied.
    pub enabled: bool,
    /// `company.okta.com`.
    pub okta_domain: String,
    pub credential: Credential,
    pub policies: Policies,
    pub safety: SafetyLimits,
    pub budget: Budget,
    /// Hours between full reconciles; incremental syncs in between.
    pub full_sync_every_hours: u64,
    /// Days of sync history and audit trail the store keeps.
    pub history_days: u64,
}

/// Where in the config repository something was written (for messages).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct Origin {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

/// A rule's identity: (attribute path, name prefix). Removing a rule and adding it back is the same rule.
pub type RuleId = String;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// The attribute's name within the profile: `department` for `profile.department`.
    pub attribute: String,
    /// Group name prefix: `department`.
    pub prefix: String,
    /// Optional description; `{value}` is replaced by the group's raw value.
    pub description: Option<String>,
    /// canonical value -> raw values that count as it (`Engineering: [Eng, ENG]`).
    pub aliases: BTreeMap<String, Vec<String>>,
    pub enabled: bool,
    pub origin: Origin,
}

impl Rule {
    pub fn id(&self) -> RuleId {
        rule_id(&self.attribute, &self.prefix)
    }

    /// `profile.department`.
    pub fn attribute_path(&self) -> String {
        format!("profile.{}", self.attribute)
    }

    /// Raw value -> the canonical value its alias maps it to.
    pub fn alias_map(&self) -> std::collections::HashMap<&str, &str> {
        self.aliases
            .iter()
            .flat_map(|(canon, raws)| raws.iter().map(move |r| (r.as_str(), canon.as_str())))
            .collect()
    }
}

pub fn rule_id(attribute: &str, prefix: &str) -> RuleId {
    format!("profile.{attribute}:{prefix}")
}

/// A validated configuration, as read from one revision of the config repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub instance: Instance,
    pub rules: Vec<Rule>,
    /// The git commit the configuration was read from (None for a plain folder).
    pub commit: Option<String>,
}
