//! Group names from attribute values (SPEC "Group names"): `{prefix}{sep}{normalized value}`, and how raw
//! profile values (strings, numbers, booleans, arrays, null) become the list of raw strings a user holds.
//!
//! Normalization, in order: NFD-decompose and drop combining marks (`Zürich` -> `Zurich`), fold the Latin
//! letters NFD leaves alone (`ß`->`ss`, `æ`->`ae`, `œ`->`oe`, `ø`->`o`, `ł`->`l`, `đ`->`d`, `þ`->`th`, and
//! their capitals), lower-case, turn every run of characters that are not letters or digits into one
//! separator, trim separators at both ends. Letters of other scripts (Cyrillic, CJK, ...) are kept: they are
//! letters, and Okta stores them; only characters outside the Basic Multilingual Plane (4-byte UTF-8, e.g.
//! emoji) are dropped as separators, because Okta refuses them in every API.

use std::borrow::Cow;

use serde_json::Value;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::model::RejectReason;
use crate::config::model::Separator;

/// Okta's limit on a group name (`profile.name`, 1..=255 characters).
pub const MAX_GROUP_NAME_CHARS: usize = 255;

/// The group name a raw value yields under `prefix`, or why it yields none.
pub fn group_name(prefix: &str, separator: Separator, raw: &str) -> Result<String, RejectReason> {
    let sep = separator.as_char();
    let normalized = normalize(raw, sep);
    if normalized.is_empty() {
        return Err(RejectReason::NormalizesToNothing);
    }
    let name = format!("{prefix}{sep}{normalized}");
    if name.chars().count() > MAX_GROUP_NAME_CHARS {
        return Err(RejectReason::NameTooLong);
    }
    if name.chars().any(|c| c.len_utf8() == 4) {
        // Only the prefix can still hold one; config validation should have refused it.
        return Err(RejectReason::InvalidCharacters);
    }
    Ok(name)
}

/// The normalized value part of a name (no prefix): lower-case, folded, separators collapsed and trimmed.
pub fn normalize(raw: &str, sep: char) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut pending_sep = false;
    let mut push = |c: char, out: &mut String| {
        if c.is_alphanumeric() && c.len_utf8() < 4 {
            if pending_sep && !out.is_empty() {
                out.push(sep);
            }
            pending_sep = false;
            for l in c.to_lowercase() {
                out.push(l);
            }
        } else {
            pending_sep = true;
        }
    };
    for c in raw.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        match fold(c) {
            Some(s) => s.chars().for_each(|f| push(f, &mut out)),
            None => push(c, &mut out),
        }
    }
    out
}

/// Latin letters that NFD does not decompose into a base letter and a mark.
fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' | 'ẞ' => "ss",
        'æ' | 'Æ' => "ae",
        'œ' | 'Œ' => "oe",
        'ø' | 'Ø' => "o",
        'ł' | 'Ł' => "l",
        'đ' | 'Đ' => "d",
        'þ' | 'Þ' => "th",
        'ð' | 'Ð' => "d",
        'ı' => "i",
        _ => return None,
    })
}

/// A profile value that cannot name a group (an object, or an array nested in an array).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an object or nested array cannot name a group")]
pub struct UnsupportedValue;

/// The raw strings one profile value holds: a string as is, a number in its canonical JSON form (`42`,
/// `1.5`), a boolean as `true`/`false`, one entry per element of an array (nested arrays flattened one
/// level, nulls and empty strings skipped). Missing, null and empty values hold nothing.
/// Objects cannot name a group: they come back in `Err` so the planner can report them.
pub fn raw_values(value: Option<&Value>) -> Result<Vec<Cow<'_, str>>, UnsupportedValue> {
    let mut out = Vec::new();
    raw_values_into(value, &mut out)?;
    Ok(out)
}

/// [`raw_values`] into a buffer the caller reuses (cleared first): no allocation per user.
pub fn raw_values_into<'a>(
    value: Option<&'a Value>,
    out: &mut Vec<Cow<'a, str>>,
) -> Result<(), UnsupportedValue> {
    out.clear();
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                scalar(item, out)?;
            }
        }
        Some(v) => scalar(v, out)?,
    }
    Ok(())
}

