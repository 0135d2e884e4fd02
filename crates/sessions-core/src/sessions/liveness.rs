//! The one liveness rule: which heartbeat speaks for a session, and how alive that makes
//! it. The session-sync view, the claim takeover and the watcher all decide through here.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::sessions::fields;
use crate::sessions::heartbeat::{self, Heartbeat};
use crate::store::error::Result;
use crate::store::hub::{Hub, layout};
use crate::store::time::Timestamp;
use crate::store::{record, storage};

/// How alive a session is, from the age of its heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Liveness {
    Live,
    Stale,
    Gone,
    /// No heartbeat file at all: shown and serialized as `never` (never sent one).
    #[serde(rename = "never")]
    Unknown,
}

impl Liveness {
    pub fn of(hub: &Hub, last_seen: Option<Timestamp>, now: Timestamp) -> Liveness {
        let Some(seen) = last_seen else {
            return Liveness::Unknown;
        };
        let age = (now - seen).num_seconds().max(0) as u64;
        if age <= hub.config.liveness.live.as_secs() {
            Liveness::Live
        } else if age <= hub.config.liveness.gone.as_secs() {
            Liveness::Stale
        } else {
            Liveness::Gone
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Liveness::Live => "live",
            Liveness::Stale => "stale",
            Liveness::Gone => "gone",
            Liveness::Unknown => "never",
        }
    }
}

/// Several files may name one session (the old scripts' file names): the newest wins.
pub fn newest_per_session(heartbeats: &[Heartbeat]) -> BTreeMap<&str, &Heartbeat> {
    let mut by_id: BTreeMap<&str, &Heartbeat> = BTreeMap::new();
    for hb in heartbeats {
        let newest = by_id.entry(hb.id.as_str()).or_insert(hb);
        if hb.time > newest.time {
            *newest = hb;
        }
    }
    by_id
}

/// When each session was last seen, by [`newest_per_session`].
pub fn last_seen_per_session(heartbeats: &[Heartbeat]) -> BTreeMap<String, Option<Timestamp>> {
    newest_per_session(heartbeats)
        .into_iter()
        .map(|(id, hb)| (id.to_string(), hb.time))
        .collect()
}

/// How alive session `id` is now. Heartbeats that do not parse are passed over (the
/// others may still speak for it); a broken folder reads as no heartbeat.
pub fn session_liveness(hub: &Hub, id: &str, now: Timestamp) -> Result<Liveness> {
    // The session's own file, when it names this session and is live, decides alone:
    // the newest of its files can only be as live. This keeps a claim check on a live
    // holder to one read; only a holder that looks gone costs a scan of the folder.
    if let Ok(path) = hub.file(&format!("{}/{id}.json", layout::HEARTBEATS))
        && let Ok(Some(record)) = storage::read_json_object(&path)
        && record::text(&record, fields::ID).is_none_or(|named| named == id)
        && Liveness::of(hub, record::timestamp(&record, fields::HEARTBEAT_TIME), now)
            == Liveness::Live
    {
        return Ok(Liveness::Live);
    }
    let scan = heartbeat::scan_heartbeats(hub)?;
    let seen = newest_per_session(&scan.items)
        .get(id)
        .and_then(|hb| hb.time);
    Ok(Liveness::of(hub, seen, now))
}
