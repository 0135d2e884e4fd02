//! Reading the board: bounded reads under the lock, finding, filtering, threads, recent.

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::board::parse::*;
use crate::board::post::*;
use crate::store::error::{Error, Result};
use crate::store::hub::{Hub, layout};
use crate::store::storage;
use crate::store::time::Timestamp;

/// Largest board parsed whole; `msg archive` keeps boards far below it.
pub(crate) const MAX_BOARD_BYTES: u64 = 512 * 1024 * 1024;

pub(crate) fn board_path(hub: &Hub) -> Result<PathBuf> {
    hub.file(layout::MESSAGES)
}

/// Take the board's lock for the moment of a read, so no half-appended block is seen.
/// A hub we cannot write to (a read-only copy) is read without it.
pub(crate) fn read_lock(hub: &Hub) -> Result<Option<storage::FileLock>> {
    match hub.lock(layout::MESSAGES) {
        Ok(lock) => Ok(Some(lock)),
        Err(Error::Io { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The whole board as text (empty when missing).
pub fn read_board(hub: &Hub) -> Result<String> {
    let path = board_path(hub)?;
    let _lock = read_lock(hub)?;
    read_board_at(&path, MAX_BOARD_BYTES)
}

fn read_board_at(path: &Path, limit: u64) -> Result<String> {
    Ok(lossy(read_board_bytes(path, limit)?))
}

pub(crate) fn read_board_bytes(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let mut file = match storage::open_read(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(path, e)),
    };
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len > limit {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

/// Every message on the board, in board order.
pub fn load(hub: &Hub) -> Result<Vec<Message>> {
    Ok(messages(parse(&read_board(hub)?)))
}

/// Find a message by ID, or a unique prefix or suffix of it ([`crate::store::ids::resolve`]).
pub fn find<'a>(all: &'a [Message], id: &str) -> Result<&'a Message> {
    let found = crate::store::ids::resolve(
        "message",
        id,
        all.iter().map(|m| m.id.as_str()),
        "sessions msg list",
    )?;
    Ok(all
        .iter()
        .find(|m| m.id == found)
        .expect("resolve returns one of the IDs"))
}

/// Filters for `msg list`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub from: Option<String>,
    pub to: Option<String>,
    pub since: Option<Timestamp>,
    pub priority: Option<String>,
    pub thread: Option<String>,
}

impl Filter {
    pub fn apply(&self, all: &[Message]) -> Result<Vec<Message>> {
        let thread_ids: Option<HashSet<String>> = match &self.thread {
            Some(id) => Some(thread(all, id)?.into_iter().map(|m| m.id).collect()),
            None => None,
        };
        let rank = |p: &str| PRIORITIES.iter().position(|x| *x == p).unwrap_or(1);
        Ok(all
            .iter()
            .filter(|m| {
                self.from.as_deref().is_none_or(|f| {
                    m.from
                        .as_deref()
                        .is_some_and(|mf| mf.eq_ignore_ascii_case(f))
                })
            })
            .filter(|m| {
                self.to
                    .as_deref()
                    .is_none_or(|t| m.broadcast || m.to.iter().any(|x| x.eq_ignore_ascii_case(t)))
            })
            .filter(|m| {
                self.since
                    .is_none_or(|s| m.timestamp.is_some_and(|t| t >= s))
            })
            .filter(|m| {
                self.priority
                    .as_deref()
                    .is_none_or(|p| rank(&m.priority) >= rank(p))
            })
            .filter(|m| thread_ids.as_ref().is_none_or(|ids| ids.contains(&m.id)))
            .cloned()
            .collect())
    }
}

/// The whole conversation `id` belongs to: up the `Reply-To` chain to its root, then
/// every reply below it, in board order.
pub fn thread(all: &[Message], id: &str) -> Result<Vec<Message>> {
    let start = find(all, id)?;
    let by_id: BTreeMap<&str, &Message> = all.iter().map(|m| (m.id.as_str(), m)).collect();
    let mut root = start;
    let mut guard = 0;
    while let Some(parent) = root.reply_to.as_deref().and_then(|p| by_id.get(p)) {
        root = parent;
        guard += 1;
        if guard > all.len() {
            break; // a cycle written by hand
        }
    }
    let mut members: HashSet<&str> = HashSet::from([root.id.as_str()]);
    // Board order is mostly reply order; repeat until no new member (cheap, bounded).
    loop {
        let before = members.len();
        for m in all {
            if m.reply_to.as_deref().is_some_and(|r| members.contains(r)) {
                members.insert(m.id.as_str());
            }
        }
        if members.len() == before {
            break;
        }
    }
    Ok(all
        .iter()
        .filter(|m| members.contains(m.id.as_str()))
        .cloned()
        .collect())
}

/// The last `n` messages, reading only the board's tail (for `sessions status`).
pub fn recent(hub: &Hub, n: usize) -> Result<Vec<Summary>> {
    const TAIL_BYTES: u64 = 128 * 1024;
    let path = board_path(hub)?;
    let lock = read_lock(hub)?;
    let mut file = match storage::open_read(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
    let start = len.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start))
        .map_err(|e| Error::io(&path, e))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| Error::io(&path, e))?;
    drop(lock);
    let text = String::from_utf8_lossy(&bytes);
    // Start at the first separator: the bytes before it may be a cut block.
    let from = if start == 0 {
        0
    } else {
        text.find("\n---").unwrap_or(text.len())
    };
    let all = messages(parse_at(&text[from..], start + from as u64));
    let keep = all.len().saturating_sub(n);
    Ok(all[keep..].iter().map(Message::summary).collect())
}

pub(crate) fn lossy(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}
