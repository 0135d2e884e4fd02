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
    let rel = format!("{}/{id}.json", layout::HEARTBEATS);
    if let Ok(path) = hub.file(&rel)
        && let Ok(Some(record)) = storage::read_json_object(&path)
        && record::text(&record, fields::ID).is_none_or(|named| named == id)
        && let Some(written) = record::timestamp(&record, fields::HEARTBEAT_TIME)
        && Liveness::of(
            hub,
            Some(judge(
                written,
                sighting(hub, &rel, &record, Some(written), now),
            )),
            now,
        ) == Liveness::Live
    {
        return Ok(Liveness::Live);
    }
    let scan = heartbeat::scan_heartbeats(hub)?;
    let seen = newest_per_session(&scan.items)
        .get(id)
        .and_then(|hb| hb.time);
    Ok(Liveness::of(hub, seen, now))
}

/// Where this machine remembers, per hub file it judges by time (heartbeats, claim
/// locks), when it first saw that file's current content and when it first saw the
/// content before: `.sessions/seen/<folder>%<file>`. Machine-local, like every
/// `.sessions/` file: the times are this machine's clock, the only one it can trust.
pub const SEEN: &str = ".sessions/seen";

/// A difference between a written time and what this machine saw that is worth a
/// warning (below it: the delay of a write, rounding to seconds).
pub const SKEW_WARNING: chrono::Duration = chrono::Duration::seconds(30);

/// What this machine saw of one file's content.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Sighting {
    /// A hash of the content.
    hash: String,
    /// When this machine first saw this content.
    first_seen: String,
    /// The time written in this content, if it has one.
    #[serde(default)]
    written: Option<String>,
    /// When this machine first saw the content this one replaced (this content was
    /// written after that), kept only when the written time moved forward: a beat, not
    /// a heartbeat restored or rewritten into the past.
    #[serde(default)]
    replaced_seen: Option<String>,
}

/// The bounds this machine's own sightings put on when a file's content was written:
/// not after `first_seen` (it was there then), not before `replaced_seen` (the old
/// content was still there then).
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    pub first_seen: Timestamp,
    pub replaced_seen: Option<Timestamp>,
}

fn content_hash(record: &record::Record) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(record)
        .unwrap_or_default()
        .hash(&mut h);
    format!("{:016x}", h.finish())
}

/// Record (when new) and return this machine's sightings of the file at `rel` whose
/// content is `record`. A hub whose `.sessions/` cannot be written keeps no memory:
/// the content counts as first seen now.
pub fn sighting(
    hub: &Hub,
    rel: &str,
    record: &record::Record,
    written: Option<Timestamp>,
    now: Timestamp,
) -> Seen {
    let hash = content_hash(record);
    let name = rel.replace('/', "%");
    let path = hub.dir(SEEN).map(|d| d.join(&name));
    let old: Option<Sighting> = path
        .as_ref()
        .ok()
        .and_then(|p| storage::read_text(p).ok().flatten())
        .and_then(|t| serde_json::from_str(&t).ok());
    let parse = |s: &Option<String>| s.as_deref().and_then(crate::store::time::parse_str);
    match old {
        Some(s) if s.hash == hash => Seen {
            first_seen: crate::store::time::parse_str(&s.first_seen).unwrap_or(now),
            replaced_seen: parse(&s.replaced_seen),
        },
        old => {
            let forward = |o: &Sighting| {
                written.is_some_and(|w| parse(&o.written).is_some_and(|before| w > before))
            };
            let new = Sighting {
                hash,
                first_seen: crate::store::time::format(now),
                written: written.map(crate::store::time::format),
                replaced_seen: old.filter(forward).map(|o| o.first_seen),
            };
            if let Ok(p) = &path {
                // A cache: no fsync; a lost write only forgets a sighting.
                let _ = hub
                    .dir(SEEN)
                    .and_then(|d| storage::ensure_dir(&d))
                    .and_then(|()| storage::write_replace_unsynced(p, &storage::json_bytes(&new)));
            }
            Seen {
                first_seen: now,
                replaced_seen: parse(&new.replaced_seen),
            }
        }
    }
}

/// The one skew rule: the time a written timestamp may speak for, judged by this
/// machine's clock. Never later than when this machine first saw the content (a clock
/// a day fast cannot keep a dead session live, or a dead holder's lease running, for a
/// day), never earlier than when it first saw the content this replaced (a clock an
/// hour slow cannot make a session that this machine sees beating look dead). A time
/// that went backwards is no beat: it gets no floor.
pub fn judge(written: Timestamp, seen: Seen) -> Timestamp {
    let floor = seen.replaced_seen.unwrap_or(written).min(seen.first_seen);
    written.min(seen.first_seen).max(floor)
}

