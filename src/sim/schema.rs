//! The user schema the emulator serves (`GET /api/v1/meta/schemas/user/default`): Okta's 31 base
//! attributes as a real org lists them, plus the seed's custom attributes (declared or inferred).

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use crate::okta::model::okta_time;

/// (name, title, SELF permission, extra keys as JSON).
const BASE: &[(&str, &str, &str, &str)] = &[
    (
        "login",
        "Username",
        "READ_ONLY",
        r#"{"required":true,"minLength":5,"maxLength":100}"#,
    ),
    (
        "firstName",
        "First name",
        "READ_WRITE",
        r#"{"required":true,"minLength":1,"maxLength":50}"#,
    ),
    (
        "lastName",
        "Last name",
        "READ_WRITE",
        r#"{"required":true,"minLength":1,"maxLength":50}"#,
    ),
    ("middleName", "Middle name", "READ_ONLY", "{}"),
    ("honorificPrefix", "Honorific prefix", "READ_ONLY", "{}"),
    ("honorificSuffix", "Honorific suffix", "READ_ONLY", "{}"),
    (
        "email",
        "Primary email",
        "READ_WRITE",
        r#"{"required":true,"format":"email"}"#,
    ),
    ("title", "Title", "READ_ONLY", "{}"),
    ("displayName", "Display name", "READ_ONLY", "{}"),
    ("nickName", "Nickname", "READ_ONLY", "{}"),
    (
        "profileUrl",
        "Profile Url",
        "READ_ONLY",
        r#"{"format":"uri"}"#,
    ),
    (
        "secondEmail",
        "Secondary email",
        "READ_WRITE",
        r#"{"format":"email"}"#,
    ),
    (
        "mobilePhone",
        "Mobile phone",
        "READ_WRITE",
        r#"{"maxLength":100}"#,
    ),
    (
        "primaryPhone",
        "Primary phone",
        "HIDE",
        r#"{"maxLength":100}"#,
    ),
    ("streetAddress", "Street address", "HIDE", "{}"),
    ("city", "City", "HIDE", "{}"),
    ("state", "State", "HIDE", "{}"),
    ("zipCode", "Zip code", "HIDE", "{}"),
    (
        "countryCode",
        "Country code",
        "HIDE",
        r#"{"format":"country-code"}"#,
    ),
    ("postalAddress", "Postal Address", "HIDE", "{}"),
    (
        "preferredLanguage",
        "Preferred language",
        "READ_ONLY",
        r#"{"format":"language-code"}"#,
    ),
    ("locale", "Locale", "READ_ONLY", r#"{"format":"locale"}"#),
    (
        "timezone",
        "Time zone",
        "READ_ONLY",
        r#"{"format":"timezone"}"#,
    ),
    ("userType", "User type", "READ_ONLY", "{}"),
    ("employeeNumber", "Employee number", "READ_ONLY", "{}"),
    ("costCenter", "Cost center", "READ_ONLY", "{}"),
    ("organization", "Organization", "READ_ONLY", "{}"),
    ("division", "Division", "READ_ONLY", "{}"),
    ("department", "Department", "READ_ONLY", "{}"),
    ("managerId", "ManagerId", "READ_ONLY", "{}"),
    ("manager", "Manager", "READ_ONLY", "{}"),
];

/// True for one of Okta's base attribute names (compared case-insensitively, as Okta does for custom names).
pub fn is_base(name: &str) -> bool {
    BASE.iter().any(|(n, ..)| n.eq_ignore_ascii_case(name))
}

pub fn base_names() -> impl Iterator<Item = &'static str> {
    BASE.iter().map(|(n, ..)| *n)
}

fn base_property(name: &str, title: &str, perm: &str, extra: &str) -> Value {
    let mut p = Map::new();
    p.insert("title".into(), json!(title));
    p.insert("type".into(), json!("string"));
    if let Ok(Value::Object(extra)) = serde_json::from_str::<Value>(extra) {
        for (k, v) in extra {
            p.insert(k, v);
        }
    }
    p.insert("mutability".into(), json!("READ_WRITE"));
    p.insert("scope".into(), json!("NONE"));
    p.insert(
        "permissions".into(),
        json!([{"principal": "SELF", "action": perm}]),
    );
    p.insert("master".into(), json!({"type": "PROFILE_MASTER"}));
    let _ = name;
    Value::Object(p)
}

