//! The in-memory org behind both faces of the emulator: users, groups, memberships, tokens, schema,
//! System Log, the clock and the id generator; built from a seed. Operations live in `users.rs`,
//! `groups.rs` and `logs.rs` as methods on [`Org`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use indexmap::IndexMap;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;

use crate::okta::model::{GroupProfile, GroupType, UserStatus};

use super::error::ApiError;
use super::seed::{ALL_SCOPES, DEFAULT_TOKEN, Seed, SeedError, SeedOauthClient};
use super::{ids, schema};

/// Who did something, as the System Log names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: String,
    pub kind: String,
    pub alternate_id: String,
    pub display_name: String,
}

impl Actor {
    /// The admin behind seeded API tokens and the in-memory face.
    pub fn admin() -> Actor {
        Actor {
            id: "00uemuadmin000000001".into(),
            kind: "User".into(),
            alternate_id: "admin@emulator.invalid".into(),
            display_name: "Emulator Admin".into(),
        }
    }

    /// An OAuth service app.
    pub fn app(client_id: &str) -> Actor {
        Actor {
            id: client_id.into(),
            kind: "PublicClientApp".into(),
            alternate_id: client_id.into(),
            display_name: client_id.into(),
        }
    }
}

/// A credential the HTTP face accepts.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub scopes: BTreeSet<String>,
    pub actor: Actor,
    pub expires: Option<DateTime<Utc>>,
}

impl TokenInfo {
    /// `okta.x.manage` also grants `okta.x.read`.
    pub fn allows(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
            || scope
                .strip_suffix(".read")
                .is_some_and(|s| self.scopes.contains(&format!("{s}.manage")))
    }
}

#[derive(Debug, Clone)]
pub struct UserRec {
    pub seq: u64,
    pub user: crate::okta::model::User,
    pub groups: BTreeSet<String>,
    /// With a search lag: what the search index still shows (`None` = not indexed yet) and since when.
    pub stale: Option<(Option<Box<crate::okta::model::User>>, DateTime<Utc>)>,
}

#[derive(Debug, Clone)]
pub struct GroupRec {
    pub seq: u64,
    pub group: crate::okta::model::Group,
    /// user seq -> user id, so members list in a stable order.
    pub members: BTreeMap<u64, String>,
}

/// One page of a list and the cursor of the next one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

#[derive(Debug)]
pub struct Org {
    pub(crate) users: HashMap<String, UserRec>,
    pub(crate) user_order: BTreeMap<u64, String>,
    pub(crate) logins: HashMap<String, String>,
    pub(crate) seqs: HashMap<String, u64>,
    pub(crate) groups: HashMap<String, GroupRec>,
    pub(crate) group_order: BTreeMap<u64, String>,
    /// Lower-cased OKTA_GROUP name -> group id (names are unique among OKTA_GROUPs).
    pub(crate) okta_names: HashMap<String, String>,
    pub tokens: HashMap<String, TokenInfo>,
    pub oauth_clients: Vec<SeedOauthClient>,
    pub custom_schema: IndexMap<String, Value>,
    /// Okta's `search` is eventually consistent; `Some(lag)` makes changes visible to `search` and
    /// `filter` only after `lag` (by the org's clock). `None` (default): immediately.
    pub search_lag: Option<TimeDelta>,
    pub(crate) schema_created: DateTime<Utc>,
    pub(crate) logs: Vec<(u64, Value)>,
    pub(crate) next_seq: u64,
    pub(crate) rng: StdRng,
    clock: Option<DateTime<Utc>>,
}

