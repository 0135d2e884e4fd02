//! Collaboration requests: `ACTIVE/COLLABORATIONS/<request-id>.json` in the original
//! scripts' format (`request_id`, `from_session`, `to_session`, `request`, `urgency`,
//! `status`, `created_at`, `updated_at`), plus `message_id` (the board message that
//! announced it) and `history` (every change, stamped). Unknown fields are kept.
//!
//! Life of a request:
//!
//! ```text
//! pending --accept--> accepted --start--> in_progress --complete--> completed
//!    |                   |  \------------complete---------------------^
//!    +--decline--> declined
//! pending/accepted/in_progress --handoff <session>--> pending (for the new target)
//! ```
//!
//! Only the target accepts, declines, starts or hands off; the target or the requester
//! completes. Nothing leaves `completed` or `declined`. Each change is noted on the
//! board as a reply to the request's message.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::board::messages::Post;
use crate::store::error::{Error, Result};
use crate::store::hub::{Hub, layout};
use crate::store::record::{self, Record};
use crate::store::scan::{self, Scan};
use crate::store::time::{self, Timestamp};
use crate::work::pending::{self, Guard, Intent, Step};
use crate::{store::ids, store::storage};

pub const URGENCIES: [&str; 3] = ["normal", "high", "urgent"];

/// A move from one status to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Accept,
    Decline,
    Start,
    Complete,
    /// Hand the request to another session; it becomes pending for them.
    Handoff(String),
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Decline => "decline",
            Action::Start => "start",
            Action::Complete => "complete",
            Action::Handoff(_) => "handoff",
        }
    }

    fn target_status(&self) -> &'static str {
        match self {
            Action::Accept => "accepted",
            Action::Decline => "declined",
            Action::Start => "in_progress",
            Action::Complete => "completed",
            Action::Handoff(_) => "pending",
        }
    }
}

/// The moves allowed from `status`.
pub fn allowed_moves(status: &str) -> &'static [&'static str] {
    match status {
        "pending" => &["accept", "decline", "handoff"],
        "accepted" => &["start", "complete", "handoff"],
        "in_progress" => &["complete", "handoff"],
        _ => &[],
    }
}

/// A request, read tolerantly from its file.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Request {
    pub request_id: String,
    pub from_session: String,
    pub to_session: String,
    pub request: String,
    pub urgency: String,
    pub status: String,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub message_id: Option<String>,
    pub history: Vec<Value>,
    /// File name relative to the hub.
    pub file: String,
    #[serde(skip)]
    pub record: Record,
}

impl Request {
    pub fn from_record(id_from_file: &str, record: Record) -> Request {
        let text = |keys: &[&str]| record::text(&record, keys).map(str::to_string);
        let stamp = |keys: &[&str]| record::timestamp(&record, keys).map(time::format);
        Request {
            request_id: text(&["request_id", "id"]).unwrap_or_else(|| id_from_file.to_string()),
            from_session: text(&["from_session", "from", "requester"])
                .unwrap_or_else(|| "unknown".into()),
            to_session: text(&["to_session", "to", "target"]).unwrap_or_else(|| "unknown".into()),
            request: text(&["request", "description", "message"]).unwrap_or_default(),
            urgency: text(&["urgency", "priority"]).unwrap_or_else(|| "normal".into()),
            status: text(&["status"])
                .map(|s| s.to_ascii_lowercase().replace([' ', '-'], "_"))
                .unwrap_or_else(|| "pending".into()),
            created_at: stamp(&["created_at", "timestamp"]),
            updated_at: stamp(&["updated_at"]),
            message_id: text(&["message_id"]),
            history: record
                .get("history")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            file: format!("{}/{id_from_file}.json", layout::COLLABORATIONS),
            record,
        }
    }

    fn created(&self) -> Option<Timestamp> {
        self.created_at.as_deref().and_then(time::parse_str)
    }

