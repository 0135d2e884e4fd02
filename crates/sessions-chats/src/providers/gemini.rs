//! Gemini CLI: `~/.gemini/tmp/<project slug or sha256>/chats/`, both the old
//! one-JSON-document-per-session files and the append-only `session-*.jsonl` (a metadata
//! line, message lines re-appended when they change, `$set` patches and `$rewindTo`
//! markers). The cwd is not in the file: it comes from the project folder's
//! `.project_root` or `~/.gemini/projects.json`. Subagents live in `chats/<parentId>/`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::Kind;
use crate::read::{self, content_text, str_field};
use crate::walk::{self, Pick, Tree};
use crate::{ChatSession, Provider, clean_title, parse_time};

/// `tmp/<project>/chats/session-*.json[l]`, and subagents' `chats/<parent>/*.jsonl`.
pub fn trees(home: &Path) -> Vec<Tree> {
    vec![walk::tree(
        Provider::Gemini,
        &home.join("tmp"),
        |depth, name, is_dir| {
            let session = name.starts_with("session-");
            match (depth, is_dir) {
                (0, true) => Pick::Enter,
                (1, true) if name == "chats" => Pick::Enter,
                (2, true) => Pick::Enter,
                (2, false) if session && name.ends_with(".jsonl") => Pick::Take(Kind::GeminiJsonl),
                (2, false) if session && name.ends_with(".json") => Pick::Take(Kind::GeminiJson),
                (3, false) if name.ends_with(".jsonl") => Pick::Take(Kind::GeminiJsonl),
                _ => Pick::Skip,
            }
        },
    )]
}

/// `tmp/<project>` of a file in `tmp/<project>/chats/[<parent>/]…`, and the parent id.
fn placement(path: &Path) -> (Option<PathBuf>, Option<String>) {
    let dir = path.parent();
    match dir.and_then(Path::file_name).and_then(|n| n.to_str()) {
        Some("chats") => (dir.and_then(Path::parent).map(Path::to_path_buf), None),
        Some(parent) => (
            dir.and_then(Path::parent)
                .and_then(Path::parent)
                .map(Path::to_path_buf),
            Some(parent.to_string()),
        ),
        None => (None, None),
    }
}

fn base(path: &Path, meta: &Value, size: u64) -> Result<ChatSession, String> {
    let id = str_field(meta, "sessionId").ok_or("not a Gemini CLI session: no sessionId")?;
    let mut s = ChatSession::new(Provider::Gemini, id, path);
    s.size = size;
    let (project, parent) = placement(path);
    s.project_dir = project;
    s.parent = parent;
    Ok(s)
}

/// Fields of the metadata record or a `$set` patch.
fn apply_meta(s: &mut ChatSession, m: &Value, summary: &mut Option<String>) {
    if let Some(t) = str_field(m, "startTime").and_then(parse_time) {
        s.created = Some(t);
    }
    if let Some(t) = str_field(m, "lastUpdated").and_then(parse_time) {
        bump(s, t);
    }
    if let Some(t) = str_field(m, "summary").and_then(clean_title) {
        *summary = Some(t);
    }
}

fn bump(s: &mut ChatSession, t: chrono::DateTime<chrono::Utc>) {
    if s.updated.is_none_or(|u| t > u) {
        s.updated = Some(t);
    }
}

fn is_message(r: &Value) -> bool {
    str_field(r, "id").is_some() && str_field(r, "type").is_some() && r.get("sessionId").is_none()
}

fn user_text(m: &Value) -> Option<String> {
    if str_field(m, "type") != Some("user") {
        return None;
    }
    m.get("content")
        .and_then(content_text)
        .filter(|t| !is_injected(t))
        .and_then(|t| clean_title(&t))
}

/// User records that are not what the person typed: commands, and the context the CLI
/// adds at session start or from hooks (the CLI skips the same ones when resuming).
pub fn is_injected(text: &str) -> bool {
    let t = text.trim();
    t.is_empty()
        || t.starts_with('/')
        || t.starts_with('?')
        || t.starts_with("<session_context>")
        || t.starts_with("<hook_context>")
}

fn note_message(s: &mut ChatSession, m: &Value, prompt: &mut Option<String>) {
    if let Some(t) = str_field(m, "timestamp").and_then(parse_time) {
        bump(s, t);
    }
    if let Some(model) = str_field(m, "model") {
        s.model = Some(model.to_string());
    }
    if prompt.is_none() {
        *prompt = user_text(m);
    }
}

/// The old format: one JSON document per session.
pub fn read_json(path: &Path) -> Result<ChatSession, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    if text.trim().is_empty() {
        return Err("empty session file".into());
    }
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| format!("not JSON (line {}, column {}): {e}", e.line(), e.column()))?;
    let mut s = base(path, &doc, text.len() as u64)?;
    let mut summary = None;
    let mut prompt = None;
    apply_meta(&mut s, &doc, &mut summary);
    let messages = doc
        .get("messages")
        .and_then(Value::as_array)
        .ok_or("no messages list")?;
    for m in messages {
        note_message(&mut s, m, &mut prompt);
    }
    s.messages = Some(messages.len() as u64);
    s.title = summary.or(prompt);
    Ok(s)
}

