//! The registry (who exists) and the views built from it and the heartbeats
//! (session-sync, find-help). Heartbeats are in [`crate::sessions::heartbeat`], the
//! liveness rule in [`crate::sessions::liveness`].

use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Map, Value, json};

pub use crate::sessions::fields;
pub use crate::sessions::heartbeat::{
    Beat, Heartbeat, Pruned, load_heartbeats, prune, scan_heartbeats,
};
pub use crate::sessions::liveness::Liveness;
use crate::sessions::{heartbeat, liveness};
use crate::store::error::{Error, Result};
use crate::store::hub::{Hub, layout};
use crate::store::record::{self, Record};
use crate::store::time::{self, Timestamp};
use crate::{store::ids, store::storage};

/// REGISTRY.json: the whole document is kept, so fields the toolkit does not know
/// (`coordinator`, `pending_proposals`, per-session extras) survive every rewrite.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    pub doc: Record,
}

impl Registry {
    pub fn load(hub: &Hub) -> Result<Registry> {
        let path = hub.file(layout::REGISTRY)?;
        let doc = storage::read_json_object(&path)?.unwrap_or_default();
        check_registry_shape(&path, &doc)?;
        Ok(Registry { doc })
    }

    /// Registered sessions in file order.
    pub fn sessions(&self) -> impl Iterator<Item = (&str, &Record)> {
        self.doc
            .get("sessions")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.iter())
            .filter_map(|(id, v)| v.as_object().map(|r| (id.as_str(), r)))
    }

    pub fn get(&self, id: &str) -> Option<&Record> {
        self.doc.get("sessions")?.get(id)?.as_object()
    }
}

fn check_registry_shape(path: &std::path::Path, doc: &Record) -> Result<()> {
    match doc.get("sessions") {
        None | Some(Value::Object(_)) => Ok(()),
        Some(_) => Err(Error::Parse {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message: "\"sessions\" must be an object keyed by session ID".into(),
        }),
    }
}

/// A warning when `id` is not a registered session (a typo, or a session that never
/// registered), with the near match among the registered IDs when there is one.
pub fn unregistered_warning(registry: &Registry, id: &str) -> Option<String> {
    if registry.sessions().any(|(known, _)| known == id) {
        return None;
    }
    let hint = crate::store::ids::near_match(id, registry.sessions().map(|(known, _)| known))
        .map(|near| format!("; did you mean {near}?"))
        .unwrap_or_else(|| "; `sessions sync` lists the sessions".into());
    Some(format!("no registered session {id:?}{hint}"))
}

/// Locked read-modify-write of REGISTRY.json. A new registry gets the original header.
pub fn update_registry<T>(hub: &Hub, f: impl FnOnce(&mut Record) -> Result<T>) -> Result<T> {
    let path = hub.file(layout::REGISTRY)?;
    hub.update_json(layout::REGISTRY, |current| {
        let mut doc = current.unwrap_or_else(|| {
            let mut doc = Map::new();
            doc.insert("registry_version".into(), json!("1.0"));
            doc.insert("last_updated".into(), Value::Null);
            doc.insert("sessions".into(), json!({}));
            doc
        });
        check_registry_shape(&path, &doc)?;
        doc.entry("sessions").or_insert_with(|| json!({}));
        let out = f(&mut doc)?;
        doc.insert("last_updated".into(), json!(time::format(time::now())));
        Ok((doc, out))
    })
}

/// The `sessions` map of a registry document checked by [`update_registry`].
pub fn registry_sessions(doc: &mut Record) -> &mut Map<String, Value> {
    doc.get_mut("sessions")
        .and_then(Value::as_object_mut)
        .expect("update_registry guarantees a sessions object")
}

/// What a session says about itself when it registers.
#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub id: String,
    pub name: Option<String>,
    pub role: Option<String>,
    pub specializations: Vec<String>,
    pub capabilities: Vec<String>,
    pub current_work: Option<String>,
    /// The agent CLI running this session (`claude`, `codex`, …) and its own session id.
    pub provider: Option<String>,
    pub provider_session: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Registered {
    pub id: String,
    /// False when the session was already registered (register is idempotent).
    pub created: bool,
    pub heartbeat: PathBuf,
    pub hello: PathBuf,
}