/// A custom attribute in Okta's shape from a seed declaration (`type`, `items`, `permissions:
/// self_read_write` or an Okta permission list, anything else kept).
pub fn custom_property(name: &str, decl: &Value) -> Value {
    let mut p = Map::new();
    p.insert("title".into(), json!(name));
    let mut perm = "READ_ONLY";
    if let Value::Object(d) = decl {
        for (k, v) in d {
            match (k.as_str(), v) {
                ("permissions", Value::String(s)) => {
                    perm = match s.to_ascii_lowercase().as_str() {
                        "self_read_write" | "read_write" => "READ_WRITE",
                        "hide" | "self_hide" => "HIDE",
                        _ => "READ_ONLY",
                    }
                }
                _ => {
                    p.insert(k.clone(), v.clone());
                }
            }
        }
    }
    p.entry("mutability").or_insert(json!("READ_WRITE"));
    p.entry("scope").or_insert(json!("NONE"));
    p.entry("permissions")
        .or_insert(json!([{"principal": "SELF", "action": perm}]));
    p.entry("master")
        .or_insert(json!({"type": "PROFILE_MASTER"}));
    Value::Object(p)
}

/// The Okta schema type a profile value implies (for custom attributes a seed uses but does not declare).
pub fn infer(value: &Value) -> Option<Value> {
    let t = match value {
        Value::String(_) => json!({"type": "string"}),
        Value::Bool(_) => json!({"type": "boolean"}),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({"type": "integer"}),
        Value::Number(_) => json!({"type": "number"}),
        Value::Array(items) => {
            let item = match items.first() {
                Some(Value::Number(n)) if n.is_i64() => "integer",
                Some(Value::Number(_)) => "number",
                _ => "string",
            };
            json!({"type": "array", "items": {"type": item}})
        }
        _ => return None,
    };
    Some(t)
}

/// The whole schema document as Okta sends it; `base` is the org URL used in ids and links.
pub fn document(
    base: &str,
    custom: &IndexMap<String, Value>,
    created: DateTime<Utc>,
    last_updated: DateTime<Utc>,
) -> Value {
    let mut base_props = Map::new();
    for (name, title, perm, extra) in BASE {
        base_props.insert(name.to_string(), base_property(name, title, perm, extra));
    }
    let mut custom_props = Map::new();
    for (name, decl) in custom {
        custom_props.insert(name.clone(), custom_property(name, decl));
    }
    json!({
        "id": format!("{base}/meta/schemas/user/default"),
        "$schema": "http://json-schema.org/draft-04/schema#",
        "name": "user",
        "title": "User",
        "description": "Okta user profile template with default permission settings",
        "lastUpdated": okta_time::format(&last_updated),
        "created": okta_time::format(&created),
        "definitions": {
            "custom": {"id": "#custom", "type": "object", "properties": custom_props, "required": []},
            "base": {"id": "#base", "type": "object", "properties": base_props,
                     "required": ["login", "firstName", "lastName", "email"]}
        },
        "type": "object",
        "properties": {"profile": {"allOf": [{"$ref": "#/definitions/custom"}, {"$ref": "#/definitions/base"}]}},
        "_links": {
            "self": {"rel": "self", "href": format!("{base}/api/v1/meta/schemas/user/osc1emulator0000000"), "method": "GET"},
            "type": {"rel": "type", "href": format!("{base}/api/v1/meta/types/user/oty1emulator0000000"), "method": "GET"}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_okta_base_attributes() {
        assert_eq!(BASE.len(), 31);
        assert!(is_base("department") && is_base("Department") && !is_base("skills"));
        let mut custom = IndexMap::new();
        custom.insert(
            "skills".to_string(),
            json!({"type": "array", "items": {"type": "string"}, "permissions": "self_read_write"}),
        );
        let doc = document("http://x", &custom, Utc::now(), Utc::now());
        let skills = &doc["definitions"]["custom"]["properties"]["skills"];
        assert_eq!(skills["permissions"][0]["action"], "READ_WRITE");
        assert_eq!(
            doc["definitions"]["base"]["properties"]["department"]["type"],
            "string"
        );
        let parsed: crate::okta::model::UserSchema = serde_json::from_value(doc).unwrap();
        assert!(parsed.definitions.custom.properties["skills"].self_editable());
    }
}
