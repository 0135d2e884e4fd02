//! Merge drivers, one per hub file kind (`sessions merge-driver <kind> %O %A %B %P`).
//!
//! Each driver is a pure function of the three versions (base, ours, theirs) that git
//! hands over. The rules (issue 9):
//!
//! - board (`MESSAGES.md`): union by message ID, new messages in time order, every
//!   block once; free text and old-script blocks kept; never a conflict.
//! - registry (`REGISTRY.json`): 3-way per session entry and per field; unknown fields
//!   and key order kept; two timestamps: the newer wins.
//! - heartbeat (`HEARTBEATS/*.json`): the newest `last_heartbeat` wins.
//! - milestone (`MILESTONES/*.json`): 3-way per step; a step completed on either side
//!   stays completed; progress and status recomputed; blockers and handoff notes merged.
//! - collab (`ACTIVE/COLLABORATIONS/*.json`): the status further along the lifecycle
//!   wins; history merged by entry.
//! - current-state (`CURRENT_STATE.md`): per section; "Recently completed" merged as a
//!   list; a real clash elsewhere (the priority text) is left as a readable conflict.
//! - status (`*-status.md`): per item line; the side with the newer header wins a clash.
//! - lock (`PRIORITIES/*.lock`): one holder, the same on every clone whatever the merge
//!   order: the earliest claim (then holder, then token) wins.
//!
//! Where a driver cannot decide, or cannot parse a side, the result holds both sides
//! whole between git's conflict markers and the driver exits 1: no side is ever lost.
//! Every rule picks by a total order on the values, not by which side is "ours", so the
//! merged hub is the same on every clone.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Map, Value, json};
use sessions_core::board::messages::{self, Format, Segment};
use sessions_core::store::time::{self, Timestamp};
use sessions_core::work::current_state;

/// The hub file kinds that have a driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Board,
    Registry,
    Heartbeat,
    Milestone,
    Collab,
    CurrentState,
    Status,
    Lock,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Board,
        Kind::Registry,
        Kind::Heartbeat,
        Kind::Milestone,
        Kind::Collab,
        Kind::CurrentState,
        Kind::Status,
        Kind::Lock,
    ];

    /// The name on the command line (`sessions merge-driver board ...`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Board => "board",
            Kind::Registry => "registry",
            Kind::Heartbeat => "heartbeat",
            Kind::Milestone => "milestone",
            Kind::Collab => "collab",
            Kind::CurrentState => "current-state",
            Kind::Status => "status",
            Kind::Lock => "lock",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The git driver name (`merge=sessions-board`).
    pub fn driver(self) -> String {
        format!("sessions-{}", self.name())
    }

    /// The files of this kind, as patterns relative to the hub.
    pub fn patterns(self) -> &'static [&'static str] {
        match self {
            Kind::Board => &["MESSAGES.md"],
            Kind::Registry => &["REGISTRY.json"],
            Kind::Heartbeat => &["HEARTBEATS/*.json"],
            Kind::Milestone => &["MILESTONES/*.json"],
            Kind::Collab => &["ACTIVE/COLLABORATIONS/*.json"],
            Kind::CurrentState => &["CURRENT_STATE.md"],
            Kind::Status => &["*-status.md"],
            Kind::Lock => &["PRIORITIES/*.lock"],
        }
    }

    /// The kind of a file from its path relative to the hub.
    pub fn of_hub_path(rel: &str) -> Option<Kind> {
        let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        match (dir, name) {
            ("", "MESSAGES.md") => Some(Kind::Board),
            ("", "REGISTRY.json") => Some(Kind::Registry),
            ("", "CURRENT_STATE.md") => Some(Kind::CurrentState),
            ("", n) if n.ends_with("-status.md") => Some(Kind::Status),
            ("HEARTBEATS", n) if n.ends_with(".json") => Some(Kind::Heartbeat),
            ("MILESTONES", n) if n.ends_with(".json") => Some(Kind::Milestone),
            ("ACTIVE/COLLABORATIONS", n) if n.ends_with(".json") => Some(Kind::Collab),
            ("PRIORITIES", n) if n.ends_with(".lock") => Some(Kind::Lock),
            _ => None,
        }
    }
}

/// What a driver produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merged {
    Clean(String),
    /// Both sides are in `text` (whole, or the clashing part) between conflict markers.
    Conflict {
        text: String,
        reason: String,
    },
}

impl Merged {
    pub fn text(&self) -> &str {
        match self {
            Merged::Clean(t) | Merged::Conflict { text: t, .. } => t,
        }
    }
    pub fn is_clean(&self) -> bool {
        matches!(self, Merged::Clean(_))
    }
}