    /// When the target first answered (accept, decline, start or complete). Files of
    /// the original scripts have no history: their `updated_at` counts once the status
    /// has left `pending`.
    pub fn first_response(&self) -> Option<Timestamp> {
        let from_history = self
            .history
            .iter()
            .filter(|h| {
                matches!(
                    h.get("action").and_then(Value::as_str),
                    Some("accept" | "decline" | "start" | "complete")
                )
            })
            .filter_map(|h| h.get("at").and_then(time::parse_value))
            .min();
        if from_history.is_some() || !self.history.is_empty() {
            return from_history;
        }
        if self.status != "pending" {
            return self.updated_at.as_deref().and_then(time::parse_str);
        }
        None
    }
}

fn rel(id: &str) -> Result<String> {
    ids::validate("request ID", id)?;
    Ok(format!("{}/{id}.json", layout::COLLABORATIONS))
}

/// Create a request: the file (created exclusively, so two requests never share an ID
/// even within one second) and a board message to the target.
pub fn request(hub: &Hub, from: &str, to: &str, text: &str, urgency: &str) -> Result<Request> {
    ids::validate("session ID", from)?;
    ids::validate("target session ID", to)?;
    if !URGENCIES.contains(&urgency) {
        return Err(Error::Usage(format!(
            "invalid urgency {urgency:?}: use one of {}",
            URGENCIES.join(", ")
        )));
    }
    if text.trim().is_empty() {
        return Err(Error::Usage("the request text is empty".into()));
    }
    if crate::board::messages::is_broadcast_name(to) {
        return Err(Error::Usage(format!(
            "a collaboration request goes to one session, not {to:?}; ask everyone with \
             `sessions msg send --all`, or find who can help with `sessions find-help`"
        )));
    }
    if from.eq_ignore_ascii_case(to) {
        return Err(Error::Usage(format!(
            "{from} cannot ask itself for help; name another session (see `sessions find-help`)"
        )));
    }
    hub.check_secrets("the collaboration request", text)?;
    let dir = hub.dir(layout::COLLABORATIONS)?;
    storage::ensure_dir(&dir)?;
    let now = time::format(time::now());
    let mut attempt = 0;
    let (id, record, intent) = loop {
        let id = ids::unique("collab");
        // The request and the message that tells its target: the intent first (its
        // guard is the request's first history entry), so a crash after the file is
        // made still gets the target told, once.
        let notice = Step::post(Post {
            from: from.into(),
            to: vec![to.into()],
            subject: Some(format!("🤝 Collaboration request {id}")),
            priority: Some(urgency.into()),
            reply_to: None,
            body: format!(
                "{}\n\nRequest ID: {id} (urgency: {urgency})\nAnswer with: sessions collab accept {id}   (or decline, start, complete, handoff)",
                text.trim_end()
            ),
        });
        let message_id = notice.message_id().unwrap_or_default().to_string();
        let intent = Intent::new(
            "collab-request",
            &id,
            from,
            Guard::CollabLogged { id: id.clone() },
            vec![notice],
        );
        let record: Record = match json!({
            "request_id": id,
            "from_session": from,
            "to_session": to,
            "request": text,
            "urgency": urgency,
            "status": "pending",
            "created_at": now,
            "updated_at": now,
            "message_id": message_id,
            "history": [{ "action": "request", "status": "pending", "by": from, "at": now, "op": intent.op }],
        }) {
            Value::Object(m) => m,
            _ => unreachable!("a JSON object literal"),
        };
        pending::begin(hub, &intent)?;
        let made = storage::create_exclusive(
            &dir.join(format!("{id}.json")),
            &storage::json_bytes(&record),
        );
        match made {
            Ok(true) => break (id, record, intent),
            Ok(false) => pending::abandon(hub, &intent),
            Err(e) => {
                pending::abandon(hub, &intent);
                return Err(e);
            }
        }
        attempt += 1;
        if attempt > 100 {
            return Err(Error::Failed(format!(
                "could not find a free request ID in {}",
                dir.display()
            )));
        }
    };
    if let Some(problem) = pending::finish(hub, &intent).into_iter().next() {
        // Nobody was told about the request (e.g. the board's lock timed out): take the
        // file back rather than leave a request its target never hears of.
        let _ = storage::remove(&dir.join(format!("{id}.json")));
        pending::abandon(hub, &intent);
        return Err(Error::Failed(problem));
    }
    Ok(Request::from_record(&id, record))
}

