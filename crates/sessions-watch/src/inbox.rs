//! New messages on MESSAGES.md, read incrementally: only the bytes appended since the
//! last look. Deliberately small and separate: it recognises a block by its `---`
//! separator and the `**ID:**` / `**From:**` / `**To:**` / `### subject` lines, and can
//! be switched to the full messages parser later without touching the watcher.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewMessage {
    pub id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub subject: Option<String>,
}

#[derive(Debug, Default)]
pub struct Inbox {
    offset: u64,
    partial: Vec<u8>,
    block: NewMessage,
    emitted: bool,
}

fn field(line: &str, name: &str) -> Option<String> {
    let rest = line.trim().strip_prefix("**")?;
    let rest = rest.strip_prefix(name)?;
    let rest = rest
        .strip_prefix(":**")
        .or_else(|| rest.strip_prefix("**:"))?;
    Some(rest.trim().to_string())
}

/// Whether a `**To:**` value addresses `me` (or everyone).
pub fn addressed_to(to: &str, me: Option<&str>) -> bool {
    let Some(me) = me else { return true };
    to.split([',', ';', ' ', '&'])
        .map(|t| t.trim().trim_matches('@'))
        .filter(|t| !t.is_empty())
        .any(|t| {
            t.eq_ignore_ascii_case(me)
                || ["all", "everyone", "broadcast", "*"]
                    .iter()
                    .any(|a| t.eq_ignore_ascii_case(a))
        })
}

impl Inbox {
    /// Start at the current end of the board: only messages posted from now on count.
    pub fn at_end(path: &Path) -> Inbox {
        Inbox {
            offset: std::fs::metadata(path).map_or(0, |m| m.len()),
            ..Inbox::default()
        }
    }

    /// The messages appended since the last call.
    pub fn poll(&mut self, path: &Path) -> Vec<NewMessage> {
        let len = match std::fs::metadata(path) {
            Ok(m) => m.len(),
            Err(_) => {
                // Gone: a new board starts from its beginning.
                *self = Inbox::default();
                return Vec::new();
            }
        };
        if len < self.offset {
            // Rewritten or truncated (not by an append): skip to its end.
            *self = Inbox {
                offset: len,
                ..Inbox::default()
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
        self.offset += bytes.len() as u64;
        self.partial.extend_from_slice(&bytes);
        let Some(last_nl) = self.partial.iter().rposition(|b| *b == b'\n') else {
            return Vec::new();
        };
        let complete: Vec<u8> = self.partial.drain(..=last_nl).collect();
        let text = String::from_utf8_lossy(&complete);
        let mut out = Vec::new();
        for line in text.lines() {
            if line.trim() == "---" {
                self.finish(&mut out);
                self.block = NewMessage::default();
                self.emitted = false;
            } else if let Some(v) = field(line, "ID") {
                self.block.id = Some(v);
            } else if let Some(v) = field(line, "From") {
                self.block.from = Some(v);
            } else if let Some(v) = field(line, "To") {
                self.block.to = Some(v);
            } else if let Some(s) = line.strip_prefix("### ") {
                self.block
                    .subject
                    .get_or_insert_with(|| s.trim().to_string());
            }
        }
        self.finish(&mut out);
        out
    }

    fn finish(&mut self, out: &mut Vec<NewMessage>) {
        if !self.emitted
            && self.block.to.is_some()
            && (self.block.id.is_some() || self.block.from.is_some())
        {
            out.push(self.block.clone());
            self.emitted = true;
        }
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
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        use std::io::Write;
        f.write_all(b"\n---\n\n**ID:** m-1\n**From:** s1\n**To:** s2, s3\n\n### Hi\n\nbody\n")
            .unwrap();
        let got = inbox.poll(&path);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id.as_deref(), Some("m-1"));
        assert_eq!(got[0].subject.as_deref(), Some("Hi"));
        assert!(addressed_to(got[0].to.as_deref().unwrap(), Some("s3")));
        assert!(!addressed_to(got[0].to.as_deref().unwrap(), Some("s4")));
        assert!(inbox.poll(&path).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