/// Merge three versions of a file of `kind`. `path` names the file in messages.
pub fn merge(kind: Kind, base: &str, ours: &str, theirs: &str, path: &str) -> Merged {
    if ours == theirs {
        return Merged::Clean(ours.to_string());
    }
    let result = match kind {
        Kind::Board => merge_board(base, ours, theirs),
        Kind::Registry => merge_registry(base, ours, theirs),
        Kind::Heartbeat => merge_heartbeat(ours, theirs),
        Kind::Milestone => merge_milestone(base, ours, theirs),
        Kind::Collab => merge_collab(base, ours, theirs),
        Kind::CurrentState => merge_current_state(base, ours, theirs),
        Kind::Status => merge_status(base, ours, theirs),
        Kind::Lock => merge_lock(base, ours, theirs),
    };
    match result {
        Ok(Outcome::Clean(text)) => Merged::Clean(text),
        Ok(Outcome::Clash(text, what)) => Merged::Conflict {
            text,
            reason: format!("{path}: {what}; both sides are kept between conflict markers"),
        },
        Err(why) => Merged::Conflict {
            text: both_sides(ours, theirs, path),
            reason: format!(
                "{path}: {why}; both sides are kept whole between conflict markers: fix the file by hand"
            ),
        },
    }
}

enum Outcome {
    Clean(String),
    /// A result with a readable conflict in it, and what clashed.
    Clash(String, String),
}

type Merge = Result<Outcome, String>;

/// Both sides whole, between git's conflict markers.
pub fn both_sides(ours: &str, theirs: &str, path: &str) -> String {
    let mut out = format!("<<<<<<< ours ({path})\n");
    push_line_block(&mut out, ours);
    out.push_str("=======\n");
    push_line_block(&mut out, theirs);
    out.push_str(&format!(">>>>>>> theirs ({path})\n"));
    out
}

fn push_line_block(out: &mut String, text: &str) {
    out.push_str(text);
    if !text.is_empty() && !text.ends_with('\n') {
        out.push('\n');
    }
}

/// A line that git writes around a conflict.
fn is_marker_line(line: &str) -> bool {
    let line = line.trim_end_matches(['\r', '\n']);
    line.starts_with("<<<<<<< ")
        || line.starts_with(">>>>>>> ")
        || line == "<<<<<<<"
        || line == ">>>>>>>"
}

fn has_markers(text: &str) -> bool {
    text.lines().any(is_marker_line)
}

fn refuse_markers(sides: &[&str]) -> Result<(), String> {
    if sides.iter().any(|s| has_markers(s)) {
        Err("a side holds conflict markers from an earlier merge".into())
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------
// Board

fn segment_text<'a>(text: &'a str, seg: &Segment) -> &'a str {
    let (offset, len) = seg.range();
    &text[offset as usize..(offset + len) as usize]
}

fn merge_board(base: &str, ours: &str, theirs: &str) -> Merge {
    // The board is append-only: most of it is the same in all three. That shared
    // prefix stays as it is (up to a block separator, so the tails parse as blocks);
    // only the tails are parsed and merged.
    let common = common_prefix(base.as_bytes(), ours.as_bytes())
        .min(common_prefix(base.as_bytes(), theirs.as_bytes()));
    let cut = base[..common].rfind("\n---\n").map_or(0, |i| i + 1);
    if cut > 0 {
        let tail = merge_board_tails(&base[cut..], &ours[cut..], &theirs[cut..])?;
        return Ok(match tail {
            Outcome::Clean(t) => Outcome::Clean(format!("{}{t}", &base[..cut])),
            other => other,
        });
    }
    merge_board_tails(base, ours, theirs)
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let chunk = 4096;
    let mut at = 0;
    while at + chunk <= a.len().min(b.len()) && a[at..at + chunk] == b[at..at + chunk] {
        at += chunk;
    }
    at + a[at..]
        .iter()
        .zip(&b[at..])
        .take_while(|(x, y)| x == y)
        .count()
}

fn merge_board_tails(base: &str, ours: &str, theirs: &str) -> Merge {
    let parsed = [base, ours, theirs].map(messages::parse);
    // Conflict markers outside a toolkit message's exact body are a damaged board.
    for (text, segs) in [ours, theirs].iter().zip(&parsed[1..]) {
        for seg in segs {
            let exact = matches!(seg, Segment::Message(m) if m.format == Format::Toolkit);
            if !exact && has_markers(segment_text(text, seg)) {
                return Err("the board holds conflict markers from an earlier merge".into());
            }
        }
    }
    let [o, a, b] = &parsed;
    let ids = |segs: &[Segment]| {
        segs.iter()
            .map(|s| s.id().to_string())
            .collect::<HashSet<_>>()
    };
    let (ids_o, ids_a, ids_b) = (ids(o), ids(a), ids(b));
    let texts_a: HashMap<&str, &str> = a.iter().map(|s| (s.id(), segment_text(ours, s))).collect();
    let texts_b: HashMap<&str, &str> = b
        .iter()
        .map(|s| (s.id(), segment_text(theirs, s)))
        .collect();
    let mut out = String::with_capacity(ours.len().max(theirs.len()) + 1024);
    // What both sides still have from the base, in the base's order (a side that
    // archived a message removed it on purpose).
    for seg in o {
        let id = seg.id();
        let (Some(ta), Some(tb)) = (texts_a.get(id), texts_b.get(id)) else {
            continue;
        };
        let to = segment_text(base, seg);
        push_segment(&mut out, if *ta != to { ta } else { tb });
    }
    // New on either side: merged in time order. A segment without a time (free text)
    // stays behind the message it followed.
    let mut fresh: Vec<(Option<Timestamp>, String, usize, &str)> = Vec::new();
    let mut seen = HashSet::new();
    for (text, segs) in [(ours, a), (theirs, b)] {
        let mut lead: (Option<Timestamp>, String) = (None, String::new());
        for (i, seg) in segs.iter().enumerate() {
            let id = seg.id();
            if let Segment::Message(m) = seg
                && m.timestamp.is_some()
            {
                lead = (m.timestamp, id.to_string());
            }
            if ids_o.contains(id) || !seen.insert(id.to_string()) {
                continue;
            }
            fresh.push((lead.0, lead.1.clone(), i, segment_text(text, seg)));
        }
    }
    // Same key on both sides means the same leading message: keep each side's order.
    fresh.sort_by(|x, y| {
        (x.0, &x.1, x.2)
            .cmp(&(y.0, &y.1, y.2))
            .then_with(|| x.3.cmp(y.3))
    });
    for (_, _, _, text) in fresh {
        push_segment(&mut out, text);
    }
    let _ = (&ids_a, &ids_b);
    Ok(Outcome::Clean(out))
}