/// The append-only format, from its head and tail. A whole (small) file has every
/// record replayed (rewinds included) and its messages counted; of a long one the head
/// is read until the metadata and the first prompt, the patches (`$set`, `$rewindTo`)
/// wherever they are, and the tail backwards to the newest message with a model.
pub fn read_jsonl(path: &Path) -> Result<ChatSession, String> {
    let ends = read::ends(path).map_err(|e| format!("cannot read: {e}"))?;
    if ends.is_blank() {
        return Err("empty session file".into());
    }
    let meta = ends
        .head_lines()
        .filter(|l| read::has_any(l, read::tokens!(b"\"sessionId\"")))
        .filter_map(read::value)
        .find(|r| r.get("sessionId").is_some())
        .ok_or("not a Gemini CLI session: no metadata line with a sessionId")?;
    let mut c = Chat {
        s: base(path, &meta, ends.size)?,
        summary: None,
        prompt: None,
        ids: Vec::new(),
    };
    let is_patch = |l: &[u8]| read::has_any(l, read::tokens!(b"\"$set\"", b"\"$rewindTo\""));
    let mut seen_meta = false;
    for line in ends.head_lines() {
        if (ends.whole || !seen_meta || c.prompt.is_none() || is_patch(line))
            && let Some(r) = read::value(line)
        {
            seen_meta |= r.get("sessionId").is_some();
            c.visit(&r);
        }
    }
    for line in ends.tail_lines().filter(|l| is_patch(l)) {
        if let Some(r) = read::value(line) {
            c.visit(&r);
        }
    }
    for r in ends.tail_lines().rev().filter_map(read::value) {
        if is_message(&r) {
            c.visit(&r);
            if str_field(&r, "model").is_some() {
                break;
            }
        }
    }
    let mut s = c.s;
    if ends.whole {
        s.messages = Some(c.ids.len() as u64);
    }
    s.title = c.summary.or(c.prompt);
    Ok(s)
}

/// What the records of a JSONL chat add up to.
struct Chat {
    s: ChatSession,
    summary: Option<String>,
    prompt: Option<String>,
    /// Message ids in order, as the CLI rebuilds them (only exact when whole).
    ids: Vec<String>,
}

impl Chat {
    fn visit(&mut self, r: &Value) {
        let (s, summary, prompt, ids) = (
            &mut self.s,
            &mut self.summary,
            &mut self.prompt,
            &mut self.ids,
        );
        if let Some(target) = str_field(r, "$rewindTo") {
            match ids.iter().position(|i| i == target) {
                Some(at) => ids.truncate(at),
                None => ids.clear(),
            }
        } else if let Some(set) = r.get("$set") {
            apply_meta(s, set, summary);
            if let Some(list) = set.get("messages").and_then(Value::as_array) {
                ids.clear();
                for m in list.iter().filter(|m| is_message(m)) {
                    note_message(s, m, prompt);
                    ids.push(str_field(m, "id").unwrap_or_default().to_string());
                }
            }
        } else if r.get("sessionId").is_some() {
            apply_meta(s, r, summary);
            for m in r
                .get("messages")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                note_message(s, m, prompt);
                ids.push(str_field(m, "id").unwrap_or_default().to_string());
            }
        } else if is_message(r) {
            note_message(s, r, prompt);
            let id = str_field(r, "id").unwrap_or_default();
            if !ids.iter().any(|i| i == id) {
                ids.push(id.to_string());
            }
        }
    }
}

/// Which project folder under `tmp/` belongs to which directory.
#[derive(Debug, Default)]
pub struct ProjectRoots {
    by_slug: HashMap<String, String>,
}

impl ProjectRoots {
    pub fn load(home: &Path) -> ProjectRoots {
        let mut by_slug = HashMap::new();
        if let Ok(text) = std::fs::read_to_string(home.join("projects.json"))
            && let Ok(doc) = serde_json::from_str::<Value>(&text)
        {
            for (root, slug) in doc
                .get("projects")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if let Some(slug) = slug.as_str() {
                    by_slug.insert(slug.to_string(), root.clone());
                }
                // Folders made before slugs are named by the root's sha256.
                by_slug.insert(hex_sha256(root), root.clone());
            }
        }
        ProjectRoots { by_slug }
    }

    pub fn root_of(&self, project_dir: &Path) -> Option<String> {
        if let Ok(text) = std::fs::read_to_string(project_dir.join(".project_root")) {
            let root = text.trim();
            if !root.is_empty() {
                return Some(root.to_string());
            }
        }
        let name = project_dir.file_name()?.to_str()?;
        self.by_slug.get(name).cloned()
    }
}

pub fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
