//! New messages on MESSAGES.md, read incrementally: only the bytes appended since the
//! last look, parsed by the board parser (`sessions_core::board::messages`), so the watcher and
//! `sessions inbox` agree on what a message is and whom it is for.

use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use sessions_core::board::messages::{self, Message};

#[derive(Debug, Default)]
pub struct Inbox {
    offset: u64,
    /// Bytes after the last complete line, kept for the next look.
    partial: Vec<u8>,
    /// Device and inode of the board read so far: appends keep them, while a rewrite
    /// (archive, git merge, an editor's rename-on-save) replaces the file.
    identity: Option<(u64, u64)>,
    /// IDs of the messages on the board as read so far. A replaced board is read whole
    /// and only messages not seen before are news: a git merge replaces the file and
    /// may place another clone's messages anywhere by time, and they must be reported.
    seen: HashSet<String>,
}

impl Inbox {
    /// Start at the current end of the board: only messages posted from now on count.
    pub fn at_end(path: &Path) -> Inbox {
        let mut inbox = Inbox::default();
        let _ = inbox.read_whole(path);
        inbox
    }

    /// Read the whole board from its start: its messages not seen before, all of its
    /// messages remembered as seen.
    fn read_whole(&mut self, path: &Path) -> Vec<Message> {
        let mut bytes = Vec::new();
        let meta = std::fs::metadata(path).ok();
        let read = sessions_core::store::storage::open_read(path)
            .and_then(|mut f| f.read_to_end(&mut bytes));
        if read.is_err() {
            *self = Inbox {
                seen: std::mem::take(&mut self.seen),
                ..Inbox::default()
            };
            return Vec::new();
        }
        let complete = bytes
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |nl| nl + 1);
        let text = String::from_utf8_lossy(&bytes[..complete]);
        let all = messages::messages(messages::parse_at(&text, 0));
        let fresh = all
            .iter()
            .filter(|m| !self.seen.contains(&m.id))
            .cloned()
            .collect();
        self.seen = all.into_iter().map(|m| m.id).collect();
        self.offset = bytes.len() as u64;
        self.partial = bytes[complete..].to_vec();
        self.identity = meta.map(|m| (m.dev(), m.ino()));
        fresh
    }

    /// The messages appended since the last call.
    pub fn poll(&mut self, path: &Path) -> Vec<Message> {
        let Ok(meta) = std::fs::metadata(path) else {
            // Gone: a new board starts from its beginning (what was seen stays seen).
            *self = Inbox {
                seen: std::mem::take(&mut self.seen),
                ..Inbox::default()
            };
            return Vec::new();
        };
        let len = meta.len();
        let identity = Some((meta.dev(), meta.ino()));
        let replaced = self.identity.is_some() && self.identity != identity;
        if replaced || len < self.offset {
            // Rewritten, not appended to: old offsets mean nothing in the new file.
            return self.read_whole(path);
        }
        self.identity = identity;
        if len == self.offset {
            return Vec::new();
        }
        let mut bytes = Vec::with_capacity((len - self.offset) as usize);
        let read = sessions_core::store::storage::open_read(path).and_then(|mut f| {
            f.seek(SeekFrom::Start(self.offset))?;
            f.take(len - self.offset).read_to_end(&mut bytes)
        });
        if read.is_err() {
            return Vec::new();
        }
        let start = self.offset - self.partial.len() as u64;
        self.offset += bytes.len() as u64;
        self.partial.extend_from_slice(&bytes);
        let Some(last_nl) = self.partial.iter().rposition(|b| *b == b'\n') else {
            return Vec::new();
        };
        let complete: Vec<u8> = self.partial.drain(..=last_nl).collect();
        let text = String::from_utf8_lossy(&complete);
        let fresh: Vec<Message> = messages::messages(messages::parse_at(&text, start))
            .into_iter()
            .filter(|m| !self.seen.contains(&m.id))
            .collect();
        self.seen.extend(fresh.iter().map(|m| m.id.clone()));
        fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_new_blocks() {
        use sessions_core::store::storage;
        let dir = std::env::temp_dir().join(format!("inbox-{}", std::process::id()));
        storage::ensure_dir(&dir).unwrap();
        let path = dir.join("MESSAGES.md");
        storage::write_atomic(&path, b"# Board\n\n---\n**From:** a\n**To:** b\n\nold\n").unwrap();
        let mut inbox = Inbox::at_end(&path);
        assert!(inbox.poll(&path).is_empty());
        let post = messages::Post {
            from: "s1".into(),
            to: vec!["s2".into(), "s3".into()],
            subject: Some("Hi".into()),
            body: "body".into(),
            ..messages::Post::default()
        };
        let block = messages::render_block("m-1", "2026-01-01T00:00:00Z", &post);
        storage::append(&path, block.as_bytes()).unwrap();
        let got = inbox.poll(&path);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id, "m-1");
        assert_eq!(got[0].subject.as_deref(), Some("Hi"));
        assert!(got[0].is_for("s3"));
        assert!(!got[0].is_for("s4"));
        assert!(inbox.poll(&path).is_empty());

        // A rewrite that makes the board longer (a merge) is not read as an append.
        let mut merged = std::fs::read_to_string(&path).unwrap();
        merged.insert_str(
            0,
            "# Board (merged)\n\nsome text that shifts every offset\n",
        );
        storage::write_atomic(&path, merged.as_bytes()).unwrap();
        assert!(inbox.poll(&path).is_empty(), "old messages re-announced");
        let block = messages::render_block("m-2", "2026-01-01T00:00:01Z", &post);
        storage::append(&path, block.as_bytes()).unwrap();
        let got = inbox.poll(&path);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id, "m-2");
        storage::remove_tree(&dir).unwrap();
    }
}