fn push_segment(out: &mut String, seg: &str) {
    if !out.is_empty() && !out.ends_with('\n') && !seg.starts_with('\n') {
        out.push('\n');
    }
    out.push_str(seg);
}

// ---------------------------------------------------------------------------------
// JSON: a 3-way merge of objects, per key, with a rule for real clashes

/// Decides a clash at `path` (keys from the top) between two changed values; `None`
/// leaves it a conflict.
type Resolve<'a> = dyn Fn(&[String], &Value, &Value) -> Option<Value> + 'a;

fn merge_json(
    path: &mut Vec<String>,
    o: Option<&Value>,
    a: Option<&Value>,
    b: Option<&Value>,
    resolve: &Resolve,
) -> Result<Option<Value>, String> {
    if a == b {
        return Ok(a.cloned());
    }
    if a == o {
        return Ok(b.cloned());
    }
    if b == o {
        return Ok(a.cloned());
    }
    match (a, b) {
        (Some(Value::Object(ma)), Some(Value::Object(mb))) => {
            let empty = Map::new();
            let mo = o.and_then(Value::as_object).unwrap_or(&empty);
            let mut out = Map::new();
            // Key order: ours, then the keys only theirs has, in their order.
            let keys = ma.keys().chain(mb.keys().filter(|k| !ma.contains_key(*k)));
            for key in keys.cloned().collect::<Vec<_>>() {
                path.push(key.clone());
                let merged = merge_json(path, mo.get(&key), ma.get(&key), mb.get(&key), resolve)?;
                path.pop();
                if let Some(v) = merged {
                    out.insert(key, v);
                }
            }
            Ok(Some(Value::Object(out)))
        }
        // Changed on one side, removed on the other: keep the change (nothing is lost).
        (Some(v), None) | (None, Some(v)) => Ok(Some(v.clone())),
        (Some(va), Some(vb)) => resolve(path, va, vb).map(Some).ok_or_else(|| {
            format!(
                "{} was changed to different values on both sides ({} and {})",
                if path.is_empty() {
                    "the document".to_string()
                } else {
                    path.join(".")
                },
                shorten(va),
                shorten(vb)
            )
        }),
        (None, None) => Ok(None),
    }
}

fn shorten(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

fn parse_object(text: &str, side: &str) -> Result<Option<Map<String, Value>>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(Some(m)),
        Ok(_) => Err(format!("{side} is not a JSON object")),
        Err(e) => Err(format!(
            "{side} does not parse as JSON (line {}, column {}: {e})",
            e.line(),
            e.column()
        )),
    }
}

fn parse_three(
    base: &str,
    ours: &str,
    theirs: &str,
) -> Result<[Option<Map<String, Value>>; 3], String> {
    Ok([
        parse_object(base, "the base")?,
        parse_object(ours, "our side")?,
        parse_object(theirs, "their side")?,
    ])
}

/// Pretty JSON with a final newline, as the core writes it.
fn render(v: &Value) -> String {
    String::from_utf8_lossy(&sessions_core::store::storage::json_bytes(v)).into_owned()
}

fn timestamp_of(v: &Value) -> Option<Timestamp> {
    match v {
        Value::String(s) if !s.trim().is_empty() => time::parse_str(s),
        _ => None,
    }
}

/// The newer of two timestamps; `None` when either is no timestamp.
fn newer(a: &Value, b: &Value) -> Option<Value> {
    let (ta, tb) = (timestamp_of(a)?, timestamp_of(b)?);
    Some(match ta.cmp(&tb) {
        Ordering::Greater => a.clone(),
        Ordering::Less => b.clone(),
        Ordering::Equal => max_by_text(a, b),
    })
}

/// A deterministic pick between two values: the greater serialization.
fn max_by_text(a: &Value, b: &Value) -> Value {
    let (sa, sb) = (a.to_string(), b.to_string());
    if sa >= sb { a.clone() } else { b.clone() }
}

fn merge_objects(
    o: Option<Map<String, Value>>,
    a: Option<Map<String, Value>>,
    b: Option<Map<String, Value>>,
    resolve: &Resolve,
) -> Result<Result<Value, String>, String> {
    let (o, a, b) = (
        o.map(Value::Object),
        a.map(Value::Object),
        b.map(Value::Object),
    );
    Ok(
        merge_json(&mut Vec::new(), o.as_ref(), a.as_ref(), b.as_ref(), resolve)
            .map(|v| v.unwrap_or_else(|| json!({}))),
    )
}

