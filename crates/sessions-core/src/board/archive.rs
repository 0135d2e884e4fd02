//! Archiving: moving old blocks to `MESSAGES-<yyyy-mm>.md`.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashSet};
use std::io::Read;

use serde::Serialize;

use crate::board::parse::*;
use crate::board::read::*;
use crate::store::error::{Error, Result};
use crate::store::hub::{Hub, layout};
use crate::store::storage;
use crate::store::time::{self, Timestamp};

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Archived {
    pub moved: usize,
    pub kept_messages: usize,
    /// Archive files written (relative to the hub), with how many blocks each got.
    pub files: BTreeMap<String, usize>,
    pub before: String,
}

/// Move the messages dated before `before` into `MESSAGES-<yyyy-mm>.md` (by their
/// month). Under the board's lock: the archive files are written first (atomically),
/// then the board is replaced atomically without those blocks; free text and newer
/// messages stay byte for byte. A crash in between leaves blocks in both places, never
/// in neither; a rerun skips blocks the archive already has. The board and the
/// archives are streamed (read and written a window at a time), so a board of any size
/// archives in bounded memory and linear time.
pub fn archive(hub: &Hub, before: Timestamp, dry_run: bool) -> Result<Archived> {
    let path = board_path(hub)?;
    let _lock = hub.lock(layout::MESSAGES)?;
    let mut archived = Archived {
        moved: 0,
        kept_messages: 0,
        files: BTreeMap::new(),
        before: time::format(before),
    };
    // Held open on the board we read: old scripts append without the lock (`cat >>`),
    // and what they add while we work is carried over from this very file.
    let mut board = match storage::open_read(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(archived),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let len = board.metadata().map_err(|e| Error::io(&path, e))?.len();
    // The board is rewritten from what is read, so it must be the file's exact bytes:
    // text that is not UTF-8 is an error (naming line and column), never replaced.
    let mut keep = if dry_run {
        None
    } else {
        Some(storage::AtomicFile::create(&path)?)
    };
    let mut months: BTreeMap<String, Month> = BTreeMap::new();
    stream(
        (&mut board).take(len),
        &path,
        0,
        Texts::Bare,
        Utf8::Require,
        |segment, raw| {
            match &segment {
                Segment::Message(m) if m.timestamp.is_some_and(|t| t < before) => {
                    let month = m
                        .timestamp
                        .map(|t| t.format("%Y-%m").to_string())
                        .unwrap_or_default();
                    archived.moved += 1;
                    *archived
                        .files
                        .entry(format!("MESSAGES-{month}.md"))
                        .or_default() += 1;
                    if !dry_run {
                        let archive = match months.entry(month) {
                            Entry::Occupied(e) => e.into_mut(),
                            Entry::Vacant(e) => {
                                let month = Month::open(hub, e.key())?;
                                e.insert(month)
                            }
                        };
                        archive.add(&m.id, raw)?;
                    }
                }
                Segment::Message(_) => {
                    archived.kept_messages += 1;
                    if let Some(keep) = &mut keep {
                        keep.write_all(raw.as_bytes())?;
                    }
                }
                Segment::Text(_) => {
                    if let Some(keep) = &mut keep {
                        keep.write_all(raw.as_bytes())?;
                    }
                }
            }
            Ok(())
        },
    )?;
    let Some(mut keep) = keep.filter(|_| archived.moved > 0) else {
        return Ok(archived);
    };
    for month in months.into_values() {
        month.file.commit()?;
    }
    // Appended since we read: carried over before the board is replaced.
    let mut seen = len;
    let extra = storage::read_from(&board, &path, seen)?;
    seen += extra.len() as u64;
    keep.write_all(&extra)?;
    keep.commit()?;
    // A writer that opened the old board just before the replace may still write to it:
    // look again (three times, over a quarter second, so a writer descheduled on a
    // loaded machine still lands) and append what arrived to the new board. An unlocked
    // writer stalled longer than that is the one case this cannot see (README, Limits).
    for pause in [0, 50, 200] {
        std::thread::sleep(std::time::Duration::from_millis(pause));
        let late = storage::read_from(&board, &path, seen)?;
        if !late.is_empty() {
            seen += late.len() as u64;
            storage::append(&path, &late)?;
        }
    }
    Ok(archived)
}

/// One month's archive being written: its old content, then the blocks moved to it
/// that it does not have yet.
struct Month {
    file: storage::AtomicFile,
    /// The blocks it already has, by ID and text: a block counts as present only with
    /// the same ID and the same text, so a block that merely shares an ID (a hand edit,
    /// a merge) is still moved rather than left out of both files.
    present: HashSet<(String, u64)>,
}

impl Month {
    fn open(hub: &Hub, month: &str) -> Result<Month> {
        let target = hub.file(&format!("MESSAGES-{month}.md"))?;
        let mut file = storage::AtomicFile::create(&target)?;
        let mut present = HashSet::new();
        match storage::open_read(&target) {
            Ok(old) => {
                stream(
                    old,
                    &target,
                    0,
                    Texts::Bare,
                    Utf8::Require,
                    |segment, raw| {
                        if let Segment::Message(m) = segment {
                            present.insert((m.id, fnv1a(raw.trim().as_bytes())));
                        }
                        file.write_all(raw.as_bytes())
                    },
                )?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                file.write_all(format!(
                    "# 📬 SESSION MESSAGES — archive {month}\n\nBlocks moved here from MESSAGES.md by `sessions msg archive`.\n"
                ).as_bytes())?;
            }
            Err(e) => return Err(Error::io(&target, e)),
        }
        Ok(Month { file, present })
    }

    fn add(&mut self, id: &str, raw: &str) -> Result<()> {
        if self
            .present
            .contains(&(id.to_string(), fnv1a(raw.trim().as_bytes())))
        {
            return Ok(());
        }
        if self.file.last.is_some_and(|b| b != b'\n') {
            self.file.write_all(b"\n")?;
        }
        self.file.write_all(raw.as_bytes())
    }
}