fn scalar<'a>(v: &'a Value, out: &mut Vec<Cow<'a, str>>) -> Result<(), UnsupportedValue> {
    match v {
        Value::Null => {}
        Value::String(s) if s.trim().is_empty() => {}
        Value::String(s) => out.push(Cow::Borrowed(s.as_str())),
        Value::Number(n) => out.push(Cow::Owned(n.to_string())),
        Value::Bool(b) => out.push(Cow::Borrowed(if *b { "true" } else { "false" })),
        Value::Array(_) | Value::Object(_) => return Err(UnsupportedValue),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn u(raw: &str) -> Result<String, RejectReason> {
        group_name("department", Separator::Underscore, raw)
    }

    #[test]
    fn spec_examples() {
        assert_eq!(u("Engineering").unwrap(), "department_engineering");
        assert_eq!(
            group_name("city", Separator::Underscore, "Zürich").unwrap(),
            "city_zurich"
        );
        assert_eq!(
            group_name("d", Separator::Hyphen, "Research & Development").unwrap(),
            "d-research-development"
        );
        assert_eq!(u("R&D").unwrap(), "department_r_d");
        assert_eq!(u("R-D").unwrap(), "department_r_d");
    }

    #[test]
    fn separators_collapse_and_trim() {
        assert_eq!(u("  --Sales  Ops!! ").unwrap(), "department_sales_ops");
        assert_eq!(u("a__b").unwrap(), "department_a_b");
        assert_eq!(u("!!!"), Err(RejectReason::NormalizesToNothing));
        assert_eq!(u("   "), Err(RejectReason::NormalizesToNothing));
    }

    #[test]
    fn diacritics_and_special_latin_letters_fold() {
        assert_eq!(u("Straße").unwrap(), "department_strasse");
        assert_eq!(u("Ærø Œuvre").unwrap(), "department_aero_oeuvre");
        assert_eq!(u("Łódź").unwrap(), "department_lodz");
        assert_eq!(u("Đakovo Þór").unwrap(), "department_dakovo_thor");
        assert_eq!(u("São Paulo").unwrap(), "department_sao_paulo");
        assert_eq!(u("CAFÉ").unwrap(), "department_cafe");
    }

    #[test]
    fn other_scripts_are_kept_and_emoji_are_separators() {
        assert_eq!(u("Отдел").unwrap(), "department_отдел");
        assert_eq!(u("営業").unwrap(), "department_営業");
        assert_eq!(u("rocket🚀team").unwrap(), "department_rocket_team");
        assert_eq!(u("🚀"), Err(RejectReason::NormalizesToNothing));
        let name = u("x𝐀y").unwrap(); // mathematical bold A is 4-byte UTF-8
        assert!(name.chars().all(|c| c.len_utf8() < 4), "{name}");
    }

    #[test]
    fn length_limit_is_255_characters() {
        let ok = "a".repeat(255 - "department_".len());
        assert_eq!(u(&ok).unwrap().chars().count(), 255);
        assert_eq!(u(&format!("{ok}b")), Err(RejectReason::NameTooLong));
        // counted in characters, not bytes
        let wide = "é".repeat(200);
        assert!(u(&wide).is_ok());
    }

    #[test]
    fn raw_values_of_each_json_type() {
        let v = |x: Value| {
            raw_values(Some(&x)).map(|v| v.into_iter().map(|c| c.into_owned()).collect::<Vec<_>>())
        };
        assert_eq!(v(json!("Sales")).unwrap(), ["Sales"]);
        assert_eq!(v(json!(42)).unwrap(), ["42"]);
        assert_eq!(v(json!(1.5)).unwrap(), ["1.5"]);
        assert_eq!(v(json!(true)).unwrap(), ["true"]);
        assert_eq!(v(json!(["rust", "go", null, ""])).unwrap(), ["rust", "go"]);
        assert!(v(json!(null)).unwrap().is_empty());
        assert!(v(json!("")).unwrap().is_empty());
        assert!(v(json!([])).unwrap().is_empty());
        assert!(raw_values(None).unwrap().is_empty());
        assert!(v(json!({"a": 1})).is_err());
        assert!(v(json!([["nested"]])).is_err());
    }
}
