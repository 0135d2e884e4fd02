//! What one frame shows, and how it is kept up to date. Each part of the hub (the
//! registry, each heartbeat, the claims, the milestones, each status file, the
//! collaboration requests, the board) is held apart, so a change re-reads only the part
//! whose files changed: one heartbeat file, one status file, the board from where it
//! was last read. The rules (liveness, roll-ups, the healthcheck, who a message is for)
//! are the core's, the same `sessions status` uses.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sessions_core::board::messages::{self, Ack, Message};
use sessions_core::board::post::{ACKS, CURSORS};
use sessions_core::sessions::heartbeat::{self, Heartbeat};
use sessions_core::sessions::registry::{self, Registry, SyncCounts, SyncView};
use sessions_core::status::report::{self, Health, STATUS_SUFFIX, StatusDoc, StatusFiles};
use sessions_core::store::hub::layout;
use sessions_core::store::time::{self, Timestamp};
use sessions_core::store::{scan, storage};
use sessions_core::views::glance;
use sessions_core::views::snapshot::{ClaimStatus, claim_status};
use sessions_core::work::claims::{self, Claim};
use sessions_core::work::collab;
use sessions_core::work::milestones::{self, Milestone, ReadyItem};
use sessions_core::{Hub, Result};

/// How many board messages the board pane keeps.
pub const BOARD_TAIL: usize = 30;

/// How far back the activity chart looks, in minutes.
pub const CHART_MINUTES: usize = 60;

/// What the panes draw.
pub struct Model {
    pub sessions: SyncView,
    pub claims: Vec<ClaimStatus>,
    /// Open milestones.
    pub milestones: Vec<Milestone>,
    pub ready: Vec<ReadyItem>,
    /// Every status file's roll-up, blocked and failing ones first.
    pub status_files: Vec<report::Summary>,
    pub health: Option<Health>,
    /// Pending collaboration requests addressed to me (to anyone, without a session).
    pub requests_waiting: Vec<collab::Request>,
    /// The board's last messages, oldest first.
    pub board: VecDeque<Message>,
    /// My unread messages (with a session).
    pub unread: HashSet<String>,
    /// Who acknowledged each message of the board tail.
    pub acks: HashMap<String, Vec<Ack>>,
    /// When messages were posted and heartbeats seen, over the last hour.
    pub activity: Activity,
    /// Parts of the hub that could not be read: shown, never fatal.
    pub errors: Vec<String>,
}

/// Times of recent events, for the per-minute chart.
#[derive(Default)]
pub struct Activity {
    pub messages: Vec<Timestamp>,
    /// Heartbeat times: the last one of each session when top started, then every
    /// heartbeat seen while it runs (a heartbeat file keeps only its latest time).
    pub heartbeats: Vec<Timestamp>,
}

impl Activity {
    /// Counts per minute over the last [`CHART_MINUTES`], oldest first.
    pub fn per_minute(times: &[Timestamp], now: Timestamp) -> Vec<u64> {
        let mut buckets = vec![0; CHART_MINUTES];
        for t in times {
            let ago = (now - *t).num_seconds();
            if (0..CHART_MINUTES as i64 * 60).contains(&ago) {
                buckets[CHART_MINUTES - 1 - (ago / 60) as usize] += 1;
            }
        }
        buckets
    }

    fn prune(&mut self, now: Timestamp) {
        let recent = |t: &Timestamp| (now - *t).num_seconds() < CHART_MINUTES as i64 * 60;
        self.messages.retain(recent);
        self.heartbeats.retain(recent);
    }
}

