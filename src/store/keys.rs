//! The store's key layout. Every data key starts with the format version (`v1/`) so that a later format can
//! live next to this one during a migration; `meta/` keys say which format and instance the store holds.
//!
//! ```text
//! meta/format_version             "1"
//! meta/instance                   instance name (a store belongs to one instance)
//! meta/created_at                 RFC 3339
//! meta/initialized                RFC 3339: first sync, `state import` or `state reinit`
//! meta/generation                 decimal, advanced by every flush; also in the `generation` file next to sled
//! v1/group/<group id>             StoredGroup (JSON)
//! v1/members/<group id>           JSON array of member user ids after the last sync
//! v1/ug/<rule id>\0<user id>      JSON array of group names the user's values yielded at the last sync
//! v1/added/<group id>\0<user id>  "" : a membership the tool added
//! v1/history/<seq:020>            SyncRecord (JSON)
//! v1/audit/<seq:020>              AuditEntry (JSON)
//! v1/journal/<seq:020>            Intent (JSON): a change sent (or about to be sent) to Okta, outcome unrecorded
//! v1/state/licensed_users         decimal count after the last sync
//! v1/state/dirty                  RFC 3339: an apply began and did not finish (a crash); cleared on record
//! v1/snap/meta                    SnapMeta: the observation snapshot incremental syncs start from (`store::snap`)
//! v1/snap/user/<user id>          SnapUser: status and the rule attributes of a user the last sync saw
//! v1/snap/group/<group id>        SnapGroup: lastMembershipUpdated and members of a group the last sync compared
//! ```
//! Sequence numbers come from sled's `generate_id` (monotonic across restarts), zero-padded so that
//! byte order is time order.

pub const FORMAT_VERSION_KEY: &str = "meta/format_version";
pub const INSTANCE_KEY: &str = "meta/instance";
pub const CREATED_AT_KEY: &str = "meta/created_at";
pub const INITIALIZED_KEY: &str = "meta/initialized";
pub const GENERATION_KEY: &str = "meta/generation";

pub const GROUP: &str = "v1/group/";
pub const MEMBERS: &str = "v1/members/";
pub const USER_GROUPS: &str = "v1/ug/";
pub const ADDED: &str = "v1/added/";
pub const HISTORY: &str = "v1/history/";
pub const AUDIT: &str = "v1/audit/";
pub const JOURNAL: &str = "v1/journal/";
pub const LICENSED_USERS_KEY: &str = "v1/state/licensed_users";
pub const DIRTY_KEY: &str = "v1/state/dirty";

/// Separates the parts of a compound key; ids and rule ids never contain NUL.
pub const SEP: u8 = 0;

pub fn group(id: &str) -> Vec<u8> {
    [GROUP.as_bytes(), id.as_bytes()].concat()
}

pub fn members(id: &str) -> Vec<u8> {
    [MEMBERS.as_bytes(), id.as_bytes()].concat()
}

pub fn user_groups(rule: &str, user: &str) -> Vec<u8> {
    [
        USER_GROUPS.as_bytes(),
        rule.as_bytes(),
        &[SEP],
        user.as_bytes(),
    ]
    .concat()
}

pub fn user_groups_rule_prefix(rule: &str) -> Vec<u8> {
    [USER_GROUPS.as_bytes(), rule.as_bytes(), &[SEP]].concat()
}

pub fn added(group: &str, user: &str) -> Vec<u8> {
    [ADDED.as_bytes(), group.as_bytes(), &[SEP], user.as_bytes()].concat()
}

pub fn added_group_prefix(group: &str) -> Vec<u8> {
    [ADDED.as_bytes(), group.as_bytes(), &[SEP]].concat()
}

pub fn seq(prefix: &str, seq: u64) -> Vec<u8> {
    format!("{prefix}{seq:020}").into_bytes()
}

/// Splits `prefix<a>\0<b>` into (a, b).
pub fn split_pair(key: &[u8], prefix: &str) -> Option<(String, String)> {
    let rest = key.strip_prefix(prefix.as_bytes())?;
    let at = rest.iter().position(|b| *b == SEP)?;
    let a = std::str::from_utf8(&rest[..at]).ok()?;
    let b = std::str::from_utf8(&rest[at + 1..]).ok()?;
    Some((a.to_string(), b.to_string()))
}

pub fn suffix(key: &[u8], prefix: &str) -> Option<String> {
    let rest = key.strip_prefix(prefix.as_bytes())?;
    std::str::from_utf8(rest).ok().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_round_trip_and_sequences_sort_in_time_order() {
        let k = user_groups("profile.department:department", "00u1");
        assert_eq!(
            split_pair(&k, USER_GROUPS),
            Some((
                "profile.department:department".to_string(),
                "00u1".to_string()
            ))
        );
        assert!(seq(AUDIT, 9) < seq(AUDIT, 10));
        assert_eq!(suffix(&group("00g1"), GROUP).as_deref(), Some("00g1"));
    }
}