/// The end of a lease, judged the same way: moved by the holder's clock offset as its
/// heartbeat shows it ([`clock_offset`]: a day-fast holder's lease ends a day earlier
/// than it says, an hour-slow one's an hour later), and never later than a lease length
/// after this machine first saw the lock as it is.
pub fn judge_lease(
    end: Timestamp,
    ttl: chrono::Duration,
    seen: Seen,
    holder_offset: Option<chrono::Duration>,
) -> Timestamp {
    let end = holder_offset
        .and_then(|off| end.checked_sub_signed(off))
        .unwrap_or(end);
    seen.first_seen
        .checked_add_signed(ttl)
        .map_or(end, |cap| end.min(cap))
}

/// How far session `id`'s clock is off (positive: ahead), as far as this machine's
/// sightings of its heartbeat prove: a bound that errs on the side of the holder.
pub fn clock_offset(hub: &Hub, id: &str, now: Timestamp) -> Option<chrono::Duration> {
    let rel = format!("{}/{id}.json", layout::HEARTBEATS);
    let record = storage::read_json_object(&hub.file(&rel).ok()?).ok()??;
    let written = record::timestamp(&record, fields::HEARTBEAT_TIME)?;
    let seen = sighting(hub, &rel, &record, Some(written), now);
    Some(written - judge(written, seen)).filter(|off| !off.is_zero())
}

/// How far the writer's clock is off, as far as this machine's sightings prove it
/// (positive: ahead), when that is more than [`SKEW_WARNING`].
pub fn skew(written: Timestamp, seen: Seen) -> Option<chrono::Duration> {
    let off = written - judge(written, seen);
    (off.abs() > SKEW_WARNING).then_some(off)
}

/// The time heartbeat `hb` speaks for: its written time, judged by [`judge`].
pub fn heartbeat_time(hub: &Hub, hb: &Heartbeat, now: Timestamp) -> Option<Timestamp> {
    let written = hb.written?;
    let rel = format!(
        "{}/{}",
        layout::HEARTBEATS,
        hb.path.file_name()?.to_string_lossy()
    );
    Some(judge(
        written,
        sighting(hub, &rel, &hb.record, Some(written), now),
    ))
}

/// Warnings for the sessions whose clocks this machine's sightings show to be off.
pub fn skew_warnings(hub: &Hub, heartbeats: &[Heartbeat], now: Timestamp) -> Vec<String> {
    let mut out = Vec::new();
    for hb in heartbeats {
        let (Some(written), Some(name)) = (hb.written, hb.path.file_name()) else {
            continue;
        };
        let rel = format!("{}/{}", layout::HEARTBEATS, name.to_string_lossy());
        if let Some(off) = skew(written, sighting(hub, &rel, &hb.record, Some(written), now)) {
            let secs = off.num_seconds();
            out.push(format!(
                "the clock of session {} looks {} {} (its heartbeat says {}); its liveness is \
                 judged by when this machine saw the heartbeat change",
                hb.id,
                crate::store::time::human_age(secs.abs()),
                if secs > 0 { "fast" } else { "slow" },
                crate::store::time::format(written),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};

    fn t(secs: i64) -> Timestamp {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn a_future_time_is_capped_at_the_first_sighting() {
        let seen = Seen {
            first_seen: t(0),
            replaced_seen: None,
        };
        assert_eq!(judge(t(86_400), seen), t(0));
        assert_eq!(skew(t(86_400), seen), Some(Duration::seconds(86_400)));
        // A time in the past, first seen now: taken as written, no skew proven.
        assert_eq!(judge(t(-600), seen), t(-600));
        assert_eq!(skew(t(-600), seen), None);
    }

    #[test]
    fn a_beat_is_never_older_than_the_sighting_of_what_it_replaced() {
        let seen = Seen {
            first_seen: t(60),
            replaced_seen: Some(t(0)),
        };
        assert_eq!(judge(t(-3600), seen), t(0));
        assert_eq!(skew(t(-3600), seen), Some(Duration::seconds(-3600)));
        // Inside the window: as written.
        assert_eq!(judge(t(30), seen), t(30));
        assert_eq!(skew(t(30), seen), None);
    }

    #[test]
    fn a_lease_moves_with_the_holders_offset_and_is_capped_by_the_sighting() {
        let seen = Seen {
            first_seen: t(0),
            replaced_seen: None,
        };
        let ttl = Duration::minutes(30);
        // A day fast: a day earlier than it says, and never past first sight + ttl.
        assert_eq!(
            judge_lease(t(86_400 + 1800), ttl, seen, Some(Duration::days(1))),
            t(1800)
        );
        assert_eq!(judge_lease(t(86_400 + 1800), ttl, seen, None), t(1800));
        // An hour slow: later than it says (up to the cap).
        assert_eq!(
            judge_lease(t(-3000), ttl, seen, Some(Duration::seconds(-3600))),
            t(600)
        );
    }
}
