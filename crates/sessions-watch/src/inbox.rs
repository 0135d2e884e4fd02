//! New messages on MESSAGES.md, read incrementally: only the bytes appended since the
//! last look, parsed by the board parser (`sessions_core::messages`), so the watcher and
//! `sessions inbox` agree on what a message is and whom it is for.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use sessions_core::messages::{self, Message};

#[derive(Debug, Default)]
pub struct Inbox {
    offset: u64,
    /// Bytes after the last complete line, kept for the next look.
    partial: Vec<u8>,
}

impl Inbox {
    /// Start at the current end of the board: only messages posted from now on count.
    pub fn at_end(path: &Path) -> Inbox {
        Inbox {
            offset: std::fs::metadata(path).map_or(0, |m| m.len()),
            partial: Vec::new(),
        }
    }

    /// The messages appended since the last call.
    pub fn poll(&mut self, path: &Path) -> Vec<Message> {
        let Ok(len) = std::fs::metadata(path).map(|m| m.len()) else {
            // Gone: a new board starts from its beginning.
            *self = Inbox::default();
            return Vec::new();
        };
        if len < self.offset {
            // Rewritten or truncated (not by an append): skip to its end.
            *self = Inbox {
                offset: len,
                partial: Vec::new(),
            };
            return Vec::new();
        }
        if len == self.offset {
            return Vec::new();
        }
        let mut bytes = Vec::with_capacity((len - self.offset) as usize);
        let read = File::open(path).and_then(|mut f| {
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
        messages::messages(messages::parse_at(&text, start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_new_blocks() {
        let dir = std::env::temp_dir().join(format!("inbox-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("MESSAGES.md");
        std::fs::write(&path, "# Board\n\n---\n**From:** a\n**To:** b\n\nold\n").unwrap();
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
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        use std::io::Write;
        f.write_all(block.as_bytes()).unwrap();
        let got = inbox.poll(&path);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id, "m-1");
        assert_eq!(got[0].subject.as_deref(), Some("Hi"));
        assert!(got[0].is_for("s3"));
        assert!(!got[0].is_for("s4"));
        assert!(inbox.poll(&path).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