/// Register a session: registry entry, heartbeat, and `DISCOVERY/<id>-HELLO.md`.
/// Running it again updates what was given and changes nothing else.
pub fn register(hub: &Hub, reg: &Registration) -> Result<Registered> {
    ids::validate("session ID", &reg.id)?;
    for (what, text) in [
        ("the name", reg.name.as_deref()),
        ("the role", reg.role.as_deref()),
        ("the current work", reg.current_work.as_deref()),
    ] {
        if let Some(text) = text {
            hub.check_secrets(what, text)?;
        }
    }
    // A heartbeat that does not parse would fail the heartbeat below: fail before the
    // registry is touched, so a failed register changes nothing.
    storage::read_json_object(&hub.file(&format!("{}/{}.json", layout::HEARTBEATS, reg.id))?)?;
    let now = time::format(time::now());
    let created = update_registry(hub, |doc| {
        let sessions = registry_sessions(doc);
        let created = !sessions.contains_key(&reg.id);
        let entry = sessions.entry(reg.id.clone()).or_insert_with(|| json!({}));
        let Some(entry) = entry.as_object_mut() else {
            return Err(Error::Failed(format!(
                "REGISTRY.json: the entry for {} is not an object; fix it by hand",
                reg.id
            )));
        };
        record::set_text(entry, "id", &reg.id);
        if let Some(name) = &reg.name {
            record::set_text(entry, "name", name);
        }
        if let Some(role) = &reg.role {
            record::set_text(entry, "role", role);
        }
        entry.entry("status").or_insert_with(|| json!("active"));
        if let Some(work) = &reg.current_work {
            record::set_text(entry, "current_work", work);
        }
        if !reg.specializations.is_empty() {
            record::set_list(entry, "specialization", &reg.specializations);
        }
        if !reg.capabilities.is_empty() {
            record::set_list(entry, "capabilities", &reg.capabilities);
        }
        if let Some(provider) = &reg.provider {
            record::set_text(entry, "provider", provider);
        }
        if let Some(provider_session) = &reg.provider_session {
            record::set_text(entry, "provider_session", provider_session);
        }
        entry.entry("registered_at").or_insert_with(|| json!(now));
        Ok(created)
    })?;

    let beat = Beat {
        status: Some("active".into()),
        current_work: reg.current_work.clone(),
        name: reg.name.clone(),
        role: reg.role.clone(),
        capabilities: if reg.capabilities.is_empty() {
            reg.specializations.clone()
        } else {
            reg.capabilities.clone()
        },
    };
    let heartbeat = heartbeat::write(hub, &reg.id, &beat)?;

    let hello = hub
        .dir(layout::DISCOVERY)?
        .join(format!("{}-HELLO.md", reg.id));
    storage::ensure_dir(hello.parent().expect("hello has a folder"))?;
    let text = hello_text(reg, &now);
    storage::create_exclusive(&hello, text.as_bytes())?;

    Ok(Registered {
        id: reg.id.clone(),
        created,
        heartbeat,
        hello,
    })
}

fn hello_text(reg: &Registration, now: &str) -> String {
    let mut text = format!("# 👋 Hello from {}\n\n", reg.id);
    text.push_str(&format!("**Session:** {}\n", reg.id));
    if let Some(name) = &reg.name {
        text.push_str(&format!("**Name:** {name}\n"));
    }
    if let Some(role) = &reg.role {
        text.push_str(&format!("**Role:** {role}\n"));
    }
    if !reg.specializations.is_empty() {
        text.push_str(&format!(
            "**Specializations:** {}\n",
            reg.specializations.join(", ")
        ));
    }
    if let Some(work) = &reg.current_work {
        text.push_str(&format!("**Working on:** {work}\n"));
    }
    text.push_str(&format!("**Arrived:** {now}\n"));
    text
}

/// Remove a session from the registry and delete its heartbeat. Other files it wrote
/// (hello, messages) stay: they are history.
pub fn unregister(hub: &Hub, id: &str) -> Result<bool> {
    ids::validate("session ID", id)?;
    let removed = update_registry(hub, |doc| {
        Ok(registry_sessions(doc).shift_remove(id).is_some())
    })?;
    let hb = hub.dir(layout::HEARTBEATS)?.join(format!("{id}.json"));
    let had_heartbeat = storage::remove(&hb)?;
    if !removed && !had_heartbeat {
        return Err(Error::NotFound {
            what: "session",
            name: id.to_string(),
        });
    }
    Ok(removed)
}

/// One session as the views show it: registry entry and heartbeat merged.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SessionView {
    pub id: String,
    pub registered: bool,
    pub name: Option<String>,
    pub role: Option<String>,
    pub status: Option<String>,
    pub current_work: Option<String>,
    pub specializations: Vec<String>,
    pub capabilities: Vec<String>,
    pub liveness: Liveness,
    pub idle: bool,
    pub last_seen: Option<String>,
    pub age_secs: Option<i64>,
    pub agreed: Option<bool>,
    /// The agent CLI this session runs in (claude, codex, ...), from its registry entry.
    pub provider: Option<String>,
    /// That provider's own session id, the one `sessions resume` reopens.
    pub provider_session: Option<String>,
}

