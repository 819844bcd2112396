//! The sled store: managed groups, per-user state, sync history, audit trail and the journal of intents.
//!
//! One store belongs to one instance and is used by one process at a time (sled holds an exclusive lock
//! on its files while open; a second open is [`StoreError::Locked`]). The key layout is in [`keys`];
//! a store written by a newer format, by another instance, or damaged is an error, never a silent reset.
//! Writes go through a [`Writer`] (one atomic sled batch); [`Store::flush`] makes them durable.

pub mod export;
pub mod keys;
pub mod records;
pub mod snap;
pub mod views;
mod writer;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use crate::plan::model::{GroupId, IdList, Remembered, RuleState, UserId};
pub use records::{ApiCalls, AuditEntry, Intent, StoredGroup, SyncCounts, SyncRecord, SyncStatus};
pub use writer::Writer;

/// The store format this version writes and reads.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "another dyngroups process (a sync, or the daemon) is using the store at {dir}; wait for it to finish \
         (one sync at a time per store)"
    )]
    Locked { dir: PathBuf },
    #[error(
        "the store at {dir} has format version {found}; this dyngroups reads up to version {supported}: upgrade dyngroups"
    )]
    NewerFormat {
        dir: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error(
        "the store at {dir} belongs to instance {found:?}, not {expected:?}; use a separate --state folder per instance"
    )]
    OtherInstance {
        dir: PathBuf,
        found: String,
        expected: String,
    },
    #[error(
        "the store at {dir} is damaged ({detail}); restore it from a `dyngroups state export` file with \
         `dyngroups state import FILE`, or move the folder away and re-initialise explicitly with \
         `dyngroups state reinit --adopt`"
    )]
    Corrupt { dir: PathBuf, detail: String },
    #[error("opening the store at {dir}: {detail}")]
    Open { dir: PathBuf, detail: String },
    #[error("{what} in the store at {dir}: {detail}")]
    Io {
        dir: PathBuf,
        what: String,
        detail: String,
    },
    #[error("reading {key} from the store at {dir}: {detail}")]
    Decode {
        dir: PathBuf,
        key: String,
        detail: String,
    },
}

/// An open store. Cheap to clone (sled handles are reference-counted); dropping the last clone releases the lock.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    dir: PathBuf,
    /// The last generation written to [`GENERATION_FILE`] (serialises those writes between clones).
    generation: std::sync::Arc<std::sync::Mutex<u64>>,
}

/// A counter kept outside sled, next to it: the store's generation after its last successful flush. The same
/// counter lives inside sled (`meta/generation`); a log that opens with an older generation than this file was
/// cut short or replaced by an older copy, which sled itself cannot tell from a store that is merely small.
pub const GENERATION_FILE: &str = "generation";

/// What the folder held before sled opened it.
struct Before {
    /// sled's own files were there and not all empty: the folder held a store.
    had_store: bool,
    /// The generation file's value, when it is there and readable.
    generation: Option<u64>,
}

impl Before {
    fn look(dir: &Path) -> Before {
        let non_empty = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.len() > 0);
        let snapshots = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("snap.") && non_empty(&e.path()));
        let generation = std::fs::read_to_string(dir.join(GENERATION_FILE))
            .ok()
            .and_then(|s| s.trim().parse().ok());
        Before {
            had_store: non_empty(&dir.join("conf")) || non_empty(&dir.join("db")) || snapshots,
            generation,
        }
    }
}

fn parse_u64(raw: Option<&[u8]>) -> u64 {
    raw.and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir).finish()
    }
}

fn describe_io(e: &sled::Error) -> String {
    match e {
        sled::Error::Io(io) if io.kind() == std::io::ErrorKind::StorageFull => {
            format!("the disk is full ({io})")
        }
        sled::Error::Io(io) if io.raw_os_error() == Some(libc::ENOSPC) => {
            format!("the disk is full ({io})")
        }
        other => other.to_string(),
    }
}

/// Deletions per batch when old history and audit entries are forgotten.
const PRUNE_BATCH: usize = 10_000;

