//! Reading only what a listing needs: the head and the tail of a transcript.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use serde_json::Value;

/// Bytes read from the start and from the end of a transcript.
pub const HEAD_BYTES: u64 = 16 * 1024;
pub const TAIL_BYTES: u64 = 16 * 1024;

/// The complete lines at both ends of a file.
#[derive(Debug, Default)]
pub struct Ends {
    /// The first lines (the whole file when `whole`).
    pub head: String,
    /// The last lines; empty when `whole`.
    pub tail: String,
    /// The file was small enough to read entirely.
    pub whole: bool,
    pub size: u64,
}

/// Read the head and tail of `path`. A file that is being appended to may end in a
/// partial line: callers ignore a last line that does not parse.
pub fn ends(path: &Path) -> io::Result<Ends> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    if size <= HEAD_BYTES + TAIL_BYTES {
        let mut bytes = Vec::with_capacity(size as usize);
        file.read_to_end(&mut bytes)?;
        return Ok(Ends {
            size: bytes.len() as u64,
            head: String::from_utf8_lossy(&bytes).into_owned(),
            tail: String::new(),
            whole: true,
        });
    }
    let mut head = vec![0; HEAD_BYTES as usize];
    file.read_exact(&mut head)?;
    // The head holds at least the first whole line (a long first record, such as
    // Codex's session_meta with its instructions, is read to its end).
    while !head.contains(&b'\n') && (head.len() as u64) < size {
        let mut more = vec![0; HEAD_BYTES as usize];
        let n = file.read(&mut more)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&more[..n]);
    }
    if head.len() as u64 + TAIL_BYTES >= size {
        return whole(path);
    }
    let cut = head.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    head.truncate(cut);
    file.seek(SeekFrom::Start(size - TAIL_BYTES))?;
    let mut tail = Vec::with_capacity(TAIL_BYTES as usize);
    file.read_to_end(&mut tail)?;
    let start = tail
        .iter()
        .position(|&b| b == b'\n')
        .map_or(tail.len(), |i| i + 1);
    Ok(Ends {
        head: String::from_utf8_lossy(&head).into_owned(),
        tail: String::from_utf8_lossy(&tail[start..]).into_owned(),
        whole: false,
        size,
    })
}

/// The whole file as `Ends` (for a reader whose head lacked what it needs).
pub fn whole(path: &Path) -> io::Result<Ends> {
    let bytes = std::fs::read(path)?;
    Ok(Ends {
        size: bytes.len() as u64,
        head: String::from_utf8_lossy(&bytes).into_owned(),
        tail: String::new(),
        whole: true,
    })
}

/// JSON objects of a JSON-lines text, skipping blank lines and lines that do not parse.
/// Returns the records and how many non-blank lines did not parse.
pub fn json_lines(text: &str) -> (Vec<Value>, usize) {
    let mut records = Vec::new();
    let mut bad = 0;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(v) if v.is_object() => records.push(v),
            _ => bad += 1,
        }
    }
    (records, bad)
}

/// Text of a message's content: a string, or the `text` of its parts.
pub fn content_text(content: &Value) -> Option<String> {
    match content {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let text: Vec<&str> = parts
                .iter()
                .filter_map(|p| {
                    let kind = p.get("type").and_then(Value::as_str);
                    if matches!(
                        kind,
                        None | Some("text") | Some("input_text") | Some("output_text")
                    ) {
                        p.get("text").and_then(Value::as_str)
                    } else {
                        None
                    }
                })
                .collect();
            if text.is_empty() {
                None
            } else {
                Some(text.join(""))
            }
        }
        Value::Object(_) => content
            .get("text")
            .and_then(Value::as_str)
            .map(str::to_string),
        _ => None,
    }
}

pub fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}