/// Which parts of the hub a burst of file changes touched.
#[derive(Debug, Default, Clone)]
pub struct Touched {
    /// Read everything again (start, the hub folder replaced, lost notifications).
    pub all: bool,
    pub registry: bool,
    /// `HEARTBEATS/` itself (created or removed): every heartbeat.
    pub heartbeat_dir: bool,
    pub heartbeats: BTreeSet<PathBuf>,
    pub claims: bool,
    pub milestones: bool,
    /// Projects whose `<project>-status.md` changed.
    pub status: BTreeSet<String>,
    pub collab: bool,
    pub board: bool,
    pub acks: bool,
    /// My read cursor moved (I read my inbox elsewhere).
    pub my_cursor: bool,
}

impl Touched {
    pub fn everything() -> Touched {
        Touched {
            all: true,
            ..Touched::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        !(self.all
            || self.registry
            || self.heartbeat_dir
            || !self.heartbeats.is_empty()
            || self.claims
            || self.milestones
            || !self.status.is_empty()
            || self.collab
            || self.board
            || self.acks
            || self.my_cursor)
    }

    pub fn merge(&mut self, other: Touched) {
        self.all |= other.all;
        self.registry |= other.registry;
        self.heartbeat_dir |= other.heartbeat_dir;
        self.heartbeats.extend(other.heartbeats);
        self.claims |= other.claims;
        self.milestones |= other.milestones;
        self.status.extend(other.status);
        self.collab |= other.collab;
        self.board |= other.board;
        self.acks |= other.acks;
        self.my_cursor |= other.my_cursor;
    }
}

/// Where the hub's parts live, to tell which part a changed path belongs to.
#[derive(Debug, Clone)]
pub struct Places {
    pub root: PathBuf,
    pub status_dir: PathBuf,
    pub me: Option<String>,
}

impl Places {
    pub fn classify(&self, path: &Path, t: &mut Touched) {
        if path == self.root {
            t.all = true;
            return;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.parent() == Some(self.status_dir.as_path())
            && !storage::is_temp_or_hidden(name)
            && let Some(project) = name.strip_suffix(STATUS_SUFFIX)
        {
            t.status.insert(project.to_string());
        }
        let Ok(rel) = path.strip_prefix(&self.root) else {
            return;
        };
        if rel == Path::new(layout::REGISTRY) {
            t.registry = true;
        } else if rel == Path::new(layout::MESSAGES) {
            t.board = true;
        } else if rel == Path::new(layout::HEARTBEATS) {
            t.heartbeat_dir = true;
        } else if rel.parent() == Some(Path::new(layout::HEARTBEATS)) {
            if !storage::is_temp_or_hidden(name) && name.ends_with(".json") {
                t.heartbeats.insert(path.to_path_buf());
            }
        } else if rel.starts_with(layout::PRIORITIES) {
            t.claims = true;
        } else if rel.starts_with(layout::MILESTONES) {
            t.milestones = true;
        } else if rel.starts_with(layout::COLLABORATIONS) || rel == Path::new("ACTIVE") {
            t.collab = true;
        } else if rel.starts_with(ACKS) {
            t.acks = true;
        } else if rel.starts_with(CURSORS)
            && let Some(me) = self.me.as_deref()
            // The folder itself when it is made with my first cursor in it: the file's
            // own event can come before the new folder is watched.
            && (rel == Path::new(CURSORS) || scan::stem(path) == me)
        {
            t.my_cursor = true;
        }
    }
}

/// The board as read so far: new bytes are read from where the last read stopped.
struct Board {
    reader: sessions_watch::Inbox,
    /// Device, inode and length at the last read: another identity or a shorter file
    /// means the board was rewritten (archive, git merge) and is read again whole.
    file: Option<(u64, u64, u64)>,
}

/// The hub as the dashboard holds it, and the model drawn from it.
pub struct Live {
    me: Option<String>,
    files: Option<StatusFiles>,
    registry: Registry,
    /// Sorted by path.
    heartbeats: Vec<Heartbeat>,
    claims: Vec<Claim>,
    /// Each status file's parsed document, or why it could not be read.
    docs: BTreeMap<String, (PathBuf, std::result::Result<StatusDoc, String>)>,
    board: Board,
    /// Problems by part (or by file), replaced when that part reads again.
    errors: BTreeMap<String, String>,
    /// When [`Live::age`] last looked.
    aged_at: Option<Timestamp>,
    pub model: Model,
}

impl Live {
    /// Read the whole hub once.
    pub fn load(hub: &Hub, me: Option<&str>) -> Live {
        let mut live = Live {
            me: me.map(str::to_string),
            files: None,
            registry: Registry::default(),
            heartbeats: Vec::new(),
            claims: Vec::new(),
            docs: BTreeMap::new(),
            board: Board {
                reader: sessions_watch::Inbox::default(),
                file: None,
            },
            errors: BTreeMap::new(),
            aged_at: None,
            model: Model {
                sessions: SyncView {
                    sessions: Vec::new(),
                    counts: SyncCounts::default(),
                    warnings: Vec::new(),
                },
                claims: Vec::new(),
                milestones: Vec::new(),
                ready: Vec::new(),
                status_files: Vec::new(),
                health: None,
                requests_waiting: Vec::new(),
                board: VecDeque::new(),
                unread: HashSet::new(),
                acks: HashMap::new(),
                activity: Activity::default(),
                errors: Vec::new(),
            },
        };
        live.refresh(hub, &Touched::everything());
        live.aged_at = Some(time::now());
        live
    }