fn finish_json(ours: &str, theirs: &str, merged: Result<Value, String>) -> Merge {
    Ok(match merged {
        Ok(v) => Outcome::Clean(render(&v)),
        Err(what) => Outcome::Clash(both_sides(ours, theirs, "json"), what),
    })
}

// ---------------------------------------------------------------------------------
// Registry, heartbeats

fn merge_registry(base: &str, ours: &str, theirs: &str) -> Merge {
    let [o, a, b] = parse_three(base, ours, theirs)?;
    let merged = merge_objects(o, a, b, &|_, x, y| newer(x, y))?;
    finish_json(ours, theirs, merged)
}

fn merge_heartbeat(ours: &str, theirs: &str) -> Merge {
    let (Some(a), Some(b)) = (
        parse_object(ours, "our side")?,
        parse_object(theirs, "their side")?,
    ) else {
        return Ok(Outcome::Clean(
            if ours.trim().is_empty() { theirs } else { ours }.to_string(),
        ));
    };
    let key = |m: &Map<String, Value>| {
        (
            ["last_heartbeat", "timestamp"]
                .iter()
                .find_map(|k| m.get(*k).and_then(timestamp_of)),
            m.get("heartbeat_count")
                .and_then(Value::as_u64)
                .unwrap_or(0),
        )
    };
    let pick = match key(&a).cmp(&key(&b)) {
        Ordering::Greater => ours,
        Ordering::Less => theirs,
        Ordering::Equal => ours.max(theirs),
    };
    Ok(Outcome::Clean(pick.to_string()))
}

// ---------------------------------------------------------------------------------
// Milestones

fn step_rank(status: Option<&str>) -> u8 {
    match status {
        Some("completed") => 3,
        Some("blocked") => 2,
        Some("in_progress") => 1,
        _ => 0,
    }
}

fn milestone_rank(status: Option<&str>) -> u8 {
    match status {
        Some("completed") => 3,
        Some("blocked") => 2,
        Some("in_progress") => 1,
        _ => 0,
    }
}

fn step_number(step: &Value, index: usize) -> u64 {
    step.get("step")
        .and_then(Value::as_u64)
        .unwrap_or(index as u64 + 1)
}

fn steps_by_number(doc: Option<&Map<String, Value>>) -> Result<BTreeMap<u64, Value>, String> {
    let mut out = BTreeMap::new();
    match doc.and_then(|d| d.get("steps")) {
        None => {}
        Some(Value::Array(steps)) => {
            for (i, step) in steps.iter().enumerate() {
                out.insert(step_number(step, i), step.clone());
            }
        }
        Some(_) => return Err("\"steps\" is not a list".into()),
    }
    Ok(out)
}

fn merge_steps(
    o: Option<&Map<String, Value>>,
    a: Option<&Map<String, Value>>,
    b: Option<&Map<String, Value>>,
) -> Result<Result<Vec<Value>, String>, String> {
    let (so, sa, sb) = (
        steps_by_number(o)?,
        steps_by_number(a)?,
        steps_by_number(b)?,
    );
    let numbers: std::collections::BTreeSet<u64> = sa.keys().chain(sb.keys()).copied().collect();
    let mut out = Vec::new();
    for n in numbers {
        let (xo, xa, xb) = (so.get(&n), sa.get(&n), sb.get(&n));
        let rank =
            |s: Option<&Value>| step_rank(s.and_then(|s| s.get("status")).and_then(Value::as_str));
        let (ra, rb) = (rank(xa), rank(xb));
        // A clash inside a step: the side further along decides all of its fields.
        let resolve = move |path: &[String], x: &Value, y: &Value| -> Option<Value> {
            match ra.cmp(&rb) {
                Ordering::Greater => Some(x.clone()),
                Ordering::Less => Some(y.clone()),
                Ordering::Equal => {
                    if path.last().is_some_and(|k| k == "notes") {
                        Some(join_texts(x, y))
                    } else {
                        newer(x, y).or_else(|| Some(max_by_text(x, y)))
                    }
                }
            }
        };
        match merge_json(&mut vec![format!("steps[{n}]")], xo, xa, xb, &resolve) {
            Ok(Some(step)) => out.push(step),
            Ok(None) => {}
            Err(what) => return Ok(Err(what)),
        }
    }
    Ok(Ok(out))
}

/// Two texts both kept, in a deterministic order, without repeating one that holds the other.
fn join_texts(x: &Value, y: &Value) -> Value {
    let (sx, sy) = (
        x.as_str().unwrap_or_default(),
        y.as_str().unwrap_or_default(),
    );
    if sx.contains(sy) {
        return x.clone();
    }
    if sy.contains(sx) {
        return y.clone();
    }
    let (first, second) = if sx <= sy { (sx, sy) } else { (sy, sx) };
    json!(format!("{first}\n{second}"))
}

