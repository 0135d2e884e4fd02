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

/// Bytes read from the board at a time when it is streamed: readers hold one window and
/// the segment being read, never the whole board.
pub(crate) const WINDOW: usize = 1 << 20;

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

/// How text that is not UTF-8 is taken when the board is streamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Utf8 {
    /// Each byte that is not part of valid UTF-8 reads as `?` (one byte for one byte, so
    /// offsets stay those of the file): for readers.
    Replace,
    /// An error naming the line and column: for rewriting the board byte for byte.
    Require,
}

/// Stream the board from `reader` (the file named `path`, read from byte `start` on)
/// to its end: each complete segment is given to `each` with its raw text, in board order. Memory holds one
/// window plus the longest segment; time is linear in the bytes read (a segment that
/// does not fit a window is read again with twice the bytes, so each byte is parsed a
/// bounded number of times). Returns how many free-text sections it met.
pub(crate) fn stream(
    mut reader: impl Read,
    path: &Path,
    start: u64,
    texts: Texts,
    utf8: Utf8,
    mut each: impl FnMut(Segment, &str) -> Result<()>,
) -> Result<usize> {
    let mut parser = Parser::new(texts);
    let mut buf: Vec<u8> = Vec::new();
    let mut base = start;
    let mut lines_before = 0usize;
    let mut eof = false;
    let mut want = WINDOW;
    let mut segments = Vec::new();
    loop {
        while !eof && buf.len() < want {
            let old = buf.len();
            buf.resize(want, 0);
            let n = loop {
                match reader.read(&mut buf[old..]) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    other => break other.map_err(|e| Error::io(path, e))?,
                }
            };
            buf.truncate(old + n);
            eof = n == 0;
        }
        // Windows end at a line's end, so no character is cut.
        let cut = if eof {
            buf.len()
        } else {
            match buf.iter().rposition(|b| *b == b'\n') {
                Some(i) => i + 1,
                None => {
                    want = buf.len() * 2;
                    continue;
                }
            }
        };
        let text = window_text(&buf[..cut], utf8, path, lines_before)?;
        let last = eof && cut == buf.len();
        let used = parser.feed(&text, base, last, &mut segments);
        for segment in segments.drain(..) {
            let (offset, len) = segment.range();
            let from = (offset - base) as usize;
            each(segment, &text[from..from + len as usize])?;
        }
        if last {
            return Ok(parser.text_sections);
        }
        if utf8 == Utf8::Require {
            lines_before += buf[..used].iter().filter(|b| **b == b'\n').count();
        }
        buf.drain(..used);
        base += used as u64;
        want = if used == 0 {
            buf.len().max(WINDOW) * 2
        } else {
            buf.len() + WINDOW
        };
    }
}

/// A window's bytes as text; see [`Utf8`].
fn window_text<'a>(
    bytes: &'a [u8],
    utf8: Utf8,
    path: &Path,
    lines_before: usize,
) -> Result<std::borrow::Cow<'a, str>> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(std::borrow::Cow::Borrowed(text)),
        Err(e) if utf8 == Utf8::Require => {
            let valid = &bytes[..e.valid_up_to()];
            let line_start = valid.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            Err(Error::Parse {
                path: path.to_path_buf(),
                line: lines_before + valid.iter().filter(|b| **b == b'\n').count() + 1,
                column: String::from_utf8_lossy(&valid[line_start..])
                    .chars()
                    .count()
                    + 1,
                message: "the file is not valid UTF-8".into(),
            })
        }
        Err(_) => {
            let mut text = String::with_capacity(bytes.len());
            for chunk in bytes.utf8_chunks() {
                text.push_str(chunk.valid());
                text.extend(std::iter::repeat_n('?', chunk.invalid().len()));
            }
            Ok(std::borrow::Cow::Owned(text))
        }
    }
}

/// Stream the whole board under its read lock (nothing when it is missing).
pub(crate) fn stream_board(
    hub: &Hub,
    texts: Texts,
    each: impl FnMut(Segment, &str) -> Result<()>,
) -> Result<usize> {
    let path = board_path(hub)?;
    let _lock = read_lock(hub)?;
    let mut file = match storage::open_read(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io(&path, e)),
    };
    stream(&mut file, &path, 0, texts, Utf8::Replace, each)
}

/// The board's segments, read as a stream. Without `want_text`, free-text sections are
/// only counted, so a board of any size costs memory for its messages alone.
#[derive(Debug, Default)]
pub struct Scan {
    pub segments: Vec<Segment>,
    pub text_sections: usize,
}

pub fn scan(hub: &Hub, want_text: bool) -> Result<Scan> {
    let mut segments = Vec::new();
    let texts = if want_text { Texts::Named } else { Texts::Skip };
    let text_sections = stream_board(hub, texts, |segment, _| {
        segments.push(segment);
        Ok(())
    })?;
    Ok(Scan {
        segments,
        text_sections,
    })
}

/// Every message on the board, in board order.
pub fn load(hub: &Hub) -> Result<Vec<Message>> {
    let mut all = Vec::new();
    stream_board(hub, Texts::Skip, |segment, _| {
        if let Segment::Message(m) = segment {
            all.push(m);
        }
        Ok(())
    })?;
    Ok(all)
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
    // Start at a block's start: the bytes before it may be a cut block. The first quoted
    // block is one for sure (a cut inside an older, unquoted body could start at a block
    // forged inside it); failing that, the first separator.
    let from = if start == 0 {
        0
    } else {
        first_quoted_block(&text)
            .or_else(|| text.find("\n---"))
            .unwrap_or(text.len())
    };
    let all = messages(parse_at(&text[from..], start + from as u64));
    let keep = all.len().saturating_sub(n);
    Ok(all[keep..].iter().map(Message::summary).collect())
}