    /// Where the hub's parts live (for [`Places::classify`]).
    pub fn places(hub: &Hub, me: Option<&str>) -> Places {
        let status_dir = StatusFiles::for_hub(hub, None)
            .map_or_else(|_| hub.root().to_path_buf(), |f| f.dir().to_path_buf());
        Places {
            root: hub.root().to_path_buf(),
            status_dir,
            me: me.map(str::to_string),
        }
    }

    fn keep<T>(&mut self, part: &str, r: Result<T>) -> Option<T> {
        match r {
            Ok(v) => {
                self.errors.remove(part);
                Some(v)
            }
            Err(e) => {
                self.errors.insert(part.to_string(), e.to_string());
                None
            }
        }
    }

    /// Read again the parts `t` names, and only those.
    pub fn refresh(&mut self, hub: &Hub, t: &Touched) {
        let now = time::now();
        let all = t.all;
        let mut sessions_changed = false;
        if all || t.registry {
            if let Some(registry) = self.keep("registry", Registry::load(hub)) {
                self.registry = registry;
            }
            sessions_changed = true;
        }
        if all || t.heartbeat_dir {
            if let Some(scan) = self.keep("heartbeats", heartbeat::scan_heartbeats(hub)) {
                self.errors
                    .retain(|k, _| !k.starts_with(layout::HEARTBEATS));
                for p in scan.problems {
                    self.errors.insert(problem_key(&p.path), p.to_string());
                }
                self.heartbeats = scan.items;
                self.heartbeats.sort_by(|a, b| a.path.cmp(&b.path));
                self.model.activity.heartbeats =
                    self.heartbeats.iter().filter_map(|h| h.time).collect();
            }
            sessions_changed = true;
        } else {
            for path in &t.heartbeats {
                self.heartbeat_changed(hub, path);
                sessions_changed = true;
            }
        }
        if sessions_changed {
            self.model.sessions = registry::sync_view(hub, &self.registry, &self.heartbeats, now);
        }
        if (all || t.claims)
            && let Some(scan) = self.keep("claims", claims::scan(hub))
        {
            self.claims = scan.items;
            self.scan_problems("claims", scan.problems);
        }
        if all || t.claims || sessions_changed {
            self.model.claims = self.claim_statuses(now);
        }
        if (all || t.milestones)
            && let Some(scan) = self.keep("milestones", milestones::scan(hub))
        {
            self.model.milestones = scan.items.into_iter().filter(Milestone::is_open).collect();
            self.scan_problems("milestones", scan.problems);
        }
        if all || t.claims || t.milestones {
            self.refresh_ready(hub, now);
        }
        if all || !t.status.is_empty() {
            self.refresh_status(hub, t, now);
        }
        if (all || t.collab)
            && let Some(list) = self.keep("collaborations", collab::list(hub))
        {
            self.model.requests_waiting = glance::waiting_on(list, self.me.as_deref());
        }
        let board_changed = (all || t.board) && self.refresh_board(hub, now, all);
        // My cursor moved (I read my inbox elsewhere): unread is what the inbox says,
        // even when the board grew in the same burst.
        if t.my_cursor && !all {
            self.refresh_unread(hub);
        }
        if all || board_changed || t.acks {
            self.refresh_acks(hub);
        }
        self.model.errors = self
            .errors
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
    }

