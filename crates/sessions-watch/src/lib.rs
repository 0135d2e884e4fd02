//! `sessions watch`: a notify-based watcher of a hub that turns file changes into
//! events (signals, status changes, messages, claims, milestones, sessions).
//!
//! How it stays correct when the file system is noisy:
//! - It never trusts the content of a notification: an event only says *which part*
//!   of the hub to look at again. That part is re-read and diffed against the last
//!   state kept in memory, so rename-on-save, duplicate events and bursts all end in
//!   the true final state.
//! - An inotify queue overflow (or any watcher error) triggers a full rescan, which is
//!   the same diff over everything.
//! - The hub's parent folder is watched too: when the hub is deleted and created again,
//!   the watch is re-armed and the new hub rescanned. A periodic tick re-arms as well,
//!   and drives the time-based events (claims expiring, sessions going stale).
//! - Idle means blocked in `select!`: no polling loop (unless `--poll` is asked for).

mod inbox;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use notify::RecursiveMode;
use serde::Serialize;
use sessions_core::sessions::registry::Liveness;
use sessions_core::status::report::{Marker, STATUS_SUFFIX, StatusDoc, StatusFiles, normalize};
use sessions_core::store::hub::layout;
use sessions_core::{
    Error, Hub, Result, status::report, status::signals, store::storage, store::time, work::claims,
    work::milestones,
};

pub use inbox::Inbox;

/// Event kinds, for filters.
pub const KINDS: &[&str] = &[
    "signal",
    "status",
    "message",
    "claim_taken",
    "claim_released",
    "claim_expired",
    "milestone",
    "session_appeared",
    "session_stale",
    "session_gone",
    "health",
];

/// What to watch and what to do with each event.
#[derive(Debug, Clone)]
pub struct Options {
    pub hub: Hub,
    pub files: StatusFiles,
    /// `--as`: messages addressed to this session; the seen-record for `follow`.
    pub me: Option<String>,
    /// Event kinds to report (prefixes: `claim` matches every claim_* kind). Empty: all.
    pub kinds: Vec<String>,
    /// A shell command run per event (`sh -c`), with the event in SESSIONS_* variables.
    pub exec: Option<String>,
    pub exec_timeout: Duration,
    /// Take each signal atomically before its command runs; delete it when the command
    /// succeeded, put it back when it failed.
    pub consume: bool,
    /// Stop after the first matching event.
    pub once: bool,
    /// Poll every interval instead of inotify (network file systems).
    pub poll: Option<Duration>,
    pub debounce: Duration,
    /// Time-based checks (claim expiry, stale sessions, re-arming) run this often.
    pub tick: Duration,
    pub healthcheck_every: Option<Duration>,
    /// Report the signals pending at start (always on with `consume`).
    pub pending: bool,
    /// With `me`: report signals this session has not seen (its seen-record) and record
    /// each handled one.
    pub follow: bool,
}

/// One event. Empty fields are left out of the JSON.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Event {
    pub kind: &'static str,
    pub time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// For status events: `item`, `action`, `next`, `created`, `removed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipients: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_holder: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub milestone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<report::Problem>>,
    /// A one-line description for people.
    pub detail: String,
}

impl Event {
    fn new(kind: &'static str, detail: String) -> Event {
        Event {
            kind,
            time: time::format(time::now()),
            detail,
            ..Event::default()
        }
    }

    /// The event as environment variables for `--exec`: SESSIONS_EVENT (the kind),
    /// SESSIONS_EVENT_JSON (all of it), and SESSIONS_<FIELD> for every text field
    /// (SESSIONS_SIGNAL, SESSIONS_FILE, SESSIONS_PROJECT, SESSIONS_LABEL, ...).
    pub fn env(&self) -> Vec<(String, String)> {
        let json = serde_json::to_value(self).unwrap_or_default();
        let mut out = vec![
            ("SESSIONS_EVENT".to_string(), self.kind.to_string()),
            ("SESSIONS_EVENT_JSON".to_string(), json.to_string()),
        ];
        if let Some(map) = json.as_object() {
            for (k, v) in map {
                let value = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    serde_json::Value::Bool(b) => b.to_string(),
                    _ => continue,
                };
                out.push((format!("SESSIONS_{}", k.to_uppercase()), value));
            }
        }
        out
    }
}

/// What the caller does with each event: print it. Returning false stops the watcher
/// (e.g. stdout was closed).
pub trait Sink {
    fn event(&mut self, event: &Event) -> bool;
    /// Notes for people (ready, rescans, re-arming, command failures): stderr.
    fn note(&mut self, text: &str);
    /// The baseline is taken: from now on every change is news. Work that changes the
    /// hub on the watcher's behalf (`watch --git-sync`) starts here, or what it brings
    /// in before the baseline would be taken as already known and never reported.
    fn ready(&mut self) {}
}

