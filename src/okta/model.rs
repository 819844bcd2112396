//! Okta's wire objects (users, groups, user schema, System Log events, error bodies) as serde types,
//! shared by the HTTP client, the emulator and the planner's input.
//!
//! Field names and shapes follow `shared/okta/openapi/` and the recordings in `shared/okta/recorded/`.
//! Anything Okta sends that we do not use is kept in `extra` so that the emulator can answer with the
//! full shape and nothing is lost on a round trip.

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Okta's timestamps: RFC 3339, always with milliseconds and `Z` (`2025-03-13T23:38:01.000Z`).
pub mod okta_time {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn format(t: &DateTime<Utc>) -> String {
        t.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&format(t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let raw: Option<String> = Option::deserialize(d)?;
        match raw {
            None => Ok(None),
            Some(s) => DateTime::parse_from_rfc3339(&s)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|e| serde::de::Error::custom(format!("timestamp {s:?}: {e}"))),
        }
    }
}

/// A user's lifecycle status ([spec UserStatus]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserStatus {
    Staged,
    Provisioned,
    Active,
    Recovery,
    LockedOut,
    PasswordExpired,
    Suspended,
    Deprovisioned,
    Activating,
    /// A status this version does not know; never counted as active.
    #[serde(other)]
    Unknown,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Staged => "STAGED",
            UserStatus::Provisioned => "PROVISIONED",
            UserStatus::Active => "ACTIVE",
            UserStatus::Recovery => "RECOVERY",
            UserStatus::LockedOut => "LOCKED_OUT",
            UserStatus::PasswordExpired => "PASSWORD_EXPIRED",
            UserStatus::Suspended => "SUSPENDED",
            UserStatus::Deprovisioned => "DEPROVISIONED",
            UserStatus::Activating => "ACTIVATING",
            UserStatus::Unknown => "UNKNOWN",
        }
    }

    pub fn parse(s: &str) -> Option<UserStatus> {
        serde_json::from_value(Value::String(s.to_ascii_uppercase()))
            .ok()
            .filter(|st| *st != UserStatus::Unknown)
    }
}

/// An Okta user as `GET /api/v1/users` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub status: UserStatus,
    #[serde(default, with = "okta_time")]
    pub created: Option<DateTime<Utc>>,
    #[serde(default, with = "okta_time")]
    pub activated: Option<DateTime<Utc>>,
    #[serde(default, with = "okta_time")]
    pub status_changed: Option<DateTime<Utc>>,
    #[serde(default, with = "okta_time")]
    pub last_login: Option<DateTime<Utc>>,
    #[serde(default, with = "okta_time")]
    pub last_updated: Option<DateTime<Utc>>,
    #[serde(default, with = "okta_time")]
    pub password_changed: Option<DateTime<Utc>>,
    /// `login`, `email`, names, and every base or custom attribute (strings, numbers, booleans, arrays).
    #[serde(default)]
    pub profile: Map<String, Value>,
    /// `type`, `credentials`, `_links`, `transitioningToStatus`, `realmId`, ...
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl User {
    pub fn login(&self) -> Option<&str> {
        self.profile.get("login").and_then(Value::as_str)
    }
}

/// Group types ([spec GroupType]); only `OKTA_GROUP` can be changed through the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GroupType {
    OktaGroup,
    AppGroup,
    BuiltIn,
    #[serde(other)]
    Unknown,
}

impl GroupType {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupType::OktaGroup => "OKTA_GROUP",
            GroupType::AppGroup => "APP_GROUP",
            GroupType::BuiltIn => "BUILT_IN",
            GroupType::Unknown => "UNKNOWN",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GroupProfile {
    pub name: String,
    /// Okta sends `null` for a group without one.
    #[serde(default)]
    pub description: Option<String>,
    /// Extra profile fields (AD groups carry several).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct GroupStats {
    #[serde(default)]
    pub users_count: Option<u64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GroupEmbedded {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<GroupStats>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An Okta group as `GET /api/v1/groups` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: String,
    #[serde(default, with = "okta_time")]
    pub created: Option<DateTime<Utc>>,
    #[serde(default, with = "okta_time")]
    pub last_updated: Option<DateTime<Utc>>,
    #[serde(default, with = "okta_time")]
    pub last_membership_updated: Option<DateTime<Utc>>,
    #[serde(default)]
    pub object_class: Vec<String>,
    #[serde(rename = "type")]
    pub group_type: GroupType,
    pub profile: GroupProfile,
    #[serde(rename = "_embedded", default, skip_serializing_if = "Option::is_none")]
    pub embedded: Option<GroupEmbedded>,
    #[serde(rename = "_links", default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Value>,
}

impl Group {
    /// `_embedded.stats.usersCount`, present when listed with `expand=stats`.
    pub fn users_count(&self) -> Option<u64> {
        self.embedded.as_ref()?.stats.as_ref()?.users_count
    }
}

/// Okta's error body, present on every `/api/v1` error ([docs:core-okta-api §Errors]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub error_code: String,
    pub error_summary: String,
    #[serde(default)]
    pub error_link: String,
    #[serde(default)]
    pub error_id: String,
    #[serde(default)]
    pub error_causes: Vec<ErrorCause>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ErrorCause {
    pub error_summary: String,
}

/// The OAuth endpoints' error body (`/oauth2/v1/token`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthErrorBody {
    pub error: String,
    #[serde(default)]
    pub error_description: String,
}

/// `POST /oauth2/v1/token` success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub token_type: String,
    pub expires_in: u64,
    pub access_token: String,
    #[serde(default)]
    pub scope: String,
}

/// One permission entry of a schema attribute, e.g. `{"principal":"SELF","action":"READ_WRITE"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaPermission {
    pub principal: String,
    pub action: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaAttribute {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(rename = "type", default)]
    pub attr_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutability: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default)]
    pub permissions: Vec<SchemaPermission>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SchemaAttribute {
    /// Users may edit this attribute about themselves (permission SELF READ_WRITE).
    pub fn self_editable(&self) -> bool {
        self.permissions
            .iter()
            .any(|p| p.principal == "SELF" && p.action == "READ_WRITE")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SchemaSection {
    #[serde(default)]
    pub id: String,
    #[serde(rename = "type", default)]
    pub section_type: String,
    #[serde(default)]
    pub properties: IndexMap<String, SchemaAttribute>,
    #[serde(default)]
    pub required: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SchemaDefinitions {
    #[serde(default)]
    pub base: SchemaSection,
    #[serde(default)]
    pub custom: SchemaSection,
}

/// `GET /api/v1/meta/schemas/user/default`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserSchema {
    pub definitions: SchemaDefinitions,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A System Log event (`GET /api/v1/logs`); only the fields we read are typed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEvent {
    pub uuid: String,
    #[serde(default, with = "okta_time")]
    pub published: Option<DateTime<Utc>>,
    pub event_type: String,
    #[serde(default)]
    pub actor: Option<LogActor>,
    #[serde(default)]
    pub target: Vec<LogActor>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogActor {
    pub id: String,
    #[serde(rename = "type")]
    pub actor_type: String,
    #[serde(default)]
    pub alternate_id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
