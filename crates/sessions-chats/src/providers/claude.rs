//! Claude Code: `<config>/projects/<cwd with non-alphanumerics as '->/<uuid>.jsonl`.
//! Everything comes from the records (the folder name is lossy and never decoded).
//! `<uuid>/subagents/`, `tool-results/` and `agent-*.jsonl` side chains are not sessions.

use std::path::Path;

use serde_json::Value;

use super::Kind;
use crate::read::{self, Obj, Text, content_text};
use crate::walk::{self, Pick, Tree};
use crate::{ChatSession, Provider, clean_title, parse_time};

/// `projects/<folder>/<uuid>.jsonl`; folders beside the transcripts (`<uuid>/subagents/`,
/// `tool-results/`) and `agent-*.jsonl` side chains are not sessions.
pub fn trees(home: &Path) -> Vec<Tree> {
    vec![walk::tree(
        Provider::Claude,
        &home.join("projects"),
        |depth, name, is_dir| match (depth, is_dir) {
            (0, true) => Pick::Enter,
            (1, false) if name.ends_with(".jsonl") && !name.starts_with("agent-") => {
                Pick::Take(Kind::ClaudeJsonl)
            }
            _ => Pick::Skip,
        },
    )]
}

#[derive(Default)]
struct Titles {
    custom: Option<String>,
    agent: Option<String>,
    summary: Option<String>,
    prompt: Option<String>,
}

/// The fields of a record a listing uses; everything else is skipped unparsed.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct Record<'a> {
    #[serde(borrow, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow, rename = "sessionId")]
    session_id: Text<'a>,
    #[serde(borrow)]
    cwd: Text<'a>,
    #[serde(borrow)]
    version: Text<'a>,
    #[serde(borrow, rename = "gitBranch")]
    git_branch: Text<'a>,
    #[serde(borrow)]
    timestamp: Text<'a>,
    #[serde(borrow)]
    message: Obj<Message<'a>>,
    #[serde(borrow, rename = "customTitle")]
    custom_title: Text<'a>,
    #[serde(borrow, rename = "agentName")]
    agent_name: Text<'a>,
    #[serde(borrow)]
    summary: Text<'a>,
    #[serde(borrow, rename = "aiTitle")]
    ai_title: Text<'a>,
    #[serde(borrow)]
    title: Text<'a>,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct Message<'a> {
    #[serde(borrow)]
    model: Text<'a>,
}

impl Record<'_> {
    fn time(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.timestamp.get().and_then(parse_time)
    }

    fn model(&self) -> Option<&str> {
        (self.kind.get() == Some("assistant"))
            .then(|| self.message.0.as_ref()?.model.get())
            .flatten()
            .filter(|m| !m.starts_with('<'))
    }

    /// A title record's title (later ones of a kind replace earlier ones).
    fn note_title(&self, titles: &mut Titles) {
        match self.kind.get() {
            Some("custom-title") => titles.custom = self.custom_title.get().and_then(clean_title),
            Some("agent-name") => titles.agent = self.agent_name.get().and_then(clean_title),
            Some("summary") => titles.summary = self.summary.get().and_then(clean_title),
            Some("ai-title") => {
                titles.summary = self
                    .ai_title
                    .get()
                    .or_else(|| self.title.get())
                    .and_then(clean_title)
            }
            _ => {}
        }
    }
}

/// Title records can sit anywhere: found by their type token before any parsing.
fn may_be_title(line: &[u8]) -> bool {
    read::has_any(
        line,
        read::tokens!(
            b"\"custom-title\"",
            b"\"agent-name\"",
            b"\"summary\"",
            b"\"ai-title\""
        ),
    )
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

/// The head is read forwards until it has named the session, its folder, its start and
/// its first prompt; the tail backwards until it has the newest time, model, branch and
/// version. Title records are picked out of both by a byte check. A whole (small) file
/// has every record read, and its messages counted.
fn read_ends(path: &Path, ends: &read::Ends) -> Result<ChatSession, String> {
    if ends.is_blank() {
        return Err("empty transcript".into());
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut s = ChatSession::new(Provider::Claude, stem, path);
    s.size = ends.size;
    let mut titles = Titles::default();
    let mut known = false;
    let mut records = 0usize;
    let mut messages = 0u64;
    let note_time = |s: &mut ChatSession, t| {
        if s.created.is_none_or(|c| t < c) {
            s.created = Some(t);
        }
        if s.updated.is_none_or(|u| t > u) {
            s.updated = Some(t);
        }
    };
    for line in ends.head_lines() {
        let enough = !ends.whole
            && known
            && s.cwd.is_some()
            && s.created.is_some()
            && titles.prompt.is_some();
        if enough && !may_be_title(line) {
            continue;
        }
        let Some(r) = read::record::<Record>(line) else {
            continue;
        };
        records += 1;
        if let Some(id) = r.session_id.get() {
            if !known {
                s.id = id.to_string();
            }
            known = true;
        }
        if s.cwd.is_none() {
            s.cwd = r.cwd.get().map(str::to_string);
        }
        if let Some(v) = r.version.get() {
            s.version = Some(v.to_string());
        }
        if let Some(b) = r.git_branch.get() {
            s.branch = Some(b.to_string());
        }
        if let Some(t) = r.time() {
            note_time(&mut s, t);
        }
        r.note_title(&mut titles);
        match r.kind.get() {
            Some("user") => {
                messages += 1;
                if titles.prompt.is_none() {
                    titles.prompt = read::value(line).as_ref().and_then(user_prompt);
                }
            }
            Some("assistant") => {
                messages += 1;
                if let Some(m) = r.model() {
                    s.model = Some(m.to_string());
                }
            }
            _ => {}
        }
    }
    if records == 0 {
        return Err("not a Claude Code transcript: no line is a JSON record".into());
    }
    for line in ends.tail_lines().filter(|l| may_be_title(l)) {
        if let Some(r) = read::record::<Record>(line) {
            r.note_title(&mut titles);
        }
    }
    let (mut time, mut model, mut branch, mut version) = (false, false, false, false);
    for line in ends.tail_lines().rev() {
        if time && model && branch && version {
            break;
        }
        let Some(r) = read::record::<Record>(line) else {
            continue;
        };
        if let Some(id) = r.session_id.get() {
            if !known {
                s.id = id.to_string();
            }
            known = true;
        }
        if s.cwd.is_none() {
            s.cwd = r.cwd.get().map(str::to_string);
        }
        if let (false, Some(t)) = (time, r.time()) {
            note_time(&mut s, t);
            time = true;
        }
        if let (false, Some(v)) = (version, r.version.get()) {
            s.version = Some(v.to_string());
            version = true;
        }
        if let (false, Some(b)) = (branch, r.git_branch.get()) {
            s.branch = Some(b.to_string());
            branch = true;
        }
        if let (false, Some(m)) = (model, r.model()) {
            s.model = Some(m.to_string());
            model = true;
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