/// Why the watcher stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// SIGINT / SIGTERM.
    Signal,
    /// `--once` saw its event; carries whether its command succeeded.
    Once(bool),
    /// The sink refused more output.
    Closed,
}

// ---------------------------------------------------------------------------------
// State kept between looks, and the diffs that produce events.

#[derive(Debug, Clone, PartialEq)]
struct ItemState {
    section: String,
    label: String,
    marker: Option<Marker>,
    note: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct DocState {
    items: BTreeMap<(String, String), ItemState>,
    actions: BTreeMap<String, (String, bool)>,
    next: Option<String>,
}

impl DocState {
    fn of(doc: &StatusDoc) -> DocState {
        let mut s = DocState::default();
        for i in &doc.items {
            s.items.insert(
                (normalize(&i.section), normalize(&i.label)),
                ItemState {
                    section: i.section.clone(),
                    label: i.label.clone(),
                    marker: i.marker,
                    note: i.note.clone(),
                },
            );
        }
        for a in &doc.actions {
            s.actions
                .insert(normalize(&a.text), (a.text.clone(), a.done));
        }
        s.next = doc.next_session.clone();
        s
    }
}

#[derive(Debug, Clone, PartialEq)]
struct ClaimState {
    holder: String,
    token: Option<u64>,
    expires_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct MilestoneState {
    title: String,
    status: String,
    progress: u8,
}

#[derive(Debug, Default)]
struct State {
    /// The last touch time reported per signal name.
    signals: HashMap<String, i128>,
    docs: HashMap<String, DocState>,
    claims: BTreeMap<String, ClaimState>,
    expired: HashSet<(String, Option<String>)>,
    milestones: BTreeMap<String, MilestoneState>,
    heartbeats: BTreeMap<String, Option<time::Timestamp>>,
    liveness: BTreeMap<String, Liveness>,
    inbox: Inbox,
}

/// Which parts of the hub a batch of notifications touched.
#[derive(Debug, Default)]
struct Touched {
    rescan: bool,
    root: bool,
    signals: bool,
    docs: BTreeSet<String>,
    messages: bool,
    claims: bool,
    milestones: bool,
    heartbeats: bool,
}

impl Touched {
    fn all() -> Touched {
        Touched {
            rescan: true,
            ..Touched::default()
        }
    }
}

struct Watch {
    opts: Options,
    root: PathBuf,
    state: State,
}

fn is_dir_of(path: &Path, dir: &Path) -> bool {
    path.parent() == Some(dir)
}

impl Watch {
    fn classify(&self, path: &Path, t: &mut Touched) {
        let root = &self.root;
        if path == root.as_path() {
            t.root = true;
            return;
        }
        let status_dir = &self.opts.files.dir;
        if is_dir_of(path, status_dir) {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if signals::name_of(name).is_some() {
                t.signals = true;
            } else if let Some(p) = name.strip_suffix(STATUS_SUFFIX)
                && !name.starts_with('.')
            {
                t.docs.insert(p.to_string());
            }
        }
        let Ok(rel) = path.strip_prefix(root) else {
            return;
        };
        let mut parts = rel.components();
        let first = parts
            .next()
            .map(|c| c.as_os_str().to_string_lossy().into_owned());
        let nested = parts.next().is_some();
        match first.as_deref() {
            Some(layout::MESSAGES) if !nested => t.messages = true,
            Some(layout::PRIORITIES) => t.claims = true,
            Some(layout::MILESTONES) => t.milestones = true,
            Some(layout::HEARTBEATS) => t.heartbeats = true,
            _ => {}
        }
    }

    fn wants(&self, kind: &str) -> bool {
        self.opts.kinds.is_empty()
            || self
                .opts
                .kinds
                .iter()
                .any(|k| kind == k || kind.starts_with(&format!("{k}_")))
    }

