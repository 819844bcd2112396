//! The observation snapshot an incremental sync starts from (owned by `reconcile::incremental`): the users the
//! last sync saw (id, status and only the attributes rules read), the member sets of the groups it had to
//! compare (managed groups and groups with computed names) with each group's `lastMembershipUpdated` when
//! its members were read, and marks (config fingerprint, newest user `lastUpdated`, last full sync).
//!
//! Keys: `v1/snap/meta` (SnapMeta), `v1/snap/user/<user id>` (SnapUser), `v1/snap/group/<group id>` (SnapGroup).
//! Attributes are stored because the planner needs every unchanged user's values; group names per user
//! (`v1/ug/`) cannot stand in for them (merged values, aliases, rejected values and counts need the raw value).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Store, StoreError, Writer, keys};
use crate::okta::model::UserStatus;
use crate::plan::model::{GroupId, UserId, UserTable};

pub const SNAP: &str = "v1/snap/";
const META: &str = "v1/snap/meta";
const USER: &str = "v1/snap/user/";
const GROUP: &str = "v1/snap/group/";

/// What the snapshot was taken with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapMeta {
    /// `plan::fingerprint::config` of the config the snapshot was observed for.
    pub config_fingerprint: String,
    /// The profile attributes stored per user (those the rules read).
    pub attributes: Vec<String>,
    /// Newest user `lastUpdated` seen (Okta's clock); the next run asks for users changed after it, less an overlap.
    pub users_mark: Option<DateTime<Utc>>,
    /// When the last full observation ran (our clock).
    pub last_full: DateTime<Utc>,
    /// When this snapshot was taken (our clock).
    pub taken: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapUser {
    #[serde(rename = "s")]
    pub status: UserStatus,
    #[serde(rename = "a", default)]
    pub attributes: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapGroup {
    /// `lastMembershipUpdated` when `members` was read; None: unknown (list the members next time).
    pub lmu: Option<DateTime<Utc>>,
    pub members: BTreeSet<UserId>,
}

/// A whole snapshot in memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub meta: Option<SnapMeta>,
    pub users: SnapUsers,
    pub groups: BTreeMap<GroupId, SnapGroup>,
}

/// The snapshot's users by id, their attributes dictionary-coded in a [`UserTable`] (each distinct value
/// once, a 4-byte code per user): about a tenth of the memory of a map of JSON values per user. Stored,
/// each user is still one `SnapUser` record.
#[derive(Clone, Default)]
pub struct SnapUsers {
    /// id -> row of `table` (an updated user gets a new row; `retain` drops the old ones).
    rows: BTreeMap<UserId, u32>,
    table: UserTable,
}

impl SnapUsers {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Adds or replaces a user.
    pub fn insert(&mut self, id: UserId, user: SnapUser) {
        let row = self.table.len() as u32;
        self.table.push(&id, user.status, user.attributes);
        self.rows.insert(id, row);
    }

    pub fn contains(&self, id: &str) -> bool {
        self.rows.contains_key(id)
    }

    /// Forgets a user (its row stays until `retain` compacts).
    pub fn remove(&mut self, id: &str) -> bool {
        self.rows.remove(id).is_some()
    }

    /// The user as a record (built on demand).
    pub fn get(&self, id: &str) -> Option<SnapUser> {
        let row = *self.rows.get(id)? as usize;
        Some(SnapUser {
            status: self.table.status(row),
            attributes: self.table.attributes(row),
        })
    }

    /// Users in id order: (id, status, row for [`SnapUsers::attrs`]).
    pub fn iter(&self) -> impl Iterator<Item = (&str, UserStatus, usize)> {
        self.rows
            .iter()
            .map(|(id, &row)| (id.as_str(), self.table.status(row as usize), row as usize))
    }

    /// A user's attribute value.
    pub fn attr(&self, row: usize, name: &str) -> Option<&Value> {
        self.table.attr(row, name)
    }

    /// A user's attributes in name order.
    pub fn attrs(&self, row: usize) -> impl Iterator<Item = (&str, &Value)> {
        self.table.attrs(row)
    }

    /// The users as a table in id order (what the planner reads): the table itself when it is compact
    /// (as `retain` leaves it), else a compacted copy.
    pub fn table(&self) -> UserTable {
        let compact = self
            .rows
            .values()
            .enumerate()
            .all(|(i, &row)| row as usize == i)
            && self.rows.len() == self.table.len();
        if compact {
            return self.table.clone();
        }
        let mut copy = self.clone();
        copy.retain(|_, _| true);
        copy.table
    }

