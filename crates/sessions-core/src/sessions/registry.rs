//! Sessions: the registry (who exists), heartbeats (who is alive), and the views built
//! from both (session-sync, find-help).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::store::error::{Error, Result};
use crate::store::hub::{Hub, layout};
use crate::store::record::{self, Record};
use crate::store::time::{self, Timestamp};
use crate::{store::ids, store::secrets, store::storage};

/// Aliases, in order of preference, for fields the old scripts named differently.
pub mod fields {
    pub const ID: &[&str] = &["session_id", "id"];
    pub const HEARTBEAT_TIME: &[&str] = &[
        "last_heartbeat",
        "timestamp",
        "updated_at",
        "last_save",
        "time",
    ];
    pub const WORK: &[&str] = &["current_work", "working_on", "task"];
    pub const CAPABILITIES: &[&str] = &[
        "capabilities",
        "capabilities_offered",
        "specialization",
        "specializations",
    ];
    pub const SPECIALIZATIONS: &[&str] = &["specialization", "specializations", "capabilities"];
}

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

/// One heartbeat file, read tolerantly.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    pub id: String,
    pub path: PathBuf,
    pub record: Record,
    pub time: Option<Timestamp>,
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
    let mut out = Vec::new();
    for path in hub.list(layout::HEARTBEATS, ".json")? {
        let Some(text) = storage::read_text(&path)? else {
            continue; // pruned while we listed
        };
        let record = storage::parse_json_object(&path, &text)?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let id = record::text(&record, fields::ID)
            .map(str::to_string)
            .unwrap_or(stem);
        let time = record::timestamp(&record, fields::HEARTBEAT_TIME);
        out.push(Heartbeat {
            id,
            path,
            record,
            time,
        });
    }
    Ok(out)
}

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
    let heartbeat = heartbeat(hub, &reg.id, &beat)?;

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
/// an existing heartbeat are kept. Returns the heartbeat's path.
pub fn heartbeat(hub: &Hub, id: &str, beat: &Beat) -> Result<PathBuf> {
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
    // The original capability match reads REGISTRY.json's status: keep it in step, so
    // a busy session is not offered as available (only for registered sessions).
    if let Some(status) = &beat.status {
        let registered = Registry::load(hub)?.get(id).is_some();
        if registered {
            update_registry(hub, |doc| {
                if let Some(entry) = registry_sessions(doc)
                    .get_mut(id)
                    .and_then(Value::as_object_mut)
                    && record::text(entry, &["status"]) != Some(status.as_str())
                {
                    record::set_text(entry, "status", status);
                }
                Ok(())
            })?;
        }
    }
    // A heartbeat renews the leases of the claims this session holds (DESIGN §3.3).
    crate::work::claims::renew_held(hub, id)?;
    Ok(hub.path(&rel))
}

/// Remove a session from the registry and delete its heartbeat. Other files it wrote
/// (hello, messages) stay: they are history.
pub fn unregister(hub: &Hub, id: &str) -> Result<bool> {
    ids::validate("session ID", id)?;
    let removed = update_registry(hub, |doc| {
        Ok(registry_sessions(doc).shift_remove(id).is_some())
    })?;
    let hb = hub.dir(layout::HEARTBEATS)?.join(format!("{id}.json"));
    let had_heartbeat = remove_if_exists(&hb)?;
    if !removed && !had_heartbeat {
        return Err(Error::NotFound {
            what: "session",
            name: id.to_string(),
        });
    }
    Ok(removed)
}

fn remove_if_exists(path: &std::path::Path) -> Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(path, e)),
    }
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
            remove_if_exists(&hb.path)?;
        }
        pruned.push(Pruned {
            id: hb.id.clone(),
            last_seen: hb.time.map(time::format),
            path: hb.path.clone(),
        });
    }
    Ok(pruned)
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
    // Several files may name one session (the old scripts' file names): the newest wins.
    let mut by_id: BTreeMap<&str, &Heartbeat> = BTreeMap::new();
    for hb in heartbeats {
        let newest = by_id.entry(hb.id.as_str()).or_insert(hb);
        if hb.time > newest.time {
            *newest = hb;
        }
    }
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
    SyncView { sessions, counts }
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

impl Hub {
    /// Refuse secret-looking text unless the user passed `--allow-secrets`.
    pub fn check_secrets(&self, what: &str, text: &str) -> Result<()> {
        if self.allow_secrets {
            Ok(())
        } else {
            secrets::check(what, text)
        }
    }
}
