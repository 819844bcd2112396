//! The emulated System Log: events written by every change (naming the actor and targets) and
//! `GET /api/v1/logs` with `since`/`until`/`after`/`filter`/`limit`.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::okta::model::okta_time;

use super::error::ApiError;
use super::ids;
use super::search;
use super::state::{Actor, Org, Page};

/// Parameters of `GET /api/v1/logs`.
#[derive(Debug, Clone, Default)]
pub struct LogParams {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub after: Option<String>,
    pub filter: Option<String>,
    pub limit: Option<u32>,
}

/// Okta's OpenAPI declares most LogEvent fields non-nullable, so unknown values are left out rather than null.
fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

fn cursor_of(published: &Value, seq: u64) -> String {
    let ms = published
        .as_str()
        .and_then(|p| DateTime::parse_from_rfc3339(p).ok())
        .map_or(0, |t| t.timestamp_millis());
    format!("{ms}_{seq}")
}

impl Org {
    /// Appends an event in Okta's LogEvent shape.
    pub(crate) fn log(
        &mut self,
        event_type: &str,
        display: &str,
        actor: &Actor,
        targets: Vec<Value>,
        extra_debug: Option<Value>,
    ) {
        let now = self.now();
        let uuid = ids::uuid(&mut self.rng);
        let seq = self.take_seq();
        let ev = json!({
            "actor": {"id": actor.id, "type": actor.kind, "alternateId": actor.alternate_id,
                      "displayName": actor.display_name, "detailEntry": null},
            "client": {"userAgent": {"rawUserAgent": "dyngroups-emulator", "os": "Unknown", "browser": "UNKNOWN"},
                       "zone": "null", "device": "Unknown", "id": null, "ipAddress": "127.0.0.1",
                       "geographicalContext": null},
            "device": null,
            "authenticationContext": {"authenticationProvider": null, "credentialProvider": null,
                                      "credentialType": null, "issuer": null, "interface": null,
                                      "authenticationStep": 0, "externalSessionId": "trs-emulator"},
            "displayMessage": display,
            "eventType": event_type,
            "outcome": {"result": "SUCCESS", "reason": null},
            "published": okta_time::format(&now),
            "securityContext": {"asNumber": null, "asOrg": null, "isp": null, "domain": null, "isProxy": null},
            "severity": "INFO",
            "debugContext": {"debugData": extra_debug.unwrap_or_else(|| json!({}))},
            "legacyEventType": null,
            "transaction": {"type": "WEB", "id": uuid.replace('-', ""), "detail": {}},
            "uuid": uuid,
            "version": "0",
            "request": {"ipChain": [{"ip": "127.0.0.1", "geographicalContext": null, "version": "V4", "source": null}]},
            "target": targets,
        });
        self.logs.push((seq, strip_nulls(ev)));
    }

    /// Events in publication order. Without `until` (polling), `next` is always given, as Okta does.
    pub fn list_logs(&self, p: &LogParams) -> Result<Page<Value>, ApiError> {
        let filter = match p.filter.as_deref() {
            Some(f) => {
                let e = search::parse(f).map_err(|_| ApiError::bad_search())?;
                e.check(&search::logs_filter)
                    .map_err(|_| ApiError::bad_search())?;
                Some(e)
            }
            None => None,
        };
        let now = self.now();
        let until = p.until.unwrap_or(now);
        let since = p.since.unwrap_or(until - TimeDelta::days(7));
        let after_seq = match p.after.as_deref() {
            None | Some("") => None,
            Some(a) => Some(
                a.rsplit('_')
                    .next()
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or_else(|| {
                        ApiError::validation(
                            "after",
                            format!("after: the cursor {a:?} is not valid"),
                        )
                    })?,
            ),
        };
        let limit = p.limit.unwrap_or(100).clamp(1, 1000) as usize;
        let mut items = Vec::new();
        let mut last = None;
        let mut more = false;
        for (seq, ev) in &self.logs {
            if after_seq.is_some_and(|a| *seq <= a) {
                continue;
            }
            let published = ev["published"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc));
            let in_range =
                published.is_some_and(|t| (after_seq.is_some() || t >= since) && t <= until);
            if !in_range || filter.as_ref().is_some_and(|f| !f.matches(ev, false)) {
                continue;
            }
            if items.len() == limit {
                more = true;
                break;
            }
            last = Some(cursor_of(&ev["published"], *seq));
            items.push(ev.clone());
        }
        let polling = p.until.is_none();
        let next = if more || polling {
            last.or_else(|| p.after.clone()).or_else(|| {
                let seq = self.logs.last().map_or(0, |(s, _)| *s);
                Some(format!("{}_{seq}", now.timestamp_millis()))
            })
        } else {
            None
        };
        Ok(Page { items, next })
    }
}
