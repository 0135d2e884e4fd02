//! Heartbeats: `HEARTBEATS/<id>.json`, what a session says about itself as it works.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Value, json};

use crate::sessions::fields;
use crate::store::error::{Error, Result};
use crate::store::hub::{Hub, layout};
use crate::store::record::{self, Record};
use crate::store::scan::{self, Scan};
use crate::store::time::{self, Timestamp};
use crate::{store::ids, store::storage};

/// One heartbeat file, read tolerantly.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    pub id: String,
    pub path: PathBuf,
    pub record: Record,
    /// The time the session speaks for, judged by this machine's sightings of the file
    /// ([`crate::sessions::liveness::judge`]): what every liveness decision uses.
    pub time: Option<Timestamp>,
    /// The time written in the file, by the writer's clock.
    pub written: Option<Timestamp>,
}

impl Heartbeat {
    pub fn status(&self) -> Option<&str> {
        record::text(&self.record, &["status"])
    }
    pub fn work(&self) -> Option<&str> {
        record::text(&self.record, fields::WORK)
    }
    pub fn capabilities(&self) -> Vec<String> {
        let mut caps = record::list(&self.record, &["capabilities", "capabilities_offered"]);
        caps.extend(record::list(
            &self.record,
            &["specialization", "specializations"],
        ));
        caps
    }
}

/// Read every heartbeat in `HEARTBEATS/`. A file that does not parse is an error that
/// names it: the caller should not guess who is alive from a broken hub.
pub fn load_heartbeats(hub: &Hub) -> Result<Vec<Heartbeat>> {
    scan_heartbeats(hub)?.strict()
}

/// Every heartbeat in `HEARTBEATS/` that parses, and a problem for each that does not
/// (the watcher keeps what it knew of a file caught mid-edit).
pub fn scan_heartbeats(hub: &Hub) -> Result<Scan<Heartbeat>> {
    let now = time::now();
    Ok(scan::json_records(hub, layout::HEARTBEATS, ".json")?
        .map(|(path, record)| Heartbeat::of(hub, path, record, now)))
}

/// One heartbeat file, read again after it changed (`None`: it is gone).
pub fn read_heartbeat(hub: &Hub, path: &Path) -> Result<Option<Heartbeat>> {
    let now = time::now();
    Ok(scan::json_record(hub, path)?
        .map(|record| Heartbeat::of(hub, path.to_path_buf(), record, now)))
}

impl Heartbeat {
    /// The heartbeat in `record`, its time judged by this machine's sightings.
    fn of(hub: &Hub, path: PathBuf, record: Record, now: Timestamp) -> Heartbeat {
        let id = record::text(&record, fields::ID)
            .map(str::to_string)
            .unwrap_or_else(|| scan::stem(&path));
        let written = record::timestamp(&record, fields::HEARTBEAT_TIME);
        let mut hb = Heartbeat {
            id,
            path,
            record,
            time: written,
            written,
        };
        hb.time = crate::sessions::liveness::heartbeat_time(hub, &hb, now);
        hb
    }
}

/// What a heartbeat refreshes. `None` keeps the previous value.
#[derive(Debug, Clone, Default)]
pub struct Beat {
    pub status: Option<String>,
    pub current_work: Option<String>,
    pub name: Option<String>,
    pub role: Option<String>,
    pub capabilities: Vec<String>,
}

/// Refresh `HEARTBEATS/<id>.json`: time, status, current work, count. Unknown fields of
/// an existing heartbeat are kept. Returns the heartbeat's path. The claim leases the
/// heartbeat renews are renewed by [`crate::work::presence::heartbeat`].
pub fn write(hub: &Hub, id: &str, beat: &Beat) -> Result<PathBuf> {
    ids::validate("session ID", id)?;
    if let Some(work) = &beat.current_work {
        hub.check_secrets("the current work", work)?;
    }
    let rel = format!("{}/{id}.json", layout::HEARTBEATS);
    hub.dir(layout::HEARTBEATS)?;
    let now = time::format(time::now());
    hub.update_json(&rel, |current| {
        let mut hb = current.unwrap_or_default();
        let count = hb
            .get("heartbeat_count")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        record::set_text(&mut hb, "session_id", id);
        if let Some(name) = &beat.name {
            record::set_text(&mut hb, "name", name);
        }
        if let Some(role) = &beat.role {
            record::set_text(&mut hb, "role", role);
        }
        if let Some(status) = &beat.status {
            record::set_text(&mut hb, "status", status);
        }
        hb.entry("status").or_insert_with(|| json!("active"));
        if let Some(work) = &beat.current_work {
            record::set_text(&mut hb, "current_work", work);
        }
        if !beat.capabilities.is_empty() {
            record::set_list(&mut hb, "capabilities", &beat.capabilities);
        }
        hb.entry("started_at").or_insert_with(|| json!(now));
        // Both names: the original quick-status.sh reads `timestamp`.
        record::set_text(&mut hb, "timestamp", &now);
        record::set_text(&mut hb, "last_heartbeat", &now);
        hb.insert("heartbeat_count".into(), json!(count + 1));
        Ok((hb, ()))
    })?;
    hub.file(&rel)
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Pruned {
    pub id: String,
    pub last_seen: Option<String>,
    pub path: PathBuf,
}

/// Delete heartbeats older than `older_than` (the registry entry stays). Each file is
/// re-checked under its lock, so a session that beats during the prune survives.
pub fn prune(hub: &Hub, older_than: std::time::Duration, dry_run: bool) -> Result<Vec<Pruned>> {
    // Below the live threshold a prune would delete the heartbeats of live sessions.
    let live = hub.config.liveness.live;
    if older_than < live {
        return Err(Error::Usage(format!(
            "--older-than must be at least the live threshold ({}s): a live session's heartbeat is never pruned",
            live.as_secs()
        )));
    }
    let now = time::now();
    let mut pruned = Vec::new();
    for hb in load_heartbeats(hub)? {
        let old = |t: Option<Timestamp>| {
            t.is_none_or(|t| (now - t).num_seconds() > older_than.as_secs() as i64)
        };
        if !old(hb.time) {
            continue;
        }
        let name = hb
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        let rel = format!("{}/{}", layout::HEARTBEATS, name.unwrap_or_default());
        if !dry_run {
            let _lock = hub.lock(&rel)?;
            let current = storage::read_json_object(&hb.path)?;
            let still_old = current
                .as_ref()
                .is_some_and(|r| old(record::timestamp(r, fields::HEARTBEAT_TIME)));
            if !still_old {
                continue;
            }
            storage::remove(&hb.path)?;
        }
        pruned.push(Pruned {
            id: hb.id.clone(),
            last_seen: hb.time.map(time::format),
            path: hb.path.clone(),
        });
    }
    Ok(pruned)
}
