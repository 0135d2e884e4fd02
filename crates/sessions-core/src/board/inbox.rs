//! Inboxes and read cursors (`.sessions/cursors/<session>.json` + `.seen`).

use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::board::parse::*;
use crate::board::post::*;
use crate::board::read::*;
use crate::store::error::{Error, Result};
use crate::store::hub::Hub;
use crate::store::time;
use crate::{store::ids, store::storage};

/// Where a session stopped reading: the board's length at that time, the file's
/// identity and a checksum of the bytes just before the offset. When all three still
/// hold, the board has only grown since, and only the new bytes are read. Otherwise
/// (a git merge or an archive rewrote the file) the whole board is parsed and the set
/// of seen IDs (`<session>.seen`, one ID a line) decides what is new.
#[derive(Debug, Clone, Default, serde::Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Cursor {
    pub session: String,
    pub offset: u64,
    pub dev: u64,
    pub ino: u64,
    pub check: String,
    pub updated_at: String,
}

const CHECK_BYTES: u64 = 64;

fn cursor_path(hub: &Hub, me: &str) -> Result<PathBuf> {
    ids::validate("session ID", me)?;
    hub.file(&format!("{CURSORS}/{me}.json"))
}

fn seen_path(hub: &Hub, me: &str) -> Result<PathBuf> {
    ids::validate("session ID", me)?;
    hub.file(&format!("{CURSORS}/{me}.seen"))
}

pub fn load_cursor(hub: &Hub, me: &str) -> Result<Option<Cursor>> {
    let path = cursor_path(hub, me)?;
    match storage::read_text(&path)? {
        None => Ok(None),
        // A damaged cursor is private state: fall back to the seen set.
        Some(text) => Ok(serde_json::from_str(&text).ok()),
    }
}

fn load_seen(hub: &Hub, me: &str) -> Result<HashSet<String>> {
    let path = seen_path(hub, me)?;
    Ok(storage::read_text(&path)?
        .map(|t| {
            t.lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default())
}

#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn identity(_meta: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

fn checksum(bytes: &[u8]) -> String {
    format!("{:016x}", fnv1a(bytes))
}

fn read_range(file: &mut File, path: &Path, from: u64, to: u64) -> Result<Vec<u8>> {
    file.seek(SeekFrom::Start(from))
        .map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::with_capacity((to - from) as usize);
    file.take(to - from)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

/// One inbox entry.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct InboxEntry {
    #[serde(flatten)]
    pub message: Message,
    pub unread: bool,
}

/// The result of reading an inbox.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Inbox {
    pub session: String,
    pub messages: Vec<InboxEntry>,
    pub unread: usize,
    /// True when only the bytes after the cursor were read.
    pub incremental: bool,
    /// The board length read up to (the next cursor).
    #[serde(skip)]
    pub read_to: u64,
    #[serde(skip)]
    pub file: (u64, u64),
    #[serde(skip)]
    pub check: String,
    /// Every inbox message ID on the board, when the whole board was read (lets
    /// `mark_read` rewrite the seen set to just those, so it never grows past the board).
    #[serde(skip)]
    pub all_ids: Option<Vec<String>>,
}

/// Read my inbox. With `unread_only`, return only messages I have not marked read;
/// when my cursor still matches the board, only the bytes after it are read.
pub fn inbox(hub: &Hub, me: &str, unread_only: bool) -> Result<Inbox> {
    ids::validate("session ID", me)?;
    let path = board_path(hub)?;
    let cursor = load_cursor(hub, me)?;
    let lock = read_lock(hub)?;
    let mut file = match storage::open_read(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Inbox {
                session: me.into(),
                messages: Vec::new(),
                unread: 0,
                incremental: false,
                read_to: 0,
                file: (0, 0),
                check: String::new(),
                all_ids: None,
            });
        }
        Err(e) => return Err(Error::io(&path, e)),
    };
    let meta = file.metadata().map_err(|e| Error::io(&path, e))?;
    let len = meta.len();
    let ident = identity(&meta);
    let valid_cursor = match &cursor {
        Some(c) if (c.dev, c.ino) == ident && c.offset <= len => {
            let from = c.offset.saturating_sub(CHECK_BYTES);
            checksum(&read_range(&mut file, &path, from, c.offset)?) == c.check
        }
        _ => false,
    };
    let check_from = len.saturating_sub(CHECK_BYTES);
    let check = checksum(&read_range(&mut file, &path, check_from, len)?);
    let incremental = unread_only && valid_cursor;
    let read_offset = if valid_cursor {
        cursor.as_ref().map_or(0, |c| c.offset)
    } else {
        0
    };
    let seen = if incremental {
        HashSet::new()
    } else {
        load_seen(hub, me)?
    };
    // Only what was on the board when we looked (an old script may append meanwhile,
    // without the lock): the cursor moves to `len`.
    let start = if incremental { read_offset } else { 0 };
    file.seek(SeekFrom::Start(start))
        .map_err(|e| Error::io(&path, e))?;
    let mut entries = Vec::new();
    let mut all_ids = (!incremental).then(Vec::new);
    stream(
        (&mut file).take(len - start),
        &path,
        start,
        Texts::Skip,
        Utf8::Replace,
        |segment, _| {
            let Segment::Message(m) = segment else {
                return Ok(());
            };
            if !m.is_for(me) {
                return Ok(());
            }
            if let Some(ids) = &mut all_ids {
                ids.push(m.id.clone());
            }
            let unread = m.offset + m.len > read_offset && !seen.contains(&m.id);
            if unread || !unread_only {
                entries.push(InboxEntry { message: m, unread });
            }
            Ok(())
        },
    )?;
    drop(lock);
    let unread = entries.iter().filter(|e| e.unread).count();
    Ok(Inbox {
        session: me.into(),
        messages: entries,
        unread,
        incremental,
        read_to: len,
        file: ident,
        check,
        all_ids,
    })
}

