//! Codex: `<CODEX_HOME>/sessions/YYYY/MM/DD/rollout-<ts>-<uuid>.jsonl` and
//! `archived_sessions/`; the first record (`session_meta`) names the session; titles
//! set by the person live in `session_index.jsonl` (the newest entry wins).

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use super::Kind;
use crate::read::{self, Text, content_text, str_field};
use crate::walk::{self, Pick, Tree};
use crate::{ChatSession, Provider, clean_title, parse_time};

fn is_rollout(n: &str) -> bool {
    n.starts_with("rollout-") && n.ends_with(".jsonl")
}

/// `sessions/YYYY/MM/DD/rollout-*.jsonl` (a rollout at any of those depths is taken)
/// and `archived_sessions/rollout-*.jsonl`.
pub fn trees(home: &Path) -> Vec<Tree> {
    vec![
        walk::tree(
            Provider::Codex,
            &home.join("sessions"),
            |depth, name, is_dir| match is_dir {
                true if depth < 3 => Pick::Enter,
                false if is_rollout(name) => Pick::Take(Kind::CodexRollout),
                _ => Pick::Skip,
            },
        ),
        walk::tree(
            Provider::Codex,
            &home.join("archived_sessions"),
            |depth, name, is_dir| match depth == 0 && !is_dir && is_rollout(name) {
                true => Pick::Take(Kind::CodexArchived),
                false => Pick::Skip,
            },
        ),
    ]
}

/// The id at the end of `rollout-<ts>-<uuid>.jsonl`.
fn id_from_name(path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_str()?;
    let id = stem.get(stem.len().checked_sub(36)?..)?;
    id.chars()
        .all(|c| c.is_ascii_hexdigit() || c == '-')
        .then(|| id.to_string())
}

pub fn read(path: &Path, archived: bool) -> Result<ChatSession, String> {
    let ends = read::ends(path).map_err(|e| format!("cannot read: {e}"))?;
    // Injected context can push the first prompt past the head: then read it all.
    match read_ends(path, archived, &ends) {
        Ok(s) if ends.whole || s.title.is_some() => Ok(s),
        _ if !ends.whole => read_ends(
            path,
            archived,
            &read::whole(path).map_err(|e| format!("cannot read: {e}"))?,
        ),
        other => other,
    }
}

/// A whole (small) file has every record read and its messages counted; of a long one
/// the head is read until the first prompt (then only `turn_context` records, for the
/// model), and the tail for its `turn_context` records and its newest time.
fn read_ends(path: &Path, archived: bool, ends: &read::Ends) -> Result<ChatSession, String> {
    if ends.is_blank() {
        return Err("empty rollout".into());
    }
    let mut head = ends.head_lines();
    let first = head
        .by_ref()
        .find_map(read::value)
        .ok_or("not a Codex rollout: no line is a JSON record")?;
    // Current rollouts start with {"type":"session_meta","payload":{…}}; the first
    // versions wrote the meta fields at the top level of the first line.
    let meta = match str_field(&first, "type") {
        Some("session_meta") => first.get("payload").unwrap_or(&first),
        _ if first.get("id").is_some() => &first,
        _ => return Err("not a Codex rollout: the first record is not session_meta".into()),
    };
    let id = str_field(meta, "id")
        .map(str::to_string)
        .or_else(|| id_from_name(path))
        .ok_or("session_meta has no id")?;
    let mut s = ChatSession::new(Provider::Codex, id, path);
    s.size = ends.size;
    s.archived = archived;
    s.cwd = str_field(meta, "cwd").map(str::to_string);
    s.version = str_field(meta, "cli_version").map(str::to_string);
    s.branch = meta
        .pointer("/git/branch")
        .and_then(Value::as_str)
        .map(str::to_string);
    s.created = str_field(meta, "timestamp").and_then(parse_time);
    let mut acc = Rollout {
        s,
        prompt: None,
        messages: 0,
    };
    acc.visit(&first);
    let is_context = |l: &[u8]| read::has_any(l, read::tokens!(b"\"turn_context\""));
    for line in head {
        if (ends.whole || acc.prompt.is_none() || is_context(line))
            && let Some(r) = read::value(line)
        {
            acc.visit(&r);
        }
    }
    for line in ends.tail_lines().filter(|l| is_context(l)) {
        if let Some(r) = read::value(line) {
            acc.visit(&r);
        }
    }
    if let Some(t) = ends
        .tail_lines()
        .rev()
        .filter_map(read::record::<Stamped>)
        .find_map(|r| r.timestamp.get().and_then(parse_time))
    {
        acc.bump(t);
    }
    let mut s = acc.s;
    if ends.whole {
        s.messages = Some(acc.messages);
    }
    s.title = acc.prompt;
    Ok(s)
}

/// Only a record's time.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct Stamped<'a> {
    #[serde(borrow)]
    timestamp: Text<'a>,
}

/// What the records of a rollout add up to.
struct Rollout {
    s: ChatSession,
    prompt: Option<String>,
    messages: u64,
}

impl Rollout {
    fn bump(&mut self, t: chrono::DateTime<chrono::Utc>) {
        if self.s.created.is_none() {
            self.s.created = Some(t);
        }
        if self.s.updated.is_none_or(|u| t > u) {
            self.s.updated = Some(t);
        }
    }

    fn visit(&mut self, r: &Value) {
        if let Some(t) = str_field(r, "timestamp").and_then(parse_time) {
            self.bump(t);
        }
        // The first format wrote response items bare, without the envelope.
        let (kind, payload) = match r.get("payload") {
            Some(p) => (str_field(r, "type"), p),
            None if r.get("role").is_some() => (Some("response_item"), r),
            None => (str_field(r, "type"), &Value::Null),
        };
        let s = &mut self.s;
        match (kind, str_field(payload, "type")) {
            (Some("turn_context"), _) => {
                if let Some(m) = str_field(payload, "model") {
                    s.model = Some(m.to_string());
                }
                if s.cwd.is_none() {
                    s.cwd = str_field(payload, "cwd").map(str::to_string);
                }
            }
            (Some("event_msg"), Some("user_message")) if self.prompt.is_none() => {
                self.prompt = str_field(payload, "message").and_then(clean_title);
            }
            (Some("response_item"), Some("message")) => {
                self.messages += 1;
                if self.prompt.is_none() && str_field(payload, "role") == Some("user") {
                    self.prompt = payload
                        .get("content")
                        .and_then(content_text)
                        .filter(|t| !is_injected(t))
                        .and_then(|t| clean_title(&t));
                }
            }
            _ => {}
        }
    }
}

/// Context Codex adds as user messages before the person's first prompt.
fn is_injected(text: &str) -> bool {
    let t = text.trim_start();
    t.starts_with('<') || t.starts_with("# AGENTS.md")
}

/// `session_index.jsonl`: titles the person gave, the newest entry per id.
pub fn titles(home: &Path) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let Ok(text) = std::fs::read_to_string(home.join("session_index.jsonl")) else {
        return out;
    };
    let mut newest: HashMap<String, String> = HashMap::new();
    for r in read::json_lines(&text).0 {
        let (Some(id), Some(name)) = (str_field(&r, "id"), str_field(&r, "thread_name")) else {
            continue;
        };
        let at = str_field(&r, "updated_at").unwrap_or("").to_string();
        if newest.get(id).is_none_or(|prev| at >= *prev) {
            newest.insert(id.to_string(), at);
            if let Some(t) = clean_title(name) {
                out.insert(id.to_string(), t);
            }
        }
    }
    out
}