    /// Keeps the users `keep` accepts, in a compacted table.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, UserStatus) -> bool) {
        let mut next = SnapUsers::default();
        for (id, status, row) in self.iter() {
            if keep(id, status) {
                let at = next.table.len() as u32;
                next.table.push(
                    id,
                    status,
                    self.table.attrs(row).map(|(k, v)| (k, v.clone())),
                );
                next.rows.insert(id.to_string(), at);
            }
        }
        *self = next;
    }
}

impl FromIterator<(UserId, SnapUser)> for SnapUsers {
    fn from_iter<I: IntoIterator<Item = (UserId, SnapUser)>>(iter: I) -> SnapUsers {
        let mut out = SnapUsers::default();
        for (id, user) in iter {
            out.insert(id, user);
        }
        out
    }
}

impl PartialEq for SnapUsers {
    fn eq(&self, other: &SnapUsers) -> bool {
        self.len() == other.len()
            && self
                .rows
                .keys()
                .zip(other.rows.keys())
                .all(|(a, b)| a == b && self.get(a) == other.get(b))
    }
}

impl std::fmt::Debug for SnapUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.rows.keys().map(|id| (id, self.get(id))))
            .finish()
    }
}

/// One user of [`SnapUsers`] serialized exactly as its [`SnapUser`] record, without building it.
struct UserView<'a> {
    users: &'a SnapUsers,
    row: usize,
}

impl Serialize for UserView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        struct Attrs<'a>(&'a SnapUsers, usize);
        impl Serialize for Attrs<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_map(self.0.attrs(self.1))
            }
        }
        let mut st = s.serialize_struct("SnapUser", 2)?;
        st.serialize_field("s", &self.users.table.status(self.row))?;
        st.serialize_field("a", &Attrs(self.users, self.row))?;
        st.end()
    }
}

fn key(prefix: &str, id: &str) -> Vec<u8> {
    [prefix.as_bytes(), id.as_bytes()].concat()
}

impl Store {
    pub fn snapshot_meta(&self) -> Result<Option<SnapMeta>, StoreError> {
        self.get_json(META.as_bytes())
    }

    /// The whole snapshot (empty when there is none).
    pub fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let mut snap = Snapshot {
            meta: self.snapshot_meta()?,
            ..Snapshot::default()
        };
        for item in self.db.scan_prefix(USER.as_bytes()) {
            let (k, v) = item.map_err(|e| self.io_error("reading the snapshot", &e))?;
            let id = keys::suffix(&k, USER).ok_or_else(|| self.corrupt("bad snapshot user key"))?;
            snap.users.insert(id, self.decode(&k, &v)?);
        }
        for (k, v) in self.scan(GROUP.as_bytes())? {
            let id =
                keys::suffix(&k, GROUP).ok_or_else(|| self.corrupt("bad snapshot group key"))?;
            snap.groups.insert(id, self.decode(&k, &v)?);
        }
        Ok(snap)
    }
}

fn json<T: Serialize>(store: &Store, what: &[u8], value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Io {
        dir: store.dir.clone(),
        what: format!("encoding {}", String::from_utf8_lossy(what)),
        detail: e.to_string(),
    })
}

