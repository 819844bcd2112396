//! The JSON Schema of both file kinds, generated from the raw types (`raw.rs`) with schemars. The committed copies
//! in `schema/` are kept in step by a test; `shape` checks files against these same schemas at run time.

use serde_json::Value;

use super::raw::{RawInstance, RawRulesFile};

/// Draft-07: the dialect editors (yaml-language-server) support best.
fn generator() -> schemars::SchemaGenerator {
    schemars::generate::SchemaSettings::draft07()
        .for_deserialize()
        .into_generator()
}

/// The schema of the instance file `dyngroups.yaml` (committed as `schema/instance.schema.json`).
pub fn instance_schema() -> Value {
    generator().into_root_schema_for::<RawInstance>().to_value()
}

/// The schema of a rule file `rules/*.yaml` (committed as `schema/rules.schema.json`).
pub fn rules_schema() -> Value {
    generator()
        .into_root_schema_for::<RawRulesFile>()
        .to_value()
}

/// Pretty JSON with a trailing newline, as committed under `schema/`.
pub fn to_file_text(schema: &Value) -> String {
    let mut s = serde_json::to_string_pretty(schema).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `schema/*.schema.json` are exactly what the raw types generate. Regenerate with
    /// `DYNGROUPS_BLESS=1 cargo test --lib config::schema`.
    #[test]
    fn committed_schemas_are_in_step_with_the_types() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
        for (name, schema) in [
            ("instance.schema.json", instance_schema()),
            ("rules.schema.json", rules_schema()),
        ] {
            let want = to_file_text(&schema);
            let path = dir.join(name);
            if std::env::var_os("DYNGROUPS_BLESS").is_some() {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &want).unwrap();
            }
            let have = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                have == want,
                "{} is out of step with src/config/raw.rs: run DYNGROUPS_BLESS=1 cargo test --lib config::schema",
                path.display()
            );
        }
    }

    #[test]
    fn schemas_forbid_unknown_keys_and_require_the_essentials() {
        let i = instance_schema();
        assert_eq!(i["additionalProperties"], Value::Bool(false));
        assert_eq!(i["required"], serde_json::json!(["okta"]));
        let r = rules_schema();
        assert_eq!(r["required"], serde_json::json!(["rules"]));
    }
}