/// Mark everything in `inbox` (and the board up to where it was read) as read.
/// Returns how many messages became read.
pub fn mark_read(hub: &Hub, inbox: &Inbox) -> Result<usize> {
    let me = &inbox.session;
    storage::ensure_dir(&hub.dir(CURSORS)?)?;
    let newly: Vec<&str> = inbox
        .messages
        .iter()
        .filter(|e| e.unread)
        .map(|e| e.message.id.as_str())
        .collect();
    let path = seen_path(hub, me)?;
    if let Some(all) = &inbox.all_ids {
        // The whole board was read: after this, every inbox message on it is read.
        let mut lines = all.join("\n");
        lines.push('\n');
        storage::write_atomic(&path, lines.as_bytes())?;
    } else if !newly.is_empty() {
        let mut lines = newly.join("\n");
        lines.push('\n');
        storage::append_unsynced(&path, lines.as_bytes())?;
    }
    let cursor = Cursor {
        session: me.clone(),
        offset: inbox.read_to,
        dev: inbox.file.0,
        ino: inbox.file.1,
        check: inbox.check.clone(),
        updated_at: time::format(time::now()),
    };
    storage::write_atomic(&cursor_path(hub, me)?, &storage::json_bytes(&cursor))?;
    Ok(newly.len())
}

/// Read my inbox and mark it read as one step, under a lock on my cursor: two readers
/// of the same session (a hook and the agent) never both show a message, and a slower
/// one never moves the cursor back over what the other has shown.
pub fn inbox_mark_read(hub: &Hub, me: &str, unread_only: bool) -> Result<(Inbox, usize)> {
    ids::validate("session ID", me)?;
    let _lock = hub.lock(&format!("{CURSORS}/{me}"))?;
    let inbox = inbox(hub, me, unread_only)?;
    let marked = mark_read(hub, &inbox)?;
    Ok((inbox, marked))
}

/// How many unread messages `me` has (cheap when the cursor holds).
pub fn unread_count(hub: &Hub, me: &str) -> Result<usize> {
    Ok(inbox(hub, me, true)?.unread)
}