impl Writer<'_> {
    /// Replaces the snapshot the store holds by `new`, writing only what differs. The stored snapshot is read
    /// key by key alongside `new` (both in id order), never loaded whole: a million users' snapshot is
    /// about a gigabyte in memory.
    pub fn replace_snapshot(&mut self, new: &Snapshot) -> Result<(), StoreError> {
        let users = &new.users;
        self.replace_part(
            USER,
            users
                .iter()
                .map(|(id, _, row)| (id, UserView { users, row })),
        )?;
        self.replace_part(GROUP, new.groups.iter().map(|(id, g)| (id.as_str(), g)))?;
        let store = self.store();
        match &new.meta {
            Some(m) => {
                let v = json(store, META.as_bytes(), m)?;
                self.put_raw(META, v);
            }
            None => self.remove_key(META),
        }
        Ok(())
    }

    /// One part (users or groups): a merge of the stored keys under `prefix` with `new`, both sorted.
    fn replace_part<'v, T: Serialize>(
        &mut self,
        prefix: &str,
        new: impl Iterator<Item = (&'v str, T)>,
    ) -> Result<(), StoreError> {
        let store = self.store();
        let mut stored = store.db.scan_prefix(prefix.as_bytes()).peekable();
        for (id, value) in new {
            let k = key(prefix, id);
            // Stored keys before this one are gone from the new snapshot.
            let mut same = false;
            while let Some(item) = stored.peek() {
                let (sk, sv) = match item {
                    Ok(kv) => kv,
                    Err(e) => return Err(store.io_error("reading the snapshot", e)),
                };
                match sk.as_ref().cmp(k.as_slice()) {
                    std::cmp::Ordering::Less => {
                        let gone = sk.to_vec();
                        stored.next();
                        self.remove_key(gone);
                    }
                    std::cmp::Ordering::Equal => {
                        same = sv.as_ref() == json(store, &k, &value)?.as_slice();
                        stored.next();
                        break;
                    }
                    std::cmp::Ordering::Greater => break,
                }
            }
            if !same {
                let v = json(store, &k, &value)?;
                self.put_raw(k, v);
            }
        }
        for item in stored {
            let (sk, _) = item.map_err(|e| store.io_error("reading the snapshot", &e))?;
            self.remove_key(&sk);
        }
        Ok(())
    }

    /// Forgets the snapshot: the next sync is a full one.
    pub fn clear_snapshot(&mut self) -> Result<(), StoreError> {
        for (k, _) in self.store().scan(SNAP.as_bytes())? {
            self.remove_key(k);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_round_trips_and_writes_only_differences() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut snap = Snapshot {
            meta: Some(SnapMeta {
                config_fingerprint: "sha256:x".into(),
                attributes: vec!["department".into()],
                users_mark: Some(Utc::now()),
                last_full: Utc::now(),
                taken: Utc::now(),
            }),
            ..Snapshot::default()
        };
        snap.users.insert(
            "u1".into(),
            SnapUser {
                status: UserStatus::Active,
                attributes: [("department".to_string(), Value::from("Sales"))].into(),
            },
        );
        snap.groups.insert(
            "g1".into(),
            SnapGroup {
                lmu: None,
                members: ["u1".to_string()].into(),
            },
        );
        let mut w = store.writer();
        w.replace_snapshot(&snap).unwrap();
        w.commit().unwrap();
        assert_eq!(store.snapshot().unwrap(), snap);

        let mut next = snap.clone();
        next.users.remove("u1");
        next.groups.get_mut("g1").unwrap().members.clear();
        let mut w = store.writer();
        w.replace_snapshot(&next).unwrap();
        w.commit().unwrap();
        assert_eq!(store.snapshot().unwrap(), next);

        let mut w = store.writer();
        w.clear_snapshot().unwrap();
        w.commit().unwrap();
        assert_eq!(store.snapshot().unwrap(), Snapshot::default());
    }

    #[test]
    fn a_coded_user_serializes_byte_for_byte_as_its_record() {
        let record = SnapUser {
            status: UserStatus::Suspended,
            attributes: [
                ("skills".to_string(), serde_json::json!(["rust", "go"])),
                ("department".to_string(), Value::from("R&D \"x\"")),
                ("n".to_string(), serde_json::json!(1.5)),
            ]
            .into(),
        };
        let users: SnapUsers = [("00u1".to_string(), record.clone())].into_iter().collect();
        let view = UserView {
            users: &users,
            row: 0,
        };
        assert_eq!(
            serde_json::to_string(&view).unwrap(),
            serde_json::to_string(&record).unwrap(),
            "stores written before the column form read the same"
        );
        assert_eq!(users.get("00u1"), Some(record));
    }

    #[test]
    fn a_replacement_merges_with_the_stored_keys_and_touches_only_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let user = |dept: &str| SnapUser {
            status: UserStatus::Active,
            attributes: [("department".to_string(), Value::from(dept))].into(),
        };
        let with = |ids: &[(&str, &str)]| Snapshot {
            users: ids.iter().map(|(i, d)| (i.to_string(), user(d))).collect(),
            ..Snapshot::default()
        };
        let first = with(&[("u2", "A"), ("u4", "A"), ("u6", "A"), ("u8", "A")]);
        let mut w = store.writer();
        w.replace_snapshot(&first).unwrap();
        assert_eq!(w.len(), 4 + 1, "four users and the (absent) meta");
        w.commit().unwrap();
        // Gone before, between and after the kept ones; one new; one changed; two unchanged.
        let second = with(&[("u4", "A"), ("u5", "B"), ("u6", "C")]);
        let mut w = store.writer();
        w.replace_snapshot(&second).unwrap();
        assert_eq!(
            w.len(),
            2 + 2 + 1,
            "u2 and u8 gone, u5 new, u6 changed, meta; u4 untouched"
        );
        w.commit().unwrap();
        assert_eq!(store.snapshot().unwrap(), second);
    }
}
