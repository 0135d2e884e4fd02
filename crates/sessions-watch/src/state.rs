//! State kept between looks, and the diffs that turn a fresh look into events. Every
//! folder is read through the core's scanners; a file that does not parse keeps what
//! was known of it, so an edit caught halfway never becomes an event.

use super::*;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ItemState {
    section: String,
    label: String,
    marker: Option<Marker>,
    note: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct DocState {
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
pub(crate) struct ClaimState {
    holder: String,
    token: Option<u64>,
    expires_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MilestoneState {
    title: String,
    status: String,
    progress: u8,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    /// The last touch time reported per signal name.
    pub(crate) signals: HashMap<String, i128>,
    pub(crate) docs: HashMap<String, DocState>,
    pub(crate) claims: BTreeMap<String, ClaimState>,
    pub(crate) expired: HashSet<(String, Option<String>)>,
    pub(crate) milestones: BTreeMap<String, MilestoneState>,
    pub(crate) heartbeats: BTreeMap<String, Option<time::Timestamp>>,
    pub(crate) liveness: BTreeMap<String, Liveness>,
    pub(crate) inbox: Inbox,
}

/// Which parts of the hub a batch of notifications touched.
#[derive(Debug, Default)]
pub(crate) struct Touched {
    pub(crate) rescan: bool,
    pub(crate) root: bool,
    pub(crate) signals: bool,
    pub(crate) docs: BTreeSet<String>,
    pub(crate) messages: bool,
    pub(crate) claims: bool,
    pub(crate) milestones: bool,
    pub(crate) heartbeats: bool,
}

impl Touched {
    pub(crate) fn all() -> Touched {
        Touched {
            rescan: true,
            ..Touched::default()
        }
    }
}

fn is_dir_of(path: &Path, dir: &Path) -> bool {
    path.parent() == Some(dir)
}

impl Watch {
    pub(crate) fn classify(&self, path: &Path, t: &mut Touched) {
        let root = &self.root;
        if path == root.as_path() {
            t.root = true;
            return;
        }
        let status_dir = self.opts.files.dir();
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

    pub(crate) fn wants(&self, kind: &str) -> bool {
        self.opts.kinds.is_empty()
            || self
                .opts
                .kinds
                .iter()
                .any(|k| kind == k || kind.starts_with(&format!("{k}_")))
    }

    /// Read the current state of everything `t` names, diff it with the last state,
    /// and return the events (signals are returned separately: they need taking).
    pub(crate) fn refresh(
        &mut self,
        t: &Touched,
        emit: bool,
    ) -> (Vec<Event>, Vec<signals::Signal>) {
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
            let path = self.opts.hub.display_path(layout::MESSAGES);
            for m in self.state.inbox.poll(&path) {
                let for_me = self.opts.me.as_deref().is_none_or(|me| m.is_for(me));
                if !emit || !for_me {
                    continue;
                }
                let to = m.to.join(", ");
                let detail = format!(
                    "message {} from {} to {to}{}",
                    m.id,
                    m.from.as_deref().unwrap_or("?"),
                    m.subject
                        .as_deref()
                        .map(|s| format!(": {s}"))
                        .unwrap_or_default()
                );
                let recipients = if m.to.is_empty() && m.broadcast {
                    vec!["all".to_string()]
                } else {
                    m.to
                };
                events.push(Event::Message {
                    time: event::now(),
                    file: path.clone(),
                    message_id: m.id,
                    sender: m.from,
                    recipients,
                    subject: m.subject,
                    text: event::event_text(&m.body),
                    detail,
                });
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
        let base = |change: &str, detail: String| Event::Status {
            time: event::now(),
            file: path.clone(),
            project: project.to_string(),
            change: change.to_string(),
            section: None,
            label: None,
            from: None,
            to: None,
            note: None,
            detail,
        };
        // A status event with the fields a change of one line sets.
        let line = |e: Event,
                    section: Option<String>,
                    label: Option<String>,
                    from: Option<String>,
                    to: Option<String>,
                    note: Option<String>| match e {
            Event::Status {
                time,
                file,
                project,
                change,
                detail,
                ..
            } => Event::Status {
                time,
                file,
                project,
                change,
                section,
                label,
                from,
                to,
                note,
                detail,
            },
            other => other,
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
            let e = base(
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
            events.push(line(
                e,
                Some(item.section.clone()),
                Some(item.label.clone()),
                from,
                to,
                (!item.note.is_empty()).then(|| item.note.clone()),
            ));
        }
        for (key, item) in &old.items {
            if !new.items.contains_key(key) {
                let e = base(
                    "item",
                    format!("{project}: {} / {} removed", item.section, item.label),
                );
                events.push(line(
                    e,
                    Some(item.section.clone()),
                    Some(item.label.clone()),
                    item.marker.map(|m| m.word().to_string()),
                    None,
                    None,
                ));
            }
        }
        let word = |done: bool| if done { "done" } else { "open" };
        for (key, (text, done)) in &new.actions {
            let before = old.actions.get(key).map(|(_, d)| *d);
            if before == Some(*done) {
                continue;
            }
            let e = base(
                "action",
                format!(
                    "{project}: action {text:?}: {} -> {}",
                    before.map_or("(none)", word),
                    word(*done)
                ),
            );
            events.push(line(
                e,
                None,
                Some(text.clone()),
                before.map(|d| word(d).to_string()),
                Some(word(*done).to_string()),
                None,
            ));
        }
        if old.next != new.next {
            let e = base(
                "next",
                format!(
                    "{project}: NEXT SESSION {} -> {}",
                    old.next.as_deref().unwrap_or("(none)"),
                    new.next.as_deref().unwrap_or("(none)")
                ),
            );
            events.push(line(
                e,
                None,
                Some("NEXT SESSION".into()),
                old.next.clone(),
                new.next.clone(),
                None,
            ));
        }
    }

    fn refresh_claims(&mut self, emit: bool, events: &mut Vec<Event>) {
        let hub = &self.opts.hub;
        let Ok(found) = claims::scan(hub) else {
            return; // the folder cannot be read now; the next event re-reads it
        };
        let mut now_claims = BTreeMap::new();
        for c in found.items {
            now_claims.insert(
                c.key,
                ClaimState {
                    holder: c.holder,
                    token: c.token,
                    expires_at: c.expires_at,
                },
            );
        }
        // A lock file caught mid-edit is not a released claim: keep what we knew.
        for p in &found.problems {
            let key = scan::stem(&p.path);
            if let Some(c) = self.state.claims.get(&key) {
                now_claims.insert(key, c.clone());
            }
        }
        let old = std::mem::replace(&mut self.state.claims, now_claims);
        if !emit {
            return;
        }
        let dir = hub.display_path(layout::PRIORITIES);
        for (key, c) in &self.state.claims {
            let before = old.get(key);
            if before.is_some_and(|b| b.holder == c.holder && b.token == c.token) {
                continue;
            }
            events.push(Event::ClaimTaken {
                time: event::now(),
                file: dir.join(format!("{key}.lock")),
                key: key.clone(),
                holder: c.holder.clone(),
                previous_holder: before.map(|b| b.holder.clone()),
                expires_at: c.expires_at.clone(),
                detail: match before {
                    Some(b) => format!("{key} taken over by {} from {}", c.holder, b.holder),
                    None => format!("{key} claimed by {}", c.holder),
                },
            });
        }
        for (key, c) in &old {
            if !self.state.claims.contains_key(key) {
                events.push(Event::ClaimReleased {
                    time: event::now(),
                    file: dir.join(format!("{key}.lock")),
                    key: key.clone(),
                    holder: c.holder.clone(),
                    detail: format!("{key} released by {}", c.holder),
                });
            }
        }
    }

    pub(crate) fn expiries(&mut self, events: &mut Vec<Event>) {
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
                events.push(Event::ClaimExpired {
                    time: event::now(),
                    key: key.clone(),
                    holder: c.holder.clone(),
                    expires_at: c.expires_at.clone(),
                    detail: format!(
                        "{key} held by {} expired at {}",
                        c.holder,
                        time::format(exp)
                    ),
                });
            }
        }
    }

    fn refresh_milestones(&mut self, emit: bool, events: &mut Vec<Event>) {
        let hub = &self.opts.hub;
        let Ok(found) = milestones::scan(hub) else {
            return;
        };
        let mut now_ms = BTreeMap::new();
        for m in found.items {
            now_ms.insert(
                m.id,
                MilestoneState {
                    title: m.title,
                    status: m.status,
                    progress: m.progress,
                },
            );
        }
        for p in &found.problems {
            let id = scan::stem(&p.path);
            if let Some(m) = self.state.milestones.get(&id) {
                now_ms.insert(id, m.clone());
            }
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
            events.push(Event::Milestone {
                time: event::now(),
                change: m.status.clone(),
                from: before.map(|b| format!("{} {}%", b.status, b.progress)),
                to: format!("{} {}%", m.status, m.progress),
                subject: m.title.clone(),
                milestone: id.clone(),
                progress: m.progress,
                detail: match before {
                    Some(b) => format!(
                        "{id}: {} {}% -> {} {}%",
                        b.status, b.progress, m.status, m.progress
                    ),
                    None => format!("{id}: created ({} {}%)", m.status, m.progress),
                },
            });
        }
    }

    fn refresh_heartbeats(&mut self, emit: bool, events: &mut Vec<Event>) {
        let Ok(found) = heartbeat::scan_heartbeats(&self.opts.hub) else {
            return;
        };
        // The one rule: of several files naming a session, the newest speaks for it.
        let mut now_hb = liveness::last_seen_per_session(&found.items);
        // A heartbeat caught mid-edit is not a session that left: keep what we knew of
        // the session it was for (its file name names it).
        for p in &found.problems {
            let id = scan::stem(&p.path);
            if let Some(t) = self.state.heartbeats.get(&id) {
                now_hb.entry(id).or_insert(*t);
            }
        }
        self.state.heartbeats = now_hb;
        self.liveness(emit, events);
    }

    /// Recompute liveness from the heartbeat times kept in memory (the tick calls this
    /// without any I/O) and report transitions.
    pub(crate) fn liveness(&mut self, emit: bool, events: &mut Vec<Event>) {
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
            if before.is_none() && *l != Liveness::Live {
                continue; // an old heartbeat showing up is not news
            }
            let change = SessionChange {
                time: event::now(),
                from: before.map(|b| b.as_str().to_string()),
                to: Some(l.as_str().to_string()),
                session: id.clone(),
                detail: format!("{id} is {}", l.as_str()),
            };
            events.push(match l {
                Liveness::Live => Event::SessionAppeared(change),
                Liveness::Stale | Liveness::Unknown => Event::SessionStale(change),
                Liveness::Gone => Event::SessionGone(change),
            });
        }
        for id in old.keys() {
            if !self.state.liveness.contains_key(id) {
                events.push(Event::SessionGone(SessionChange {
                    time: event::now(),
                    from: None,
                    to: None,
                    session: id.clone(),
                    detail: format!("{id}: heartbeat removed"),
                }));
            }
        }
    }
}
