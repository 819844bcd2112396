//! `UserTable`: the org's users as the planner reads them, stored by column. Ids are packed in one buffer;
//! each profile attribute is a dictionary of its distinct values and one 4-byte code per user. A million
//! users with five attributes take tens of megabytes instead of the ~1.5 GiB of a map of JSON values per
//! user, and the planner normalizes each distinct value once instead of once per user.
//!
//! Rows go in with [`UserTable::push`] (or from `OrgUser`s); serialized, the table is a plain list of
//! `OrgUser` rows, so files and tests see the same shape as before.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::ids::IdList;
use super::model::OrgUser;
use crate::okta::model::UserStatus;

/// The code of a user who does not have the attribute at all.
pub const ABSENT: u32 = u32::MAX;

/// One attribute: its distinct values and each user's code.
#[derive(Clone, Default)]
pub struct Column {
    values: Vec<Value>,
    /// String value -> code (the common case, looked up without allocating).
    strings: HashMap<String, u32>,
    /// Any other value, by its JSON text -> code.
    others: HashMap<String, u32>,
    codes: Vec<u32>,
}

impl Column {
    fn intern(&mut self, value: Value) -> u32 {
        let next = self.values.len() as u32;
        let code = match &value {
            Value::String(s) => match self.strings.get(s.as_str()) {
                Some(c) => return *c,
                None => *self.strings.entry(s.clone()).or_insert(next),
            },
            other => *self.others.entry(other.to_string()).or_insert(next),
        };
        if code == next {
            self.values.push(value);
        }
        code
    }

    /// The user's code: an index into [`Column::values`], or [`ABSENT`].
    pub fn code(&self, row: usize) -> u32 {
        self.codes.get(row).copied().unwrap_or(ABSENT)
    }

    /// The distinct values, indexed by code.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    pub fn value(&self, code: u32) -> Option<&Value> {
        self.values.get(code as usize)
    }
}

/// Users by column; row `i` is the i-th user pushed.
#[derive(Clone, Default)]
pub struct UserTable {
    ids: IdList,
    statuses: Vec<UserStatus>,
    columns: BTreeMap<String, Column>,
}

impl UserTable {
    pub fn new() -> UserTable {
        UserTable::default()
    }

    /// Appends a user. An attribute named twice keeps its last value.
    pub fn push<K: AsRef<str>>(
        &mut self,
        id: &str,
        status: UserStatus,
        attributes: impl IntoIterator<Item = (K, Value)>,
    ) {
        let row = self.ids.len();
        self.ids.push(id);
        self.statuses.push(status);
        for (name, value) in attributes {
            let name = name.as_ref();
            if !self.columns.contains_key(name) {
                let column = Column {
                    codes: vec![ABSENT; row],
                    ..Column::default()
                };
                self.columns.insert(name.to_string(), column);
            }
            let Some(column) = self.columns.get_mut(name) else {
                continue;
            };
            let code = column.intern(value);
            if column.codes.len() > row {
                column.codes[row] = code;
            } else {
                column.codes.push(code);
            }
        }
        for column in self.columns.values_mut() {
            if column.codes.len() <= row {
                column.codes.push(ABSENT);
            }
        }
    }

    pub fn push_user(&mut self, user: OrgUser) {
        self.push(&user.id, user.status, user.attributes);
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn id(&self, row: usize) -> &str {
        self.ids.get(row).unwrap_or_default()
    }

    pub fn status(&self, row: usize) -> UserStatus {
        self.statuses
            .get(row)
            .copied()
            .unwrap_or(UserStatus::Unknown)
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.get(name)
    }

    pub fn attr(&self, row: usize, name: &str) -> Option<&Value> {
        let column = self.columns.get(name)?;
        column.value(column.code(row))
    }

    /// How many attributes the user has.
    pub fn attr_count(&self, row: usize) -> usize {
        self.columns
            .values()
            .filter(|c| c.code(row) != ABSENT)
            .count()
    }

    /// The user's attributes in name order, borrowed.
    pub fn attrs(&self, row: usize) -> impl Iterator<Item = (&str, &Value)> {
        self.columns
            .iter()
            .filter_map(move |(name, c)| c.value(c.code(row)).map(|v| (name.as_str(), v)))
    }

    /// The user's attributes as a map (built on demand).
    pub fn attributes(&self, row: usize) -> BTreeMap<String, Value> {
        self.columns
            .iter()
            .filter_map(|(name, c)| c.value(c.code(row)).map(|v| (name.clone(), v.clone())))
            .collect()
    }

    /// Row `i` as an `OrgUser` (built on demand).
    pub fn row(&self, row: usize) -> OrgUser {
        OrgUser {
            id: self.id(row).to_string(),
            status: self.status(row),
            attributes: self.attributes(row),
        }
    }

    pub fn rows(&self) -> impl Iterator<Item = OrgUser> + '_ {
        (0..self.len()).map(|i| self.row(i))
    }
}

impl From<Vec<OrgUser>> for UserTable {
    fn from(users: Vec<OrgUser>) -> UserTable {
        users.into_iter().collect()
    }
}

impl FromIterator<OrgUser> for UserTable {
    fn from_iter<I: IntoIterator<Item = OrgUser>>(iter: I) -> UserTable {
        let mut t = UserTable::new();
        for u in iter {
            t.push_user(u);
        }
        t
    }
}

impl PartialEq for UserTable {
    fn eq(&self, other: &UserTable) -> bool {
        self.ids == other.ids
            && self.statuses == other.statuses
            && (0..self.len()).all(|i| self.attributes(i) == other.attributes(i))
    }
}

impl fmt::Debug for UserTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.rows()).finish()
    }
}

impl Serialize for UserTable {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.rows())
    }
}

impl<'de> Deserialize<'de> for UserTable {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<UserTable, D::Error> {
        Ok(Vec::<OrgUser>::deserialize(d)?.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(id: &str, attrs: &[(&str, Value)]) -> OrgUser {
        OrgUser {
            id: id.into(),
            status: UserStatus::Active,
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        }
    }

    #[test]
    fn rows_round_trip_with_shared_values_and_absent_attributes() {
        let rows = vec![
            user("00u1", &[("department", json!("Sales"))]),
            user(
                "00u2",
                &[("department", json!("Sales")), ("skills", json!(["rust"]))],
            ),
            user("00u3", &[("department", json!(null)), ("n", json!(7))]),
            user("00u4", &[]),
        ];
        let t: UserTable = rows.clone().into();
        assert_eq!(t.len(), 4);
        assert_eq!(t.rows().collect::<Vec<_>>(), rows);
        let dept = t.column("department").unwrap();
        assert_eq!(dept.values(), [json!("Sales"), json!(null)]);
        assert_eq!(dept.code(0), dept.code(1));
        assert_eq!(dept.code(3), ABSENT);
        assert_eq!(t.attr(0, "skills"), None);
        assert_eq!(t.attr(2, "n"), Some(&json!(7)));
        assert_eq!(t.attr_count(1), 2);
        assert_eq!(t.attr_count(3), 0);
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json, serde_json::to_value(&rows).unwrap());
        let back: UserTable = serde_json::from_value(json).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn a_repeated_attribute_keeps_its_last_value() {
        let mut t = UserTable::new();
        t.push(
            "00u1",
            UserStatus::Suspended,
            [("a", json!(1)), ("a", json!("x"))],
        );
        assert_eq!(t.attr(0, "a"), Some(&json!("x")));
        assert_eq!(t.status(0), UserStatus::Suspended);
        assert_eq!(t.column("a").unwrap().codes.len(), 1);
    }
}