    /// Read the current state of everything `t` names, diff it with the last state,
    /// and return the events (signals are returned separately: they need taking).
    fn refresh(&mut self, t: &Touched, emit: bool) -> (Vec<Event>, Vec<signals::Signal>) {
        let all = t.rescan || t.root;
        let mut events = Vec::new();
        let mut new_signals = Vec::new();
        if all || t.signals {
            let now: Vec<signals::Signal> = signals::list(&self.opts.files).unwrap_or_default();
            // Names are kept after a signal disappears: a signal put back after a
            // failed command (same touch time) is not reported again, which would retry
            // a failing command in a loop; a new touch has a new time and is reported.
            for s in now {
                let newer = self
                    .state
                    .signals
                    .get(&s.name)
                    .is_none_or(|ns| *ns != s.touched_ns);
                if newer {
                    self.state.signals.insert(s.name.clone(), s.touched_ns);
                    if emit {
                        new_signals.push(s);
                    }
                }
            }
        }
        let projects: Vec<String> = if all {
            let mut p: BTreeSet<String> = self
                .opts
                .files
                .list()
                .unwrap_or_default()
                .into_iter()
                .map(|(p, _)| p)
                .collect();
            p.extend(self.state.docs.keys().cloned());
            p.into_iter().collect()
        } else {
            t.docs.iter().cloned().collect()
        };
        for project in projects {
            self.refresh_doc(&project, emit, &mut events);
        }
        if all || t.messages {
            let path = self.opts.hub.path(layout::MESSAGES);
            for m in self.state.inbox.poll(&path) {
                let for_me = self.opts.me.as_deref().is_none_or(|me| m.is_for(me));
                if !emit || !for_me {
                    continue;
                }
                let to = m.to.join(", ");
                let mut e = Event::new(
                    "message",
                    format!(
                        "message {} from {} to {to}{}",
                        m.id,
                        m.from.as_deref().unwrap_or("?"),
                        m.subject
                            .as_deref()
                            .map(|s| format!(": {s}"))
                            .unwrap_or_default()
                    ),
                );
                e.file = Some(path.clone());
                e.message_id = Some(m.id);
                e.sender = m.from;
                e.recipients = Some(to);
                e.subject = m.subject;
                events.push(e);
            }
        }
        if all || t.claims {
            self.refresh_claims(emit, &mut events);
        }
        if all || t.milestones {
            self.refresh_milestones(emit, &mut events);
        }
        if all || t.heartbeats {
            self.refresh_heartbeats(emit, &mut events);
        }
        (events, new_signals)
    }

    fn refresh_doc(&mut self, project: &str, emit: bool, events: &mut Vec<Event>) {
        let Ok(path) = self.opts.files.path(project) else {
            return;
        };
        let text = match storage::read_text(&path) {
            Ok(Some(t)) => Some(t),
            Ok(None) => None,
            Err(_) => return, // unreadable for now: keep the last state
        };
        let new = text.as_deref().map(|t| DocState::of(&StatusDoc::parse(t)));
        let old = match &new {
            Some(n) => self.state.docs.insert(project.to_string(), n.clone()),
            None => self.state.docs.remove(project),
        };
        if !emit || old == new {
            return;
        }
        let base = |change: &str, detail: String| {
            let mut e = Event::new("status", detail);
            e.project = Some(project.to_string());
            e.file = Some(path.clone());
            e.change = Some(change.to_string());
            e
        };
        let (old, new) = match (old, new) {
            (None, Some(n)) => {
                events.push(base("created", format!("{project}: status file created")));
                (DocState::default(), n)
            }
            (Some(_), None) => {
                events.push(base("removed", format!("{project}: status file removed")));
                return;
            }
            (Some(o), Some(n)) => (o, n),
            (None, None) => return,
        };
        for (key, item) in &new.items {
            let before = old.items.get(key);
            if before == Some(item) {
                continue;
            }
            // JSON carries the marker words (ok, fail, wip, sync), as `report show
            // --json` does; the line for people shows the emoji.
            let before_marker = before.and_then(|b| b.marker);
            let from = before_marker.map(|m| m.word().to_string());
            let to = item.marker.map(|m| m.word().to_string());
            let mut e = base(
                "item",
                format!(
                    "{project}: {} / {}: {} -> {}{}",
                    item.section,
                    item.label,
                    before_marker.map_or("(none)", Marker::emoji),
                    item.marker.map_or("(none)", Marker::emoji),
                    if item.note.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", item.note)
                    }
                ),
            );
            e.section = Some(item.section.clone());
            e.label = Some(item.label.clone());
            e.from = from;
            e.to = to;
            e.note = (!item.note.is_empty()).then(|| item.note.clone());
            events.push(e);
        }
        for (key, item) in &old.items {
            if !new.items.contains_key(key) {
                let mut e = base(
                    "item",
                    format!("{project}: {} / {} removed", item.section, item.label),
                );
                e.section = Some(item.section.clone());
                e.label = Some(item.label.clone());
                e.from = item.marker.map(|m| m.word().to_string());
                events.push(e);
            }
        }
        let word = |done: bool| if done { "done" } else { "open" };
        for (key, (text, done)) in &new.actions {
            let before = old.actions.get(key).map(|(_, d)| *d);
            if before == Some(*done) {
                continue;
            }
            let mut e = base(
                "action",
                format!(
                    "{project}: action {text:?}: {} -> {}",
                    before.map_or("(none)", word),
                    word(*done)
                ),
            );
            e.label = Some(text.clone());
            e.from = before.map(|d| word(d).to_string());
            e.to = Some(word(*done).to_string());
            events.push(e);
        }
        if old.next != new.next {
            let mut e = base(
                "next",
                format!(
                    "{project}: NEXT SESSION {} -> {}",
                    old.next.as_deref().unwrap_or("(none)"),
                    new.next.as_deref().unwrap_or("(none)")
                ),
            );
            e.label = Some("NEXT SESSION".into());
            e.from = old.next.clone();
            e.to = new.next.clone();
            events.push(e);
        }
    }

