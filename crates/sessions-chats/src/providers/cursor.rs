//! Cursor agent: `~/.cursor/chats/<md5(workspace)>/<agent id>/store.db`, one SQLite file
//! per session. Its `meta` table holds one row whose value is hex-encoded JSON (name,
//! createdAt, lastUsedModel, latestRootBlobId); the workspace path is taken from that
//! JSON when present, else from the root blob (a protobuf whose field 9 is the workspace).

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde_json::Value;

use super::Kind;
use crate::read::str_field;
use crate::walk::{self, Pick, Tree};
use crate::{ChatSession, Provider, clean_title, time_from_number};

/// `chats/<md5(workspace)>/<agent id>/store.db`.
pub fn trees(home: &Path) -> Vec<Tree> {
    vec![walk::tree(
        Provider::Cursor,
        &home.join("chats"),
        |depth, name, is_dir| match (depth, is_dir) {
            (0 | 1, true) => Pick::Enter,
            (2, false) if name == "store.db" => Pick::Take(Kind::CursorStore),
            _ => Pick::Skip,
        },
    )]
}

/// Open a provider's database without ever writing to it.
pub(crate) fn open_read_only(path: &Path) -> Result<Connection, String> {
    // A read-only connection to a database in WAL mode creates its `-wal` and `-shm`
    // beside it and leaves them there: files written into the provider's folder, a
    // companion the listing just stamped as absent, a folder changed by every read.
    // With no log or journal beside it, everything is in the database file itself: it
    // is opened as immutable, which creates nothing. (A writer that starts meanwhile
    // changes the files' stamps, so the next listing reads it again.)
    let beside = |suffix: &str| {
        let mut p = path.as_os_str().to_os_string();
        p.push(suffix);
        std::path::PathBuf::from(p).exists()
    };
    let target = if beside("-wal") || beside("-journal") {
        path.to_path_buf()
    } else {
        std::path::PathBuf::from(immutable_uri(path))
    };
    let conn = Connection::open_with_flags(
        &target,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(|e| format!("cannot open the database: {e}"))?;
    conn.busy_timeout(std::time::Duration::from_secs(2)).ok();
    Ok(conn)
}

/// `file:<path>?immutable=1`, the path's bytes percent-encoded where a URI needs it.
fn immutable_uri(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut uri = String::from("file:");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri + "?immutable=1"
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

pub fn read(path: &Path) -> Result<ChatSession, String> {
    let conn = open_read_only(path)?;
    let raw: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = '0'", [], |r| {
            r.get::<_, rusqlite::types::Value>(0)
        })
        .optional()
        .map_err(|e| format!("not a Cursor agent store (meta table): {e}"))?
        .and_then(|v| match v {
            rusqlite::types::Value::Text(t) => Some(t),
            rusqlite::types::Value::Blob(b) => String::from_utf8(b).ok(),
            _ => None,
        });
    let raw = raw.ok_or("no session metadata in the meta table")?;
    let json = decode_hex(&raw).unwrap_or_else(|| raw.clone().into_bytes());
    let meta: Value = serde_json::from_slice(&json)
        .map_err(|e| format!("session metadata is not hex-encoded JSON: {e}"))?;
    let folder = path
        .parent()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned());
    let id = str_field(&meta, "agentId")
        .map(str::to_string)
        .or(folder)
        .ok_or("no agent id")?;
    let mut s = ChatSession::new(Provider::Cursor, id, path);
    s.size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    s.title = str_field(&meta, "name").and_then(clean_title);
    s.model = str_field(&meta, "lastUsedModel").map(str::to_string);
    s.created = meta
        .get("createdAt")
        .and_then(number)
        .and_then(time_from_number);
    s.updated = ["updatedAt", "lastUpdatedAt"]
        .iter()
        .find_map(|k| meta.get(*k).and_then(number))
        .and_then(time_from_number)
        .or_else(|| modified(path));
    s.cwd = ["workspacePath", "workspace", "cwd"]
        .iter()
        .find_map(|k| str_field(&meta, k).map(str::to_string))
        .or_else(|| {
            let root = str_field(&meta, "latestRootBlobId")?;
            let blob: Vec<u8> = conn
                .query_row("SELECT data FROM blobs WHERE id = ?1", [root], |r| r.get(0))
                .ok()?;
            workspace_from_root(&blob)
        });
    Ok(s)
}

fn number(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_f64().map(|f| f as i64))
        .or_else(|| v.as_str()?.parse().ok())
}

/// The newest of the database and its write-ahead log.
fn modified(path: &Path) -> Option<chrono::DateTime<chrono::Utc>> {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    [path.to_path_buf(), wal.into()]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok()?.modified().ok())
        .max()
        .map(chrono::DateTime::<chrono::Utc>::from)
}

/// Field 9 (a length-delimited string) of the root blob's protobuf, if it is a path.
fn workspace_from_root(mut data: &[u8]) -> Option<String> {
    fn varint(data: &mut &[u8]) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = data.split_first()?;
            *data = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    while !data.is_empty() {
        let key = varint(&mut data)?;
        match key & 7 {
            0 => {
                varint(&mut data)?;
            }
            1 => data = data.get(8..)?,
            5 => data = data.get(4..)?,
            2 => {
                let len = varint(&mut data)? as usize;
                let (field, rest) = (data.get(..len)?, data.get(len..)?);
                data = rest;
                if key >> 3 == 9 {
                    let text = std::str::from_utf8(field).ok()?;
                    if text.starts_with('/') {
                        return Some(text.to_string());
                    }
                }
            }
            _ => return None,
        }
    }
    None
}