    /// What changes with time alone, without reading files again (liveness, ages,
    /// stale status files, the chart's window). The free work is read again only when
    /// time freed a claim: its lease (and grace) ran out since the last look, or its
    /// holder stopped being live.
    pub fn age(&mut self, hub: &Hub) {
        let now = time::now();
        let since = self.aged_at.replace(now).unwrap_or(now);
        self.model.sessions = registry::sync_view(hub, &self.registry, &self.heartbeats, now);
        let before: Vec<_> = self
            .model
            .claims
            .iter()
            .map(|c| c.holder_liveness)
            .collect();
        self.model.claims = self.claim_statuses(now);
        let grace = chrono::Duration::from_std(hub.config.claims.grace).unwrap_or_default();
        let lease_ran_out = self.claims.iter().any(|c| {
            claims::lease_end(hub, c)
                .and_then(|end| end.checked_add_signed(grace))
                .is_some_and(|free_at| since < free_at && free_at <= now)
        });
        let holder_changed = !self
            .model
            .claims
            .iter()
            .map(|c| c.holder_liveness)
            .eq(before);
        if lease_ran_out || holder_changed {
            self.refresh_ready(hub, now);
        }
        self.rebuild_status(now);
        self.model.activity.prune(now);
    }

    fn scan_problems(&mut self, part: &str, problems: Vec<scan::Problem>) {
        let prefix = format!("{part}/");
        self.errors.retain(|k, _| !k.starts_with(&prefix));
        for p in problems {
            self.errors
                .insert(format!("{prefix}{}", scan::stem(&p.path)), p.to_string());
        }
    }

    fn heartbeat_changed(&mut self, hub: &Hub, path: &Path) {
        let key = problem_key(path);
        let at = self
            .heartbeats
            .binary_search_by(|h| h.path.as_path().cmp(path));
        match heartbeat::read_heartbeat(hub, path) {
            Ok(Some(hb)) => {
                self.errors.remove(&key);
                match at {
                    Ok(i) => {
                        // Rewritten (a new time, or a new count within the same
                        // second): one more heartbeat.
                        if hb.record != self.heartbeats[i].record
                            && let Some(t) = hb.time
                        {
                            self.model.activity.heartbeats.push(t);
                        }
                        self.heartbeats[i] = hb;
                    }
                    Err(i) => {
                        self.model.activity.heartbeats.extend(hb.time);
                        self.heartbeats.insert(i, hb);
                    }
                }
            }
            Ok(None) => {
                self.errors.remove(&key);
                if let Ok(i) = at {
                    self.heartbeats.remove(i);
                }
            }
            // Caught mid-edit or damaged: keep what was known, say so.
            Err(e) => {
                self.errors.insert(key, e.to_string());
            }
        }
    }

    fn claim_statuses(&self, now: Timestamp) -> Vec<ClaimStatus> {
        self.claims
            .iter()
            .cloned()
            .map(|c| claim_status(&self.model.sessions, c, now))
            .collect()
    }

    fn refresh_ready(&mut self, hub: &Hub, now: Timestamp) {
        if let Some(scan) = self.keep("ready work", milestones::ready(hub, now)) {
            self.model.ready = scan.items;
        }
    }