    fn refresh_claims(&mut self, emit: bool, events: &mut Vec<Event>) {
        let hub = &self.opts.hub;
        let mut now_claims = BTreeMap::new();
        for path in hub.list(layout::PRIORITIES, ".lock").unwrap_or_default() {
            let Ok(Some(text)) = storage::read_text(&path) else {
                continue;
            };
            let Ok(record) = storage::parse_json_object(&path, &text) else {
                continue; // being written by hand; the next event re-reads it
            };
            let key = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let c = claims::Claim::from_record(hub, &key, path, record);
            now_claims.insert(
                key,
                ClaimState {
                    holder: c.holder,
                    token: c.token,
                    expires_at: c.expires_at,
                },
            );
        }
        let old = std::mem::replace(&mut self.state.claims, now_claims);
        if !emit {
            return;
        }
        let dir = hub.path(layout::PRIORITIES);
        for (key, c) in &self.state.claims {
            let before = old.get(key);
            if before.is_some_and(|b| b.holder == c.holder && b.token == c.token) {
                continue;
            }
            let mut e = Event::new(
                "claim_taken",
                match before {
                    Some(b) => format!("{key} taken over by {} from {}", c.holder, b.holder),
                    None => format!("{key} claimed by {}", c.holder),
                },
            );
            e.key = Some(key.clone());
            e.holder = Some(c.holder.clone());
            e.previous_holder = before.map(|b| b.holder.clone());
            e.expires_at = c.expires_at.clone();
            e.file = Some(dir.join(format!("{key}.lock")));
            events.push(e);
        }
        for (key, c) in &old {
            if !self.state.claims.contains_key(key) {
                let mut e = Event::new("claim_released", format!("{key} released by {}", c.holder));
                e.key = Some(key.clone());
                e.holder = Some(c.holder.clone());
                e.file = Some(dir.join(format!("{key}.lock")));
                events.push(e);
            }
        }
    }

    fn expiries(&mut self, events: &mut Vec<Event>) {
        let now = time::now();
        for (key, c) in &self.state.claims {
            let Some(exp) = c.expires_at.as_deref().and_then(time::parse_str) else {
                continue;
            };
            if exp <= now
                && self
                    .state
                    .expired
                    .insert((key.clone(), c.expires_at.clone()))
            {
                let mut e = Event::new(
                    "claim_expired",
                    format!(
                        "{key} held by {} expired at {}",
                        c.holder,
                        time::format(exp)
                    ),
                );
                e.key = Some(key.clone());
                e.holder = Some(c.holder.clone());
                e.expires_at = c.expires_at.clone();
                events.push(e);
            }
        }
    }

    fn refresh_milestones(&mut self, emit: bool, events: &mut Vec<Event>) {
        let hub = &self.opts.hub;
        let mut now_ms = BTreeMap::new();
        for path in hub.list(layout::MILESTONES, ".json").unwrap_or_default() {
            let Ok(Some(text)) = storage::read_text(&path) else {
                continue;
            };
            let Ok(record) = storage::parse_json_object(&path, &text) else {
                continue;
            };
            let id = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let m = milestones::Milestone::from_record(&id, path, record);
            now_ms.insert(
                id,
                MilestoneState {
                    title: m.title,
                    status: m.status,
                    progress: m.progress,
                },
            );
        }
        let old = std::mem::replace(&mut self.state.milestones, now_ms);
        if !emit {
            return;
        }
        for (id, m) in &self.state.milestones {
            let before = old.get(id);
            if before == Some(m) {
                continue;
            }
            let mut e = Event::new(
                "milestone",
                match before {
                    Some(b) => format!(
                        "{id}: {} {}% -> {} {}%",
                        b.status, b.progress, m.status, m.progress
                    ),
                    None => format!("{id}: created ({} {}%)", m.status, m.progress),
                },
            );
            e.milestone = Some(id.clone());
            e.from = before.map(|b| format!("{} {}%", b.status, b.progress));
            e.to = Some(format!("{} {}%", m.status, m.progress));
            e.progress = Some(m.progress);
            e.change = Some(m.status.clone());
            e.subject = Some(m.title.clone());
            events.push(e);
        }
    }