impl Org {
    pub fn empty(rng_seed: u64) -> Org {
        let mut tokens = HashMap::new();
        tokens.insert(
            DEFAULT_TOKEN.to_string(),
            TokenInfo {
                scopes: ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
                actor: Actor::admin(),
                expires: None,
            },
        );
        let now = trunc(Utc::now());
        Org {
            users: HashMap::new(),
            user_order: BTreeMap::new(),
            logins: HashMap::new(),
            seqs: HashMap::new(),
            groups: HashMap::new(),
            group_order: BTreeMap::new(),
            okta_names: HashMap::new(),
            tokens,
            oauth_clients: Vec::new(),
            custom_schema: IndexMap::new(),
            search_lag: None,
            schema_created: now,
            logs: Vec::new(),
            next_seq: 1,
            rng: StdRng::seed_from_u64(rng_seed),
            clock: None,
        }
    }

    /// Builds an org from a seed; problems name the seed entry.
    pub fn from_seed(seed: Seed) -> Result<Org, SeedError> {
        seed.validate()?;
        let mut org = Org::empty(seed.rng_seed.unwrap_or(0x0c7a));
        if let Some(tokens) = seed.tokens {
            org.tokens.clear();
            for t in tokens {
                org.tokens.insert(
                    t.token,
                    TokenInfo {
                        scopes: t.scopes.into_iter().collect(),
                        actor: Actor::admin(),
                        expires: None,
                    },
                );
            }
        }
        org.oauth_clients = seed.oauth_clients;
        if let Some(s) = seed.schema {
            org.custom_schema = s.custom;
        }
        let actor = Actor::admin();
        for (i, u) in seed.users.into_iter().enumerate() {
            let place = format!("users[{i}]");
            for (k, v) in &u.profile {
                if !schema::is_base(k)
                    && !org.custom_schema.contains_key(k)
                    && let Some(t) = schema::infer(v)
                {
                    org.custom_schema.insert(k.clone(), t);
                }
            }
            let status = u.status.unwrap_or(UserStatus::Active);
            org.insert_user(u.id, u.profile, status, &actor, false)
                .map_err(|e| SeedError::invalid(place, e.to_string()))?;
        }
        for (i, g) in seed.groups.into_iter().enumerate() {
            let place = format!("groups[{i}] ({:?})", g.profile.name);
            let profile = GroupProfile {
                name: g.profile.name,
                description: g.profile.description,
                extra: Default::default(),
            };
            let gid = org
                .insert_group(g.id, g.group_type, profile, &actor, false)
                .map_err(|e| SeedError::invalid(place.clone(), e.to_string()))?;
            for m in g.members {
                let uid = org.resolve_user(&m).map_err(|_| {
                    SeedError::invalid(place.clone(), format!("member {m:?} is not a seeded user"))
                })?;
                org.link(&gid, &uid);
            }
        }
        Ok(org)
    }

    /// Now, by the injected clock or the system's, to the millisecond.
    pub fn now(&self) -> DateTime<Utc> {
        trunc(self.clock.unwrap_or_else(Utc::now))
    }

    pub fn set_clock(&mut self, t: Option<DateTime<Utc>>) {
        self.clock = t;
    }

    /// Moves a fixed clock forward (starting from now if the clock was the system's).
    pub fn advance_clock(&mut self, by: TimeDelta) {
        let base = self.now();
        self.clock = Some(base + by);
    }

    /// Before changing a user: remember what the search index shows, when a lag is set.
    pub(crate) fn note_change(&mut self, uid: &str) {
        let Some(lag) = self.search_lag else { return };
        let now = self.now();
        if let Some(rec) = self.users.get_mut(uid) {
            let pending = rec.stale.as_ref().is_some_and(|(_, at)| now - *at < lag);
            if !pending {
                rec.stale = Some((Some(Box::new(rec.user.clone())), now));
            }
        }
    }

