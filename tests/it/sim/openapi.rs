//! The emulator's answers validate against Okta's own OpenAPI description
//! (`../shared/okta/openapi/management-minimal.yaml`): users, groups (with stats), members, the user
//! schema, System Log events and error bodies.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::call;
use crate::support::{SMALL_ORG, emulator, serve, shared_dir};

/// OpenAPI 3.0 -> JSON Schema: `nullable: true` becomes a `null` alternative.
fn to_json_schema(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out: Map<String, Value> = m
                .iter()
                .filter(|(k, _)| k.as_str() != "nullable")
                .map(|(k, v)| (k.clone(), to_json_schema(v)))
                .collect();
            if m.get("nullable") == Some(&Value::Bool(true)) {
                if let Some(Value::String(t)) = out.get("type").cloned() {
                    out.insert("type".into(), json!([t, "null"]));
                    if let Some(Value::Array(e)) = out.get_mut("enum") {
                        e.push(Value::Null);
                    }
                } else {
                    return json!({"anyOf": [Value::Object(out), {"type": "null"}]});
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(to_json_schema).collect()),
        other => other.clone(),
    }
}

struct Spec {
    components: Value,
}

impl Spec {
    fn load(path: &Path) -> Spec {
        let text = std::fs::read_to_string(path).expect("read the OpenAPI file");
        let doc: Value = serde_yaml::from_str(&text).expect("parse the OpenAPI file");
        Spec {
            components: json!({"schemas": to_json_schema(&doc["components"]["schemas"])}),
        }
    }

    /// Problems of `instance` against `#/components/schemas/<name>` (empty = valid).
    fn problems(&self, name: &str, instance: &Value) -> Vec<String> {
        let schema =
            json!({"$ref": format!("#/components/schemas/{name}"), "components": self.components});
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .should_validate_formats(false)
            .build(&schema)
            .unwrap_or_else(|e| panic!("schema {name} does not compile: {e}"));
        validator
            .iter_errors(instance)
            .map(|e| format!("{name}: {} at {}", e, e.instance_path()))
            .collect()
    }
}

#[tokio::test]
async fn answers_validate_against_okta_openapi() {
    let Some(shared) = shared_dir() else {
        println!("skipping: ../shared not found (Okta's OpenAPI description)");
        return;
    };
    let spec = Spec::load(&shared.join("okta/openapi/management-minimal.yaml"));
    let emu = emulator(SMALL_ORG);
    let s = serve(&emu).await;
    let b = &s.base_url;
    let t = Some("emulator-token");
    // Okta sends `description: null` for groups without one, which its OpenAPI does not allow; the
    // groups here all have descriptions so that the rest of the shape is checked.
    let mut problems = Vec::new();

    let (_, _, users) = call(
        "GET",
        &format!("{b}/api/v1/users?search=status+pr"),
        t,
        None,
    )
    .await;
    let ana = users[0]["id"].as_str().unwrap().to_string();
    for u in users.as_array().unwrap() {
        problems.extend(spec.problems("User", u));
    }
    let (_, _, u) = call("GET", &format!("{b}/api/v1/users/{ana}"), t, None).await;
    problems.extend(spec.problems("User", &u));
    let (_, _, g) = call(
        "POST",
        &format!("{b}/api/v1/groups"),
        t,
        Some(&json!({"profile": {"name": "department_engineering", "description": "made by the test"}})),
    )
    .await;
    problems.extend(spec.problems("Group", &g));
    let gid = g["id"].as_str().unwrap();
    call(
        "PUT",
        &format!("{b}/api/v1/groups/{gid}/users/{ana}"),
        t,
        None,
    )
    .await;
    let (_, _, groups) = call("GET", &format!("{b}/api/v1/groups?expand=stats"), t, None).await;
    for g in groups.as_array().unwrap() {
        problems.extend(spec.problems("Group", g));
    }
    let (_, _, members) = call("GET", &format!("{b}/api/v1/groups/{gid}/users"), t, None).await;
    for m in members.as_array().unwrap() {
        problems.extend(spec.problems("User", m));
    }
    let (_, _, schema) = call(
        "GET",
        &format!("{b}/api/v1/meta/schemas/user/default"),
        t,
        None,
    )
    .await;
    problems.extend(spec.problems("UserSchema", &schema));
    let (_, _, logs) = call("GET", &format!("{b}/api/v1/logs"), t, None).await;
    assert!(!logs.as_array().unwrap().is_empty());
    for e in logs.as_array().unwrap() {
        problems.extend(spec.problems("LogEvent", e));
    }
    let (_, _, err) = call("GET", &format!("{b}/api/v1/groups/00gmissing"), t, None).await;
    problems.extend(spec.problems("Error", &err));
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );

    // The validator does catch a wrong shape.
    let wrong = spec.problems("Group", &json!({"id": 5, "profile": {"name": "x"}}));
    assert!(!wrong.is_empty());
}
