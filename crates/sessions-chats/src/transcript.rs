//! The whole transcript of one session, for `chats show` and exact message counts.

use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::providers::cursor::open_read_only;
use crate::read::{content_text, json_lines, str_field};
use crate::{ChatSession, Provider};

/// One message: who said it, when, and its text.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Turn {
    pub role: String,
    pub time: Option<String>,
    pub text: String,
}

/// Every user and assistant message with text, in order.
pub fn turns(s: &ChatSession) -> Result<Vec<Turn>, String> {
    match s.provider {
        Provider::Claude => jsonl(&s.path, claude_turn),
        Provider::Codex => jsonl(&s.path, codex_turn),
        Provider::Gemini => gemini(&s.path),
        Provider::Cursor => cursor(&s.path),
        Provider::Opencode => opencode(s),
    }
}

fn read_text(path: &Path) -> Result<String, String> {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))
}

fn jsonl(path: &Path, f: fn(&Value) -> Option<Turn>) -> Result<Vec<Turn>, String> {
    Ok(json_lines(&read_text(path)?)
        .0
        .iter()
        .filter_map(f)
        .collect())
}

fn turn(role: &str, time: Option<&str>, text: String) -> Option<Turn> {
    let text = text.trim().to_string();
    (!text.is_empty()).then(|| Turn {
        role: role.into(),
        time: time.map(str::to_string),
        text,
    })
}

fn claude_turn(r: &Value) -> Option<Turn> {
    let role = match str_field(r, "type")? {
        "user" if r.get("isMeta").and_then(Value::as_bool) != Some(true) => "user",
        "assistant" => "assistant",
        _ => return None,
    };
    let content = r.pointer("/message/content")?;
    if let Value::Array(parts) = content
        && parts
            .iter()
            .any(|p| p.get("type").and_then(Value::as_str) == Some("tool_result"))
    {
        return None;
    }
    turn(role, str_field(r, "timestamp"), content_text(content)?)
}

fn codex_turn(r: &Value) -> Option<Turn> {
    // Current rollouts wrap items in {"type":"response_item","payload":…}; the first
    // format wrote them bare.
    let p = match r.get("payload") {
        Some(p) if str_field(r, "type") == Some("response_item") => p,
        Some(_) => return None,
        None => r,
    };
    if str_field(p, "type")? != "message" {
        return None;
    }
    let role = str_field(p, "role")?;
    if role != "user" && role != "assistant" {
        return None;
    }
    let text = content_text(p.get("content")?)?;
    if role == "user" && (text.trim_start().starts_with('<') || text.starts_with("# AGENTS.md")) {
        return None;
    }
    turn(role, str_field(r, "timestamp"), text)
}

fn gemini_message(m: &Value) -> Option<(String, Option<Turn>)> {
    let id = str_field(m, "id")?.to_string();
    let role = match str_field(m, "type")? {
        "user"
            if m.get("content")
                .and_then(content_text)
                .is_some_and(|t| crate::providers::gemini::is_injected(&t)) =>
        {
            return Some((id, None));
        }
        "user" => "user",
        "gemini" => "assistant",
        _ => return Some((id, None)),
    };
    Some((
        id,
        m.get("content")
            .and_then(content_text)
            .and_then(|t| turn(role, str_field(m, "timestamp"), t)),
    ))
}

/// Both Gemini formats: messages keyed by id, re-appended ones replaced, rewinds applied.
fn gemini(path: &Path) -> Result<Vec<Turn>, String> {
    let text = read_text(path)?;
    let mut list: Vec<(String, Option<Turn>)> = Vec::new();
    let put = |list: &mut Vec<(String, Option<Turn>)>, m: &Value| {
        if let Some((id, t)) = gemini_message(m) {
            match list.iter_mut().find(|(i, _)| *i == id) {
                Some(slot) => slot.1 = t,
                None => list.push((id, t)),
            }
        }
    };
    if path.extension().is_some_and(|e| e == "json") {
        let doc: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for m in doc
            .get("messages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            put(&mut list, m);
        }
    } else {
        for r in json_lines(&text).0 {
            if let Some(target) = str_field(&r, "$rewindTo") {
                match list.iter().position(|(i, _)| i == target) {
                    Some(at) => list.truncate(at),
                    None => list.clear(),
                }
            } else if let Some(ms) = r.pointer("/$set/messages").and_then(Value::as_array) {
                list.clear();
                for m in ms {
                    put(&mut list, m);
                }
            } else if r.get("sessionId").is_some() {
                for m in r
                    .get("messages")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    put(&mut list, m);
                }
            } else if r.get("$set").is_none() {
                put(&mut list, &r);
            }
        }
    }
    Ok(list.into_iter().filter_map(|(_, t)| t).collect())
}