/// Union of two lists: ours in order, then theirs not in ours.
fn union_list(o: Option<&Value>, a: Option<&Value>, b: Option<&Value>) -> Option<Value> {
    let list = |v: Option<&Value>| v.and_then(Value::as_array).cloned().unwrap_or_default();
    let (lo, la, lb) = (list(o), list(a), list(b));
    if a.is_none() && b.is_none() {
        return None;
    }
    // An entry removed by one side and not re-added by the other stays removed.
    let removed = |e: &Value| lo.contains(e) && (!la.contains(e) || !lb.contains(e));
    let mut out: Vec<Value> = Vec::new();
    for e in la.iter().chain(lb.iter()) {
        if !removed(e) && !out.contains(e) {
            out.push(e.clone());
        }
    }
    Some(Value::Array(out))
}

fn merge_milestone(base: &str, ours: &str, theirs: &str) -> Merge {
    let [o, mut a, mut b] = parse_three(base, ours, theirs)?;
    let steps = match merge_steps(o.as_ref(), a.as_ref(), b.as_ref())? {
        Ok(s) => s,
        Err(what) => return Ok(Outcome::Clash(both_sides(ours, theirs, "milestone"), what)),
    };
    let blockers = union_list(
        o.as_ref().and_then(|d| d.get("blockers")),
        a.as_ref().and_then(|d| d.get("blockers")),
        b.as_ref().and_then(|d| d.get("blockers")),
    );
    // Two grants made on different clones before a sync: the lock driver keeps the
    // earlier claim (`claim_order`), so the milestone's grant fields follow the same
    // rule. Keeping the larger token instead would hand the fence to the loser (its
    // clone tag may be larger) and refuse the winner's own writes.
    let grant = |d: &Option<Map<String, Value>>| {
        d.as_ref().map(|d| {
            (
                d.get("claimed_at").and_then(timestamp_of),
                d.get("owner")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                d.get("fence_token").and_then(Value::as_u64).unwrap_or(0),
            )
        })
    };
    let ours_holds = match (grant(&a), grant(&b)) {
        (Some(ga), Some(gb)) => ga <= gb,
        (ga, _) => ga.is_some(),
    };
    // A grant is one unit: when both sides made a new one, the holder's owner, token and
    // time all win (a field one side left as in the base must not mix in).
    let (ga, gb, go) = (grant(&a), grant(&b), grant(&o));
    if ga != go && gb != go && ga != gb {
        let (from, to) = if ours_holds {
            (a.clone(), &mut b)
        } else {
            (b.clone(), &mut a)
        };
        if let (Some(from), Some(to)) = (from, to.as_mut()) {
            for key in ["owner", "fence_token", "claimed_at"] {
                match from.get(key) {
                    Some(v) => to.insert(key.into(), v.clone()),
                    None => to.remove(key),
                };
            }
        }
    }
    // The merged steps and blockers are decided: both sides agree on them now.
    for side in [&mut a, &mut b].into_iter().flatten() {
        if side.contains_key("steps") {
            side.insert("steps".into(), Value::Array(steps.clone()));
        }
        if let Some(bl) = &blockers
            && side.contains_key("blockers")
        {
            side.insert("blockers".into(), bl.clone());
        }
    }
    let resolve = move |path: &[String], x: &Value, y: &Value| -> Option<Value> {
        let key = path.last().map(String::as_str).unwrap_or_default();
        match key {
            "status" => Some(
                match milestone_rank(x.as_str()).cmp(&milestone_rank(y.as_str())) {
                    Ordering::Greater => x.clone(),
                    Ordering::Less => y.clone(),
                    Ordering::Equal => max_by_text(x, y),
                },
            ),
            "handoff_notes" => Some(join_texts(x, y)),
            "progress" => Some(if x.as_u64() >= y.as_u64() {
                x.clone()
            } else {
                y.clone()
            }),
            "fence_token" | "claimed_at" | "owner" | "completed_by" | "claimed_by"
            | "handoff_by" | "handoff_to" => {
                // Who owns it, and with which token, is decided by the grant that
                // holds the lock after the merge.
                Some(if ours_holds { x.clone() } else { y.clone() })
            }
            _ => newer(x, y),
        }
    };
    let merged = match merge_objects(o, a, b, &resolve)? {
        Ok(Value::Object(mut doc)) => {
            recompute_milestone(&mut doc);
            Ok(Value::Object(doc))
        }
        other => other,
    };
    finish_json(ours, theirs, merged)
}

fn recompute_milestone(doc: &mut Map<String, Value>) {
    let Some(steps) = doc.get("steps").and_then(Value::as_array) else {
        return;
    };
    let total = steps.len();
    let done = steps
        .iter()
        .filter(|s| s.get("status").and_then(Value::as_str) == Some("completed"))
        .count();
    if doc.contains_key("progress") || total > 0 {
        doc.insert(
            "progress".into(),
            json!((done * 100).checked_div(total).unwrap_or(0)),
        );
    }
    let status = doc
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("pending")
        .to_string();
    if total > 0 && done == total {
        doc.insert("status".into(), json!("completed"));
    } else if status == "completed" {
        doc.insert("status".into(), json!("in_progress"));
        doc.remove("completed_at");
        doc.remove("completed_by");
    }
}

// ---------------------------------------------------------------------------------
// Collaborations

fn collab_rank(status: Option<&str>) -> u8 {
    match status {
        Some("completed") | Some("declined") => 3,
        Some("in_progress") => 2,
        Some("accepted") => 1,
        _ => 0,
    }
}