/// Apply `action` to request `id` as session `by`. Refused (nothing written) when the
/// move is not allowed from the current status or `by` may not make it.
pub fn transition(
    hub: &Hub,
    id: &str,
    by: &str,
    action: &Action,
    note: Option<&str>,
) -> Result<Request> {
    ids::validate("session ID", by)?;
    let id = &resolve_id(hub, id)?;
    let rel = rel(id)?;
    if let Action::Handoff(to) = action {
        ids::validate("handoff target session ID", to)?;
    }
    if let Some(note) = note {
        hub.check_secrets("the note", note)?;
    }
    if !hub.file(&rel)?.is_file() {
        return Err(not_found(id));
    }
    // A move a crash interrupted is finished first (its notice posted); re-running that
    // same move is then an answer, not a refusal.
    let finished = pending::finish_all(hub);
    let kind = format!("collab-{}", action.name());
    if finished.iter().any(|f| f.is(&kind, id, by)) {
        let req = get(hub, id)?;
        if req.status == action.target_status() {
            return Ok(req);
        }
    }
    let mut intent: Option<Intent> = None;
    let moved = hub.update_json(&rel, |current| {
        let Some(mut rec) = current else {
            return Err(not_found(id));
        };
        let req = Request::from_record(id, rec.clone());
        check(&req, by, action)?;
        let now = time::format(time::now());
        let status = action.target_status();
        // The board note quotes the request: check it before anything is written, so
        // a refusal really changes nothing.
        let what = match action {
            Action::Handoff(new) => format!("handed {id} from {} to {new}", req.to_session),
            other => format!("{} {id}", past_tense(other)),
        };
        let mut body = format!("{by} {what}: {} → {status}.", req.status);
        body.push_str(&format!("\nRequest: {}", req.request));
        if let Some(note) = note {
            body.push_str(&format!("\nNote: {note}"));
        }
        hub.check_secrets("the board note (it quotes the request)", &body)?;
        record::set_text(&mut rec, "status", status);
        record::set_text(&mut rec, "updated_at", now.clone());
        let mut entry = Map::new();
        entry.insert("action".into(), json!(action.name()));
        entry.insert("status".into(), json!(status));
        entry.insert("by".into(), json!(by));
        entry.insert("at".into(), json!(now));
        if let Action::Handoff(to) = action {
            entry.insert("from_session".into(), json!(req.to_session));
            entry.insert("to_session".into(), json!(to));
            record::set_text(&mut rec, "to_session", to.clone());
        }
        if let Some(note) = note {
            entry.insert("note".into(), json!(note));
        }
        // The notice to the others is made durable before the move is written: a
        // crash between them cannot leave the requester untold.
        let new = Intent::new(
            &kind,
            id,
            by,
            Guard::CollabLogged { id: id.to_string() },
            vec![Step::post(notice(
                id,
                &req,
                by,
                action,
                status,
                body.clone(),
            ))],
        );
        entry.insert("op".into(), json!(new.op));
        pending::begin(hub, &new)?;
        intent = Some(new);
        match rec.get_mut("history").and_then(Value::as_array_mut) {
            Some(list) => list.push(Value::Object(entry)),
            None => {
                rec.insert("history".into(), json!([Value::Object(entry)]));
            }
        }
        // What this command made, not what a later one may have made by the time the
        // file is read again.
        let after = Request::from_record(id, rec.clone());
        Ok((rec, after))
    });
    let after = match moved {
        Ok(after) => after,
        Err(e) => {
            if let Some(intent) = &intent {
                pending::abandon(hub, intent);
            }
            return Err(e);
        }
    };
    let intent = intent.expect("written with the move");
    if let Some(problem) = pending::finish(hub, &intent).into_iter().next() {
        return Err(Error::Failed(format!(
            "{id} is now {}, but: {problem}",
            after.status
        )));
    }
    Ok(after)
}

