//! The raw mirrors of the two file kinds, exactly as written in YAML (`deny_unknown_fields`, every optional key
//! an `Option`). The JSON Schema in `schema/` is generated from these types; `resolve` turns them into the
//! checked `model::Config`. Key names here are the public file format (documented in docs/config.md).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::model::{CollisionPolicy, EmptyGroups, MembershipPolicy, Separator};

/// The instance file `dyngroups.yaml` at the root of the config repository.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "dyngroups instance file (dyngroups.yaml)")]
pub struct RawInstance {
    /// Short name of this instance (letters, digits, `-`, `_`; at most 64). Default: the first label of the Okta domain.
    pub name: Option<String>,
    /// `false`: rules are validated and assessed but nothing is ever applied. Default: true.
    pub enabled: Option<bool>,
    /// The Okta org and how to authenticate to it.
    pub okta: RawOkta,
    /// The four policies (SPEC "Policies").
    pub policies: Option<RawPolicies>,
    /// The failsafe: limits above which a sync applies nothing to the affected groups.
    pub safety: Option<RawSafety>,
    /// How much of Okta's rate limits one sync may use.
    pub budget: Option<RawBudget>,
    /// Scheduling of syncs.
    pub sync: Option<RawSync>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOkta {
    /// The org's host name without scheme, e.g. `acme.okta.com`.
    pub domain: String,
    /// How to obtain the credential: the NAME of an environment variable, never the secret itself.
    /// Default: `{api_token_env: OKTA_API_TOKEN}`.
    pub credential: Option<RawCredential>,
}

/// Exactly one of `api_token_env` or `oauth`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCredential {
    /// Name of the environment variable holding an Okta API token (SSWS), e.g. `OKTA_API_TOKEN`.
    pub api_token_env: Option<String>,
    /// OAuth 2.0 client credentials with private_key_jwt (an Okta API service app).
    pub oauth: Option<RawOauth>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOauth {
    /// The service app's client id (`0oa...`).
    pub client_id: String,
    /// Name of the environment variable holding the PEM private key.
    pub private_key_env: String,
    /// The `kid` of the key registered on the app, if Okta should match it.
    pub key_id: Option<String>,
    /// Scopes to request. Default: okta.users.read, okta.groups.manage, okta.schemas.read.
    pub scopes: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPolicies {
    /// `underscore` (department_engineering) or `hyphen` (department-engineering). Default: underscore.
    pub name_separator: Option<Separator>,
    /// `keep` or `delete` a group the tool created once it has no members. Default: keep.
    pub empty_groups: Option<EmptyGroups>,
    /// `respect_manual_full`, `respect_manual_partial` or `enforce`. Default: respect_manual_full.
    pub membership: Option<MembershipPolicy>,
    /// `skip` or `adopt` an existing Okta group with the computed name. Default: skip.
    pub collision: Option<CollisionPolicy>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSafety {
    /// Largest share (percent, 0-100) of one group's members a sync may remove. Default: 30.
    pub max_group_removal_percent: Option<f64>,
    /// The per-group limit applies to groups with at least this many members. Default: 200.
    pub min_group_size: Option<u64>,
    /// Largest share (percent, 0-100) of all managed memberships one sync may remove. Default: 20.
    pub max_total_removal_percent: Option<f64>,
    /// Most groups one sync may delete. Default: 5.
    pub max_group_deletes: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBudget {
    /// Percent (1-100) of each rate-limit bucket a sync may use. Default: 90.
    pub bucket_share_percent: Option<f64>,
    /// Most write calls one sync may make; the rest waits for the next run. Default: no limit.
    pub max_writes_per_sync: Option<u64>,
    /// Most requests in flight at once (1-75). Default: 16.
    pub max_concurrency: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSync {
    /// Hours between full reconciles (at least 1). Default: 24.
    pub full_every_hours: Option<u64>,
    /// Days of sync history and audit trail the store keeps (1 to 3650). Default: 365.
    pub keep_history_days: Option<u64>,
}

/// A rule file `rules/*.yaml`: one or more attribute rules.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "dyngroups rule file (rules/*.yaml)")]
pub struct RawRulesFile {
    /// The attribute rules of this file.
    pub rules: Vec<RawRule>,
}

/// One attribute rule: one Okta group per distinct value of the attribute.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// The user profile attribute, `profile.<name>` (e.g. `profile.department`).
    pub attribute: String,
    /// Group name prefix: letters, digits, `_` and `-`, at most 200 characters (e.g. `department`).
    pub prefix: String,
    /// Group description; `{value}` is replaced by the attribute value. At most 1024 characters.
    pub description: Option<String>,
    /// Canonical value -> other raw values that feed the same group (`Engineering: [Eng, ENG]`).
    pub aliases: Option<BTreeMap<String, Vec<String>>>,
    /// `false`: validated and assessed, never applied. Default: true.
    pub enabled: Option<bool>,
}