fn merge_collab(base: &str, ours: &str, theirs: &str) -> Merge {
    let [o, mut a, mut b] = parse_three(base, ours, theirs)?;
    let history =
        |d: &Option<Map<String, Value>>| d.as_ref().and_then(|d| d.get("history")).cloned();
    let merged_history = union_list(
        history(&o).as_ref(),
        history(&a).as_ref(),
        history(&b).as_ref(),
    )
    .map(|mut h| {
        if let Value::Array(list) = &mut h {
            // Entries in time order; same time: a fixed order, so every clone agrees.
            list.sort_by(|x, y| {
                let t = |v: &Value| v.get("at").and_then(timestamp_of);
                t(x).cmp(&t(y))
                    .then_with(|| x.to_string().cmp(&y.to_string()))
            });
        }
        h
    });
    let rank = |d: &Option<Map<String, Value>>| {
        collab_rank(
            d.as_ref()
                .and_then(|d| d.get("status"))
                .and_then(Value::as_str),
        )
    };
    let (ra, rb) = (rank(&a), rank(&b));
    if let Some(h) = &merged_history {
        for side in [&mut a, &mut b].into_iter().flatten() {
            side.insert("history".into(), h.clone());
        }
    }
    // The side further along the lifecycle decides every field that clashes.
    let resolve = move |_: &[String], x: &Value, y: &Value| -> Option<Value> {
        Some(match ra.cmp(&rb) {
            Ordering::Greater => x.clone(),
            Ordering::Less => y.clone(),
            Ordering::Equal => newer(x, y).unwrap_or_else(|| max_by_text(x, y)),
        })
    };
    let merged = merge_objects(o, a, b, &resolve)?;
    finish_json(ours, theirs, merged)
}

// ---------------------------------------------------------------------------------
// Locks (claims across clones)

/// The order that decides a clash between two claims of one key: the earlier claim,
/// then the smaller holder ID, then the smaller token. A total order, so the winner is
/// the same whatever the merge order.
fn claim_order(m: &Map<String, Value>) -> (Option<Timestamp>, String, u64) {
    (
        ["claimed_at", "timestamp", "time"]
            .iter()
            .find_map(|k| m.get(*k).and_then(timestamp_of)),
        ["session_id", "holder", "claimed_by", "owner", "session"]
            .iter()
            .find_map(|k| m.get(*k).and_then(Value::as_str))
            .unwrap_or_default()
            .to_string(),
        m.get("token").and_then(Value::as_u64).unwrap_or(0),
    )
}

fn merge_lock(base: &str, ours: &str, theirs: &str) -> Merge {
    let [_, a, b] = parse_three(base, ours, theirs)?;
    if base == ours {
        return Ok(Outcome::Clean(theirs.to_string()));
    }
    if base == theirs {
        return Ok(Outcome::Clean(ours.to_string()));
    }
    Ok(Outcome::Clean(match (a, b) {
        (Some(a), Some(b)) => match claim_order(&a).cmp(&claim_order(&b)) {
            Ordering::Less => ours.to_string(),
            Ordering::Greater => theirs.to_string(),
            Ordering::Equal => ours.min(theirs).to_string(),
        },
        (Some(_), None) => ours.to_string(),
        (None, _) => theirs.to_string(),
    }))
}

/// Which of two lock files of one key holds it after a merge (for `git sync`'s
/// modify/delete cases and for tests).
pub fn lock_winner<'a>(x: &'a str, y: &'a str) -> &'a str {
    match (parse_object(x, "x"), parse_object(y, "y")) {
        (Ok(Some(a)), Ok(Some(b))) => match claim_order(&a).cmp(&claim_order(&b)) {
            Ordering::Less => x,
            Ordering::Greater => y,
            Ordering::Equal => x.min(y),
        },
        _ => x.max(y),
    }
}

// ---------------------------------------------------------------------------------
// CURRENT_STATE.md

/// The file cut into a preamble and its `## ` sections, each keyed by its normalized
/// title (with a count for repeats).
fn state_parts(text: &str) -> (String, Vec<(String, String)>) {
    let sections = current_state::sections(text);
    let first = sections.first().map_or(text.len(), |s| s.start);
    let mut out = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, s) in sections.iter().enumerate() {
        let end = sections.get(i + 1).map_or(text.len(), |n| n.start);
        let name = current_state::normalize(&s.title);
        let n = seen.entry(name.clone()).or_default();
        *n += 1;
        out.push((format!("{name}#{n}"), text[s.start..end].to_string()));
    }
    (text[..first].to_string(), out)
}

fn last_updated(preamble: &str) -> Option<Timestamp> {
    preamble.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("**Last Updated:**")?;
        time::parse_str(rest.trim())
    })
}