/// The board notice of a move: to the requester and the target(s), as a reply to the
/// request's message.
fn notice(
    id: &str,
    before: &Request,
    by: &str,
    action: &Action,
    status: &str,
    body: String,
) -> Post {
    let mut to: Vec<String> = vec![before.from_session.clone(), before.to_session.clone()];
    if let Action::Handoff(new) = action {
        to.push(new.clone());
    }
    to.retain(|s| s != by && ids::validate("session ID", s).is_ok());
    to.sort();
    to.dedup();
    if to.is_empty() {
        // No one else has a usable ID (a hand-written requester name): address the
        // note to myself, since an empty list would make it a broadcast.
        to.push(by.to_string());
    }
    Post {
        from: by.into(),
        to,
        subject: Some(format!("🤝 {id}: {status}")),
        priority: Some(if URGENCIES.contains(&before.urgency.as_str()) {
            before.urgency.clone()
        } else {
            "normal".into()
        }),
        reply_to: before
            .message_id
            .clone()
            .filter(|m| ids::validate("message ID", m).is_ok()),
        body,
    }
}

fn past_tense(action: &Action) -> &'static str {
    match action {
        Action::Accept => "accepted",
        Action::Decline => "declined",
        Action::Start => "started",
        Action::Complete => "completed",
        Action::Handoff(_) => "handed off",
    }
}

fn not_found(id: &str) -> Error {
    Error::NotFound {
        what: "collaboration request",
        name: format!("{id} (see `sessions collab list`)"),
    }
}

/// Is `by` allowed to apply `action` to `req`?
fn check(req: &Request, by: &str, action: &Action) -> Result<()> {
    let allowed = allowed_moves(&req.status);
    if !allowed.contains(&action.name()) {
        let moves = if allowed.is_empty() {
            format!("none: {} is final", req.status)
        } else {
            allowed.join(", ")
        };
        return Err(Error::Refused(format!(
            "refused: cannot {} {}: its status is {}; allowed moves from {}: {moves}. Nothing was changed.",
            action.name(),
            req.request_id,
            req.status,
            req.status
        )));
    }
    let target = req.to_session.eq_ignore_ascii_case(by);
    let requester = req.from_session.eq_ignore_ascii_case(by);
    let ok = match action {
        Action::Complete => target || requester,
        _ => target,
    };
    if !ok {
        let who = match action {
            Action::Complete => format!(
                "only the target ({}) or the requester ({})",
                req.to_session, req.from_session
            ),
            _ => format!("only the target ({})", req.to_session),
        };
        return Err(Error::Refused(format!(
            "refused: {who} can {} {}; you are {by}. Nothing was changed.",
            action.name(),
            req.request_id
        )));
    }
    if let Action::Handoff(to) = action
        && to.eq_ignore_ascii_case(&req.to_session)
    {
        return Err(Error::Usage(format!(
            "{} is already the target of {}",
            to, req.request_id
        )));
    }
    Ok(())
}

/// The request a person means by `typed`: its whole ID, or a unique prefix or suffix
/// of it ([`ids::resolve`]).
pub fn resolve_id(hub: &Hub, typed: &str) -> Result<String> {
    ids::validate("request ID", typed)?;
    if hub.file(&rel(typed)?)?.is_file() {
        return Ok(typed.to_string());
    }
    let known: Vec<String> = hub
        .list(layout::COLLABORATIONS, ".json")?
        .iter()
        .map(|p| scan::stem(p))
        .collect();
    ids::resolve(
        "collaboration request",
        typed,
        known.iter().map(String::as_str),
        "sessions collab list",
    )
    .map(str::to_string)
}