/// Tries, 25 ms apart, before an open that finds the store locked reports it busy.
const LOCK_RETRIES: usize = 40;

impl Store {
    /// Opens (creating if needed) the store in `dir` without binding it to an instance.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Self::open_inner(dir, None)
    }

    /// Opens the store of `instance`: a store recorded for another instance is refused.
    pub fn open_instance(dir: &Path, instance: &str) -> Result<Store, StoreError> {
        Self::open_inner(dir, Some(instance))
    }

    fn open_inner(dir: &Path, instance: Option<&str>) -> Result<Store, StoreError> {
        let dir = dir.to_path_buf();
        if dir.exists() && !dir.is_dir() {
            return Err(StoreError::Open {
                dir,
                detail: "it is a file, not a folder".to_string(),
            });
        }
        let before = Before::look(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::Open {
            dir: dir.clone(),
            detail: format!("creating the folder: {e}"),
        })?;
        let config = sled::Config::new().path(&dir).mode(sled::Mode::LowSpace);
        // sled may panic on some damaged files instead of returning an error.
        let open = || std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| config.open()));
        let locked = |r: &std::thread::Result<sled::Result<sled::Db>>| matches!(r, Ok(Err(sled::Error::Io(io))) if io.to_string().contains("could not acquire lock"));
        let mut opened = open();
        // A store this process just closed keeps its lock until sled's flusher thread has exited (a few
        // milliseconds): wait that long before calling the store busy.
        for _ in 0..LOCK_RETRIES {
            if !locked(&opened) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
            opened = open();
        }
        let db = match opened {
            Err(_) => {
                return Err(StoreError::Corrupt {
                    dir,
                    detail: "sled could not read its files".to_string(),
                });
            }
            Ok(Err(sled::Error::Io(io))) if io.to_string().contains("could not acquire lock") => {
                return Err(StoreError::Locked { dir });
            }
            Ok(Err(e @ (sled::Error::Corruption { .. } | sled::Error::Unsupported(_)))) => {
                return Err(StoreError::Corrupt {
                    dir,
                    detail: e.to_string(),
                });
            }
            Ok(Err(e)) => {
                return Err(StoreError::Open {
                    dir,
                    detail: describe_io(&e),
                });
            }
            Ok(Ok(db)) => db,
        };
        let store = Store {
            db,
            dir,
            generation: Default::default(),
        };
        store.check_meta(instance, &before)?;
        Ok(store)
    }

    fn check_meta(&self, instance: Option<&str>, before: &Before) -> Result<(), StoreError> {
        match self.get_raw(keys::FORMAT_VERSION_KEY)? {
            None => {
                if !self.db.is_empty() {
                    return Err(self.corrupt("it holds data but no format version record"));
                }
                if before.had_store || before.generation.is_some() {
                    // Never initialise over a store that was there: its log was emptied, overwritten or cut short.
                    return Err(self.corrupt(
                        "the folder held a store, but its database opens without the format version record: \
                         its files were emptied, overwritten or cut short",
                    ));
                }
                let mut w = self.writer();
                w.put_raw(
                    keys::FORMAT_VERSION_KEY,
                    FORMAT_VERSION.to_string().into_bytes(),
                );
                w.put_raw(keys::CREATED_AT_KEY, Utc::now().to_rfc3339().into_bytes());
                if let Some(name) = instance {
                    w.put_raw(keys::INSTANCE_KEY, name.as_bytes().to_vec());
                }
                w.commit()?;
                self.flush()?;
            }
            Some(raw) => {
                let found: u32 = std::str::from_utf8(&raw)
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .ok_or_else(|| self.corrupt("unreadable format version record"))?;
                if found > FORMAT_VERSION {
                    return Err(StoreError::NewerFormat {
                        dir: self.dir.clone(),
                        found,
                        supported: FORMAT_VERSION,
                    });
                }
                if found == 0 {
                    return Err(self.corrupt("format version 0"));
                }
                let inside = parse_u64(self.get_raw(keys::GENERATION_KEY)?.as_deref());
                if let Some(outside) = before.generation
                    && inside < outside
                {
                    return Err(self.corrupt(&format!(
                        "its database holds generation {inside}, older than generation {outside} saved last: \
                         the log was cut short or replaced by an older copy, and records are missing"
                    )));
                }
                *self
                    .generation
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = inside;
                if let Some(expected) = instance {
                    match self.instance()? {
                        Some(found) if found != expected => {
                            return Err(StoreError::OtherInstance {
                                dir: self.dir.clone(),
                                found,
                                expected: expected.to_string(),
                            });
                        }
                        Some(_) => {}
                        None => {
                            let mut w = self.writer();
                            w.put_raw(keys::INSTANCE_KEY, expected.as_bytes().to_vec());
                            w.commit()?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn corrupt(&self, detail: &str) -> StoreError {
        StoreError::Corrupt {
            dir: self.dir.clone(),
            detail: detail.to_string(),
        }
    }

    pub(crate) fn io_error(&self, what: &str, e: &sled::Error) -> StoreError {
        StoreError::Io {
            dir: self.dir.clone(),
            what: what.to_string(),
            detail: describe_io(e),
        }
    }

    #[cfg(test)]
    pub(crate) fn db(&self) -> &sled::Db {
        &self.db
    }

    pub fn writer(&self) -> Writer<'_> {
        Writer::new(self)
    }

    /// Makes every write so far durable. Called before a sync reports success and before risky Okta calls.
    /// Each flush advances the store's generation inside sled and then, once sled has it on disk, in
    /// [`GENERATION_FILE`] (so the file never runs ahead of the log; a log behind the file is damage).
    pub fn flush(&self) -> Result<(), StoreError> {
        let generation = self
            .db
            .update_and_fetch(keys::GENERATION_KEY, |old| {
                Some((parse_u64(old) + 1).to_string().into_bytes())
            })
            .map_err(|e| self.io_error("advancing the generation", &e))?;
        let generation = parse_u64(generation.as_deref());
        self.db.flush().map_err(|e| self.io_error("flushing", &e))?;
        let mut last = self
            .generation
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if generation > *last {
            let path = self.dir.join(GENERATION_FILE);
            let tmp = self.dir.join(format!("{GENERATION_FILE}.tmp"));
            std::fs::write(&tmp, format!("{generation}\n"))
                .and_then(|()| std::fs::rename(&tmp, &path))
                .map_err(|e| StoreError::Io {
                    dir: self.dir.clone(),
                    what: format!("writing {}", path.display()),
                    detail: e.to_string(),
                })?;
            *last = generation;
        }
        Ok(())
    }

    pub(crate) fn next_seq(&self) -> Result<u64, StoreError> {
        self.db
            .generate_id()
            .map_err(|e| self.io_error("allocating a sequence number", &e))
    }

    fn get_raw(&self, key: &str) -> Result<Option<sled::IVec>, StoreError> {
        self.db
            .get(key)
            .map_err(|e| self.io_error(&format!("reading {key}"), &e))
    }

    fn get_json<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StoreError> {
        let raw = self
            .db
            .get(key)
            .map_err(|e| self.io_error(&format!("reading {}", String::from_utf8_lossy(key)), &e))?;
        raw.map(|v| self.decode(key, &v)).transpose()
    }

    fn decode<T: DeserializeOwned>(&self, key: &[u8], value: &[u8]) -> Result<T, StoreError> {
        serde_json::from_slice(value).map_err(|e| StoreError::Decode {
            dir: self.dir.clone(),
            key: String::from_utf8_lossy(key).replace('\0', "/"),
            detail: e.to_string(),
        })
    }

    /// Every (key, value) under a prefix, in key order.
    pub(crate) fn scan(&self, prefix: &[u8]) -> Result<Vec<(sled::IVec, sled::IVec)>, StoreError> {
        self.db
            .scan_prefix(prefix)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.io_error(&format!("listing {}", String::from_utf8_lossy(prefix)), &e))
    }

    fn scan_json<T: DeserializeOwned>(&self, prefix: &str) -> Result<Vec<T>, StoreError> {
        self.scan(prefix.as_bytes())?
            .iter()
            .map(|(k, v)| self.decode(k, v))
            .collect()
    }

    /// The newest `limit` records under a sequence prefix, newest first.
    /// Forgets sync history and audit entries older than `before`, oldest first (entries are numbered in
    /// time order, so this stops at the first one to keep and costs what it deletes). Returns how many went.
    pub fn prune(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        #[derive(serde::Deserialize)]
        struct Stamp {
            at: DateTime<Utc>,
        }
        let mut gone = 0u64;
        for prefix in [keys::HISTORY, keys::AUDIT] {
            let mut w = self.writer();
            for item in self.db.scan_prefix(prefix.as_bytes()) {
                let (k, v) = item.map_err(|e| self.io_error(&format!("listing {prefix}"), &e))?;
                let stamp: Stamp = self.decode(&k, &v)?;
                if stamp.at >= before {
                    break;
                }
                w.remove_key(&k);
                gone += 1;
                if w.len() >= PRUNE_BATCH {
                    std::mem::replace(&mut w, self.writer()).commit()?;
                }
            }
            w.commit()?;
        }
        Ok(gone)
    }

    fn newest_json<T: DeserializeOwned>(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        for item in self.db.scan_prefix(prefix.as_bytes()).rev().take(limit) {
            let (k, v) = item.map_err(|e| self.io_error(&format!("listing {prefix}"), &e))?;
            out.push(self.decode(&k, &v)?);
        }
        Ok(out)
    }

    pub fn format_version(&self) -> Result<u32, StoreError> {
        let raw = self.get_raw(keys::FORMAT_VERSION_KEY)?;
        Ok(raw
            .and_then(|v| std::str::from_utf8(&v).ok().and_then(|s| s.parse().ok()))
            .unwrap_or(FORMAT_VERSION))
    }

    pub fn instance(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .get_raw(keys::INSTANCE_KEY)?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// True once a sync has been recorded, or the store was imported or re-initialised.
    /// A store that is not initialised must not treat existing Okta groups with our names as foreign.
    pub fn is_initialized(&self) -> Result<bool, StoreError> {
        Ok(self.get_raw(keys::INITIALIZED_KEY)?.is_some())
    }

    /// An apply began and did not finish (the process died): the next sync should be a full one.
    pub fn is_dirty(&self) -> Result<bool, StoreError> {
        Ok(self.get_raw(keys::DIRTY_KEY)?.is_some())
    }

    pub fn groups(&self) -> Result<Vec<StoredGroup>, StoreError> {
        self.scan_json(keys::GROUP)
    }

    pub fn group(&self, id: &str) -> Result<Option<StoredGroup>, StoreError> {
        self.get_json(&keys::group(id))
    }

    /// Members of a managed group after the last sync that touched it.
    pub fn members(&self, group: &str) -> Result<BTreeSet<UserId>, StoreError> {
        Ok(self.get_json(&keys::members(group))?.unwrap_or_default())
    }

    /// Distinct users in at least one managed group (computed from the member sets).
    pub fn count_licensed_users(&self) -> Result<u64, StoreError> {
        let mut users: BTreeSet<UserId> = BTreeSet::new();
        for group in self.groups()? {
            users.extend(self.members(&group.id)?);
        }
        Ok(users.len() as u64)
    }

    /// The licensed-user count recorded by the last sync (fast: one key).
    pub fn licensed_users(&self) -> Result<u64, StoreError> {
        Ok(self
            .get_raw(keys::LICENSED_USERS_KEY)?
            .and_then(|v| std::str::from_utf8(&v).ok().and_then(|s| s.parse().ok()))
            .unwrap_or(0))
    }

    /// rule -> user -> group names at the last successful sync.
    pub fn user_groups(
        &self,
    ) -> Result<BTreeMap<String, BTreeMap<UserId, BTreeSet<String>>>, StoreError> {
        let mut out: BTreeMap<String, BTreeMap<UserId, BTreeSet<String>>> = BTreeMap::new();
        for (k, v) in self.scan(keys::USER_GROUPS.as_bytes())? {
            let (rule, user) = keys::split_pair(&k, keys::USER_GROUPS)
                .ok_or_else(|| self.corrupt("bad user-state key"))?;
            let names: BTreeSet<String> = self.decode(&k, &v)?;
            out.entry(rule).or_default().insert(user, names);
        }
        Ok(out)
    }

    /// rule -> group name -> users, the planner's shape of [`Store::user_groups`] (built in one pass: keys
    /// come in (rule, user) order, so every list is built sorted).
    pub fn rule_states(&self) -> Result<BTreeMap<String, RuleState>, StoreError> {
        let mut out: BTreeMap<String, RuleState> = BTreeMap::new();
        for (k, v) in self.scan(keys::USER_GROUPS.as_bytes())? {
            let (rule, user) = keys::split_pair(&k, keys::USER_GROUPS)
                .ok_or_else(|| self.corrupt("bad user-state key"))?;
            let names: BTreeSet<String> = self.decode(&k, &v)?;
            let state = out.entry(rule).or_default();
            for name in names {
                state.entry(name).or_default().push(&user);
            }
        }
        out.values_mut()
            .flat_map(|s| s.values_mut())
            .for_each(IdList::sort);
        Ok(out)
    }

    /// (group, user) memberships the tool added.
    pub fn added_by_us(&self) -> Result<BTreeSet<(GroupId, UserId)>, StoreError> {
        self.scan(keys::ADDED.as_bytes())?
            .iter()
            .map(|(k, _)| {
                keys::split_pair(k, keys::ADDED).ok_or_else(|| self.corrupt("bad added-member key"))
            })
            .collect()
    }

    /// Group -> users the tool added (sorted: keys come in (group, user) order), the planner's shape.
    pub fn added_lists(&self) -> Result<BTreeMap<GroupId, IdList>, StoreError> {
        let mut out: BTreeMap<GroupId, IdList> = BTreeMap::new();
        for (k, _) in self.scan(keys::ADDED.as_bytes())? {
            let (group, user) = keys::split_pair(&k, keys::ADDED)
                .ok_or_else(|| self.corrupt("bad added-member key"))?;
            out.entry(group).or_default().push(&user);
        }
        out.values_mut().for_each(IdList::sort);
        Ok(out)
    }

    /// What the planner needs from the last successful sync.
    pub fn remembered(&self) -> Result<Remembered, StoreError> {
        Ok(Remembered {
            groups: self
                .groups()?
                .into_iter()
                .map(|g| (g.id.clone(), g.managed()))
                .collect(),
            user_groups: self.rule_states()?,
            added_by_us: self.added_lists()?,
        })
    }

    /// The newest `limit` sync records, newest first.
    pub fn history(&self, limit: usize) -> Result<Vec<SyncRecord>, StoreError> {
        self.newest_json(keys::HISTORY, limit)
    }

    pub fn last_sync(&self) -> Result<Option<SyncRecord>, StoreError> {
        Ok(self.history(1)?.into_iter().next())
    }

    /// The newest `limit` audit entries, newest first.
    pub fn audit(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.newest_json(keys::AUDIT, limit)
    }

    /// Intents whose outcome was never recorded (a crash or a kill during a sync), oldest first.
    pub fn pending_intents(&self) -> Result<Vec<Intent>, StoreError> {
        self.scan_json(keys::JOURNAL)
    }

    /// Records intents before their Okta calls and makes them durable. Returns them with their sequence numbers.
    pub fn begin_intents(
        &self,
        commit: Option<&str>,
        steps: Vec<crate::plan::model::Step>,
    ) -> Result<Vec<Intent>, StoreError> {
        let mut w = self.writer();
        let now = Utc::now();
        let mut out = Vec::with_capacity(steps.len());
        for action in steps {
            let intent = Intent {
                seq: self.next_seq()?,
                at: now,
                commit: commit.map(str::to_string),
                action,
            };
            w.put_intent(&intent)?;
            out.push(intent);
        }
        w.commit()?;
        self.flush()?;
        Ok(out)
    }

    pub fn created_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self.get_raw(keys::CREATED_AT_KEY)?.and_then(|v| {
            std::str::from_utf8(&v)
                .ok()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc))
        }))
    }
}

#[cfg(test)]
mod tests;
