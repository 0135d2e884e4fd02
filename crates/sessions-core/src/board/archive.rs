//! Archiving: moving old blocks to `MESSAGES-<yyyy-mm>.md`.

use std::collections::{BTreeMap, HashSet};

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
/// in neither; a rerun skips blocks the archive already has.
pub fn archive(hub: &Hub, before: Timestamp, dry_run: bool) -> Result<Archived> {
    let path = board_path(hub)?;
    let _lock = hub.lock(layout::MESSAGES)?;
    // Held open on the board we read: old scripts append without the lock (`cat >>`),
    // and what they add while we work is carried over from this very file.
    let board = storage::open_read(&path).ok();
    // The board is rewritten from this text, so it must be the file's exact bytes: a
    // lossy read of invalid UTF-8 would replace them.
    let text = match storage::read_text(&path) {
        Err(Error::TooLarge { .. }) => String::from_utf8(read_board_bytes(&path, MAX_BOARD_BYTES)?)
            .map_err(|e| {
                let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                let line_start = valid.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
                Error::Parse {
                    path: path.clone(),
                    line: valid.iter().filter(|b| **b == b'\n').count() + 1,
                    column: String::from_utf8_lossy(&valid[line_start..])
                        .chars()
                        .count()
                        + 1,
                    message: "the file is not valid UTF-8".into(),
                }
            })?,
        other => other?.unwrap_or_default(),
    };
    let segments = parse(&text);
    let mut keep = String::with_capacity(text.len());
    let mut by_month: BTreeMap<String, Vec<(String, &str)>> = BTreeMap::new();
    let mut kept_messages = 0;
    for seg in &segments {
        let (offset, len) = seg.range();
        let raw = &text[offset as usize..(offset + len) as usize];
        match seg {
            Segment::Message(m) if m.timestamp.is_some_and(|t| t < before) => {
                let month = m.timestamp.map(|t| t.format("%Y-%m").to_string());
                by_month
                    .entry(month.unwrap_or_default())
                    .or_default()
                    .push((m.id.clone(), raw));
            }
            Segment::Message(_) => {
                kept_messages += 1;
                keep.push_str(raw);
            }
            Segment::Text(_) => keep.push_str(raw),
        }
    }
    let mut files = BTreeMap::new();
    let moved = by_month.values().map(Vec::len).sum();
    for (month, blocks) in &by_month {
        let name = format!("MESSAGES-{month}.md");
        files.insert(name.clone(), blocks.len());
        if dry_run {
            continue;
        }
        let target = hub.file(&name)?;
        let mut archive = storage::read_text(&target)?.unwrap_or_else(|| {
            format!(
                "# 📬 SESSION MESSAGES — archive {month}\n\nBlocks moved here from MESSAGES.md by `sessions msg archive`.\n"
            )
        });
        // A block counts as present only with the same ID and the same text: a block
        // that merely shares an ID (a hand edit, a merge) must still be moved, or it
        // would leave the board without reaching the archive.
        let present: HashSet<(String, u64)> = messages(parse(&archive))
            .into_iter()
            .map(|m| {
                let raw = &archive[m.offset as usize..(m.offset + m.len) as usize];
                (m.id, fnv1a(raw.trim().as_bytes()))
            })
            .collect();
        for (id, raw) in blocks {
            if !present.contains(&(id.clone(), fnv1a(raw.trim().as_bytes()))) {
                if !archive.ends_with('\n') {
                    archive.push('\n');
                }
                archive.push_str(raw);
            }
        }
        storage::write_atomic(&target, archive.as_bytes())?;
    }
    if !dry_run && moved > 0 {
        let mut keep = keep.into_bytes();
        let mut seen = text.len() as u64;
        // Appended since we read: carried over before the board is replaced.
        if let Some(board) = &board {
            let extra = storage::read_from(board, &path, seen)?;
            seen += extra.len() as u64;
            keep.extend_from_slice(&extra);
        }
        storage::write_atomic(&path, &keep)?;
        // A writer that opened the old board just before the replace may still write to
        // it: look again (twice, briefly) and append what arrived to the new board.
        if let Some(board) = &board {
            for pause in [0, 50] {
                std::thread::sleep(std::time::Duration::from_millis(pause));
                let late = storage::read_from(board, &path, seen)?;
                if !late.is_empty() {
                    seen += late.len() as u64;
                    storage::append(&path, &late)?;
                }
            }
        }
    }
    Ok(Archived {
        moved,
        kept_messages,
        files,
        before: time::format(before),
    })
}