    fn refresh_status(&mut self, hub: &Hub, t: &Touched, now: Timestamp) {
        if self.files.is_none() || t.all {
            self.files = self.keep("status files", StatusFiles::for_hub(hub, None));
        }
        let Some(files) = self.files.clone() else {
            return;
        };
        if t.all {
            let Some(list) = self.keep("status files", files.list()) else {
                return;
            };
            self.docs.clear();
            for (project, path) in list {
                self.read_doc(&files, project, path);
            }
        } else {
            for project in &t.status {
                match files.path(project) {
                    Ok(path) => self.read_doc(&files, project.clone(), path),
                    Err(_) => {
                        self.docs.remove(project);
                    }
                }
            }
        }
        self.rebuild_status(now);
    }

    fn read_doc(&mut self, files: &StatusFiles, project: String, path: PathBuf) {
        match files
            .ensure_inside(&path)
            .and_then(|()| storage::read_text(&path))
        {
            Ok(Some(text)) => {
                self.docs
                    .insert(project, (path, Ok(StatusDoc::parse(&text))));
            }
            Ok(None) => {
                self.docs.remove(&project);
            }
            Err(e) => {
                self.docs.insert(project, (path, Err(e.to_string())));
            }
        }
    }

    /// The roll-up and the healthcheck from the parsed files, as of `now`.
    fn rebuild_status(&mut self, now: Timestamp) {
        let Some(files) = &self.files else { return };
        let mut summaries = Vec::new();
        let mut problems = Vec::new();
        for (project, (path, doc)) in &self.docs {
            match doc {
                Ok(doc) => {
                    summaries.push(report::Summary::of(project, path, doc, now));
                    problems.extend(report::doc_problems(files, project, path, doc, now));
                }
                Err(e) => problems.push(report::unreadable_problem(project, path, e)),
            }
        }
        glance::sort_status_files(&mut summaries);
        self.model.status_files = summaries;
        self.model.health = Some(Health {
            ok: problems.is_empty(),
            checked: self.docs.len(),
            stale_after_secs: files.stale_after.as_secs(),
            problems,
        });
    }

    /// Read what was appended to the board since the last look (the whole board when
    /// it was rewritten). Returns whether anything changed.
    fn refresh_board(&mut self, hub: &Hub, now: Timestamp, all: bool) -> bool {
        let Some(path) = self.keep("board", hub.file(layout::MESSAGES)) else {
            return false;
        };
        let file = std::fs::metadata(&path)
            .ok()
            .map(|m| (m.dev(), m.ino(), m.len()));
        let rewritten = all
            || match (self.board.file, file) {
                (Some((dev, ino, len)), Some((d, i, l))) => (dev, ino) != (d, i) || l < len,
                (None, _) => true,
                (Some(_), None) => true,
            };
        if !rewritten && self.board.file == file {
            return false;
        }
        self.board.file = file;
        if rewritten {
            self.board.reader = sessions_watch::Inbox::default();
            self.model.board.clear();
            self.model.activity.messages.clear();
        }
        let fresh = self.board.reader.poll(&path);
        let recent = |t: &Timestamp| (now - *t).num_seconds() < CHART_MINUTES as i64 * 60;
        for m in fresh {
            if let Some(t) = m.timestamp.filter(recent) {
                self.model.activity.messages.push(t);
            }
            if !rewritten
                && let Some(me) = &self.me
                && m.is_for(me)
            {
                self.model.unread.insert(m.id.clone());
            }
            self.model.board.push_back(m);
            if self.model.board.len() > BOARD_TAIL {
                self.model.board.pop_front();
            }
        }
        if rewritten {
            self.refresh_unread(hub);
        }
        true
    }

    /// My unread messages as `sessions inbox` counts them (cheap while my cursor holds).
    fn refresh_unread(&mut self, hub: &Hub) {
        let Some(me) = self.me.clone() else { return };
        if let Some(inbox) = self.keep("inbox", messages::inbox(hub, &me, true)) {
            self.model.unread = inbox.messages.into_iter().map(|m| m.message.id).collect();
        }
    }