fn merge_current_state(base: &str, ours: &str, theirs: &str) -> Merge {
    refuse_markers(&[ours, theirs])?;
    let (po, so) = state_parts(base);
    let (pa, sa) = state_parts(ours);
    let (pb, sb) = state_parts(theirs);
    let mut clashes = Vec::new();
    // The preamble holds "Last Updated" and "Updated By": the newer one wins.
    let preamble = if pa == pb || pb == po {
        pa.clone()
    } else if pa == po {
        pb.clone()
    } else {
        match last_updated(&pa).cmp(&last_updated(&pb)) {
            Ordering::Greater => pa.clone(),
            Ordering::Less => pb.clone(),
            Ordering::Equal => pa.clone().max(pb.clone()),
        }
    };
    let get = |list: &[(String, String)], key: &str| {
        list.iter().find(|(k, _)| k == key).map(|(_, t)| t.clone())
    };
    let mut keys: Vec<String> = sa.iter().map(|(k, _)| k.clone()).collect();
    for (k, _) in &sb {
        if !keys.contains(k) {
            keys.push(k.clone());
        }
    }
    let mut out = preamble;
    for key in keys {
        let (xo, xa, xb) = (get(&so, &key), get(&sa, &key), get(&sb, &key));
        let merged = if xa == xb || xb == xo {
            xa
        } else if xa == xo {
            xb
        } else {
            match (&xa, &xb) {
                (Some(ta), Some(tb)) => {
                    if key.starts_with(&current_state::normalize(current_state::COMPLETED_SECTION))
                    {
                        Some(merge_completed(xo.as_deref().unwrap_or_default(), ta, tb))
                    } else {
                        clashes.push(key.split('#').next().unwrap_or_default().to_string());
                        Some(both_sides(ta, tb, "CURRENT_STATE.md section"))
                    }
                }
                (Some(t), None) | (None, Some(t)) => Some(t.clone()),
                (None, None) => None,
            }
        };
        if let Some(text) = merged {
            push_segment(&mut out, &text);
        }
    }
    Ok(if clashes.is_empty() {
        Outcome::Clean(out)
    } else {
        Outcome::Clash(
            out,
            format!("section(s) {} changed on both sides", clashes.join(", ")),
        )
    })
}

/// A "Recently completed" section as heading+lead text, items, and the tail after them.
fn completed_parts(section: &str) -> (String, Vec<String>, String) {
    let is_item = |l: &str| {
        let digits = l.chars().take_while(char::is_ascii_digit).count();
        digits > 0 && l[digits..].starts_with(". ")
    };
    let mut head = String::new();
    let mut items: Vec<String> = Vec::new();
    let mut tail = String::new();
    for line in section.split_inclusive('\n') {
        if is_item(line) {
            items.push(line.to_string());
            continue;
        }
        match items.last_mut() {
            None => head.push_str(line),
            Some(item)
                if tail.is_empty() && (line.trim().is_empty() || line.starts_with([' ', '\t'])) =>
            {
                item.push_str(line)
            }
            Some(_) => tail.push_str(line),
        }
    }
    // Blank lines at the end of the last item belong between it and the tail.
    if let Some(last) = items.last_mut() {
        let trimmed = last.trim_end().len();
        let trailing = last[trimmed..].to_string();
        last.truncate(trimmed);
        last.push('\n');
        tail = format!("{}{tail}", trailing.strip_prefix('\n').unwrap_or(&trailing));
    }
    (head, items, tail)
}

fn merge_completed(base: &str, ours: &str, theirs: &str) -> String {
    let (ho, io, to) = completed_parts(base);
    let (ha, ia, ta) = completed_parts(ours);
    let (hb, ib, tb) = completed_parts(theirs);
    let key = |s: &str| s.trim().to_string();
    let keys = |v: &[String]| v.iter().map(|s| key(s)).collect::<HashSet<_>>();
    let (ko, ka, kb) = (keys(&io), keys(&ia), keys(&ib));
    // New items (either side), newest first by the date they carry, then the items both
    // sides kept, in our order.
    let mut fresh: Vec<String> = Vec::new();
    for item in ia.iter().chain(ib.iter()) {
        if !ko.contains(&key(item)) && !fresh.iter().any(|f| key(f) == key(item)) {
            fresh.push(item.clone());
        }
    }
    let date = |s: &str| {
        let open = s.rfind('(')?;
        let inner = &s[open + 1..];
        let upto = inner.find(" - ").or_else(|| inner.find(')'))?;
        time::parse_str(inner[..upto].trim())
    };
    fresh.sort_by(|x, y| date(y).cmp(&date(x)).then_with(|| key(x).cmp(&key(y))));
    let kept = ia
        .iter()
        .filter(|i| ko.contains(&key(i)) && kb.contains(&key(i)));
    let pick = |o: &String, a: &String, b: &String| if a == o { b.clone() } else { a.clone() };
    let mut out = pick(&ho, &ha, &hb);
    let items: Vec<String> = fresh.into_iter().chain(kept.cloned()).collect();
    let _ = ka;
    for (i, item) in items.iter().enumerate() {
        out.push_str(item);
        if i + 1 < items.len() && !item.ends_with("\n\n") {
            out.push('\n');
        }
    }
    let tail = pick(&to, &ta, &tb);
    if !items.is_empty() && !tail.is_empty() && !tail.starts_with('\n') {
        out.push('\n');
    }
    out.push_str(&tail);
    out
}

// ---------------------------------------------------------------------------------
// Status documents

