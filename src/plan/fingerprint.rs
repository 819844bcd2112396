//! Fingerprints of what a plan was made from, so that `apply` can refuse a stale plan: the validated config
//! (policies and rules, not where they were written) and the Okta state the plan depends on (users' ids,
//! statuses and the attributes rules read; the groups whose names rules compute or the store manages, with
//! their members). SHA-256 over a canonical, length-prefixed serialization in sorted order.

use std::collections::BTreeSet;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::collisions::Groups;
use super::index::Users;
use super::model::OrgView;
use super::users::Column;
use crate::config::model::Config;

/// SHA-256 fed through a 64 KiB buffer: the same digest as feeding each piece, without a hasher call per
/// field (a million-user org is tens of millions of small pieces).
struct Hasher {
    sha: Sha256,
    buf: Vec<u8>,
}

const BUFFER: usize = 64 * 1024;

impl Hasher {
    fn new() -> Hasher {
        Hasher {
            sha: Sha256::new(),
            buf: Vec::with_capacity(BUFFER),
        }
    }

    fn update(&mut self, bytes: impl AsRef<[u8]>) {
        let bytes = bytes.as_ref();
        if self.buf.len() + bytes.len() > BUFFER {
            self.sha.update(&self.buf);
            self.buf.clear();
            if bytes.len() > BUFFER {
                self.sha.update(bytes);
                return;
            }
        }
        self.buf.extend_from_slice(bytes);
    }

    fn hex(mut self) -> String {
        self.sha.update(&self.buf);
        format!("sha256:{}", hex::encode(self.sha.finalize()))
    }
}

/// Where canonical bytes go: the hasher, or a buffer that caches one value's encoding.
trait Sink {
    fn update(&mut self, bytes: impl AsRef<[u8]>);
}

impl Sink for Hasher {
    fn update(&mut self, bytes: impl AsRef<[u8]>) {
        Hasher::update(self, bytes)
    }
}

impl Sink for Vec<u8> {
    fn update(&mut self, bytes: impl AsRef<[u8]>) {
        self.extend_from_slice(bytes.as_ref())
    }
}

fn feed(h: &mut impl Sink, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

fn feed_value(h: &mut impl Sink, v: &Value) {
    match v {
        Value::Null => h.update([0u8]),
        Value::Bool(b) => h.update([1u8, *b as u8]),
        Value::Number(n) => {
            h.update([2u8]);
            feed(h, n.to_string().as_bytes());
        }
        Value::String(s) => {
            h.update([3u8]);
            feed(h, s.as_bytes());
        }
        Value::Array(items) => {
            h.update([4u8]);
            h.update((items.len() as u64).to_le_bytes());
            items.iter().for_each(|i| feed_value(h, i));
        }
        Value::Object(map) => {
            h.update([5u8]);
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            h.update((keys.len() as u64).to_le_bytes());
            for k in keys {
                feed(h, k.as_bytes());
                feed_value(h, &map[k]);
            }
        }
    }
}

/// `sha256:<hex>` of the instance's policies and enabled flag and the rules (sorted by id).
pub fn config(config: &Config) -> String {
    let mut rules: Vec<_> = config
        .rules
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id(), "attribute": r.attribute, "prefix": r.prefix, "description": r.description,
                "aliases": r.aliases, "enabled": r.enabled,
            })
        })
        .collect();
    rules.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let doc = serde_json::json!({
        "instance_enabled": config.instance.enabled,
        "policies": config.instance.policies,
        "rules": rules,
    });
    let mut h = Hasher::new();
    feed_value(&mut h, &doc);
    h.hex()
}

/// `sha256:<hex>` of the Okta state the plan depends on.
pub(crate) fn okta(
    config: &Config,
    users: &Users<'_>,
    org: &OrgView,
    relevant: &BTreeSet<&str>,
    groups: &Groups<'_>,
) -> String {
    let attrs: BTreeSet<&str> = config.rules.iter().map(|r| r.attribute.as_str()).collect();
    // Each distinct value is serialized once; a user then costs a few slice copies.
    let table = users.table();
    let columns: Vec<(Option<&Column>, Vec<Vec<u8>>)> = attrs
        .iter()
        .map(|a| {
            let column = table.column(a);
            let encoded = column
                .map(|c| {
                    c.values()
                        .iter()
                        .map(|v| {
                            let mut bytes = Vec::new();
                            feed_value(&mut bytes, v);
                            bytes
                        })
                        .collect()
                })
                .unwrap_or_default();
            (column, encoded)
        })
        .collect();
    let mut h = Hasher::new();
    h.update((users.len() as u64).to_le_bytes());
    for u in 0..users.len() as u32 {
        feed(&mut h, users.id(u).as_bytes());
        feed(&mut h, users.status(u).as_str().as_bytes());
        let row = users.row(u);
        for (column, encoded) in &columns {
            match column.and_then(|c| encoded.get(c.code(row) as usize)) {
                Some(bytes) => h.update(bytes),
                None => h.update([9u8]),
            }
        }
    }
    for id in relevant {
        let Some(g) = groups.get(id) else { continue };
        feed(&mut h, g.id.as_bytes());
        feed(&mut h, g.name.as_bytes());
        feed(&mut h, g.group_type.as_str().as_bytes());
        let mut members: Vec<&str> = org.members.get(*id).into_iter().flatten().collect();
        if !members.is_sorted() {
            members.sort_unstable();
        }
        members.dedup();
        h.update((members.len() as u64).to_le_bytes());
        for m in members {
            feed(&mut h, m.as_bytes());
        }
    }
    h.hex()
}