    fn refresh_acks(&mut self, hub: &Hub) {
        self.model.acks = self
            .model
            .board
            .iter()
            .filter_map(|m| {
                let acks = messages::acks(hub, &m.id).ok()?;
                (!acks.is_empty()).then(|| (m.id.clone(), acks))
            })
            .collect();
    }
}

fn problem_key(path: &Path) -> String {
    format!("{}/{}", layout::HEARTBEATS, scan::stem(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places() -> Places {
        Places {
            root: PathBuf::from("/h"),
            status_dir: PathBuf::from("/h"),
            me: Some("me1".into()),
        }
    }

    fn touched(paths: &[&str]) -> Touched {
        let mut t = Touched::default();
        for p in paths {
            places().classify(Path::new(p), &mut t);
        }
        t
    }

    #[test]
    fn each_path_names_its_part_and_only_that() {
        let t = touched(&["/h/HEARTBEATS/s1.json"]);
        assert_eq!(
            t.heartbeats.iter().collect::<Vec<_>>(),
            [Path::new("/h/HEARTBEATS/s1.json")]
        );
        assert!(!t.all && !t.registry && !t.claims && !t.board);
        assert!(touched(&["/h/REGISTRY.json"]).registry);
        assert!(touched(&["/h/MESSAGES.md"]).board);
        assert!(touched(&["/h/PRIORITIES/fence.lock"]).claims);
        assert!(touched(&["/h/MILESTONES/m1.json"]).milestones);
        assert!(touched(&["/h/ACTIVE/COLLABORATIONS/c1.json"]).collab);
        assert!(touched(&["/h/ACTIVE/ACKS/m-1/s2.json"]).acks);
        assert!(touched(&["/h/.sessions/cursors/me1.json"]).my_cursor);
        assert!(touched(&["/h/.sessions/cursors"]).my_cursor);
        assert!(touched(&["/h/HEARTBEATS"]).heartbeat_dir);
        assert!(touched(&["/h"]).all);
        let t = touched(&["/h/infra-status.md"]);
        assert_eq!(t.status.iter().collect::<Vec<_>>(), ["infra"]);
        // Another session's cursor, temp files and unrelated files touch nothing.
        for quiet in [
            "/h/.sessions/cursors/s2.json",
            "/h/HEARTBEATS/.s1.json.tmp",
            "/h/.infra-status.md",
            "/h/DISCOVERY/s1-HELLO.md",
            "/h/notes.txt",
        ] {
            assert!(touched(&[quiet]).is_empty(), "{quiet} touched something");
        }
    }

    #[test]
    fn merged_bursts_keep_every_part() {
        let mut t = touched(&["/h/HEARTBEATS/s1.json"]);
        t.merge(touched(&["/h/HEARTBEATS/s2.json", "/h/a-status.md"]));
        assert_eq!(t.heartbeats.len(), 2);
        assert!(t.status.contains("a"));
        assert!(!t.is_empty());
    }

    #[test]
    fn per_minute_counts_the_last_hour_oldest_first() {
        let now = time::parse_str("2026-01-01T12:00:00Z").unwrap();
        let at = |secs_ago: i64| now - chrono::Duration::seconds(secs_ago);
        let times = [at(0), at(30), at(59), at(60), at(3599), at(3600), at(-5)];
        let counts = Activity::per_minute(&times, now);
        assert_eq!(counts.len(), CHART_MINUTES);
        assert_eq!(counts[CHART_MINUTES - 1], 3, "this minute");
        assert_eq!(counts[CHART_MINUTES - 2], 1, "a minute ago");
        assert_eq!(counts[0], 1, "59 minutes ago");
        // An hour ago and the future are outside the chart.
        assert_eq!(counts.iter().sum::<u64>(), 5);
    }
}
