//! opencode: `$XDG_DATA_HOME/opencode/opencode.db` (SQLite `session` and `message`
//! tables, times in milliseconds) and the older JSON layout
//! `storage/session/<project>/<id>.json` with messages in `storage/message/<id>/`.

use std::path::Path;

use serde_json::Value;

use super::cursor::open_read_only;
use super::{Kind, entries};
use crate::read::str_field;
use crate::walk::{self, Pick, Tree};
use crate::{ChatSession, Provider, clean_title, time_from_number};

/// `opencode.db` (today's shape) and the older `storage/session/<project>/*.json`.
pub fn trees(home: &Path) -> Vec<Tree> {
    vec![walk::tree(
        Provider::Opencode,
        home,
        |depth, name, is_dir| match (depth, is_dir, name) {
            (0, false, "opencode.db") => Pick::Take(Kind::OpencodeDb),
            (0, true, "storage") | (1, true, "session") | (2, true, _) => Pick::Enter,
            (3, false, _) if name.ends_with(".json") => Pick::Take(Kind::OpencodeJson),
            _ => Pick::Skip,
        },
    )]
}

pub fn read_db(path: &Path) -> Result<Vec<ChatSession>, String> {
    let conn = open_read_only(path)?;
    let mut stmt = conn
        .prepare("SELECT * FROM session")
        .map_err(|e| format!("not an opencode database (session table): {e}"))?;
    let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
    let col = |name: &str| columns.iter().position(|c| c == name);
    let (Some(id_col), Some(dir_col)) = (col("id"), col("directory")) else {
        return Err("the session table has no id or directory column".into());
    };
    let (title_col, version_col, parent_col) = (col("title"), col("version"), col("parent_id"));
    let (created_col, updated_col) = (col("time_created"), col("time_updated"));
    let text = |row: &rusqlite::Row, c: Option<usize>| -> Option<String> {
        c.and_then(|c| row.get::<_, Option<String>>(c).ok().flatten())
            .filter(|s| !s.is_empty())
    };
    let int = |row: &rusqlite::Row, c: Option<usize>| -> Option<i64> {
        c.and_then(|c| row.get::<_, Option<i64>>(c).ok().flatten())
    };
    let mut rows = stmt
        .query([])
        .map_err(|e| format!("cannot read sessions: {e}"))?;
    let mut out = Vec::new();
    while let Some(row) = rows
        .next()
        .map_err(|e| format!("cannot read sessions: {e}"))?
    {
        let Some(id) = text(row, Some(id_col)) else {
            continue;
        };
        let mut s = ChatSession::new(Provider::Opencode, id, path);
        s.cwd = text(row, Some(dir_col));
        s.title = text(row, title_col).and_then(|t| clean_title(&t));
        s.version = text(row, version_col);
        s.parent = text(row, parent_col);
        s.created = int(row, created_col).and_then(time_from_number);
        s.updated = int(row, updated_col).and_then(time_from_number);
        out.push(s);
    }
    drop(rows);
    // Counts and the model come from the message table when it is there.
    if let Ok(mut stmt) = conn.prepare(
        "SELECT session_id, count(*), max(json_extract(data, '$.modelID')) FROM message GROUP BY session_id",
    ) {
        let counts: std::collections::HashMap<String, (u64, Option<String>)> = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, (r.get::<_, i64>(1)? as u64, r.get::<_, Option<String>>(2)?))))
            .map(|it| it.filter_map(Result::ok).collect())
            .unwrap_or_default();
        for s in &mut out {
            let (n, model) = counts.get(&s.id).cloned().unwrap_or((0, None));
            s.messages = Some(n);
            s.model = model;
        }
    }
    Ok(out)
}

pub fn read_json(path: &Path) -> Result<ChatSession, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    if text.trim().is_empty() {
        return Err("empty session file".into());
    }
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| format!("not JSON (line {}, column {}): {e}", e.line(), e.column()))?;
    let id = str_field(&doc, "id").ok_or("not an opencode session: no id")?;
    let mut s = ChatSession::new(Provider::Opencode, id, path);
    s.size = text.len() as u64;
    s.cwd = str_field(&doc, "directory").map(str::to_string);
    s.title = str_field(&doc, "title").and_then(clean_title);
    s.version = str_field(&doc, "version").map(str::to_string);
    s.parent = str_field(&doc, "parentID").map(str::to_string);
    s.created = doc
        .pointer("/time/created")
        .and_then(Value::as_i64)
        .and_then(time_from_number);
    s.updated = doc
        .pointer("/time/updated")
        .and_then(Value::as_i64)
        .and_then(time_from_number);
    // storage/session/<project>/<id>.json → storage/message/<id>/
    if let Some(storage) = path.parent().and_then(Path::parent).and_then(Path::parent) {
        let dir = storage.join("message").join(&s.id);
        if dir.is_dir() {
            s.messages = Some(entries(&dir).len() as u64);
        }
    }
    Ok(s)
}