/// Cursor keeps messages as JSON blobs (with a role) beside protobuf tree blobs.
fn cursor(path: &Path) -> Result<Vec<Turn>, String> {
    let conn = open_read_only(path)?;
    let mut stmt = conn
        .prepare("SELECT data FROM blobs ORDER BY rowid")
        .map_err(|e| e.to_string())?;
    let rows = stmt
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for data in rows.filter_map(Result::ok) {
        let Ok(v) = serde_json::from_slice::<Value>(&data) else {
            continue;
        };
        let Some(role) = str_field(&v, "role") else {
            continue;
        };
        if role != "user" && role != "assistant" {
            continue;
        }
        if let Some(t) = v
            .get("content")
            .and_then(content_text)
            .and_then(|t| turn(role, None, t))
        {
            out.push(t);
        }
    }
    Ok(out)
}

fn opencode(s: &ChatSession) -> Result<Vec<Turn>, String> {
    if s.path.extension().is_some_and(|e| e == "db") {
        let conn = open_read_only(&s.path)?;
        let mut stmt = conn
            .prepare(
                "SELECT m.id, json_extract(m.data, '$.role'), m.time_created, p.data FROM message m \
                 LEFT JOIN part p ON p.message_id = m.id WHERE m.session_id = ?1 ORDER BY m.time_created, m.id, p.id",
            )
            .map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map([&s.id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })
            .map_err(|e| e.to_string())?;
        let mut out: Vec<(String, Turn)> = Vec::new();
        for (id, role, time, part) in rows.filter_map(Result::ok) {
            let text = part
                .and_then(|p| serde_json::from_str::<Value>(&p).ok())
                .filter(|p| str_field(p, "type") == Some("text"))
                .and_then(|p| str_field(&p, "text").map(str::to_string))
                .unwrap_or_default();
            match out.last_mut() {
                Some((last, t)) if *last == id => t.text.push_str(&text),
                _ => out.push((
                    id,
                    Turn {
                        role: role.unwrap_or_default(),
                        time: time
                            .and_then(crate::time_from_number)
                            .map(|t| t.to_rfc3339()),
                        text,
                    },
                )),
            }
        }
        return Ok(out
            .into_iter()
            .map(|(_, t)| t)
            .filter(|t| !t.text.trim().is_empty())
            .collect());
    }
    // storage/session/<project>/<id>.json → storage/message/<id>/*.json, storage/part/<msg>/*.json
    let storage = s
        .path
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .ok_or("no storage folder")?;
    let mut msgs: Vec<(i64, String, String)> = Vec::new();
    for e in crate::providers::entries(&storage.join("message").join(&s.id)) {
        let Ok(v) = serde_json::from_str::<Value>(&read_text(&e.path())?) else {
            continue;
        };
        let id = str_field(&v, "id").unwrap_or_default().to_string();
        let created = v
            .pointer("/time/created")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        msgs.push((created, id, str_field(&v, "role").unwrap_or("").to_string()));
    }
    msgs.sort();
    let mut out = Vec::new();
    for (created, id, role) in msgs {
        let mut text = String::new();
        for p in crate::providers::entries(&storage.join("part").join(&id)) {
            if let Ok(v) = serde_json::from_str::<Value>(&read_text(&p.path())?)
                && str_field(&v, "type") == Some("text")
            {
                text.push_str(str_field(&v, "text").unwrap_or(""));
            }
        }
        if let Some(t) = turn(
            &role,
            crate::time_from_number(created)
                .map(|t| t.to_rfc3339())
                .as_deref(),
            text,
        ) {
            out.push(t);
        }
    }
    Ok(out)
}
