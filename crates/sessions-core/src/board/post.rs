//! Posting to the board: rendering a toolkit block and appending it under the lock.

use serde::Serialize;

use crate::board::parse::{QUOTED, quote_body};
use crate::store::error::{Error, Result};
use crate::store::hub::{Hub, layout};
use crate::store::time;
use crate::{store::ids, store::storage};

/// Where acknowledgements live: `ACTIVE/ACKS/<message-id>/<session>.json`, one file per
/// ack, created exclusively, so acks never conflict in a git merge.
pub const ACKS: &str = "ACTIVE/ACKS";
/// Read cursors: `.sessions/cursors/<session>.json` (+ `<session>.seen`).
pub const CURSORS: &str = ".sessions/cursors";
/// Priorities a sender may give.
pub const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];

/// A message to post.
#[derive(Debug, Clone, Default)]
pub struct Post {
    pub from: String,
    /// Recipients; empty means everyone (`all`).
    pub to: Vec<String>,
    pub subject: Option<String>,
    pub priority: Option<String>,
    pub reply_to: Option<String>,
    pub body: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Posted {
    pub id: String,
    pub time: String,
}

/// Render one block. The block begins with a separator so that appending it to any
/// board, whatever its last line, starts a new section. The body is written quoted
/// ([`quote_body`]: no body line can pass for a header, to a reader or to a person with
/// `cat`), its size recorded in `**Length:** <n> quoted`, followed by one newline.
pub fn render_block(id: &str, time: &str, post: &Post) -> String {
    let to = if post.to.is_empty() {
        "all".to_string()
    } else {
        post.to.join(", ")
    };
    let mut block = String::with_capacity(post.body.len() * 9 / 8 + 256);
    block.push_str("\n---\n\n");
    if let Some(subject) = &post.subject {
        block.push_str(&format!("### {}\n", one_line(subject)));
    }
    block.push_str(&format!("**ID:** {id}\n"));
    block.push_str(&format!("**From:** {}\n", post.from));
    block.push_str(&format!("**To:** {to}\n"));
    block.push_str(&format!("**Time:** {time}\n"));
    block.push_str(&format!(
        "**Priority:** {}\n",
        post.priority.as_deref().unwrap_or("normal")
    ));
    if let Some(reply_to) = &post.reply_to {
        block.push_str(&format!("**Reply-To:** {reply_to}\n"));
    }
    let body = quote_body(&post.body);
    block.push_str(&format!("**Length:** {} {QUOTED}\n", body.len()));
    block.push('\n');
    block.push_str(&body);
    block.push('\n');
    block
}

fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ").trim().to_string()
}

/// Append a message: one locked write of the whole block, then fsync. The body passes
/// the secret check first.
pub fn post(hub: &Hub, post: &Post) -> Result<Posted> {
    post_with_id(hub, post, &ids::unique("m"))
}

/// [`post`] with an ID chosen by the caller (a collaboration request records its
/// message's ID in its file before the message is written).
pub fn post_with_id(hub: &Hub, post: &Post, id: &str) -> Result<Posted> {
    let (block, time) = prepare(hub, post, id)?;
    append(hub, layout::MESSAGES, block.as_bytes())?;
    Ok(Posted {
        id: id.to_string(),
        time,
    })
}

/// [`post_with_id`] unless the board already holds a block with this ID (checked and
/// appended under the board's lock): a step of an operation finished again after a
/// crash posts its message exactly once. `None` when it was there already.
pub fn post_once(hub: &Hub, post: &Post, id: &str) -> Result<Option<Posted>> {
    let (block, time) = prepare(hub, post, id)?;
    let path = hub.file(layout::MESSAGES)?;
    let _lock = hub.lock(layout::MESSAGES)?;
    if board_has_id(&path, id)? {
        return Ok(None);
    }
    storage::append(&path, block.as_bytes())?;
    Ok(Some(Posted {
        id: id.to_string(),
        time,
    }))
}

/// Whether the board has a `**ID:** <id>` header line (read line by line: bounded
/// memory whatever the board's size).
fn board_has_id(path: &std::path::Path, id: &str) -> Result<bool> {
    use std::io::BufRead;
    let file = match storage::open_read(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(path, e)),
    };
    let want = format!("**ID:** {id}");
    let mut reader = std::io::BufReader::new(file);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::io(path, e))?;
        if n == 0 {
            return Ok(false);
        }
        if line.trim_ascii_end() == want.as_bytes() {
            return Ok(true);
        }
    }
}

/// Validate a post and render its block (with the time it is posted at).
fn prepare(hub: &Hub, post: &Post, id: &str) -> Result<(String, String)> {
    ids::validate("message ID", id)?;
    ids::validate("session ID", &post.from)?;
    for to in &post.to {
        ids::validate("recipient ID", to)?;
    }
    if let Some(reply_to) = &post.reply_to {
        ids::validate("message ID (--reply-to)", reply_to)?;
    }
    if let Some(p) = &post.priority
        && !PRIORITIES.contains(&p.as_str())
    {
        return Err(Error::Usage(format!(
            "invalid priority {p:?}: use one of {}",
            PRIORITIES.join(", ")
        )));
    }
    let time = time::format(time::now());
    let block = render_block(id, &time, post);
    let limit = hub.config.board.max_message_bytes;
    if block.len() as u64 > limit {
        return Err(too_large(block.len() as u64, limit, false));
    }
    hub.check_secrets("the message body", &post.body)?;
    if let Some(subject) = &post.subject {
        hub.check_secrets("the message subject", subject)?;
    }
    Ok((block, time))
}

/// The refusal of a message that would add `adds` bytes to the board, past `limit`
/// (`at_least`: more was not read).
pub fn too_large(adds: u64, limit: u64, at_least: bool) -> Error {
    let adds = if at_least {
        format!("at least {adds}")
    } else {
        adds.to_string()
    };
    Error::Refused(format!(
        "the message is too large: it would add {adds} bytes to MESSAGES.md, and one message may add at most {limit} \
         ([board] max_message_bytes in SESSIONS/sessions.toml): shorten it, post the path of a file instead, or raise the limit; nothing was written"
    ))
}

/// Append `bytes` to a hub file in one write under its sidecar lock, then fsync.
pub fn append(hub: &Hub, rel: &str, bytes: &[u8]) -> Result<()> {
    let path = hub.file(rel)?;
    let _lock = hub.lock(rel)?;
    storage::append(&path, bytes)
}