    fn refresh_heartbeats(&mut self, emit: bool, events: &mut Vec<Event>) {
        let hub = &self.opts.hub;
        let mut now_hb = BTreeMap::new();
        for path in hub.list(layout::HEARTBEATS, ".json").unwrap_or_default() {
            let Ok(Some(text)) = storage::read_text(&path) else {
                continue;
            };
            let Ok(record) = storage::parse_json_object(&path, &text) else {
                continue;
            };
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let id = sessions_core::store::record::text(
                &record,
                sessions_core::sessions::registry::fields::ID,
            )
            .map(str::to_string)
            .unwrap_or(stem);
            let t = sessions_core::store::record::timestamp(
                &record,
                sessions_core::sessions::registry::fields::HEARTBEAT_TIME,
            );
            now_hb.insert(id, t);
        }
        self.state.heartbeats = now_hb;
        self.liveness(emit, events);
    }

    /// Recompute liveness from the heartbeat times kept in memory (the tick calls this
    /// without any I/O) and report transitions.
    fn liveness(&mut self, emit: bool, events: &mut Vec<Event>) {
        let now = time::now();
        let mut next = BTreeMap::new();
        for (id, t) in &self.state.heartbeats {
            next.insert(id.clone(), Liveness::of(&self.opts.hub, *t, now));
        }
        let old = std::mem::replace(&mut self.state.liveness, next);
        if !emit {
            return;
        }
        for (id, l) in &self.state.liveness {
            let before = old.get(id).copied();
            if before == Some(*l) {
                continue;
            }
            let kind = match l {
                Liveness::Live => "session_appeared",
                Liveness::Stale | Liveness::Unknown => "session_stale",
                Liveness::Gone => "session_gone",
            };
            if before.is_none() && kind != "session_appeared" {
                continue; // an old heartbeat showing up is not news
            }
            let mut e = Event::new(kind, format!("{id} is {}", l.as_str()));
            e.session = Some(id.clone());
            e.from = before.map(|b| b.as_str().to_string());
            e.to = Some(l.as_str().to_string());
            events.push(e);
        }
        for id in old.keys() {
            if !self.state.liveness.contains_key(id) {
                let mut e = Event::new("session_gone", format!("{id}: heartbeat removed"));
                e.session = Some(id.clone());
                events.push(e);
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// The notify side.

enum AnyWatcher {
    Native(notify::RecommendedWatcher),
    Poll(notify::PollWatcher),
}

impl AnyWatcher {
    fn watch(&mut self, path: &Path, mode: RecursiveMode) -> notify::Result<()> {
        use notify::Watcher;
        match self {
            AnyWatcher::Native(w) => w.watch(path, mode),
            AnyWatcher::Poll(w) => w.watch(path, mode),
        }
    }
    fn unwatch(&mut self, path: &Path) {
        use notify::Watcher;
        let _ = match self {
            AnyWatcher::Native(w) => w.unwatch(path),
            AnyWatcher::Poll(w) => w.unwatch(path),
        };
    }
}

fn notify_err(e: impl std::fmt::Display) -> Error {
    Error::Failed(format!("cannot watch the hub: {e}"))
}

/// Arm the watches: the hub (recursive), the status folder if it is elsewhere. Returns
/// whether the hub is armed.
fn arm(d: &mut AnyWatcher, root: &Path, status_dir: &Path) -> bool {
    if !root.is_dir() {
        return false;
    }
    d.unwatch(root);
    let ok = d.watch(root, RecursiveMode::Recursive).is_ok();
    if !status_dir.starts_with(root) && status_dir.is_dir() {
        d.unwatch(status_dir);
        let _ = d.watch(status_dir, RecursiveMode::NonRecursive);
    }
    ok
}

/// Run the watcher until SIGINT/SIGTERM, `--once`, or the sink closes.
pub fn run(opts: Options, sink: &mut dyn Sink) -> Result<Stopped> {
    // The core's one duration rule, for library callers that did not parse text: a zero
    // interval panics in tokio or spins the poller.
    let intervals = [
        ("exec timeout", Some(opts.exec_timeout)),
        ("poll interval", opts.poll),
        ("debounce", Some(opts.debounce)),
        ("tick", Some(opts.tick)),
        ("healthcheck interval", opts.healthcheck_every),
    ];
    for (what, d) in intervals {
        if let Some(d) = d {
            sessions_core::store::time::check_duration(d)
                .map_err(|why| Error::Usage(format!("invalid {what}: {why}")))?;
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Failed(format!("cannot start the watcher runtime: {e}")))?;
    rt.block_on(run_async(opts, sink))
}

async fn run_async(opts: Options, sink: &mut dyn Sink) -> Result<Stopped> {
    use tokio::signal::unix::{SignalKind, signal};
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<notify::Result<notify::Event>>();
    // Runs on notify's thread. Opening and reading files (ours included) is not a
    // change: dropping those here keeps our own reads from waking the loop.
    let handler = move |r: notify::Result<notify::Event>| {
        if let Ok(ev) = &r
            && matches!(ev.kind, notify::EventKind::Access(_))
            && !ev.need_rescan()
        {
            return;
        }
        let _ = tx.send(r);
    };
    let mut watcher = match opts.poll {
        Some(interval) => AnyWatcher::Poll(
            notify::PollWatcher::new(
                handler,
                notify::Config::default().with_poll_interval(interval),
            )
            .map_err(notify_err)?,
        ),
        None => AnyWatcher::Native(notify::recommended_watcher(handler).map_err(notify_err)?),
    };
    let root = opts.hub.root().to_path_buf();
    let root = std::fs::canonicalize(&root).unwrap_or(root);
    let mut opts = opts;
    opts.files.dir = std::fs::canonicalize(&opts.files.dir).unwrap_or(opts.files.dir.clone());
    let parent = root.parent().map(Path::to_path_buf);
    if let Some(p) = &parent {
        watcher
            .watch(p, RecursiveMode::NonRecursive)
            .map_err(notify_err)?;
    }
    let status_dir = opts.files.dir.clone();
    let mut armed = arm(&mut watcher, &root, &status_dir);

    let mut w = Watch {
        state: State {
            inbox: Inbox::at_end(&opts.hub.path(layout::MESSAGES)),
            ..State::default()
        },
        root: root.clone(),
        opts,
    };
    // The baseline: what exists now is not news, except pending signals when asked.
    sessions_core::store::test_hooks::pause_point("watch-baseline");
    let (_, _) = w.refresh(&Touched::all(), false);
    let mut expired0 = Vec::new();
    w.expiries(&mut expired0); // already expired at start: not news either
    let mut initial = Vec::new();
    if w.opts.consume {
        recover_taken(&w.opts.files, sink); // listed below with the pending signals
    }
    if w.opts.consume || w.opts.pending {
        initial = signals::list(&w.opts.files).unwrap_or_default();
    } else if w.opts.follow
        && let Some(me) = &w.opts.me
    {
        initial = signals::unseen(&w.opts.files, me, false).unwrap_or_default();
    }

    let mut sigterm = signal(SignalKind::terminate()).map_err(|e| Error::Failed(e.to_string()))?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(|e| Error::Failed(e.to_string()))?;
    let mut tick = tokio::time::interval(w.opts.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let health_every = w
        .opts
        .healthcheck_every
        .unwrap_or(Duration::from_secs(365 * 86400));
    let mut health =
        tokio::time::interval_at(tokio::time::Instant::now() + health_every, health_every);
    health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    sink.ready();
    sink.note(&format!(
        "watching {} (status files in {}){}",
        root.display(),
        status_dir.display(),
        if armed {
            ""
        } else {
            "; the hub does not exist yet"
        }
    ));

    if let Some(stop) = dispatch(&mut w, Vec::new(), initial, sink, &mut sigint, &mut sigterm).await
    {
        return Ok(stop);
    }

    loop {
        let mut touched = Touched::default();
        let mut time_based = Vec::new();
        let mut recovered = Vec::new();
        tokio::select! {
            _ = sigint.recv() => return Ok(Stopped::Signal),
            _ = sigterm.recv() => return Ok(Stopped::Signal),
            r = rx.recv() => {
                let Some(r) = r else { return Ok(Stopped::Closed) };
                // Coalesce: let a burst (an editor's save, a script touching many
                // files) settle for the debounce window, then look once.
                tokio::time::sleep(w.opts.debounce).await;
                let mut batch = vec![r];
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                }
                for r in batch {
                    match r {
                        Ok(ev) => {
                            if ev.need_rescan() {
                                touched.rescan = true;
                            }
                            if matches!(ev.kind, notify::EventKind::Access(_)) {
                                continue;
                            }
                            let structural = matches!(
                                ev.kind,
                                notify::EventKind::Create(_)
                                    | notify::EventKind::Remove(_)
                                    | notify::EventKind::Modify(notify::event::ModifyKind::Name(_))
                            );
                            for p in &ev.paths {
                                if p == &root && !structural {
                                    continue;
                                }
                                w.classify(p, &mut touched);
                            }
                        }
                        Err(_) => touched.rescan = true,
                    }
                }
            }
            _ = tick.tick() => {
                if w.opts.consume {
                    // A consumer may have died since we started, holding a signal. Put
                    // back, it keeps its old time, so it is not news to the diff: hand
                    // it over directly.
                    recovered = recover_taken(&w.opts.files, sink);
                }
                let mut evs = Vec::new();
                w.expiries(&mut evs);
                w.liveness(true, &mut evs);
                time_based = evs;
            }
            _ = health.tick() => {
                if w.opts.healthcheck_every.is_some() {
                    time_based.push(health_event(&w.opts.files));
                }
            }
        }
        // Re-arm when the hub came back (or went away).
        let exists = root.is_dir();
        if touched.root || exists != armed || (!armed && exists) {
            if exists && !armed {
                armed = arm(&mut watcher, &root, &status_dir);
                sink.note("the hub folder is back; watching it again");
                touched.rescan = true;
            } else if !exists && armed {
                armed = false;
                sink.note("the hub folder was removed; waiting for it to come back");
                touched.rescan = true;
            } else if touched.root && exists {
                // Deleted and created again between two looks: re-arm anyway.
                armed = arm(&mut watcher, &root, &status_dir);
                touched.rescan = true;
            }
        }
        if touched.rescan {
            sink.note("rescanning the hub");
        }
        let (mut events, mut new_signals) = w.refresh(&touched, true);
        events.extend(time_based);
        for signal in recovered {
            if !new_signals.iter().any(|s| s.name == signal.name) {
                new_signals.push(signal);
            }
        }
        if let Some(stop) =
            dispatch(&mut w, events, new_signals, sink, &mut sigint, &mut sigterm).await
        {
            return Ok(stop);
        }
    }
}

fn health_event(files: &StatusFiles) -> Event {
    match report::healthcheck(files) {
        Ok(h) => {
            let mut e = Event::new(
                "health",
                if h.ok {
                    format!("healthy ({} status files)", h.checked)
                } else {
                    format!(
                        "{} problem(s): {}",
                        h.problems.len(),
                        h.problems
                            .iter()
                            .map(|p| format!("{} {}", p.project, p.kind))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
            );
            e.ok = Some(h.ok);
            e.problems = Some(h.problems);
            e
        }
        Err(err) => {
            let mut e = Event::new("health", format!("healthcheck failed: {err}"));
            e.ok = Some(false);
            e
        }
    }
}

fn signal_event(s: &signals::Signal) -> Event {
    let mut e = Event::new("signal", format!("signal {} touched", s.name));
    e.signal = Some(s.name.clone());
    e.project = Some(s.name.clone());
    e.file = Some(
        s.status_file
            .clone()
            .unwrap_or_else(|| s.path.with_file_name(format!("{}{STATUS_SUFFIX}", s.name))),
    );
    e.time = s.touched_at.clone();
    e
}

/// Report events (and handle signals: take, run, finish or restore). Returns
/// `Some(reason)` when the watcher should stop.
/// Put back the signals a killed consumer was holding (see `signals::recover`) and
/// return them as they are now pending.
fn recover_taken(
    files: &sessions_core::status::report::StatusFiles,
    sink: &mut dyn Sink,
) -> Vec<signals::Signal> {
    let names = match signals::recover(files) {
        Ok(names) => names,
        Err(e) => {
            sink.note(&format!("cannot recover taken signals: {e}"));
            return Vec::new();
        }
    };
    if names.is_empty() {
        return Vec::new();
    }
    sink.note(&format!(
        "put back signal(s) left taken by a stopped consumer: {}",
        names.join(", ")
    ));
    signals::list(files)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| names.contains(&s.name))
        .collect()
}

async fn dispatch(
    w: &mut Watch,
    events: Vec<Event>,
    new_signals: Vec<signals::Signal>,
    sink: &mut dyn Sink,
    sigint: &mut tokio::signal::unix::Signal,
    sigterm: &mut tokio::signal::unix::Signal,
) -> Option<Stopped> {
    let signal_wanted = w.wants("signal");
    for s in new_signals {
        if !signal_wanted {
            continue;
        }
        let taken = if w.opts.consume {
            match signals::take(&w.opts.files, &s.name) {
                Ok(Some(t)) => Some(t),
                // Another consumer took it first: not ours to report.
                Ok(None) => continue,
                Err(e) => {
                    sink.note(&format!("cannot take signal {}: {e}", s.name));
                    continue;
                }
            }
        } else {
            None
        };
        let event = signal_event(&s);
        if !sink.event(&event) {
            if let Some(t) = taken {
                let _ = t.restore();
            }
            return Some(Stopped::Closed);
        }
        let ok = match run_exec(w, &event, sink, sigint, sigterm).await {
            Ok(ok) => ok,
            Err(stop) => {
                if let Some(t) = taken {
                    let _ = t.restore();
                }
                return Some(stop);
            }
        };
        if let Some(t) = taken {
            let r = if ok { t.finish() } else { t.restore() };
            if let Err(e) = r {
                sink.note(&format!("signal {}: {e}", s.name));
            }
        }
        if ok
            && w.opts.follow
            && let Some(me) = &w.opts.me
            && let Err(e) = signals::mark_seen(&w.opts.files, me, &s)
        {
            sink.note(&format!("cannot record signal {} as seen: {e}", s.name));
        }
        if w.opts.once {
            return Some(Stopped::Once(ok));
        }
    }
    for event in events {
        if !w.wants(event.kind) {
            continue;
        }
        if !sink.event(&event) {
            return Some(Stopped::Closed);
        }
        let ok = match run_exec(w, &event, sink, sigint, sigterm).await {
            Ok(ok) => ok,
            Err(stop) => return Some(stop),
        };
        if w.opts.once {
            return Some(Stopped::Once(ok));
        }
    }
    None
}

/// Run `--exec` for one event. `Ok(success)`, or `Err` when a signal asked us to stop
/// meanwhile (the command is killed).
async fn run_exec(
    w: &Watch,
    event: &Event,
    sink: &mut dyn Sink,
    sigint: &mut tokio::signal::unix::Signal,
    sigterm: &mut tokio::signal::unix::Signal,
) -> std::result::Result<bool, Stopped> {
    let Some(cmd) = &w.opts.exec else {
        return Ok(true);
    };
    let mut command = tokio::process::Command::new("sh");
    command
        .arg("-c")
        .arg(cmd)
        .envs(event.env())
        .env("SESSIONS_HUB", w.opts.hub.root())
        .stdin(Stdio::null())
        // Its own process group, so a timeout or a stop kills what it started too.
        .process_group(0)
        .kill_on_drop(true);
    // The command's output goes to stderr: stdout is the event stream.
    if let Ok(fd) = std::os::fd::AsFd::as_fd(&std::io::stderr()).try_clone_to_owned() {
        command.stdout(Stdio::from(fd));
    }
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            sink.note(&format!("cannot run {cmd:?}: {e}"));
            return Ok(false);
        }
    };
    tokio::select! {
        status = tokio::time::timeout(w.opts.exec_timeout, child.wait()) => match status {
            Ok(Ok(s)) if s.success() => Ok(true),
            Ok(Ok(s)) => {
                sink.note(&format!("command for {} event failed ({s})", event.kind));
                Ok(false)
            }
            Ok(Err(e)) => {
                sink.note(&format!("command for {} event: {e}", event.kind));
                Ok(false)
            }
            Err(_) => {
                kill_group(&mut child).await;
                sink.note(&format!(
                    "command for {} event timed out after {:?}; killed",
                    event.kind, w.opts.exec_timeout
                ));
                Ok(false)
            }
        },
        _ = sigint.recv() => { kill_group(&mut child).await; Err(Stopped::Signal) }
        _ = sigterm.recv() => { kill_group(&mut child).await; Err(Stopped::Signal) }
    }
}

/// SIGKILL a command's whole process group (its `sh` and whatever that started), then
/// reap the `sh`. `sh`'s own `kill` reaches a group without any unsafe code here.
async fn kill_group(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        let _ = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(format!("kill -9 -{pid}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
    }
    let _ = child.kill().await;
}

/// Check an event-kind filter given on the command line.
pub fn check_kinds(kinds: &[String]) -> Result<()> {
    for k in kinds {
        if !KINDS
            .iter()
            .any(|known| known == k || known.starts_with(&format!("{k}_")))
        {
            return Err(Error::Usage(format!(
                "unknown event kind {k:?}; known: {} (claim and session match all their kinds)",
                KINDS.join(", ")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_carries_event_fields() {
        let mut e = Event::new("signal", "x".into());
        e.signal = Some("infra".into());
        let env: HashMap<_, _> = e.env().into_iter().collect();
        assert_eq!(env["SESSIONS_EVENT"], "signal");
        assert_eq!(env["SESSIONS_SIGNAL"], "infra");
        assert!(env["SESSIONS_EVENT_JSON"].contains("\"signal\":\"infra\""));
    }

    #[test]
    fn kind_filters_accept_prefixes() {
        assert!(check_kinds(&["claim".into(), "signal".into()]).is_ok());
        assert!(check_kinds(&["nope".into()]).is_err());
    }
}
