//! Claude Code: `<config>/projects/<cwd with non-alphanumerics as '->/<uuid>.jsonl`.
//! Everything comes from the records (the folder name is lossy and never decoded).
//! `<uuid>/subagents/`, `tool-results/` and `agent-*.jsonl` side chains are not sessions.

use std::path::Path;

use serde_json::Value;

use super::{Kind, Source, entries, is_dir, name};
use crate::read::{self, content_text, str_field};
use crate::{ChatSession, Provider, clean_title, parse_time};

pub fn sources(home: &Path, out: &mut Vec<Source>) {
    for project in entries(&home.join("projects")) {
        if !is_dir(&project) {
            continue;
        }
        for file in entries(&project.path()) {
            let n = name(&file);
            if n.ends_with(".jsonl") && !n.starts_with("agent-") && !is_dir(&file) {
                out.push(Source {
                    provider: Provider::Claude,
                    kind: Kind::ClaudeJsonl,
                    path: file.path(),
                });
            }
        }
    }
}

#[derive(Default)]
struct Titles {
    custom: Option<String>,
    agent: Option<String>,
    summary: Option<String>,
    prompt: Option<String>,
}

pub fn read(path: &Path) -> Result<ChatSession, String> {
    let ends = read::ends(path).map_err(|e| format!("cannot read: {e}"))?;
    // Long records (file snapshots, pasted text) can push the first prompt or the cwd
    // past the head: then the whole transcript is read.
    match read_ends(path, &ends) {
        Ok(s) if ends.whole || (s.cwd.is_some() && s.title.is_some()) => Ok(s),
        _ if !ends.whole => read_ends(
            path,
            &read::whole(path).map_err(|e| format!("cannot read: {e}"))?,
        ),
        other => other,
    }
}

fn read_ends(path: &Path, ends: &read::Ends) -> Result<ChatSession, String> {
    if ends.head.trim().is_empty() {
        return Err("empty transcript".into());
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut s = ChatSession::new(Provider::Claude, stem, path);
    s.size = ends.size;
    let (head, _) = read::json_lines(&ends.head);
    let (tail, _) = read::json_lines(&ends.tail);
    if head.is_empty() {
        return Err("not a Claude Code transcript: no line is a JSON record".into());
    }
    let mut titles = Titles::default();
    let mut known = false;
    let mut messages = 0u64;
    for r in head.iter().chain(tail.iter()) {
        if let Some(id) = str_field(r, "sessionId") {
            if !known {
                s.id = id.to_string();
            }
            known = true;
        }
        if s.cwd.is_none() {
            s.cwd = str_field(r, "cwd").map(str::to_string);
        }
        if let Some(v) = str_field(r, "version") {
            s.version = Some(v.to_string());
        }
        if let Some(b) = str_field(r, "gitBranch") {
            s.branch = Some(b.to_string());
        }
        if let Some(t) = r
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(parse_time)
        {
            if s.created.is_none_or(|c| t < c) {
                s.created = Some(t);
            }
            if s.updated.is_none_or(|u| t > u) {
                s.updated = Some(t);
            }
        }
        match str_field(r, "type") {
            Some("custom-title") => {
                titles.custom = str_field(r, "customTitle").and_then(clean_title)
            }
            Some("agent-name") => titles.agent = str_field(r, "agentName").and_then(clean_title),
            Some("summary") => titles.summary = str_field(r, "summary").and_then(clean_title),
            Some("ai-title") => {
                titles.summary = str_field(r, "aiTitle")
                    .or_else(|| str_field(r, "title"))
                    .and_then(clean_title)
            }
            Some("user") => {
                messages += 1;
                if titles.prompt.is_none() {
                    titles.prompt = user_prompt(r);
                }
            }
            Some("assistant") => {
                messages += 1;
                if let Some(m) = r.pointer("/message/model").and_then(Value::as_str)
                    && !m.starts_with('<')
                {
                    s.model = Some(m.to_string());
                }
            }
            _ => {}
        }
    }
    if !known && s.cwd.is_none() {
        return Err("not a Claude Code transcript: no record names a session or a cwd".into());
    }
    if ends.whole {
        s.messages = Some(messages);
    }
    s.title = titles
        .custom
        .or(titles.agent)
        .or(titles.summary)
        .or(titles.prompt);
    Ok(s)
}

/// What the person typed: not tool results, not meta or command-wrapper records.
fn user_prompt(r: &Value) -> Option<String> {
    if r.get("isMeta").and_then(Value::as_bool) == Some(true)
        || r.get("isSidechain").and_then(Value::as_bool) == Some(true)
    {
        return None;
    }
    let content = r.pointer("/message/content")?;
    if let Value::Array(parts) = content
        && parts
            .iter()
            .any(|p| p.get("type").and_then(Value::as_str) == Some("tool_result"))
    {
        return None;
    }
    let text = content_text(content)?;
    let text = text.trim();
    if text.starts_with('<') || text.starts_with("Caveat:") {
        return None;
    }
    clean_title(text)
}