/// One request by ID (or a unique part of it).
pub fn get(hub: &Hub, id: &str) -> Result<Request> {
    let id = &resolve_id(hub, id)?;
    let rel = rel(id)?;
    let path = hub.file(&rel)?;
    match storage::read_json_object(&path)? {
        Some(rec) => Ok(Request::from_record(id, rec)),
        None => Err(not_found(id)),
    }
}

/// Every request, oldest first. A file that does not parse is an error naming it.
pub fn list(hub: &Hub) -> Result<Vec<Request>> {
    scan(hub)?.strict()
}

/// Every request that parses, oldest first, and a problem for each file that does not
/// (an old script's request with an unescaped `"`, say).
pub fn scan(hub: &Hub) -> Result<Scan<Request>> {
    let mut found = scan::json_records(hub, layout::COLLABORATIONS, ".json")?
        .map(|(path, rec)| Request::from_record(&scan::stem(&path), rec));
    found.items.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then_with(|| a.request_id.cmp(&b.request_id))
    });
    Ok(found)
}

/// Response-time and completion statistics over a set of requests.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Stats {
    pub total: usize,
    pub by_status: BTreeMap<String, usize>,
    /// Requests that got a first response (accept, decline, start or complete).
    pub responded: usize,
    pub median_response_secs: Option<f64>,
    pub p90_response_secs: Option<f64>,
    /// Completed ÷ total.
    pub completion_rate: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SessionStats {
    /// Requests this session made.
    pub sent: usize,
    /// Requests addressed to this session (now), with its response times.
    pub received: Stats,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Metrics {
    pub overall: Stats,
    pub per_session: BTreeMap<String, SessionStats>,
}

pub fn metrics(requests: &[Request]) -> Metrics {
    let mut per_session: BTreeMap<String, Vec<&Request>> = BTreeMap::new();
    let mut sent: BTreeMap<String, usize> = BTreeMap::new();
    for r in requests {
        per_session.entry(r.to_session.clone()).or_default().push(r);
        *sent.entry(r.from_session.clone()).or_default() += 1;
    }
    let all: Vec<&Request> = requests.iter().collect();
    let mut out = BTreeMap::new();
    for (session, n) in &sent {
        out.entry(session.clone())
            .or_insert_with(SessionStats::default)
            .sent = *n;
    }
    for (session, reqs) in &per_session {
        out.entry(session.clone())
            .or_insert_with(SessionStats::default)
            .received = stats(reqs);
    }
    Metrics {
        overall: stats(&all),
        per_session: out,
    }
}

fn stats(reqs: &[&Request]) -> Stats {
    let mut by_status = BTreeMap::new();
    let mut times: Vec<f64> = Vec::new();
    for r in reqs {
        *by_status.entry(r.status.clone()).or_insert(0) += 1;
        if let (Some(created), Some(first)) = (r.created(), r.first_response()) {
            times.push(((first - created).num_milliseconds().max(0) as f64) / 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    let completed = by_status.get("completed").copied().unwrap_or(0);
    Stats {
        total: reqs.len(),
        by_status,
        responded: times.len(),
        median_response_secs: median(&times),
        p90_response_secs: percentile(&times, 0.9),
        completion_rate: (!reqs.is_empty()).then(|| completed as f64 / reqs.len() as f64),
    }
}

fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// Nearest-rank percentile.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(median(&v), Some(5.5));
        assert_eq!(percentile(&v, 0.9), Some(9.0));
        assert_eq!(percentile(&[3.0], 0.9), Some(3.0));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn final_states_allow_nothing() {
        assert!(allowed_moves("completed").is_empty());
        assert!(allowed_moves("declined").is_empty());
        assert_eq!(allowed_moves("pending"), &["accept", "decline", "handoff"]);
    }
}