fn merge_status(base: &str, ours: &str, theirs: &str) -> Merge {
    use sessions_core::status::report::{StatusDoc, normalize};
    refuse_markers(&[ours, theirs])?;
    let (dx, dy) = (StatusDoc::parse(ours), StatusDoc::parse(theirs));
    // The side with the newer header is the base of the result; the other side's item
    // and task lines it changed (and the newer side did not) are carried over.
    let ours_newer = match dx.updated().cmp(&dy.updated()) {
        Ordering::Greater => true,
        Ordering::Less => false,
        Ordering::Equal => ours >= theirs,
    };
    let (newer_text, older_text) = if ours_newer {
        (ours, theirs)
    } else {
        (theirs, ours)
    };
    let (dn, dold, dbase) = (
        StatusDoc::parse(newer_text),
        StatusDoc::parse(older_text),
        StatusDoc::parse(base),
    );
    type Lines = HashMap<String, (std::ops::Range<usize>, String)>;
    let items = |doc: &StatusDoc, text: &str| -> Lines {
        let mut m = HashMap::new();
        for it in &doc.items {
            m.insert(
                format!("item|{}|{}", normalize(&it.section), normalize(&it.label)),
                (it.span.clone(), text[it.span.clone()].to_string()),
            );
        }
        for a in &doc.actions {
            m.insert(
                format!("task|{}", normalize(&a.text)),
                (a.span.clone(), text[a.span.clone()].to_string()),
            );
        }
        m
    };
    let (ln, lold, lbase) = (
        items(&dn, newer_text),
        items(&dold, older_text),
        items(&dbase, base),
    );
    // Edits on the newer text, applied from the end.
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut appended: Vec<(String, String)> = Vec::new();
    let line_of = |m: &Lines, k: &str| m.get(k).map(|(_, l)| l.clone());
    for (key, (_, old_line)) in &lold {
        let from_base = line_of(&lbase, key);
        if from_base.as_deref() == Some(old_line.as_str()) {
            continue; // the older side did not change it
        }
        let in_newer = line_of(&ln, key);
        if in_newer != from_base {
            continue; // both changed it: the newer header wins
        }
        match ln.get(key) {
            Some((span, _)) => edits.push((span.start, span.end, old_line.clone())),
            None => {
                let section = key.split('|').nth(1).unwrap_or_default().to_string();
                appended.push((section, old_line.clone()));
            }
        }
    }
    // A new line goes at the end of its section in the newer text (else the file's end).
    for (section, line) in appended {
        let at = dn
            .sections
            .iter()
            .find(|s| normalize(&s.name) == section)
            .map(|s| s.content_end)
            .or_else(|| {
                dn.items
                    .iter()
                    .find(|i| normalize(&i.section) == section)
                    .map(|i| i.span.end)
            });
        match at {
            Some(at) if newer_text[..at].ends_with('\n') => {
                edits.push((at, at, format!("{line}\n")))
            }
            Some(at) => edits.push((at, at, format!("\n{line}"))),
            None => edits.push((
                newer_text.len(),
                newer_text.len(),
                format!(
                    "{}{line}\n",
                    if newer_text.ends_with('\n') { "" } else { "\n" }
                ),
            )),
        }
    }
    edits.sort_by(|x, y| y.0.cmp(&x.0).then_with(|| y.2.cmp(&x.2)));
    let mut out = newer_text.to_string();
    for (start, end, text) in edits {
        out.replace_range(start..end, &text);
    }
    Ok(Outcome::Clean(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(id: &str, time: &str, body: &str) -> String {
        messages::render_block(
            id,
            time,
            &messages::Post {
                from: "s1".into(),
                body: body.into(),
                ..Default::default()
            },
        )
    }

    #[test]
    fn board_union_keeps_every_message_once_in_time_order() {
        let base = format!("# Board\n{}", block("m-1", "2025-01-01T00:00:00Z", "one"));
        let ours = format!(
            "{base}{}",
            block("m-3", "2025-01-01T00:00:03Z", "three\n---\nx")
        );
        let theirs = format!("{base}{}", block("m-2", "2025-01-01T00:00:02Z", "two"));
        let merged = merge(Kind::Board, &base, &ours, &theirs, "MESSAGES.md");
        let text = merged.text().to_string();
        assert!(merged.is_clean());
        let ids: Vec<_> = messages::messages(messages::parse(&text))
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, ["m-1", "m-2", "m-3"]);
        // The same whichever side is ours.
        assert_eq!(
            merge(Kind::Board, &base, &theirs, &ours, "MESSAGES.md").text(),
            text
        );
    }

    #[test]
    fn lock_winner_is_the_same_in_both_orders() {
        let a = r#"{"session_id":"s2","claimed_at":"2025-01-01T00:00:01Z","token":7}"#;
        let b = r#"{"session_id":"s1","claimed_at":"2025-01-01T00:00:02Z","token":3}"#;
        assert_eq!(merge(Kind::Lock, "", a, b, "k").text(), a);
        assert_eq!(merge(Kind::Lock, "", b, a, "k").text(), a);
    }

    #[test]
    fn garbage_keeps_both_sides() {
        let m = merge(
            Kind::Registry,
            "{}",
            "{not json",
            "{\"a\":1}",
            "REGISTRY.json",
        );
        assert!(!m.is_clean());
        assert!(m.text().contains("{not json") && m.text().contains("{\"a\":1}"));
    }
}