    /// The version of a user `search` sees (`None`: not indexed yet).
    pub(crate) fn indexed<'a>(&self, rec: &'a UserRec) -> Option<&'a crate::okta::model::User> {
        match (self.search_lag, &rec.stale) {
            (Some(lag), Some((old, at))) if self.now() - *at < lag => old.as_deref(),
            _ => Some(&rec.user),
        }
    }

    pub(crate) fn take_seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    pub(crate) fn new_id(&mut self, prefix: &str) -> String {
        loop {
            let id = ids::object_id(&mut self.rng, prefix);
            if !self.seqs.contains_key(&id) {
                return id;
            }
        }
    }

    /// The id a seed asked for (refused when already used), or a new one with `prefix`.
    pub(crate) fn claim_id(
        &mut self,
        id: Option<String>,
        prefix: &str,
    ) -> Result<String, ApiError> {
        match id {
            Some(id) if self.seqs.contains_key(&id) => Err(ApiError::validation(
                "id",
                format!("id {id} is already used"),
            )),
            Some(id) => Ok(id),
            None => Ok(self.new_id(prefix)),
        }
    }

    /// A user id from an id or a login (case-insensitive), or 404 `(User)`.
    pub fn resolve_user(&self, id_or_login: &str) -> Result<String, ApiError> {
        if self.users.contains_key(id_or_login) {
            return Ok(id_or_login.to_string());
        }
        self.logins
            .get(&id_or_login.to_lowercase())
            .cloned()
            .ok_or_else(|| ApiError::not_found(id_or_login, "User"))
    }

    /// Adds a membership without checks or events (seeding); true when it is new.
    pub(crate) fn link(&mut self, gid: &str, uid: &str) -> bool {
        let Some(useq) = self.seqs.get(uid).copied() else {
            return false;
        };
        let Some(g) = self.groups.get_mut(gid) else {
            return false;
        };
        let new = g.members.insert(useq, uid.to_string()).is_none();
        if let Some(u) = self.users.get_mut(uid) {
            u.groups.insert(gid.to_string());
        }
        new
    }

    pub(crate) fn unlink(&mut self, gid: &str, uid: &str) -> bool {
        let Some(useq) = self.seqs.get(uid).copied() else {
            return false;
        };
        let removed = self
            .groups
            .get_mut(gid)
            .is_some_and(|g| g.members.remove(&useq).is_some());
        if let Some(u) = self.users.get_mut(uid) {
            u.groups.remove(gid);
        }
        removed
    }

    /// Resolves an `after` cursor (an id this org has issued) to its sequence number.
    pub(crate) fn cursor(&self, after: Option<&str>) -> Result<Option<u64>, ApiError> {
        match after {
            None | Some("") => Ok(None),
            Some(a) => self.seqs.get(a).copied().map(Some).ok_or_else(|| {
                ApiError::validation("after", format!("after: the cursor {a:?} is not valid"))
            }),
        }
    }

    /// The group types present, for checks.
    pub fn group_type(&self, gid: &str) -> Option<GroupType> {
        self.groups.get(gid).map(|g| g.group.group_type)
    }
}

/// Walks `order` after `after`, keeping ids `keep` accepts, up to `limit`; `next` is the last id when more follow.
pub(crate) fn paginate(
    order: &BTreeMap<u64, String>,
    after: Option<u64>,
    limit: usize,
    mut keep: impl FnMut(&str) -> bool,
) -> Page<String> {
    let start = match after {
        Some(s) => std::ops::Bound::Excluded(s),
        None => std::ops::Bound::Unbounded,
    };
    let mut items = Vec::new();
    let mut more = false;
    for (_, id) in order.range((start, std::ops::Bound::Unbounded)) {
        if keep(id) {
            if items.len() == limit {
                more = true;
                break;
            }
            items.push(id.clone());
        }
    }
    let next = if more { items.last().cloned() } else { None };
    Page { items, next }
}

fn trunc(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(t)
}

/// Okta only accepts characters encodable in at most 3 UTF-8 bytes.
pub(crate) fn has_4_byte_chars(v: &Value) -> bool {
    match v {
        Value::String(s) => s.chars().any(|c| c.len_utf8() >= 4),
        Value::Array(a) => a.iter().any(has_4_byte_chars),
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| k.chars().any(|c| c.len_utf8() >= 4) || has_4_byte_chars(v)),
        _ => false,
    }
}