impl SessionView {
    /// Sort key for "who can help now": live and idle, then live and busy, then stale,
    /// then the rest.
    pub fn availability_rank(&self) -> u8 {
        match (self.liveness, self.idle) {
            (Liveness::Live, true) => 0,
            (Liveness::Live, false) => 1,
            (Liveness::Stale, _) => 2,
            _ => 3,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SyncCounts {
    pub total: usize,
    pub registered: usize,
    pub live: usize,
    pub idle: usize,
    pub busy: usize,
    pub stale: usize,
    pub gone: usize,
    /// Registered sessions that never sent a heartbeat.
    pub never: usize,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SyncView {
    pub sessions: Vec<SessionView>,
    pub counts: SyncCounts,
    /// Sessions whose clocks this machine sees to be off (see `liveness::skew`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

fn is_idle_status(status: Option<&str>) -> bool {
    matches!(
        status.map(str::to_ascii_lowercase).as_deref(),
        Some("idle" | "available" | "ready" | "waiting")
    )
}

/// The session-sync view: every registered session (and every heartbeat without a
/// registry entry) with liveness, role, status and current work.
pub fn sync_view(
    hub: &Hub,
    registry: &Registry,
    heartbeats: &[Heartbeat],
    now: Timestamp,
) -> SyncView {
    let by_id = liveness::newest_per_session(heartbeats);
    let mut sessions = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (id, entry) in registry.sessions() {
        seen.insert(id);
        sessions.push(view_of(hub, id, Some(entry), by_id.get(id).copied(), now));
    }
    for hb in heartbeats {
        if seen.insert(hb.id.as_str()) {
            let newest = by_id.get(hb.id.as_str()).copied().unwrap_or(hb);
            sessions.push(view_of(hub, &hb.id, None, Some(newest), now));
        }
    }
    let mut counts = SyncCounts {
        total: sessions.len(),
        ..SyncCounts::default()
    };
    for s in &sessions {
        counts.registered += usize::from(s.registered);
        match s.liveness {
            Liveness::Live if s.idle => {
                counts.live += 1;
                counts.idle += 1;
            }
            Liveness::Live => {
                counts.live += 1;
                counts.busy += 1;
            }
            Liveness::Stale => counts.stale += 1,
            Liveness::Gone => counts.gone += 1,
            Liveness::Unknown => counts.never += 1,
        }
    }
    let warnings = liveness::skew_warnings(hub, heartbeats, now);
    SyncView {
        sessions,
        counts,
        warnings,
    }
}

fn view_of(
    hub: &Hub,
    id: &str,
    entry: Option<&Record>,
    hb: Option<&Heartbeat>,
    now: Timestamp,
) -> SessionView {
    let from_hb = |keys: &[&str]| hb.and_then(|h| record::text(&h.record, keys));
    let from_entry = |keys: &[&str]| entry.and_then(|e| record::text(e, keys));
    let last_seen = hb.and_then(|h| h.time);
    let liveness = Liveness::of(hub, last_seen, now);
    // A live heartbeat knows the session's state better than the registry does.
    let status = from_hb(&["status"])
        .or_else(|| from_entry(&["status"]))
        .map(str::to_string);
    let current_work = from_hb(fields::WORK)
        .or_else(|| from_entry(fields::WORK))
        .map(str::to_string);
    SessionView {
        id: id.to_string(),
        registered: entry.is_some(),
        name: from_entry(&["name"])
            .or_else(|| from_hb(&["name"]))
            .map(str::to_string),
        role: from_entry(&["role"])
            .or_else(|| from_hb(&["role"]))
            .map(str::to_string),
        idle: is_idle_status(status.as_deref()),
        status,
        current_work,
        specializations: entry
            .map(|e| record::list(e, fields::SPECIALIZATIONS))
            .unwrap_or_default(),
        capabilities: hb.map(Heartbeat::capabilities).unwrap_or_default(),
        liveness,
        last_seen: last_seen.map(time::format),
        age_secs: last_seen.map(|t| (now - t).num_seconds()),
        agreed: entry.and_then(|e| record::boolean(e, "agreed")),
        provider: from_entry(&["provider"]).map(str::to_string),
        provider_session: from_entry(&["provider_session"]).map(str::to_string),
    }
}

/// Sessions offering `capability` (in registry specializations, heartbeat
/// capabilities, or role), the most available first.
pub fn find_help(view: &SyncView, capability: &str) -> Vec<SessionView> {
    let needle = capability.trim().to_lowercase();
    let mut found: Vec<SessionView> = view
        .sessions
        .iter()
        .filter(|s| {
            s.specializations
                .iter()
                .chain(&s.capabilities)
                .chain(s.role.iter())
                .any(|c| c.to_lowercase().contains(&needle))
        })
        .cloned()
        .collect();
    found.sort_by(|a, b| {
        (a.availability_rank(), a.age_secs.unwrap_or(i64::MAX), &a.id).cmp(&(
            b.availability_rank(),
            b.age_secs.unwrap_or(i64::MAX),
            &b.id,
        ))
    });
    found
}
